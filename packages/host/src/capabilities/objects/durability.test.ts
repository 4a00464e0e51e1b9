// Durability of the object store under size, memory pressure, crashes and races, against a real
// daemon through the AWS SDK: large streamed uploads and downloads (checked by hash, never held
// in memory), the daemon's RSS through a 1 GiB round trip, SIGKILL in the middle of writes, and
// concurrent writers (and a reader) on one key.
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand, CreateMultipartUploadCommand, CompleteMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadObjectCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, S3Client, UploadPartCommand, type S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import Database from 'better-sqlite3';
import { appPaths } from '../../apps/installer.js';
import { freePort, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { eventually } from '../../testing/eventually.js';
import { startObjectsDaemon, type ObjectCredentials, type ObjectsFixture } from '../../testing/objects-fixture.js';

const MiB = 1024 * 1024;
/** The daemon's RSS may grow by at most this much over a 1 GiB upload and download: it streams, never buffers. */
const RSS_GROWTH_MAX = 200 * MiB;

/** 2 MiB of fixed pseudo-random bytes (AES-CTR of zeros); generated bodies are 1 MiB windows into it. */
const PATTERN = createCipheriv('aes-256-ctr', Buffer.alloc(32, 7), Buffer.alloc(16)).update(Buffer.alloc(2 * MiB));

/** Chunk `i` of body `seed`: a window at an offset that depends on both, so chunks differ and order matters. Never copied, never mutated. */
function chunkOf(seed: number, i: number): Buffer {
  const offset = (Math.imul(i + 1, 2654435761) ^ Math.imul(seed, 40503)) >>> 0;
  const at = offset % MiB;
  return PATTERN.subarray(at, at + MiB);
}

/** A deterministic body of `chunks` MiB, produced as it is read (one 1 MiB view at a time). */
function generated(seed: number, chunks: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      this.push(i < chunks ? chunkOf(seed, i++) : null);
    },
  });
}

function expectedSha256(seed: number, chunks: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < chunks; i++) hash.update(chunkOf(seed, i));
  return hash.digest('hex');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

/** Streams an object's body through SHA-256 without keeping it; returns the hash and the byte count. */
async function hashObject(s3: S3Client, bucket: string, key: string): Promise<{ sha256: string; size: number; etag: string }> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of got.Body as Readable) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size, etag: got.ETag ?? '' };
}

async function errorOf(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as S3ServiceException;
  }
  throw new Error('the request succeeded, but it was expected to fail');
}

/** VmRSS of a process, in bytes. */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** What the object store of an app holds on disk, and what its index refers to. */
function storeState(dataDir: string, appId: string): { tmp: string[]; blobs: string[]; referenced: string[] } {
  const dir = join(appPaths(dataDir, appId).data, 'objects');
  const list = (sub: string) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).sort() : []);
  const db = new Database(join(dir, 'objects.db'), { readonly: true, fileMustExist: true });
  try {
    const referenced = new Set<string>();
    for (const row of db.prepare<[], { blobs: string }>('SELECT blobs FROM objects').all()) for (const b of JSON.parse(row.blobs) as { id: string }[]) referenced.add(b.id);
    for (const row of db.prepare<[], { blob_id: string }>('SELECT blob_id FROM parts').all()) referenced.add(row.blob_id);
    return { tmp: list('tmp'), blobs: list('blobs'), referenced: [...referenced].sort() };
  } finally {
    db.close();
  }
}

/** Waits (bounded) for the store to hold exactly what its index refers to, and nothing in tmp/; returns what it saw. */
function settledStore(dataDir: string, appId: string) {
  return eventually(
    async () => storeState(dataDir, appId),
    (s) => s.tmp.length === 0 && JSON.stringify(s.blobs) === JSON.stringify(s.referenced),
  );
}

