#!/usr/bin/env node
// SQL benchmark: D1-shaped point reads, single-row inserts and 100-row batches, per second,
// each issued one after another from inside a worker (one connection, no concurrency), on:
// 1. Plinth: a workerd app → env.PLINTH → the daemon → the app's SQL process (better-sqlite3);
// 2. Miniflare's D1 (npm `miniflare`), the local D1 that `wrangler dev` uses;
// 3. better-sqlite3 in this process with Plinth's settings (WAL, synchronous=NORMAL): the ceiling.
// Prints ops/s and the ratios Plinth/Miniflare (target ≥ 2× for reads and inserts) and
// Plinth/ceiling, and the time of one 100-row batch (one round trip).
//
//   npm run build && node bench/sql/run.mjs [--reads 5000] [--inserts 3000] [--batches 200] [--json FILE]
//
// Loopback only; every process started here is stopped on the way out, also on failure or Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const APP = join(ROOT, 'bench/sql/app');
const WORKLOAD = join(ROOT, 'bench/sql/workload.js');
const require = createRequire(join(ROOT, 'packages/host/package.json'));
const STEP_TIMEOUT_MS = 120_000;

const { values: opts } = parseArgs({
  options: {
    reads: { type: 'string', default: '5000' },
    inserts: { type: 'string', default: '3000' },
    batches: { type: 'string', default: '200' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  process.stdout.write(`${lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}
const counts = { read: Number(opts.reads), insert: Number(opts.inserts), batch: Number(opts.batches) };
for (const [name, n] of Object.entries(counts)) if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Error(`--${name}s must be 1..1000000`);

const tempDirs = new Set();
const tempDir = (prefix) => { const dir = mkdtempSync(join(tmpdir(), prefix)); tempDirs.add(dir); return dir; };
let daemon = null;
let miniflare = null;

async function cleanup() {
  if (miniflare) await miniflare.dispose().catch(() => undefined);
  miniflare = null;
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    const timer = setTimeout(() => { try { process.kill(-daemon.pid, 'SIGKILL'); } catch { /* gone */ } }, 15_000);
    await exited;
    clearTimeout(timer);
  }
  if (daemon) { try { process.kill(-daemon.pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
process.on('exit', () => {
  if (daemon) { try { process.kill(-daemon.pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, () => cleanup().finally(() => process.exit(130)));

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolvePort(port)); });
    server.once('error', reject);
  });
}

function get(port, host, path) {
  return new Promise((resolveRes, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: STEP_TIMEOUT_MS }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveRes({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const rate = (r) => (r.n / r.ms) * 1000;

async function runPlinth() {
  const port = await freePort();
  const data = tempDir('plinth-sqlbench-');
  const env = { ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: data, PLINTH_BASE_URL: `http://localhost:${port}`, PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn' };
  daemon = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    try { if ((await get(port, `localhost:${port}`, '/.well-known/jwks.json')).status === 200) break; } catch { /* not yet */ }
    if (Date.now() > deadline || daemon.exitCode !== null) throw new Error('the daemon did not start');
    await sleep(50);
  }
  const install = spawn(process.execPath, [CLI, 'install', APP], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise((r) => install.once('exit', r));
  if (code !== 0) throw new Error('plinth install of the bench app failed');
  const host = `sqlbench.localhost:${port}`;
  const op = async (name, n) => {
    const res = await get(port, host, `/${name}?n=${n}`);
    if (res.status !== 200) throw new Error(`plinth ${name}: ${res.status} ${res.body}`);
    return JSON.parse(res.body);
  };
  return runOps(op);
}

async function runMiniflare() {
  const { Miniflare } = await import(pathToFileURL(require.resolve('miniflare')).href);
  const source = readFileSync(WORKLOAD, 'utf8').replace(/^export /gm, '');
  miniflare = new Miniflare({
    modules: true, compatibilityDate: '2025-09-01', d1Persist: tempDir('miniflare-sqlbench-'), d1Databases: ['DB'],
    script: `${source}\nexport default { async fetch(request, env) { const url = new URL(request.url); return Response.json(await runWorkload(env.DB, url.pathname.slice(1), Number(url.searchParams.get('n') ?? '1'))); } };`,
  });
  const op = async (name, n) => {
    const res = await miniflare.dispatchFetch(`http://localhost/${name}?n=${n}`);
    if (res.status !== 200) throw new Error(`miniflare ${name}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  try {
    return await runOps(op);
  } finally {
    await miniflare.dispose();
    miniflare = null;
  }
}

/** The same workload synchronously on better-sqlite3 in this process, with Plinth's settings. */
async function runCeiling() {
  const Database = require('better-sqlite3');
  const db = new Database(join(tempDir('ceiling-sqlbench-'), 'bench.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const shim = {
    exec: async (sql) => db.exec(sql),
    prepare: (sql) => ({
      bind: (...params) => ({
        sql, params,
        first: async () => db.prepare(sql).get(...params) ?? null,
        run: async () => db.prepare(sql).run(...params),
      }),
    }),
    batch: async (statements) => db.transaction(() => statements.map((s) => db.prepare(s.sql).run(...s.params)))(),
  };
  const { runWorkload } = await import(pathToFileURL(WORKLOAD).href);
  const op = async (name, n) => {
    const started = performance.now();
    const result = await runWorkload(shim, name, n);
    return { ...result, ms: Math.max(performance.now() - started, 0.001) };
  };
  try {
    return await runOps(op);
  } finally {
    db.close();
  }
}

async function runOps(op) {
  await op('setup', 1);
  // Warm-up, the same for all three: page cache, JIT in the daemon, workerd and the SQL process.
  await op('read', 1000);
  await op('insert', 200);
  return { read: await op('read', counts.read), insert: await op('insert', counts.insert), batch: await op('batch', counts.batch) };
}

function report(results) {
  const rows = [['', 'reads/s', 'inserts/s', '100-row batch ms', 'batch rows/s']];
  for (const [name, r] of Object.entries(results)) {
    rows.push([name, rate(r.read).toFixed(0), rate(r.insert).toFixed(0), (r.batch.ms / r.batch.n).toFixed(2), (rate(r.batch) * 100).toFixed(0)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')}\n`);
  const ratio = (a, b, key) => rate(results[a][key]) / rate(results[b][key]);
  const lines = [
    `plinth / miniflare D1: reads ${ratio('plinth', 'miniflare', 'read').toFixed(2)}×, inserts ${ratio('plinth', 'miniflare', 'insert').toFixed(2)}×, batches ${ratio('plinth', 'miniflare', 'batch').toFixed(2)}× (target ≥ 2× reads and inserts)`,
    `plinth / in-process better-sqlite3: reads ${ratio('plinth', 'ceiling', 'read').toFixed(3)}×, inserts ${ratio('plinth', 'ceiling', 'insert').toFixed(3)}×, batches ${ratio('plinth', 'ceiling', 'batch').toFixed(3)}×`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const pass = ratio('plinth', 'miniflare', 'read') >= 2 && ratio('plinth', 'miniflare', 'insert') >= 2;
  process.stdout.write(`target ${pass ? 'met' : 'NOT met'}\n`);
  return pass;
}

try {
  process.stdout.write(`sql bench: ${counts.read} reads, ${counts.insert} inserts, ${counts.batch} batches of 100, sequential; ${cpus().length} cores\n`);
  const results = { plinth: await runPlinth() };
  await cleanup();
  results.miniflare = await runMiniflare();
  results.ceiling = await runCeiling();
  const pass = report(results);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ counts, results, pass }, null, 2));
  await cleanup();
} catch (error) {
  process.stderr.write(`sql bench failed: ${error.stack ?? error}\n`);
  await cleanup();
  process.exit(1);
}
