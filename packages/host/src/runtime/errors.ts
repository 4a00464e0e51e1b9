import type { ErrorTable } from '../support/error-table.js';
import type { CallErrorCode } from './supervisor.js';

/** Reaching an app's process (STYLE §6); README.md's table says what each code means. */
export const RUNTIME_ERRORS = {
  'app.not_found': { status: 404, fix: 'check `plinth apps`; install the app' },
  'app.overloaded': { status: 503, fix: 'retry later; raise `limits.concurrency` or make requests faster' },
  'app.unavailable': { status: 503, fix: 'read `plinth logs <app>`: the `runtime.start_failed` event and workerd\'s `stderr` say why' },
  'app.timeout': { status: 504 },
  'app.bad_gateway': { status: 502 },
} as const satisfies ErrorTable<CallErrorCode>;
