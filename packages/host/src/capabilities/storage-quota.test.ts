// The per-app storage quota (PLINTH_APP_STORAGE_BYTES_MAX) that objects and SQL databases share,
// through the real daemon: S3 answers QuotaExceeded, SQL answers sql.storage_full, and neither
// leaves a partial write behind.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { s3Failure, startObjectsDaemon, type ObjectsFixture } from '../testing/objects-fixture.js';
import { installSqlApp, sqlErr, sqlOk } from '../testing/sql-app.js';

const MiB = 1024 * 1024;
const QUOTA_BYTES = 12 * MiB;


describe('storage quota: objects and SQL databases of one app share PLINTH_APP_STORAGE_BYTES_MAX', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-quota-'));
  let f: ObjectsFixture;
  before(async () => {
    f = await startObjectsDaemon(['pics', 'parts'], { env: { PLINTH_APP_STORAGE_BYTES_MAX: String(QUOTA_BYTES) } });
    installSqlApp(f.daemon, work, 'both');
  });
  after(async () => {
    await f?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const usage = async (appId: string) => (await (await f.daemon.fetch(`${f.daemon.baseUrl}/api/admin/apps/${appId}/objects`, { headers: { authorization: `Bearer ${f.daemon.adminToken}` } })).json()) as { objects: number; bytes: number };
  const listing = async (s3: S3Client, bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => [o.Key, o.Size]);
  const put = (s3: S3Client, key: string, bytes: number, fillWith = 'x') => s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: Buffer.alloc(bytes, fillWith) }));

  test('a PUT past the quota is QuotaExceeded (403), at the quota it is stored, and the store holds exactly what it held', async () => {
    const s3 = f.client('pics');
    await s3.send(new CreateBucketCommand({ Bucket: 'media' }));
    await put(s3, 'a', 4 * MiB);
    await put(s3, 'b', 4 * MiB);
    const refused = await s3Failure(put(s3, 'c', 4 * MiB + 1));
    assert.deepEqual([refused.code, refused.status], ['QuotaExceeded', 403]);
    assert.equal(refused.message, `this app's objects and databases may hold ${QUOTA_BYTES} bytes together (PLINTH_APP_STORAGE_BYTES_MAX); they hold ${8 * MiB}, and this write would add ${4 * MiB + 1}. Delete something first`);
    assert.deepEqual(await listing(s3, 'media'), [['a', 4 * MiB], ['b', 4 * MiB]]);
    assert.deepEqual(await usage('pics'), { objects: 2, bytes: 8 * MiB });

    await put(s3, 'c', 4 * MiB);
    assert.deepEqual(await usage('pics'), { objects: 3, bytes: QUOTA_BYTES });
    assert.equal((await s3Failure(put(s3, 'd', 1))).code, 'QuotaExceeded');
    // An overwrite counts what it adds: a smaller one passes at the quota, a larger one does not.
    await put(s3, 'a', 3 * MiB, 'y');
    assert.equal((await s3Failure(put(s3, 'b', 5 * MiB + 1))).code, 'QuotaExceeded');
    assert.deepEqual(await listing(s3, 'media'), [['a', 3 * MiB], ['b', 4 * MiB], ['c', 4 * MiB]]);
    assert.deepEqual(await usage('pics'), { objects: 3, bytes: 11 * MiB });
  });

  test('a multipart upload is refused at the part that would take it past the quota (parts count as they arrive); the parts before it still complete', async () => {
    const s3 = f.client('parts');
    await s3.send(new CreateBucketCommand({ Bucket: 'media' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'media', Key: 'big' }));
    const part = (n: number, bytes: number) => s3.send(new UploadPartCommand({ Bucket: 'media', Key: 'big', UploadId, PartNumber: n, Body: Buffer.alloc(bytes, String(n)) }));
    const one = await part(1, 5 * MiB);
    const two = await part(2, 5 * MiB);
    const refused = await s3Failure(part(3, 2 * MiB + 1));
    assert.deepEqual([refused.code, refused.status], ['QuotaExceeded', 403]);
    assert.deepEqual((await s3.send(new ListPartsCommand({ Bucket: 'media', Key: 'big', UploadId }))).Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MiB], [2, 5 * MiB]]);
    assert.deepEqual(await usage('parts'), { objects: 0, bytes: 10 * MiB });
    // Replacing part 2 with a larger one counts only the difference.
    assert.equal((await s3Failure(part(2, 7 * MiB + 1))).code, 'QuotaExceeded');
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'media', Key: 'big', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: one.ETag }, { PartNumber: 2, ETag: two.ETag }] } }));
    assert.deepEqual(await listing(s3, 'media'), [['big', 10 * MiB]]);
    assert.deepEqual(await usage('parts'), { objects: 1, bytes: 10 * MiB });
  });

  test('an SQL write past the quota is sql.storage_full and applies nothing; objects count against SQL and SQL against objects', async () => {
    const d1 = <T>(body: Record<string, unknown>) => sqlOk<T>(f.daemon, 'both', '/d1', { db: 'main', ...body });
    const rows = () => d1<{ n: number; bytes: number }>({ op: 'first', sql: 'SELECT count(*) AS n, coalesce(sum(length(b)), 0) AS bytes FROM t' });
    await sqlOk(f.daemon, 'both', '/create', { name: 'main' });
    await d1({ op: 'exec', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)' });
    await d1({ op: 'run', sql: `INSERT INTO t (b) VALUES (randomblob(${3 * MiB}))` });

    const s3 = f.client('both');
    await s3.send(new CreateBucketCommand({ Bucket: 'media' }));
    await put(s3, 'x', 8 * MiB);
    // The database holds a little over 3 MiB, so 1 MiB more of objects no longer fits.
    const objectRefused = await s3Failure(put(s3, 'y', MiB));
    assert.equal(objectRefused.code, 'QuotaExceeded');
    assert.match(objectRefused.message, /they hold \d+/);

    // Under 1 MiB is left: a 1 MiB row does not fit, in a statement or in a batch, and nothing of either is applied.
    const full = await sqlErr(f.daemon, 'both', '/d1', { db: 'main', op: 'run', sql: `INSERT INTO t (b) VALUES (randomblob(${MiB}))` });
    assert.equal(full.code, 'sql.storage_full');
    assert.equal(full.status, 507);
    assert.match(full.message, new RegExp(`may hold ${QUOTA_BYTES} bytes together \\(PLINTH_APP_STORAGE_BYTES_MAX\\)`));
    const batch = await sqlErr(f.daemon, 'both', '/d1', { db: 'main', op: 'batch', statements: [{ sql: 'INSERT INTO t (b) VALUES (NULL)' }, { sql: `INSERT INTO t (b) VALUES (randomblob(${MiB}))` }] });
    assert.equal(batch.code, 'sql.storage_full');
    assert.deepEqual(await rows(), { n: 1, bytes: 3 * MiB }, 'the database is intact and readable');
    assert.equal((await usage('both')).bytes, 8 * MiB, 'the refused PUT stored nothing');

    // Deleting a row frees pages inside the file, which the next write reuses.
    await d1({ op: 'run', sql: 'DELETE FROM t' });
    await d1({ op: 'run', sql: `INSERT INTO t (b) VALUES (randomblob(${MiB}))` });
    assert.deepEqual(await rows(), { n: 1, bytes: MiB });
    // Deleting an object gives the database room to grow past its old size.
    await s3.send(new DeleteObjectCommand({ Bucket: 'media', Key: 'x' }));
    await d1({ op: 'run', sql: `INSERT INTO t (b) VALUES (randomblob(${6 * MiB}))` });
    assert.deepEqual(await rows(), { n: 2, bytes: 7 * MiB });
    // And now the objects see the bigger database: 7 MiB and more is in SQL, so 5 MiB of objects is too much, 4 MiB is not.
    assert.equal((await s3Failure(put(s3, 'z', 5 * MiB))).code, 'QuotaExceeded');
    await put(s3, 'z', 4 * MiB);
    assert.deepEqual(await listing(s3, 'media'), [['z', 4 * MiB]]);
  });
});
