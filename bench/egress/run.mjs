#!/usr/bin/env node
// Egress benchmark: what Plinth's egress proxy adds to an app's outbound `fetch`.
// An upstream HTTP server on 127.0.0.1 (in this process) answers each request with 64 bytes.
// The same app bundle (bench/egress/app, built by `plinth build`) makes N sequential fetches
// of it, reading each body:
// 1. bare workerd: `globalOutbound` is a network service allowing private and local addresses,
//    so workerd connects to the upstream itself (the floor);
// 2. Plinth: a daemon started with PLINTH_EGRESS_ALLOW_PRIVATE=127.0.0.1:<port>, the app's
//    manifest `outbound` listing http://127.0.0.1:<port> (written at run time): each fetch goes
//    workerd → egress.sock → the daemon's checks → the upstream.
// Per-fetch latency is the time between consecutive arrivals at the upstream (process.hrtime),
// i.e. one whole fetch cycle: upstream answer → workerd → the app's next fetch → upstream.
// Prints p50/p99 of both, the added latency, the upstream connections per fetch, the CPU per
// fetch, and fetches/s with `--parallel` requests each making `--parallel-n` fetches.
//
//   npm run build && node bench/egress/run.mjs [--n 2000] [--parallel 8] [--parallel-n 500]
//     [--cpu-prof] [--json FILE]
//
// Loopback only; every process started here is stopped on the way out, also on failure or Ctrl-C.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { accounted, freePort, gitCommit, log, onCleanup, parseOptionsOrExit, percentile, runAndExit, start, stop, summariseProfile, tempDir, waitQuiet, writeJson, loopbackGet } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const APP_SOURCE = join(ROOT, 'bench/egress/app/src/index.js');
const APP_ID = 'egressbench';
const STEP_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 300_000;
const BODY = Buffer.from(`${'x'.repeat(63)}\n`);

const opts = parseOptionsOrExit(import.meta.url, {
  n: { type: 'string', default: '2000' },
  parallel: { type: 'string', default: '8' },
  'parallel-n': { type: 'string', default: '500' },
  'cpu-prof': { type: 'boolean', default: false },
  json: { type: 'string' },
});
const N = int('n', 10, 1_000_000);
const PARALLEL = int('parallel', 1, 16);
const PARALLEL_N = int('parallel-n', 1, 1_000_000);
function int(name, min, max) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max) { process.stderr.write(`--${name} must be an integer ${min}..${max}\n`); process.exit(2); }
  return n;
}

// ---------------------------------------------------------------- helpers

let upstream = null;
onCleanup(() => {
  if (upstream) {
    upstream.server.closeAllConnections();
    upstream.server.close();
    upstream = null;
  }
});

const fmtMs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const fmtRate = (n) => Math.round(n).toLocaleString('en-US');

function get(port, path, headers = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
  return loopbackGet(port, path, headers, timeoutMs);
}
async function waitFor(what, check, handle) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (handle.child.exitCode !== null || handle.child.signalCode !== null) throw new Error(`${handle.name} exited while waiting for ${what}:\n${handle.output()}`);
    try { if (await check()) return; } catch { /* not yet */ }
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---------------------------------------------------------------- the upstream

/** Records when each request of a run arrives, and counts TCP connections. */
function startUpstream() {
  const arrivals = new Map();
  let connections = 0;
  const server = createHttpServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const at = process.hrtime.bigint();
    const run = new URL(req.url, 'http://x').searchParams.get('run') ?? '?';
    let list = arrivals.get(run);
    if (!list) arrivals.set(run, (list = []));
    list.push(at);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.on('connection', () => { connections++; });
  return new Promise((resolveUp) => server.listen(0, '127.0.0.1', () => resolveUp({
    server, port: server.address().port, arrivals, connections: () => connections,
  })));
}

/** Per-fetch latency from consecutive arrivals of one sequential run, in ms. */
function latencies(run) {
  const list = upstream.arrivals.get(run) ?? [];
  const out = [];
  for (let i = 1; i < list.length; i++) out.push(Number(list[i] - list[i - 1]) / 1e6);
  return out.sort((a, b) => a - b);
}

