#!/usr/bin/env node
// Keys and secrets benchmark: what one `keys.sign` and one `secrets.get` cost through the ABI.
// 1. Plinth: the bench app (bench/keys/app) makes N sequential `plinth(env).keys.sign('bench',
//    64 bytes)` calls, and N `plinth(env).secrets.get('bench')` calls (a 32-byte value), timing
//    them inside the app; then `--parallel` such requests at once (ops/s from the wall clock);
// 2. peers, in this process: `node:crypto` `sign(null, data, key)` Ed25519 (for sign) and an
//    AES-256-GCM open of the sealed 32-byte value with Plinth's format (for get);
// 3. for context, the daemon's own work without the ABI hop, in this process on better-sqlite3
//    with the control plane's settings: sign = key rows read + sign + audit-row insert;
//    get = row read + AES-GCM open;
// 4. the ABI's floor, sequential: N `info.get()` (a GET that does nothing) and N
//    `sockets.publish` to a tag no socket has (a POST with a small JSON body that does nothing);
// 5. prints ops/s, the ratios Plinth / peer, and the CPU per call of the daemon and workerd.
//
//   npm run build && node bench/keys/run.mjs [--n 2000] [--parallel 8] [--cpu-prof] [--json FILE]
//
// Loopback only; every process started here is stopped on the way out, also on failure or Ctrl-C.
import { createCipheriv, createDecipheriv, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { accounted, freePort, gitCommit, log, parseOptionsOrExit, runAndExit, start, stop, summariseProfile, tempDir, waitQuiet, writeJson, loopbackGet } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const APP = join(ROOT, 'bench/keys/app');
const APP_ID = 'keysbench';
const require = createRequire(join(ROOT, 'packages/host/package.json'));
const STEP_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 300_000;
/** What the app signs (the same 64 bytes as bench/keys/app). */
const DATA = Buffer.from('plinth keys bench: 64 bytes of data signed on every call.......');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const opts = parseOptionsOrExit(import.meta.url, {
  n: { type: 'string', default: '2000' },
  parallel: { type: 'string', default: '8' },
  'cpu-prof': { type: 'boolean', default: false },
  json: { type: 'string' },
});
const N = Number(opts.n);
const PARALLEL = Number(opts.parallel);
if (!Number.isInteger(N) || N < 10 || N > 1_000_000) { process.stderr.write('--n must be 10..1000000\n'); process.exit(2); }
if (!Number.isInteger(PARALLEL) || PARALLEL < 1 || PARALLEL > 16) { process.stderr.write('--parallel must be 1..16 (the app allows 16 at once)\n'); process.exit(2); }

// ---------------------------------------------------------------- helpers

const fmtRate = (n) => Math.round(n).toLocaleString('en-US');
const fmtUs = (ms) => `${(ms * 1000).toFixed(0)} µs`;

function get(port, host, path, timeoutMs = REQUEST_TIMEOUT_MS) {
  return loopbackGet(port, path, { host }, timeoutMs);
}

async function waitFor(what, check, handle) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (handle.child.exitCode !== null || handle.child.signalCode !== null) throw new Error(`${handle.name} exited while waiting for ${what}:\n${handle.output()}`);
    try { if (await check()) return; } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---------------------------------------------------------------- peers, in this process

/** Runs `op` repeatedly for at least `minMs` (and N times at least); ops per second. */
function loop(op, minMs = 1_500) {
  for (let i = 0; i < Math.min(N, 500); i++) op(i); // warm-up
  let n = 0;
  const begun = performance.now();
  while (n < N || performance.now() - begun < minMs) { op(n); n++; }
  return { n, ms: performance.now() - begun, opsPerSecond: (n / (performance.now() - begun)) * 1000 };
}

function runPeers() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const sign1 = loop(() => sign(null, DATA, privateKey));

  // Plinth's sealed format: nonce(12) ‖ tag(16) ‖ ciphertext, the context as associated data.
  const key = randomBytes(32);
  const value = Buffer.from(randomBytes(32).toString('base64url'));
  const context = Buffer.from(`${APP_ID}:secret:bench`);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(context);
  const body = Buffer.concat([cipher.update(value), cipher.final()]);
  const sealed = Buffer.concat([nonce, cipher.getAuthTag(), body]);
  const open = (s) => {
    const decipher = createDecipheriv('aes-256-gcm', key, s.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${APP_ID}:secret:bench`));
    decipher.setAuthTag(s.subarray(12, 28));
    return Buffer.concat([decipher.update(s.subarray(28)), decipher.final()]).toString('utf8');
  };
  if (open(sealed) !== value.toString()) throw new Error('AES-GCM peer does not round-trip');
  const aes = loop(() => open(sealed));

  // The daemon's work for each call, minus the ABI: better-sqlite3 with the control plane's pragmas.
  const Database = require('better-sqlite3');
  const db = new Database(join(tempDir('keysbench-peer-'), 'control.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  const synchronous = db.pragma('synchronous', { simple: true });
  db.exec(`CREATE TABLE secrets (app_id TEXT, name TEXT, sealed_value BLOB, created_at INTEGER, updated_at INTEGER, PRIMARY KEY (app_id, name));
    CREATE TABLE signing_keys (app_id TEXT, name TEXT, version INTEGER, public_key BLOB, sealed_private_key BLOB, created_at INTEGER, deleted_at INTEGER, PRIMARY KEY (app_id, name, version));
    CREATE TABLE key_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT, key_name TEXT, version INTEGER, operation TEXT, at INTEGER);`);
  db.prepare('INSERT INTO secrets VALUES (?, ?, ?, ?, ?)').run(APP_ID, 'bench', sealed, Date.now(), Date.now());
  db.prepare('INSERT INTO signing_keys VALUES (?, ?, 1, ?, ?, ?, NULL)').run(APP_ID, 'bench', randomBytes(32), randomBytes(60), Date.now());
  const selectSecret = db.prepare('SELECT * FROM secrets WHERE app_id = ? AND name = ?');
  const versionsOf = db.prepare('SELECT * FROM signing_keys WHERE app_id = ? AND name = ? AND deleted_at IS NULL ORDER BY version');
  const audit = db.prepare('INSERT INTO key_audit (app_id, key_name, version, operation, at) VALUES (?, ?, ?, ?, ?)');
  const dbGet = loop(() => open(selectSecret.get(APP_ID, 'bench').sealed_value));
  const dbSign = loop(() => {
    const rows = versionsOf.all(APP_ID, 'bench');
    sign(null, DATA, privateKey);
    audit.run(APP_ID, 'bench', rows[rows.length - 1].version, 'sign', Date.now());
  });
  db.close();
  return { sign: sign1, aesOpen: aes, daemonWorkSign: dbSign, daemonWorkGet: dbGet, sqliteSynchronous: synchronous };
}

// ---------------------------------------------------------------- Plinth

async function runPlinth(profDir) {
  const port = await freePort();
  const dataDir = tempDir('plinth-keysbench-');
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
  };
  const daemon = start(process.execPath, [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), CLI, 'serve'], { env, name: 'daemon' });
  try {
    await waitFor('the daemon to listen', async () => (await get(port, `localhost:${port}`, '/.well-known/jwks.json', 1_000)).status === 200, daemon);
    const install = spawnSync(process.execPath, [CLI, 'install', APP], { env, encoding: 'utf8', timeout: 60_000 });
    if (install.status !== 0) throw new Error(`plinth install failed:\n${install.stderr}${install.stdout}`);
    const host = `${APP_ID}.localhost:${port}`;
    const call = async (path) => {
      const res = await get(port, host, path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
      return JSON.parse(res.body);
    };
    const setup = await call('/setup');
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(setup.publicKey, 'base64url')]), format: 'der', type: 'spki' });
    log(`[plinth] daemon on 127.0.0.1:${port}, app ${host}; warming up`);
    await call(`/sign?n=${Math.min(N, 300)}`);
    await call(`/get?n=${Math.min(N, 300)}`);

    const out = {};
    for (const op of ['sign', 'get']) {
      await waitQuiet(`sequential ${op}`);
      const seq = await accounted(() => call(`/${op}?n=${N}`), daemon.child.pid);
      if (op === 'sign' && !verify(null, DATA, publicKey, Buffer.from(seq.result.last, 'base64url'))) throw new Error('the last signature does not verify');
      if (op === 'get' && seq.result.last !== setup.secret) throw new Error('secrets.get returned another value');
      out[op] = { n: N, appMs: seq.result.ms, opsPerSecond: (N / Math.max(seq.result.ms, 1)) * 1000, cpuUsPerOp: Object.fromEntries(Object.entries(seq.server).map(([k, ms]) => [k, (ms * 1000) / N])), otherCores: seq.otherCores };
      log(`      ${op} × ${N} sequential: ${seq.result.ms} ms in the app = ${fmtRate(out[op].opsPerSecond)} ops/s (${fmtUs(seq.result.ms / N)} each; other load ${seq.otherCores.toFixed(2)} cores)`);

      await waitQuiet(`parallel ${op}`);
      const par = await accounted(() => Promise.all(Array.from({ length: PARALLEL }, () => call(`/${op}?n=${N}`))), daemon.child.pid);
      const total = N * PARALLEL;
      out[`${op}Parallel`] = { parallel: PARALLEL, n: total, wallMs: par.wallMs, appMs: par.result.map((r) => r.ms), opsPerSecond: (total / par.wallMs) * 1000, cpuUsPerOp: Object.fromEntries(Object.entries(par.server).map(([k, ms]) => [k, (ms * 1000) / total])), otherCores: par.otherCores };
      log(`      ${op} × ${N} in each of ${PARALLEL} parallel requests: ${fmtRate(out[`${op}Parallel`].opsPerSecond)} ops/s (${(par.wallMs / 1000).toFixed(2)} s wall; other load ${par.otherCores.toFixed(2)} cores)`);
    }
    for (const op of ['info', 'post']) {
      await call(`/${op}?n=${Math.min(N, 300)}`);
      await waitQuiet(`sequential ${op}`);
      const seq = await accounted(() => call(`/${op}?n=${N}`), daemon.child.pid);
      out[op] = { n: N, appMs: seq.result.ms, opsPerSecond: (N / Math.max(seq.result.ms, 1)) * 1000, cpuUsPerOp: Object.fromEntries(Object.entries(seq.server).map(([k, ms]) => [k, (ms * 1000) / N])), otherCores: seq.otherCores };
      log(`      ${op === 'info' ? 'info.get (GET floor)' : 'empty publish (POST floor)'} × ${N} sequential: ${fmtRate(out[op].opsPerSecond)} ops/s (${fmtUs(seq.result.ms / N)} each; other load ${seq.otherCores.toFixed(2)} cores)`);
    }
    return out;
  } finally {
    await stop(daemon);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const result = { date: new Date().toISOString(), commit: gitCommit(ROOT), machine: { cpus: cpus().length, node: process.version }, settings: { n: N, parallel: PARALLEL, dataBytes: DATA.length } };
  log(`keys bench at ${result.commit}: ${result.machine.cpus} cores, node ${process.version}, loopback; N = ${N}, ${PARALLEL} parallel\n`);
  const profDir = opts['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'plinth-keysbench-prof-')) : null;
  result.plinth = await runPlinth(profDir);
  await waitQuiet('the in-process peers');
  result.peers = runPeers();
  if (profDir) result.profile = summariseProfile(profDir, ROOT);

  const p = result.plinth;
  const q = result.peers;
  const cpu = (r) => Object.entries(r.cpuUsPerOp).filter(([, us]) => us >= 0.5).map(([k, us]) => `${k} ${us.toFixed(0)} µs`).join(' + ');
  log('\n=== keys and secrets (ops/s) ===');
  const rows = [
    ['Plinth keys.sign, sequential', p.sign.opsPerSecond, cpu(p.sign)],
    [`Plinth keys.sign, ${PARALLEL} parallel`, p.signParallel.opsPerSecond, cpu(p.signParallel)],
    ['node:crypto Ed25519 sign, in-process (peer)', q.sign.opsPerSecond, ''],
    ['  the daemon\'s work in-process: rows + sign + audit insert', q.daemonWorkSign.opsPerSecond, `synchronous=${q.sqliteSynchronous}`],
    ['Plinth secrets.get, sequential', p.get.opsPerSecond, cpu(p.get)],
    [`Plinth secrets.get, ${PARALLEL} parallel`, p.getParallel.opsPerSecond, cpu(p.getParallel)],
    ['AES-256-GCM open of 32 bytes, in-process (peer)', q.aesOpen.opsPerSecond, ''],
    ['  the daemon\'s work in-process: SQLite point read + open', q.daemonWorkGet.opsPerSecond, ''],
    ['ABI floor: Plinth info.get (GET), sequential', p.info.opsPerSecond, cpu(p.info)],
    ['ABI floor: Plinth publish to no socket (POST), sequential', p.post.opsPerSecond, cpu(p.post)],
  ];
  for (const [label, rate, note] of rows) log(`${label.padEnd(62)} ${fmtRate(rate).padStart(9)}   ${note}`);
  result.ratios = {
    sign: p.sign.opsPerSecond / q.sign.opsPerSecond,
    signParallel: p.signParallel.opsPerSecond / q.sign.opsPerSecond,
    get: p.get.opsPerSecond / q.aesOpen.opsPerSecond,
    getParallel: p.getParallel.opsPerSecond / q.aesOpen.opsPerSecond,
  };
  log(`\nsign: Plinth / node:crypto ${result.ratios.sign.toFixed(3)}× sequential, ${result.ratios.signParallel.toFixed(3)}× with ${PARALLEL} parallel`);
  log(`get:  Plinth / AES-256-GCM open ${result.ratios.get.toFixed(3)}× sequential, ${result.ratios.getParallel.toFixed(3)}× with ${PARALLEL} parallel`);
  log(`per call through the ABI: sign ${fmtUs(1 / p.sign.opsPerSecond * 1000)} vs ${fmtUs(1 / q.sign.opsPerSecond * 1000)} in-process; get ${fmtUs(1 / p.get.opsPerSecond * 1000)} vs ${fmtUs(1 / q.aesOpen.opsPerSecond * 1000)}`);
  const other = Math.max(p.sign.otherCores, p.get.otherCores, p.signParallel.otherCores, p.getParallel.otherCores, p.info.otherCores, p.post.otherCores);
  log(`other processes used up to ${other.toFixed(2)} cores during the Plinth runs${other > 0.15 ? '  WARNING: the machine was not quiet; figures are distorted' : ''}`);
  if (result.profile) {
    log(`\n=== daemon CPU profile (whole run; ${result.profile.busyMs.toFixed(0)} ms busy) ===\n${result.profile.file}`);
    for (const r of result.profile.rows) log(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
  }
  if (opts.json) writeJson(opts.json, result);
}

await runAndExit(main);
