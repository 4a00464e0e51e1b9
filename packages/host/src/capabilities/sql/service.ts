import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../support/result.js';
import type { QueryResult } from './connection.js';
import type { Isolation } from '../../runtime/sandbox.js';
import { EngineClient, type SqlAnswer } from './engine-client.js';
import type { EngineRequest, StorageBudget, WireStatement } from './engine.js';
import type { SqlErrorCode } from './errors.js';
import {
  SQL_APP_BYTES_MAX, SQL_DATABASES_PER_APP_MAX, SQL_LOCK_WAIT_MS_MAX, SQL_MANAGEMENT_MS_MAX, SQL_SNAPSHOT_MS_MAX,
  SQL_STATEMENT_MS_MAX, SQL_TRANSACTION_MS_DEFAULT,
} from './limits.js';
import { checkName, databaseFile, databaseInfo, ensureDirs, folderBytes, listDatabases, tmpDir, transfersDir, type DatabaseInfo } from './store.js';
import { createTransactions, type Lease } from './transactions.js';
import { createTransfers, type ExportChunk } from './transfers.js';

export interface SqlServiceDeps {
  /** The app's `sql` folder: `<data>/apps/<id>/data/sql`. */
  readonly sqlDirOf: (appId: string) => string;
  /** How each app's SQL process is isolated: the same as its workerd process. */
  readonly isolation: Isolation;
  readonly now: () => number;
  /** A line in the app's platform log (timeouts, rollbacks). */
  readonly event: (appId: string, text: string) => void;
  /** Bytes an app's objects and SQL databases may hold together (PLINTH_APP_STORAGE_BYTES_MAX). */
  readonly storageBytesMax: number;
  /** What the app's objects hold now; they share the quota. */
  readonly objectBytes: (appId: string) => number;
}

/** Options every statement call takes: the transaction it belongs to, and a tighter time limit. */
export interface CallOptions {
  readonly transaction?: string | undefined;
  readonly timeoutMs?: number | undefined;
  /** Aborts when the calling app process went away; its statement is then dropped or stopped. */
  readonly signal?: AbortSignal | undefined;
}

export interface SqlUsage {
  /** Bytes of all the app's databases (with their logs), as `list()` reports them. */
  readonly bytes: number;
  readonly databases: readonly { name: string; bytes: number }[];
  /** Snapshot and upload files of exports and imports in progress, and SQLite's temporary files. */
  readonly transferBytes: number;
}

type SqlResult<T> = Result<T, SqlErrorCode>;

