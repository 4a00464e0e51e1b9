#!/usr/bin/env node
// WebSockets benchmark: platform-held sockets in Plinth vs. Pushpin (Debian `pushpin`) with an
// equivalent backend, both on loopback with one client process (client.mjs) holding the sockets:
// 1. memory per idle socket: open N sockets (default 10 000), each tagged/subscribed to one
//    channel; Plinth: the daemon's RSS growth (/proc); Pushpin: the growth of the summed RSS of
//    its processes (runner, condure, zurl, pushpin-proxy, pushpin-handler). Target ≤ 10 KiB.
// 2. echo: sequential round trips through the app on one more socket, with the N sockets open
//    (Plinth: the sockets app's `message` handler; Pushpin: a WebSocket-over-HTTP backend);
//    p50/p99. Target ≥ 1× Pushpin (Pushpin p50 / Plinth p50).
// 3. fan-out: publish to all N sockets (Plinth: a control-socket message whose handler calls
//    `sockets.publish(tag, …)`; Pushpin: an HTTP POST to its publish endpoint); the time until
//    every socket has every message; one publish (median of 3), then `--publishes` back to back
//    for messages/s received. Target ≥ 1× Pushpin.
// Pushpin runs in the foreground from a temporary config with its publish rate limit off
// (message_rate=0; its default of 2500 messages/s would otherwise cap fan-out).
//
//   npm run build && node bench/websockets/run.mjs [--sockets 10000] [--echo 2000] [--publishes 20]
//     [--only plinth|pushpin] [--no-deflate] [--cpu-prof] [--json FILE]
// The client offers permessage-deflate, as browsers do (Plinth accepts it, Pushpin does not);
// --no-deflate makes it not offer it.
//
// Loopback only. Needs Debian packages `pushpin` (with `condure` and `zurl`). Every process
// started here is stopped on the way out, also on failure or Ctrl-C. Runs 2–4 minutes.
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { adopt, parseOptionsOrExit, runAndExit, stop, tempDir, loopbackGet } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = join(ROOT, 'bench/websockets');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const APP_ID = 'wsbench';
const TAG = 'room';
const PAYLOAD = 'f'.repeat(32);
const STEP_TIMEOUT_MS = 30_000;
const OPEN_DEADLINE_MS = 180_000;
const FANOUT_TIMEOUT_MS = 60_000;
const OPEN_CONCURRENCY = 32;
/** Target: idle-socket memory. */
const IDLE_BYTES_TARGET = 10 * 1024;

const opts = parseOptionsOrExit(import.meta.url, {
  sockets: { type: 'string', default: '10000' },
  echo: { type: 'string', default: '2000' },
  publishes: { type: 'string', default: '20' },
  only: { type: 'string' },
  'no-deflate': { type: 'boolean', default: false },
  'cpu-prof': { type: 'boolean', default: false },
  json: { type: 'string' },
});
const SOCKETS = int('sockets', 1, 19_000);
const ECHOES = int('echo', 10, 1_000_000);
const PUBLISHES = int('publishes', 1, 1000);
if (opts.only && !['plinth', 'pushpin'].includes(opts.only)) usage('--only is plinth or pushpin');
function usage(message) { process.stderr.write(`${message}\n`); process.exit(2); }
function int(name, min, max) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${name} must be an integer ${min}..${max}`);
  return n;
}

// ---------------------------------------------------------------- processes & cleanup

/** File descriptors: the sockets need one each in the client and in the server. */
const HARD_NOFILE = (() => {
  const run = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const n = Number(run.stdout.trim());
  return Number.isFinite(n) ? n : 'unlimited';
})();

/** Starts `command args` in its own process group through `sh -c 'ulimit -n <hard>; exec …'` (same pid after exec). */
function start(command, args, { env = process.env, name = command, ipc = false } = {}) {
  const quoted = [command, ...args].map((a) => `'${String(a).replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('sh', ['-c', `ulimit -n ${HARD_NOFILE} 2>/dev/null; exec ${quoted}`], {
    env, detached: true, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])],
  });
  return adopt(child, name);
}

// ---------------------------------------------------------------- helpers

