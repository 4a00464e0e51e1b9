// End-to-end test of the guest SDK's `objects` client: the `objects` test app runs in a real
// daemon and drives plinth(env).objects through the real ABI; the test checks what it answers,
// and reads the same data back through the S3 endpoint with the AWS SDK and presigned URLs.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type AgentOptions } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';

const MiB = 1024 * 1024;
/** The streaming test's object: large enough that buffering it anywhere would show, small enough for CI. */
const STREAM_BYTES = 20 * MiB;

interface Info {
  key: string; size: number; etag: string; httpEtag: string; uploaded: Date; metadata: Record<string, string>;
  contentType?: string; cacheControl?: string; contentDisposition?: string; contentEncoding?: string; contentLanguage?: string; expires?: Date;
}
/** The standard headers and metadata of an answer, for one comparison. */
function storedHeaders({ contentType, cacheControl, contentDisposition, contentEncoding, contentLanguage, expires, metadata }: Info) {
  return { contentType, cacheControl, contentDisposition, contentEncoding, contentLanguage, expires, metadata };
}
type GetAnswer = (Info & { hasBody: true; body: unknown; range?: { offset: number; length: number }; bodyUsedBefore: boolean }) | (Info & { hasBody: false }) | null;
interface ListAnswer { objects: Info[]; prefixes: string[]; truncated: boolean; cursor?: string }
interface RpcError { name: string; code: string; message: string; status: number; objectsError: boolean }
type Answer<T> = { result: T; error?: undefined } | { result?: undefined; error: RpcError };

/** Arguments the test app decodes: Dates as { $date }, put bodies as { $body, as }. */
function encodeArg(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { $body: Buffer.from(value).toString('base64'), as: 'uint8array' };
  if (Array.isArray(value)) return value.map(encodeArg);
  if (value && typeof value === 'object' && !('$body' in value) && !('$headers' in value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeArg(v)]));
  return value;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    if ('$date' in value) return new Date((value as { $date: string }).$date);
    if ('$bytes' in value) return Buffer.from((value as { $bytes: string }).$bytes, 'base64');
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