/** The `sql` capability's logic; routes.ts is its ABI edge. */
export function createSqlService(deps: SqlServiceDeps) {
  const clients = new Map<string, EngineClient>();
  /** What each app's databases held at its SQL process's last answer (pages × page size). */
  const reportedBytes = new Map<string, number>();
  const storageOf = (appId: string): StorageBudget => ({ bytesMax: deps.storageBytesMax, objectBytes: deps.objectBytes(appId) });
  const transactions = createTransactions({
    now: deps.now,
    rollback: (lease: Lease, reason: string) => {
      deps.event(lease.appId, `sql.transaction_rolled_back ${lease.db} ${lease.id}: ${reason}`);
      void clientFor(lease.appId).call({ op: 'rollback', tx: lease.id }, SQL_MANAGEMENT_MS_MAX, SQL_LOCK_WAIT_MS_MAX);
    },
  });
  const transfers = createTransfers({ now: deps.now, sqlDirOf: deps.sqlDirOf });

  function clientFor(appId: string): EngineClient {
    let client = clients.get(appId);
    if (!client) {
      const sqlDir = deps.sqlDirOf(appId);
      ensureDirs(sqlDir);
      client = new EngineClient({
        appId, sqlDir, isolation: deps.isolation, now: deps.now,
        onTransactionsLost: (ids) => transactions.lost(ids),
        event: (text) => deps.event(appId, text),
        onSqlBytes: (bytes) => reportedBytes.set(appId, bytes),
      });
      clients.set(appId, client);
    }
    return client;
  }

  const call = (appId: string, request: EngineRequest, timeoutMs = SQL_MANAGEMENT_MS_MAX, signal?: AbortSignal): Promise<SqlAnswer> =>
    clientFor(appId).call(request, timeoutMs, SQL_LOCK_WAIT_MS_MAX, signal);

  /** The name is valid and, when a transaction is named, it is this app's and this database's. */
  function checkCall(appId: string, db: string, options: CallOptions): SqlResult<void> {
    const name = checkName(db);
    if (!name.ok) return name;
    if (options.transaction === undefined) return ok(undefined);
    const lease = transactions.check(appId, db, options.transaction);
    return lease.ok ? ok(undefined) : lease;
  }

  /** Room for one more database of `bytes`: the per-app count and byte caps. */
  function checkRoom(appId: string, db: string, bytes: number): SqlResult<void> {
    const existing = listDatabases(deps.sqlDirOf(appId));
    const replacing = existing.find((d) => d.name === db);
    if (!replacing && existing.length >= SQL_DATABASES_PER_APP_MAX) {
      return fail('sql.too_many', `an app holds at most ${SQL_DATABASES_PER_APP_MAX} databases; delete one first`);
    }
    const total = existing.reduce((sum, d) => sum + d.bytes, 0) - (replacing?.bytes ?? 0);
    if (total + bytes > SQL_APP_BYTES_MAX) {
      return fail('sql.storage_full', `an app's databases hold at most ${SQL_APP_BYTES_MAX} bytes together (${total} used); delete or shrink some first`);
    }
    const stored = total + deps.objectBytes(appId);
    if (bytes > 0 && stored + bytes > deps.storageBytesMax) {
      return fail('sql.storage_full', `this app's objects and databases may hold ${deps.storageBytesMax} bytes together (PLINTH_APP_STORAGE_BYTES_MAX); they hold ${stored} without this database, which has ${bytes}. Delete something first`);
    }
    return ok(undefined);
  }

  async function statementCall<T>(appId: string, db: string, options: CallOptions, request: EngineRequest): Promise<SqlResult<T>> {
    const checked = checkCall(appId, db, options);
    if (!checked.ok) return checked;
    return (await call(appId, request, options.timeoutMs ?? SQL_STATEMENT_MS_MAX, options.signal)) as SqlResult<T>;
  }

  return {
    list(appId: string): SqlResult<{ databases: DatabaseInfo[] }> {
      return ok({ databases: listDatabases(deps.sqlDirOf(appId)) });
    },
    info(appId: string, db: string): SqlResult<DatabaseInfo> {
      const name = checkName(db);
      if (!name.ok) return name;
      const info = databaseInfo(deps.sqlDirOf(appId), db);
      return info ? ok(info) : fail('sql.not_found', `no database named ${db}`);
    },
    async create(appId: string, db: string): Promise<SqlResult<DatabaseInfo>> {
      const name = checkName(db);
      if (!name.ok) return name;
      const room = checkRoom(appId, db, 0);
      if (!room.ok) return room;
      return (await call(appId, { op: 'create', db })) as SqlResult<DatabaseInfo>;
    },
    async delete(appId: string, db: string): Promise<SqlResult<{ name: string; deleted: true }>> {
      const name = checkName(db);
      if (!name.ok) return name;
      // The SQL process closes (and so rolls back) the database's transactions as it deletes.
      for (const lease of transactions.openFor(appId, db)) transactions.end(lease.id);
      return (await call(appId, { op: 'delete', db })) as SqlResult<{ name: string; deleted: true }>;
    },
    query(appId: string, db: string, statement: WireStatement, options: CallOptions & { first?: boolean }): Promise<SqlResult<QueryResult>> {
      return statementCall(appId, db, options, { op: 'query', db, tx: options.transaction, statement, first: options.first === true, storage: storageOf(appId) });
    },
    batch(appId: string, db: string, statements: readonly WireStatement[], options: CallOptions): Promise<SqlResult<QueryResult[]>> {
      return statementCall(appId, db, options, { op: 'batch', db, tx: options.transaction, statements, storage: storageOf(appId) });
    },
    exec(appId: string, db: string, sql: string, options: CallOptions): Promise<SqlResult<{ count: number; duration: number }>> {
      return statementCall(appId, db, options, { op: 'exec', db, tx: options.transaction, sql, storage: storageOf(appId) });
    },
    async begin(appId: string, db: string, leaseMs = SQL_TRANSACTION_MS_DEFAULT): Promise<SqlResult<{ id: string; expiresAt: string }>> {
      const name = checkName(db);
      if (!name.ok) return name;
      const id = transactions.reserve(appId);
      if (!id.ok) return id;
      const begun = await call(appId, { op: 'begin', db, tx: id.value });
      if (!begun.ok) {
        transactions.abandoned(appId);
        return begun;
      }
      const lease = transactions.opened(appId, db, id.value, leaseMs);
      return ok({ id: lease.id, expiresAt: new Date(lease.expiresAt).toISOString() });
    },
    async end(appId: string, db: string, id: string, verb: 'commit' | 'rollback'): Promise<SqlResult<unknown>> {
      const checked = checkCall(appId, db, { transaction: id });
      if (!checked.ok) return checked;
      transactions.end(id);
      return call(appId, { op: verb, tx: id });
    },
    async exportStart(appId: string, db: string): Promise<SqlResult<{ id: string; bytes: number }>> {
      const name = checkName(db);
      if (!name.ok) return name;
      const transfer = transfers.start(appId, db, 'export');
      if (!transfer.ok) return transfer;
      const made = await call(appId, { op: 'snapshot', db, file: transfer.value.file }, SQL_SNAPSHOT_MS_MAX);
      if (!made.ok) {
        transfers.drop(transfer.value);
        return made;
      }
      transfers.ready(transfer.value);
      return ok({ id: transfer.value.id, bytes: transfer.value.bytes });
    },
    exportRead(appId: string, db: string, id: string, offset: number): SqlResult<ExportChunk> {
      return transfers.read(appId, db, id, offset);
    },
    transferEnd(appId: string, db: string, id: string, kind: 'export' | 'import'): SqlResult<{ id: string; deleted: true }> {
      const found = transfers.find(appId, db, id, kind);
      if (!found.ok) return found;
      transfers.drop(found.value);
      return ok({ id, deleted: true });
    },
    importStart(appId: string, db: string): SqlResult<{ id: string }> {
      const name = checkName(db);
      if (!name.ok) return name;
      ensureDirs(deps.sqlDirOf(appId));
      const transfer = transfers.start(appId, db, 'import');
      return transfer.ok ? ok({ id: transfer.value.id }) : transfer;
    },
    importAppend(appId: string, db: string, id: string, offset: number, data: Buffer): SqlResult<{ bytes: number }> {
      return transfers.append(appId, db, id, offset, data);
    },
    async importCommit(appId: string, db: string, id: string): Promise<SqlResult<{ name: string; bytes: number }>> {
      const found = transfers.find(appId, db, id, 'import');
      if (!found.ok) return found;
      const transfer = found.value;
      const room = checkRoom(appId, db, transfer.bytes);
      if (!room.ok) return room;
      const valid = await call(appId, { op: 'validate', file: transfer.file }, SQL_SNAPSHOT_MS_MAX);
      if (!valid.ok) {
        transfers.drop(transfer);
        return valid;
      }
      for (const lease of transactions.openFor(appId, db)) transactions.end(lease.id);
      const replaced = await call(appId, { op: 'replace', db, file: transfer.file });
      transfers.drop(transfer);
      return replaced as SqlResult<{ name: string; bytes: number }>;
    },
    /** Consistent copies of every database of the app into `dir`, for the update gate. */
    async snapshotAll(appId: string, dir: string): Promise<SqlResult<{ databases: string[] }>> {
      mkdirSync(dir, { recursive: true });
      const sqlDir = deps.sqlDirOf(appId);
      ensureDirs(sqlDir);
      const names = listDatabases(sqlDir).map((d) => d.name);
      for (const name of names) {
        // Made in the app's sql folder, the only one its sandboxed SQL process may write, then moved (the same file system).
        // VACUUM INTO refuses an existing file, so one left by a snapshot that died half-way goes first.
        const staged = join(tmpDir(sqlDir), `snapshot-${name}.sqlite`);
        rmSync(staged, { force: true });
        const made = await call(appId, { op: 'snapshot', db: name, file: staged }, SQL_SNAPSHOT_MS_MAX);
        if (!made.ok) return made;
        renameSync(staged, join(dir, `${name}.sqlite`));
      }
      // Written last: a snapshot folder without it is incomplete and is never restored.
      writeFileSync(join(dir, 'databases.json'), JSON.stringify(names));
      return ok({ databases: names });
    },
    /**
     * Puts every database back as it was in `dir`: databases made since are
     * deleted, the others replaced from their copies. Open transactions end first.
     */
    async restoreAll(appId: string, dir: string): Promise<SqlResult<{ databases: string[] }>> {
      const names = JSON.parse(readFileSync(join(dir, 'databases.json'), 'utf8')) as string[];
      transactions.lost(transactions.openFor(appId).map((l) => l.id));
      const sqlDir = deps.sqlDirOf(appId);
      ensureDirs(sqlDir);
      for (const current of listDatabases(sqlDir)) {
        if (names.includes(current.name)) continue;
        const removed = await call(appId, { op: 'delete', db: current.name });
        if (!removed.ok) return removed;
      }
      for (const name of names) {
        // replace() renames its file into place, so it gets a copy and the snapshot stays for a later rollback.
        const staged = join(sqlDir, '.tmp', `restore-${name}.sqlite`);
        mkdirSync(join(sqlDir, '.tmp'), { recursive: true });
        copyFileSync(join(dir, `${name}.sqlite`), staged);
        const replaced = await call(appId, { op: 'replace', db: name, file: staged });
        if (!replaced.ok) return replaced;
      }
      return ok({ databases: names });
    },
    /** Storage accounting for the resources issue: what each database and the app's sql folder hold. */
    usage(appId: string): SqlUsage {
      const sqlDir = deps.sqlDirOf(appId);
      const databases = listDatabases(sqlDir).map(({ name, bytes }) => ({ name, bytes }));
      const transferBytes = folderBytes(transfersDir(sqlDir)) + folderBytes(join(sqlDir, '.tmp'));
      return { bytes: databases.reduce((sum, d) => sum + d.bytes, 0), databases, transferBytes };
    },
    /**
     * What the app's databases hold, for the storage quota: as its SQL process last reported
     * (pages × page size), or before it has, the sizes of the files (closed databases are
     * checkpointed, so their file is their size).
     */
    sqlBytes(appId: string): number {
      return reportedBytes.get(appId) ?? listDatabases(deps.sqlDirOf(appId)).reduce((sum, d) => sum + sizeOfFile(databaseFile(deps.sqlDirOf(appId), d.name)), 0);
    },
    /** The app's workerd process stopped, crashed or was unloaded: its transactions end with it. */
    appStopped(appId: string): void {
      transactions.rollbackApp(appId, 'the app process stopped');
    },
    /** Uninstall: end the app's SQL process and forget its transactions and transfers. */
    removeApp(appId: string): void {
      transactions.lost(transactions.openFor(appId).map((l) => l.id));
      transfers.removeApp(appId);
      reportedBytes.delete(appId);
      const client = clients.get(appId);
      clients.delete(appId);
      void client?.terminate();
    },
    async stop(): Promise<void> {
      transfers.stop();
      await Promise.all([...clients.values()].map(async (client) => (client.busy ? client.terminate() : client.stop())));
      clients.clear();
    },
  };
}
export type SqlService = ReturnType<typeof createSqlService>;

function sizeOfFile(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
