#!/usr/bin/env node
// Gated-update benchmark: what `plinth update` costs an app with a large database, and what its
// users see meanwhile. One daemon (startTestDaemon from the built test harness), one generated app
// (`updbench`, written to a temporary folder in four versions):
// 1. fill: v1.0.0 is installed and its `main` database filled through the app to --fill-mb MiB
//    (sequential POST /fill requests of --request-kb KiB of random text each; the app inserts
//    them as 8 rows in one db.batch); then 3 s of the load loop below without an update (baseline);
// 2. update with the big database: `plinth update updbench <v2 folder> --json` (the CLI bundles
//    the folder and uploads it; the daemon snapshots every SQL database, starts v2 beside v1, calls
//    v2's POST /after-update — one ALTER TABLE ADD COLUMN — and switches). Meanwhile a load loop
//    does GET / one request at a time, each on a new loopback connection (at most
//    --max-requests, or until the CLI exits), and a poller reads the update's state every
//    25 ms to time its phases; --sql-clients more loops (default 24) each GET /row, which runs one
//    SQL query, so the old version's SQL calls are held by the gate and must go at the switch.
//    Reports the CLI's wall time, the update's `durationMs`, the longest request and the errors;
// 3. the same, v2 → v3, with --sockets WebSockets opened beforehand (the `ws` client, 16
//    handshakes at a time) and held across the update; afterwards each socket sends a message
//    (16 awaiting an answer at a time) and must get v3's answer: how many stayed open and
//    answered. Then, apart from the update, all sockets send at once (a burst) once;
// 4. control: the same as 2, v3 → v4, without sockets. Updates 3 and 4 also delete the previous
//    update's snapshot when they finish (2 has none to delete), so 2 / 3 / 4 separate the cost
//    of the sockets from that of the deletion.
// No peer: no other self-hosted platform offers a gated update, so the figures are absolute.
//
//   npm run build && node bench/update/run.mjs [--fill-mb 100] [--request-kb 512] [--sockets 1000]
//     [--max-requests 20000] [--sql-clients 24] [--cpu-prof] [--json FILE]
//
// --cpu-prof profiles the daemon (the inspector's sampling profiler, loaded through
// NODE_OPTIONS=--import) and prints its hot spots and longest busy stretches; the profile is kept.
// (The snapshot itself runs in the app's SQL process, which the daemon starts with a clean env.) Loopback only. Every process started here is stopped on the way out,
// also on failure or Ctrl-C. Runs about 1–2 minutes.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, fetch as undiciFetch } from 'undici';
import WebSocket from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { startTestDaemon, CLI } = await import(join(ROOT, 'packages/host/dist/testing/daemon-harness.js'));

const APP_ID = 'updbench';
const ROWS_PER_REQUEST = 8;
const OPEN_CONCURRENCY = 16;
/** The state poller's period: phase boundaries are known to about this much. */
const POLL_MS = 25;
/** The load loop without an update, for comparison. */
const BASELINE_MS = 3_000;
/** Longest any one update may take before the bench gives up on it. */
const UPDATE_TIMEOUT_MS = 180_000;
const FILL_REQUEST_TIMEOUT_MS = 30_000;
const SOCKET_REPLY_TIMEOUT_MS = 30_000;
const OPEN_DEADLINE_MS = 120_000;
const QUIET_WAIT_MS = 8_000;
const QUIET_BUSY_PCT = 10;

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      'fill-mb': { type: 'string', default: '100' },
      'request-kb': { type: 'string', default: '512' },
      sockets: { type: 'string', default: '1000' },
      'max-requests': { type: 'string', default: '20000' },
      'sql-clients': { type: 'string', default: '24' },
      'cpu-prof': { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  usage(error.message);
}
if (opts.help) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  process.stdout.write(`${lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}
function usage(message) { process.stderr.write(`${message}\nrun with --help for usage\n`); process.exit(2); }
function int(name, min, max) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name} must be an integer ${min}..${max}`);
  return n;
}
const FILL_MB = int('fill-mb', 1, 900);
const REQUEST_KB = int('request-kb', 8, 1024);
const SOCKETS = int('sockets', 0, 10_000);
const MAX_REQUESTS = int('max-requests', 100, 1_000_000);
const SQL_CLIENTS = int('sql-clients', 0, 30); // below the app's concurrency of 32, so no request waits on the app's own gate
const FILL_REQUESTS = Math.ceil((FILL_MB * 1024) / REQUEST_KB);