describe('objects: large bodies, memory and races', () => {
  let fixture: ObjectsFixture;
  let s3: S3Client;

  before(async () => {
    fixture = await startObjectsDaemon(['bulk', 'race']);
    s3 = fixture.client('bulk');
    await s3.send(new CreateBucketCommand({ Bucket: 'bulk' }));
  });
  after(async () => {
    await fixture?.stop();
  });

  test('lib-storage Upload of a 100 MiB stream with default settings: multipart, and read back byte for byte', async () => {
    const chunks = 100;
    const done = await new Upload({ client: s3, params: { Bucket: 'bulk', Key: 'hundred.bin', Body: generated(1, chunks) } }).done();
    // Default parts are 5 MiB: 20 of them.
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-20"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'bulk', Key: 'hundred.bin' }));
    assert.equal(head.ContentLength, chunks * MiB);
    assert.equal(head.ETag, done.ETag);
    const read = await hashObject(s3, 'bulk', 'hundred.bin');
    assert.deepEqual({ sha256: read.sha256, size: read.size, etag: read.etag }, { sha256: expectedSha256(1, chunks), size: chunks * MiB, etag: done.ETag });
    await s3.send(new DeleteObjectCommand({ Bucket: 'bulk', Key: 'hundred.bin' }));
    const settled = await settledStore(fixture.daemon.dataDir, 'bulk');
    assert.deepEqual(settled, { tmp: [], blobs: [], referenced: [] }, 'deleting the object removed its 20 part blobs');
  });

  test('the daemon\'s memory stays flat through a 1 GiB streamed upload and download', async (t) => {
    const chunks = 1024;
    const pid = fixture.daemon.process.pid!;
    // Warm up (the app's store is open, the code paths are compiled), then take the baseline.
    await s3.send(new PutObjectCommand({ Bucket: 'bulk', Key: 'warm', Body: generated(3, 4), ContentLength: 4 * MiB }));
    await hashObject(s3, 'bulk', 'warm');
    const baseline = rssOf(pid);
    let peak = baseline;
    let samples = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(pid));
      samples++;
    }, 100);
    try {
      // One PUT with a known length and a streamed body (the SDK sends it aws-chunked with a checksum trailer).
      const put = await s3.send(new PutObjectCommand({ Bucket: 'bulk', Key: 'gib.bin', Body: generated(2, chunks), ContentLength: chunks * MiB }));
      const afterUpload = peak;
      const read = await hashObject(s3, 'bulk', 'gib.bin');
      assert.equal(read.size, chunks * MiB);
      assert.equal(read.sha256, expectedSha256(2, chunks));
      assert.equal(read.etag, put.ETag);
      peak = Math.max(peak, rssOf(pid));
      const growth = peak - baseline;
      t.diagnostic(`daemon RSS: baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB (+${(growth / MiB).toFixed(1)} MiB; +${((afterUpload - baseline) / MiB).toFixed(1)} MiB by the end of the upload), ${samples} samples`);
      assert.ok(samples > 0, 'RSS was sampled during the transfers');
      assert.ok(growth < RSS_GROWTH_MAX, `daemon RSS grew by ${(growth / MiB).toFixed(1)} MiB (baseline ${(baseline / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, `
        + `${((afterUpload - baseline) / MiB).toFixed(1)} MiB by the end of the upload, ${samples} samples); the bound is ${RSS_GROWTH_MAX / MiB} MiB`);
    } finally {
      clearInterval(sampler);
      await s3.send(new DeleteObjectCommand({ Bucket: 'bulk', Key: 'gib.bin' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'bulk', Key: 'warm' }));
    }
    const settled = await settledStore(fixture.daemon.dataDir, 'bulk');
    assert.deepEqual(settled, { tmp: [], blobs: [], referenced: [] }, 'the 1 GiB blob is gone from disk');
  });

  test('8 concurrent PUTs to one key leave exactly one of them, whole, and one blob; a GET begun before them reads the old object to its end', async () => {
    const race = fixture.client('race');
    await race.send(new CreateBucketCommand({ Bucket: 'race' }));
    // The old object is multipart (3 blobs), so the GET below reaches its later parts' files only after the overwrites.
    const old = await new Upload({ client: race, params: { Bucket: 'race', Key: 'contested', Body: generated(4, 15) } }).done();
    assert.match(old.ETag ?? '', /-3"$/);
    const reading = await race.send(new GetObjectCommand({ Bucket: 'race', Key: 'contested' }));
    const body = (reading.Body as Readable)[Symbol.asyncIterator]();
    const oldHash = createHash('sha256');
    let oldSize = 0;
    const first = await body.next();
    assert.equal(first.done, false);
    oldHash.update(first.value as Buffer);
    oldSize += (first.value as Buffer).length;

    const contents = Array.from({ length: 8 }, (_, i) => Buffer.concat([Buffer.from(`writer ${i}\n`), randomBytes(MiB + i * 4099)]));
    const answers = await Promise.all(contents.map((content) => race.send(new PutObjectCommand({ Bucket: 'race', Key: 'contested', Body: content }))));
    answers.forEach((answer, i) => assert.equal(answer.ETag, `"${md5(contents[i]!)}"`, `writer ${i} was answered with its own MD5`));

    try {
      for (;;) {
        const next = await body.next();
        if (next.done) break;
        oldHash.update(next.value as Buffer);
        oldSize += (next.value as Buffer).length;
      }
    } catch (error) {
      assert.fail(`the GET begun before the overwrites broke off after ${oldSize} of ${15 * MiB} bytes: ${String(error)}`);
    }
    assert.deepEqual({ size: oldSize, sha256: oldHash.digest('hex') }, { size: 15 * MiB, sha256: expectedSha256(4, 15) }, 'the GET that began before the overwrites read the old object whole');

    const final = await hashObject(race, 'race', 'contested');
    const winners = contents.map((content, i) => ({ i, content })).filter(({ content }) => sha256(content) === final.sha256);
    assert.equal(winners.length, 1, 'the object is exactly one writer\'s content');
    const winner = winners[0]!.content;
    assert.equal(final.size, winner.length);
    assert.equal(final.etag, `"${md5(winner)}"`);
    const listed = await race.send(new ListObjectsV2Command({ Bucket: 'race' }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size, o.ETag]), [['contested', winner.length, `"${md5(winner)}"`]]);

    const settled = await settledStore(fixture.daemon.dataDir, 'race');
    assert.equal(settled.blobs.length, 1, `one blob is left, not ${JSON.stringify(settled)}`);
    assert.deepEqual(settled, { tmp: [], blobs: settled.referenced, referenced: settled.referenced });
  });
});

