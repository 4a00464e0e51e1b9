#!/usr/bin/env node
// Socket message memory: the peak resident memory of an echo app's workerd while large
// WebSocket messages go through it (client → daemon → app → daemon → client).
// Each round starts a fresh app process (the daemon stops it after 2 s idle, and a small
// echo starts it again), so that garbage from earlier sizes does not count, and resets its
// peak RSS (`5` into /proc/<pid>/clear_refs for every process of its tree). It then sends
// `--messages` messages of one size and kind (binary, text) one after the other, each once
// the previous echo came back and matched byte for byte, and reads the peak (VmHWM, summed
// over the tree, as the supervisor sums VmRSS for `limits.memoryMb`) after the first and
// after the last: the garbage of earlier messages that V8 has not yet collected counts too.
// Each size runs `--rounds` times; the table has the largest peaks. Last, for each of
// `--sequences-mib`, one fresh process gets Autobahn's 9.1 and 9.2 sizes in their order
// (text, then binary: 64 KiB, 256 KiB, 1, 4, 8, 16 MiB, up to that size). The app answers
// with `socket.send(data)`, nothing else.
// The app's `memoryMb` is `--memory-mb` (default 1024, so that the peak can be seen whole);
// with `--memory-mb 128` (the default limit) a size whose peak passes 128 MiB is killed,
// and the table says so.
//
//   npm run build && node bench/socket-memory/run.mjs [--sizes-mib 1,4,8,16] [--rounds 2]
//     [--messages 4] [--sequences-mib 8,16] [--memory-mb 1024] [--json FILE]
//
// Loopback only; stops the daemon (and its workerd) on the way out. Runs about a minute.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort, gitCommit, log, loopbackGet, parseOptionsOrExit, runAndExit, start, tempDir, writeJson } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const APP_ID = 'echo-memory';
const STEP_TIMEOUT_MS = 60_000;
const MIB = 1024 * 1024;
/** The daemon stops an idle app after this long, so that each round gets a fresh process; longer than a large message takes to arrive. */
const IDLE_STOP_MS = 2_000;

const opts = parseOptionsOrExit(import.meta.url, {
  'sizes-mib': { type: 'string', default: '1,4,8,16' },
  rounds: { type: 'string', default: '2' },
  messages: { type: 'string', default: '4' },
  'sequences-mib': { type: 'string', default: '8,16' },
  'memory-mb': { type: 'string', default: '1024' },
  json: { type: 'string' },
});
const SIZES_MIB = opts['sizes-mib'].split(',').map(Number);
const ROUNDS = Number(opts.rounds);
const MEMORY_MB = Number(opts['memory-mb']);
const MESSAGES = Number(opts.messages);
const SEQUENCES_MIB = opts['sequences-mib'] ? opts['sequences-mib'].split(',').map(Number) : [];
if (SIZES_MIB.some((n) => !(n > 0 && n <= 60)) || !(ROUNDS >= 1 && ROUNDS <= 10) || !(MESSAGES >= 1 && MESSAGES <= 20) || SEQUENCES_MIB.some((n) => !(n >= 1 && n <= 60)) || !(MEMORY_MB >= 32 && MEMORY_MB <= 4096)) {
  process.stderr.write('--sizes-mib: sizes in (0, 60]; --rounds: 1..10; --messages: 1..20; --sequences-mib: sizes in [1, 60]; --memory-mb: 32..4096\n');
  process.exit(2);
}

const APP_SOURCE = `import { defineApp } from '@plinth/guest';
export default defineApp({ websocket: { message(socket, data) { socket.send(data); } } });
`;

function writeApp(dir) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src/index.ts'), APP_SOURCE);
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({
    id: APP_ID, name: 'Echo (memory bench)', version: '1.0.0', main: 'src/index.ts', public: ['/*'],
    limits: { memoryMb: MEMORY_MB },
  }));
}

/** The process and its descendants. */
function tree(rootPid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parents) if (ppid === pids[i]) pids.push(pid);
  return pids;
}

function peakKiB(pids) {
  let kib = 0;
  for (const pid of pids) {
    try { kib += Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { /* gone */ }
  }
  return kib;
}

/** Sets each process's peak back to its current RSS (proc(5), clear_refs). */
function resetPeak(pids) {
  for (const pid of pids) {
    try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { /* gone */ }
  }
}

async function waitFor(what, check) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try { if (await check()) return; } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function openSocket(port) {
  // No permessage-deflate: it would only slow the transfer (the app never sees it), and random bytes grow when deflated.
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: `${APP_ID}.localhost:${port}` }, maxPayload: 64 * MIB, perMessageDeflate: false });
  const waiters = [];
  const closed = new Promise((r) => ws.once('close', (code) => r(code)));
  ws.on('message', (data, isBinary) => waiters.shift()?.({ data: Buffer.from(data), isBinary }));
  const next = () => new Promise((resolveNext, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo in time')), STEP_TIMEOUT_MS);
    waiters.push((m) => { clearTimeout(timer); resolveNext(m); });
    closed.then((code) => { clearTimeout(timer); reject(new Error(`socket closed with ${code}`)); });
  });
  return new Promise((resolveOpen, reject) => {
    ws.once('open', () => resolveOpen({ ws, next }));
    ws.once('error', reject);
  });
}

