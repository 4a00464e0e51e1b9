#!/usr/bin/env node
// Fairness benchmark: what one app's flood of platform calls does to another app's latency.
// One daemon (the test harness's startTestDaemon), two copies of a generated app (`flooder`
// and `victim`, written to a temporary folder):
// 1. unloaded: the victim's `GET /ping` (which makes one `info.get()` platform call) one request
//    at a time from this process for --seconds s: p50 / p99 / max;
// 2. flooded: the same, while `flooder` keeps --parallel `keys.sign` calls of --kib KiB each in
//    flight from inside its workerd (one long request to its /flood route; 429s are counted and
//    retried after a pause, as an app would);
// 3. prints both, the ratio flooded / unloaded (goal: p99 within 3×), the flood's sign calls/s and
//    429s, and the cores other processes used meanwhile. The peer is the victim's own unloaded run.
//
//   npm run build && node bench/fairness/run.mjs [--seconds 10] [--parallel 64] [--kib 1024] [--json FILE]
//
// Loopback only; every process started here is stopped on the way out, also on failure or Ctrl-C.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accounted, gitCommit, log, loopbackGet, onCleanup, parseOptionsOrExit, percentile, runAndExit, tempDir, waitQuiet, writeJson } from '../lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { startTestDaemon, installApp } = await import(join(ROOT, 'packages/host/dist/testing/daemon-harness.js'));

const opts = parseOptionsOrExit(import.meta.url, {
  seconds: { type: 'string', default: '10' },
  parallel: { type: 'string', default: '64' },
  kib: { type: 'string', default: '1024' },
  json: { type: 'string' },
});
const SECONDS = Number(opts.seconds);
const PARALLEL = Number(opts.parallel);
const KIB = Number(opts.kib);
if (!(SECONDS >= 1 && SECONDS <= 120)) { process.stderr.write('--seconds must be 1..120\n'); process.exit(2); }
if (!Number.isInteger(PARALLEL) || PARALLEL < 1 || PARALLEL > 512) { process.stderr.write('--parallel must be 1..512\n'); process.exit(2); }
if (!Number.isInteger(KIB) || KIB < 1 || KIB > 1024) { process.stderr.write('--kib must be 1..1024 (keys.sign takes at most 1 MiB)\n'); process.exit(2); }
const REQUEST_TIMEOUT_MS = 30_000;

function writeApp(dir, id) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ id, name: id, version: '1.0.0', public: ['/*'], limits: { concurrency: 16, memoryMb: 1024, requestTimeoutMs: 300_000 } }));
  writeFileSync(join(dir, 'src/index.ts'), `
import { defineApp, plinth } from '@plinth/guest';
export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/ping') { await plinth(env).info.get(); return new Response('pong'); }
    if (url.pathname === '/flood') {
      const until = Date.now() + Number(url.searchParams.get('ms'));
      // The body is encoded once: the flood then costs the daemon, not this workerd's base64.
      const body = JSON.stringify({ data: btoa('\\x07'.repeat(Number(url.searchParams.get('bytes')))) });
      await plinth(env).keys.getOrCreate('flood');
      let signed = 0, refused = 0, failed = 0;
      const worker = async () => {
        while (Date.now() < until) {
          const response = await env.PLINTH.fetch('http://platform/v1/keys/flood/sign', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
          await response.arrayBuffer();
          if (response.status === 200) signed++;
          else {
            if (response.status === 429) refused++;
            else failed++;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      };
      await Promise.all(Array.from({ length: Number(url.searchParams.get('parallel')) }, worker));
      return Response.json({ signed, refused, failed });
    }
    return new Response('not found', { status: 404 });
  },
});
`);
  return dir;
}

function get(port, host, path) {
  return loopbackGet(port, path, { host }, REQUEST_TIMEOUT_MS);
}

/** Sequential pings of the victim for `ms`: sorted latencies in ms, and non-200 answers. */
async function pings(port, ms) {
  const latencies = [];
  let errors = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const begun = performance.now();
    const answer = await get(port, `victim.localhost:${port}`, '/ping');
    latencies.push(performance.now() - begun);
    if (answer.status !== 200) errors++;
  }
  return { sorted: latencies.sort((a, b) => a - b), errors };
}

const summary = ({ sorted, errors }) => ({ n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1), errors });
const fmt = (s) => `n ${s.n}, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(1)} ms, non-200 ${s.errors}`;

await runAndExit(async () => {
  const work = tempDir('plinth-fairness-');
  const daemon = await startTestDaemon({ env: { PLINTH_IDLE_STOP_MS: '600000' } });
  onCleanup(() => daemon.stop());
  installApp(daemon, writeApp(join(work, 'flooder'), 'flooder'));
  installApp(daemon, writeApp(join(work, 'victim'), 'victim'));
  const port = daemon.port;
  for (const id of ['flooder', 'victim']) if ((await get(port, `${id}.localhost:${port}`, '/ping')).status !== 200) throw new Error(`${id} does not answer`);
  await pings(port, 1_000); // warm-up

  log(`fairness: ${PARALLEL} parallel keys.sign of ${KIB} KiB from one app vs. another app's GET /ping (one info.get() each), ${SECONDS} s each; commit ${gitCommit(ROOT)}`);
  await waitQuiet('the unloaded run');
  const unloaded = await accounted(() => pings(port, SECONDS * 1000), daemon.process.pid);
  log(`  unloaded: ${fmt(summary(unloaded.result))}; other processes used ${unloaded.otherCores.toFixed(2)} cores`);

  await waitQuiet('the flooded run');
  const flood = get(port, `flooder.localhost:${port}`, `/flood?ms=${SECONDS * 1000 + 1500}&parallel=${PARALLEL}&bytes=${KIB * 1024}`);
  await new Promise((r) => setTimeout(r, 1000)); // the flood reaches its steady state
  const flooded = await accounted(() => pings(port, SECONDS * 1000), daemon.process.pid);
  const floodAnswer = await flood;
  const floodResult = floodAnswer.status === 200 ? JSON.parse(floodAnswer.body) : { error: floodAnswer.body };
  log(`  flooded:  ${fmt(summary(flooded.result))}; other processes used ${flooded.otherCores.toFixed(2)} cores`);
  log(`  flood: ${JSON.stringify(floodResult)} (${((floodResult.signed ?? 0) / (SECONDS + 1.5)).toFixed(0)} signs/s)`);
  const u = summary(unloaded.result);
  const f = summary(flooded.result);
  log(`  ratio flooded / unloaded: p50 ${(f.p50 / u.p50).toFixed(2)}×, p99 ${(f.p99 / u.p99).toFixed(2)}× (goal: p99 ≤ 3×)`);
  if (opts.json) writeJson(opts.json, { commit: gitCommit(ROOT), seconds: SECONDS, parallel: PARALLEL, kib: KIB, unloaded: u, flooded: f, flood: floodResult });
});