describe('objects: SIGKILL of the daemon mid-write', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'plinth-objects-crash-'));
  let fixture: ObjectsFixture | undefined;
  let restarted: TestDaemon | undefined;
  const clients: S3Client[] = [];
  after(async () => {
    for (const client of clients) client.destroy();
    await fixture?.stop();
    await restarted?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('leaves the old object, no new key, no torn part, and no leftover files after the restart', async () => {
    fixture = await startObjectsDaemon(['crash'], { dataDir });
    const credentials: ObjectCredentials = fixture.credentials('crash');
    // One attempt: a retry would resend a half-read stream body (and quiet: the SDK warns when a streamed request fails).
    const s3 = fixture.client('crash', { maxAttempts: 1, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    await s3.send(new CreateBucketCommand({ Bucket: 'crash' }));
    const contentA = randomBytes(2 * MiB + 17);
    await s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'k', Body: contentA }));
    const part1 = randomBytes(5 * MiB);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'crash', Key: 'multi' }));
    const uploaded1 = await s3.send(new UploadPartCommand({ Bucket: 'crash', Key: 'multi', UploadId, PartNumber: 1, Body: part1 }));
    const prior = storeState(dataDir, 'crash');
    assert.equal(prior.blobs.length, 2);

    // Three writes that send 2 MiB of the 64 MiB they announce, then stall until the kill.
    const stalled = () => {
      let sent = 0;
      return new Readable({
        read() {
          if (sent < 2) this.push(chunkOf(9, sent++));
        },
      });
    };
    const bodies = [stalled(), stalled(), stalled()];
    const inflight = [
      s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'k', Body: bodies[0], ContentLength: 64 * MiB })),
      s3.send(new PutObjectCommand({ Bucket: 'crash', Key: 'brand-new', Body: bodies[1], ContentLength: 64 * MiB })),
      s3.send(new UploadPartCommand({ Bucket: 'crash', Key: 'multi', UploadId, PartNumber: 2, Body: bodies[2], ContentLength: 64 * MiB })),
    ].map((p) => p.then(() => 'completed', (error: unknown) => error));

    // The daemon is mid-write: three files in tmp/, each with at least 1 MiB received.
    const tmpDir = join(appPaths(dataDir, 'crash').data, 'objects', 'tmp');
    const sizes = await eventually(
      async () => readdirSync(tmpDir).map((name) => statSync(join(tmpDir, name)).size),
      (s) => s.length === 3 && s.every((size) => size >= MiB),
    );
    assert.equal(sizes.filter((size) => size >= MiB).length, 3, `three writes in progress, saw tmp sizes ${JSON.stringify(sizes)}`);

    fixture.daemon.process.kill('SIGKILL');
    await fixture.daemon.exited();
    const outcomes = await Promise.all(inflight);
    for (const body of bodies) body.destroy();
    outcomes.forEach((outcome, i) => assert.ok(outcome instanceof Error, `write ${i} failed with the daemon (got ${String(outcome)})`));
    assert.equal(storeState(dataDir, 'crash').tmp.length, 3, 'the torn writes are still in tmp/ before the restart');

    // Same data folder; the app and its credentials persist, nothing is installed again.
    const s3Port = await freePort();
    restarted = await startTestDaemon({ dataDir, env: { PLINTH_S3_PORT: String(s3Port) } });
    const revived = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`, region: credentials.region,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    });
    clients.push(revived);

    const k = await hashObject(revived, 'crash', 'k');
    assert.deepEqual(k, { sha256: sha256(contentA), size: contentA.length, etag: `"${md5(contentA)}"` }, 'k is exactly its old content');
    const missing = await errorOf(revived.send(new GetObjectCommand({ Bucket: 'crash', Key: 'brand-new' })));
    assert.deepEqual([missing.name, missing.$metadata.httpStatusCode], ['NoSuchKey', 404]);
    const missingHead = await errorOf(revived.send(new HeadObjectCommand({ Bucket: 'crash', Key: 'brand-new' })));
    assert.equal(missingHead.$metadata.httpStatusCode, 404);
    const listed = await revived.send(new ListObjectsV2Command({ Bucket: 'crash' }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [['k', contentA.length]]);
    const parts = await revived.send(new ListPartsCommand({ Bucket: 'crash', Key: 'multi', UploadId }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, part1.length, uploaded1.ETag]], 'only the finished part is listed');

    // The first request opened the store, which swept the torn writes.
    const swept = await settledStore(dataDir, 'crash');
    assert.deepEqual(swept.tmp, []);
    assert.equal(swept.blobs.length, 2, `k's blob and part 1's blob remain, saw ${JSON.stringify(swept)}`);
    assert.deepEqual(swept.blobs, prior.blobs, 'the blobs that remain are the ones from before the crash');

    // The upload goes on where it was: part 1 survived the sweep.
    const part2 = randomBytes(MiB + 3);
    const uploaded2 = await revived.send(new UploadPartCommand({ Bucket: 'crash', Key: 'multi', UploadId, PartNumber: 2, Body: part2 }));
    await revived.send(new CompleteMultipartUploadCommand({
      Bucket: 'crash', Key: 'multi', UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: uploaded1.ETag! }, { PartNumber: 2, ETag: uploaded2.ETag! }] },
    }));
    const multi = await hashObject(revived, 'crash', 'multi');
    assert.deepEqual({ sha256: multi.sha256, size: multi.size }, { sha256: sha256(Buffer.concat([part1, part2])), size: part1.length + part2.length });
    assert.match(multi.etag, /-2"$/);
    const final = await settledStore(dataDir, 'crash');
    assert.equal(final.blobs.length, 3);
    assert.deepEqual(final, { tmp: [], blobs: final.referenced, referenced: final.referenced });
  });
});
