/**
 * One better-sqlite3 connection to one app database, opened with the platform's settings, and
 * the execution of one checked statement with D1's result shape. Runs inside an app's SQL
 * process (engine-process.ts), never in the daemon.
 */
import Database from 'better-sqlite3';
import { fail, ok, type Result } from '../../support/result.js';
import type { SqlErrorCode } from './errors.js';
import { SQL_DATABASE_BYTES_MAX, SQL_RESULT_BYTES_MAX, SQL_STATEMENT_CACHE_MAX } from './limits.js';
import type { GuardedStatement } from './statement-guard.js';
import { encodedBytes, fromSqlValue, type EncodedValue, type SqlValue } from './wire-values.js';

/** D1's `meta`, field for field, plus `served_by`. */
export interface QueryMeta {
  readonly served_by: 'plinth';
  readonly duration: number;
  readonly changes: number;
  readonly last_row_id: number;
  readonly changed_db: boolean;
  readonly size_after: number;
  readonly rows_read: number;
  readonly rows_written: number;
  readonly timings: { readonly sql_duration_ms: number };
}

/** Rows as arrays with the column names once (D1's ROWS_AND_COLUMNS form); the SDK makes objects. */
export interface QueryResult {
  readonly columns: string[];
  readonly rows: EncodedValue[][];
  readonly meta: QueryMeta;
}

/** Bytes a call's results may still take; shared by the statements of a batch. */
export interface ResultBudget {
  bytes: number;
}

export const newBudget = (): ResultBudget => ({ bytes: SQL_RESULT_BYTES_MAX });

const SCHEMA_WORDS = new Set(['CREATE', 'DROP', 'ALTER', 'REINDEX', 'VACUUM', 'ANALYZE']);

class ResultTooLarge extends Error {}

/** Maps what better-sqlite3 throws to a code; anything else is a bug and is rethrown. */
export function sqliteFailure(error: unknown): { ok: false; error: { code: SqlErrorCode; message: string } } {
  if (error instanceof ResultTooLarge) return fail('sql.result_too_large', `a call returns at most ${SQL_RESULT_BYTES_MAX} bytes of results; page with LIMIT and OFFSET`);
  if (error instanceof Database.SqliteError) {
    const code = error.code;
    const message = `${error.message}: ${code}`;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return fail('sql.busy', message);
    if (code.startsWith('SQLITE_CONSTRAINT')) return fail('sql.constraint_violation', message);
    if (code === 'SQLITE_FULL') return fail('sql.database_too_large', `a database holds at most ${SQL_DATABASE_BYTES_MAX} bytes: ${message}`);
    if (code === 'SQLITE_AUTH') return fail('sql.not_authorized', message);
    return fail('sql.sqlite_error', message);
  }
  // better-sqlite3 checks bound values in JS: wrong count (RangeError) or type (TypeError).
  if (error instanceof RangeError || error instanceof TypeError) return fail('sql.bad_parameters', error.message);
  throw error;
}

