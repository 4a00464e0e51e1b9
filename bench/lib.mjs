// Helpers the benches share: process groups and cleanup, temporary folders, free ports,
// /proc CPU accounting, waiting for a quiet machine, percentiles, --help, the commit and
// the JSON output. Plain Node ESM, Linux only (/proc). One bench per process, so the state
// here (what was started, what to remove) is per bench run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const log = (line = '') => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------- --help and results

/** Prints the script's leading `//` comment block (after the shebang) as its usage, and exits. */
export function printHelpAndExit(scriptUrl) {
  const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(1);
  process.stdout.write(`${lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  process.exit(0);
}

/** `git describe` of the checkout, so every result says which code it measured. */
export function gitCommit(root) {
  const git = spawnSync('git', ['-C', root, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return git.stdout?.trim() || 'unknown';
}

/** Writes the figures as pretty JSON (for --json) and says where. */
export function writeJson(file, result, prefix = '\n') {
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`${prefix}wrote ${file}`);
}

// ---------------------------------------------------------------- processes & cleanup
// Every process runs in its own process group (detached), so stopping it also stops whatever
// it started (workerd under the daemon, nginx workers); a bench must never leave any behind.

const children = new Set();
const tempDirs = new Set();
const cleanups = [];

/** Tracks a spawned, detached child: keeps the last 64 KiB of its output for error messages. */
export function adopt(child, name) {
  let output = '';
  const keep = (d) => { output = (output + d.toString()).slice(-64 * 1024); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const handle = { name, child, exited, output: () => output };
  children.add(handle);
  exited.then(() => children.delete(handle));
  return handle;
}

/** Starts `command args` in its own process group, stopped by cleanup() whatever happens. */
export function start(command, args, { env = process.env, name = command } = {}) {
  return adopt(spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), name);
}

export function killGroup(handle, signal) {
  try { process.kill(-handle.child.pid, signal); } catch { /* gone */ }
}

/** SIGTERM (the daemon drains and stops its apps), then SIGKILL the whole group after `graceMs`. */
export async function stop(handle, graceMs = 15_000) {
  if (handle.child.exitCode === null && handle.child.signalCode === null) {
    try { process.kill(handle.child.pid, 'SIGTERM'); } catch { /* gone */ }
    const timer = setTimeout(() => killGroup(handle, 'SIGKILL'), graceMs);
    await handle.exited;
    clearTimeout(timer);
  }
  killGroup(handle, 'SIGKILL'); // anything the process left behind in its group
  children.delete(handle);
}

/** Registers more teardown (an in-process server, a Miniflare): run after the processes stop, before the folders go. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

/** Stops every process started, runs the onCleanup() hooks, removes the temporary folders. */
export async function cleanup() {
  await Promise.all([...children].map((h) => stop(h)));
  for (const fn of cleanups) await fn();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** A temporary folder removed on the way out. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// Last resort when the event loop is going away: synchronous kills only.
process.on('exit', () => {
  for (const h of children) killGroup(h, 'SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything this benchmark started…\n`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- network & numbers

/** A port free on 127.0.0.1 right now (the OS picks it; tiny race until the server binds it). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolvePort(port)); });
    server.once('error', reject);
  });
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ---------------------------------------------------------------- /proc CPU accounting

export const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

/** ppid and CPU ms of one process, or null if it is gone. */
export function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the ")" of the command name, f[0] is field 3 (state): ppid is field 4, utime 14,
    // stime 15, and cutime 16, cstime 17 (children that ended and were waited for).
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLOCK_TICKS_PER_S };
  } catch {
    return null;
  }
}

/** CPU ms used so far by `rootPid` and each of its live descendants, summed by command name. */
export function treeCpuMs(rootPid) {
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
    out[name] = (out[name] ?? 0) + s.cpuMs;
    for (const [c, cs] of all) if (cs.ppid === pid) stack.push(c);
  }
  return out;
}

/** Busy and total CPU ms of the whole machine, from /proc/stat (guest time is already inside user). */
export function machineCpu() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busyMs: (busy * 1000) / CLOCK_TICKS_PER_S, totalMs: ((busy + idle + iowait + steal) * 1000) / CLOCK_TICKS_PER_S };
}