/** Warm-up, the sequential run (latency), then the parallel run (throughput), against `port`/`host`. */
async function measure(label, port, headers, serverPid) {
  const target = `http://127.0.0.1:${upstream.port}/data`;
  const call = async (n, run) => {
    const res = await get(port, `/fetch?n=${n}&run=${run}&url=${encodeURIComponent(target)}`, headers);
    if (res.status !== 200) throw new Error(`${label} /fetch answered ${res.status}: ${res.body}`);
    const body = JSON.parse(res.body);
    if (body.failures) throw new Error(`${label}: ${body.failures} of ${n} fetches failed, first: ${body.firstFailure}`);
    return body;
  };
  await call(300, `${label}-warm`);
  await waitQuiet(`the ${label} sequential run`);
  const connectionsBefore = upstream.connections();
  const seq = await accounted(() => call(N, `${label}-seq`), serverPid);
  const connections = upstream.connections() - connectionsBefore;
  const sorted = latencies(`${label}-seq`);
  if (sorted.length !== N - 1) throw new Error(`${label}: the upstream saw ${sorted.length + 1} of ${N} fetches`);
  const sequential = {
    n: N, appMs: seq.result.ms, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, connectionsPerFetch: connections / N,
    cpuUsPerFetch: Object.fromEntries(Object.entries(seq.server).map(([k, ms]) => [k, (ms * 1000) / N])), otherCores: seq.otherCores,
  };
  log(`      ${N} sequential fetches: p50 ${fmtMs(sequential.p50)}, p99 ${fmtMs(sequential.p99)} (app: ${seq.result.ms} ms in all); ${sequential.connectionsPerFetch.toFixed(3)} upstream connections per fetch; other load ${seq.otherCores.toFixed(2)} cores`);

  await waitQuiet(`the ${label} parallel run`);
  const par = await accounted(() => Promise.all(Array.from({ length: PARALLEL }, (_, i) => call(PARALLEL_N, `${label}-par${i}`))), serverPid);
  const total = PARALLEL * PARALLEL_N;
  const parallel = { parallel: PARALLEL, n: total, wallMs: par.wallMs, fetchesPerSecond: (total / par.wallMs) * 1000, cpuUsPerFetch: Object.fromEntries(Object.entries(par.server).map(([k, ms]) => [k, (ms * 1000) / total])), otherCores: par.otherCores };
  log(`      ${PARALLEL} × ${PARALLEL_N} fetches in parallel: ${fmtRate(parallel.fetchesPerSecond)} fetches/s; other load ${par.otherCores.toFixed(2)} cores`);
  return { sequential, parallel };
}

// ---------------------------------------------------------------- bare workerd and Plinth

/** The app folder with a manifest that names the upstream, in a temporary folder. */
function writeApp() {
  const dir = tempDir('egressbench-app-');
  mkdirSync(join(dir, 'src'));
  copyFileSync(APP_SOURCE, join(dir, 'src/index.js'));
  writeFileSync(join(dir, 'plinth.json'), `${JSON.stringify({
    id: APP_ID, name: 'Egress bench', version: '1.0.0', main: 'src/index.js', public: ['/*'],
    outbound: [`http://127.0.0.1:${upstream.port}`],
    limits: { concurrency: 16, memoryMb: 256, requestTimeoutMs: 300_000 },
  }, null, 2)}\n`);
  return dir;
}

function bareConfig(port) {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "app", worker = .app),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "app") ],
);

const app :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
`;
}

async function runBare(appDir) {
  const workerdBin = (await import('workerd')).default.default;
  const dir = tempDir('egressbench-bare-');
  const pkg = join(dir, 'app.plinth');
  const build = spawnSync(process.execPath, [CLI, 'build', appDir, '-o', pkg], { encoding: 'utf8', timeout: 60_000 });
  if (build.status !== 0) throw new Error(`plinth build failed:\n${build.stderr}${build.stdout}`);
  const untar = spawnSync('tar', ['-xf', pkg, '-C', dir, 'worker.js'], { encoding: 'utf8' });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  const port = await freePort();
  writeFileSync(join(dir, 'workerd.capnp'), bareConfig(port));
  const worker = start(workerdBin, ['serve', join(dir, 'workerd.capnp'), '--experimental'], { name: 'workerd (bare)' });
  try {
    await waitFor('bare workerd', async () => (await get(port, '/', {}, 1_000)).status === 404, worker);
    log(`[bare] workerd on 127.0.0.1:${port}, globalOutbound = network (public, private, local)`);
    return await measure('bare', port, {}, worker.child.pid);
  } finally {
    await stop(worker);
  }
}

