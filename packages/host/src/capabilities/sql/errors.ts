import type { ErrorTable } from '../../support/error-table.js';

/**
 * Every expected failure of the `sql` capability (STYLE §6). Each code has a row in README.md;
 * statuses are in SQL_ERRORS below, which `http/respond.ts` merges with the other owners' tables.
 */
export type SqlErrorCode =
  | 'sql.invalid_name'
  | 'sql.not_found'
  | 'sql.exists'
  | 'sql.too_many'
  | 'sql.database_too_large'
  | 'sql.storage_full'
  | 'sql.statement_too_large'
  | 'sql.empty_statement'
  | 'sql.sqlite_error'
  | 'sql.constraint_violation'
  | 'sql.bad_parameters'
  | 'sql.not_authorized'
  | 'sql.transaction_statement'
  | 'sql.result_too_large'
  | 'sql.timeout'
  | 'sql.cancelled'
  | 'sql.busy'
  | 'sql.overloaded'
  | 'sql.unavailable'
  | 'sql.transaction_not_found'
  | 'sql.too_many_transactions'
  | 'sql.transfer_not_found'
  | 'sql.too_many_transfers'
  | 'sql.transfer_offset_mismatch'
  | 'sql.invalid_database';


/** Statuses and fixes of every `sql.*` code; README.md's table says what each means. */
export const SQL_ERRORS = {
  'sql.invalid_name': { status: 400, fix: 'use 1–64 of a-z 0-9 _ -, starting with a letter or digit' },
  'sql.not_found': { status: 404, fix: '`create()` it first' },
  'sql.exists': { status: 409, fix: '`open()` it, or pick another name' },
  'sql.too_many': { status: 409, fix: 'delete one' },
  'sql.database_too_large': { status: 413, fix: 'delete data, split the database' },
  'sql.storage_full': { status: 507, fix: 'delete rows, databases or objects; or the operator raises the quota' },
  'sql.statement_too_large': { status: 413, fix: 'split the call' },
  'sql.empty_statement': { status: 400, fix: 'send SQL' },
  'sql.sqlite_error': { status: 400, fix: 'fix the SQL' },
  'sql.constraint_violation': { status: 409, fix: 'change the data' },
  'sql.bad_parameters': { status: 400, fix: 'bind one value per `?`, in order' },
  'sql.not_authorized': { status: 403, fix: 'do not; use export/import for copies' },
  'sql.transaction_statement': { status: 400, fix: 'use `batch()` or `db.transaction()`' },
  'sql.result_too_large': { status: 413, fix: 'page with LIMIT/OFFSET' },
  'sql.timeout': { status: 408, fix: 'make the query cheaper (index), or page it' },
  // No app sees it (its caller has gone); 400 should it ever reach the edge.
  'sql.cancelled': { status: 400 },
  'sql.busy': { status: 503, fix: 'retry; keep transactions short' },
  'sql.overloaded': { status: 503, fix: 'retry shortly; send fewer calls at once' },
  'sql.unavailable': { status: 503, fix: 'retry after reading back' },
  'sql.transaction_not_found': { status: 404, fix: 'start a new transaction' },
  'sql.too_many_transactions': { status: 409, fix: 'finish some' },
  'sql.transfer_not_found': { status: 404, fix: 'start again' },
  'sql.too_many_transfers': { status: 409, fix: 'finish or delete one' },
  'sql.transfer_offset_mismatch': { status: 409, fix: 'send the chunk at the offset the error names' },
  'sql.invalid_database': { status: 400, fix: 'export it again from a good copy' },
} as const satisfies ErrorTable<SqlErrorCode>;