/** Opens a database file with the settings README.md's Guarantees describe. */
export function openDatabase(path: string): Database.Database {
  // timeout 0: a statement that meets another connection's write lock fails at once with
  // SQLITE_BUSY, and the daemon parks and retries it (engine-client.ts) instead of this
  // single-threaded process sleeping inside SQLite while the lock holder waits behind it.
  const db = new Database(path, { fileMustExist: true, timeout: 0 });
  try {
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives any crash of this process or the daemon (the WAL
    // write is in the OS before COMMIT returns); only an OS crash or power cut may lose the
    // last commits, never consistency. FULL would fsync every commit (~2.4 ms here).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // An imported file's schema must not call functions with side effects from triggers or views.
    db.pragma('trusted_schema = OFF');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`max_page_count = ${Math.floor(SQL_DATABASE_BYTES_MAX / pageSize)}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** A connection plus its prepared-statement cache and the helpers D1's `meta` needs. */
export class SqlConnection {
  private readonly statements = new Map<string, Database.Statement<unknown[]>>();
  private readonly pageCount: Database.Statement<[], bigint>;
  private readonly lastChange: Database.Statement<[], bigint[]>;
  private readonly pageSize: number;

  constructor(readonly db: Database.Database) {
    this.pageCount = db.prepare<[], bigint>('PRAGMA page_count').pluck().safeIntegers(true);
    this.lastChange = db.prepare<[], bigint[]>('SELECT changes(), last_insert_rowid()').raw(true).safeIntegers(true);
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
  }

  sizeBytes(): number {
    return Number(this.pageCount.get()!) * this.pageSize;
  }

  /** The max_page_count last set and kept as asked (SQLite raises a value below the current size to it). */
  private pagesMax: number | undefined;

  /**
   * Caps the database at `bytes`: a write that needs a page past it fails with SQLITE_FULL.
   * Below the current size the cap is the current size, so freed pages can still be reused.
   */
  limitBytes(bytes: number): void {
    const pages = Math.max(1, Math.floor(bytes / this.pageSize));
    if (pages === this.pagesMax) return;
    const set = this.db.pragma(`max_page_count = ${pages}`, { simple: true }) as number;
    this.pagesMax = set === pages ? pages : undefined;
  }

  private prepare(sql: string): Database.Statement<unknown[]> {
    let statement = this.statements.get(sql);
    if (statement) {
      this.statements.delete(sql); // move to the young end of the LRU order
    } else {
      statement = this.db.prepare<unknown[]>(sql).safeIntegers(true);
      if (statement.reader) statement.raw(true);
      if (this.statements.size >= SQL_STATEMENT_CACHE_MAX) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, statement);
    return statement;
  }

  /**
   * Runs one checked statement. `firstOnly` stops a read-only statement after its first row
   * (`first()`); a statement that writes always runs to the end. Throws what better-sqlite3
   * throws; callers map it with `sqliteFailure`.
   */
  run(guarded: GuardedStatement, values: readonly SqlValue[], budget: ResultBudget, firstOnly = false): QueryResult {
    const started = performance.now();
    const statement = this.prepare(guarded.sql);
    const bound = guarded.parameterOrder ? guarded.parameterOrder.map((i) => values[i]!) : values;
    let columns: string[] = [];
    const rows: EncodedValue[][] = [];
    let changes = 0;
    let lastRowId: bigint | number = 0;
    if (statement.reader) {
      columns = statement.columns().map((c) => c.name);
      const read = () => {
        for (const row of statement.iterate(...bound) as Iterable<unknown[]>) {
          rows.push(encodeRow(row, budget));
          if (firstOnly && statement.readonly) break;
        }
      };
      // INSERT ... RETURNING writes before its rows are read: a transaction lets a result
      // past the cap undo the write too (better-sqlite3 nests it as a savepoint in a batch).
      if (statement.readonly) read();
      else this.db.transaction(read)();
      [changes, lastRowId] = this.lastChangeNow(statement.readonly);
    } else {
      const info = statement.run(...bound);
      changes = info.changes;
      lastRowId = info.lastInsertRowid;
    }
    const duration = Math.round((performance.now() - started) * 1000) / 1000;
    const changedDb = !statement.readonly && (changes > 0 || SCHEMA_WORDS.has(guarded.lead));
    return {
      columns, rows,
      meta: {
        served_by: 'plinth', duration, changes, last_row_id: Number(lastRowId), changed_db: changedDb,
        size_after: this.sizeBytes(), rows_read: rows.length, rows_written: changedDb ? changes : 0,
        timings: { sql_duration_ms: duration },
      },
    };
  }

  private lastChangeNow(readonly: boolean): [number, bigint] {
    const [changes = 0n, rowId = 0n] = this.lastChange.get() ?? [];
    return [readonly ? 0 : Number(changes), rowId];
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}

function encodeRow(row: unknown[], budget: ResultBudget): EncodedValue[] {
  const encoded = row.map(fromSqlValue);
  for (const value of encoded) budget.bytes -= encodedBytes(value);
  if (budget.bytes < 0) throw new ResultTooLarge();
  return encoded;
}

/** Runs `work` and turns what it throws into a Result. */
export function attempt<T>(work: () => T): Result<T, SqlErrorCode> {
  try {
    return ok(work());
  } catch (error) {
    return sqliteFailure(error);
  }
}
