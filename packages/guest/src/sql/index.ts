import { callPlatform, PlinthError, type PlinthEnv } from '../abi.js';
import { fromBase64, toBase64, toBytes, type BytesLike } from '../bytes.js';
import { D1Database, databasePath, sqlCall, type DatabaseOptions, type DatabaseTarget } from './d1-database.js';

export { D1Database, D1PreparedStatement, SqlError, type D1ExecResult, type D1Meta, type D1Result, type DatabaseOptions } from './d1-database.js';
export type { SqlValue } from './wire-values.js';

export interface DatabaseInfo {
  readonly name: string;
  /** The database file plus its write-ahead log, in bytes. */
  readonly bytes: number;
  readonly createdAt: string;
}

export interface TransactionOptions {
  /** The lease in ms (default 10 000, at most 30 000): past it the transaction is rolled back. */
  readonly timeoutMs?: number;
}

/** Bytes per export or import call: 1 MiB, the host's SQL_TRANSFER_CHUNK_BYTES_MAX. */
const CHUNK_BYTES = 1024 * 1024;

/** A database: D1's API plus cross-call transactions, export and import. */
export class PlinthDatabase extends D1Database {
  /**
   * Runs `work` in one transaction that spans calls: every statement made through `tx` sees the
   * others' writes, and other writers wait. Committed when `work` resolves; rolled back when it
   * throws, when the lease runs out, or when the app's process stops. `tx` is a D1 database, so
   * `drizzle(tx)` and `new Kysely({ dialect: new D1Dialect({ database: tx }) })` work inside.
   */
  async transaction<T>(work: (tx: D1Database) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const { env, name } = this.target;
    const begun = await sqlCall<{ id: string }>({ ...this.target, options: {} }, '/transactions', options.timeoutMs ? { timeoutMs: options.timeoutMs } : {});
    const tx = new D1Database({ ...this.target, transaction: begun.id });
    const end = (verb: 'commit' | 'rollback') => callPlatform(env, 'POST', `${databasePath(name)}/transactions/${encodeURIComponent(begun.id)}/${verb}`);
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      await end('rollback').catch(() => undefined); // it may have ended already (lease ran out)
      throw error;
    }
    await end('commit');
    return result;
  }

  /**
   * A consistent snapshot of the database as an SQLite file, streamed in 1 MiB pieces. Writes
   * may go on meanwhile; the file is the database as of one moment.
   */
  async export(): Promise<{ bytes: number; stream: ReadableStream<Uint8Array> }> {
    const { env, name } = this.target;
    const started = await callPlatform<{ id: string; bytes: number }>(env, 'POST', `${databasePath(name)}/exports`);
    const path = `${databasePath(name)}/exports/${encodeURIComponent(started.id)}`;
    const finish = async (): Promise<void> => { await callPlatform(env, 'DELETE', path).catch(() => undefined); };
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const chunk = await callPlatform<{ data: string; done: boolean }>(env, 'GET', `${path}?offset=${offset}`);
        const bytes = fromBase64(chunk.data);
        offset += bytes.length;
        if (bytes.length > 0) controller.enqueue(bytes);
        if (chunk.done) {
          await finish();
          controller.close();
        }
      },
      cancel: finish,
    });
    return { bytes: started.bytes, stream };
  }

  /** D1's `dump()`: the whole database file at once. */
  async dump(): Promise<ArrayBuffer> {
    const { bytes, stream } = await this.export();
    const out = new Uint8Array(bytes);
    let at = 0;
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out.buffer;
  }

  /**
   * Replaces the database (or creates it) with an SQLite file. The platform checks the file
   * (header, `PRAGMA integrity_check`, size cap) before swapping it in whole; a refused file
   * changes nothing.
   */
  async import(data: BytesLike | ReadableStream<Uint8Array>): Promise<DatabaseInfo> {
    const { env, name } = this.target;
    const { id } = await callPlatform<{ id: string }>(env, 'POST', `${databasePath(name)}/imports`);
    const path = `${databasePath(name)}/imports/${encodeURIComponent(id)}`;
    try {
      let offset = 0;
      for await (const piece of pieces(data)) {
        await callPlatform(env, 'PUT', path, { offset, data: toBase64(piece) });
        offset += piece.length;
      }
      return await callPlatform<DatabaseInfo>(env, 'POST', `${path}/commit`);
    } catch (error) {
      await callPlatform(env, 'DELETE', path).catch(() => undefined);
      throw error;
    }
  }
}

/** Cuts bytes or a stream into pieces of at most CHUNK_BYTES. */
async function* pieces(data: BytesLike | ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (!(data instanceof ReadableStream)) {
    const bytes = toBytes(data);
    for (let i = 0; i < bytes.length; i += CHUNK_BYTES) yield bytes.subarray(i, i + CHUNK_BYTES);
    return;
  }
  let pending = new Uint8Array(0);
  for await (const chunk of data as unknown as AsyncIterable<Uint8Array>) {
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    pending = joined;
    while (pending.length >= CHUNK_BYTES) {
      yield pending.subarray(0, CHUNK_BYTES);
      pending = pending.subarray(CHUNK_BYTES);
    }
  }
  if (pending.length > 0) yield pending;
}

export interface SqlClient {
  /** Creates an empty database; fails with `sql.exists` if the name is taken. */
  create(name: string): Promise<DatabaseInfo>;
  list(): Promise<DatabaseInfo[]>;
  /** True when a database was deleted. */
  delete(name: string): Promise<boolean>;
  /** The database (no call is made until it is used; a missing one fails with `sql.not_found`). */
  open(name: string, options?: DatabaseOptions): PlinthDatabase;
}

export function sqlClient(env: PlinthEnv): SqlClient {
  return {
    create: (name) => callPlatform<DatabaseInfo>(env, 'POST', '/v1/sql', { name }),
    list: async () => (await callPlatform<{ databases: DatabaseInfo[] }>(env, 'GET', '/v1/sql')).databases,
    delete: async (name) => {
      try {
        await callPlatform(env, 'DELETE', databasePath(name));
        return true;
      } catch (error) {
        if (error instanceof PlinthError && error.code === 'sql.not_found') return false;
        throw error;
      }
    },
    open: (name, options = {}) => new PlinthDatabase({ env, name, options } satisfies DatabaseTarget),
  };
}