const log = (line = '') => process.stdout.write(`${line}\n`);

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolvePort(port)); });
    server.once('error', reject);
  });
}

function get(port, path, headers = {}, timeoutMs = 5_000) {
  return loopbackGet(port, path, headers, timeoutMs);
}

function tcpOpen(port) {
  return new Promise((resolveOpen) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolveOpen(true); });
    socket.once('error', () => resolveOpen(false));
  });
}

async function waitFor(what, check, handle, intervalMs = 50) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let lastError;
  while (Date.now() < deadline) {
    if (handle && (handle.child.exitCode !== null || handle.child.signalCode !== null)) throw new Error(`${handle.name} exited while waiting for ${what}:\n${handle.output()}`);
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (${lastError.message})` : ''}`);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const fmtMs = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtBytes = (b) => (Math.abs(b) >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${Math.round(b)} B`);

// ---------------------------------------------------------------- /proc: memory and CPU

const CLOCK_TICKS_PER_S = 100;
function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuMs: ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_S };
  } catch {
    return null;
  }
}
function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
function processName(pid) {
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return '?'; }
}
/** `rootPid` and its live descendants. */
function tree(rootPid) {
  const all = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) all.set(Number(entry), stat);
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const stat = all.get(pid);
    if (!stat) continue;
    out.push({ pid, name: processName(pid), cpuMs: stat.cpuMs });
    for (const [child, s] of all) if (s.ppid === pid) stack.push(child);
  }
  return out;
}
function rssByName(rootPid) {
  const out = {};
  for (const p of tree(rootPid)) out[p.name] = (out[p.name] ?? 0) + rssBytes(p.pid);
  return out;
}
function cpuByName(rootPids) {
  const out = {};
  for (const root of rootPids) for (const p of tree(root)) out[p.name] = (out[p.name] ?? 0) + p.cpuMs;
  return out;
}
function machineCpu() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busyMs: (busy * 1000) / CLOCK_TICKS_PER_S, totalMs: ((busy + idle + iowait + steal) * 1000) / CLOCK_TICKS_PER_S };
}
/** Waits up to 8 s for the machine to use ≤ 10 % CPU, so other work lands less in the figures. */
async function waitQuiet(label) {
  const begun = Date.now();
  let busyPct = 100;
  while (Date.now() - begun < 8_000) {
    const before = machineCpu();
    await sleep(1_000);
    const after = machineCpu();
    busyPct = (100 * (after.busyMs - before.busyMs)) / Math.max(1, after.totalMs - before.totalMs);
    if (busyPct <= 10) return;
  }
  log(`      WARNING: the machine stayed busy (${busyPct.toFixed(0)}% CPU) before ${label}; measuring anyway`);
}
/** Runs `fn` and reports the CPU the server trees and the client used, and what everything else used (in cores). */
async function accounted(fn, serverPids, clientPid) {
  const sBefore = cpuByName(serverPids);
  const cBefore = procStat(clientPid)?.cpuMs ?? 0;
  const mBefore = machineCpu();
  const begun = performance.now();
  const result = await fn();
  const wallMs = performance.now() - begun;
  const mAfter = machineCpu();
  const sAfter = cpuByName(serverPids);
  const server = {};
  for (const [k, v] of Object.entries(sAfter)) server[k] = v - (sBefore[k] ?? 0);
  const serverMs = Object.values(server).reduce((a, b) => a + b, 0);
  const clientMs = (procStat(clientPid)?.cpuMs ?? cBefore) - cBefore;
  const otherMs = Math.max(0, mAfter.busyMs - mBefore.busyMs - serverMs - clientMs);
  return { result, cpu: { serverMs: server, clientMs, otherCores: otherMs / wallMs, wallMs } };
}

// ---------------------------------------------------------------- the client process

function startClient() {
  const handle = start(process.execPath, [join(HERE, 'client.mjs')], { name: 'client', ipc: true, env: { ...process.env, BENCH_NO_DEFLATE: opts['no-deflate'] ? '1' : '0' } });
  let nextId = 1;
  const pending = new Map();
  handle.child.on('message', (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`client ${p.cmd}: ${m.error}`));
  });
  handle.exited.then(({ code, signal }) => {
    for (const p of pending.values()) p.reject(new Error(`the client exited (${code ?? signal}):\n${handle.output()}`));
    pending.clear();
  });
  handle.call = (cmd, args = {}) => new Promise((resolveCall, reject) => {
    const id = nextId++;
    pending.set(id, { resolve: resolveCall, reject, cmd });
    handle.child.send({ id, cmd, ...args });
  });
  return handle;
}

// ---------------------------------------------------------------- the shared scenario

/**
 * The same steps for both servers: control socket and warm-up, baseline memory, N idle
 * sockets, memory again, echo with the sockets open, fan-out.
 */
async function scenario(name, { wsUrl, fanUrl, host, memoryRoot, serverPids, fanout }) {
  const client = startClient();
  try {
    const control = await client.call('control', { url: wsUrl, host });
    log(`      control socket open (extensions: ${control.extensions || 'none'}); warming up`);
    await client.call('echo', { n: 300 });
    await sleep(2_000);
    const baseline = rssByName(memoryRoot);
    const baselineTotal = Object.values(baseline).reduce((a, b) => a + b, 0);

    log(`      opening ${fmtInt(SOCKETS)} sockets (${OPEN_CONCURRENCY} handshakes at a time)…`);
    const opened = await client.call('open', { url: fanUrl, host, count: SOCKETS, concurrency: OPEN_CONCURRENCY, deadlineMs: OPEN_DEADLINE_MS });
    log(`      ${fmtInt(opened.open)} open in ${(opened.ms / 1000).toFixed(1)} s (${fmtInt(opened.open / (opened.ms / 1000))} handshakes/s)${opened.failed ? `; ${opened.failed} failed, first: ${opened.firstError}` : ''}`);
    if (opened.open === 0) throw new Error(`${name}: no socket opened: ${opened.firstError}`);
    // Settle: let handshakes' garbage be collected, then take the median of three samples.
    await sleep(3_000);
    const samples = [];
    for (let i = 0; i < 3; i++) {
      samples.push(rssByName(memoryRoot));
      await sleep(1_000);
    }
    const totals = samples.map((s) => Object.values(s).reduce((a, b) => a + b, 0));
    const mid = totals.indexOf([...totals].sort((a, b) => a - b)[1]);
    const loaded = samples[mid];
    const loadedTotal = totals[mid];
    const memory = {
      sockets: opened.open,
      baseline, loaded, baselineTotal, loadedTotal,
      perSocketBytes: (loadedTotal - baselineTotal) / opened.open,
      byProcessPerSocket: Object.fromEntries(Object.keys(loaded).map((k) => [k, (loaded[k] - (baseline[k] ?? 0)) / opened.open])),
    };
    log(`      memory: ${fmtBytes(baselineTotal)} → ${fmtBytes(loadedTotal)}: ${fmtBytes(memory.perSocketBytes)} per idle socket (${Object.entries(memory.byProcessPerSocket).map(([k, v]) => `${k} ${fmtBytes(v)}`).join(', ')})`);

    await waitQuiet(`the ${name} echo run`);
    const echoRun = await accounted(() => client.call('echo', { n: ECHOES }), serverPids, client.child.pid);
    const sorted = [...echoRun.result.samples].sort((a, b) => a - b);
    const echo = { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, cpu: echoRun.cpu };
    log(`      echo × ${fmtInt(ECHOES)}: p50 ${fmtMs(echo.p50)}, p99 ${fmtMs(echo.p99)} (other load ${echoRun.cpu.otherCores.toFixed(2)} cores)`);

    await waitQuiet(`the ${name} fan-out`);
    const single = [];
    for (let i = 0; i < 3; i++) {
      const one = await client.call('fanout', { publishes: 1, ...fanout, timeoutMs: FANOUT_TIMEOUT_MS });
      if (one.timedOut) log(`      WARNING: a single publish reached ${one.received} of ${one.expected} sockets within ${FANOUT_TIMEOUT_MS / 1000} s`);
      single.push(one);
      await sleep(500);
    }
    const singleMs = [...single.map((s) => s.ms)].sort((a, b) => a - b)[1];
    const burstRun = await accounted(() => client.call('fanout', { publishes: PUBLISHES, ...fanout, timeoutMs: FANOUT_TIMEOUT_MS }), serverPids, client.child.pid);
    const burst = burstRun.result;
    const fan = {
      sockets: burst.sockets, singleMs, singles: single.map((s) => s.ms),
      publishes: PUBLISHES, received: burst.received, expected: burst.expected, burstMs: burst.ms, timedOut: burst.timedOut,
      messagesPerSecond: (burst.received / burst.ms) * 1000,
      clientCpuMs: burst.clientCpuMs, cpu: burstRun.cpu,
    };
    log(`      fan-out: one publish to ${fmtInt(fan.sockets)} sockets in ${fmtMs(singleMs)} (median of 3); ${PUBLISHES} publishes: ${fmtInt(fan.received)}/${fmtInt(fan.expected)} messages in ${fmtMs(fan.burstMs)} = ${fmtInt(fan.messagesPerSecond)} messages/s (other load ${burstRun.cpu.otherCores.toFixed(2)} cores)`);
    await client.call('closeAll');
    // Memory once the sockets are gone: what was per socket, and what stays (allocator high-water).
    await sleep(4_000);
    memory.afterClose = rssByName(memoryRoot);
    memory.afterCloseTotal = Object.values(memory.afterClose).reduce((a, b) => a + b, 0);
    log(`      after closing them: ${fmtBytes(memory.afterCloseTotal)} (${Object.entries(memory.afterClose).map(([k, v]) => `${k} ${fmtBytes(v)}`).join(', ')})`);
    return { memory, echo, fanout: fan, open: opened };
  } finally {
    await stop(client, 5_000);
  }
}

// ---------------------------------------------------------------- Plinth

async function runPlinth(profDir) {
  const port = await freePort();
  const dataDir = tempDir('plinth-wsbench-');
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
    // The bench app asks for 20,000 sockets, above the default ceiling of 10,000.
    PLINTH_APP_SOCKETS_MAX: '20000',
  };
  const flags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const daemon = start(process.execPath, [...flags, CLI, 'serve'], { env, name: 'daemon' });
  try {
    await waitFor('the daemon to listen', async () => (await get(port, '/.well-known/jwks.json', { host: `localhost:${port}` }, 1_000)).status === 200, daemon);
    const install = spawnSync(process.execPath, [CLI, 'install', join(HERE, 'app')], { env, encoding: 'utf8', timeout: 60_000 });
    if (install.status !== 0) throw new Error(`plinth install failed:\n${install.stderr}${install.stdout}`);
    const host = `${APP_ID}.localhost:${port}`;
    log(`[plinth] daemon on 127.0.0.1:${port}, app ${host}`);
    const result = await scenario('Plinth', {
      wsUrl: `ws://127.0.0.1:${port}/ws`, fanUrl: `ws://127.0.0.1:${port}/ws?sub=${TAG}`, host,
      // The daemon alone: the app's workerd is reported too, but sockets are held by the daemon.
      memoryRoot: daemon.child.pid, serverPids: [daemon.child.pid],
      fanout: { via: 'ws', tag: TAG, payload: PAYLOAD },
    });
    result.daemonOnlyPerSocketBytes = (result.memory.loaded.node - result.memory.baseline.node) / result.memory.sockets;
    return result;
  } finally {
    await stop(daemon);
  }
}

