// The object store driven by real S3 tools from Debian: awscli v2 (/usr/bin/aws) and rclone,
// against the daemon's path-style S3 port with an app's credentials. Every transfer is checked
// by content (SHA-256 on both sides, read back through the AWS SDK), not only by exit code.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startObjectsDaemon, type ObjectCredentials, type ObjectsFixture } from '../../testing/objects-fixture.js';

/** Debian's awscli v2, by absolute path: an `aws` on PATH may be some other install. */
const AWS = '/usr/bin/aws';
const RCLONE = '/usr/bin/rclone';
const MiB = 1024 * 1024;
/** One tool run may take this long before it is killed and the test fails. */
const TOOL_TIMEOUT_MS = 120_000;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }

/** Runs a tool without blocking the event loop; kills it (it is ours) if it outlives the timeout. */
function run(file: string, args: readonly string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, TOOL_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function describeRun(file: string, args: readonly string[], r: Run): string {
  return `${file} ${args.join(' ')} → ${r.timedOut ? `killed after ${TOOL_TIMEOUT_MS} ms` : `exit ${r.code ?? r.signal}`}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array | string) => createHash('md5').update(bytes).digest('hex');

/** Every file under `dir`, by its `/`-separated relative path, with its SHA-256. */
function localHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path).split(sep).join('/')] = sha256(readFileSync(path));
    }
  };
  walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function writeFiles(dir: string, files: Record<string, Buffer | string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

async function bytesOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** Every object under `prefix`, by its key relative to the prefix, with the SHA-256 of its bytes (read through the SDK). */
async function remoteHashes(s3: S3Client, bucket: string, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of listed.Contents ?? []) out[object.Key!.slice(prefix.length)] = sha256(await bytesOf(s3, bucket, object.Key!));
    token = listed.NextContinuationToken;
    if (!listed.IsTruncated) break;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('S3 tools: awscli and rclone against the S3 port', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-s3-tools-'));
  const home = join(work, 'home');
  let fixture: ObjectsFixture;
  let s3: S3Client;
  let credentials: ObjectCredentials;
  let awsEnv: Record<string, string>;
  let rcloneEnv: Record<string, string>;
  const rcloneConfig = join(home, 'rclone.conf');

  before(async () => {
    fixture = await startObjectsDaemon(['tools']);
    s3 = fixture.client('tools');
    credentials = fixture.credentials('tools');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'aws-config'), '');
    // Built from nothing, so no AWS_*, RCLONE_* or user configuration of the machine leaks in.
    const base = { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMPDIR: work };
    awsEnv = {
      ...base, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_DEFAULT_REGION: credentials.region,
      AWS_CONFIG_FILE: join(home, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'aws-config'), AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '',
      PYTHONIOENCODING: 'utf-8',
    };
    writeFileSync(rcloneConfig, [
      '[plinth]', 'type = s3', 'provider = Other', 'env_auth = false', `access_key_id = ${credentials.accessKeyId}`,
      `secret_access_key = ${credentials.secretAccessKey}`, `region = ${credentials.region}`, `endpoint = ${fixture.endpoint}`, 'force_path_style = true', '',
    ].join('\n'));
    rcloneEnv = { ...base, RCLONE_CONFIG: rcloneConfig };
  });
  after(async () => {
    await fixture?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Runs awscli against the endpoint; returns its stdout, failing the test on a non-zero exit. */
  async function aws(...args: string[]): Promise<string> {
    const full = ['--endpoint-url', fixture.endpoint, '--no-cli-pager', ...args];
    const r = await run(AWS, full, awsEnv, work);
    assert.equal(r.code, 0, describeRun('aws', full, r));
    return r.stdout;
  }

  async function rclone(...args: string[]): Promise<Run> {
    return run(RCLONE, ['--config', rcloneConfig, '--retries', '1', '--low-level-retries', '2', ...args], rcloneEnv, work);
  }
  async function rcloneOk(...args: string[]): Promise<string> {
    const r = await rclone(...args);
    assert.equal(r.code, 0, describeRun('rclone', args, r));
    return r.stdout;
  }

  describe('awscli', () => {
    const bucket = 'tools-aws';
    const small = 'hello, plinth\n';
    const big = randomBytes(20 * MiB + 123);

    test('s3 mb, then s3 cp up and down: a small file, and a 20 MiB file that goes multipart', async () => {
      assert.match(await aws('s3', 'mb', `s3://${bucket}`), new RegExp(`make_bucket: ${bucket}`));
      assert.match(await aws('s3', 'ls'), new RegExp(`\\s${bucket}\\n`));
      writeFiles(work, { 'up/small.txt': small, 'up/big.bin': big });
      await aws('s3', 'cp', join(work, 'up/small.txt'), `s3://${bucket}/docs/small.txt`);
      await aws('s3', 'cp', join(work, 'up/big.bin'), `s3://${bucket}/data/big.bin`);

      const smallHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'docs/small.txt' }));
      assert.deepEqual([smallHead.ContentLength, smallHead.ETag, smallHead.ContentType], [Buffer.byteLength(small), `"${md5(small)}"`, 'text/plain']);
      const bigHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'data/big.bin' }));
      assert.equal(bigHead.ContentLength, big.length);
      // awscli's multipart threshold and part size are 8 MiB: 20 MiB goes up in 3 parts.
      assert.match(bigHead.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
      assert.equal(sha256(await bytesOf(s3, bucket, 'data/big.bin')), sha256(big));
      assert.equal((await bytesOf(s3, bucket, 'docs/small.txt')).toString(), small);

      // Down again (awscli fetches a large object in ranged GETs).
      await aws('s3', 'cp', `s3://${bucket}/data/big.bin`, join(work, 'down/big.bin'));
      await aws('s3', 'cp', `s3://${bucket}/docs/small.txt`, join(work, 'down/small.txt'));
      assert.equal(sha256(readFileSync(join(work, 'down/big.bin'))), sha256(big));
      assert.equal(readFileSync(join(work, 'down/small.txt'), 'utf8'), small);
    });

    test('s3 ls: the bucket root, a prefix, a partial prefix, and --recursive', async () => {
      const root = await aws('s3', 'ls', `s3://${bucket}/`);
      assert.match(root, /^\s+PRE data\/$/m);
      assert.match(root, /^\s+PRE docs\/$/m);
      assert.equal(root.trim().split('\n').length, 2, root);
      const data = await aws('s3', 'ls', `s3://${bucket}/data/`);
      assert.match(data, new RegExp(`^\\S+ \\S+\\s+${big.length} big\\.bin$`, 'm'));
      assert.equal(data.trim().split('\n').length, 1, data);
      const partial = await aws('s3', 'ls', `s3://${bucket}/do`);
      assert.equal(partial.trim(), 'PRE docs/');
      const recursive = await aws('s3', 'ls', `s3://${bucket}`, '--recursive');
      const entries = recursive.trim().split('\n').map((line) => line.trim().split(/\s+/).slice(2));
      assert.deepEqual(entries, [[String(big.length), 'data/big.bin'], [String(Buffer.byteLength(small)), 'docs/small.txt']]);
    });

    test('s3api head-object and list-objects-v2 on a key with spaces, unicode and reserved characters', async () => {
      const key = 'reports 2026/Ünïcødé naïve café + plus & amp = 100% (1) 📦.txt';
      const content = `content of ${key}\n`;
      writeFiles(work, { 'odd.txt': content });
      const put = JSON.parse(await aws('s3api', 'put-object', '--bucket', bucket, '--key', key, '--body', join(work, 'odd.txt'))) as { ETag: string };
      assert.equal(put.ETag, `"${md5(content)}"`);
      const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', bucket, '--key', key)) as { ContentLength: number; ETag: string };
      assert.deepEqual([head.ContentLength, head.ETag], [Buffer.byteLength(content), `"${md5(content)}"`]);
      const listed = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'reports 2026/')) as { Contents: { Key: string; Size: number; ETag: string }[] };
      assert.deepEqual(listed.Contents.map((o) => [o.Key, o.Size, o.ETag]), [[key, Buffer.byteLength(content), `"${md5(content)}"`]]);
      const delimited = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', bucket, '--delimiter', '/')) as { CommonPrefixes: { Prefix: string }[]; Contents?: unknown[] };
      assert.deepEqual(delimited.CommonPrefixes.map((p) => p.Prefix), ['data/', 'docs/', 'reports 2026/']);
      assert.equal(delimited.Contents, undefined);
      // The SDK reads the same key's bytes; s3 ls shows its name; s3 cp brings it down.
      assert.equal((await bytesOf(s3, bucket, key)).toString(), content);
      assert.match(await aws('s3', 'ls', `s3://${bucket}/reports 2026/`), /Ünïcødé naïve café \+ plus & amp = 100% \(1\) 📦\.txt$/m);
      await aws('s3', 'cp', `s3://${bucket}/${key}`, join(work, 'odd-down.txt'));
      assert.equal(readFileSync(join(work, 'odd-down.txt'), 'utf8'), content);
    });

    test('s3api delete-objects deletes exactly the keys named, leading and trailing spaces included', async () => {
      const keys = ['padded/x', ' padded/x', 'padded/x ', '  padded/x  ', 'padded/keep'];
      for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `<${key}>` }));
      const doomed = [' padded/x', 'padded/x ', '  padded/x  '];
      const answer = JSON.parse(await aws('s3api', 'delete-objects', '--bucket', bucket, '--delete', JSON.stringify({ Objects: doomed.map((Key) => ({ Key })) }))) as { Deleted: { Key: string }[]; Errors?: unknown[] };
      assert.deepEqual(answer.Deleted.map((d) => d.Key).sort(), [...doomed].sort());
      assert.equal(answer.Errors, undefined);
      const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const padded = (left.Contents ?? []).map((o) => o.Key!).filter((k) => k.includes('padded'));
      assert.deepEqual(padded, ['padded/keep', 'padded/x']);
      assert.equal((await bytesOf(s3, bucket, 'padded/x')).toString(), '<padded/x>', 'the unpadded key was not touched');
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'padded/x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'padded/keep' }));
    });

    test('s3 sync up and down: adds, changes and --delete, checked by hash on both sides', async () => {
      const src = join(work, 'sync-src');
      writeFiles(src, {
        'a.txt': 'first version of a\n', 'b.bin': randomBytes(MiB), 'nested/c.txt': 'c\n', 'nested/deeper/d.json': '{"d":1}\n', 'with space.txt': 'spaced\n',
      });
      await aws('s3', 'sync', src, `s3://${bucket}/sync/`);
      assert.deepEqual(await remoteHashes(s3, bucket, 'sync/'), localHashes(src));
      assert.equal((await aws('s3', 'sync', src, `s3://${bucket}/sync/`)).trim(), '', 'a second sync with nothing changed transfers nothing');

      writeFiles(src, { 'a.txt': 'second, longer version of a\n', 'nested/new.txt': 'new\n' });
      rmSync(join(src, 'b.bin'));
      const up = await aws('s3', 'sync', src, `s3://${bucket}/sync/`, '--delete');
      assert.match(up, new RegExp(`delete: s3://${bucket}/sync/b\\.bin`));
      assert.match(up, /upload: .*a\.txt/);
      assert.match(up, /upload: .*new\.txt/);
      assert.doesNotMatch(up, /c\.txt|d\.json|with space/, 'unchanged files are not sent again');
      const remote = await remoteHashes(s3, bucket, 'sync/');
      assert.deepEqual(remote, localHashes(src));
      assert.equal(remote['b.bin'], undefined);

      const dst = join(work, 'sync-dst');
      await aws('s3', 'sync', `s3://${bucket}/sync/`, dst);
      assert.deepEqual(localHashes(dst), remote);

      // Changed on the server: one added, one rewritten (another size), one deleted.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sync/nested/remote-only.txt', Body: 'made by the SDK\n' }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sync/with space.txt', Body: 'spaced, and rewritten by the SDK\n' }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'sync/nested/c.txt' }));
      const down = await aws('s3', 'sync', `s3://${bucket}/sync/`, dst, '--delete');
      assert.match(down, /delete: .*c\.txt/);
      const changed = await remoteHashes(s3, bucket, 'sync/');
      assert.deepEqual(localHashes(dst), changed);
      assert.equal(readFileSync(join(dst, 'with space.txt'), 'utf8'), 'spaced, and rewritten by the SDK\n');
      assert.deepEqual(Object.keys(changed), ['a.txt', 'nested/deeper/d.json', 'nested/new.txt', 'nested/remote-only.txt', 'with space.txt']);
    });

    test('s3 rm --recursive removes a prefix and nothing else; rb --force empties and removes the bucket', async () => {
      const removed = await aws('s3', 'rm', `s3://${bucket}/sync/`, '--recursive');
      assert.equal(removed.trim().split('\n').filter((line) => line.startsWith('delete: ')).length, 5, removed);
      assert.deepEqual(await remoteHashes(s3, bucket, 'sync/'), {});
      const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.deepEqual(left.Contents?.map((o) => o.Key), ['data/big.bin', 'docs/small.txt', 'reports 2026/Ünïcødé naïve café + plus & amp = 100% (1) 📦.txt']);
      await aws('s3', 'rb', `s3://${bucket}`, '--force');
      assert.doesNotMatch(await aws('s3', 'ls'), new RegExp(bucket));
    });
  });

  describe('rclone', () => {
    const bucket = 'tools-rclone';
    const remote = `plinth:${bucket}`;
    const copySrc = join(work, 'rclone-copy');
    const files = {
      'small.txt': 'small file for rclone\n', 'nested/one.bin': randomBytes(300_000), 'nested/deeper/two.txt': 'two\n',
      'spaced name ü.txt': 'unicode and a space\n', 'large.bin': randomBytes(12 * MiB + 5),
    };
    /** Multipart from 5 MiB, in 5 MiB parts (rclone's default cut-off is 200 MiB). */
    const multipart = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'];

    test('copy up (one file multipart), then ls, lsjson and check agree with the local files', async () => {
      await rcloneOk('mkdir', remote);
      writeFiles(copySrc, files);
      await rcloneOk('copy', copySrc, `${remote}/copy`, ...multipart);
      assert.deepEqual(await remoteHashes(s3, bucket, 'copy/'), localHashes(copySrc));
      const large = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy/large.bin' }));
      assert.match(large.ETag ?? '', /^"[0-9a-f]{32}-3"$/, 'large.bin went up in three parts');

      const ls = (await rcloneOk('ls', `${remote}/copy`)).trim().split('\n').map((line) => /^\s*(\d+) (.+)$/.exec(line)!.slice(1));
      assert.deepEqual(Object.fromEntries(ls.map(([size, path]) => [path, Number(size)])), Object.fromEntries(Object.entries(files).map(([path, c]) => [path, Buffer.byteLength(c)])));
      const json = JSON.parse(await rcloneOk('lsjson', '-R', '--hash', '--files-only', `${remote}/copy`)) as { Path: string; Size: number; IsDir: boolean; Hashes?: { md5?: string; MD5?: string } }[];
      const listed = Object.fromEntries(json.map((e) => [e.Path, [e.Size, e.Hashes?.md5 ?? e.Hashes?.MD5]]));
      assert.deepEqual(listed, Object.fromEntries(Object.entries(files).map(([path, c]) => [path, [Buffer.byteLength(c), md5(c)]])));

      await rcloneOk('check', copySrc, `${remote}/copy`);
      // check really compares: a remote file with the same size and other bytes is reported.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/small.txt', Body: 'SMALL FILE FOR RCLONE\n' }));
      const mismatch = await rclone('check', copySrc, `${remote}/copy`);
      assert.equal(mismatch.code, 1, describeRun('rclone', ['check'], mismatch));
      assert.match(mismatch.stderr, /small\.txt/);
      assert.match(mismatch.stderr, /1 differences found/);
      // rclone copy down, and the copy is byte for byte what the server holds.
      const down = join(work, 'rclone-down');
      await rcloneOk('copy', `${remote}/copy`, down);
      assert.deepEqual(localHashes(down), await remoteHashes(s3, bucket, 'copy/'));
      assert.equal(readFileSync(join(down, 'small.txt'), 'utf8'), 'SMALL FILE FOR RCLONE\n');
    });

    test('sync up and down with changes and deletions, verified by hash and by check', async () => {
      const src = join(work, 'rclone-sync-src');
      writeFiles(src, { 'keep.txt': 'keep\n', 'change.txt': 'before\n', 'gone.txt': 'to be deleted\n', 'dir/inner.bin': randomBytes(200_000), 'big.bin': randomBytes(11 * MiB) });
      await rcloneOk('sync', src, `${remote}/sync`, ...multipart);
      assert.deepEqual(await remoteHashes(s3, bucket, 'sync/'), localHashes(src));

      writeFiles(src, { 'change.txt': 'after, and longer\n', 'added/new.txt': 'new\n', 'big.bin': randomBytes(6 * MiB) });
      rmSync(join(src, 'gone.txt'));
      await rcloneOk('sync', src, `${remote}/sync`, ...multipart);
      const up = await remoteHashes(s3, bucket, 'sync/');
      assert.deepEqual(up, localHashes(src));
      assert.equal(up['gone.txt'], undefined);
      await rcloneOk('check', src, `${remote}/sync`);

      const dst = join(work, 'rclone-sync-dst');
      writeFiles(dst, { 'stray.txt': 'only local: sync removes it\n' });
      await rcloneOk('sync', `${remote}/sync`, dst);
      assert.deepEqual(localHashes(dst), up);

      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sync/from-server.txt', Body: 'put by the SDK\n' }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sync/keep.txt', Body: 'keep, rewritten by the SDK\n' }));
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'sync/dir/inner.bin' }));
      await rcloneOk('sync', `${remote}/sync`, dst);
      const server = await remoteHashes(s3, bucket, 'sync/');
      assert.deepEqual(localHashes(dst), server);
      assert.deepEqual(Object.keys(server), ['added/new.txt', 'big.bin', 'change.txt', 'from-server.txt', 'keep.txt']);
      assert.equal(readFileSync(join(dst, 'keep.txt'), 'utf8'), 'keep, rewritten by the SDK\n');
      await rcloneOk('check', dst, `${remote}/sync`);

      await rcloneOk('purge', remote);
      assert.doesNotMatch(await rcloneOk('lsd', 'plinth:'), new RegExp(bucket));
    });
  });
});
