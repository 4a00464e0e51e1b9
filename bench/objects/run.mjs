#!/usr/bin/env node
// Object store benchmark: Plinth's S3 endpoint vs. s3rver (and Scality CloudServer when it
// installs), all driven by the same client, @aws-sdk/client-s3 (path-style, us-east-1, one
// keep-alive agent, no retries), one target at a time, each with its own temporary folder.
// For each target:
// 1. compatibility checks, untimed: the SDK's default CRC32 checksums (a header on buffers,
//    aws-chunked with a trailer on streams), UNSIGNED-PAYLOAD streams, HEAD/ETag, Range, missing
//    keys, delimiters, DELETE, a small multipart upload, a presigned GET, a wrong secret;
// 2. sequential PUT then GET of 4 KiB, 1 MiB and 64 MiB objects (bounded in count and time):
//    ops/s or MiB/s, p50 and p99 latency, server CPU per operation;
// 3. a bucket filled with 10,000 small objects, 32 PUTs at once (ops/s), then full
//    ListObjectsV2 listings of it, 1,000 keys a page (keys/s, p50 per listing);
// 4. a 1 GiB object streamed from a file with one PutObject, back to a file with GetObject (then
//    compared with `cmp`), and uploaded again as a multipart upload (@aws-sdk/lib-storage,
//    16 MiB parts, 4 at once); compared with `cp` of the same file on the same disk (target:
//    Plinth within 2× of cp), with the server's peak RSS while streaming.
// The null server (bench/objects/null-s3.mjs: no signature checks, nothing on disk) runs the same
// rows: the client's ceiling on these 2 cores, which no server can beat with this client; where
// s3rver is already above half of it, 2× s3rver cannot be reached.
// Prints one table with Plinth / s3rver, Plinth / CloudServer and Plinth / null for every row
// (target ≥ 2× s3rver on every row). CloudServer (npm `@zenko/cloudserver`) is installed on demand into
// bench/.cache/cloudserver (gitignored); when the install or start fails, it is skipped with the
// reason. Plinth is skipped when packages/host/dist/capabilities/objects/ is not built.
//
//   npm run build && node bench/objects/run.mjs [--quick] [--only plinth,s3rver,cloudserver,null]
//     [--big-mib 1024] [--list-keys 10000] [--checksums required|supported] [--cpu-prof]
//     [--json FILE]
//
//   --quick       smaller counts and time limits, 2,000 listed keys, a 256 MiB big object (~2 min)
//   --only        the targets to run, comma-separated (default: all four)
//   --big-mib     size of the streamed object (default 1024; 256 with --quick)
//   --list-keys   keys in the listed bucket (default 10000; 2000 with --quick)
//   --checksums   the timed client's requestChecksumCalculation/responseChecksumValidation:
//                 `required` (default: signed payloads on buffers, UNSIGNED-PAYLOAD on streams,
//                 which every target speaks) or `supported` (the SDK's own default: CRC32 on
//                 every PUT, aws-chunked streams, checked GETs; s3rver may not speak it)
//   --cpu-prof    profile the Plinth daemon: its hot spots over the run and within each row
//
// A default run takes 4–6 minutes on 2 cores and needs ~4 GiB of free disk in the temp folder.
// Loopback only; every process started here is stopped on the way out, also on failure or Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { accounted, adopt, freePort, gitCommit, log, parseOptionsOrExit, percentile, runAndExit, start, stop, summariseProfile, tempDir, treeMemoryKiB, waitQuiet, writeJson } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const PLINTH_OBJECTS = join(ROOT, 'packages/host/dist/capabilities/objects/index.js');
const ECHO_APP = join(ROOT, 'packages/host/test-apps/echo');
const S3RVER_BIN = join(ROOT, 'node_modules/s3rver/bin/s3rver.js');
const CLOUDSERVER_CACHE = join(ROOT, 'bench/.cache/cloudserver');
const CLOUDSERVER_PACKAGE = '@zenko/cloudserver';
const CLOUDSERVER_DIR = join(CLOUDSERVER_CACHE, 'node_modules', CLOUDSERVER_PACKAGE);
const STEP_TIMEOUT_MS = 30_000;
const KiB = 1024;
const MiB = 1024 * KiB;
const ALL_TARGETS = ['plinth', 's3rver', 'cloudserver', 'null'];
const LABELS = { plinth: 'Plinth', s3rver: 's3rver', cloudserver: 'CloudServer', null: 'null server' };
const NULL_S3 = join(ROOT, 'bench/objects/null-s3.mjs');

const opts = parseOptionsOrExit(import.meta.url, {
  quick: { type: 'boolean', default: false },
  only: { type: 'string', default: ALL_TARGETS.join(',') },
  'big-mib': { type: 'string' },
  'list-keys': { type: 'string' },
  checksums: { type: 'string', default: 'required' },
  'cpu-prof': { type: 'boolean', default: false },
  json: { type: 'string' },
});
const QUICK = opts.quick;
const ONLY = opts.only.split(',').map((s) => s.trim()).filter(Boolean);
for (const t of ONLY) if (!ALL_TARGETS.includes(t)) { process.stderr.write(`--only: unknown target ${t} (${ALL_TARGETS.join(', ')})\n`); process.exit(2); }
const BIG_MIB = int('big-mib', QUICK ? 256 : 1024, 16, 16 * 1024);
const LIST_KEYS = int('list-keys', QUICK ? 2_000 : 10_000, 100, 100_000);
if (!['required', 'supported'].includes(opts.checksums)) { process.stderr.write('--checksums must be required or supported\n'); process.exit(2); }
const CHECKSUMS = opts.checksums === 'required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
function int(name, dflt, min, max) {
  if (opts[name] === undefined) return dflt;
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max) { process.stderr.write(`--${name} must be an integer ${min}..${max}\n`); process.exit(2); }
  return n;
}

/** The sized rows: count and time bounds of each (PUT and GET alike), and warm-up operations. */
const SIZES = [
  { id: '4k', label: '4 KiB', bytes: 4 * KiB, unit: 'ops/s', maxOps: QUICK ? 300 : 2_000, maxMs: QUICK ? 2_000 : 8_000, warmup: QUICK ? 20 : 50 },
  { id: '1m', label: '1 MiB', bytes: MiB, unit: 'MiB/s', maxOps: QUICK ? 60 : 400, maxMs: QUICK ? 2_000 : 8_000, warmup: 5 },
  { id: '64m', label: '64 MiB', bytes: 64 * MiB, unit: 'MiB/s', maxOps: QUICK ? 3 : 12, maxMs: QUICK ? 5_000 : 15_000, warmup: 1 },
];
const FILL_CONCURRENCY = 32;
const FILL_BYTES = 64;
const FILL_MAX_MS = 240_000;
const LIST_PAGE = 1_000;
const LIST_MAX = QUICK ? 2 : 5;
const LIST_MAX_MS = QUICK ? 5_000 : 15_000;
const BIG_OP_TIMEOUT_MS = 300_000;
const MULTIPART_PART = 16 * MiB;
const MULTIPART_QUEUE = 4;