// ---------------------------------------------------------------- Pushpin

function pushpinConfig(dir, httpPort, publishPort) {
  return `# Written by bench/websockets/run.mjs: loopback ports, a private run folder, no rate limit.
[global]
include={libdir}/internal.conf
rundir=${dir}/run
ipc_prefix=bench-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:${httpPort}
logdir=${dir}/log
log_level=1
client_buffer_size=8192
client_maxconn=50000
condure_bin=condure
zurl_bin=zurl

[proxy]
routesfile=${dir}/routes
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out
debug=false
auto_cross_origin=false
accept_x_forwarded_protocol=false
set_x_forwarded_protocol=proto-only
x_forwarded_for=
x_forwarded_for_trusted=
orig_headers_need_mark=
accept_pushpin_route=false
log_from=false
log_user_agent=false
sig_iss=pushpin
sig_key=changeme
upstream_key=
updates_check=off
organization_name=

[handler]
push_in_spec=ipc://{rundir}/{ipc_prefix}push-in
push_in_sub_specs=ipc://{rundir}/{ipc_prefix}push-in-sub
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port=${publishPort}
push_in_http_max_headers_size=10000
push_in_http_max_body_size=1000000
stats_spec=ipc://{rundir}/{ipc_prefix}stats
command_spec=ipc://{rundir}/{ipc_prefix}command
message_rate=0
message_hwm=10000000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
`;
}