async function runPlinth(appDir, profDir) {
  const port = await freePort();
  const dataDir = tempDir('plinth-egressbench-');
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
    PLINTH_EGRESS_ALLOW_PRIVATE: `127.0.0.1:${upstream.port}`,
  };
  const daemon = start(process.execPath, [...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), CLI, 'serve'], { env, name: 'daemon' });
  try {
    await waitFor('the daemon to listen', async () => (await get(port, '/.well-known/jwks.json', { host: `localhost:${port}` }, 1_000)).status === 200, daemon);
    const install = spawnSync(process.execPath, [CLI, 'install', appDir], { env, encoding: 'utf8', timeout: 60_000 });
    if (install.status !== 0) throw new Error(`plinth install failed:\n${install.stderr}${install.stdout}`);
    const host = `${APP_ID}.localhost:${port}`;
    log(`[plinth] daemon on 127.0.0.1:${port} (PLINTH_EGRESS_ALLOW_PRIVATE=127.0.0.1:${upstream.port}), app ${host}`);
    return await measure('plinth', port, { host }, daemon.child.pid);
  } finally {
    await stop(daemon);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const result = { date: new Date().toISOString(), commit: gitCommit(ROOT), machine: { cpus: cpus().length, node: process.version }, settings: { n: N, parallel: PARALLEL, parallelN: PARALLEL_N, bodyBytes: BODY.length } };
  upstream = await startUpstream();
  log(`egress bench at ${result.commit}: ${result.machine.cpus} cores, node ${process.version}, loopback; upstream on 127.0.0.1:${upstream.port} (${BODY.length}-byte answers); ${N} sequential fetches\n`);
  const appDir = writeApp();
  const profDir = opts['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'plinth-egressbench-prof-')) : null;
  result.bare = await runBare(appDir);
  result.plinth = await runPlinth(appDir, profDir);
  if (profDir) result.profile = summariseProfile(profDir, ROOT);

  const b = result.bare;
  const p = result.plinth;
  const cpu = (r) => Object.entries(r.cpuUsPerFetch).filter(([, us]) => us >= 0.5).map(([k, us]) => `${k} ${us.toFixed(0)} µs`).join(' + ');
  log('\n=== egress: one outbound fetch ===');
  const row = (label, r) => log(`${label.padEnd(13)} p50 ${fmtMs(r.sequential.p50).padStart(9)}   p99 ${fmtMs(r.sequential.p99).padStart(9)}   mean ${fmtMs(r.sequential.mean).padStart(9)}   ${r.sequential.connectionsPerFetch.toFixed(3)} conn/fetch   ${fmtRate(r.parallel.fetchesPerSecond).padStart(6)} fetches/s with ${PARALLEL} parallel   CPU/fetch: ${cpu(r.sequential)}`);
  row('bare workerd', b);
  row('Plinth', p);
  result.added = { p50: p.sequential.p50 - b.sequential.p50, p99: p.sequential.p99 - b.sequential.p99, throughputRatio: p.parallel.fetchesPerSecond / b.parallel.fetchesPerSecond };
  log(`added by Plinth: p50 +${fmtMs(result.added.p50)} (${(p.sequential.p50 / b.sequential.p50).toFixed(2)}×), p99 +${fmtMs(result.added.p99)} (${(p.sequential.p99 / b.sequential.p99).toFixed(2)}×); parallel throughput ${result.added.throughputRatio.toFixed(2)}× bare`);
  const other = Math.max(b.sequential.otherCores, p.sequential.otherCores, b.parallel.otherCores, p.parallel.otherCores);
  log(`other processes used up to ${other.toFixed(2)} cores during the runs${other > 0.15 ? '  WARNING: the machine was not quiet; figures are distorted' : ''}`);
  if (result.profile) {
    log(`\n=== daemon CPU profile (whole run; ${result.profile.busyMs.toFixed(0)} ms busy) ===\n${result.profile.file}`);
    for (const r of result.profile.rows) log(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
  }
  if (opts.json) writeJson(opts.json, result);
}

await runAndExit(main);
