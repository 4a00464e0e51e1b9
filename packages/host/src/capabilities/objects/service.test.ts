import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { createLocalBlobStore } from './blob-store.js';
import { Digester, type ChecksumAlgorithm } from './checksums.js';
import { S3Error } from './errors.js';
import { UPLOAD_LIFETIME_MS } from './limits.js';
import { createObjectsService, type Fill } from './service.js';

const root = mkdtempSync(join(tmpdir(), 'plinth-objects-service-'));
after(() => rmSync(root, { recursive: true, force: true }));

const objectsDirOf = (appId: string) => join(root, appId, 'objects');
const fill = (bytes: Buffer, algorithm?: ChecksumAlgorithm): Fill => async (sink) => {
  const digester = new Digester({ sizeMax: bytes.length, ...(algorithm ? { algorithm } : {}) });
  await pipeline(Readable.from([bytes]), digester, sink);
  return digester.digests();
};
const blobFiles = (appId: string) => readdirSync(join(objectsDirOf(appId), 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;

test('unfinished multipart uploads are aborted once older than UPLOAD_LIFETIME_MS, and their parts\' bytes freed', async () => {
  let clock = Date.parse('2026-12-01T00:00:00Z');
  const errors: unknown[] = [];
  const open = () => createObjectsService({ objectsDirOf, blobs: createLocalBlobStore(objectsDirOf), now: () => clock, onError: (_app, error) => errors.push(error), storageBytesMax: 1024 ** 3, sqlBytes: () => 0 });
  const target = { bucket: 'media', headers: {}, metadata: {} };

  let service = open();
  service.createBucket('app', 'media');
  const old = service.createUpload('app', { ...target, key: 'abandoned' }, undefined);
  await service.putPart('app', old, 1, fill(Buffer.alloc(100_000, 'a')));
  clock += UPLOAD_LIFETIME_MS - 1000;
  const young = service.createUpload('app', { ...target, key: 'recent' }, undefined);
  await service.putPart('app', young, 1, fill(Buffer.alloc(70_000, 'b')));
  assert.deepEqual(service.usage('app'), { objects: 0, bytes: 170_000 });
  assert.equal(blobFiles('app'), 2);
  service.close();

  // A week after the first began: reopening the store expires it, and only it.
  clock += 2000;
  service = open();
  assert.deepEqual(service.listUploads('app', 'media', '', '', '', 10).map((u) => u.key), ['recent']);
  assert.deepEqual(service.usage('app'), { objects: 0, bytes: 70_000 });
  // The blob goes after the commit is on disk, in the background: wait for it, bounded.
  for (let i = 0; i < 100 && blobFiles('app') > 1; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(blobFiles('app'), 1, 'the expired part\'s blob is deleted');
  assert.throws(() => service.upload('app', 'media', 'abandoned', old.uploadId), (error: unknown) => error instanceof S3Error && error.code === 'NoSuchUpload');
  const rejected = await service.putPart('app', old, 2, fill(Buffer.from('late'))).then(() => 'stored', (error: unknown) => (error instanceof S3Error ? error.code : String(error)));
  assert.equal(rejected, 'NoSuchUpload');
  // The young upload still completes.
  const [part] = service.listParts('app', young, 0, 10);
  const done = await service.completeUpload('app', young, [{ partNumber: 1, etag: part!.etag }]);
  assert.equal(done.size, 70_000);
  service.close();
  assert.deepEqual(errors, []);
});

test('the storage quota: a body of undeclared length past it is refused at the commit, and the store holds what it held', async () => {
  let sqlBytes = 0;
  const errors: unknown[] = [];
  const service = createObjectsService({ objectsDirOf, blobs: createLocalBlobStore(objectsDirOf), now: Date.now, onError: (_app, error) => errors.push(error), storageBytesMax: 1_000_000, sqlBytes: () => sqlBytes });
  const at = (key: string) => ({ bucket: 'media', key, headers: {}, metadata: {} });
  service.createBucket('quota', 'media');
  await service.put('quota', at('a'), fill(Buffer.alloc(600_000, 'a')));
  sqlBytes = 300_000;
  // At the quota exactly: stored. No sizeHint, so the body is received (into a blob) before the check.
  await service.put('quota', at('b'), fill(Buffer.alloc(100_000, 'b')));
  assert.equal(service.storedBytes('quota'), 700_000);
  const refused = await service.put('quota', at('c'), fill(Buffer.from('x'))).then(() => 'stored', (error: unknown) => (error instanceof S3Error ? `${error.code} ${error.status}` : String(error)));
  assert.equal(refused, 'QuotaExceeded 403');
  const overwrite = await service.put('quota', at('b'), fill(Buffer.alloc(100_001, 'b'))).then(() => 'stored', (error: unknown) => (error instanceof S3Error ? error.code : String(error)));
  assert.equal(overwrite, 'QuotaExceeded', 'an overwrite counts only what it adds: one byte here');
  assert.deepEqual(service.list('quota', 'media', { prefix: '', delimiter: '', after: '', maxKeys: 10 }).objects.map((o) => [o.key, o.size]), [['a', 600_000], ['b', 100_000]]);
  // The refused bodies' blobs are deleted once the (unchanged) index is on disk.
  for (let i = 0; i < 100 && blobFiles('quota') > 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(blobFiles('quota'), 2, 'the blobs of a and b only');
  // Shrinking and deleting always pass, even above a quota (the SQL side grew).
  sqlBytes = 500_000;
  await service.put('quota', at('a'), fill(Buffer.alloc(500_000, 'a')));
  service.delete('quota', 'media', 'b');
  assert.equal(service.storedBytes('quota'), 500_000);
  assert.deepEqual(service.usage('quota'), { objects: 1, bytes: 500_000 });
  service.close();
  assert.deepEqual(errors, []);
});

test('an index written before checksum_type and upload_id existed opens in place: its objects and uploads read as before, and its uploads complete', async () => {
  const dir = objectsDirOf('older');
  mkdirSync(dir, { recursive: true });
  // The two tables as the previous release created them.
  const old = new Database(join(dir, 'objects.db'));
  old.exec(`
    CREATE TABLE objects (bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, last_modified INTEGER NOT NULL,
      headers TEXT NOT NULL, metadata TEXT NOT NULL, checksum TEXT, blobs TEXT NOT NULL, inline BLOB) STRICT;
    CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated INTEGER NOT NULL,
      headers TEXT NOT NULL, metadata TEXT NOT NULL, checksum_algorithm TEXT) STRICT;
    CREATE TABLE buckets (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) STRICT;
    INSERT INTO buckets VALUES ('media', 1);
    INSERT INTO objects VALUES ('media', 'kept', 4, '${createHash('md5').update('kept').digest('hex')}', 1, '{}', '{}', NULL, '[]', CAST('kept' AS BLOB));
    INSERT INTO uploads VALUES ('u1', 'media', 'later', ${Date.now()}, '{}', '{}', 'crc32');
  `);
  old.close();
  const service = createObjectsService({ objectsDirOf, blobs: createLocalBlobStore(objectsDirOf), now: Date.now, onError: () => undefined, storageBytesMax: 1024 ** 3, sqlBytes: () => 0 });
  try {
    const kept = service.head('older', 'media', 'kept');
    assert.deepEqual([kept.size, kept.inline?.toString(), kept.uploadId], [4, 'kept', undefined]);
    const upload = service.upload('older', 'media', 'later', 'u1');
    assert.deepEqual([upload.checksumAlgorithm, upload.checksumType], ['crc32', 'COMPOSITE']);
    const { part } = await service.putPart('older', upload, 1, fill(Buffer.from('part one'), 'crc32'));
    const done = await service.completeUpload('older', upload, [{ partNumber: 1, etag: part.etag }]);
    assert.deepEqual([done.checksum?.type, done.uploadId, service.head('older', 'media', 'later').uploadId], ['COMPOSITE', 'u1', 'u1']);
  } finally {
    service.close();
  }
});
