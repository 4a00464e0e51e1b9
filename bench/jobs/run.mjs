#!/usr/bin/env node
// Jobs benchmark: N no-op jobs, end to end (enqueue → alarm → run → settled), per second.
// 1. Plinth: the bench app (bench/jobs/app) enqueues N jobs with `plinth(env).jobs.enqueue`,
//    one after another in one request (a burst); the host alarm wakes the app and the SDK's
//    runner runs them (at most 4 at once per wake-up). A wrapper in the app times every
//    wake-up; handlers note their start time in memory, so measuring adds no SQL work.
// 2. Miniflare 4 (npm `miniflare`, the runtime of `wrangler dev`): the same workload the
//    Durable Object way (bench/jobs/miniflare-queue.js): one SQLite-backed, persisted Durable
//    Object keeps the items in its storage and its alarm handler claims up to 4 due items at a
//    time, runs them and settles each, like Plinth's runner.
// Two workloads on each:
//  - burst: N jobs due at once, enqueued in a loop while the runner already drains them;
//    jobs/s = N / (first enqueue → last job settled), all on the app's clock;
//  - drain: N jobs enqueued with one common runAt after the enqueue loop has finished, so the
//    wake-ups drain a full queue: jobs/s = N / (runAt → last job settled).
// Prints jobs/s and the ratio Plinth / Miniflare, enqueues/s, the wake-ups needed, jobs per
// wake-up, the p50/p99 enqueue-to-run delay (burst) or runAt-to-run delay (drain), the time
// a wake-up spends before its first and after its last job, the gap between wake-ups, the
// CPU per job of each side's processes, and (Plinth) the platform calls one enqueue makes,
// each timed alone in the app.
//
//   npm run build && node bench/jobs/run.mjs [--n 500] [--rounds 1] [--json FILE]
//
// Loopback only; every process started here is stopped on the way out, also on failure or Ctrl-C.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, gitCommit, log, machineCpu, onCleanup, parseOptionsOrExit, procStat, runAndExit, start, stop, tempDir, waitQuiet, writeJson } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const APP = join(ROOT, 'bench/jobs/app');
const APP_ID = 'jobsbench';
const MINIFLARE_SCRIPT = join(ROOT, 'bench/jobs/miniflare-queue.js');
const require = createRequire(join(ROOT, 'packages/host/package.json'));
const STEP_TIMEOUT_MS = 30_000;
/** Longest a workload may take from its enqueue request to its last job; the bench fails after that. */
const WORKLOAD_TIMEOUT_MS = 60_000;
const POLL_MS = 50;
const WARMUP_JOBS = 50;
const ANATOMY_CALLS = 100;

const opts = parseOptionsOrExit(import.meta.url, {
  n: { type: 'string', default: '500' },
  rounds: { type: 'string', default: '1' },
  json: { type: 'string' },
});
const N = Number(opts.n);
const ROUNDS = Number(opts.rounds);
// The app keeps 1,000 finished jobs (JOBS_FINISHED_KEPT) and prunes older ones, so N is at most that.
if (!Number.isInteger(N) || N < 10 || N > 1000) { process.stderr.write('--n must be 10..1000 (Plinth keeps 1,000 finished jobs)\n'); process.exit(2); }
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 5) { process.stderr.write('--rounds must be 1..5\n'); process.exit(2); }

let miniflare = null;
onCleanup(async () => {
  if (miniflare) await miniflare.dispose().catch(() => undefined);
  miniflare = null;
});

// ---------------------------------------------------------------- helpers

const fmtRate = (n) => Math.round(n).toLocaleString('en-US');
const fmtRatio = (x) => `${x >= 1 ? x.toFixed(2) : x.toFixed(3)}×`;
const fmtMs = (ms) => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);


