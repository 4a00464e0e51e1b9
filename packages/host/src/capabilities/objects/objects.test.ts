import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  DeleteBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetBucketAclCommand, GetBucketLocationCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, ListMultipartUploadsCommand, ListObjectsCommand,
  ListObjectsV2Command, ListPartsCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client,
  UploadPartCommand, UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { s3Failure, signedRequest, startObjectsDaemon, type ObjectsFixture } from '../../testing/objects-fixture.js';
import { NodeSha256 } from './sigv4.js';

const md5 = (data: Uint8Array | string) => createHash('md5').update(data).digest('hex');
const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const MiB = 1024 * 1024;
const IDLE_TIMEOUT_MS = 2000;


describe('objects: the S3 API through @aws-sdk/client-s3 with its default settings', () => {
  let f: ObjectsFixture;
  let s3: S3Client;
  before(async () => {
    f = await startObjectsDaemon(['alpha', 'beta'], { env: { PLINTH_S3_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) } });
    s3 = f.client('alpha');
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
  });
  after(() => f.stop());

  test('buckets: create, head, list, location; names are checked; a full bucket is not deleted', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'scratch' }));
    // us-east-1 answers 200 when the caller already owns the bucket, as S3 does there.
    await s3.send(new CreateBucketCommand({ Bucket: 'scratch' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'scratch' }));
    const names = (await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    assert.deepEqual(names, ['photos', 'scratch']);
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: 'scratch' }));
    assert.equal(location.LocationConstraint ?? '', '');
    await s3.send(new PutObjectCommand({ Bucket: 'scratch', Key: 'x', Body: 'x' }));
    assert.deepEqual(await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: 'scratch' }))), { code: 'BucketNotEmpty', status: 409, message: 'The bucket you tried to delete is not empty' });
    await s3.send(new DeleteObjectCommand({ Bucket: 'scratch', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'scratch' }));
    assert.equal((await s3Failure(s3.send(new HeadBucketCommand({ Bucket: 'scratch' })))).status, 404);
    assert.equal((await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: 'scratch' })))).code, 'NoSuchBucket');
    const bad = await s3Failure(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })));
    assert.deepEqual([bad.code, bad.status], ['InvalidBucketName', 400]);
  });

  test('put, get and head keep the bytes, the ETag (MD5), user metadata and standard headers', async () => {
    const body = 'hello, objects';
    const put = await s3.send(new PutObjectCommand({
      Bucket: 'photos', Key: 'notes/hello.txt', Body: body, ContentType: 'text/plain; charset=utf-8', CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="hello.txt"', ContentLanguage: 'en', Metadata: { author: 'ada', 'x-thing': 'v 1' },
    }));
    assert.equal(put.ETag, `"${md5(body)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt' }));
    assert.equal(await got.Body!.transformToString(), body);
    assert.equal(got.ETag, `"${md5(body)}"`);
    assert.equal(got.ContentType, 'text/plain; charset=utf-8');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ContentDisposition, 'attachment; filename="hello.txt"');
    assert.equal(got.ContentLanguage, 'en');
    assert.equal(got.ContentLength, body.length);
    assert.deepEqual(got.Metadata, { author: 'ada', 'x-thing': 'v 1' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt' }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ETag, put.ETag);
    assert.ok(head.LastModified instanceof Date && Math.abs(head.LastModified.getTime() - Date.now()) < 60_000);
    // An empty object is an object.
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'empty', Body: '' }));
    const empty = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'empty' }));
    assert.equal((await empty.Body!.transformToByteArray()).length, 0);
    assert.equal(empty.ETag, `"${md5('')}"`);
  });

  test('objects up to 64 KiB live in the index row, larger ones in a blob file; both read, range and copy alike', async () => {
    const blobsDir = join(f.daemon.dataDir, 'apps', 'alpha', 'data', 'objects', 'blobs');
    const files = () => readdirSync(blobsDir).length;
    const before = files();
    const small = Buffer.alloc(64 * 1024, 's');
    const large = Buffer.alloc(64 * 1024 + 1, 'l');
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'size/small', Body: small }));
    assert.equal(files(), before, 'a 64 KiB object makes no file');
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'size/large', Body: large }));
    assert.equal(files(), before + 1, 'a larger one makes one');
    await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'size/small-copy', CopySource: 'photos/size/small' }));
    for (const [key, body] of [['size/small', small], ['size/large', large], ['size/small-copy', small]] as const) {
      const whole = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: key }));
      assert.equal(md5(await whole.Body!.transformToByteArray()), md5(body), key);
      const part = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: key, Range: 'bytes=100-109' }));
      assert.equal(await part.Body!.transformToString(), body.subarray(100, 110).toString(), key);
    }
    await s3.send(new DeleteObjectsCommand({ Bucket: 'photos', Delete: { Objects: ['size/small', 'size/large', 'size/small-copy'].map((Key) => ({ Key })) } }));
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'size/small' })))).status, 404);
  });

  test('checksums: every algorithm is stored and returned; a wrong checksum or Content-MD5 is BadDigest and stores nothing', async () => {
    for (const algorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
      const put = await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: `sum/${algorithm}`, Body: `data for ${algorithm}`, ChecksumAlgorithm: algorithm }));
      const field = `Checksum${algorithm}` as const;
      assert.ok(put[field], `PutObject answers ${field}`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: `sum/${algorithm}`, ChecksumMode: 'ENABLED' }));
      assert.equal(got[field], put[field]);
      assert.equal(await got.Body!.transformToString(), `data for ${algorithm}`);
    }
    const sha256 = createHash('sha256').update('abc').digest('base64');
    assert.equal((await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'sum/SHA256', ChecksumMode: 'ENABLED' }))).ChecksumSHA256, createHash('sha256').update('data for SHA256').digest('base64'));
    assert.notEqual(sha256, '');
    const wrong = await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'sum/wrong', Body: 'abc', ChecksumSHA256: createHash('sha256').update('abd').digest('base64') })));
    assert.deepEqual([wrong.code, wrong.status], ['BadDigest', 400]);
    const badMd5 = await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'sum/wrong', Body: 'abc', ContentMD5: createHash('md5').update('abd').digest('base64') })));
    assert.deepEqual([badMd5.code, badMd5.status], ['BadDigest', 400]);
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'sum/wrong' })))).status, 404);
  });

  test('ranges: first-last, open-ended and suffix ranges; an unsatisfiable one is InvalidRange 416', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'digits', Body: '0123456789' }));
    const get = async (range: string) => {
      const r = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', Range: range }));
      return { text: await r.Body!.transformToString(), contentRange: r.ContentRange, length: r.ContentLength };
    };
    assert.deepEqual(await get('bytes=2-5'), { text: '2345', contentRange: 'bytes 2-5/10', length: 4 });
    assert.deepEqual(await get('bytes=7-'), { text: '789', contentRange: 'bytes 7-9/10', length: 3 });
    assert.deepEqual(await get('bytes=-3'), { text: '789', contentRange: 'bytes 7-9/10', length: 3 });
    assert.deepEqual(await get('bytes=8-100'), { text: '89', contentRange: 'bytes 8-9/10', length: 2 });
    const failure = await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits', Range: 'bytes=10-20' })));
    assert.deepEqual([failure.code, failure.status], ['InvalidRange', 416]);
  });

  test('conditional GET and PUT: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'cond', Body: 'v1' }));
    const ok = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfMatch: put.ETag }));
    assert.equal(await ok.Body!.transformToString(), 'v1');
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfMatch: '"0000"' })))), { code: 'PreconditionFailed', status: 412 });
    assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfNoneMatch: put.ETag })))).status, 304);
    assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfModifiedSince: new Date(Date.now() + 3600_000) })))).status, 304);
    assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfUnmodifiedSince: new Date(Date.now() - 3600_000) })))).status, 412);
    const fresh = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond', IfModifiedSince: new Date(Date.now() - 3600_000) }));
    assert.equal(await fresh.Body!.transformToString(), 'v1');
    // Conditional writes: create-only, and compare-and-swap on the ETag.
    assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'cond', Body: 'v2', IfNoneMatch: '*' })))).status, 412);
    assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'cond', Body: 'v2', IfMatch: '"0000"' })))).status, 412);
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'cond', Body: 'v2', IfMatch: put.ETag }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'cond' }))).Body!.transformToString(), 'v2');
  });

  test('copy: COPY keeps metadata, REPLACE sets it, a copy onto itself must change something, copy conditions hold', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'src', Body: 'source bytes', ContentType: 'text/x-src', Metadata: { a: '1' } }));
    const copied = await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/copy', CopySource: 'photos/src' }));
    assert.equal(copied.CopyObjectResult?.ETag, `"${md5('source bytes')}"`);
    const dst = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'dst/copy' }));
    assert.deepEqual([await dst.Body!.transformToString(), dst.ContentType, dst.Metadata], ['source bytes', 'text/x-src', { a: '1' }]);
    await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/replaced', CopySource: 'photos/src', MetadataDirective: 'REPLACE', ContentType: 'text/x-new', Metadata: { b: '2' } }));
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'dst/replaced' }));
    assert.deepEqual([replaced.ContentType, replaced.Metadata], ['text/x-new', { b: '2' }]);
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'src', CopySource: 'photos/src' })))), { code: 'InvalidRequest', status: 400 });
    await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'src', CopySource: 'photos/src', MetadataDirective: 'REPLACE', Metadata: { a: '3' } }));
    assert.deepEqual((await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'src' }))).Metadata, { a: '3' });
    assert.equal((await s3Failure(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/x', CopySource: 'photos/src', CopySourceIfMatch: '"0000"' })))).status, 412);
    assert.equal((await s3Failure(s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/x', CopySource: 'photos/missing' })))).code, 'NoSuchKey');
    // Keys with characters that need encoding in x-amz-copy-source.
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'spaced key/ünï+?.txt', Body: 'odd' }));
    await s3.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'dst/odd', CopySource: `photos/${encodeURIComponent('spaced key/ünï+?.txt')}` }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'dst/odd' }))).Body!.transformToString(), 'odd');
  });

  test('listings: V2 with prefix, delimiter, pages and start-after; V1 with markers; url encoding', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    const keys: string[] = [];
    for (const dir of ['a', 'b', 'c']) for (let i = 0; i < 7; i++) keys.push(`${dir}/${String(i).padStart(2, '0')}`);
    keys.push('top1', 'top2', 'z é/ü');
    await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }))));
    const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

    const all: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', MaxKeys: 10, ContinuationToken: token }));
      all.push(...(page.Contents ?? []).map((c) => c.Key!));
      assert.equal(page.KeyCount, (page.Contents ?? []).length);
      token = page.NextContinuationToken;
      assert.equal(page.IsTruncated, token !== undefined);
      pages++;
    } while (token && pages < 10);
    assert.deepEqual(all, sorted);
    assert.equal(pages, 3);

    const top = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/' }));
    assert.deepEqual(top.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/', 'c/', 'z é/']);
    assert.deepEqual(top.Contents?.map((c) => c.Key), ['top1', 'top2']);
    const paged = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2 }));
    assert.deepEqual(paged.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/']);
    const rest = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Delimiter: '/', MaxKeys: 10, ContinuationToken: paged.NextContinuationToken }));
    assert.deepEqual([rest.CommonPrefixes?.map((p) => p.Prefix), rest.Contents?.map((c) => c.Key)], [['c/', 'z é/'], ['top1', 'top2']]);
    const inB = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'b/', StartAfter: 'b/04' }));
    assert.deepEqual(inB.Contents?.map((c) => c.Key), ['b/05', 'b/06']);
    assert.equal(inB.Contents?.[0]?.Size, 4);
    assert.equal(inB.Contents?.[0]?.ETag, `"${md5('b/05')}"`);

    const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 3 }));
    assert.deepEqual([v1.CommonPrefixes?.map((p) => p.Prefix), v1.IsTruncated, v1.NextMarker], [['a/', 'b/', 'c/'], true, 'c/']);
    const v1next = await s3.send(new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', Marker: v1.NextMarker }));
    assert.deepEqual([v1next.CommonPrefixes?.map((p) => p.Prefix), v1next.Contents?.map((c) => c.Key), v1next.IsTruncated], [['z é/'], ['top1', 'top2'], false]);

    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'z', EncodingType: 'url' }));
    assert.deepEqual(encoded.Contents?.map((c) => decodeURIComponent(c.Key!)), ['z é/ü']);
    assert.equal(encoded.EncodingType, 'url');
    const none = await s3.send(new ListObjectsV2Command({ Bucket: 'listing', Prefix: 'nothing/' }));
    assert.deepEqual([none.KeyCount, none.Contents, none.IsTruncated], [0, undefined, false]);
  });

  test('DeleteObjects removes many keys at once, missing keys included', async () => {
    const keys = ['d/1', 'd/2', 'd/3'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'photos', Key, Body: Key }));
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: 'photos', Delete: { Objects: [...keys, 'd/missing'].map((Key) => ({ Key })) } }));
    assert.deepEqual(result.Deleted?.map((d) => d.Key).sort(), ['d/1', 'd/2', 'd/3', 'd/missing']);
    assert.equal(result.Errors, undefined);
    assert.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'd/' }))).KeyCount, 0);
  });

  test('multipart: parts with checksums, ListParts, ListMultipartUploads, UploadPartCopy, a -N ETag, and S3\'s errors', async () => {
    const part1 = Buffer.alloc(5 * MiB, 'a');
    const part2 = Buffer.alloc(5 * MiB, 'b');
    const part3 = Buffer.from('the tail');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'big/file', ContentType: 'application/x-big', Metadata: { kind: 'mp' }, ChecksumAlgorithm: 'CRC32' }));
    assert.ok(UploadId);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'photos' }));
    assert.deepEqual(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [['big/file', UploadId]]);
    const other = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'loose' }));
    const rolled = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'photos', Delimiter: '/' }));
    assert.deepEqual([rolled.Uploads?.map((u) => u.Key), rolled.CommonPrefixes?.map((p) => p.Prefix), rolled.Delimiter], [['loose'], ['big/'], '/']);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'photos', Key: 'loose', UploadId: other.UploadId }));
    const etags: string[] = [];
    for (const [i, body] of [part1, part2, part3].entries()) {
      const uploaded: { ETag?: string | undefined } = await s3.send(new UploadPartCommand({ Bucket: 'photos', Key: 'big/file', UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'CRC32' }));
      assert.equal(uploaded.ETag, `"${md5(body)}"`);
      etags.push(uploaded.ETag!);
    }
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'photos', Key: 'big/file', UploadId }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, 5 * MiB, etags[0]], [2, 5 * MiB, etags[1]], [3, 8, etags[2]]]);

    const outOfOrder = await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'photos', Key: 'big/file', UploadId, MultipartUpload: { Parts: [{ PartNumber: 2, ETag: etags[1] }, { PartNumber: 1, ETag: etags[0] }] } })));
    assert.equal(outOfOrder.code, 'InvalidPartOrder');
    const wrongTag = await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'photos', Key: 'big/file', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00"' }] } })));
    assert.deepEqual([wrongTag.code, wrongTag.status], ['InvalidPart', 400]);
    const small = await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'photos', Key: 'big/file', UploadId, MultipartUpload: { Parts: [{ PartNumber: 3, ETag: etags[2] }, { PartNumber: 4, ETag: etags[2] }] } })));
    assert.equal(small.code, 'InvalidPart');

    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'photos', Key: 'big/file', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }));
    const expectedEtag = `"${createHash('md5').update(Buffer.concat([part1, part2, part3].map((p) => createHash('md5').update(p).digest()))).digest('hex')}-3"`;
    assert.equal(done.ETag, expectedEtag);
    const whole = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/file' }));
    assert.equal(whole.ETag, expectedEtag);
    assert.equal(whole.ContentType, 'application/x-big');
    assert.deepEqual(whole.Metadata, { kind: 'mp' });
    assert.equal(createHash('sha256').update(await whole.Body!.transformToByteArray()).digest('hex'), createHash('sha256').update(Buffer.concat([part1, part2, part3])).digest('hex'));
    // A range across the boundary of two parts.
    const across = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/file', Range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` }));
    assert.equal(await across.Body!.transformToString(), 'aabb');
    // partNumber reads one part of a multipart object, as GET and HEAD; a part past the end is InvalidPartNumber 416.
    const second = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/file', PartNumber: 3 }));
    assert.deepEqual([second.$metadata.httpStatusCode, second.PartsCount, second.ContentLength, second.ContentRange], [206, 3, 8, `bytes ${10 * MiB}-${10 * MiB + 7}/${10 * MiB + 8}`]);
    assert.equal(await second.Body!.transformToString(), 'the tail');
    const headPart = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'big/file', PartNumber: 2 }));
    assert.deepEqual([headPart.ContentLength, headPart.PartsCount], [5 * MiB, 3]);
    const pastEnd = await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/file', PartNumber: 4 })));
    assert.deepEqual([pastEnd.code, pastEnd.status], ['InvalidPartNumber', 416]);
    assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/file', PartNumber: 1, Range: 'bytes=0-1' })))).code, 'InvalidRequest');
    for (const bad of ['0', 'abc', '100000']) {
      const refused = await signedRequest(f, 'alpha', 'GET', `/photos/big/file?partNumber=${bad}`, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
      assert.equal(refused.status, 400, bad);
      assert.match(refused.text, /<Code>InvalidArgument<\/Code>/);
    }
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'single', Body: 'one part' }));
    const onlyPart = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'single', PartNumber: 1 }));
    assert.deepEqual([onlyPart.$metadata.httpStatusCode, onlyPart.PartsCount, await onlyPart.Body!.transformToString()], [200, 1, 'one part']);
    assert.equal((await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'single', PartNumber: 2 })))).code, 'InvalidPartNumber');
    assert.equal((await s3Failure(s3.send(new ListPartsCommand({ Bucket: 'photos', Key: 'big/file', UploadId })))).code, 'NoSuchUpload');

    // Every part but the last is at least 5 MiB.
    const tiny = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'tiny' }));
    const t1 = await s3.send(new UploadPartCommand({ Bucket: 'photos', Key: 'tiny', UploadId: tiny.UploadId, PartNumber: 1, Body: 'small' }));
    const t2 = await s3.send(new UploadPartCommand({ Bucket: 'photos', Key: 'tiny', UploadId: tiny.UploadId, PartNumber: 2, Body: 'small' }));
    const tooSmall = await s3Failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: 'photos', Key: 'tiny', UploadId: tiny.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: t1.ETag }, { PartNumber: 2, ETag: t2.ETag }] } })));
    assert.deepEqual([tooSmall.code, tooSmall.status], ['EntityTooSmall', 400]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'photos', Key: 'tiny', UploadId: tiny.UploadId }));
    assert.equal((await s3Failure(s3.send(new UploadPartCommand({ Bucket: 'photos', Key: 'tiny', UploadId: tiny.UploadId, PartNumber: 3, Body: 'x' })))).code, 'NoSuchUpload');
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'tiny' })))).status, 404);

    // UploadPartCopy takes ranges of an existing object.
    const copy = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'big/copy' }));
    const c1 = await s3.send(new UploadPartCopyCommand({ Bucket: 'photos', Key: 'big/copy', UploadId: copy.UploadId, PartNumber: 1, CopySource: 'photos/big/file', CopySourceRange: `bytes=0-${5 * MiB - 1}` }));
    const c2 = await s3.send(new UploadPartCopyCommand({ Bucket: 'photos', Key: 'big/copy', UploadId: copy.UploadId, PartNumber: 2, CopySource: 'photos/big/file', CopySourceRange: `bytes=${10 * MiB}-${10 * MiB + 7}` }));
    assert.equal(c1.CopyPartResult?.ETag, `"${md5(part1)}"`);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'photos', Key: 'big/copy', UploadId: copy.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: c1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: c2.CopyPartResult!.ETag }] } }));
    const copied = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/copy', Range: `bytes=${5 * MiB - 1}-` }));
    assert.equal(await copied.Body!.transformToString(), 'athe tail');
    const outside = await s3Failure(s3.send(new UploadPartCopyCommand({ Bucket: 'photos', Key: 'big/copy', UploadId: (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'big/copy' }))).UploadId, PartNumber: 1, CopySource: 'photos/digits', CopySourceRange: 'bytes=0-100' })));
    assert.equal(outside.code, 'InvalidRange');
  });

  test('missing buckets and keys answer NoSuchBucket and NoSuchKey; keys and metadata have S3\'s limits', async () => {
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'nope' })))), { code: 'NoSuchKey', status: 404 });
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: 'nope' })))), { code: 'NoSuchBucket', status: 404 });
    assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'nobucket', Key: 'k', Body: 'x' })))).code, 'NoSuchBucket');
    assert.equal((await s3Failure(s3.send(new ListObjectsV2Command({ Bucket: 'nobucket' })))).code, 'NoSuchBucket');
    assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'k'.repeat(1025), Body: 'x' })))).code, 'KeyTooLongError');
    assert.equal((await s3Failure(s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'meta', Body: 'x', Metadata: { big: 'v'.repeat(2100) } })))).code, 'MetadataTooLarge');
    // Deleting a missing key succeeds, as in S3.
    await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'never-was' }));
  });

  test('features outside the subset answer 501 NotImplemented as S3 XML', async () => {
    for (const command of [
      new PutBucketVersioningCommand({ Bucket: 'photos', VersioningConfiguration: { Status: 'Enabled' } }),
      new GetObjectTaggingCommand({ Bucket: 'photos', Key: 'digits' }),
      new PutBucketPolicyCommand({ Bucket: 'photos', Policy: '{}' }),
      new GetBucketAclCommand({ Bucket: 'photos' }),
      new PutObjectCommand({ Bucket: 'photos', Key: 'kms', Body: 'x', ServerSideEncryption: 'aws:kms' }),
    ]) {
      const failure = await s3Failure(s3.send(command as Parameters<S3Client['send']>[0]));
      assert.deepEqual([failure.code, failure.status], ['NotImplemented', 501], command.constructor.name);
    }
    const raw = await signedRequest(f, 'alpha', 'GET', '/photos?acl', { 'x-amz-content-sha256': createHash('sha256').update('').digest('hex') });
    assert.equal(raw.status, 501);
    assert.match(raw.text, /<Error><Code>NotImplemented<\/Code>/);
  });

  test('hostile keys are stored as data and never touch the file system', async () => {
    const hostile = ['../../../etc/passwd', '//double//slash', '/leading', './dot', '..', '.', 'back\\slash', 'ünï/🎉 emoji', 'nul\u0000byte', '%2e%2e/encoded', 'trailing/'];
    for (const Key of hostile) await s3.send(new PutObjectCommand({ Bucket: 'photos', Key, Body: `body of ${Key}` }));
    for (const Key of hostile) assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key }))).Body!.transformToString(), `body of ${Key}`, Key);
    const listed = new Set<string>();
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'photos', ContinuationToken: token, EncodingType: 'url' }));
      for (const c of page.Contents ?? []) listed.add(decodeURIComponent(c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    for (const Key of hostile) assert.ok(listed.has(Key), `listed ${JSON.stringify(Key)}`);
    // On disk: the index and blobs named by random hex ids, nothing else.
    const dir = join(f.daemon.dataDir, 'apps', 'alpha', 'data', 'objects');
    assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('objects.db')).sort(), ['blobs', 'tmp']);
    assert.ok(readdirSync(join(dir, 'blobs')).every((n) => /^[0-9a-f]{32}$/.test(n)));
  });

  test('each app reaches only its own buckets', async () => {
    const beta = f.client('beta');
    assert.deepEqual((await beta.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    assert.equal((await s3Failure(beta.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits' })))).code, 'NoSuchBucket');
    assert.equal((await s3Failure(beta.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'digits' })))).code, 'NoSuchBucket');
    // The same name in another app is another bucket.
    await beta.send(new CreateBucketCommand({ Bucket: 'photos' }));
    await beta.send(new PutObjectCommand({ Bucket: 'photos', Key: 'digits', Body: 'beta' }));
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits' }))).Body!.transformToString(), '0123456789');
    assert.equal(await (await beta.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits' }))).Body!.transformToString(), 'beta');
    // Copying from a bucket of another app finds nothing: names resolve in the caller's namespace.
    await beta.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'digits' }));
    assert.equal((await s3Failure(beta.send(new CopyObjectCommand({ Bucket: 'photos', Key: 'stolen', CopySource: 'photos/digits' })))).code, 'NoSuchKey');
  });

  test('authentication: wrong secret, unknown key, no signature, skewed clock, body hash mismatch', async () => {
    const c = f.credentials('alpha');
    const wrongSecret = new S3Client({ endpoint: f.endpoint, region: c.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: `${c.secretAccessKey.slice(0, -1)}${c.secretAccessKey.endsWith('x') ? 'y' : 'x'}` } });
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(wrongSecret.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits' })))), { code: 'SignatureDoesNotMatch', status: 403 });
    const unknown = new S3Client({ endpoint: f.endpoint, region: c.region, credentials: { accessKeyId: 'PLKAAAAAAAAAAAAAAAAA', secretAccessKey: c.secretAccessKey } });
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(unknown.send(new ListBucketsCommand({})))), { code: 'InvalidAccessKeyId', status: 403 });
    const skewed = new S3Client({ endpoint: f.endpoint, region: c.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, systemClockOffset: -20 * 60_000, maxAttempts: 1 });
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(skewed.send(new ListBucketsCommand({})))), { code: 'RequestTimeTooSkewed', status: 403 });
    for (const client of [wrongSecret, unknown, skewed]) client.destroy();

    const anonymous = await request(`${f.endpoint}/photos/digits`);
    assert.equal(anonymous.statusCode, 403);
    assert.match(await anonymous.body.text(), /<Code>AccessDenied<\/Code>/);
    // Signed for one body, sent with another.
    const mismatch = await signedRequest(f, 'alpha', 'PUT', '/photos/forged', { 'x-amz-content-sha256': createHash('sha256').update('declared').digest('hex') }, 'actual');
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.text, /<Code>XAmzContentSHA256Mismatch<\/Code>/);
    const forgedHeader = await signedRequest(f, 'alpha', 'GET', '/photos/digits', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, undefined, { secret: 'not-the-secret' });
    assert.equal(forgedHeader.status, 403);
    assert.match(forgedHeader.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'forged' })))).status, 404);
  });

  test('aws-chunked bodies: signed chunks are verified one by one, trailers carry checksums', async () => {
    const c = f.credentials('alpha');
    const url = new URL(f.endpoint);
    const chunks = [Buffer.alloc(70_000, 'x'), Buffer.alloc(2 * MiB, 'm'), Buffer.from('end')];
    const decoded = Buffer.concat(chunks);
    const signChunked = async (tamper: boolean) => {
      const signer = new SignatureV4({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, region: c.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
      const date = new Date();
      const signed = await signer.sign({
        method: 'PUT', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/photos/chunked', query: {},
        headers: { host: url.host, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(decoded.length) },
      }, { signingDate: date });
      let previous = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))![1]!;
      const shortDate = date.toISOString().slice(0, 10).replace(/-/g, '');
      const longDate = date.toISOString().replace(/[-:]|\.\d{3}/g, '');
      const scope = `${shortDate}/${c.region}/s3/aws4_request`;
      const key = [shortDate, c.region, 's3', 'aws4_request'].reduce<Buffer>((k, part) => hmac(k, part), Buffer.from(`AWS4${c.secretAccessKey}`));
      const frames: Buffer[] = [];
      for (const chunk of [...chunks, Buffer.alloc(0)]) {
        const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', longDate, scope, previous, createHash('sha256').update('').digest('hex'), createHash('sha256').update(chunk).digest('hex')].join('\n');
        previous = hmac(key, stringToSign).toString('hex');
        // Tampering with the first chunk makes the server refuse while the rest is still on its way.
        const sent = tamper && chunk === chunks[0] ? Buffer.alloc(chunk.length, 'y') : chunk;
        frames.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`), sent, Buffer.from('\r\n'));
      }
      const body = Buffer.concat(frames);
      const response = await request(`${f.endpoint}/photos/chunked`, { method: 'PUT', headers: { ...signed.headers, 'content-length': String(body.length) }, body });
      return { status: response.statusCode, text: await response.body.text() };
    };
    assert.deepEqual(await signChunked(false), { status: 200, text: '' });
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'chunked' }))).Body!.transformToString(), decoded.toString());
    const tampered = await signChunked(true);
    assert.equal(tampered.status, 403);
    assert.match(tampered.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'chunked' }))).Body!.transformToString(), decoded.toString(), 'the refused upload left the object as it was');

    // STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer, right and wrong.
    const { crc32 } = await import('node:zlib');
    const crc = (data: Buffer) => { const b = Buffer.alloc(4); b.writeUInt32BE(crc32(data)); return b.toString('base64'); };
    for (const [value, expected] of [[crc(decoded), 200], [crc(Buffer.from('other')), 400]] as const) {
      const body = Buffer.concat([Buffer.from(`${decoded.length.toString(16)}\r\n`), decoded, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${value}\r\n\r\n`)]);
      const response = await signedRequest(f, 'alpha', 'PUT', '/photos/trailer', {
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32',
        'x-amz-decoded-content-length': String(decoded.length), 'content-length': String(body.length),
      }, body);
      assert.equal(response.status, expected, response.text);
      if (expected === 400) assert.match(response.text, /<Code>BadDigest<\/Code>/);
    }
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'trailer' }))).ContentLength, decoded.length);
  });

  test('x-amz-* headers a request did not sign are refused: a presigned PUT cannot become a copy or change what it pinned', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'private/secret', Body: 'top secret' }));
    const body = 'a user upload';
    const { crc32 } = await import('node:zlib');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    const presigner = f.client('alpha', { requestChecksumCalculation: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: 'photos', Key: 'uploads/u1', Metadata: { owner: 'alice' }, ChecksumSHA256: createHash('sha256').update(body).digest('base64') }), { expiresIn: 60 });
    const smuggled: Record<string, string>[] = [
      { 'x-amz-copy-source': '/photos/private/secret' }, // would store a copy of another key under the presigned one
      { 'x-amz-checksum-crc32': crc.toString('base64') }, // would be checked instead of the pinned SHA-256
      { 'x-amz-meta-owner': 'mallory' }, // contradicts the signed query value
      { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    ];
    for (const headers of smuggled) {
      const response = await request(url, { method: 'PUT', headers, body });
      const text = await response.body.text();
      assert.equal(response.statusCode, 403, text);
      assert.match(text, /<Code>AccessDenied<\/Code>/);
      assert.match(text, new RegExp(`<HeadersNotSigned>${Object.keys(headers)[0]}</HeadersNotSigned>`));
    }
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'uploads/u1' })))).status, 404);
    // Repeating a signed query value as a header changes nothing, so it is allowed.
    const repeated = await request(url, { method: 'PUT', headers: { 'x-amz-meta-owner': 'alice' }, body });
    assert.equal(repeated.statusCode, 200, await repeated.body.text());
    const stored = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'uploads/u1' }));
    assert.deepEqual([await stored.Body!.transformToString(), stored.Metadata], [body, { owner: 'alice' }]);

    // Header auth: with x-amz-content-sha256 unsigned, a captured request could carry any body.
    const replayed = await signedRequest(f, 'alpha', 'PUT', '/photos/replayed', {}, 'tampered body', { unsigned: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    assert.equal(replayed.status, 403);
    assert.match(replayed.text, /<HeadersNotSigned>x-amz-content-sha256<\/HeadersNotSigned>/);
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'replayed' })))).status, 404);

    // A presigned URL may pin its body with a signed x-amz-content-sha256 header; it is checked.
    const c = f.credentials('alpha');
    const endpoint = new URL(f.endpoint);
    const signer = new SignatureV4({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, region: c.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const pin = { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') };
    const pinned = await signer.presign({ method: 'PUT', protocol: 'http:', hostname: endpoint.hostname, port: Number(endpoint.port), path: '/photos/pinned', query: {}, headers: { host: endpoint.host, ...pin } }, { expiresIn: 60, unhoistableHeaders: new Set(Object.keys(pin)) });
    const pinnedUrl = `${f.endpoint}/photos/pinned?${new URLSearchParams(pinned.query as Record<string, string>)}`;
    const wrongBody = await request(pinnedUrl, { method: 'PUT', headers: pin, body: 'another body' });
    assert.equal(wrongBody.statusCode, 400);
    assert.match(await wrongBody.body.text(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
    const rightBody = await request(pinnedUrl, { method: 'PUT', headers: pin, body });
    assert.equal(rightBody.statusCode, 200, await rightBody.body.text());
  });

  test('XML bodies with a document type declaration are MalformedXML, and delete nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'kept', Body: 'kept' }));
    const xml = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY k "kept">]><Delete><Object><Key>&k;</Key></Object></Delete>';
    const response = await signedRequest(f, 'alpha', 'POST', '/photos?delete=', { 'x-amz-content-sha256': createHash('sha256').update(xml).digest('hex'), 'content-md5': createHash('md5').update(xml).digest('base64') }, xml);
    assert.equal(response.status, 400);
    assert.match(response.text, /<Code>MalformedXML<\/Code>/);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'kept' }))).Body!.transformToString(), 'kept');
  });

  test('a deeply nested XML body is MalformedXML (400), not an InternalError, and deletes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'kept', Body: 'kept' }));
    const deep = 100_000;
    const xml = `<Delete><Object><Key>kept</Key></Object>${'<a>'.repeat(deep)}${'</a>'.repeat(deep)}</Delete>`;
    const response = await signedRequest(f, 'alpha', 'POST', '/photos?delete=', { 'x-amz-content-sha256': createHash('sha256').update(xml).digest('hex'), 'content-md5': createHash('md5').update(xml).digest('base64') }, xml);
    assert.equal(response.status, 400, response.text);
    assert.match(response.text, /<Code>MalformedXML<\/Code>/);
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'kept' }))).Body!.transformToString(), 'kept');
  });

  test('an upload that stalls is dropped after the idle timeout and stores nothing', async () => {
    const c = f.credentials('alpha');
    const endpoint = new URL(f.endpoint);
    const signer = new SignatureV4({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, region: c.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const signed = await signer.sign({ method: 'PUT', protocol: 'http:', hostname: endpoint.hostname, path: '/photos/stalled', query: {}, headers: { host: endpoint.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '100' } });
    const socket = connect(f.s3Port, '127.0.0.1');
    const closed = new Promise<string>((resolve) => {
      let answer = '';
      socket.on('data', (data: Buffer) => { answer += data.toString(); });
      socket.on('close', () => resolve(answer));
      socket.on('error', () => undefined);
    });
    socket.write(`PUT /photos/stalled HTTP/1.1\r\n${Object.entries(signed.headers).map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n0123456789`);
    // Bounded: the test fails, rather than hangs, if the server never lets go.
    const bound = new Promise<string>((resolve) => setTimeout(() => resolve('still open'), IDLE_TIMEOUT_MS + 20_000).unref());
    assert.equal(await Promise.race([closed, bound]), '', 'the server closed the connection without an answer');
    socket.destroy();
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'stalled' })))).status, 404);
  });

  test('a presigned PUT signed with a Content-Length accepts only a body of that length', async () => {
    // The SDK's default would also sign a CRC32 of an empty body into the URL (then only an empty body fits).
    const presigner = f.client('alpha', { requestChecksumCalculation: 'WHEN_REQUIRED' });
    const url = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: 'photos', Key: 'sized', ContentLength: 5 }), { expiresIn: 60, signableHeaders: new Set(['content-length']) });
    assert.match(url, /X-Amz-SignedHeaders=content-length%3Bhost/);
    const longer = await request(url, { method: 'PUT', body: 'sixsix' });
    assert.equal(longer.statusCode, 403);
    assert.match(await longer.body.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal((await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'sized' })))).status, 404);
    const exact = await request(url, { method: 'PUT', body: 'five!' });
    assert.equal(exact.statusCode, 200);
    await exact.body.dump();
    assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'sized' }))).Body!.transformToString(), 'five!');
  });

  test('virtual-hosted style on s3.<base host> and path style on the front door', async () => {
    const c = f.credentials('alpha');
    // Node does not resolve *.localhost; this agent sends every name to loopback.
    const lookup = (_host: string, options: { all?: boolean }, callback: (error: null, address: string | { address: string; family: number }[], family?: number) => void) =>
      (options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4));
    const requestHandler = { httpAgent: new HttpAgent({ lookup } as ConstructorParameters<typeof HttpAgent>[0]) };
    // The CLI's credentials name the S3 port here (the fixture sets one); this is the front door's S3 host.
    const frontDoorEndpoint = `http://s3.localhost:${f.daemon.port}`;
    const virtual = new S3Client({
      endpoint: frontDoorEndpoint, region: c.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      requestHandler,
    });
    assert.equal(await (await virtual.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits' }))).Body!.transformToString(), '0123456789');
    const pathStyle = new S3Client({
      endpoint: frontDoorEndpoint, region: c.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, forcePathStyle: true, requestHandler,
    });
    assert.equal(await (await pathStyle.send(new GetObjectCommand({ Bucket: 'photos', Key: 'digits' }))).Body!.transformToString(), '0123456789');
    virtual.destroy();
    pathStyle.destroy();
  });
});