const require = createRequire(join(ROOT, 'package.json'));
// The SDK warns once that it will need Node 22 from 2027; that is not this bench's news.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => { if (!String(warning?.message ?? warning).startsWith('NodeVersionSupportWarning')) emitWarning(warning, ...rest); };
const S3 = require('@aws-sdk/client-s3');
const { Upload } = require('@aws-sdk/lib-storage');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');
const { NodeHttpHandler } = require('@smithy/node-http-handler');

// ---------------------------------------------------------------- helpers

// lib.mjs stops every process on these signals; the loops here stop sending too, so the daemon's drain is short.
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { interrupted = true; });
const checkInterrupted = () => { if (interrupted) throw new Error('interrupted'); };

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtRate = (n) => (n >= 100 ? fmtInt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtMs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 100 ? `${ms.toFixed(2)} ms` : ms < 10_000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`);
const errText = (error) => {
  const status = error?.$metadata?.httpStatusCode;
  return `${error?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${String(error?.message ?? error).split('\n')[0].slice(0, 200)}`;
};

function canConnect(port) {
  return new Promise((r) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); r(true); });
    s.on('error', () => r(false));
  });
}

/** The status of a GET with a given Host header (fetch() cannot set Host). */
function httpStatus(port, host, path, timeoutMs = 1_000) {
  return new Promise((resolveStatus, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: timeoutMs }, (res) => { res.resume(); resolveStatus(res.statusCode); });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(what, check, handle, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (handle && (handle.child.exitCode !== null || handle.child.signalCode !== null)) throw new Error(`${handle.name} exited while waiting for ${what}:\n${handle.output().slice(-4000)}`);
    try { if (await check()) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${handle ? `:\n${handle.output().slice(-4000)}` : ''}`);
}

/** lib.mjs's start(), in folder `cwd`. */
function startIn(cwd, command, args, { env = process.env, name = command } = {}) {
  return adopt(spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), name);
}

/** Runs a command to completion (without blocking the event loop, so Ctrl-C still cleans up). */
async function run(command, args, { env = process.env, cwd, timeoutMs = 60_000, name = command } = {}) {
  const handle = startIn(cwd, command, args, { env, name });
  const timer = setTimeout(() => stop(handle, 2_000), timeoutMs);
  const { code, signal } = await handle.exited;
  clearTimeout(timer);
  return { code, signal, output: handle.output() };
}

/** The S3 client every target gets: the same settings, one keep-alive agent, no retries. */
function makeClient(target, { checksums = CHECKSUMS, credentials = target.credentials } = {}) {
  return new S3.S3Client({
    endpoint: target.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      connectionTimeout: 5_000,
      requestTimeout: 120_000,
    }),
  });
}

/** Reads a GetObject body to the end, counting bytes (no copy into one buffer). */
async function drain(body) {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

async function bodyBuffer(body) {
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function ensureBucket(client, bucket) {
  try {
    await client.send(new S3.CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (error?.name !== 'BucketAlreadyOwnedByYou' && error?.name !== 'BucketAlreadyExists') throw error;
  }
}

/** Untimed clean-up: DeleteObjects, else one DeleteObject at a time (s3rver's DeleteObjects races with itself on shared folders and answers 500). */
async function deleteKeys(client, bucket, keys) {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    try {
      const res = await client.send(new S3.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      if (!res.Errors?.length) continue;
    } catch { /* one at a time below */ }
    for (const Key of batch) await client.send(new S3.DeleteObjectCommand({ Bucket: bucket, Key }));
  }
}

/** Samples the server tree's RSS every 200 ms while `fn` runs: the peak, in MiB. */
async function withRssPeak(pid, fn) {
  const before = treeMemoryKiB(pid).rssKiB;
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, treeMemoryKiB(pid).rssKiB); }, 200);
  try {
    const result = await fn();
    peak = Math.max(peak, treeMemoryKiB(pid).rssKiB);
    return { result, rssBeforeMiB: before / 1024, rssPeakMiB: peak / 1024 };
  } finally {
    clearInterval(timer);
  }
}

/** Sequential operations until `maxOps` or `maxMs`, after `warmup` untimed ones; latencies in ms. */
async function sequential({ maxOps, maxMs, warmup }, op) {
  for (let i = 0; i < warmup; i++) { checkInterrupted(); await op(i, true); }
  const lat = [];
  const begun = performance.now();
  while (lat.length < maxOps && performance.now() - begun < maxMs) {
    checkInterrupted();
    const t0 = performance.now();
    await op(lat.length, false);
    lat.push(performance.now() - t0);
  }
  return { n: lat.length, wallMs: performance.now() - begun, lat: lat.sort((a, b) => a - b) };
}

/** One row's figures from an accounted() run of sequential(). */
function figures(acc, bytesPerOp, unit) {
  const { n, wallMs, lat } = acc.result;
  const serverMs = Object.values(acc.server).reduce((a, b) => a + b, 0);
  const opsPerSecond = (n / wallMs) * 1000;
  return {
    value: unit === 'MiB/s' ? (opsPerSecond * bytesPerOp) / MiB : opsPerSecond,
    unit, n, wallMs, opsPerSecond, p50Ms: percentile(lat, 50), p99Ms: percentile(lat, 99),
    serverCpuMsPerOp: serverMs / n, clientCpuMsPerOp: acc.selfMs / n, serverCpu: acc.server, otherCores: acc.otherCores,
  };
}

// ---------------------------------------------------------------- targets