async function runPushpin() {
  if (spawnSync('pushpin', ['--version'], { encoding: 'utf8' }).error) throw new Error('pushpin is not installed (apt-get install -y pushpin)');
  const version = spawnSync('pushpin', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const dir = tempDir('pushpin-wsbench-');
  mkdirSync(join(dir, 'run'));
  mkdirSync(join(dir, 'log'));
  const [httpPort, publishPort, backendPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'routes'), `* 127.0.0.1:${backendPort},over_http\n`);
  writeFileSync(join(dir, 'pushpin.conf'), pushpinConfig(dir, httpPort, publishPort));
  const backend = start(process.execPath, [join(HERE, 'grip-backend.mjs')], { env: { ...process.env, PORT: String(backendPort) }, name: 'grip backend' });
  const pushpin = start('pushpin', ['--config', join(dir, 'pushpin.conf'), '--merge-output'], { name: 'pushpin' });
  try {
    await waitFor('the GRIP backend', () => tcpOpen(backendPort), backend);
    await waitFor('pushpin to listen', async () => (await tcpOpen(httpPort)) && (await tcpOpen(publishPort)), pushpin);
    await sleep(500);
    log(`[pushpin] ${version} on 127.0.0.1:${httpPort} (publish on :${publishPort}) → GRIP backend on :${backendPort}`);
    return { version, ...await scenario('Pushpin', {
      wsUrl: `ws://127.0.0.1:${httpPort}/ws`, fanUrl: `ws://127.0.0.1:${httpPort}/ws?sub=${TAG}`, host: undefined,
      memoryRoot: pushpin.child.pid, serverPids: [pushpin.child.pid, backend.child.pid],
      fanout: { via: 'http', tag: TAG, payload: PAYLOAD, publishUrl: `http://127.0.0.1:${publishPort}/publish/` },
    }) };
  } finally {
    await stop(pushpin);
    await stop(backend);
  }
}