const log = (line = '') => process.stdout.write(`${line}\n`);
const fmtMs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(1)} ms`);
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

// ---------------------------------------------------------------- processes & cleanup

const tempDirs = new Set();
let daemon = null;
const clis = new Set();
const sockets = [];

function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** [pid, starttime] of every live descendant of `root`, read from /proc (so a reused pid is never killed). */
function descendants(root) {
  const all = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) all.push({ pid: Number(entry), ...stat });
  }
  const found = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    for (const p of all) if (p.ppid === pid) { found.push(p); stack.push(p.pid); }
  }
  return found;
}

function killLeftovers(list) {
  for (const p of list) {
    if (procStat(p.pid)?.start !== p.start) continue; // gone, or the pid is someone else's now
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

async function cleanup() {
  for (const ws of sockets) ws.terminate();
  for (const cli of clis) try { cli.kill('SIGKILL'); } catch { /* gone */ }
  if (daemon) {
    const left = descendants(daemon.process.pid);
    await daemon.stop({ keepData: true });
    killLeftovers(left); // anything the daemon did not stop (it should have)
    daemon = null;
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// Last resort when the event loop is going away: synchronous kills only.
process.on('exit', () => {
  if (daemon) {
    const left = descendants(daemon.process.pid);
    try { daemon.process.kill('SIGKILL'); } catch { /* gone */ }
    killLeftovers(left);
  }
  for (const cli of clis) try { cli.kill('SIGKILL'); } catch { /* gone */ }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything this benchmark started…\n`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- CPU accounting (/proc)

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux
function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3: ppid 4, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
    const ms = (ticks) => (ticks * 1000) / CLOCK_TICKS_PER_S;
    return { ppid: Number(f[1]), ownMs: ms(Number(f[11]) + Number(f[12])), reapedMs: ms(Number(f[13]) + Number(f[14])), start: f[19] };
  } catch {
    return null;
  }
}
function machineCpu() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busyMs: (busy * 1000) / CLOCK_TICKS_PER_S, totalMs: ((busy + idle + iowait + steal) * 1000) / CLOCK_TICKS_PER_S };
}

/**
 * CPU of the daemon's tree, of this process (with the CLIs it ran and reaped), and of everything
 * else. The daemon's tree is sampled every 200 ms, pid by pid (own time only), so a process
 * that ends meanwhile (the old version's workerd) keeps what it used until its last sample.
 */
function cpuMeter() {
  const first = new Map();
  const last = new Map();
  const sample = () => {
    for (const p of [{ pid: daemon.process.pid, ...procStat(daemon.process.pid) }, ...descendants(daemon.process.pid)]) {
      const key = `${p.pid}:${p.start}`;
      if (!first.has(key)) first.set(key, started ? 0 : p.ownMs);
      last.set(key, p.ownMs);
    }
  };
  let started = false;
  sample();
  started = true;
  const self = () => { const p = procStat(process.pid); return p.ownMs + p.reapedMs; };
  const before = { machine: machineCpu(), self: self(), at: performance.now() };
  const timer = setInterval(sample, 200);
  return () => {
    clearInterval(timer);
    sample();
    const wallMs = performance.now() - before.at;
    const busyMs = machineCpu().busyMs - before.machine.busyMs;
    let daemonMs = 0;
    for (const [key, ms] of last) daemonMs += ms - first.get(key);
    const selfMs = self() - before.self;
    return { daemonCores: daemonMs / wallMs, benchCores: selfMs / wallMs, otherCores: Math.max(0, busyMs - daemonMs - selfMs) / wallMs };
  };
}

async function waitQuiet(label) {
  const begun = Date.now();
  let busyPct = 100;
  while (Date.now() - begun < QUIET_WAIT_MS) {
    const before = machineCpu();
    await sleep(1_000);
    const after = machineCpu();
    busyPct = (100 * (after.busyMs - before.busyMs)) / Math.max(1, after.totalMs - before.totalMs);
    if (busyPct <= QUIET_BUSY_PCT) return;
  }
  log(`      WARNING: the machine stayed busy (${busyPct.toFixed(0)}% CPU) for ${QUIET_WAIT_MS / 1000} s before ${label}; measuring anyway`);
}

// ---------------------------------------------------------------- the app

/** Column each version's /after-update adds (a schema-only change in SQLite: no table rewrite). */
const MIGRATIONS = {
  '1.0.0': null,
  '2.0.0': "ALTER TABLE blobs ADD COLUMN note TEXT DEFAULT 'migrated'",
  '3.0.0': 'ALTER TABLE blobs ADD COLUMN checked INTEGER DEFAULT 0',
  '4.0.0': "ALTER TABLE blobs ADD COLUMN origin TEXT DEFAULT 'bench'",
};