/** Plinth: the daemon with its S3 port, the echo test app owning the buckets, its credentials from the CLI. */
async function startPlinth(profDir) {
  if (!existsSync(PLINTH_OBJECTS)) throw new Error(`${PLINTH_OBJECTS.replace(`${ROOT}/`, '')} is not built (npm run build; the object store may not have landed yet)`);
  const port = await freePort();
  const s3Port = await freePort();
  const dataDir = tempDir('plinth-objbench-');
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '', PLINTH_S3_PORT: String(s3Port),
  };
  const daemon = start(process.execPath, [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), CLI, 'serve'], { env, name: 'plinth daemon' });
  await waitFor('the daemon to listen', async () => (await httpStatus(port, `localhost:${port}`, '/.well-known/jwks.json')) === 200, daemon);
  await waitFor(`the S3 port ${s3Port}`, () => canConnect(s3Port), daemon);
  const install = await run(process.execPath, [CLI, 'install', ECHO_APP, '--url', `http://localhost:${port}`], { env, name: 'plinth install' });
  if (install.code !== 0) throw new Error(`plinth install echo failed:\n${install.output}`);
  const creds = await run(process.execPath, [CLI, 'objects', 'credentials', 'echo', '--json', '--url', `http://localhost:${port}`], { env, name: 'plinth objects credentials' });
  if (creds.code !== 0) throw new Error(`plinth objects credentials echo --json failed:\n${creds.output}`);
  let c;
  try { c = JSON.parse(creds.output.slice(creds.output.indexOf('{'))); } catch { throw new Error(`plinth objects credentials printed no JSON:\n${creds.output}`); }
  if (!c.accessKeyId || !c.secretAccessKey) throw new Error(`plinth objects credentials: no accessKeyId/secretAccessKey in ${creds.output}`);
  return {
    id: 'plinth', handle: daemon, pid: daemon.child.pid, endpoint: `http://127.0.0.1:${s3Port}`, dataDir,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
    note: `daemon on :${port}, S3 on :${s3Port} (the CLI said endpoint ${c.endpoint}, region ${c.region}), app echo`,
  };
}

/** s3rver 3 as a child process (so its CPU is accounted like a daemon's), files in a temporary folder. */
async function startS3rver() {
  const port = await freePort();
  const dataDir = tempDir('s3rver-objbench-');
  // --openssl-legacy-provider: s3rver makes ListObjectsV2 continuation tokens with DES, which
  // OpenSSL 3 only has in its legacy provider (without it, every truncated listing is a 500).
  const handle = start(process.execPath, ['--openssl-legacy-provider', S3RVER_BIN, '-d', dataDir, '-a', '127.0.0.1', '-p', String(port), '--silent'], { name: 's3rver' });
  await waitFor('s3rver to listen', () => canConnect(port), handle);
  const version = JSON.parse(readFileSync(join(ROOT, 'node_modules/s3rver/package.json'), 'utf8')).version;
  return {
    id: 's3rver', handle, pid: handle.child.pid, endpoint: `http://127.0.0.1:${port}`, dataDir,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, note: `s3rver ${version} on :${port}`,
  };
}

/**
 * Scality CloudServer, installed on demand into bench/.cache/cloudserver. Its npm release
 * (8.0.0-beta) depends on Scality's GitHub repositories (arsenal, werelogs, vaultclient, …), not
 * on npm packages, so the install needs GitHub; the reason is printed when it fails. When it
 * installs, it runs with its file back end: metadata server, data server and S3 server.
 */
async function startCloudserver() {
  if (!existsSync(join(CLOUDSERVER_DIR, 'index.js'))) {
    log(`      installing ${CLOUDSERVER_PACKAGE} into ${CLOUDSERVER_CACHE.replace(`${ROOT}/`, '')} (once)…`);
    mkdirSync(CLOUDSERVER_CACHE, { recursive: true });
    const install = await run('npm', ['install', '--prefix', CLOUDSERVER_CACHE, '--no-audit', '--no-fund', '--no-save', CLOUDSERVER_PACKAGE], { timeoutMs: 600_000, name: 'npm install cloudserver' });
    if (install.code !== 0 || !existsSync(join(CLOUDSERVER_DIR, 'index.js'))) {
      const lines = install.output.split('\n').filter((l) => /npm error (command|code|.*(resolve|ENOTFOUND|ETARGET|404|git))/i.test(l)).slice(0, 4);
      throw new Error(`npm install ${CLOUDSERVER_PACKAGE} failed (exit ${install.code ?? install.signal}): ${lines.join(' | ') || install.output.trim().split('\n').slice(-3).join(' | ')}`
        + (/github\.com|git ls-remote/.test(install.output) ? ` — its dependencies are GitHub repositories (scality/Arsenal, werelogs, vaultclient, …), and only the npm registry is reachable here` : ''));
    }
  }
  const port = await freePort();
  const dir = tempDir('cloudserver-objbench-');
  const config = JSON.parse(readFileSync(join(CLOUDSERVER_DIR, 'config.json'), 'utf8'));
  config.port = port;
  config.listenOn = [`127.0.0.1:${port}`];
  if (config.metadataDaemon) config.metadataDaemon = { ...config.metadataDaemon, bindAddress: '127.0.0.1', port: await freePort() };
  if (config.dataDaemon) config.dataDaemon = { ...config.dataDaemon, bindAddress: '127.0.0.1', port: await freePort() };
  if (config.metadataClient) config.metadataClient = { ...config.metadataClient, host: '127.0.0.1', port: config.metadataDaemon?.port ?? config.metadataClient.port };
  if (config.dataClient) config.dataClient = { ...config.dataClient, host: '127.0.0.1', port: config.dataDaemon?.port ?? config.dataClient.port };
  if (config.recordLog) config.recordLog = { ...config.recordLog, enabled: false };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'metadata'));
  const env = { ...process.env, S3BACKEND: 'file', S3DATAPATH: join(dir, 'data'), S3METADATAPATH: join(dir, 'metadata'), S3_CONFIG_FILE: join(dir, 'config.json'), REMOTE_MANAGEMENT_DISABLE: '1', S3_LOCATION_FILE: join(CLOUDSERVER_DIR, 'locationConfig.json') };
  const servers = [];
  for (const script of ['mdserver.js', 'dataserver.js']) if (existsSync(join(CLOUDSERVER_DIR, script))) servers.push(startIn(CLOUDSERVER_DIR, process.execPath, [join(CLOUDSERVER_DIR, script)], { env, name: `cloudserver ${script}` }));
  const s3 = startIn(CLOUDSERVER_DIR, process.execPath, [join(CLOUDSERVER_DIR, 'index.js')], { env, name: 'cloudserver' });
  await waitFor('CloudServer to listen', () => canConnect(port), s3, 60_000);
  const version = JSON.parse(readFileSync(join(CLOUDSERVER_DIR, 'package.json'), 'utf8')).version;
  return {
    id: 'cloudserver', handle: s3, extra: servers, pid: s3.child.pid, extraPids: servers.map((h) => h.child.pid), endpoint: `http://127.0.0.1:${port}`, dataDir: dir,
    credentials: { accessKeyId: 'accessKey1', secretAccessKey: 'verySecretKey1' }, note: `CloudServer ${version} on :${port} (file back end)`,
  };
}