// ---------------------------------------------------------------- CPU profile summary

function summariseProfile(dir, top = 20) {
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
    const where = f.url ? `${f.url.replace(`file://${ROOT}/`, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, us]) => ({ fn, pct: (100 * us) / total }));
  return { file: join(dir, file), busyMs: total / 1000, rows };
}

// ---------------------------------------------------------------- main

function cpuLine(cpu, per, unit) {
  return Object.entries(cpu.serverMs).filter(([, ms]) => ms >= 1).map(([k, ms]) => `${k} ${((ms * 1000) / per).toFixed(1)}`).join(' + ') + ` ${unit}; client ${((cpu.clientMs * 1000) / per).toFixed(1)} ${unit}`;
}

async function main() {
  const git = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  const result = { date: new Date().toISOString(), commit: git.stdout?.trim() || 'unknown', machine: { cpus: cpus().length, node: process.version, nofile: HARD_NOFILE }, settings: { sockets: SOCKETS, echoes: ECHOES, publishes: PUBLISHES, payloadBytes: PAYLOAD.length, deflateOffered: !opts['no-deflate'] } };
  log(`websockets bench at ${result.commit}: ${result.machine.cpus} cores, node ${process.version}, loopback; ${fmtInt(SOCKETS)} sockets, ${fmtInt(ECHOES)} echoes, ${PUBLISHES} publishes of ${PAYLOAD.length} B; open files per process ≤ ${HARD_NOFILE}\n`);
  const profDir = opts['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'plinth-wsbench-prof-')) : null;
  if (opts.only !== 'pushpin') result.plinth = await runPlinth(profDir);
  if (opts.only !== 'plinth') result.pushpin = await runPushpin();
  if (profDir) result.profile = summariseProfile(profDir);

  const p = result.plinth;
  const q = result.pushpin;
  log('\n=== websockets ===');
  const row = (label, r) => log(`${label.padEnd(8)} idle ${fmtBytes(r.daemonOnlyPerSocketBytes ?? r.memory.perSocketBytes).padStart(9)}/socket (${fmtInt(r.memory.sockets)} sockets)   echo p50 ${fmtMs(r.echo.p50).padStart(9)} p99 ${fmtMs(r.echo.p99).padStart(9)}   fan-out ${fmtInt(r.fanout.messagesPerSecond).padStart(8)} msg/s, one publish ${fmtMs(r.fanout.singleMs)}`);
  if (p) row('Plinth', p);
  if (q) row('Pushpin', q);
  if (p) {
    const workerd = p.memory.byProcessPerSocket.workerd ?? 0;
    log(`Plinth memory per idle socket, daemon (which holds the sockets): ${fmtBytes(p.daemonOnlyPerSocketBytes)} (target ≤ ${fmtBytes(IDLE_BYTES_TARGET)}) ${p.daemonOnlyPerSocketBytes <= IDLE_BYTES_TARGET ? 'PASS' : 'FAIL'}; the app's workerd grew ${fmtBytes(workerd)} per socket opened (${fmtBytes(p.memory.loaded.workerd ?? 0)} → ${fmtBytes(p.memory.afterClose.workerd ?? 0)} after all closed)`);
  }
  if (p && q) {
    const fanRatio = p.fanout.messagesPerSecond / q.fanout.messagesPerSecond;
    const echoRatio = q.echo.p50 / p.echo.p50;
    result.ratios = { memory: p.daemonOnlyPerSocketBytes / q.memory.perSocketBytes, memoryWithWorkerd: p.memory.perSocketBytes / q.memory.perSocketBytes, fanout: fanRatio, fanoutSingle: q.fanout.singleMs / p.fanout.singleMs, echoP50: echoRatio, echoP99: q.echo.p99 / p.echo.p99 };
    log(`memory per idle socket Plinth / Pushpin: ${result.ratios.memory.toFixed(2)}× daemon only, ${result.ratios.memoryWithWorkerd.toFixed(2)}× with the app's workerd growth (lower is better)`);
    log(`fan-out Plinth / Pushpin: ${fanRatio.toFixed(2)}× messages/s (target ≥ 1×) ${fanRatio >= 1 ? 'PASS' : 'FAIL'}; one publish ${result.ratios.fanoutSingle.toFixed(2)}× as fast`);
    log(`echo Plinth vs Pushpin: ${echoRatio.toFixed(2)}× at p50, ${result.ratios.echoP99.toFixed(2)}× at p99 (Pushpin time / Plinth time; target ≥ 1×) ${echoRatio >= 1 ? 'PASS' : 'FAIL'}`);
  }
  for (const [label, r] of [['Plinth', p], ['Pushpin', q]]) {
    if (!r) continue;
    log(`CPU ${label}: echo ${cpuLine(r.echo.cpu, r.echo.n, 'µs/echo')}; fan-out ${cpuLine(r.fanout.cpu, r.fanout.received, 'µs/message')}; other load ${r.echo.cpu.otherCores.toFixed(2)} / ${r.fanout.cpu.otherCores.toFixed(2)} cores`);
  }
  if (result.profile) {
    log(`\n=== daemon CPU profile (whole Plinth run; ${result.profile.busyMs.toFixed(0)} ms busy) ===\n${result.profile.file}`);
    for (const r of result.profile.rows) log(`  ${r.pct.toFixed(1).padStart(5)}%  ${r.fn}`);
  }
  if (opts.json) {
    writeFileSync(opts.json, `${JSON.stringify(result, (k, v) => (k === 'samples' ? undefined : v), 2)}\n`);
    log(`\nwrote ${opts.json}`);
  }
}

await runAndExit(main);
