/**
 * Every size, count and duration of the `sql` capability, each with why it has that value
 * (STYLE §5). Relations between them are asserted at the bottom, at module load.
 */
import assert from 'node:assert/strict';
import { PLATFORM_BODY_BYTES_MAX } from '../../platform/limits.js';

/** Lower case only: the name becomes a file name, and macOS and Windows file systems ignore case. */
export const SQL_DATABASE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const SQL_DATABASE_NAME_CHARS_MAX = 64;
/** Databases per app: D1's paid plan allows thousands, but each open one costs a file handle and a page cache. */
export const SQL_DATABASES_PER_APP_MAX = 50;
/** One database file, enforced by SQLite itself through `max_page_count` (a write past it fails, nothing is lost). */
export const SQL_DATABASE_BYTES_MAX = 1024 ** 3;
/** All of an app's databases together; checked when a database is created or imported. */
export const SQL_APP_BYTES_MAX = 10 * 1024 ** 3;
/** SQL text of one call; D1's limit is 100 KB, and statements this long are generated, not written. */
export const SQL_STATEMENT_CHARS_MAX = 100_000;
/** Bound values per statement: SQLite's own SQLITE_MAX_VARIABLE_NUMBER, stated so it is not an accident. */
export const SQL_BOUND_PARAMETERS_MAX = 32_766;
/** Statements in one batch; the 2 MiB body cap usually binds first. */
export const SQL_BATCH_STATEMENTS_MAX = 1_000;
/** Statements in one `exec`: a migration file, not a data load. */
export const SQL_EXEC_STATEMENTS_MAX = 10_000;
/** Encoded result of one call; it is held in the SQL process, the daemon and the app at once. Page with LIMIT. */
export const SQL_RESULT_BYTES_MAX = 16 * 1024 * 1024;
/** A call's running time before its SQL process is killed: D1's own limit. Apps may ask for less per database. */
export const SQL_STATEMENT_MS_MAX = 30_000;
/** The shortest per-call limit an app may ask for: below it, ordinary scheduling jitter would trip it. */
export const SQL_STATEMENT_MS_MIN = 100;
/** How long a write waits for another transaction's lock before `sql.busy`: SQLite's usual busy timeout. */
export const SQL_LOCK_WAIT_MS_MAX = 5_000;
/** How often a parked write is retried when no transaction of ours holds the lock (a WAL recovery, an operator's tool). */
export const SQL_BUSY_RETRY_MS = 10;
/** A cross-call transaction's lease when the app names none: long enough for a few round trips. */
export const SQL_TRANSACTION_MS_DEFAULT = 10_000;
/** The longest lease: the write lock is held for all of it, so every other writer of that database waits. */
export const SQL_TRANSACTION_MS_MAX = 30_000;
/** Open or starting transactions per app; only one per database can hold the write lock, the rest wait. */
export const SQL_TRANSACTIONS_PER_APP_MAX = 16;
/** Calls waiting for an app's SQL process; a longer queue means the app floods it. */
export const SQL_QUEUE_LENGTH_MAX = 1_000;
/** An app's SQL process with nothing to do exits after this, like an idle app (scale to zero). */
export const SQL_PROCESS_IDLE_MS = 30_000;
/** Allowance for starting an app's SQL process (~0.1 s), added to the limit of the call that started it. */
export const SQL_PROCESS_START_MS_MAX = 10_000;
/** Heap of one app's SQL process: results are capped at 16 MiB, so this leaves room for several in flight. */
export const SQL_PROCESS_HEAP_MB_MAX = 512;
/** Prepared statements kept per connection: ORMs reuse a few dozen; more would only hold memory. */
export const SQL_STATEMENT_CACHE_MAX = 256;
/** Parsed SQL texts kept per SQL process, so the statement guard tokenizes each text once. */
export const SQL_GUARD_CACHE_MAX = 1_024;
/** Bytes per export or import chunk: 1 MiB of binary is 1.33 MiB of base64, inside one 2 MiB ABI call. */
export const SQL_TRANSFER_CHUNK_BYTES_MAX = 1024 * 1024;
/** Exports and imports in progress per app; each holds a file as large as a database. */
export const SQL_TRANSFERS_PER_APP_MAX = 4;
/** An export or import nobody touched for this long is deleted with its file. */
export const SQL_TRANSFER_IDLE_MS_MAX = 10 * 60_000;
/** A snapshot (VACUUM INTO) or an import check of a 1 GiB database takes seconds; past this the SQL process is stuck. */
export const SQL_SNAPSHOT_MS_MAX = 5 * 60_000;
/** Management calls (create, delete, replace) touch files only; a minute means the disk is stuck. */
export const SQL_MANAGEMENT_MS_MAX = 60_000;

assert.ok(Math.ceil(SQL_TRANSFER_CHUNK_BYTES_MAX / 3) * 4 + 1024 <= PLATFORM_BODY_BYTES_MAX, 'a base64 chunk fits in one ABI call');
assert.ok(SQL_STATEMENT_CHARS_MAX < PLATFORM_BODY_BYTES_MAX, 'a statement fits in one ABI call');
assert.ok(SQL_DATABASE_BYTES_MAX <= SQL_APP_BYTES_MAX, 'one database fits in the app budget');
assert.ok(SQL_STATEMENT_MS_MIN < SQL_STATEMENT_MS_MAX && SQL_TRANSACTION_MS_DEFAULT <= SQL_TRANSACTION_MS_MAX);
assert.ok(SQL_BUSY_RETRY_MS < SQL_LOCK_WAIT_MS_MAX);