function writeApp(dir, version) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ id: APP_ID, name: 'Update bench', version, public: ['/*'], limits: { concurrency: 32, memoryMb: 256 } }));
  writeFileSync(join(dir, 'src/index.ts'), `
import { defineApp, plinth } from '@plinth/guest';
const VERSION = ${JSON.stringify(version)};
const MIGRATION = ${JSON.stringify(MIGRATIONS[version])};
export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/') return new Response('v' + VERSION);
    if (url.pathname === '/row') {
      const db = await plinth(env).jobs.database();
      const row = await db.prepare('SELECT id FROM blobs ORDER BY id LIMIT 1').first();
      return new Response('v' + VERSION + ' ' + (row?.id ?? 'none'));
    }
    if (url.pathname === '/setup') {
      const db = await plinth(env).jobs.database();
      await db.batch([db.prepare('CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)'), db.prepare('CREATE TABLE IF NOT EXISTS migrations (version TEXT, at INTEGER)')]);
      return new Response('ok');
    }
    if (url.pathname === '/fill' && request.method === 'POST') {
      const text = await request.text();
      const rows = Number(url.searchParams.get('rows') ?? '1');
      const size = Math.ceil(text.length / rows);
      const db = plinth(env).sql.open('main');
      const insert = db.prepare('INSERT INTO blobs (body) VALUES (?)');
      const statements = [];
      for (let i = 0; i < text.length; i += size) statements.push(insert.bind(text.slice(i, i + size)));
      await db.batch(statements);
      return new Response(String(statements.length));
    }
    if (url.pathname === '/stats') {
      const sql = plinth(env).sql;
      const db = sql.open('main');
      const [rows, columns, migrations] = await db.batch([
        db.prepare('SELECT count(*) AS n, sum(length(body)) AS chars FROM blobs'),
        db.prepare('PRAGMA table_info(blobs)'),
        db.prepare('SELECT version FROM migrations ORDER BY rowid'),
      ]);
      const info = (await sql.list()).find((d) => d.name === 'main');
      return Response.json({ version: VERSION, rows: rows.results[0].n, chars: rows.results[0].chars, columns: columns.results.map((c) => c.name), migrations: migrations.results.map((m) => m.version), database: info });
    }
    return new Response('not found', { status: 404 });
  },
  websocket: { message(socket, data) { socket.send('v' + VERSION + ':' + data); } },
  async afterUpdate(_info, env) {
    if (!MIGRATION) return;
    const db = plinth(env).sql.open('main');
    await db.batch([db.prepare(MIGRATION), db.prepare('INSERT INTO migrations (version, at) VALUES (?, ?)').bind(VERSION, Date.now())]);
  },
});
`);
  return dir;
}

// ---------------------------------------------------------------- daemon helpers

let daemonEnv;
const appUrl = (path) => daemon.appUrl(APP_ID, path);

async function appText(path, init = {}) {
  const res = await daemon.fetch(appUrl(path), { signal: AbortSignal.timeout(FILL_REQUEST_TIMEOUT_MS), ...init });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status}: ${body.slice(0, 500)}`);
  return body;
}

function cliSync(args) {
  const run = daemon.cli(args);
  if (run.status !== 0) throw new Error(`plinth ${args.join(' ')} failed (${run.status}):\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** The CLI without blocking this process (so the load loop and the poller keep running). */
function cliAsync(args) {
  const begun = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: daemonEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  clis.add(child);
  let stdout = '';
  let stderr = '';
  let answeredMs = null;
  child.stdout.on('data', (d) => { stdout += d; answeredMs ??= performance.now() - begun; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), UPDATE_TIMEOUT_MS);
  return new Promise((resolveRun) => child.once('close', (code, signal) => {
    clearTimeout(timer);
    clis.delete(child);
    resolveRun({ status: code ?? signal, stdout, stderr, elapsedMs: performance.now() - begun, answeredMs });
  }));
}

/** Waits (at most 30 s) until the app has had no request or platform call in flight for `quietMs`; returns how long that took. */
async function appIdle(quietMs) {
  const begun = performance.now();
  let idleSince = performance.now();
  while (performance.now() - begun < 30_000) {
    const res = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/${APP_ID}`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
    const inFlight = res.status === 200 ? (await res.json()).runtime?.inFlight ?? 0 : (await res.text(), 1);
    if (inFlight > 0) idleSince = performance.now();
    else if (performance.now() - idleSince >= quietMs) return idleSince - begun;
    await sleep(50);
  }
  throw new Error('the app was still busy 30 s after its sockets were closed');
}

async function history() {
  const res = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/${APP_ID}/updates`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
  if (res.status !== 200) throw new Error(`GET updates answered ${res.status}: ${await res.text()}`);
  return (await res.json()).history;
}

// ---------------------------------------------------------------- load loop

/**
 * The load loop's own client, not the harness's (whose connection policy is the tests'
 * business): a new loopback connection per request, so no request ever meets a connection
 * the daemon closed meanwhile, and `*.localhost` resolves to 127.0.0.1.
 */
const loadAgent = new Agent({
  pipelining: 0,
  connect: { lookup: (_host, _opts, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]) },
});

/**
 * GET / one request at a time until `until()` says stop or `max` requests are done.
 * Each sample is [start ms since `t0`, latency ms, body or error].
 */
async function loadLoop(t0, until, max, path = '/') {
  const samples = [];
  let errors = 0;
  const firstErrors = [];
  for (let i = 0; i < max && !until(); i++) {
    const begun = performance.now();
    let outcome;
    try {
      const res = await undiciFetch(appUrl(path), { dispatcher: loadAgent, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
      const body = await res.text();
      outcome = res.status === 200 && /^v\d/.test(body) ? body : `${res.status} ${body.slice(0, 200)}`;
      if (outcome !== body) errors++;
    } catch (error) {
      outcome = `error: ${error.cause?.code ?? error.message}`;
      errors++;
    }
    samples.push([begun - t0, performance.now() - begun, outcome]);
    if (errors && firstErrors.length < 5 && !/^v\d/.test(outcome)) firstErrors.push(outcome);
  }
  return { samples, errors, firstErrors };
}

function summarise(samples) {
  const lat = samples.map((s) => s[1]).sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))] ?? 0;
  const slowest = samples.reduce((a, b) => (b[1] > (a?.[1] ?? -1) ? b : a), null);
  const versions = {};
  for (const s of samples) versions[s[2]] = (versions[s[2]] ?? 0) + 1;
  return { requests: samples.length, p50: pct(50), p99: pct(99), max: lat.at(-1) ?? 0, slowestAtMs: slowest?.[0] ?? 0, slowestAnswer: slowest?.[2] ?? null, versions };
}

