import type { ErrorTable } from '../support/error-table.js';

/** The platform API's own failures, before or around a capability's route (STYLE §6). */
export type PlatformErrorCode =
  | 'platform.not_found'
  | 'platform.bad_path'
  | 'platform.bad_json'
  | 'platform.bad_request'
  | 'platform.body_too_large'
  | 'platform.too_many_calls'
  | 'platform.update_in_progress'
  | 'platform.internal';

export const PLATFORM_ERRORS = {
  'platform.not_found': { status: 404 },
  'platform.bad_path': { status: 400 },
  'platform.bad_json': { status: 400 },
  'platform.bad_request': { status: 400, fix: 'see the JSON path in the message' },
  'platform.body_too_large': { status: 413 },
  'platform.too_many_calls': { status: 429, fix: 'retry after `Retry-After`' },
  'platform.update_in_progress': { status: 503, fix: 'retry after `Retry-After`' },
  'platform.internal': { status: 500 },
} as const satisfies ErrorTable<PlatformErrorCode>;