/** A put body of a given kind, built inside the app (see test-apps/objects/src/index.ts). */
const body = (bytes: Buffer | string, as: string, extra: Record<string, unknown> = {}) => ({ $body: Buffer.from(bytes).toString('base64'), as, ...extra });
const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('guest SDK objects client', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-objects-guest-'));
  let daemon: TestDaemon;

  function installObjectsApp(appId: string): void {
    const dir = join(work, appId);
    cpSync(join(TEST_APPS, 'objects'), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'plinth.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ ...manifest, id: appId }));
    installApp(daemon, dir);
  }

  async function rpc<T>(appId: string, method: string, args: unknown[], read?: string): Promise<Answer<T>> {
    const response = await daemon.fetch(daemon.appUrl(appId, '/rpc'), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method, args: args.map(encodeArg), ...(read ? { read } : {}) }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`objects.${method} answered ${response.status}: ${text.slice(0, 2000)}`);
    const answer = JSON.parse(text) as Answer<unknown>;
    return (answer.error ? answer : { result: revive(answer.result) }) as Answer<T>;
  }

  async function call<T>(appId: string, method: string, ...args: unknown[]): Promise<T> {
    const answer = await rpc<T>(appId, method, args);
    if (answer.error) throw new Error(`objects.${method}(${JSON.stringify(args).slice(0, 200)}) failed: ${answer.error.code} (${answer.error.status}): ${answer.error.message}`);
    return answer.result;
  }

  async function get(appId: string, args: unknown[], read = 'arrayBuffer'): Promise<GetAnswer> {
    const answer = await rpc<GetAnswer>(appId, 'get', args, read);
    if (answer.error) throw new Error(`objects.get failed: ${answer.error.code} (${answer.error.status}): ${answer.error.message}`);
    return answer.result;
  }

  async function fails(appId: string, method: string, ...args: unknown[]): Promise<RpcError> {
    const answer = await rpc(appId, method, args);
    assert.ok(answer.error, `objects.${method} should have failed but answered ${JSON.stringify(answer.result)?.slice(0, 300)}`);
    assert.equal(answer.error.name, 'ObjectsError');
    assert.equal(answer.error.objectsError, true);
    return answer.error;
  }

  /** An AWS SDK client for the app's credentials; every host name resolves to loopback, as for daemon.fetch. */
  async function s3For(appId: string): Promise<S3Client> {
    const credentials = await call<{ endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }>(appId, 'credentials');
    const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    }) as unknown as AgentOptions['lookup'];
    return new S3Client({
      endpoint: credentials.endpoint, region: credentials.region, forcePathStyle: true,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ lookup, keepAlive: false }) }),
    });
  }

  before(async () => {
    daemon = await startTestDaemon();
    installObjectsApp('obj-a');
    installObjectsApp('obj-b');
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('credentials name the S3 endpoint, and the AWS SDK reads what the SDK wrote with them', async () => {
    const credentials = await call<{ endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }>('obj-a', 'credentials');
    assert.equal(credentials.endpoint, `http://s3.localhost:${daemon.port}`);
    assert.equal(typeof credentials.region, 'string');
    assert.ok(credentials.region.length > 0);
    assert.ok(credentials.accessKeyId.length >= 16, 'an access key id');
    assert.ok(credentials.secretAccessKey.length >= 32, 'a secret key');
    assert.deepEqual(await call('obj-a', 'credentials'), credentials, 'the same keys on every call');

    await call('obj-a', 'createBucket', 'creds');
    await call('obj-a', 'put', 'creds', 'hello.txt', 'hello from the guest', { contentType: 'text/plain' });
    const s3 = await s3For('obj-a');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'creds' }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [['hello.txt', 20]]);
    const object = await s3.send(new GetObjectCommand({ Bucket: 'creds', Key: 'hello.txt' }));
    assert.equal(await object.Body?.transformToString(), 'hello from the guest');
    assert.equal(object.ContentType, 'text/plain');
    assert.equal(object.ETag, `"${md5('hello from the guest')}"`);
    s3.destroy();
  });

  test('buckets: createBucket is idempotent, listBuckets has Dates, deleteBucket refuses a bucket with objects', async () => {
    const startedMs = Date.now();
    await call('obj-a', 'createBucket', 'photos');
    await call('obj-a', 'createBucket', 'photos');
    const buckets = await call<{ name: string; created: Date }[]>('obj-a', 'listBuckets');
    const photos = buckets.find((b) => b.name === 'photos');
    assert.ok(photos, `photos in ${JSON.stringify(buckets)}`);
    assert.ok(photos.created instanceof Date);
    assert.ok(Math.abs(photos.created.getTime() - startedMs) < 60_000, `created ${photos.created.toISOString()} is about now`);
    assert.equal(buckets.filter((b) => b.name === 'photos').length, 1);

    await call('obj-a', 'put', 'photos', 'a.jpg', 'x');
    const notEmpty = await fails('obj-a', 'deleteBucket', 'photos');
    assert.deepEqual([notEmpty.code, notEmpty.status], ['objects.bucket_not_empty', 409]);
    await call('obj-a', 'delete', 'photos', 'a.jpg');
    await call('obj-a', 'deleteBucket', 'photos');
    assert.equal((await call<{ name: string }[]>('obj-a', 'listBuckets')).some((b) => b.name === 'photos'), false);

    const gone = await fails('obj-a', 'deleteBucket', 'photos');
    assert.deepEqual([gone.code, gone.status], ['objects.no_such_bucket', 404]);
    const badName = await fails('obj-a', 'createBucket', 'Not_A_Bucket');
    assert.deepEqual([badName.code, badName.status], ['objects.invalid_bucket_name', 400]);
    const empty = await fails('obj-a', 'createBucket', '');
    assert.equal(empty.code, 'objects.invalid_bucket_name');
  });

  test('put takes every body kind; put, head, get and list agree on size, ETag and upload time', async () => {
    await call('obj-a', 'createBucket', 'kinds');
    const bytes = randomBytes(10_000);
    const cases: { key: string; body: unknown; expected: Buffer; contentType?: string }[] = [
      { key: 'text', body: 'héllo wörld ✓', expected: Buffer.from('héllo wörld ✓') },
      { key: 'text-as-string', body: body('plain string body', 'text'), expected: Buffer.from('plain string body') },
      { key: 'arraybuffer', body: body(bytes, 'arraybuffer'), expected: bytes },
      { key: 'uint8array', body: body(bytes, 'uint8array'), expected: bytes },
      { key: 'view-in-larger-buffer', body: body(bytes, 'view'), expected: bytes },
      { key: 'dataview', body: body(bytes, 'dataview'), expected: bytes },
      { key: 'blob', body: body(bytes, 'blob', { type: 'image/png' }), expected: bytes, contentType: 'image/png' },
      { key: 'stream', body: body(bytes, 'stream', { chunkBytes: 999 }), expected: bytes },
      { key: 'empty-stream', body: body(Buffer.alloc(0), 'stream'), expected: Buffer.alloc(0) },
      { key: 'null', body: null, expected: Buffer.alloc(0) },
    ];
    for (const c of cases) {
      const started = Date.now();
      const put = await call<Info>('obj-a', 'put', 'kinds', c.key, c.body);
      assert.equal(put.key, c.key);
      assert.equal(put.size, c.expected.length, `${c.key}: size`);
      assert.equal(put.etag, md5(c.expected), `${c.key}: etag is the MD5 of the bytes, unquoted`);
      assert.equal(put.httpEtag, `"${put.etag}"`);
      assert.ok(put.uploaded instanceof Date && Math.abs(put.uploaded.getTime() - started) < 5_000, `${c.key}: uploaded ${put.uploaded.toISOString()}`);
      assert.deepEqual(put.metadata, {});
      if (c.contentType) assert.equal(put.contentType, c.contentType);
      else assert.equal(put.contentType, 'application/octet-stream', `${c.key}: S3's default, not a type fetch invented for the body`);

      const head = await call<Info>('obj-a', 'head', 'kinds', c.key);
      assert.deepEqual(head, put, `${c.key}: head equals what put returned`);
      const got = await get('obj-a', ['kinds', c.key]);
      assert.ok(got?.hasBody);
      assert.deepEqual(got.body, c.expected, `${c.key}: body`);
      assert.equal(got.bodyUsedBefore, false);
      assert.equal(got.range, undefined);
      assert.equal(got.etag, put.etag);
      assert.equal(got.uploaded.getTime(), put.uploaded.getTime());
    }
    const listed = await call<ListAnswer>('obj-a', 'list', 'kinds');
    assert.deepEqual(listed.objects.map((o) => o.key), cases.map((c) => c.key).sort());
    for (const object of listed.objects) {
      const c = cases.find((x) => x.key === object.key)!;
      assert.equal(object.size, c.expected.length);
      assert.equal(object.etag, md5(c.expected));
      assert.equal(object.httpEtag, `"${object.etag}"`);
      assert.ok(object.uploaded instanceof Date);
      assert.deepEqual(object.metadata, {});
    }
  });

  test('standard headers, Expires and metadata (any Unicode, names lowercased) round-trip through put, head, get and list', async () => {
    await call('obj-a', 'createBucket', 'headers');
    const expires = new Date('2031-05-06T07:08:09.000Z');
    const metadata = { owner: 'ada', 'Mixed-Case': 'kept', unicode: 'Grüße, 世界 ✓', spaced: '  padded  ', encodedLooking: '=?UTF-8?B?aGk=?=' };
    const options = {
      contentType: 'application/json', cacheControl: 'max-age=60', contentDisposition: 'attachment; filename="x.json"',
      contentEncoding: 'identity', contentLanguage: 'de-CH', expires, metadata,
    };
    const put = await call<Info>('obj-a', 'put', 'headers', 'doc.json', JSON.stringify({ hello: 'world', n: 1 }), options);
    const expectedMetadata = { owner: 'ada', 'mixed-case': 'kept', unicode: 'Grüße, 世界 ✓', spaced: '  padded  ', encodedlooking: '=?UTF-8?B?aGk=?=' };
    const { metadata: _sent, ...standard } = options;
    for (const info of [put, await call<Info>('obj-a', 'head', 'headers', 'doc.json')]) {
      assert.deepEqual(storedHeaders(info), { ...standard, metadata: expectedMetadata });
    }
    const asJson = await get('obj-a', ['headers', 'doc.json'], 'json');
    assert.ok(asJson?.hasBody);
    assert.deepEqual(asJson.body, { hello: 'world', n: 1 });
    assert.deepEqual(asJson.metadata, expectedMetadata);
    const asText = await get('obj-a', ['headers', 'doc.json'], 'text');
    assert.ok(asText?.hasBody);
    assert.equal(asText.body, '{"hello":"world","n":1}');
    const asBlob = await get('obj-a', ['headers', 'doc.json'], 'blob');
    assert.ok(asBlob?.hasBody);
    assert.equal(Buffer.from(asBlob.body as Buffer).toString(), '{"hello":"world","n":1}');
    const badName = await fails('obj-a', 'put', 'headers', 'x', 'x', { metadata: { 'bad name': 'x' } });
    assert.equal(badName.code, 'objects.invalid_metadata');
    const tooBig = await fails('obj-a', 'put', 'headers', 'x', 'x', { metadata: { big: 'x'.repeat(4096) } });
    assert.equal(tooBig.status, 400, `over 2 KiB of metadata: ${tooBig.code}`);
    assert.equal(await call('obj-a', 'head', 'headers', 'x'), null, 'a refused put stored nothing');
  });

  test('list entries carry the standard headers and metadata that were stored', async () => {
    // Uses the object the previous test stored.
    const [listed] = (await call<ListAnswer>('obj-a', 'list', 'headers')).objects;
    assert.ok(listed);
    assert.equal(listed.key, 'doc.json');
    assert.deepEqual(storedHeaders(listed), {
      contentType: 'application/json', cacheControl: 'max-age=60', contentDisposition: 'attachment; filename="x.json"',
      contentEncoding: 'identity', contentLanguage: 'de-CH', expires: new Date('2031-05-06T07:08:09.000Z'),
      metadata: { owner: 'ada', 'mixed-case': 'kept', unicode: 'Grüße, 世界 ✓', spaced: '  padded  ', encodedlooking: '=?UTF-8?B?aGk=?=' },
    });
  });

  test('an object stored with Content-Encoding: gzip reads back as the stored bytes, not inflated', async () => {
    await call('obj-a', 'createBucket', 'encoded');
    const compressed = gzipSync(Buffer.from('squeeze me '.repeat(100)));
    const put = await call<Info>('obj-a', 'put', 'encoded', 'page.html.gz', compressed, { contentType: 'text/html', contentEncoding: 'gzip' });
    assert.deepEqual([put.size, put.contentEncoding], [compressed.length, 'gzip']);
    const got = await get('obj-a', ['encoded', 'page.html.gz']);
    assert.ok(got?.hasBody);
    assert.deepEqual(got.body, compressed);
    assert.equal(got.contentEncoding, 'gzip');
  });

  test('keys with spaces, Unicode, "?", "#", "%" and "+" round-trip; "." and ".." segments are refused before any call', async () => {
    await call('obj-a', 'createBucket', 'keys');
    const keys = ['dir/sub dir/ü ?#%+&=.txt', 'a+b', '100%', 'ends/with/', 'x/.hidden', 'emoji/😀'];
    for (const key of keys) {
      const put = await call<Info>('obj-a', 'put', 'keys', key, key);
      assert.equal(put.key, key);
      const got = await get('obj-a', ['keys', key], 'text');
      assert.ok(got?.hasBody, key);
      assert.equal(got.body, key);
    }
    assert.deepEqual((await call<ListAnswer>('obj-a', 'list', 'keys')).objects.map((o) => o.key), [...keys].sort());
    for (const key of ['a/../b', './x', 'x/.', '']) {
      const refused = await fails('obj-a', 'put', 'keys', key, 'x');
      assert.equal(refused.code, 'objects.invalid_key', JSON.stringify(key));
    }
  });

  test('absent keys: get and head answer null; an absent bucket throws objects.no_such_bucket', async () => {
    await call('obj-a', 'createBucket', 'sparse');
    assert.equal(await get('obj-a', ['sparse', 'nope']), null);
    assert.equal(await call('obj-a', 'head', 'sparse', 'nope'), null);
    for (const method of ['get', 'head', 'put', 'list', 'delete'] as const) {
      const args = method === 'put' ? ['no-such-bucket', 'k', 'x'] : method === 'list' ? ['no-such-bucket'] : ['no-such-bucket', 'k'];
      const error = await fails('obj-a', method, ...args);
      assert.deepEqual([error.code, error.status], ['objects.no_such_bucket', 404], method);
    }
  });

  test('range reads: offset and length, offset alone, length alone, suffix; past the end is objects.invalid_range', async () => {
    await call('obj-a', 'createBucket', 'ranges');
    const bytes = randomBytes(1000);
    await call('obj-a', 'put', 'ranges', 'r', bytes);
    const cases: [unknown, number, number][] = [
      [{ offset: 10, length: 20 }, 10, 20],
      [{ offset: 990 }, 990, 10],
      [{ length: 5 }, 0, 5],
      [{ suffix: 7 }, 993, 7],
      [{ offset: 0, length: 5000 }, 0, 1000],
      [{ offset: 999, length: 1 }, 999, 1],
    ];
    for (const [range, offset, length] of cases) {
      const got = await get('obj-a', ['ranges', 'r', { range }]);
      assert.ok(got?.hasBody, JSON.stringify(range));
      assert.deepEqual(got.range, { offset, length }, JSON.stringify(range));
      assert.equal(got.size, 1000, 'size is the whole object');
      assert.deepEqual(got.body, bytes.subarray(offset, offset + length), JSON.stringify(range));
    }
    const past = await fails('obj-a', 'get', 'ranges', 'r', { range: { offset: 1000 } });
    assert.deepEqual([past.code, past.status], ['objects.invalid_range', 416]);
    for (const range of [{ offset: -1 }, { offset: 1.5 }, { offset: 0, length: 0 }, { suffix: 0 }]) {
      const bad = await fails('obj-a', 'get', 'ranges', 'r', { range });
      assert.equal(bad.code, 'objects.invalid_range', JSON.stringify(range));
    }
  });

  test('onlyIf: a condition that fails gives the object without a body, as R2 does', async () => {
    await call('obj-a', 'createBucket', 'conditional');
    const put = await call<Info>('obj-a', 'put', 'conditional', 'c', 'conditional body');
    const hour = 3600_000;
    const passes: unknown[] = [
      { etagMatches: put.etag }, { etagMatches: put.httpEtag }, { etagMatches: '*' },
      { etagDoesNotMatch: 'abc' }, { uploadedBefore: new Date(Date.now() + hour) }, { uploadedAfter: new Date(Date.now() - hour) },
      { $headers: { 'if-match': put.httpEtag } },
    ];
    for (const onlyIf of passes) {
      const got = await get('obj-a', ['conditional', 'c', { onlyIf }], 'text');
      assert.ok(got?.hasBody, `${JSON.stringify(onlyIf)} holds`);
      assert.equal(got.body, 'conditional body');
    }
    const fail: unknown[] = [
      { etagMatches: 'abc' }, { etagDoesNotMatch: put.etag }, { etagDoesNotMatch: '*' },
      { uploadedBefore: new Date(Date.now() - hour) }, { uploadedAfter: new Date(Date.now() + hour) },
      { $headers: { 'if-none-match': put.httpEtag } },
    ];
    for (const onlyIf of fail) {
      const got = await get('obj-a', ['conditional', 'c', { onlyIf }], 'text');
      assert.ok(got, `${JSON.stringify(onlyIf)}: not null`);
      assert.equal(got.hasBody, false, `${JSON.stringify(onlyIf)} fails: no body`);
      assert.equal(got.etag, put.etag);
      assert.equal(got.size, put.size);
      assert.equal('body' in got, false);
    }
    assert.equal(await get('obj-a', ['conditional', 'missing', { onlyIf: { etagMatches: 'abc' } }]), null, 'an absent key is null whatever the condition');
  });

  test('list: prefix, delimiter, pagination with cursor and limit, startAfter', async () => {
    await call('obj-a', 'createBucket', 'listing');
    const keys = ['a/1', 'a/2', 'a/b/3', 'b/1', 'b/2', 'c', 'd/x/y'];
    for (const key of keys) await call('obj-a', 'put', 'listing', key, key);

    const all = await call<ListAnswer>('obj-a', 'list', 'listing');
    assert.deepEqual([all.objects.map((o) => o.key), all.prefixes, all.truncated, all.cursor], [keys, [], false, undefined]);
    const top = await call<ListAnswer>('obj-a', 'list', 'listing', { delimiter: '/' });
    assert.deepEqual([top.objects.map((o) => o.key), top.prefixes], [['c'], ['a/', 'b/', 'd/']]);
    const underA = await call<ListAnswer>('obj-a', 'list', 'listing', { prefix: 'a/', delimiter: '/' });
    assert.deepEqual([underA.objects.map((o) => o.key), underA.prefixes], [['a/1', 'a/2'], ['a/b/']]);
    const prefixed = await call<ListAnswer>('obj-a', 'list', 'listing', { prefix: 'b' });
    assert.deepEqual(prefixed.objects.map((o) => o.key), ['b/1', 'b/2']);
    const after = await call<ListAnswer>('obj-a', 'list', 'listing', { startAfter: 'b/1' });
    assert.deepEqual(after.objects.map((o) => o.key), ['b/2', 'c', 'd/x/y']);

    const paged: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await call<ListAnswer>('obj-a', 'list', 'listing', { limit: 2, ...(cursor ? { cursor } : {}) });
      assert.ok(result.objects.length <= 2);
      paged.push(...result.objects.map((o) => o.key));
      if (!result.truncated) {
        assert.equal(result.cursor, undefined);
        break;
      }
      assert.ok(result.cursor, 'a truncated page has a cursor');
      cursor = result.cursor;
    }
    assert.deepEqual(paged, keys);
    const pagedPrefixes = await call<ListAnswer>('obj-a', 'list', 'listing', { delimiter: '/', limit: 2 });
    assert.equal(pagedPrefixes.truncated, true);
    assert.equal(pagedPrefixes.objects.length + pagedPrefixes.prefixes.length, 2);
  });

  test('list refuses a limit outside 1..1000 rather than changing it', async () => {
    for (const limit of [0, 1001, 1.5]) {
      const bad = await fails('obj-a', 'list', 'listing', { limit });
      assert.equal(bad.status, 400, `limit ${limit}: ${bad.code}`);
    }
    const atMax = await call<ListAnswer>('obj-a', 'list', 'listing', { limit: 1000 });
    assert.equal(atMax.truncated, false);
  });

  test('delete: one key, a missing key, and 1005 keys at once (sent in batches of 1000)', async () => {
    await call('obj-a', 'createBucket', 'deleting');
    await call('obj-a', 'put', 'deleting', 'one', '1');
    await call('obj-a', 'delete', 'deleting', 'one');
    assert.equal(await call('obj-a', 'head', 'deleting', 'one'), null);
    await call('obj-a', 'delete', 'deleting', 'never-was');
    await call('obj-a', 'delete', 'deleting', []);

    const response = await daemon.fetch(daemon.appUrl('obj-a', '/put-many'), { method: 'POST', body: JSON.stringify({ bucket: 'deleting', prefix: 'many/', count: 1005 }) });
    const made = (await response.json()) as { result: string[] };
    assert.equal(made.result?.length, 1005, JSON.stringify(made).slice(0, 300));
    await call('obj-a', 'put', 'deleting', 'keep', 'kept');
    const firstPage = await call<ListAnswer>('obj-a', 'list', 'deleting', { prefix: 'many/' });
    assert.equal(firstPage.truncated, true);
    await call('obj-a', 'delete', 'deleting', [...made.result, 'also-never-was']);
    const left = await call<ListAnswer>('obj-a', 'list', 'deleting');
    assert.deepEqual(left.objects.map((o) => o.key), ['keep']);
  });

  test('presign: GET, PUT (with content type), HEAD and DELETE URLs on the S3 endpoint work with plain fetch until they expire', async () => {
    await call('obj-a', 'createBucket', 'shared');
    await call('obj-a', 'put', 'shared', 'dir/report.txt', 'quarterly numbers', { contentType: 'text/plain' });
    const started = Date.now();
    const getUrl = await call<{ url: string; expiresAt: Date }>('obj-a', 'presign', 'shared', 'dir/report.txt', { method: 'GET' });
    assert.ok(getUrl.url.startsWith(`http://s3.localhost:${daemon.port}/`), getUrl.url);
    assert.match(getUrl.url, /X-Amz-Signature=/);
    assert.ok(Math.abs(getUrl.expiresAt.getTime() - (started + 3600_000)) < 10_000, `default expiry an hour ahead: ${getUrl.expiresAt.toISOString()}`);
    const fetched = await daemon.fetch(getUrl.url);
    assert.equal(fetched.status, 200);
    assert.equal(await fetched.text(), 'quarterly numbers');
    assert.equal(fetched.headers.get('content-type'), 'text/plain');
    const tampered = await daemon.fetch(getUrl.url.replace('report.txt', 'other.txt'));
    assert.equal(tampered.status, 403, 'the signature covers the key');
    await tampered.body?.cancel();

    const uploadBody = 'uploaded by a browser';
    const putUrl = await call<{ url: string }>('obj-a', 'presign', 'shared', 'upload.txt', { method: 'PUT', contentType: 'text/markdown', expiresIn: 600 });
    const wrongType = await daemon.fetch(putUrl.url, { method: 'PUT', body: uploadBody, headers: { 'content-type': 'image/png' } });
    assert.equal(wrongType.status, 403, 'the content type is signed');
    await wrongType.body?.cancel();
    const uploaded = await daemon.fetch(putUrl.url, { method: 'PUT', body: uploadBody, headers: { 'content-type': 'text/markdown' } });
    assert.equal(uploaded.status, 200, await uploaded.text());
    const stored = await get('obj-a', ['shared', 'upload.txt'], 'text');
    assert.ok(stored?.hasBody);
    assert.deepEqual([stored.body, stored.contentType], [uploadBody, 'text/markdown']);

    const headUrl = await call<{ url: string }>('obj-a', 'presign', 'shared', 'upload.txt', { method: 'HEAD' });
    const headed = await daemon.fetch(headUrl.url, { method: 'HEAD' });
    assert.deepEqual([headed.status, headed.headers.get('etag')], [200, `"${md5(uploadBody)}"`]);
    const deleteUrl = await call<{ url: string }>('obj-a', 'presign', 'shared', 'upload.txt', { method: 'DELETE' });
    const deleted = await daemon.fetch(deleteUrl.url, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal(await call('obj-a', 'head', 'shared', 'upload.txt'), null);

    const shortLived = await call<{ url: string; expiresAt: Date }>('obj-a', 'presign', 'shared', 'dir/report.txt', { method: 'GET', expiresIn: 1 });
    assert.ok(shortLived.expiresAt.getTime() - Date.now() <= 1_500);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await daemon.fetch(shortLived.url);
    assert.equal(expired.status, 403, 'an expired URL is refused');
    await expired.body?.cancel();

    const tooLong = await fails('obj-a', 'presign', 'shared', 'x', { method: 'GET', expiresIn: 604801 });
    assert.equal(tooLong.status, 400, tooLong.code);
    const atMax = await call<{ expiresAt: Date }>('obj-a', 'presign', 'shared', 'x', { method: 'GET', expiresIn: 604800 });
    assert.ok(Math.abs(atMax.expiresAt.getTime() - (Date.now() + 604800_000)) < 10_000);
    const badMethod = await fails('obj-a', 'presign', 'shared', 'x', { method: 'POST' });
    assert.equal(badMethod.status, 400);
  });

  test(`streams ${STREAM_BYTES / MiB} MiB in and out through the app unchanged`, async () => {
    await call('obj-a', 'createBucket', 'big');
    const data = randomBytes(STREAM_BYTES);
    const digest = sha256(data);
    async function* chunks() {
      for (let offset = 0; offset < data.length; offset += 256 * 1024) yield data.subarray(offset, offset + 256 * 1024);
    }
    const upload = await daemon.fetch(daemon.appUrl('obj-a', '/stream/big/video%20files/clip.bin'), {
      method: 'PUT', body: chunks(), duplex: 'half', headers: { 'content-type': 'video/mp4' },
    });
    const uploadText = await upload.text();
    assert.equal(upload.status, 200, uploadText);
    const put = revive((JSON.parse(uploadText) as { result: unknown }).result) as Info;
    assert.deepEqual([put.key, put.size, put.etag, put.contentType], ['video files/clip.bin', STREAM_BYTES, md5(data), 'video/mp4']);

    const download = await daemon.fetch(daemon.appUrl('obj-a', '/stream/big/video%20files/clip.bin'));
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('x-object-size'), String(STREAM_BYTES));
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of download.body!) {
      hash.update(chunk);
      received += chunk.length;
    }
    assert.equal(received, STREAM_BYTES);
    assert.equal(hash.digest('hex'), digest);

    const offset = 10 * MiB - 3;
    const ranged = await daemon.fetch(daemon.appUrl('obj-a', `/stream/big/video%20files/clip.bin?offset=${offset}&length=4096`));
    assert.equal(ranged.headers.get('x-object-range'), `${offset}+4096`);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), data.subarray(offset, offset + 4096));

    const s3 = await s3For('obj-a');
    const viaS3 = await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'video files/clip.bin' }));
    assert.equal(sha256(Buffer.from(await viaS3.Body!.transformToByteArray())), digest, 'the S3 endpoint serves the same bytes');
    s3.destroy();
  });

  test('two apps have separate buckets: neither the SDK nor S3 credentials reach the other app\'s objects', async () => {
    await call('obj-a', 'createBucket', 'private');
    await call('obj-a', 'put', 'private', 'secret.txt', 'alpha only');
    assert.equal((await call<{ name: string }[]>('obj-b', 'listBuckets')).some((b) => b.name === 'private'), false);
    const missing = await fails('obj-b', 'get', 'private', 'secret.txt');
    assert.equal(missing.code, 'objects.no_such_bucket');
    assert.equal((await fails('obj-b', 'list', 'private')).code, 'objects.no_such_bucket');

    // Names are per app: b may make its own "private", which is empty and stays apart from a's.
    await call('obj-b', 'createBucket', 'private');
    assert.deepEqual((await call<ListAnswer>('obj-b', 'list', 'private')).objects, []);
    assert.equal(await get('obj-b', ['private', 'secret.txt']), null);
    await call('obj-b', 'put', 'private', 'secret.txt', 'beta');
    const alphas = await get('obj-a', ['private', 'secret.txt'], 'text');
    assert.ok(alphas?.hasBody);
    assert.equal(alphas.body, 'alpha only');

    const betaS3 = await s3For('obj-b');
    const viaBeta = await betaS3.send(new GetObjectCommand({ Bucket: 'private', Key: 'secret.txt' }));
    assert.equal(await viaBeta.Body?.transformToString(), 'beta', "b's keys open b's bucket");
    await assert.rejects(betaS3.send(new GetObjectCommand({ Bucket: 'creds', Key: 'hello.txt' })), (error: Error) => error.name === 'NoSuchBucket', "b's keys do not open a's bucket");
    betaS3.destroy();
    const alphaPresigned = await call<{ url: string }>('obj-a', 'presign', 'private', 'secret.txt', { method: 'GET' });
    const viaUrl = await daemon.fetch(alphaPresigned.url);
    assert.equal(await viaUrl.text(), 'alpha only', "a's presigned URL reads a's object, not b's");
  });
});
