import type { ErrorTable } from '../../support/error-table.js';
import type { AlarmsErrorCode } from './service.js';

export type { AlarmsErrorCode };

/** Statuses and fixes of every `alarm.*` code; README.md's table says what each means. */
export const ALARMS_ERRORS = {
  'alarm.out_of_range': { status: 400, fix: 'pass `Date` or epoch milliseconds' },
} as const satisfies ErrorTable<AlarmsErrorCode>;