/**
 * Waits up to `maxWaitMs` for a 1 s sample with at most `maxBusyPct` % of the machine busy, so
 * other people's work lands less in the figures. Returns null when quiet, else the last busy %.
 */
export async function untilQuiet(maxWaitMs = 8_000, maxBusyPct = 10) {
  const begun = Date.now();
  let busyPct = 100;
  while (Date.now() - begun < maxWaitMs) {
    const before = machineCpu();
    await sleep(1_000);
    const after = machineCpu();
    busyPct = (100 * (after.busyMs - before.busyMs)) / Math.max(1, after.totalMs - before.totalMs);
    if (busyPct <= maxBusyPct) return null;
  }
  return busyPct;
}

/** untilQuiet() with the usual warning when the machine stays busy (the bench measures anyway). */
export async function waitQuiet(label) {
  const busyPct = await untilQuiet();
  if (busyPct !== null) log(`      WARNING: the machine stayed busy (${busyPct.toFixed(0)}% CPU) before ${label}; measuring anyway`);
}

/** Runs `fn`; the server tree's CPU by process name, this process's CPU, and the cores other processes used meanwhile. */
export async function accounted(fn, serverPid) {
  const before = treeCpuMs(serverPid);
  const self = process.cpuUsage();
  const m0 = machineCpu();
  const begun = performance.now();
  const result = await fn();
  const wallMs = performance.now() - begun;
  const m1 = machineCpu();
  const after = treeCpuMs(serverPid);
  const mine = process.cpuUsage(self);
  const server = {};
  for (const [k, v] of Object.entries(after)) server[k] = v - (before[k] ?? 0);
  const serverMs = Object.values(server).reduce((a, b) => a + b, 0);
  const selfMs = (mine.user + mine.system) / 1000;
  const otherMs = Math.max(0, m1.busyMs - m0.busyMs - serverMs - selfMs);
  return { result, wallMs, server, selfMs, otherCores: otherMs / wallMs };
}

/** Top self-time functions of the first .cpuprofile in `dir` (paths shown relative to `root`). */
export function summariseProfile(dir, root, top = 15) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return null;
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { callFrame: f } = byId.get(id);
    if (f.functionName === '(idle)') return;
    total += dt;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${f.url.replace(`file://${root}/`, '')}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return { file: join(dir, file), busyMs: total / 1000, rows: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, pct: (100 * us) / total })) };
}

// ---------------------------------------------------------------- /proc memory accounting

/** Resident memory of `rootPid` and its live descendants, summed: now (VmRSS) and each one's peak (VmHWM), in KiB. */
export function treeMemoryKiB(rootPid) {
  const parents = new Map();
  for (const e of readdirSync('/proc')) if (/^\d+$/.test(e)) { const s = procStat(e); if (s) parents.set(Number(e), s.ppid); }
  let rssKiB = 0;
  let peakKiB = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rssKiB += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      peakKiB += Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch { /* gone */ }
    for (const [c, ppid] of parents) if (ppid === pid) stack.push(c);
  }
  return { rssKiB, peakKiB };
}

// ---------------------------------------------------------------- the script's frame

/** Parses the flags (plus --help), or prints the problem and exits 2; prints the usage and exits on --help. */
export function parseOptionsOrExit(scriptUrl, options) {
  let values;
  try {
    ({ values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } } }));
  } catch (error) {
    process.stderr.write(`${error.message}\nrun with --help for usage\n`);
    process.exit(2);
  }
  if (values.help) printHelpAndExit(scriptUrl);
  return values;
}

/** Runs the bench, always cleans up, and exits 1 with the stack when it failed. */
export async function runAndExit(main) {
  let failed = false;
  try {
    await main();
  } catch (error) {
    failed = true;
    process.stderr.write(`\nbench failed: ${error.stack ?? error}\n`);
  } finally {
    await cleanup();
  }
  process.exit(failed ? 1 : 0);
}

/** One GET to 127.0.0.1:`port` on a fresh connection: `{ status, body }` as text; fails past `timeoutMs`. */
export function loopbackGet(port, path, headers, timeoutMs) {
  return new Promise((resolveRes, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveRes({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