/** The client's ceiling: bench/objects/null-s3.mjs, a server that does nothing (no signatures, no disk). */
async function startNull(files) {
  const port = await freePort();
  const handle = start(process.execPath, [NULL_S3, String(port)], { env: { ...process.env, NULL_S3_BIG_FILE: files.src }, name: 'null server' });
  await waitFor('the null server to listen', () => canConnect(port), handle);
  return {
    id: 'null', handle, pid: handle.child.pid, endpoint: `http://127.0.0.1:${port}`, noCompatibility: true,
    credentials: { accessKeyId: 'null', secretAccessKey: 'null' }, note: `bench/objects/null-s3.mjs on :${port} (checks nothing, stores nothing on disk)`,
  };
}

async function stopTarget(target) {
  await stop(target.handle);
  for (const h of target.extra ?? []) await stop(h);
}

// ---------------------------------------------------------------- compatibility checks (untimed)

async function compatibility(target) {
  const req = makeClient(target, { checksums: 'WHEN_REQUIRED' });
  const sdk = makeClient(target, { checksums: 'WHEN_SUPPORTED' });
  const bucket = 'bench-compat';
  const body = randomBytes(300 * KiB);
  const md5 = createHash('md5').update(body).digest('hex');
  const streamFile = join(tempDir(`objbench-compat-${target.id}-`), 'body');
  writeFileSync(streamFile, body);
  const equal = (buf, what) => { if (!Buffer.isBuffer(buf) || !buf.equals(body)) throw new Error(`${what}: the body read back differs (${buf?.length} bytes, ${body.length} written)`); };
  const checks = [
    ['CreateBucket, ListBuckets', async () => {
      await ensureBucket(req, bucket);
      const { Buckets } = await req.send(new S3.ListBucketsCommand({}));
      if (!Buckets?.some((b) => b.Name === bucket)) throw new Error(`ListBuckets does not show ${bucket}`);
    }],
    ['PUT buffer, signed payload; GET equal', async () => {
      await req.send(new S3.PutObjectCommand({ Bucket: bucket, Key: 'signed', Body: body }));
      equal(await bodyBuffer((await req.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'signed' }))).Body), 'GET');
    }],
    ['PUT stream, UNSIGNED-PAYLOAD; GET equal', async () => {
      await req.send(new S3.PutObjectCommand({ Bucket: bucket, Key: 'unsigned', Body: createReadStream(streamFile), ContentLength: body.length }));
      equal(await bodyBuffer((await req.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'unsigned' }))).Body), 'GET');
    }],
    ['SDK defaults: PUT buffer with x-amz-checksum-crc32; checked GET', async () => {
      await sdk.send(new S3.PutObjectCommand({ Bucket: bucket, Key: 'crc-buffer', Body: body }));
      equal(await bodyBuffer((await sdk.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'crc-buffer', ChecksumMode: 'ENABLED' }))).Body), 'GET');
    }],
    ['SDK defaults: PUT stream, aws-chunked + CRC32 trailer; GET equal', async () => {
      await sdk.send(new S3.PutObjectCommand({ Bucket: bucket, Key: 'crc-stream', Body: createReadStream(streamFile), ContentLength: body.length }));
      equal(await bodyBuffer((await req.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'crc-stream' }))).Body), 'GET');
    }],
    ['HEAD: ContentLength, ETag = MD5', async () => {
      const head = await req.send(new S3.HeadObjectCommand({ Bucket: bucket, Key: 'signed' }));
      if (head.ContentLength !== body.length) throw new Error(`ContentLength ${head.ContentLength}, wrote ${body.length}`);
      if (head.ETag !== `"${md5}"`) throw new Error(`ETag ${head.ETag}, MD5 is "${md5}"`);
    }],
    ['GET Range bytes=1000-1999 → 206, 1,000 bytes', async () => {
      const res = await req.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'signed', Range: 'bytes=1000-1999' }));
      const got = await bodyBuffer(res.Body);
      if (res.$metadata.httpStatusCode !== 206) throw new Error(`status ${res.$metadata.httpStatusCode}`);
      if (!got.equals(body.subarray(1000, 2000))) throw new Error(`${got.length} bytes, not bytes 1000-1999`);
    }],
    ['GET missing key → 404 NoSuchKey', async () => {
      try { await req.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'no/such/key' })); } catch (error) {
        if (error.name === 'NoSuchKey' && error.$metadata?.httpStatusCode === 404) return;
        throw new Error(`got ${errText(error)}`);
      }
      throw new Error('succeeded');
    }],
    ['ListObjectsV2 Prefix + Delimiter → CommonPrefixes', async () => {
      for (const Key of ['dir/a/1', 'dir/a/2', 'dir/b/1', 'dir/c']) await req.send(new S3.PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }));
      const res = await req.send(new S3.ListObjectsV2Command({ Bucket: bucket, Prefix: 'dir/', Delimiter: '/' }));
      const prefixes = (res.CommonPrefixes ?? []).map((p) => p.Prefix).join(',');
      const keys = (res.Contents ?? []).map((o) => o.Key).join(',');
      if (prefixes !== 'dir/a/,dir/b/' || keys !== 'dir/c') throw new Error(`prefixes [${prefixes}], keys [${keys}]`);
    }],
    ['DELETE, then HEAD → 404', async () => {
      await req.send(new S3.DeleteObjectCommand({ Bucket: bucket, Key: 'dir/c' }));
      try { await req.send(new S3.HeadObjectCommand({ Bucket: bucket, Key: 'dir/c' })); } catch (error) {
        if (error.$metadata?.httpStatusCode === 404) return;
        throw new Error(`got ${errText(error)}`);
      }
      throw new Error('the object is still there');
    }],
    ['multipart upload (5 MiB + 5 MiB + 1 KiB), GET equal, ETag "-3"', async () => {
      const mp = Buffer.concat([randomBytes(10 * MiB), body.subarray(0, KiB)]);
      const done = await new Upload({ client: req, params: { Bucket: bucket, Key: 'multipart', Body: mp }, partSize: 5 * MiB, queueSize: 2 }).done();
      const got = await bodyBuffer((await req.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'multipart' }))).Body);
      if (!got.equals(mp)) throw new Error(`the body read back differs (${got.length} bytes, ${mp.length} written)`);
      if (!/-3"$/.test(done.ETag ?? '')) throw new Error(`ETag ${done.ETag}`);
    }],
    ['presigned GET URL, plain fetch', async () => {
      const url = await getSignedUrl(req, new S3.GetObjectCommand({ Bucket: bucket, Key: 'signed' }), { expiresIn: 300 });
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`status ${res.status}: ${(await res.text()).slice(0, 200)}`);
      equal(Buffer.from(await res.arrayBuffer()), 'GET');
    }],
    ['wrong secret → 403', async () => {
      const bad = makeClient(target, { credentials: { ...target.credentials, secretAccessKey: `${target.credentials.secretAccessKey}x` } });
      try { await bad.send(new S3.GetObjectCommand({ Bucket: bucket, Key: 'signed' })); } catch (error) {
        if (error.$metadata?.httpStatusCode === 403) return;
        throw new Error(`got ${errText(error)}`);
      } finally { bad.destroy(); }
      throw new Error('the request succeeded');
    }],
  ];
  const out = [];
  for (const [name, fn] of checks) {
    try {
      await fn();
      out.push({ name, ok: true });
    } catch (error) {
      out.push({ name, ok: false, error: errText(error) });
    }
  }
  req.destroy();
  sdk.destroy();
  return out;
}