// ---------------------------------------------------------------- one measured update

const STATES = ['snapshotting', 'staged', 'gating', 'switched', 'done', 'failed'];

async function measuredUpdate(label, dir, version) {
  const knownIds = new Set((await history()).map((h) => h.id));
  await waitQuiet(label);
  const meter = cpuMeter();
  const t0 = performance.now();
  let finished = false;
  // Phases, seen from outside: when each state of the new update record was first seen.
  const seen = {};
  let updateId = null;
  const poller = (async () => {
    while (!finished) {
      try {
        const mine = (await history()).find((h) => !knownIds.has(h.id));
        if (mine) {
          updateId = mine.id;
          if (!(mine.state in seen)) seen[mine.state] = performance.now() - t0;
        }
      } catch { /* the daemon is busy; try again */ }
      await sleep(POLL_MS);
    }
  })();
  const loop = loadLoop(t0, () => finished, MAX_REQUESTS);
  // --sql-clients loops that each run one SQL query per request: the old version's calls are held
  // during the gate and must be released at the switch (issue 13 §3: before, they met the drain).
  const sqlLoops = Array.from({ length: SQL_CLIENTS }, () => loadLoop(t0, () => finished, MAX_REQUESTS, '/row'));
  await sleep(100); // the loop is running before the update starts
  const runP = cliAsync(['update', APP_ID, dir, '--json']);
  const run = await runP;
  const cliEndMs = performance.now() - t0;
  finished = true;
  const load = await loop;
  const sqlLoads = await Promise.all(sqlLoops);
  const sql = { clients: SQL_CLIENTS, ...summarise(sqlLoads.flatMap((l) => l.samples)), errors: sqlLoads.reduce((n, l) => n + l.errors, 0), firstErrors: sqlLoads.flatMap((l) => l.firstErrors).slice(0, 5) };
  await poller;
  const cpu = meter();
  if (run.status !== 0) {
    const { exitCode, signalCode } = daemon.process;
    const state = exitCode === null && signalCode === null ? 'still running' : `exited (${exitCode ?? signalCode})`;
    throw new Error(`plinth update to ${version} failed (${run.status}):\n${run.stderr}${run.stdout}\nthe daemon is ${state}; its last output:\n${daemon.output().slice(-3000)}`);
  }
  const answer = JSON.parse(run.stdout);
  if (answer.to !== version) throw new Error(`plinth update answered ${run.stdout}`);
  const cliStartMs = cliEndMs - run.elapsedMs;
  const during = load.samples.filter((s) => s[0] >= cliStartMs);
  // Which phase the slowest request started in.
  const phaseAt = (ms) => {
    let phase = 'cli (bundle, upload, unpack)';
    for (const state of STATES) if (seen[state] !== undefined && seen[state] <= ms) phase = state;
    return phase === 'done' ? 'after done' : phase;
  };
  const stats = summarise(during);
  // The daemon's part: requests overlapping the time from the snapshot's start to `done`.
  const from = (seen.snapshotting ?? cliStartMs) - POLL_MS;
  const to = seen.done ?? cliEndMs;
  const inDaemon = summarise(during.filter((s) => s[0] <= to && s[0] + s[1] >= from));
  const byPhase = {};
  for (const s of during) {
    const p = phaseAt(s[0]);
    byPhase[p] ??= { requests: 0, max: 0 };
    byPhase[p].requests++;
    byPhase[p].max = Math.max(byPhase[p].max, s[1]);
  }
  const snapshotEnd = seen.staged ?? seen.gating;
  const snapshotMs = seen.snapshotting !== undefined && snapshotEnd !== undefined ? Math.round(snapshotEnd - seen.snapshotting) : null;
  const phases = Object.fromEntries(STATES.filter((s) => seen[s] !== undefined).map((s) => [s, +(seen[s] - cliStartMs).toFixed(0)]));
  return {
    version, snapshotMs, cliMs: run.elapsedMs, cliAnsweredMs: run.answeredMs, durationMs: answer.durationMs, updateId,
    phasesSeenAtMs: phases, sql: { clients: sql.clients, requests: sql.requests, errors: sql.errors, firstErrors: sql.firstErrors, p99: sql.p99, max: sql.max }, load: { ...stats, errors: load.errors, firstErrors: load.firstErrors, capped: load.samples.length >= MAX_REQUESTS, snapshotToDone: { requests: inDaemon.requests, max: inDaemon.max, p99: inDaemon.p99 }, slowestPhase: phaseAt(stats.slowestAtMs), byPhase },
    cpu,
  };
}

