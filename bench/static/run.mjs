#!/usr/bin/env node
// Static-asset benchmark: Plinth's front door against nginx and express + serve-static.
//
//   npm run build && node bench/static/run.mjs [--duration 5] [--warmup 2] [--rounds 3] [--threads 2]
//     [--connections 32] [--revalidate-every 4] [--nginx-workers 1] [--json FILE]
//
// 1. writes one folder with a small (2 KiB) CSS file and a large (1 MiB) JS file;
// 2. serves it three ways, each sending the same headers (Content-Type with charset, strong or
//    server-style ETag, Last-Modified, `Cache-Control: no-cache`, nosniff, `Vary`, Accept-Ranges):
//    Plinth (an app whose `assets` is that folder), nginx (a foreground process, one worker by
//    default: Plinth serves from one event loop, so this compares per core), express+serve-static,
//    and, for reference, the least a bare node:http server can do (Plinth's ceiling); it checks
//    the headers match before measuring;
// 3. for each file, wrk sends GETs where every Nth request revalidates with If-None-Match (→ 304);
//    the servers take turns for --rounds rounds and each one's median counts, so a burst of load
//    from something else on the machine does not land on one server only;
// 4. prints req/s for each server, the ratios, and checks Plinth's app was never started;
// 5. every process started here is stopped on the way out, also on failure or Ctrl-C.
// Targets: Plinth ≥ 0.5× nginx and ≥ 1.5× express on each file. Loopback only. Needs /usr/bin/wrk
// and /usr/sbin/nginx (Debian packages `wrk`, `nginx`) and `npm install` (express, serve-static).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'packages/cli/dist/main.js');
const EXPRESS_SERVER = join(ROOT, 'bench/static/express-server.mjs');
const NODE_CEILING_SERVER = join(ROOT, 'bench/static/node-ceiling.mjs');
const APP = 'static-bench';
const NGINX = '/usr/sbin/nginx';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    'revalidate-every': { type: 'string', default: '4' },
    'nginx-workers': { type: 'string', default: '1' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 20).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
function positive(name, max) {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    process.stderr.write(`--${name} must be an integer from 1 to ${max}, got ${opts[name]}\n`);
    process.exit(2);
  }
  return n;
}
// Bounded, so a typo cannot start an hour-long run or thousands of connections.
const DURATION_S = positive('duration', 120);
const WARMUP_S = positive('warmup', 30);
const ROUNDS = positive('rounds', 20);
const THREADS = positive('threads', 16);
const CONNECTIONS = positive('connections', 1024);
const REVALIDATE_EVERY = positive('revalidate-every', 1000);
const NGINX_WORKERS = positive('nginx-workers', 64);
/** Longest we wait for a server to come up before failing. */
const STEP_TIMEOUT_MS = 30_000;
const TARGET_VS_NGINX = 0.5;
const TARGET_VS_EXPRESS = 1.5;
const FILES = [
  { name: 'small', path: '/small.css', bytes: 2 * 1024 },
  { name: 'large', path: '/large.js', bytes: 1024 * 1024 },
];

// ---------------------------------------------------------------- processes & cleanup

/** Everything started here; each is its own process group so its children go with it. */
const children = new Set();
const tempDirs = new Set();

function start(command, args, { env = process.env, name = command } = {}) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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

function killGroup(handle, signal) {
  try { process.kill(-handle.child.pid, signal); } catch { /* already gone */ }
}

/** SIGTERM, then SIGKILL the whole group after `graceMs`. nginx's master stops its workers on SIGTERM. */
async function stop(handle, graceMs = 15_000) {
  if (handle.child.exitCode === null && handle.child.signalCode === null) {
    try { process.kill(handle.child.pid, 'SIGTERM'); } catch { /* gone */ }
    const timer = setTimeout(() => killGroup(handle, 'SIGKILL'), graceMs);
    await handle.exited;
    clearTimeout(timer);
  }
  killGroup(handle, 'SIGKILL');
  children.delete(handle);
}

async function cleanup() {
  await Promise.all([...children].map((h) => stop(h)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

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

// ---------------------------------------------------------------- helpers

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
    server.once('error', reject);
  });
}