// ---------------------------------------------------------------- the timed rows

async function measureTarget(target, files) {
  const client = makeClient(target);
  const rows = {};
  const bucket = 'bench-data';
  const attempt = async (id, fn) => {
    checkInterrupted();
    const t0Us = Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC, as in --cpu-prof's timestamps
    try {
      rows[id] = await fn();
      rows[id].windowUs = [t0Us, Number(process.hrtime.bigint() / 1000n)];
    } catch (error) {
      if (interrupted) throw error;
      rows[id] = { error: errText(error) };
      log(`      ${id}: FAILED ${rows[id].error}`);
      if (target.handle.child.exitCode !== null || target.handle.child.signalCode !== null) throw new Error(`${target.handle.name} exited:\n${target.handle.output().slice(-4000)}`);
    }
  };
  const send = (command, ms = 120_000) => client.send(command, { abortSignal: AbortSignal.timeout(ms) });
  await ensureBucket(client, bucket);

  // PUT then GET of each size, sequential.
  for (const size of SIZES) {
    const data = randomBytes(size.bytes);
    const keys = [];
    await waitQuiet(`${size.label} PUT`);
    await attempt(`put-${size.id}`, async () => {
      const acc = await accounted(() => sequential(size, async (i, warm) => {
        const Key = `${size.id}/${warm ? 'warm' : 'obj'}-${String(i).padStart(5, '0')}`;
        await send(new S3.PutObjectCommand({ Bucket: bucket, Key, Body: data }));
        if (!warm) keys.push(Key);
      }), target.pid);
      const f = figures(acc, size.bytes, size.unit);
      log(`      PUT ${size.label.padEnd(6)} × ${String(f.n).padStart(5)}: ${fmtRate(f.value)} ${f.unit}, p50 ${fmtMs(f.p50Ms)}, p99 ${fmtMs(f.p99Ms)}, server CPU ${fmtMs(f.serverCpuMsPerOp)}/op`);
      return f;
    });
    if (!keys.length) { rows[`get-${size.id}`] = { error: 'no object was PUT' }; continue; }
    await attempt(`get-${size.id}`, async () => {
      const first = await bodyBuffer((await send(new S3.GetObjectCommand({ Bucket: bucket, Key: keys[0] }))).Body);
      if (!first.equals(data)) throw new Error(`GET ${keys[0]} returned other bytes (${first.length} bytes, ${data.length} written)`);
      const acc = await accounted(() => sequential(size, async (i) => {
        const Key = keys[i % keys.length];
        const got = await drain((await send(new S3.GetObjectCommand({ Bucket: bucket, Key }))).Body);
        if (got !== size.bytes) throw new Error(`GET ${Key}: ${got} bytes, expected ${size.bytes}`);
      }), target.pid);
      const f = figures(acc, size.bytes, size.unit);
      log(`      GET ${size.label.padEnd(6)} × ${String(f.n).padStart(5)}: ${fmtRate(f.value)} ${f.unit}, p50 ${fmtMs(f.p50Ms)}, p99 ${fmtMs(f.p99Ms)}, server CPU ${fmtMs(f.serverCpuMsPerOp)}/op`);
      return f;
    });
    if (size.bytes >= MiB) await deleteKeys(client, bucket, [...keys, ...Array.from({ length: size.warmup }, (_, i) => `${size.id}/warm-${String(i).padStart(5, '0')}`)]).catch((error) => log(`      (DeleteObjects of the ${size.label} objects failed: ${errText(error)})`));
  }

  // LIST: fill a bucket with LIST_KEYS small objects, FILL_CONCURRENCY at once, then list it whole.
  const listBucket = 'bench-list';
  let filled = 0;
  await waitQuiet('the fill');
  await attempt('fill', async () => {
    await ensureBucket(client, listBucket);
    const small = randomBytes(FILL_BYTES);
    const lat = [];
    const acc = await accounted(async () => {
      const begun = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: FILL_CONCURRENCY }, async () => {
        while (next < LIST_KEYS) {
          if (performance.now() - begun > FILL_MAX_MS) throw new Error(`the fill took over ${FILL_MAX_MS / 1000} s (${filled} of ${LIST_KEYS} keys)`);
          checkInterrupted();
          const i = next++;
          const t0 = performance.now();
          await send(new S3.PutObjectCommand({ Bucket: listBucket, Key: `list/${(i % 97).toString(36)}/item-${String(i).padStart(6, '0')}`, Body: small }));
          lat.push(performance.now() - t0);
          filled++;
        }
      }));
      return { n: filled, wallMs: performance.now() - begun, lat: lat.sort((a, b) => a - b) };
    }, target.pid);
    const f = figures(acc, FILL_BYTES, 'ops/s');
    log(`      PUT ${FILL_BYTES} B × ${fmtInt(f.n)}, ${FILL_CONCURRENCY} at once: ${fmtRate(f.value)} ops/s, p50 ${fmtMs(f.p50Ms)}, p99 ${fmtMs(f.p99Ms)}, server CPU ${fmtMs(f.serverCpuMsPerOp)}/op`);
    return f;
  });
  if (filled === LIST_KEYS) {
    await waitQuiet('LIST');
    await attempt('list', async () => {
      const pageLat = [];
      const listAll = async () => {
        let token;
        let count = 0;
        let last = '';
        do {
          const t0 = performance.now();
          const res = await send(new S3.ListObjectsV2Command({ Bucket: listBucket, MaxKeys: LIST_PAGE, ContinuationToken: token }));
          pageLat.push(performance.now() - t0);
          const contents = res.Contents ?? [];
          if (contents.length > LIST_PAGE) throw new Error(`a page of ${contents.length} keys (MaxKeys ${LIST_PAGE})`);
          for (const o of contents) {
            if (o.Key <= last) throw new Error(`keys out of order: ${o.Key} after ${last}`);
            last = o.Key;
          }
          count += contents.length;
          token = res.IsTruncated ? res.NextContinuationToken : undefined;
          if (res.IsTruncated && !token) throw new Error('IsTruncated without NextContinuationToken');
        } while (token);
        if (count !== LIST_KEYS) throw new Error(`listed ${count} keys, expected ${LIST_KEYS}`);
      };
      await listAll(); // warm-up, and the check
      pageLat.length = 0;
      const acc = await accounted(() => sequential({ maxOps: LIST_MAX, maxMs: LIST_MAX_MS, warmup: 0 }, listAll), target.pid);
      const f = figures(acc, 0, 'ops/s');
      const pages = pageLat.sort((a, b) => a - b);
      const row = { ...f, value: f.opsPerSecond * LIST_KEYS, unit: 'keys/s', listings: f.n, pageP50Ms: percentile(pages, 50), pageP99Ms: percentile(pages, 99) };
      log(`      LIST ${fmtInt(LIST_KEYS)} keys × ${f.n}: ${fmtInt(row.value)} keys/s, p50 ${fmtMs(f.p50Ms)} a listing, ${fmtMs(row.pageP50Ms)} a page of ${LIST_PAGE}, server CPU ${fmtMs(f.serverCpuMsPerOp)}/listing`);
      return row;
    });
  } else if (!rows.list) rows.list = { error: `the bucket holds ${filled} of ${LIST_KEYS} keys` };

  // The big object: one streamed PUT, one streamed GET to a file, one multipart upload.
  const bigKey = 'big/object';
  const bigBytes = BIG_MIB * MiB;
  spawnSync('sync');
  await waitQuiet('the big upload');
  await attempt('big-put', async () => {
    const m = await withRssPeak(target.pid, () => accounted(async () => {
      const t0 = performance.now();
      await send(new S3.PutObjectCommand({ Bucket: bucket, Key: bigKey, Body: createReadStream(files.src, { highWaterMark: MiB }), ContentLength: bigBytes }), BIG_OP_TIMEOUT_MS);
      return performance.now() - t0;
    }, target.pid));
    const row = bigRow(m, bigBytes);
    log(`      PUT ${BIG_MIB} MiB streamed from a file: ${fmtRate(row.value)} MiB/s (${fmtMs(row.wallMs)}), server CPU ${fmtMs(row.serverCpuMs)}, server RSS peak ${row.serverRssPeakMiB.toFixed(0)} MiB (+${(row.serverRssPeakMiB - row.serverRssBeforeMiB).toFixed(0)})`);
    return row;
  });
  if (!rows['big-put'].error) {
    spawnSync('sync');
    await waitQuiet('the big download');
    await attempt('big-get', async () => {
      const m = await withRssPeak(target.pid, () => accounted(async () => {
        const t0 = performance.now();
        const res = await send(new S3.GetObjectCommand({ Bucket: bucket, Key: bigKey }), BIG_OP_TIMEOUT_MS);
        await pipeline(res.Body, createWriteStream(files.dst, { highWaterMark: MiB }));
        return performance.now() - t0;
      }, target.pid));
      const row = bigRow(m, bigBytes);
      const same = spawnSync('cmp', ['-s', files.src, files.dst]);
      rmSync(files.dst, { force: true });
      if (same.status !== 0) throw new Error(`the ${BIG_MIB} MiB downloaded differ from the file uploaded (cmp exit ${same.status})`);
      log(`      GET ${BIG_MIB} MiB streamed to a file:   ${fmtRate(row.value)} MiB/s (${fmtMs(row.wallMs)}), server CPU ${fmtMs(row.serverCpuMs)}, server RSS peak ${row.serverRssPeakMiB.toFixed(0)} MiB (+${(row.serverRssPeakMiB - row.serverRssBeforeMiB).toFixed(0)}); cmp: same bytes`);
      return row;
    });
  } else rows['big-get'] = { error: 'the streamed PUT failed' };
  await send(new S3.DeleteObjectCommand({ Bucket: bucket, Key: bigKey })).catch(() => {});
  spawnSync('sync');
  await waitQuiet('the multipart upload');
  await attempt('big-multipart', async () => {
    const m = await withRssPeak(target.pid, () => accounted(async () => {
      const t0 = performance.now();
      const upload = new Upload({ client, params: { Bucket: bucket, Key: `${bigKey}-mp`, Body: createReadStream(files.src, { highWaterMark: MiB }), ContentLength: bigBytes }, partSize: MULTIPART_PART, queueSize: MULTIPART_QUEUE });
      const timer = setTimeout(() => upload.abort(), BIG_OP_TIMEOUT_MS);
      try { await upload.done(); } finally { clearTimeout(timer); }
      return performance.now() - t0;
    }, target.pid));
    const head = await send(new S3.HeadObjectCommand({ Bucket: bucket, Key: `${bigKey}-mp` }));
    if (head.ContentLength !== bigBytes) throw new Error(`HEAD after the multipart upload: ContentLength ${head.ContentLength}, expected ${bigBytes}`);
    const row = bigRow(m, bigBytes);
    log(`      multipart PUT ${BIG_MIB} MiB (${MULTIPART_PART / MiB} MiB parts, ${MULTIPART_QUEUE} at once): ${fmtRate(row.value)} MiB/s (${fmtMs(row.wallMs)}), server CPU ${fmtMs(row.serverCpuMs)}, server RSS peak ${row.serverRssPeakMiB.toFixed(0)} MiB (+${(row.serverRssPeakMiB - row.serverRssBeforeMiB).toFixed(0)})`);
    return row;
  });
  await send(new S3.DeleteObjectCommand({ Bucket: bucket, Key: `${bigKey}-mp` })).catch(() => {});
  client.destroy();
  return rows;
}

