import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, fdatasync, mkdirSync, readdirSync, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Where object bytes live. Blobs are immutable and named by random ids, never by object keys,
 * so no key can reach the file system. Metadata (in SQLite) points at blobs; a blob is written
 * and made durable before any metadata refers to it.
 */
export interface BlobStore {
  /** Objects up to this size live in the index row instead (0: never), saving a file and two fsyncs. */
  readonly inlineBytesMax: number;
  /** Streams a new blob: `fill` pipes the body into the sink. Resolves with its id once the bytes are durable. */
  write(appId: string, fill: (sink: Writable) => Promise<void>): Promise<string>;
  /** Bytes `start` to `end` inclusive. */
  read(appId: string, id: string, start: number, end: number): Promise<Readable>;
  remove(appId: string, ids: readonly string[]): Promise<void>;
  /** Deletes what a crash between write and commit left behind: blobs `isReferenced` does not know. */
  sweep(appId: string, isReferenced: (id: string) => boolean): Promise<number>;
  removeApp(appId: string): Promise<void>;
}

/** Local objects up to 64 KiB are stored in the SQLite index (SQLite reads small blobs faster than files). */
const INLINE_BYTES_MAX = 64 * 1024;

export const newBlobId = () => randomBytes(16).toString('hex');

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushed while written, so the fsync at close finds little left (a large upload's last step is not one long flush). */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

/** A pass-through into `file` that starts an fdatasync (off the event loop) every SYNC_EVERY_BYTES. */
function syncAsWritten(file: WriteStream): Writable {
  let unsynced = 0;
  let fd: number | undefined;
  file.once('open', (opened: number) => { fd = opened; });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      unsynced += chunk.length;
      if (unsynced >= SYNC_EVERY_BYTES && fd !== undefined) {
        unsynced = 0;
        // Best effort: the close still fsyncs everything; an error here (fd already closed) changes nothing.
        fdatasync(fd, () => undefined);
      }
      done(null, chunk);
    },
  });
  tap.pipe(file);
  tap.once('error', (error) => file.destroy(error));
  file.once('error', (error) => tap.destroy(error));
  return tap;
}

/** Blobs as files under `<app data>/objects/blobs`, written through `tmp/`, fsynced, then renamed. */
export function createLocalBlobStore(objectsDirOf: (appId: string) => string): BlobStore {
  const dirs = (appId: string) => {
    const root = objectsDirOf(appId);
    return { blobs: join(root, 'blobs'), tmp: join(root, 'tmp') };
  };
  const ready = new Set<string>();
  const ensure = (appId: string) => {
    const d = dirs(appId);
    if (!ready.has(appId)) {
      mkdirSync(d.blobs, { recursive: true, mode: 0o700 });
      mkdirSync(d.tmp, { recursive: true, mode: 0o700 });
      ready.add(appId);
    }
    return d;
  };

  return {
    inlineBytesMax: INLINE_BYTES_MAX,
    async write(appId, fill) {
      const d = ensure(appId);
      const id = newBlobId();
      const tmp = join(d.tmp, id);
      try {
        // flush: fsync before close, and the stream's finish waits for the close.
        const file = createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true });
        await Promise.all([fill(syncAsWritten(file)), finished(file)]);
        await rename(tmp, join(d.blobs, id));
        await fsyncDirectory(d.blobs);
        return id;
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async read(appId, id, start, end) {
      if (end < start) return Readable.from([]);
      return createReadStream(join(dirs(appId).blobs, id), { start, end, highWaterMark: 256 * 1024 });
    },
    async remove(appId, ids) {
      const d = dirs(appId);
      await Promise.all(ids.map((id) => rm(join(d.blobs, id), { force: true })));
    },
    async sweep(appId, isReferenced) {
      const d = ensure(appId);
      // Listed synchronously, before any write of this process can start, so only leftovers are seen.
      const leftovers = [...readdirSync(d.tmp).map((name) => join(d.tmp, name)), ...readdirSync(d.blobs).filter((id) => !isReferenced(id)).map((id) => join(d.blobs, id))];
      await Promise.all(leftovers.map((path) => rm(path, { force: true })));
      return leftovers.length;
    },
    async removeApp(appId) {
      ready.delete(appId);
      const d = dirs(appId);
      await Promise.all([rm(d.blobs, { recursive: true, force: true }), rm(d.tmp, { recursive: true, force: true })]);
    },
  };
}