async function main() {
  const port = await freePort();
  const dataDir = tempDir('plinth-socket-memory-');
  const appDir = tempDir('plinth-socket-memory-app-');
  writeApp(appDir);
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
    PLINTH_SOCKET_MESSAGE_BYTES_MAX: String(64 * MIB), PLINTH_APP_MEMORY_MB_MAX: '4096', PLINTH_IDLE_STOP_MS: String(IDLE_STOP_MS),
  };
  const daemon = start(process.execPath, [CLI, 'serve'], { env, name: 'daemon' });
  await waitFor('the daemon to listen', async () => (await loopbackGet(port, '/.well-known/jwks.json', { host: `localhost:${port}` }, 1_000)).status === 200);
  const install = spawnSync(process.execPath, [CLI, 'install', appDir], { env, encoding: 'utf8', timeout: 60_000 });
  if (install.status !== 0) throw new Error(`plinth install failed:\n${install.stderr}${install.stdout}`);
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const appView = async () => JSON.parse((await loopbackGet(port, `/api/admin/apps/${APP_ID}`, { host: `localhost:${port}`, authorization: `Bearer ${token}` }, 5_000)).body);

  const rows = [];
  let socket = await openSocket(port);
  // Made before the app is started, and hashed once: a pause of 1 s would let the daemon stop the app.
  const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
  const makeMessage = (bytes, binary) => {
    const data = binary ? randomBytes(bytes) : Buffer.from(randomBytes((bytes * 3) / 4).toString('base64'));
    return { data, binary, hash: sha256(data) };
  };
  const killed = () => /runtime\.memory_exceeded/.test(spawnSync(process.execPath, [CLI, 'logs', APP_ID], { env, encoding: 'utf8' }).stdout);
  /**
   * Sends one message and checks its echo: true, or why not. The socket may have closed (the
   * app was killed, and the retries too), or the echo came from a new process (a retry after
   * a kill), whose peak is not the one being measured.
   */
  const echo = async ({ data: message, binary, hash }, pid) => {
    socket.ws.send(message, { binary });
    try {
      const answer = await socket.next();
      const same = sha256(answer.data) === hash;
      if (!same || answer.isBinary !== binary) throw new Error(`the echo differs from the message`);
      if ((await appView()).runtime.pid !== pid) return 'the app was restarted on the way';
      return true;
    } catch (error) {
      socket.ws.terminate();
      socket = await openSocket(port);
      return error.message;
    }
  };
  for (const mib of SIZES_MIB) {
    for (const binary of [true, false]) {
      const row = { mib, kind: binary ? 'binary' : 'text', idleMiB: 0, firstMiB: 0, peakMiB: 0, killed: false };
      for (let round = 0; round < ROUNDS && !row.error; round++) {
        const messages = Array.from({ length: MESSAGES }, () => makeMessage(mib * MIB, binary));
        await waitFor('the app to stop when idle', async () => (await appView()).runtime.state === 'stopped');
        // A small echo starts a fresh process, whose pid is then known.
        socket.ws.send('warm');
        await socket.next();
        const pids = tree((await appView()).runtime.pid);
        resetPeak(pids);
        row.idleMiB = Math.max(row.idleMiB, peakKiB(pids) / 1024);
        for (let m = 0; m < MESSAGES && !row.error; m++) {
          const answered = await echo(messages[m], pids[0]);
          if (answered !== true) {
            row.error = answered;
            row.killed = killed();
            break;
          }
          if (m === 0) row.firstMiB = Math.max(row.firstMiB, peakKiB(pids) / 1024);
          row.peakMiB = Math.max(row.peakMiB, peakKiB(pids) / 1024);
        }
      }
      rows.push(row);
      const figure = (mib) => (mib ? `${mib.toFixed(0).padStart(4)} MiB` : '     —  ');
      log(`${String(mib).padStart(3)} MiB ${row.kind.padEnd(6)}  idle ${figure(row.idleMiB)}  after one ${figure(row.firstMiB)}  after ${MESSAGES} ${figure(row.peakMiB)}${row.killed ? `  killed at memoryMb ${MEMORY_MB}` : row.error ? `  ${row.error}` : ''}`);
    }
  }
  // Autobahn's sections 9.1 and 9.2 in their order, in one process: text, then binary, 64 KiB up to the largest size.
  const sequences = [];
  for (const maxMib of SEQUENCES_MIB) {
    const sizesKiB = [...new Set([64, 256, 1024, 4096, 8192, 16384].filter((kib) => kib < maxMib * 1024).concat(maxMib * 1024))];
    const sequence = { maxMib, sizesKiB, idleMiB: 0, peakMiB: 0 };
    const messages = [false, true].flatMap((binary) => sizesKiB.map((kib) => ({ kib, ...makeMessage(kib * 1024, binary) })));
    await waitFor('the app to stop when idle', async () => (await appView()).runtime.state === 'stopped');
    socket.ws.send('warm');
    await socket.next();
    const pids = tree((await appView()).runtime.pid);
    resetPeak(pids);
    sequence.idleMiB = peakKiB(pids) / 1024;
    for (const message of messages) {
      const answered = await echo(message, pids[0]);
      if (answered !== true) {
        sequence.error = `${message.kib} KiB ${message.binary ? 'binary' : 'text'}: ${answered}`;
        sequence.killed = killed();
        break;
      }
    }
    sequence.peakMiB = peakKiB(pids) / 1024;
    sequences.push(sequence);
    log(`Autobahn 9.1-9.2 order, 64 KiB..${maxMib} MiB text, then binary  idle ${sequence.idleMiB.toFixed(0)} MiB  peak ${sequence.error ? '—' : `${sequence.peakMiB.toFixed(0)} MiB`}${sequence.killed ? `  killed at memoryMb ${MEMORY_MB}` : sequence.error ? `  ${sequence.error}` : ''}`);
  }
  socket.ws.close();
  if (daemon.child.exitCode !== null) throw new Error(`the daemon exited:\n${daemon.output()}`);
  if (opts.json) writeJson(opts.json, { commit: gitCommit(ROOT), memoryMb: MEMORY_MB, rounds: ROUNDS, messages: MESSAGES, rows, sequences });
}

await runAndExit(main);