function printUpdate(r) {
  log(`      CLI wall time ${fmtMs(r.cliMs)}; durationMs (daemon, snapshot → done) ${r.durationMs} ms, of which the snapshot ~${r.snapshotMs ?? '?'} ms (snapshotting → staged/gating, ±${POLL_MS} ms)`);
  log(`      states first seen (ms after the CLI started, polled every ${POLL_MS} ms): ${Object.entries(r.phasesSeenAtMs).map(([s, ms]) => `${s} ${ms}`).join(', ')}; the CLI printed its answer at ${r.cliAnsweredMs?.toFixed(0)} and exited at ${r.cliMs.toFixed(0)}`);
  const l = r.load;
  log(`      GET / during the update: ${l.requests} requests, ${l.errors} errors, p50 ${fmtMs(l.p50)}, p99 ${fmtMs(l.p99)}, longest ${fmtMs(l.max)} (started in ${l.slowestPhase} as polled, answered ${l.slowestAnswer})${l.capped ? `  NOTE: stopped at --max-requests ${MAX_REQUESTS} before the update ended` : ''}`);
  if (r.sql.clients) log(`      GET /row (one SQL query each) from ${r.sql.clients} clients at once: ${r.sql.requests} requests, ${r.sql.errors} errors, p99 ${fmtMs(r.sql.p99)}, longest ${fmtMs(r.sql.max)}${r.sql.firstErrors.length ? `; first errors: ${r.sql.firstErrors.join(' | ')}` : ''}`);
  log(`      of which from the snapshot's start to done: ${l.snapshotToDone.requests} requests, p99 ${fmtMs(l.snapshotToDone.p99)}, longest ${fmtMs(l.snapshotToDone.max)}`);
  log(`      answers: ${Object.entries(l.versions).map(([v, n]) => `${v} × ${n}`).join(', ')}`);
  log(`      longest per phase: ${Object.entries(l.byPhase).map(([p, x]) => `${p} ${fmtMs(x.max)} (${x.requests} req)`).join('; ')}`);
  if (l.firstErrors.length) log(`      first errors: ${l.firstErrors.join(' | ')}`);
  log(`      CPU meanwhile: daemon tree ${r.cpu.daemonCores.toFixed(2)} cores, bench + CLI ${r.cpu.benchCores.toFixed(2)}, other processes ${r.cpu.otherCores.toFixed(2)}`);
}

// ---------------------------------------------------------------- sockets

function openOne() {
  return new Promise((resolveWs, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${daemon.port}/ws`, { headers: { host: `${APP_ID}.localhost:${daemon.port}` }, handshakeTimeout: 30_000 });
    ws.once('open', () => resolveWs(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function openSockets(count) {
  const deadline = Date.now() + OPEN_DEADLINE_MS;
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      next++;
      const ws = await openOne();
      ws.replies = [];
      ws.on('message', (data) => ws.replies.push(data.toString()));
      ws.on('close', () => { ws.closedAt = performance.now(); });
      ws.on('error', () => undefined);
      sockets.push(ws);
    }
  };
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
  if (sockets.length < count) throw new Error(`only ${sockets.length} of ${count} sockets opened within ${OPEN_DEADLINE_MS} ms`);
}

/**
 * Every socket sends one message and must get `v<version>:<text>` back. Paced: at most
 * OPEN_CONCURRENCY messages wait for an answer at a time, because each socket's events are
 * one platform call into the app, under the app's concurrency gate (see `burst` for all at once).
 */
async function echoAll(version, tag) {
  const begun = performance.now();
  const expected = (i) => `v${version}:${tag}-${i}`;
  for (const ws of sockets) ws.replies.length = 0;
  let next = 0;
  const worker = async () => {
    while (next < sockets.length && performance.now() - begun < SOCKET_REPLY_TIMEOUT_MS) {
      const i = next++;
      const ws = sockets[i];
      if (ws.readyState !== WebSocket.OPEN) continue;
      ws.send(`${tag}-${i}`);
      while (ws.replies.length === 0 && ws.readyState === WebSocket.OPEN && performance.now() - begun < SOCKET_REPLY_TIMEOUT_MS) await sleep(1);
    }
  };
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
  return {
    open: sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length,
    answered: sockets.filter((ws, i) => ws.replies.includes(expected(i))).length,
    ms: performance.now() - begun,
    other: sockets.filter((ws, i) => ws.replies.length && !ws.replies.includes(expected(i))).slice(0, 3).map((ws) => ws.replies[0]),
  };
}

/** Every socket sends one message at the same moment; counts answers and sockets closed (with their codes). */
async function burst(version) {
  const begun = performance.now();
  const codes = {};
  for (const [i, ws] of sockets.entries()) {
    ws.replies.length = 0;
    ws.once('close', (code) => { codes[code] = (codes[code] ?? 0) + 1; });
    if (ws.readyState === WebSocket.OPEN) ws.send(`burst-${i}`);
  }
  const settled = () => sockets.every((ws) => ws.replies.length > 0 || ws.readyState !== WebSocket.OPEN);
  while (!settled() && performance.now() - begun < SOCKET_REPLY_TIMEOUT_MS) await sleep(20);
  return {
    answered: sockets.filter((ws, i) => ws.replies.includes(`v${version}:burst-${i}`)).length,
    open: sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length,
    closeCodes: { ...codes },
    ms: performance.now() - begun,
  };
}

// ---------------------------------------------------------------- CPU profiles

function summariseProfile(file, top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { callFrame: f } = byId.get(id);
    if (f.functionName === '(idle)') { idle += dt; return; }
    total += dt;
    const where = f.url ? `${f.url.replace(`file://${ROOT}/`, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, ms: us / 1000, pct: (100 * us) / Math.max(1, total) }));
  // The longest stretches without an idle sample: what blocked the event loop, and for how long.
  const stretches = [];
  let current = null;
  let at = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const f = byId.get(id).callFrame;
    const busy = f.functionName !== '(idle)' && f.functionName !== '(program)';
    if (!busy) { if (current) stretches.push(current); current = null; return; }
    current ??= { atMs: at / 1000, us: 0, frames: new Map() };
    const dt = profile.timeDeltas[i + 1] ?? 0;
    current.us += dt;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(`file://${ROOT}/`, '')}:${f.lineNumber + 1}` : ''}`.trim();
    current.frames.set(key, (current.frames.get(key) ?? 0) + dt);
  });
  if (current) stretches.push(current);
  const longest = stretches.sort((a, b) => b.us - a.us).slice(0, 5).map((st) => ({
    atMs: st.atMs, ms: st.us / 1000,
    top: [...st.frames.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([fn, us]) => `${fn} ${(us / 1000).toFixed(0)} ms`),
  }));
  return { file, busyMs: total / 1000, idleMs: idle / 1000, rows, longest };
}

