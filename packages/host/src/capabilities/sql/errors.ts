/**
 * Every expected failure of the `sql` capability (STYLE §6). Each code has a row in README.md;
 * statuses are in `http/respond.ts`.
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

