// PLINTH_S3_BACKEND: object bytes live in an external S3, metadata stays in the app's SQLite index.
// Two real external S3 servers play the backend: s3rver (started in-process) and a second Plinth
// daemon. Every operation goes through the AWS SDK against the first daemon; the test then looks
// into the backend bucket (and the daemon's data folder) to see where the bytes really are.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, AbortMultipartUploadCommand, S3Client,
} from '@aws-sdk/client-s3';
import { CLI, freePort } from '../../testing/daemon-harness.js';
import { eventually } from '../../testing/eventually.js';
import { startObjectsDaemon, type ObjectsFixture } from '../../testing/objects-fixture.js';

const MiB = 1024 * 1024;
const APP = 'app';
const OTHER = 'other';
const BUCKET = 'photos';
/** Blob ids are 16 random bytes in hex (blob-store.ts). */
const BLOB_ID = /^[0-9a-f]{32}$/;

// s3rver is CommonJS without types: only what the test uses.
interface S3rverInstance { run(): Promise<{ port: number }>; close(): Promise<void> }
type S3rverOptions = { address: string; port: number; silent: boolean; directory: string; configureBuckets: { name: string }[] };
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: S3rverOptions) => S3rverInstance;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function bodyOf(client: S3Client, key: string, range?: string): Promise<{ bytes: Buffer; status: number | undefined; contentRange: string | undefined }> {
  const answer = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(range ? { Range: range } : {}) }));
  return { bytes: Buffer.from(await answer.Body!.transformToByteArray()), status: answer.$metadata.httpStatusCode, contentRange: answer.ContentRange };
}

interface BlobEntry { readonly key: string; readonly size: number }

/** The external S3 as the test sees it: the URL for PLINTH_S3_BACKEND, and a client that reads the backend bucket directly. */
interface Backend {
  readonly url: string;
  /** What the URL names as prefix, with its trailing slash ('' for none). */
  readonly prefix: string;
  readonly client: S3Client;
  readonly bucket: string;
  close(): Promise<void>;
}