/**
 * Where the profiled daemon spent its time during each row: the top functions by self time among
 * the samples inside the row's window (both clocks are CLOCK_MONOTONIC, in µs).
 */
function profileRows(file, rows, top = 6) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = [];
  let t = profile.startTime;
  for (const dt of profile.timeDeltas) times.push((t += dt));
  const out = {};
  for (const [id, row] of Object.entries(rows)) {
    if (!row.windowUs) continue;
    const [from, to] = row.windowUs;
    const self = new Map();
    let busy = 0;
    profile.samples.forEach((nodeId, i) => {
      if (times[i] < from || times[i] > to) return;
      const { callFrame: f } = byId.get(nodeId);
      if (f.functionName === '(idle)') return;
      const dt = profile.timeDeltas[i + 1] ?? 0;
      busy += dt;
      const key = `${f.functionName || '(anonymous)'}${f.url ? ` ${f.url.replace(`file://${ROOT}/`, '').replace(/^node:/, 'node:')}:${f.lineNumber + 1}` : ''}`;
      self.set(key, (self.get(key) ?? 0) + dt);
    });
    out[id] = {
      mainThreadBusyPct: (100 * busy) / Math.max(1, to - from),
      top: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, pct: (100 * us) / Math.max(1, busy) })),
    };
  }
  return out;
}