/**
 * Node 20 refuses --cpu-prof in NODE_OPTIONS (and startTestDaemon takes no node flags), so the
 * daemon loads this preload instead: the inspector's sampling profiler from the start, written
 * to `dir` on a normal exit (the daemon exits normally on SIGTERM). CLI runs are not profiled.
 */
function writeProfiler(dir) {
  const file = join(dir, 'profile-preload.mjs');
  writeFileSync(file, `
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
const argv = process.argv.join(' ');
const role = / serve$/.test(argv) ? 'daemon' : null;
if (role && isMainThread) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-thread session answers synchronously, so this runs to the end inside 'exit'.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(${JSON.stringify(dir)} + '/' + role + '-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
    });
  });
}
`);
  return file;
}

// ---------------------------------------------------------------- main

async function main() {
  const git = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  const result = {
    date: new Date().toISOString(),
    commit: git.status === 0 ? git.stdout.trim() : 'unknown',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    settings: { fillMiB: FILL_MB, requestKiB: REQUEST_KB, fillRequests: FILL_REQUESTS, rowsPerRequest: ROWS_PER_REQUEST, sockets: SOCKETS, maxRequests: MAX_REQUESTS },
  };
  log(`update bench at ${result.commit}: ${result.machine.cpus} × ${result.machine.cpuModel}, node ${process.version}, loopback`);
  log('no peer: no other self-hosted platform offers a gated update; the figures are absolute\n');

  const work = tempDir('plinth-bench-update-');
  const v1 = writeApp(join(work, 'v1'), '1.0.0');
  const v2 = writeApp(join(work, 'v2'), '2.0.0');
  const v3 = writeApp(join(work, 'v3'), '3.0.0');
  const v4 = writeApp(join(work, 'v4'), '4.0.0');
  const dataDir = join(work, 'data');
  mkdirSync(dataDir);
  const profDir = opts['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'plinth-bench-update-prof-')) : null;
  const env = profDir ? { NODE_OPTIONS: `--import=${writeProfiler(profDir)}` } : {};
  daemon = await startTestDaemon({ dataDir, env });
  daemonEnv = {
    ...process.env, PLINTH_PORT: String(daemon.port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: daemon.baseUrl,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
  };
  cliSync(['install', v1]);
  await appText('/setup');

  // 1. Fill.
  log(`[1/4] filling ${APP_ID}'s main database: ${FILL_REQUESTS} × POST /fill of ${REQUEST_KB} KiB (${ROWS_PER_REQUEST} rows in one db.batch each)`);
  const fillBegun = performance.now();
  const fillLat = [];
  for (let i = 0; i < FILL_REQUESTS; i++) {
    const text = randomBytes((REQUEST_KB * 1024 * 3) / 4).toString('base64');
    const begun = performance.now();
    const inserted = await appText(`/fill?rows=${ROWS_PER_REQUEST}`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
    fillLat.push(performance.now() - begun);
    if (inserted !== String(ROWS_PER_REQUEST)) throw new Error(`/fill inserted ${inserted} rows`);
    if ((i + 1) % 50 === 0) process.stdout.write(`      ${i + 1}/${FILL_REQUESTS}\n`);
  }
  const fillMs = performance.now() - fillBegun;
  const before = JSON.parse(await appText('/stats'));
  fillLat.sort((a, b) => a - b);
  result.fill = { ms: fillMs, requests: FILL_REQUESTS, rows: before.rows, textBytes: before.chars, databaseBytes: before.database?.bytes, requestP50Ms: fillLat[Math.floor(fillLat.length / 2)], requestMaxMs: fillLat.at(-1) };
  log(`      ${before.rows} rows, ${mib(before.chars)} of text; database (file + WAL) ${mib(before.database?.bytes ?? 0)}; ${(fillMs / 1000).toFixed(1)} s (${((before.chars / 2 ** 20) / (fillMs / 1000)).toFixed(1)} MiB/s, p50 ${fmtMs(result.fill.requestP50Ms)} per request)`);

  // Bundling alone, for reading the CLI's wall time.
  const pkg = join(work, 'v2.plinth');
  const buildBegun = performance.now();
  cliSync(['build', v2, '-o', pkg]);
  result.bundleMs = performance.now() - buildBegun;
  rmSync(pkg, { force: true });

  // Baseline: the same loop without an update.
  await waitQuiet('the baseline');
  const baseT0 = performance.now();
  const base = await loadLoop(baseT0, () => performance.now() - baseT0 > BASELINE_MS, MAX_REQUESTS);
  result.baseline = { ...summarise(base.samples), errors: base.errors, durationMs: BASELINE_MS };
  log(`      baseline, no update: GET / × ${result.baseline.requests} in ${BASELINE_MS / 1000} s: p50 ${fmtMs(result.baseline.p50)}, p99 ${fmtMs(result.baseline.p99)}, longest ${fmtMs(result.baseline.max)}, ${base.errors} errors`);
  log(`      plinth build of the same folder alone (the CLI bundles before uploading): ${fmtMs(result.bundleMs)}`);

  // 2. Update with the big database.
  log(`\n[2/4] plinth update ${APP_ID} → 2.0.0 (ALTER TABLE blobs ADD COLUMN note) with a load loop on GET /`);
  result.update = await measuredUpdate('the update', v2, '2.0.0');
  printUpdate(result.update);
  const after2 = JSON.parse(await appText('/stats'));
  const snapshotFile = join(dataDir, 'apps', APP_ID, 'updates', result.update.updateId ?? '-', 'sql', 'main.sqlite');
  result.update.snapshotBytes = existsSync(snapshotFile) ? statSync(snapshotFile).size : null;
  result.update.after = { version: after2.version, rows: after2.rows, columns: after2.columns, migrations: after2.migrations };
  if (after2.version !== '2.0.0' || after2.rows !== before.rows || !after2.columns.includes('note')) throw new Error(`unexpected state after the update: ${JSON.stringify(after2)}`);
  log(`      after: ${after2.version}, ${after2.rows} rows, columns ${after2.columns.join(', ')}; snapshot kept for rollback ${result.update.snapshotBytes === null ? 'not found' : mib(result.update.snapshotBytes)}`);

  // 3. The same with sockets held across the update.
  log(`\n[3/4] ${SOCKETS} WebSockets open (${OPEN_CONCURRENCY} handshakes at a time), then plinth update → 3.0.0 (ADD COLUMN checked)`);
  const openBegun = performance.now();
  await openSockets(SOCKETS);
  const openMs = performance.now() - openBegun;
  const pre = await echoAll('2.0.0', 'before');
  log(`      opened ${sockets.length} in ${fmtMs(openMs)}; before the update ${pre.answered}/${sockets.length} answered v2.0.0 (${fmtMs(pre.ms)})`);
  if (pre.answered !== sockets.length) {
    const logs = daemon.cli(['logs', APP_ID]).stdout.split('\n').slice(-15).join('\n');
    throw new Error(`only ${pre.answered} of ${sockets.length} sockets answered before the update, ${pre.open} open (${pre.other.join(' | ')}); the app's last log lines:\n${logs}\ndaemon output:\n${daemon.output().slice(-3000)}`);
  }
  result.sockets = { update: await measuredUpdate('the update with sockets', v3, '3.0.0') };
  printUpdate(result.sockets.update);
  const post = await echoAll('3.0.0', 'after');
  result.sockets = { ...result.sockets, count: SOCKETS, openMs, closedDuringUpdate: sockets.filter((ws) => ws.closedAt).length, openAfter: post.open, answeredAfter: post.answered, echoAllMs: post.ms, otherAnswers: post.other };
  log(`      after: ${post.open}/${SOCKETS} still open, ${post.answered}/${SOCKETS} answered v3.0.0 (all answers in ${fmtMs(post.ms)})${post.other.length ? `; other answers: ${post.other.join(' | ')}` : ''}`);
  const after3 = JSON.parse(await appText('/stats'));
  result.sockets.update.after = { version: after3.version, rows: after3.rows, columns: after3.columns, migrations: after3.migrations };
  if (after3.version !== '3.0.0' || after3.rows !== before.rows || !after3.columns.includes('checked')) throw new Error(`unexpected state after the second update: ${JSON.stringify(after3)}`);
  // Not part of the update: the same sockets all sending at once (each socket's event is its own
  // platform call into the app, through the app's concurrency gate).
  result.sockets.burst = await burst('3.0.0');
  const b = result.sockets.burst;
  log(`      then a burst, all ${SOCKETS} sending at once: ${b.answered} answered, ${b.open} still open, closed: ${JSON.stringify(b.closeCodes)} (${fmtMs(b.ms)})`);
  for (const ws of sockets) ws.terminate();
  sockets.length = 0;
  // Each closed socket is a `close` event, a platform call of its own into the app through its
  // concurrency gate (retried after 100, 500 and 2,000 ms): until they are through, an ordinary
  // request can find the gate full and get 503. So wait until the app has been idle for 2.5 s.
  result.sockets.closeSettleMs = await appIdle(2_500);
  log(`      closed all sockets; the app's close events were through after ${fmtMs(result.sockets.closeSettleMs)}`);

  // 4. Control: 2 again without sockets. Like 3 and unlike 2, it deletes the previous update's
  // snapshot when it finishes, so 2 / 3 / 4 tell the sockets' cost from the snapshot deletion's.
  log(`\n[4/4] control: no sockets, plinth update → 4.0.0 (ADD COLUMN origin); like [3/4], it deletes the previous update's snapshot`);
  result.control = await measuredUpdate('the control update', v4, '4.0.0');
  printUpdate(result.control);
  const after4 = JSON.parse(await appText('/stats'));
  result.control.after = { version: after4.version, rows: after4.rows, columns: after4.columns, migrations: after4.migrations };
  if (after4.version !== '4.0.0' || after4.rows !== before.rows || !after4.columns.includes('origin')) throw new Error(`unexpected state after the third update: ${JSON.stringify(after4)}`);

  // Report.
  const u = result.update;
  const s = result.sockets.update;
  const c = result.control;
  log('\n=== update ===');
  log(`database: ${mib(result.fill.databaseBytes ?? 0)} (${result.fill.rows} rows of ${REQUEST_KB / ROWS_PER_REQUEST} KiB text); GET / one at a time during each update`);
  log(`                                CLI wall  durationMs  snapshot    GET /   errors   p99       longest   longest snapshot→done`);
  const row = (name, r) => log(`${name.padEnd(31)}${fmtMs(r.cliMs).padStart(9)}  ${String(r.durationMs).padStart(7)} ms  ${(r.snapshotMs === null ? '?' : `~${r.snapshotMs} ms`).padStart(8)}  ${String(r.load.requests).padStart(6)}   ${String(r.load.errors).padStart(5)}   ${fmtMs(r.load.p99).padEnd(9)} ${fmtMs(r.load.max).padEnd(9)} ${fmtMs(r.load.snapshotToDone.max)}`);
  row('1.0.0 → 2.0.0', u);
  row(`2.0.0 → 3.0.0, ${SOCKETS} sockets`, s);
  row('3.0.0 → 4.0.0 (control)', c);
  log(`baseline (no update, 3 s)                                             ${String(result.baseline.requests).padStart(6)}   ${String(result.baseline.errors).padStart(5)}   ${fmtMs(result.baseline.p99).padEnd(9)} ${fmtMs(result.baseline.max)}`);
  log(`sockets: ${result.sockets.openAfter}/${SOCKETS} open after the update, ${result.sockets.answeredAfter}/${SOCKETS} answered by v3.0.0, ${result.sockets.closedDuringUpdate} closed`);
  log(`burst (not the update): all ${SOCKETS} sockets sending at once → ${b.answered} answered, ${SOCKETS - b.open} closed ${JSON.stringify(b.closeCodes)}`);
  log(`of the CLI wall time, bundling takes ~${fmtMs(result.bundleMs)} (plinth build alone)`);
  const other = Math.max(u.cpu.otherCores, s.cpu.otherCores, c.cpu.otherCores);
  log(`other processes on the machine: ${u.cpu.otherCores.toFixed(2)} / ${s.cpu.otherCores.toFixed(2)} / ${c.cpu.otherCores.toFixed(2)} cores during the three updates${other > 0.15 ? '  WARNING: the machine was not quiet; figures are distorted' : ''}`);
  const ok = u.load.errors === 0 && s.load.errors === 0 && c.load.errors === 0 && result.sockets.openAfter === SOCKETS && result.sockets.answeredAfter === SOCKETS;
  log(`zero failed requests and every socket carried over: ${ok ? 'PASS' : 'FAIL'}`);

  // Stop the daemon now, so its profile is written.
  const left = descendants(daemon.process.pid);
  await daemon.stop({ keepData: true });
  killLeftovers(left);
  daemon = null;
  if (profDir) {
    result.profiles = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => summariseProfile(join(profDir, f)));
    for (const p of result.profiles) {
      log(`\n=== CPU profile ${p.file} (${p.busyMs.toFixed(0)} ms busy, ${p.idleMs.toFixed(0)} ms idle; the whole run, fill included) ===`);
      for (const r of p.rows) log(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.fn}`);
      log('  longest stretches without an idle sample (ms since the process started):');
      for (const st of p.longest) log(`    ${st.ms.toFixed(0).padStart(5)} ms at ${(st.atMs / 1000).toFixed(2)} s: ${st.top.join(', ')}`);
    }
  }
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    log(`\nwrote ${opts.json}`);
  }
  return ok;
}

let failed = false;
try {
  failed = !(await main());
} catch (error) {
  failed = true;
  process.stderr.write(`\nbench failed: ${error.stack ?? error}\n`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
