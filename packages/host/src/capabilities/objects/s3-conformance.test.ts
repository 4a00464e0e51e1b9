import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { s3Failure, startObjectsDaemon, type ObjectsFixture } from '../../testing/objects-fixture.js';

// What Ceph's s3-tests found wrong in the subset Plinth claims (issue 20), each checked with the AWS SDK
// or a raw signed request, against the state the store is left in.
describe('objects: S3 behaviour that Ceph\'s s3-tests checks', () => {
  let f: ObjectsFixture;
  let s3: S3Client;
  before(async () => {
    f = await startObjectsDaemon(['alpha']);
    s3 = f.client('alpha');
    await s3.send(new CreateBucketCommand({ Bucket: 'conformance' }));
  });
  after(() => f.stop());

  const put = (Key: string, Body: string) => s3.send(new PutObjectCommand({ Bucket: 'conformance', Key, Body }));
  const bytesOf = async (Key: string) => (await s3.send(new GetObjectCommand({ Bucket: 'conformance', Key }))).Body!.transformToString();
  const gone = async (Key: string) => (await s3Failure(s3.send(new HeadObjectCommand({ Bucket: 'conformance', Key })))).status === 404;

  test('DeleteObject honours If-Match, x-amz-if-match-size and x-amz-if-match-last-modified-time: a wrong one is 412 and the object stays', async () => {
    const { ETag } = await put('cond/one', 'keep me');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'conformance', Key: 'cond/one' }));
    const wrong = [
      { IfMatch: '"0123456789abcdef0123456789abcdef"' },
      { IfMatchSize: 3 },
      { IfMatchLastModifiedTime: new Date('2015-01-01T00:00:00Z') },
      { IfMatch: ETag, IfMatchSize: 6 },
    ];
    for (const condition of wrong) {
      const failure = await s3Failure(s3.send(new DeleteObjectCommand({ Bucket: 'conformance', Key: 'cond/one', ...condition })));
      assert.deepEqual([failure.code, failure.status], ['PreconditionFailed', 412], JSON.stringify(condition));
      assert.equal(await bytesOf('cond/one'), 'keep me', `${JSON.stringify(condition)} left the object`);
    }
    await s3.send(new DeleteObjectCommand({ Bucket: 'conformance', Key: 'cond/one', IfMatch: ETag, IfMatchSize: 7, IfMatchLastModifiedTime: head.LastModified }));
    assert.ok(await gone('cond/one'));
    await put('cond/star', 'x');
    await s3.send(new DeleteObjectCommand({ Bucket: 'conformance', Key: 'cond/star', IfMatch: '*' }));
    assert.ok(await gone('cond/star'));
    // If-Match asks for an object that exists (AWS: "check if your object exists before deleting it"); size and time do not.
    assert.deepEqual((({ code, status }) => ({ code, status }))(await s3Failure(s3.send(new DeleteObjectCommand({ Bucket: 'conformance', Key: 'cond/never', IfMatch: '*' })))), { code: 'NoSuchKey', status: 404 });
    assert.equal((await s3.send(new DeleteObjectCommand({ Bucket: 'conformance', Key: 'cond/never', IfMatchSize: 3 }))).$metadata.httpStatusCode, 204);
  });

  test('DeleteObjects honours a per-key ETag, Size and LastModifiedTime: a wrong one is a PreconditionFailed entry and the object stays', async () => {
    const a = await put('multi/a', 'aaa');
    await put('multi/b', 'bbb');
    await put('multi/c', 'ccc');
    await put('multi/d', 'ddd');
    const result = await s3.send(new DeleteObjectsCommand({
      Bucket: 'conformance', Delete: {
        Objects: [
          { Key: 'multi/a', ETag: a.ETag },
          { Key: 'multi/b', ETag: '"badetag"' },
          { Key: 'multi/c', Size: 99 },
          { Key: 'multi/d', LastModifiedTime: new Date('2015-01-01T00:00:00Z') },
          { Key: 'multi/missing', ETag: '"badetag"' },
        ],
      },
    }));
    assert.deepEqual(result.Deleted?.map((d) => d.Key), ['multi/a']);
    assert.deepEqual(result.Errors?.map((e) => [e.Key, e.Code]), [['multi/b', 'PreconditionFailed'], ['multi/c', 'PreconditionFailed'], ['multi/d', 'PreconditionFailed'], ['multi/missing', 'NoSuchKey']]);
    assert.ok(await gone('multi/a'));
    assert.deepEqual([await bytesOf('multi/b'), await bytesOf('multi/c'), await bytesOf('multi/d')], ['bbb', 'ccc', 'ddd']);
  });
});
