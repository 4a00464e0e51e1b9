/**
 * A D1-compatible database over the platform ABI: the same classes, methods, result shapes and
 * error texts as Cloudflare's D1 binding, so `drizzle-orm/d1` and `kysely-d1` run unchanged.
 * Differences from D1 are listed in the host's `capabilities/sql/README.md`.
 */
import { callPlatform, PlinthError, type PlinthEnv } from '../abi.js';
import { decodeValue, encodeValue, type SqlValue, type WireValue } from './wire-values.js';

/** D1's `meta`. */
export interface D1Meta {
  served_by: string;
  duration: number;
  changes: number;
  last_row_id: number;
  changed_db: boolean;
  size_after: number;
  rows_read: number;
  rows_written: number;
  timings?: { sql_duration_ms: number };
  [key: string]: unknown;
}

export interface D1Result<T = Record<string, SqlValue>> {
  success: true;
  meta: D1Meta;
  results: T[];
}

export interface D1ExecResult {
  count: number;
  duration: number;
}

/** The host's answer: rows as arrays with the column names once. */
interface WireResult {
  columns: string[];
  rows: WireValue[][];
  meta: D1Meta;
}

export interface DatabaseOptions {
  /** Running-time limit per call, in ms, below the platform's 30 s; a statement past it is stopped. */
  readonly timeoutMs?: number;
}

/** Where a database's calls go, and which cross-call transaction they belong to, if any. */
export interface DatabaseTarget {
  readonly env: PlinthEnv;
  readonly name: string;
  readonly options: DatabaseOptions;
  readonly transaction?: string;
}

export const databasePath = (name: string) => `/v1/sql/${encodeURIComponent(name)}`;

/** D1's errors are `Error`s whose message starts with a D1 prefix; ours are PlinthErrors with the same text. */
export class SqlError extends PlinthError {
  constructor(code: string, message: string, status: number, cause?: unknown) {
    super(code, message, status);
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, enumerable: false });
  }
}

export async function sqlCall<T>(target: DatabaseTarget, path: string, body: Record<string, unknown>, prefix = 'D1_ERROR'): Promise<T> {
  try {
    const extra = { ...(target.transaction ? { transaction: target.transaction } : {}), ...(target.options.timeoutMs ? { timeoutMs: target.options.timeoutMs } : {}) };
    return await callPlatform<T>(target.env, 'POST', `${databasePath(target.name)}${path}`, { ...body, ...extra });
  } catch (error) {
    if (!(error instanceof PlinthError)) throw error;
    throw new SqlError(error.code, `${prefix}: ${error.message}`, error.status, new Error(error.message));
  }
}

function toObjects(result: WireResult): Record<string, SqlValue>[] {
  return result.rows.map((row) => {
    const object: Record<string, SqlValue> = {};
    row.forEach((value, i) => { object[result.columns[i]!] = decodeValue(value); });
    return object;
  });
}

const toD1Result = (result: WireResult): D1Result => ({ success: true, meta: result.meta, results: toObjects(result) });

export class D1PreparedStatement {
  constructor(
    private readonly target: DatabaseTarget,
    readonly statement: string,
    readonly params: readonly WireValue[] = [],
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new D1PreparedStatement(this.target, this.statement, values.map(encodeValue));
  }

  private query(first = false): Promise<WireResult> {
    return sqlCall<WireResult>(this.target, '/query', { sql: this.statement, params: this.params, ...(first ? { first } : {}) });
  }

  /** The first row, or one column of it; null when there is no row. Stops reading after one row. */
  async first<T = Record<string, SqlValue>>(columnName?: string): Promise<T | null> {
    const result = await this.query(true);
    const row = toObjects({ ...result, rows: result.rows.slice(0, 1) })[0];
    if (!row) return null;
    if (columnName === undefined) return row as T;
    if (!(columnName in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${columnName})`, { cause: new Error('Column not found') });
    return row[columnName] as T;
  }

  async all<T = Record<string, SqlValue>>(): Promise<D1Result<T>> {
    return toD1Result(await this.query()) as D1Result<T>;
  }

  /** As on D1 today, `run()` answers like `all()`, rows included (for `RETURNING`). */
  async run<T = Record<string, SqlValue>>(): Promise<D1Result<T>> {
    return this.all<T>();
  }

  /** Rows as arrays; with `columnNames`, the names come first, even when there are no rows. */
  async raw<T = SqlValue[]>(options?: { columnNames?: boolean }): Promise<T[]> {
    const result = await this.query();
    const rows = result.rows.map((row) => row.map(decodeValue));
    return (options?.columnNames ? [result.columns, ...rows] : rows) as T[];
  }
}

/** D1's database object. A cross-call transaction's `tx` is one too, bound to its transaction. */
export class D1Database {
  constructor(protected readonly target: DatabaseTarget) {}

  prepare(query: string): D1PreparedStatement {
    return new D1PreparedStatement(this.target, query);
  }

  /** All or nothing: one SQLite transaction. Statements must come from `prepare()` of a Plinth database. */
  async batch<T = Record<string, SqlValue>>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    const wire = statements.map((s) => {
      if (!(s instanceof D1PreparedStatement)) throw new TypeError('batch() takes statements made by prepare()');
      return { sql: s.statement, params: s.params };
    });
    const results = await sqlCall<WireResult[]>(this.target, '/batch', { statements: wire });
    return results.map(toD1Result) as D1Result<T>[];
  }

  /** Statements separated by `;`, each committed on its own as on D1; no bound values, no rows. */
  exec(query: string): Promise<D1ExecResult> {
    return sqlCall<D1ExecResult>(this.target, '/exec', { sql: query }, 'D1_EXEC_ERROR');
  }

  /** D1's read-replication sessions: Plinth has one copy, so a session is the database itself. */
  withSession(_constraintOrBookmark?: string): D1Database & { getBookmark(): string | null } {
    return Object.assign(Object.create(this) as D1Database, { getBookmark: () => null });
  }
}

type PlinthD1Database = D1Database;
type PlinthD1PreparedStatement = D1PreparedStatement;
type PlinthD1Meta = D1Meta;

/*
 * Cloudflare's D1 names as global types, as @cloudflare/workers-types declares them. ORM adapters
 * name them in their .d.ts files without importing them (drizzle-orm/d1 uses D1Database,
 * D1PreparedStatement, D1Result and D1Response); declared here, they are Plinth's classes, so an
 * app type-checks without Cloudflare's types and its query results are typed instead of `any`.
 */
declare global {
  interface D1Database extends PlinthD1Database {}
  interface D1PreparedStatement extends PlinthD1PreparedStatement {}
  interface D1Response {
    success: true;
    meta: PlinthD1Meta;
    error?: never;
  }
  interface D1Result<T = unknown> extends D1Response {
    results: T[];
  }
}