function bigRow(m, bytes) {
  const acc = m.result;
  const wallMs = acc.result;
  return {
    value: (bytes / MiB) / (wallMs / 1000), unit: 'MiB/s', wallMs, bytes,
    serverCpuMs: Object.values(acc.server).reduce((a, b) => a + b, 0), serverCpu: acc.server, clientCpuMs: acc.selfMs, otherCores: acc.otherCores,
    serverRssBeforeMiB: m.rssBeforeMiB, serverRssPeakMiB: m.rssPeakMiB,
  };
}

// ---------------------------------------------------------------- the big file and cp

/** Writes `mib` MiB of random bytes, 1 MiB at a time (never the whole file in memory). */
function writeRandomFile(file, mib) {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(MiB);
  try {
    for (let i = 0; i < mib; i++) writeSync(fd, randomFillSync(chunk));
  } finally {
    closeSync(fd);
  }
}

/** `cp` of the big file on the same disk, best of two; and `cp` then `sync` of the copy (its fsync). */
async function timeCp(files) {
  const once = async (withSync) => {
    rmSync(files.dst, { force: true });
    spawnSync('sync');
    const t0 = performance.now();
    const cp = await run('cp', [files.src, files.dst], { timeoutMs: BIG_OP_TIMEOUT_MS });
    if (cp.code !== 0) throw new Error(`cp failed: ${cp.output}`);
    if (withSync) {
      const sync = await run('sync', [files.dst], { timeoutMs: BIG_OP_TIMEOUT_MS });
      if (sync.code !== 0) throw new Error(`sync failed: ${sync.output}`);
    }
    const ms = performance.now() - t0;
    rmSync(files.dst, { force: true });
    return ms;
  };
  await waitQuiet('cp');
  const cpMs = Math.min(await once(false), await once(false));
  const cpSyncMs = await once(true);
  const mib = statSync(files.src).size / MiB;
  return { cpMs, cpMiBps: mib / (cpMs / 1000), cpSyncMs, cpSyncMiBps: mib / (cpSyncMs / 1000) };
}

// ---------------------------------------------------------------- the table

const ROWS = [
  ...SIZES.flatMap((s) => [[`put-${s.id}`, `PUT ${s.label}, sequential`], [`get-${s.id}`, `GET ${s.label}, sequential`]]),
  ['fill', `PUT ${FILL_BYTES} B, ${FILL_CONCURRENCY} at once (the fill)`],
  ['list', `LIST ${fmtInt(LIST_KEYS)} keys, ${fmtInt(LIST_PAGE)} a page`],
  ['big-put', `PUT ${BIG_MIB} MiB streamed from a file`],
  ['big-get', `GET ${BIG_MIB} MiB streamed to a file`],
  ['big-multipart', `multipart PUT ${BIG_MIB} MiB, ${MULTIPART_PART / MiB} MiB × ${MULTIPART_QUEUE}`],
];

function cell(row) {
  if (!row) return '—';
  if (row.error) return 'error';
  const lat = row.p50Ms !== undefined ? ` p50 ${fmtMs(row.p50Ms)}` : ` in ${fmtMs(row.wallMs)}`;
  return `${fmtRate(row.value)}${lat}`;
}

function printTable(result, ran) {
  const others = ran.filter((t) => t !== 'plinth');
  const hasPlinth = ran.includes('plinth');
  const ceiling = ran.includes('null') && ran.includes('s3rver');
  const head = ['row', 'unit', ...ran.map((t) => LABELS[t]), ...(hasPlinth ? others.map((t) => `P/${LABELS[t]}`) : []), ...(ceiling ? ['null/s3rver'] : [])];
  const lines = [];
  for (const [id, label] of ROWS) {
    const unit = ran.map((t) => result.targets[t]?.rows?.[id]?.unit).find(Boolean) ?? '';
    const line = [label, unit, ...ran.map((t) => cell(result.targets[t]?.rows?.[id]))];
    if (hasPlinth) {
      for (const t of others) {
        const p = result.targets.plinth?.rows?.[id];
        const o = result.targets[t]?.rows?.[id];
        const ratio = p?.value && o?.value ? p.value / o.value : null;
        result.ratios[t] ??= {};
        result.ratios[t][id] = ratio;
        line.push(ratio === null ? '—' : `${ratio.toFixed(2)}×${t === 's3rver' ? (ratio >= 2 ? ' ok' : ' MISS') : ''}`);
      }
    }
    if (ceiling) {
      // The most any server could reach against s3rver with this client here: below 2×, the target cannot be met.
      const n = result.targets.null?.rows?.[id];
      const o = result.targets.s3rver?.rows?.[id];
      const max = n?.value && o?.value ? n.value / o.value : null;
      (result.ceilingOverS3rver ??= {})[id] = max;
      line.push(max === null ? '—' : `${max.toFixed(2)}×`);
    }
    lines.push(line);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmtLine = (l) => l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  log(fmtLine(head));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) log(fmtLine(l));
  if (ceiling) log('null/s3rver: the null server (the client\'s ceiling) over s3rver, the most any server can reach with this client here; below 2.00×, the 2× target cannot be met on that row');
}

// ---------------------------------------------------------------- main