async function listBackend(backend: Backend, prefix: string): Promise<BlobEntry[]> {
  const entries: BlobEntry[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const answer = await backend.client.send(new ListObjectsV2Command({ Bucket: backend.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const item of answer.Contents ?? []) entries.push({ key: item.Key!, size: Number(item.Size) });
    token = answer.IsTruncated ? answer.NextContinuationToken : undefined;
    if (!token) return entries.sort((a, b) => a.key.localeCompare(b.key));
  }
  throw new Error('backend listing did not end within 100 pages');
}

async function readBackend(backend: Backend, key: string): Promise<Buffer> {
  const answer = await backend.client.send(new GetObjectCommand({ Bucket: backend.bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

/** Every regular file under a folder (the daemon's data folder: app sockets and the like are skipped). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else if (stat.isFile()) out.push(path);
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The same scenario against each backend. */
function backendSuite(name: string, start: () => Promise<Backend>): void {
  describe(`PLINTH_S3_BACKEND on ${name}`, () => {
    let backend: Backend;
    let plinth: ObjectsFixture;
    let client: S3Client;
    /** Where the app's blobs live in the backend bucket. */
    let appPrefix: string;
    const marker = `marker-${randomBytes(16).toString('hex')}`;
    const small = Buffer.from(`${marker}: a small object that must end up in the backend\n`);
    const big = randomBytes(12 * MiB);
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(3 * MiB)];
    const multi = Buffer.concat(parts);
    const dataDirs: string[] = [];

    const blobs = () => listBackend(backend, appPrefix);
    /** Waits for the backend to hold `count` of the app's blobs (replaced blobs are deleted just after the commit). */
    const blobsSettle = (count: number) => eventually(blobs, (list) => list.length === count);

    before(async () => {
      backend = await start();
      appPrefix = `${backend.prefix}${APP}/`;
      plinth = await startObjectsDaemon([APP, OTHER], { env: { PLINTH_S3_BACKEND: backend.url } });
      dataDirs.push(plinth.daemon.dataDir);
      client = plinth.client(APP);
      await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    }, { timeout: 90_000 });

    after(async () => {
      try {
        await plinth?.stop();
      } finally {
        await backend?.close();
        for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
      }
    }, { timeout: 60_000 });

    test('put, ranged get and copy keep the bytes in the backend, one blob each under <prefix><app>/', { timeout: 60_000 }, async () => {
      assert.deepEqual(await blobs(), [], 'no blobs before the first write');
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small.txt', Body: small, ContentType: 'text/plain' }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'empty', Body: Buffer.alloc(0) }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: big }));

      const stored = await blobs();
      assert.deepEqual(stored.map((b) => b.size).sort((a, b) => a - b), [0, small.length, big.length]);
      for (const blob of stored) assert.match(blob.key.slice(appPrefix.length), BLOB_ID, `${blob.key} is <prefix><app>/<blob id>`);
      // The backend holds the object's exact bytes (named by blob id, never by key).
      const smallBlob = stored.find((b) => b.size === small.length)!;
      assert.equal(sha256(await readBackend(backend, smallBlob.key)), sha256(small));
      assert.equal(sha256(await readBackend(backend, stored.find((b) => b.size === big.length)!.key)), sha256(big));
      assert.ok(!stored.some((b) => b.key.includes('small.txt') || b.key.includes('big.bin')), 'object keys never reach the backend');

      const gotSmall = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'small.txt' }));
      assert.equal(gotSmall.ContentType, 'text/plain');
      assert.equal(sha256(Buffer.from(await gotSmall.Body!.transformToByteArray())), sha256(small));
      assert.equal((await bodyOf(client, 'empty')).bytes.length, 0);
      assert.equal(sha256((await bodyOf(client, 'big.bin')).bytes), sha256(big));

      const ranged = await bodyOf(client, 'big.bin', 'bytes=1000-2000999');
      assert.equal(ranged.status, 206);
      assert.equal(ranged.contentRange, `bytes 1000-2000999/${big.length}`);
      assert.equal(sha256(ranged.bytes), sha256(big.subarray(1000, 2001000)));
      const suffix = await bodyOf(client, 'big.bin', 'bytes=-100');
      assert.equal(sha256(suffix.bytes), sha256(big.subarray(big.length - 100)));
      const open = await bodyOf(client, 'small.txt', 'bytes=7-');
      assert.equal(open.bytes.toString(), small.subarray(7).toString());

      await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'big-copy.bin', CopySource: `${BUCKET}/big.bin` }));
      assert.equal(sha256((await bodyOf(client, 'big-copy.bin')).bytes), sha256(big));
      const afterCopy = await blobs();
      assert.equal(afterCopy.length, 4, 'the copy is a blob of its own');
      assert.equal(afterCopy.filter((b) => b.size === big.length).length, 2);
    });

    test('a multipart upload (3 parts) keeps one backend blob per part and reads across them', { timeout: 60_000 }, async () => {
      const earlier = await blobs();
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi.bin', ContentType: 'application/x-test' }));
      const etags: string[] = [];
      for (const [i, part] of parts.entries()) {
        const answer = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: part }));
        etags.push(answer.ETag!);
      }
      const uploading = await blobs();
      assert.equal(uploading.length, earlier.length + 3, 'each part is a backend blob as soon as it is uploaded');
      const completed = await client.send(new CompleteMultipartUploadCommand({
        Bucket: BUCKET, Key: 'multi.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }));
      assert.match(completed.ETag ?? '', /-3"$/);
      const stored = await blobs();
      assert.deepEqual(stored.map((b) => b.key), uploading.map((b) => b.key), 'completing copies no bytes: the parts\' blobs become the object');
      assert.deepEqual(stored.filter((b) => !earlier.some((o) => o.key === b.key)).map((b) => b.size).sort((a, b) => a - b), [3 * MiB, 5 * MiB, 5 * MiB]);

      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
      assert.equal(head.ContentLength, multi.length);
      assert.equal(head.ContentType, 'application/x-test');
      assert.equal(sha256((await bodyOf(client, 'multi.bin')).bytes), sha256(multi));
      // Ranges inside one part, across one boundary, and across all three parts.
      for (const [start, end] of [[10, 20], [5 * MiB - 10, 5 * MiB + 9], [5 * MiB - 1, 10 * MiB + 1], [0, multi.length - 1]] as const) {
        const ranged = await bodyOf(client, 'multi.bin', `bytes=${start}-${end}`);
        assert.equal(ranged.status, 206);
        assert.equal(ranged.bytes.length, end - start + 1);
        assert.equal(sha256(ranged.bytes), sha256(multi.subarray(start, end + 1)), `bytes ${start}-${end}`);
      }

      // An aborted upload leaves nothing in the backend.
      const aborted = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin' }));
      await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: aborted.UploadId, PartNumber: 1, Body: randomBytes(1024) }));
      assert.equal((await blobs()).length, stored.length + 1);
      await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted.bin', UploadId: aborted.UploadId }));
      assert.deepEqual((await blobsSettle(stored.length)).map((b) => b.key), stored.map((b) => b.key));
    });

    test('list shows every object; overwrite and delete remove the replaced blobs from the backend', { timeout: 60_000 }, async () => {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [
        ['big-copy.bin', big.length], ['big.bin', big.length], ['empty', 0], ['multi.bin', multi.length], ['small.txt', small.length],
      ]);
      assert.equal(listed.KeyCount, 5);

      const beforeOverwrite = await blobs();
      assert.equal(beforeOverwrite.length, 7);
      const oldSmall = beforeOverwrite.find((b) => b.size === small.length)!;
      const replacement = Buffer.from(`${marker}: the replacement, a little longer than before\n`);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small.txt', Body: replacement }));
      assert.equal(sha256((await bodyOf(client, 'small.txt')).bytes), sha256(replacement));
      const afterOverwrite = await eventually(blobs, (list) => !list.some((b) => b.key === oldSmall.key));
      assert.ok(!afterOverwrite.some((b) => b.key === oldSmall.key), 'the replaced blob is deleted from the backend');
      assert.equal(afterOverwrite.length, 7);
      const newSmall = afterOverwrite.find((b) => b.size === replacement.length)!;
      assert.equal(sha256(await readBackend(backend, newSmall.key)), sha256(replacement));

      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
      const afterDelete = await blobsSettle(6);
      assert.equal(afterDelete.filter((b) => b.size === big.length).length, 1, 'the copy\'s blob stays');
      assert.equal(sha256((await bodyOf(client, 'big-copy.bin')).bytes), sha256(big), 'the copy does not share the deleted blob');
      await assert.rejects(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' })), { name: 'NoSuchKey' });
    });

    test('the data folder holds the metadata but none of the bytes', async () => {
      const objectsDir = join(plinth.daemon.dataDir, 'apps', APP, 'data', 'objects');
      assert.ok(existsSync(join(objectsDir, 'objects.db')), 'the index is local');
      const localBlobs = join(objectsDir, 'blobs');
      assert.ok(!existsSync(localBlobs) || readdirSync(localBlobs).length === 0, `no local blobs in ${localBlobs}`);
      const spool = join(plinth.daemon.dataDir, 'spool');
      assert.deepEqual(existsSync(spool) ? readdirSync(spool) : [], [], 'uploads are spooled only until the backend has them');
      for (const file of filesUnder(plinth.daemon.dataDir)) {
        const bytes = readFileSync(file);
        assert.ok(bytes.length < 3 * MiB, `${file} has ${bytes.length} bytes: no object bytes are kept locally`);
        assert.ok(!bytes.includes(marker), `${file} holds an object's content`);
      }
    });

    test('after a restart on the same data folder the objects are read back from the backend', { timeout: 60_000 }, async () => {
      const dataDir = plinth.daemon.dataDir;
      await plinth.stop({ keepData: true });
      plinth = await startObjectsDaemon([], { dataDir, env: { PLINTH_S3_BACKEND: backend.url } });
      client = plinth.client(APP);
      assert.equal(sha256((await bodyOf(client, 'multi.bin')).bytes), sha256(multi));
      assert.equal(sha256((await bodyOf(client, 'big-copy.bin')).bytes), sha256(big));
      assert.match((await bodyOf(client, 'small.txt')).bytes.toString(), /the replacement/);
      assert.equal((await blobs()).length, 6, 'opening the index swept nothing that is referenced');
    });

    test('each app has its own prefix; uninstalling an app removes its blobs and only its own', { timeout: 60_000 }, async () => {
      const other = plinth.client(OTHER);
      await other.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const otherBytes = randomBytes(64 * 1024);
      await other.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small.txt', Body: otherBytes }));
      const otherBlobs = await listBackend(backend, `${backend.prefix}${OTHER}/`);
      assert.deepEqual(otherBlobs.map((b) => b.size), [otherBytes.length]);
      assert.equal(sha256(await readBackend(backend, otherBlobs[0]!.key)), sha256(otherBytes));

      // DeleteObjects empties the bucket: its blobs go.
      const keys = ['big-copy.bin', 'empty', 'multi.bin', 'small.txt'];
      const deleted = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      assert.deepEqual(deleted.Deleted?.map((d) => d.Key).sort(), keys);
      assert.deepEqual(await blobsSettle(0), []);

      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'left.txt', Body: 'left behind by the app' }));
      assert.equal((await blobs()).length, 1);
      const run = plinth.daemon.cli(['uninstall', APP]);
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(await blobsSettle(0), [], 'uninstalling deletes the app\'s blobs from the backend');
      assert.deepEqual((await listBackend(backend, `${backend.prefix}${OTHER}/`)).map((b) => b.key), otherBlobs.map((b) => b.key), 'the other app keeps its blob');
      assert.equal(sha256((await bodyOf(other, 'small.txt')).bytes), sha256(otherBytes));
    });
  });
}

