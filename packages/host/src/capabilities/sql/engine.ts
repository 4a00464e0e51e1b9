/**
 * The SQL engine of one app: its open databases, its cross-call transactions, and one function
 * that answers each request. It runs in the app's own SQL process (engine-process.ts), which the
 * daemon kills when a statement runs past its time limit: better-sqlite3 is synchronous and
 * cannot be interrupted, and a worker thread's terminate() does not stop native code.
 */
import { closeSync, existsSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import type { PlinthError } from '../../support/result.js';
import { fail, ok, type Result } from '../../support/result.js';
import { attempt, newBudget, openDatabase, SqlConnection, sqliteFailure, type QueryResult, type ResultBudget } from './connection.js';
import type { SqlErrorCode } from './errors.js';
import { SQL_BATCH_STATEMENTS_MAX, SQL_DATABASE_BYTES_MAX, SQL_EXEC_STATEMENTS_MAX, SQL_GUARD_CACHE_MAX } from './limits.js';
import { guardSql, type GuardedStatement } from './statement-guard.js';
import { databaseFile, databaseName, removeDatabaseFiles, writeMeta } from './store.js';
import { toSqlValue, type SqlValue, type WireValue } from './wire-values.js';

export interface WireStatement {
  readonly sql: string;
  readonly params?: readonly WireValue[];
}

/** The app's storage quota as the daemon saw it when it sent a statement call. */
export interface StorageBudget {
  /** Bytes the app's objects and databases may hold together (PLINTH_APP_STORAGE_BYTES_MAX). */
  readonly bytesMax: number;
  /** Bytes its objects hold: what is left is the databases' share. */
  readonly objectBytes: number;
}

/** What the daemon asks of an app's SQL process. Shapes were checked at the ABI edge. */
export type EngineRequest =
  | { readonly op: 'create'; readonly db: string }
  | { readonly op: 'delete'; readonly db: string }
  // `storage` absent (the engine's own tests): only SQL_DATABASE_BYTES_MAX binds.
  | { readonly op: 'query'; readonly db: string; readonly tx?: string; readonly statement: WireStatement; readonly first?: boolean; readonly storage?: StorageBudget }
  | { readonly op: 'batch'; readonly db: string; readonly tx?: string; readonly statements: readonly WireStatement[]; readonly storage?: StorageBudget }
  | { readonly op: 'exec'; readonly db: string; readonly tx?: string; readonly sql: string; readonly storage?: StorageBudget }
  | { readonly op: 'begin'; readonly db: string; readonly tx: string }
  | { readonly op: 'commit'; readonly tx: string }
  | { readonly op: 'rollback'; readonly tx: string }
  | { readonly op: 'replace'; readonly db: string; readonly file: string }
  | { readonly op: 'snapshot'; readonly db: string; readonly file: string }
  | { readonly op: 'validate'; readonly file: string };

/**
 * An answer; `retry` marks a failure that changed nothing because another connection held the
 * write lock, so the daemon may send the same request again once that lock is free.
 * `sqlBytes`: what all of the app's databases hold after the request, for the storage quota.
 */
export type EngineAnswer = ({ readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: PlinthError<SqlErrorCode>; readonly retry?: true }) & { readonly sqlBytes?: number };

type SqlResult<T> = Result<T, SqlErrorCode>;

const retryable = (answer: EngineAnswer): EngineAnswer => (!answer.ok && answer.error.code === 'sql.busy' ? { ...answer, retry: true } : answer);

export function createEngine(sqlDir: string, now: () => Date = () => new Date()) {
  const databases = new Map<string, SqlConnection>();
  const transactions = new Map<string, { db: string; connection: SqlConnection }>();
  const guarded = new Map<string, SqlResult<GuardedStatement[]>>();
  /**
   * Bytes (pages × page size) of each of the app's databases, for the storage quota. Filled from
   * the files when first needed (a closed database has been checkpointed, so its file is its
   * size), then kept from each connection's page count after every request that touches it.
   */
  let sizes: Map<string, number> | undefined;
  const sizesNow = (): Map<string, number> => {
    sizes ??= new Map(readdirSync(sqlDir).flatMap((file) => {
      const name = databaseName(file);
      return name === undefined ? [] : [[name, statSync(databaseFile(sqlDir, name)).size] as const];
    }));
    return sizes;
  };
  const sqlBytes = () => [...sizesNow().values()].reduce((sum, bytes) => sum + bytes, 0);

  /**
   * Binds the database's size to what the quota leaves it, so a write past it fails inside
   * SQLite with SQLITE_FULL and undoes itself (statement, batch or savepoint), never half
   * written. Returns whether the quota, rather than SQL_DATABASE_BYTES_MAX, is what binds.
   */
  function bindSize(conn: SqlConnection, db: string, storage: StorageBudget | undefined): boolean {
    if (!storage) return false;
    const others = sqlBytes() - (sizesNow().get(db) ?? 0);
    const share = storage.bytesMax - storage.objectBytes - others;
    conn.limitBytes(Math.min(share, SQL_DATABASE_BYTES_MAX));
    return share < SQL_DATABASE_BYTES_MAX;
  }

  /** A write the quota stopped is `sql.storage_full` (507), as a full disk would be, not the per-database cap. */
  function quotaFull(answer: EngineAnswer, storage: StorageBudget): EngineAnswer {
    if (answer.ok || answer.error.code !== 'sql.database_too_large') return answer;
    const message = `this app's objects and databases may hold ${storage.bytesMax} bytes together (PLINTH_APP_STORAGE_BYTES_MAX) and this write needs more; nothing of it was applied. Delete something first (${answer.error.message})`;
    return { ok: false, error: { ...answer.error, code: 'sql.storage_full', message } };
  }

  /** Runs a statement call with the database's size bound by the quota, and records its size after. */
  function bounded(conn: SqlConnection, db: string, storage: StorageBudget | undefined, run: () => EngineAnswer): EngineAnswer {
    const quotaBinds = bindSize(conn, db, storage);
    const answer = run();
    sizesNow().set(db, conn.sizeBytes());
    return quotaBinds && storage ? quotaFull(answer, storage) : answer;
  }

  /** Statement checks are pure functions of the text, so each text is tokenized once. */
  function guard(sql: string, statementsMax: number): SqlResult<GuardedStatement[]> {
    const key = `${statementsMax}:${sql}`;
    let result = guarded.get(key);
    if (!result) {
      result = guardSql(sql, statementsMax);
      if (guarded.size >= SQL_GUARD_CACHE_MAX) guarded.delete(guarded.keys().next().value!);
      guarded.set(key, result);
    }
    return result;
  }

  function connection(db: string, tx: string | undefined): SqlResult<SqlConnection> {
    if (tx !== undefined) {
      const open = transactions.get(tx);
      return open && open.db === db ? ok(open.connection) : fail('sql.transaction_not_found', `no open transaction ${tx} on database ${db}; it ended (committed, rolled back, expired, or its app stopped)`);
    }
    const cached = databases.get(db);
    if (cached) return ok(cached);
    if (!existsSync(databaseFile(sqlDir, db))) return fail('sql.not_found', `no database named ${db}; create it first`);
    const opened = attempt(() => new SqlConnection(openDatabase(databaseFile(sqlDir, db))));
    if (opened.ok) databases.set(db, opened.value);
    return opened;
  }

  function values(params: readonly WireValue[] | undefined, statement: GuardedStatement): SqlResult<SqlValue[]> {
    const given = params ?? [];
    if (given.length !== statement.parameterCount) {
      return fail('sql.bad_parameters', `the statement takes ${statement.parameterCount} bound values, got ${given.length}`);
    }
    const converted: SqlValue[] = [];
    for (const param of given) {
      const value = toSqlValue(param);
      if (value === undefined) return fail('sql.bad_parameters', 'a $bigint is outside SQLite\'s 64-bit integer range');
      converted.push(value);
    }
    return ok(converted);
  }

  /** One statement text (several statements run as one unit, without bound values, as D1 runs them). */
  function query(conn: SqlConnection, statement: WireStatement, budget: ResultBudget, first: boolean): SqlResult<QueryResult> {
    const checked = guard(statement.sql, SQL_EXEC_STATEMENTS_MAX);
    if (!checked.ok) return checked;
    const parts = checked.value;
    if (parts.length > 1 && (statement.params?.length ?? 0) > 0) {
      return fail('sql.bad_parameters', `bound values need a single statement; this text holds ${parts.length}`);
    }
    const bound = parts.map((part) => values(statement.params, part));
    const bad = bound.find((b) => !b.ok);
    if (bad && !bad.ok) return bad;
    const run = () => parts.map((part, i) => conn.run(part, (bound[i] as { value: SqlValue[] }).value, budget, first)).at(-1)!;
    return attempt(() => (parts.length === 1 ? run() : conn.db.transaction(run).immediate()));
  }

  /** All statements or none: one IMMEDIATE transaction, or a savepoint inside a cross-call one. */
  function batch(conn: SqlConnection, statements: readonly WireStatement[]): SqlResult<QueryResult[]> {
    if (statements.length > SQL_BATCH_STATEMENTS_MAX) return fail('sql.statement_too_large', `a batch holds at most ${SQL_BATCH_STATEMENTS_MAX} statements (got ${statements.length})`);
    const budget = newBudget();
    let failedAt = -1;
    let failure: PlinthError<SqlErrorCode> | undefined;
    const all = conn.db.transaction(() => statements.map((statement, i) => {
      const result = query(conn, statement, budget, false);
      if (result.ok) return result.value;
      [failedAt, failure] = [i, result.error];
      throw new BatchFailed();
    }));
    try {
      return ok(all.immediate());
    } catch (error) {
      if (!(error instanceof BatchFailed) || !failure) return sqliteFailure(error);
      return fail(failure.code, `statement ${failedAt + 1} of the batch failed, so none was applied: ${failure.message}`, [{ path: `$.statements[${failedAt}]`, message: failure.message }]);
    }
  }

  /** Statements in order, each committed on its own, as D1's exec does; stops at the first failure. */
  function exec(conn: SqlConnection, db: string, sql: string, inTransaction: boolean): EngineAnswer {
    const checked = guard(sql, SQL_EXEC_STATEMENTS_MAX);
    if (!checked.ok) return checked;
    // Not atomic, so it must not meet a lock half way: while a transaction of this app holds the
    // lock, the whole exec waits (retry) before running anything.
    if (!inTransaction && [...transactions.values()].some((t) => t.db === db)) return { ...fail('sql.busy', `database ${db} is locked by a transaction`), retry: true };
    const started = performance.now();
    const budget = newBudget();
    for (const [i, part] of checked.value.entries()) {
      const params = values([], part);
      if (!params.ok) return fail(params.error.code, `statement ${i + 1}: ${params.error.message}`);
      const ran = attempt(() => conn.run(part, params.value, budget));
      if (!ran.ok) {
        const answer = fail(ran.error.code, `Error in statement ${i + 1}: ${part.sql.slice(0, 200)}: ${ran.error.message}`);
        return i === 0 ? retryable(answer) : answer;
      }
    }
    return ok({ count: checked.value.length, duration: Math.round((performance.now() - started) * 1000) / 1000 });
  }

  function dispatch(request: EngineRequest): EngineAnswer {
      switch (request.op) {
        case 'create': return create(request.db);
        case 'delete': return remove(request.db);
        case 'query': {
          const conn = connection(request.db, request.tx);
          return conn.ok ? bounded(conn.value, request.db, request.storage, () => retryable(query(conn.value, request.statement, newBudget(), request.first === true))) : conn;
        }
        case 'batch': {
          const conn = connection(request.db, request.tx);
          return conn.ok ? bounded(conn.value, request.db, request.storage, () => retryable(batch(conn.value, request.statements))) : conn;
        }
        case 'exec': {
          const conn = connection(request.db, request.tx);
          return conn.ok ? bounded(conn.value, request.db, request.storage, () => exec(conn.value, request.db, request.sql, request.tx !== undefined)) : conn;
        }
        case 'begin': return begin(request.db, request.tx);
        case 'commit': return end(request.tx, 'COMMIT');
        case 'rollback': return end(request.tx, 'ROLLBACK');
        case 'replace': return replace(request.db, request.file);
        case 'snapshot':
        case 'validate':
          throw new Error(`${request.op} runs in a worker thread, not in handle()`);
      }
  }

  return {
    handle(request: EngineRequest): EngineAnswer {
      const answer = dispatch(request);
      return sizes ? { ...answer, sqlBytes: sqlBytes() } : answer;
    },
    /** Closes every connection; WAL mode checkpoints and removes the log on the last close. */
    closeAll(): void {
      for (const { connection: conn } of transactions.values()) conn.close();
      transactions.clear();
      for (const conn of databases.values()) conn.close();
      databases.clear();
    },
  };

  function create(db: string): EngineAnswer {
    const file = databaseFile(sqlDir, db);
    try {
      // 'wx' creates the file or fails if it exists, so two creates of one name cannot both win.
      closeSync(openSync(file, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return fail('sql.exists', `a database named ${db} exists already`);
      throw error;
    }
    const createdAt = now();
    writeMeta(sqlDir, db, createdAt);
    const opened = connection(db, undefined);
    if (!opened.ok) return opened;
    sizesNow().set(db, opened.value.sizeBytes());
    return ok({ name: db, createdAt: createdAt.toISOString(), bytes: opened.value.sizeBytes() });
  }

  function closeDatabase(db: string): void {
    for (const [id, open] of transactions) {
      if (open.db !== db) continue;
      open.connection.close(); // closing with a transaction open rolls it back
      transactions.delete(id);
    }
    databases.get(db)?.close();
    databases.delete(db);
  }

  function remove(db: string): EngineAnswer {
    if (!existsSync(databaseFile(sqlDir, db))) return fail('sql.not_found', `no database named ${db}`);
    closeDatabase(db);
    removeDatabaseFiles(sqlDir, db);
    sizes?.delete(db);
    return ok({ name: db, deleted: true });
  }

  function begin(db: string, tx: string): EngineAnswer {
    if (!existsSync(databaseFile(sqlDir, db))) return fail('sql.not_found', `no database named ${db}`);
    const opened = attempt(() => new SqlConnection(openDatabase(databaseFile(sqlDir, db))));
    if (!opened.ok) return opened;
    try {
      // IMMEDIATE takes the write lock now, so the transaction can never fail half way on a lock.
      opened.value.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      opened.value.close();
      return retryable(sqliteFailure(error));
    }
    transactions.set(tx, { db, connection: opened.value });
    return ok({ id: tx });
  }

  function end(tx: string, verb: 'COMMIT' | 'ROLLBACK'): EngineAnswer {
    const open = transactions.get(tx);
    if (!open) return fail('sql.transaction_not_found', `no open transaction ${tx}`);
    transactions.delete(tx);
    try {
      if (open.connection.db.inTransaction) open.connection.db.exec(verb);
      return ok({ id: tx, [verb === 'COMMIT' ? 'committed' : 'rolledBack']: true });
    } catch (error) {
      return sqliteFailure(error); // e.g. a deferred foreign key; closing below rolls back
    } finally {
      open.connection.close();
    }
  }

  /**
   * Swaps in a checked file (engine-worker.ts validated it). Every connection is closed first,
   * which checkpoints the log into the old file and removes it, so the new file is never paired
   * with the old file's log; then one rename makes the swap atomic.
   */
  function replace(db: string, file: string): EngineAnswer {
    const target = databaseFile(sqlDir, db);
    const existed = existsSync(target);
    closeDatabase(db);
    rmSync(`${target}-wal`, { force: true });
    rmSync(`${target}-shm`, { force: true });
    renameSync(file, target);
    if (!existed) writeMeta(sqlDir, db, now());
    const opened = connection(db, undefined);
    if (!opened.ok) return opened;
    sizesNow().set(db, opened.value.sizeBytes());
    return ok({ name: db, bytes: opened.value.sizeBytes() });
  }
}

class BatchFailed extends Error {}

export type Engine = ReturnType<typeof createEngine>;