/** One request to 127.0.0.1 on a fresh connection; the body is counted, not kept. */
function send(port, path, { method = 'GET', headers = {}, timeoutMs = 5_000 } = {}) {
  return new Promise((resolveRes, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveRes({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(what, check, handle) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let lastError;
  while (Date.now() < deadline) {
    if (handle.child.exitCode !== null) throw new Error(`${handle.name} exited (${handle.child.exitCode}) while waiting for ${what}:\n${handle.output()}`);
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
}

const log = (line = '') => process.stdout.write(`${line}\n`);
const fmtRps = (n) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------- the site

/** The folder all three servers serve: deterministic CSS and JS text, so every run measures the same bytes. */
function writeSite() {
  const appDir = tempDir('plinth-bench-static-');
  const site = join(appDir, 'public');
  mkdirSync(join(appDir, 'src'), { recursive: true });
  mkdirSync(site);
  const text = (bytes, line) => Buffer.from(Array.from({ length: Math.ceil(bytes / 16) + 1 }, (_, i) => line(i)).join('\n').slice(0, bytes));
  writeFileSync(join(site, 'small.css'), text(FILES[0].bytes, (i) => `.c${i} { margin: ${i % 9}px; color: #${(i * 7919 % 4096).toString(16).padStart(3, '0')}; }`));
  writeFileSync(join(site, 'large.js'), text(FILES[1].bytes, (i) => `export const value${i} = ${(i * 2654435761) % 1000003} + ${i % 17};`));
  writeFileSync(join(appDir, 'plinth.json'), JSON.stringify({ id: APP, name: 'Static bench', version: '1.0.0', assets: 'public', public: ['/*'] }));
  writeFileSync(join(appDir, 'src/index.ts'), "export default { fetch: () => new Response('from fetch', { status: 404 }) };\n");
  return { appDir, site };
}

// ---------------------------------------------------------------- the three servers

async function startPlinth(appDir) {
  const port = await freePort();
  const dataDir = tempDir('plinth-bench-static-data-');
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: `http://localhost:${port}`,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', PLINTH_ADMIN_TOKEN: '',
  };
  const handle = start(process.execPath, [CLI, 'serve'], { env, name: 'plinth daemon' });
  await waitFor('the daemon to listen', async () => (await send(port, '/.well-known/jwks.json', { headers: { host: `localhost:${port}` } })).status === 200, handle);
  const install = spawnSync(process.execPath, [CLI, 'install', appDir], { env, encoding: 'utf8', timeout: 120_000 });
  if (install.status !== 0) throw new Error(`plinth install failed:\n${install.stderr}${install.stdout}`);
  const adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const runtimeState = async () => {
    const res = await send(port, `/api/admin/apps/${APP}`, { headers: { host: `localhost:${port}`, authorization: `Bearer ${adminToken}` } });
    if (res.status !== 200) throw new Error(`admin API answered ${res.status}: ${res.body}`);
    return JSON.parse(res.body.toString()).runtime.state;
  };
  return { name: 'Plinth', handle, port, host: `${APP}.localhost:${port}`, runtimeState };
}

async function startNginx(site) {
  const port = await freePort();
  const dir = tempDir('plinth-bench-nginx-');
  // Temp paths of our own: the defaults under /var/lib/nginx may not exist or be writable.
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, t)};`).join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `daemon off;
user root;
worker_processes ${NGINX_WORKERS};
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
${temps}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server_tokens off;
  types { text/css css; text/javascript js; }
  charset utf-8;
  charset_types text/css text/javascript;
  server {
    listen 127.0.0.1:${port};
    root ${site};
    etag on;
    add_header Cache-Control "no-cache" always;
    add_header X-Content-Type-Options "nosniff" always;
    add_header Vary "Accept-Encoding" always;
  }
}
`);
  const handle = start(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { name: 'nginx' });
  await waitFor('nginx to listen', async () => (await send(port, FILES[0].path)).status === 200, handle);
  return { name: 'nginx', handle, port, host: `127.0.0.1:${port}` };
}

async function startExpress(site) {
  const port = await freePort();
  const handle = start(process.execPath, [EXPRESS_SERVER], { env: { ...process.env, PORT: String(port), ROOT: site, NODE_ENV: 'production' }, name: 'express' });
  await waitFor('express to listen', async () => (await send(port, FILES[0].path)).status === 200, handle);
  return { name: 'express', handle, port, host: `127.0.0.1:${port}` };
}

/** The least a node:http server can do here: Plinth's ceiling, shown to tell Node's cost from Plinth's. */
async function startNodeCeiling(site) {
  const port = await freePort();
  const handle = start(process.execPath, [NODE_CEILING_SERVER], { env: { ...process.env, PORT: String(port), ROOT: site }, name: 'node ceiling' });
  await waitFor('the node ceiling server to listen', async () => (await send(port, FILES[0].path)).status === 200, handle);
  return { name: 'node', handle, port, host: `127.0.0.1:${port}` };
}

// ---------------------------------------------------------------- checks

const COMPARED_HEADERS = ['content-type', 'content-length', 'cache-control', 'x-content-type-options', 'vary', 'accept-ranges', 'etag', 'last-modified'];

/** Every server sends the same bytes, the same header set and a 304 for its own ETag; returns each server's ETag per file. */
async function checkServers(servers, site) {
  const etags = new Map();
  for (const file of FILES) {
    const expected = readFileSync(join(site, file.path));
    log(`  ${file.path} (${expected.byteLength} bytes):`);
    for (const server of servers) {
      const res = await send(server.port, file.path, { headers: { host: server.host } });
      if (res.status !== 200 || !res.body.equals(expected)) throw new Error(`${server.name} answered ${res.status} with ${res.body.byteLength} bytes for ${file.path}`);
      const missing = COMPARED_HEADERS.filter((h) => res.headers[h] === undefined);
      if (missing.length > 0) throw new Error(`${server.name} did not send ${missing.join(', ')} for ${file.path}`);
      const revalidated = await send(server.port, file.path, { headers: { host: server.host, 'if-none-match': res.headers.etag } });
      if (revalidated.status !== 304) throw new Error(`${server.name} answered ${revalidated.status} to If-None-Match for ${file.path}`);
      etags.set(`${server.name} ${file.path}`, res.headers.etag);
      log(`    ${server.name.padEnd(8)} ${COMPARED_HEADERS.filter((h) => !['etag', 'last-modified'].includes(h)).map((h) => `${h}: ${res.headers[h]}`).join(' | ')} | etag: ${res.headers.etag}`);
    }
  }
  return etags;
}

// ---------------------------------------------------------------- wrk

/** Every Nth request on a connection revalidates with the server's own ETag, so it gets 304. */
const WRK_SCRIPT = `
local every = tonumber(os.getenv("BENCH_REVALIDATE_EVERY"))
local host = os.getenv("BENCH_HOST")
local etag = os.getenv("BENCH_ETAG")
local counter = 0
local plain, conditional
init = function(args)
  plain = wrk.format(nil, nil, { ["Host"] = host })
  conditional = wrk.format(nil, nil, { ["Host"] = host, ["If-None-Match"] = etag })
end
request = function()
  counter = counter + 1
  if counter % every == 0 then return conditional end
  return plain
end
`;

async function wrk(scriptFile, server, path, etag, durationS) {
  const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${durationS}s`, '--latency', '-s', scriptFile, `http://127.0.0.1:${server.port}${path}`];
  const env = { ...process.env, BENCH_REVALIDATE_EVERY: String(REVALIDATE_EVERY), BENCH_HOST: server.host, BENCH_ETAG: etag };
  const run = start('wrk', args, { env, name: 'wrk' });
  const { code } = await run.exited;
  const out = run.output();
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${out}`);
  const num = (re) => { const m = re.exec(out); return m ? Number(m[1]) : 0; };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(out);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    errors: num(/Non-2xx or 3xx responses:\s+(\d+)/) + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
    transfer: transfer ? `${transfer[1]} ${transfer[2]}/s` : '?',
    p99: /^\s*99%\s+(\S+)/m.exec(out)?.[1] ?? '?',
  };
}

// ---------------------------------------------------------------- main

async function main() {
  for (const tool of ['wrk', NGINX]) {
    if (spawnSync(tool, ['-v']).error) throw new Error(`${tool} is not installed (apt-get install -y ${tool.replace(/.*\//, '')})`);
  }
  log(`static assets bench — ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  log(`wrk -t${THREADS} -c${CONNECTIONS}, ${ROUNDS} rounds of ${DURATION_S} s after ${WARMUP_S} s warm-up; 1 in ${REVALIDATE_EVERY} requests revalidates (304); nginx workers: ${NGINX_WORKERS}`);
  log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (anything above 0 here distorts the figures)`);
  const { appDir, site } = writeSite();
  const plinth = await startPlinth(appDir);
  const servers = [plinth, await startNginx(site), await startExpress(site), await startNodeCeiling(site)];
  log('\nheaders each server sends (checked before measuring):');
  const etags = await checkServers(servers, site);
  const scriptFile = join(tempDir('plinth-bench-wrk-'), 'revalidate.lua');
  writeFileSync(scriptFile, WRK_SCRIPT);

  const results = {};
  for (const file of FILES) {
    results[file.name] = {};
    const runs = new Map(servers.map((server) => [server.name, []]));
    for (const server of servers) await wrk(scriptFile, server, file.path, etags.get(`${server.name} ${file.path}`), WARMUP_S);
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of servers) {
        const r = await wrk(scriptFile, server, file.path, etags.get(`${server.name} ${file.path}`), DURATION_S);
        if (r.errors > 0) throw new Error(`${server.name} had ${r.errors} errors on ${file.path}`);
        runs.get(server.name).push(r);
      }
    }
    for (const server of servers) {
      const sorted = runs.get(server.name).sort((a, b) => a.rps - b.rps);
      const r = sorted[Math.floor(sorted.length / 2)];
      results[file.name][server.name] = { ...r, rounds: sorted.map((x) => Math.round(x.rps)) };
      log(`  ${file.name.padEnd(5)} ${server.name.padEnd(8)} ${fmtRps(r.rps).padStart(8)} req/s (median of ${sorted.map((x) => fmtRps(x.rps)).join(', ')})  ${r.transfer}  p99 ${r.p99}`);
    }
  }
  const state = await plinth.runtimeState();

  log('\n| file | Plinth req/s | nginx req/s | express req/s | bare node:http req/s | Plinth / nginx | Plinth / express | Plinth / bare node |');
  log('|---|---|---|---|---|---|---|---|');
  let met = state === 'stopped';
  for (const file of FILES) {
    const r = results[file.name];
    const vsNginx = r.Plinth.rps / r.nginx.rps;
    const vsExpress = r.Plinth.rps / r.express.rps;
    met &&= vsNginx >= TARGET_VS_NGINX && vsExpress >= TARGET_VS_EXPRESS;
    const mark = (ok) => (ok ? '✓' : '✗');
    const cells = [fmtRps(r.Plinth.rps), fmtRps(r.nginx.rps), fmtRps(r.express.rps), fmtRps(r.node.rps)];
    const ratios = [`${vsNginx.toFixed(2)}× ${mark(vsNginx >= TARGET_VS_NGINX)}`, `${vsExpress.toFixed(2)}× ${mark(vsExpress >= TARGET_VS_EXPRESS)}`, `${(r.Plinth.rps / r.node.rps).toFixed(2)}×`];
    log(`| ${file.name} (${file.bytes / 1024} KiB) | ${[...cells, ...ratios].join(' | ')} |`);
  }
  log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log(`\ntargets: ≥ ${TARGET_VS_NGINX}× nginx, ≥ ${TARGET_VS_EXPRESS}× express; the app stayed ${state} (must be stopped: assets never wake it)`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ results, appState: state, nginxWorkers: NGINX_WORKERS, threads: THREADS, connections: CONNECTIONS, rounds: ROUNDS, durationS: DURATION_S }, null, 2));
  return met;
}

main()
  .then(async (met) => {
    await cleanup();
    process.exit(met ? 0 : 1);
  })
  .catch(async (error) => {
    process.stderr.write(`static bench failed: ${error.stack ?? error}\n`);
    await cleanup();
    process.exit(1);
  });