async function main() {
  const result = {
    date: new Date().toISOString(), commit: gitCommit(ROOT), machine: { cpus: cpus().length, node: process.version },
    settings: { quick: QUICK, only: ONLY, bigMiB: BIG_MIB, listKeys: LIST_KEYS, listPage: LIST_PAGE, fillConcurrency: FILL_CONCURRENCY, checksums: CHECKSUMS, sizes: SIZES, multipartPartMiB: MULTIPART_PART / MiB, multipartQueue: MULTIPART_QUEUE, sdk: JSON.parse(readFileSync(join(ROOT, 'node_modules/@aws-sdk/client-s3/package.json'), 'utf8')).version },
    targets: {}, ratios: {},
  };
  log(`objects bench at ${result.commit}: ${result.machine.cpus} cores, node ${process.version}, @aws-sdk/client-s3 ${result.settings.sdk}, checksums ${CHECKSUMS}, loopback${QUICK ? ', --quick' : ''}`);
  log(`targets: ${ONLY.join(', ')}; ${LIST_KEYS} listed keys; big object ${BIG_MIB} MiB\n`);

  const work = tempDir('objbench-files-');
  const files = { src: join(work, 'big.bin'), dst: join(work, 'big.copy') };
  let t0 = performance.now();
  writeRandomFile(files.src, BIG_MIB);
  log(`[files] wrote ${BIG_MIB} MiB of random bytes to ${files.src} in ${fmtMs(performance.now() - t0)}`);
  result.cp = await timeCp(files);
  log(`[cp] ${BIG_MIB} MiB on the same disk: cp ${fmtRate(result.cp.cpMiBps)} MiB/s (${fmtMs(result.cp.cpMs)}); cp + sync ${fmtRate(result.cp.cpSyncMiBps)} MiB/s (${fmtMs(result.cp.cpSyncMs)})\n`);

  const profDir = opts['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'plinth-objbench-prof-')) : null;
  const starters = { plinth: () => startPlinth(profDir), s3rver: startS3rver, cloudserver: startCloudserver, null: () => startNull(files) };
  const ran = [];
  for (const id of ONLY) {
    checkInterrupted();
    log(`[${id}] starting…`);
    spawnSync('sync');
    let target;
    try {
      target = await starters[id]();
    } catch (error) {
      const reason = String(error.message ?? error);
      result.targets[id] = { skipped: reason };
      log(`[${id}] SKIPPED: ${reason}\n`);
      continue;
    }
    ran.push(id);
    log(`[${id}] ${target.note}; endpoint ${target.endpoint}`);
    const entry = (result.targets[id] = { endpoint: target.endpoint, note: target.note });
    try {
      t0 = performance.now();
      if (!target.noCompatibility) {
        entry.compatibility = await compatibility(target);
        const failed = entry.compatibility.filter((c) => !c.ok);
        log(`      compatibility: ${entry.compatibility.length - failed.length}/${entry.compatibility.length} checks pass (${fmtMs(performance.now() - t0)})`);
        for (const c of failed) log(`        FAIL ${c.name}: ${c.error}`);
      }
      entry.rows = await measureTarget(target, files);
      entry.memory = treeMemoryKiB(target.pid);
      log(`      server RSS at the end ${(entry.memory.rssKiB / 1024).toFixed(0)} MiB, peak ${(entry.memory.peakKiB / 1024).toFixed(0)} MiB\n`);
    } catch (error) {
      entry.error = String(error.stack ?? error);
      log(`[${id}] FAILED: ${error.message ?? error}\n`);
    } finally {
      await stopTarget(target);
    }
  }
  rmSync(work, { recursive: true, force: true });
  if (profDir) {
    result.profile = summariseProfile(profDir, ROOT);
    if (result.profile && result.targets.plinth?.rows) result.profile.byRow = profileRows(result.profile.file, result.targets.plinth.rows);
  }

  log(`=== objects (${fmtRate(result.cp.cpMiBps)} MiB/s is cp of ${BIG_MIB} MiB) ===`);
  if (ran.length) printTable(result, ran);
  for (const [id, t] of Object.entries(result.targets)) if (t.skipped) log(`${LABELS[id]}: skipped: ${t.skipped.split('\n')[0]}`);
  for (const id of ran) {
    const rows = result.targets[id].rows ?? {};
    const errors = Object.entries(rows).filter(([, r]) => r.error);
    for (const [row, r] of errors) log(`${LABELS[id]} ${row}: ${r.error}`);
    const vsCp = ['big-put', 'big-get', 'big-multipart'].map((k) => [k, rows[k]?.value ? rows[k].value / result.cp.cpMiBps : null, rows[k]?.value ? rows[k].value / result.cp.cpSyncMiBps : null]);
    result.targets[id].vsCp = Object.fromEntries(vsCp.map(([k, r]) => [k, r]));
    result.targets[id].vsCpSync = Object.fromEntries(vsCp.map(([k, , r]) => [k, r]));
    const fmtR = (r) => (r === null ? '—' : `${r.toFixed(2)}×`);
    log(`${LABELS[id]} / cp: ${vsCp.map(([k, r]) => `${k.replace('big-', '')} ${fmtR(r)}`).join(', ')}${id === 'plinth' ? ' (target ≥ 0.50×, within 2× of cp)' : ''}; / cp + sync: ${vsCp.map(([k, , r]) => `${k.replace('big-', '')} ${fmtR(r)}`).join(', ')}`);
  }
  const cpuLine = (id) => {
    const rows = result.targets[id]?.rows ?? {};
    return ROWS.filter(([k]) => rows[k] && !rows[k].error).map(([k]) => `${k} ${fmtMs(rows[k].serverCpuMsPerOp ?? rows[k].serverCpuMs)}`).join(', ');
  };
  log('\nserver CPU per operation (per listing for list, per object for the big rows):');
  for (const id of ran) log(`  ${LABELS[id].padEnd(12)} ${cpuLine(id)}`);
  const client = result.targets[ran[0]]?.rows ?? {};
  log(`  ${'client'.padEnd(12)} ${ROWS.filter(([k]) => client[k] && !client[k].error).map(([k]) => `${k} ${fmtMs(client[k].clientCpuMsPerOp ?? client[k].clientCpuMs)}`).join(', ')} (this process, against ${LABELS[ran[0]]})`);
  const other = Math.max(0, ...ran.flatMap((id) => Object.values(result.targets[id].rows ?? {}).map((r) => r.otherCores ?? 0)));
  log(`other processes used up to ${other.toFixed(2)} cores during the timed rows${other > 0.15 ? '  WARNING: the machine was not quiet; figures are distorted' : ''}`);
  if (result.profile) {
    log(`\n=== Plinth daemon CPU profile (whole run; ${result.profile.busyMs.toFixed(0)} ms busy) ===\n${result.profile.file}`);
    for (const r of result.profile.rows) log(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
    for (const [id, label] of ROWS) {
      const p = result.profile.byRow?.[id];
      if (!p) continue;
      log(`\n  ${label}: the daemon's main thread busy ${p.mainThreadBusyPct.toFixed(0)}% of the row`);
      for (const r of p.top) log(`    ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
    }
  }
  if (opts.json) writeJson(opts.json, result);
  if (!ran.length) throw new Error('no target ran');
}

await runAndExit(main);