function request(port, host, method, path, timeoutMs = WORKLOAD_TIMEOUT_MS) {
  return new Promise((resolveRes, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveRes({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
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

/** Nearest-rank percentile of a sorted array. */
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

// ---------------------------------------------------------------- /proc CPU accounting

/** CPU ms of a process tree by name; the root is named `rootName`, and `skipRoot` leaves it out. */
function treeCpuMs(rootPid, rootName, skipRoot = false) {
  const all = new Map();
  for (const e of readdirSync('/proc')) if (/^\d+$/.test(e)) { const s = procStat(e); if (s) all.set(Number(e), s); }
  const out = {};
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const s = all.get(pid);
    if (!s) continue;
    let name = '?';
    try { name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* gone */ }
    if (pid === rootPid) name = rootName;
    else if (name === 'node') name = 'sql engine (node)';
    if (!(skipRoot && pid === rootPid)) out[name] = (out[name] ?? 0) + s.cpuMs;
    for (const [c, cs] of all) if (cs.ppid === pid) stack.push(c);
  }
  return out;
}
// ---------------------------------------------------------------- one workload, on either side

/** /proc snapshot of the server tree, this process and the machine, to account a phase. */
function cpuSnapshot(serverPid, rootName, skipRoot) {
  return { at: performance.now(), tree: treeCpuMs(serverPid, rootName, skipRoot), self: process.cpuUsage(), machine: machineCpu() };
}
/** CPU per job of the server's processes between two snapshots, and the cores other processes used. */
function cpuBetween(a, b, n) {
  const wallMs = Math.max(1, b.at - a.at);
  const perJob = {};
  let serverMs = 0;
  for (const [k, v] of Object.entries(b.tree)) {
    const ms = v - (a.tree[k] ?? 0);
    serverMs += ms;
    if (ms > 0) perJob[k] = ms / n;
  }
  const selfMs = (b.self.user - a.self.user + b.self.system - a.self.system) / 1000;
  const otherMs = Math.max(0, b.machine.busyMs - a.machine.busyMs - serverMs - selfMs);
  return { wallMs, cpuMsPerJob: perJob, otherCores: otherMs / wallMs };
}

/**
 * Enqueues N jobs through `call` (the app's /enqueue), waits until all have run and settled,
 * and reduces the app's records. `delayMs` > 0 gives every job the same runAt (drain).
 */
async function workload(call, label, delayMs, cpu) {
  const s0 = cpu();
  const enq = await call('POST', `/enqueue?n=${N}${delayMs ? `&delayMs=${delayMs}` : ''}`);
  const s1 = cpu();
  const deadline = Date.now() + WORKLOAD_TIMEOUT_MS;
  for (;;) {
    const status = await call('GET', '/status');
    if (status.started >= N && !status.inWake) break;
    if (Date.now() > deadline) throw new Error(`${label}: only ${status.started} of ${N} jobs ran within ${WORKLOAD_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
  const s2 = cpu();
  let results;
  for (;;) {
    results = await call('GET', '/results');
    if (results.jobs.filter((j) => j.state === 'succeeded').length >= N) break;
    if (Date.now() > deadline) throw new Error(`${label}: jobs did not settle: ${JSON.stringify(results.jobs.filter((j) => j.state !== 'succeeded').slice(0, 3))}`);
    await sleep(POLL_MS);
  }
  const { jobs, wakes } = results;
  if (jobs.length !== N || jobs.some((j) => j.startedAt === null)) throw new Error(`${label}: expected ${N} jobs that ran once, found ${jobs.length}`);
  const lastFinished = Math.max(...jobs.map((j) => j.finishedAt));
  const from = delayMs ? enq.runAt : enq.begun;
  const e2eMs = Math.max(1, lastFinished - from);
  const delays = jobs.map((j) => j.startedAt - (delayMs ? j.runAt : j.createdAt)).sort((a, b) => a - b);
  const working = wakes.filter((w) => w.ran > 0);
  const gaps = wakes.slice(1).map((w, i) => w.start - wakes[i].end);
  return {
    n: N,
    enqueueMs: enq.ended - enq.begun,
    enqueuesPerSecond: (N / Math.max(1, enq.ended - enq.begun)) * 1000,
    // Drain is only a clean drain if the enqueue loop was done before the jobs came due.
    overlapped: delayMs ? enq.ended > enq.runAt : null,
    e2eMs,
    jobsPerSecond: (N / e2eMs) * 1000,
    wakeUps: wakes.length,
    emptyWakeUps: wakes.length - working.length,
    jobsPerWake: { mean: N / Math.max(1, working.length), max: Math.max(0, ...wakes.map((w) => w.ran)) },
    delayMs: { p50: pct(delays, 50), p99: pct(delays, 99), max: delays[delays.length - 1] },
    wake: {
      // Before the first job: the runner's schema batch, schedule check, first claim (Plinth).
      beforeFirstJobMs: mean(working.map((w) => w.firstRun - w.start)),
      // After the last job started: its settle, pruning, next-wake queries and alarm set (Plinth).
      afterLastJobMs: mean(working.map((w) => w.end - w.lastRun)),
      meanMs: mean(wakes.map((w) => w.end - w.start)),
      // From one wake-up's end to the next one's start: the platform's turnaround.
      gapMs: { mean: mean(gaps), p50: pct([...gaps].sort((a, b) => a - b), 50) },
    },
    // Burst: enqueue and run overlap, so only the whole is accounted. Drain: the enqueue
    // request, then the run (from the enqueue's answer, idle until runAt, to the last job).
    cpu: delayMs ? { enqueue: cpuBetween(s0, s1, N), run: cpuBetween(s1, s2, N) } : { total: cpuBetween(s0, s2, N) },
  };
}

function describe(r, kind) {
  const delayWhat = kind === 'drain' ? 'runAt → run' : 'enqueue → run';
  return [
    `${fmtRate(r.jobsPerSecond)} jobs/s end to end (${r.n} in ${fmtMs(r.e2eMs)})`,
    `enqueue ${fmtRate(r.enqueuesPerSecond)}/s (${fmtMs(r.enqueueMs)})${r.overlapped ? ' ⚠ overlapped the drain' : ''}`,
    `${r.wakeUps} wake-ups (${r.emptyWakeUps} empty, ${r.jobsPerWake.mean.toFixed(1)} jobs each, max ${r.jobsPerWake.max})`,
    `${delayWhat} p50 ${fmtMs(r.delayMs.p50)}, p99 ${fmtMs(r.delayMs.p99)}`,
    `per wake-up ${fmtMs(r.wake.beforeFirstJobMs)} before the first job, ${fmtMs(r.wake.afterLastJobMs)} after the last, gap ${Number.isFinite(r.wake.gapMs.p50) ? fmtMs(r.wake.gapMs.p50) : '–'} (p50)`,
  ];
}

/** Warm-up (which also times the enqueue alone), then per round: burst and drain, each after a quiet moment. */
async function runSide(side, call, cpu) {
  // Warm-up jobs come due after their enqueue loop, so it times enqueues alone, for drain's runAt.
  const warm = await call('POST', `/enqueue?n=${WARMUP_JOBS}&delayMs=2000`);
  const enqueueMsPerJob = (warm.ended - warm.begun) / WARMUP_JOBS;
  const warmDeadline = Date.now() + WORKLOAD_TIMEOUT_MS;
  while ((await call('GET', '/status')).started < WARMUP_JOBS) {
    if (Date.now() > warmDeadline) throw new Error(`${side}: the warm-up jobs did not run`);
    await sleep(POLL_MS);
  }
  await sleep(300);
  await call('POST', '/reset');
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const out = {};
    for (const kind of ['burst', 'drain']) {
      await waitQuiet(`${side} ${kind}`);
      // Drain: runAt after the enqueue loop, judged from the warm-up's and the burst's enqueue rate, with a margin.
      const perJob = kind === 'drain' ? Math.min(enqueueMsPerJob, out.burst.enqueueMs / N) : 0;
      const delayMs = kind === 'drain' ? Math.round(Math.max(1_000, N * perJob * 1.5 + 500)) : 0;
      const r = await workload(call, `${side} ${kind}`, delayMs, cpu);
      out[kind] = r;
      log(`[${side}] round ${round} ${kind}: ${describe(r, kind).join('; ')}; ${cpuText(r)}`);
      await call('POST', '/reset');
    }
    rounds.push(out);
  }
  return rounds;
}

function cpuText(r) {
  const fmt = (c) => `${Object.entries(c.cpuMsPerJob).filter(([, ms]) => ms >= 0.005).map(([k, ms]) => `${k} ${(ms * 1000).toFixed(0)} µs`).join(' + ') || '–'} (other load ${c.otherCores.toFixed(2)} cores)`;
  return r.cpu.total ? `CPU per job ${fmt(r.cpu.total)}` : `CPU per job to enqueue ${fmt(r.cpu.enqueue)}, to run ${fmt(r.cpu.run)}`;
}
const otherLoad = (r) => Math.max(...Object.values(r.cpu).map((c) => c.otherCores));

// ---------------------------------------------------------------- Plinth

async function runPlinth() {
  const port = await freePort();
  const dataDir = tempDir('plinth-jobsbench-');
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
  };
  const daemon = start(process.execPath, [CLI, 'serve'], { env, name: 'daemon' });
  try {
    await waitFor('the daemon to listen', async () => (await request(port, `localhost:${port}`, 'GET', '/.well-known/jwks.json', 1_000)).status === 200, daemon);
    const install = spawnSync(process.execPath, [CLI, 'install', APP], { env, encoding: 'utf8', timeout: 60_000 });
    if (install.status !== 0) throw new Error(`plinth install failed:\n${install.stderr}${install.stdout}`);
    const host = `${APP_ID}.localhost:${port}`;
    log(`[plinth] daemon on 127.0.0.1:${port}, app ${host}; warming up with ${WARMUP_JOBS} jobs`);
    const call = async (method, path) => {
      const res = await request(port, host, method, path);
      if (res.status !== 200) throw new Error(`plinth ${method} ${path}: ${res.status} ${res.body}`);
      return JSON.parse(res.body);
    };
    const rounds = await runSide('plinth', call, () => cpuSnapshot(daemon.child.pid, 'daemon (node)', false));
    // Where an enqueue's time goes: its platform calls, each timed alone inside the app.
    await waitQuiet('plinth enqueue anatomy');
    const anatomy = await call('POST', `/anatomy?n=${ANATOMY_CALLS}`);
    return { rounds, anatomy };
  } finally {
    await stop(daemon);
  }
}

// ---------------------------------------------------------------- Miniflare

async function runMiniflare() {
  const { Miniflare } = await import(pathToFileURL(require.resolve('miniflare')).href);
  miniflare = new Miniflare({
    modules: true,
    compatibilityDate: '2025-09-01',
    scriptPath: MINIFLARE_SCRIPT,
    durableObjects: { QUEUE: { className: 'JobQueue', useSQLite: true } },
    durableObjectsPersist: tempDir('miniflare-jobsbench-'),
  });
  await miniflare.ready;
  log(`[miniflare] Durable Object JobQueue (SQLite-backed, persisted); warming up with ${WARMUP_JOBS} jobs`);
  const call = async (method, path) => {
    const res = await miniflare.dispatchFetch(`http://localhost${path}`, { method });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`miniflare ${method} ${path}: ${res.status} ${body}`);
    return JSON.parse(body);
  };
  try {
    // workerd runs as this process's child: count the children, not this process (the poller).
    return { rounds: await runSide('miniflare', call, () => cpuSnapshot(process.pid, 'bench (node)', true)) };
  } finally {
    await miniflare.dispose();
    miniflare = null;
  }
}

// ---------------------------------------------------------------- main

function best(rounds, kind) {
  return rounds.map((r) => r[kind]).sort((a, b) => b.jobsPerSecond - a.jobsPerSecond)[0];
}

async function main() {
  const miniflareVersion = JSON.parse(readFileSync(require.resolve('miniflare/package.json'), 'utf8')).version;
  const result = { date: new Date().toISOString(), commit: gitCommit(ROOT), machine: { cpus: cpus().length, node: process.version }, settings: { n: N, rounds: ROUNDS, miniflare: miniflareVersion } };
  log(`jobs bench at ${result.commit}: ${result.machine.cpus} cores, node ${process.version}, miniflare ${miniflareVersion}, loopback; N = ${N} no-op jobs, ${ROUNDS} round(s)\n`);
  result.plinth = await runPlinth();
  result.miniflare = await runMiniflare();

  log('\n=== jobs: N no-op jobs, enqueue → alarm → run (best round) ===');
  const header = ['', 'jobs/s', 'enqueues/s', 'wake-ups', 'delay p50', 'delay p99', 'other load'];
  const rows = [header];
  for (const kind of ['burst', 'drain']) {
    for (const side of ['plinth', 'miniflare']) {
      const r = best(result[side].rounds, kind);
      rows.push([`${side === 'plinth' ? 'Plinth' : 'Miniflare DO'} ${kind}`, fmtRate(r.jobsPerSecond), fmtRate(r.enqueuesPerSecond), String(r.wakeUps), fmtMs(r.delayMs.p50), fmtMs(r.delayMs.p99), `${otherLoad(r).toFixed(2)} cores`]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  result.ratios = {};
  for (const kind of ['burst', 'drain']) {
    const p = best(result.plinth.rounds, kind);
    const m = best(result.miniflare.rounds, kind);
    result.ratios[kind] = { jobs: p.jobsPerSecond / m.jobsPerSecond, enqueue: p.enqueuesPerSecond / m.enqueuesPerSecond };
    log(`\n${kind}: Plinth / Miniflare ${fmtRatio(result.ratios[kind].jobs)} jobs/s, ${fmtRatio(result.ratios[kind].enqueue)} enqueues/s`);
    log(`  Plinth:    ${describe(p, kind).slice(2).join('; ')}`);
    log(`             ${cpuText(p)}`);
    log(`  Miniflare: ${describe(m, kind).slice(2).join('; ')}`);
    log(`             ${cpuText(m)}`);
  }
  const a = result.plinth.anatomy.ms;
  log(`\none Plinth enqueue, timed alone in the app (ms per call, ${result.plinth.anatomy.n} calls each): whole enqueue ${a.enqueue.toFixed(2)} = `
    + `jobs.database() schema batch ${a.schema.toFixed(2)} + insert/read-back batch ${a.batch2.toFixed(2)} + alarm.set(onlyIfEarlier) ${a.alarmSet.toFixed(2)}; a bare SELECT 1 round trip ${a.select1.toFixed(2)}`);
  const other = Math.max(...['plinth', 'miniflare'].flatMap((s) => result[s].rounds.flatMap((r) => [otherLoad(r.burst), otherLoad(r.drain)])));
  log(`\nother processes used up to ${other.toFixed(2)} cores during the measured runs${other > 0.15 ? '  WARNING: the machine was not quiet; figures are distorted' : ''}`);
  if (opts.json) writeJson(opts.json, result, '');
}

await runAndExit(main);