backendSuite('s3rver', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'plinth-s3rver-'));
  const bucket = 'plinth-backend';
  const server = new S3rver({ address: '127.0.0.1', port: await freePort(), silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver accepts its one built-in key pair (S3RVER / S3RVER) and does not check SigV4 signatures.
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  return {
    url: `http://S3RVER:S3RVER@127.0.0.1:${port}/${bucket}?region=us-east-1`, prefix: '', bucket, client,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
});

backendSuite('a second Plinth daemon', async () => {
  const store = await startObjectsDaemon(['store']);
  const bucket = 'blob-store';
  const client = store.client('store');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const { accessKeyId, secretAccessKey } = store.credentials('store');
  return {
    // Plinth checks every signature, so this also proves the requests are signed right (with a prefix).
    url: `http://${encodeURIComponent(accessKeyId)}:${encodeURIComponent(secretAccessKey)}@127.0.0.1:${store.s3Port}/${bucket}/plinth/blobs?region=us-east-1`,
    prefix: 'plinth/blobs/', bucket, client,
    close: () => store.stop(),
  };
});

describe('PLINTH_S3_BACKEND while the backend is down', () => {
  const directory = mkdtempSync(join(tmpdir(), 'plinth-s3rver-'));
  const bucket = 'plinth-backend';
  let port: number;
  let server: S3rverInstance | undefined;
  let plinth: ObjectsFixture;
  let client: S3Client;
  let backendClient: S3Client;
  const kept = Buffer.from('written while the backend was up');

  const startS3rver = async () => {
    server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: bucket }] });
    await server.run();
  };
  const stopS3rver = async () => {
    await server?.close();
    server = undefined;
  };

  before(async () => {
    port = await freePort();
    await startS3rver();
    backendClient = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    plinth = await startObjectsDaemon([APP], { env: { PLINTH_S3_BACKEND: `http://S3RVER:S3RVER@127.0.0.1:${port}/${bucket}` } });
    // One attempt: the SDK would otherwise retry each refused request.
    client = plinth.client(APP, { maxAttempts: 1 });
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept.txt', Body: kept }));
    await stopS3rver();
  }, { timeout: 60_000 });

  after(async () => {
    try {
      backendClient?.destroy();
      await plinth?.stop();
    } finally {
      await stopS3rver();
      rmSync(directory, { recursive: true, force: true });
    }
  }, { timeout: 60_000 });

  test('a write fails and commits nothing; metadata still answers', { timeout: 30_000 }, async () => {
    await assert.rejects(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lost.txt', Body: 'never stored' })));
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lost.txt' })), { name: 'NotFound' });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [['kept.txt', kept.length]]);
    await assert.rejects(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept.txt' })), 'the bytes are only in the backend');
    const spool = join(plinth.daemon.dataDir, 'spool');
    assert.deepEqual(existsSync(spool) ? readdirSync(spool) : [], [], 'the failed upload\'s spool file is gone');
  });

  test('a backend failure is answered with a 500 S3 error, not a reset connection, and logged', { timeout: 30_000 }, async () => {
    const logged = () => (plinth.daemon.output().match(/objects: unexpected error/g) ?? []).length;
    const loggedBefore = logged();
    await assert.rejects(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'lost.txt', Body: 'never stored' })), (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.deepEqual([error.$metadata?.httpStatusCode, error.name], [500, 'InternalError']);
      return true;
    });
    // The blob is opened before the status is sent, so a read that cannot reach the back end is a 500 too, not a cut 200.
    await assert.rejects(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept.txt' })), (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.deepEqual([error.$metadata?.httpStatusCode, error.name], [500, 'InternalError']);
      return true;
    });
    const loggedAfter = await eventually(async () => logged(), (count) => count >= loggedBefore + 2);
    assert.ok(loggedAfter >= loggedBefore + 2, `the daemon logs both failures:\n${plinth.daemon.output().slice(-2000)}`);
    assert.match(plinth.daemon.output(), /ECONNREFUSED/);
  });

  test('once the backend is back, reads work and the failed writes left no blob behind', { timeout: 30_000 }, async () => {
    await startS3rver();
    assert.equal(sha256((await bodyOf(client, 'kept.txt')).bytes), sha256(kept));
    const answer = await backendClient.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${APP}/` }));
    assert.deepEqual(answer.Contents?.map((o) => Number(o.Size)), [kept.length]);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'later.txt', Body: 'after the outage' }));
    assert.equal((await bodyOf(client, 'later.txt')).bytes.toString(), 'after the outage');
  });
});

describe('PLINTH_S3_BACKEND values', () => {
  const SECRET = 'sEcReT-not-to-be-printed';
  const invalid = [
    'not a url',
    `ftp://key:${SECRET}@127.0.0.1:9000/bucket`,
    'http://127.0.0.1:9000/bucket',
    'http://key@127.0.0.1:9000/bucket',
    `http://key:${SECRET}@127.0.0.1:9000/`,
    `http://key:${SECRET}@127.0.0.1:9000/Not_A_Bucket`,
    `http://key:${SECRET}@127.0.0.1:9000/bucket/a%20prefix`,
    `http://key:${SECRET}@127.0.0.1:9000/bucket?region=`,
    `http://key:${SECRET}@127.0.0.1:9000/bucket?regoin=eu-west-1`,
  ];

  for (const value of invalid) {
    test(`the daemon refuses to start with ${JSON.stringify(value.replace(SECRET, '<secret>'))}`, { timeout: 40_000 }, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'plinth-backend-cfg-'));
      try {
        const port = await freePort();
        const run = spawnSync(process.execPath, [CLI, 'serve'], {
          env: { ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_S3_BACKEND: value },
          encoding: 'utf8', timeout: 30_000,
        });
        assert.equal(run.signal, null, `serve did not exit on its own: ${run.stderr}`);
        assert.equal(run.status, 1);
        const lines = run.stderr.split('\n').filter(Boolean);
        assert.equal(lines.length, 1, `one line: ${run.stderr}`);
        assert.match(lines[0]!, /^plinth: PLINTH_S3_BACKEND: /);
        assert.ok(!run.stderr.includes(SECRET), 'the secret is not printed');
        assert.equal(run.stdout, '');
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
