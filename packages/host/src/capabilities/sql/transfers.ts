/**
 * Exports and imports move whole database files through the JSON ABI in chunks of at most
 * SQL_TRANSFER_CHUNK_BYTES_MAX, base64-encoded. An export is a snapshot file made once, then
 * read by offset; an import is an upload appended by offset (a retried chunk at the same offset
 * is refused, not appended twice), checked, then swapped in whole. Files live in the app's
 * `sql/.transfers/` folder and are removed when finished or idle too long.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../support/result.js';
import type { SqlErrorCode } from './errors.js';
import { SQL_DATABASE_BYTES_MAX, SQL_TRANSFER_CHUNK_BYTES_MAX, SQL_TRANSFER_IDLE_MS_MAX, SQL_TRANSFERS_PER_APP_MAX } from './limits.js';
import { transfersDir } from './store.js';

export interface Transfer {
  readonly id: string;
  readonly kind: 'export' | 'import';
  readonly appId: string;
  readonly db: string;
  readonly file: string;
  bytes: number;
  lastUsed: number;
}

export interface ExportChunk {
  readonly offset: number;
  readonly data: string;
  readonly bytes: number;
  readonly done: boolean;
}

type TransferResult<T> = Result<T, SqlErrorCode>;

export function createTransfers(deps: { now: () => number; sqlDirOf: (appId: string) => string }) {
  const transfers = new Map<string, Transfer>();

  function sweep(): void {
    for (const transfer of [...transfers.values()]) {
      if (deps.now() - transfer.lastUsed > SQL_TRANSFER_IDLE_MS_MAX) drop(transfer);
    }
  }
  const sweeper = setInterval(sweep, 60_000);
  sweeper.unref();

  function drop(transfer: Transfer): void {
    transfers.delete(transfer.id);
    rmSync(transfer.file, { force: true });
  }

  function find(appId: string, db: string, id: string, kind: Transfer['kind']): TransferResult<Transfer> {
    const transfer = transfers.get(id);
    if (!transfer || transfer.appId !== appId || transfer.db !== db || transfer.kind !== kind) {
      return fail('sql.transfer_not_found', `no ${kind} ${id} of database ${db} is in progress; it finished or was idle over ${SQL_TRANSFER_IDLE_MS_MAX} ms`);
    }
    transfer.lastUsed = deps.now();
    return ok(transfer);
  }

  return {
    /** A new transfer with the name of its (not yet written) file. */
    start(appId: string, db: string, kind: Transfer['kind']): TransferResult<Transfer> {
      if ([...transfers.values()].filter((t) => t.appId === appId).length >= SQL_TRANSFERS_PER_APP_MAX) {
        return fail('sql.too_many_transfers', `an app has at most ${SQL_TRANSFERS_PER_APP_MAX} exports and imports in progress; finish or delete one first`);
      }
      const id = `${kind === 'export' ? 'exp' : 'imp'}_${randomBytes(12).toString('base64url')}`;
      const file = join(transfersDir(deps.sqlDirOf(appId)), `${id}.sqlite`);
      const transfer: Transfer = { id, kind, appId, db, file, bytes: 0, lastUsed: deps.now() };
      if (kind === 'import') closeSync(openSync(file, 'wx', 0o600));
      transfers.set(id, transfer);
      return ok(transfer);
    },
    /** The snapshot file is complete: record its size. */
    ready(transfer: Transfer): void {
      transfer.bytes = statSync(transfer.file).size;
    },
    find,
    drop,
    read(appId: string, db: string, id: string, offset: number): TransferResult<ExportChunk> {
      const found = find(appId, db, id, 'export');
      if (!found.ok) return found;
      const { file, bytes } = found.value;
      if (offset > bytes) return fail('sql.transfer_offset_mismatch', `offset ${offset} is past the end of the ${bytes}-byte export`);
      const chunk = Buffer.alloc(Math.min(SQL_TRANSFER_CHUNK_BYTES_MAX, bytes - offset));
      const fd = openSync(file, 'r');
      try {
        readSync(fd, chunk, 0, chunk.length, offset);
      } finally {
        closeSync(fd);
      }
      return ok({ offset, data: chunk.toString('base64'), bytes, done: offset + chunk.length >= bytes });
    },
    append(appId: string, db: string, id: string, offset: number, data: Buffer): TransferResult<{ bytes: number }> {
      const found = find(appId, db, id, 'import');
      if (!found.ok) return found;
      const transfer = found.value;
      if (offset !== transfer.bytes) return fail('sql.transfer_offset_mismatch', `the upload holds ${transfer.bytes} bytes; send the chunk at offset ${transfer.bytes} (got ${offset})`);
      if (data.length > SQL_TRANSFER_CHUNK_BYTES_MAX) return fail('sql.database_too_large', `a chunk is at most ${SQL_TRANSFER_CHUNK_BYTES_MAX} bytes (got ${data.length})`);
      if (transfer.bytes + data.length > SQL_DATABASE_BYTES_MAX) return fail('sql.database_too_large', `a database holds at most ${SQL_DATABASE_BYTES_MAX} bytes`);
      const fd = openSync(transfer.file, 'r+');
      try {
        writeSync(fd, data, 0, data.length, offset);
      } finally {
        closeSync(fd);
      }
      transfer.bytes += data.length;
      return ok({ bytes: transfer.bytes });
    },
    /** Drops an app's transfers (uninstall) and stops the sweeper when the daemon stops. */
    removeApp(appId: string): void {
      for (const transfer of [...transfers.values()]) if (transfer.appId === appId) drop(transfer);
    },
    stop(): void {
      clearInterval(sweeper);
    },
  };
}
export type Transfers = ReturnType<typeof createTransfers>;
