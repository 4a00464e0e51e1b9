#!/usr/bin/env node
// The WebSocket client of bench/websockets, run as its own process (so its sockets and CPU are
// not the server's): holds the idle sockets, times echoes and counts fan-out deliveries.
// Driven by run.mjs over the IPC channel: each message {id, cmd, ...} is answered {id, ok, result|error}.
import WebSocket from 'ws';

const fanSockets = [];
let control = null;
const controlInbox = [];
const controlWaiters = [];
let fan = { count: 0, target: Infinity, done: null, firstAt: 0 };

function connect(url, host) {
  return new Promise((resolve, reject) => {
    // Like browsers, the client offers permessage-deflate unless told not to (BENCH_NO_DEFLATE=1).
    const ws = new WebSocket(url, { headers: host ? { host } : {}, handshakeTimeout: 30_000, perMessageDeflate: process.env.BENCH_NO_DEFLATE !== '1' });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body.slice(0, 200)}`)));
    });
    ws.once('error', reject);
  });
}

function onFanMessage() {
  fan.count++;
  if (fan.count === 1) fan.firstAt = performance.now();
  if (fan.count >= fan.target && fan.done) {
    const done = fan.done;
    fan.done = null;
    done();
  }
}

function nextControl(ms) {
  const ready = controlInbox.shift();
  if (ready !== undefined) return Promise.resolve(ready);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo within ${ms} ms`)), ms);
    controlWaiters.push((m) => { clearTimeout(timer); resolve(m); });
  });
}

const handlers = {
  async control({ url, host }) {
    control = await connect(url, host);
    control.on('message', (data) => {
      const text = data.toString();
      const waiter = controlWaiters.shift();
      if (waiter) waiter(text);
      else controlInbox.push(text);
    });
    return { extensions: control.extensions };
  },

  /** Opens `count` sockets, at most `concurrency` handshakes at a time; stops at the first failure after `maxFailures`. */
  async open({ url, host, count, concurrency, deadlineMs, maxFailures = 20 }) {
    const begun = performance.now();
    let next = 0;
    let failed = 0;
    let firstError = null;
    const worker = async () => {
      while (next < count && failed < maxFailures && performance.now() - begun < deadlineMs) {
        next++;
        try {
          const ws = await connect(url, host);
          ws.on('message', onFanMessage);
          ws.on('error', () => undefined);
          fanSockets.push(ws);
        } catch (error) {
          failed++;
          firstError ??= error.message;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const open = fanSockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    return { open, failed, firstError, ms: performance.now() - begun };
  },

  /** Sequential round trips on the control socket: send `echo:<i>`, wait for `<i>`. */
  async echo({ n, timeoutMs = 10_000 }) {
    const samples = [];
    for (let i = 0; i < n; i++) {
      const begun = process.hrtime.bigint();
      control.send(`echo:${i}`);
      const reply = await nextControl(timeoutMs);
      samples.push(Number(process.hrtime.bigint() - begun) / 1e6);
      if (reply !== String(i)) throw new Error(`echo ${i} came back as ${JSON.stringify(reply.slice(0, 80))}`);
    }
    return { samples };
  },

  /**
   * Fires `publishes` publishes to every fan socket and waits until each socket has them all.
   * via 'ws': control-socket messages `publish:<tag>:<text>` (Plinth); via 'http': one POST of
   * `publishes` items to Pushpin's publish endpoint.
   */
  async fanout({ publishes, via, tag, payload, publishUrl, timeoutMs }) {
    const open = fanSockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    const cpuBefore = process.cpuUsage();
    fan = { count: 0, target: open * publishes, done: null, firstAt: 0 };
    const finished = new Promise((resolve) => { fan.done = resolve; });
    const begun = performance.now();
    if (via === 'ws') {
      for (let i = 0; i < publishes; i++) control.send(`publish:${tag}:${payload}`);
    } else {
      const items = Array.from({ length: publishes }, () => ({ channel: tag, formats: { 'ws-message': { content: payload } } }));
      const res = await fetch(publishUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
      if (res.status !== 200) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    }
    let timer;
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    const ms = performance.now() - begun;
    const cpu = process.cpuUsage(cpuBefore);
    const result = { sockets: open, publishes, received: fan.count, expected: fan.target, ms, firstMs: fan.firstAt ? fan.firstAt - begun : null, timedOut, clientCpuMs: (cpu.user + cpu.system) / 1000 };
    fan = { count: 0, target: Infinity, done: null, firstAt: 0 };
    return result;
  },

  async stats() {
    return { open: fanSockets.filter((ws) => ws.readyState === WebSocket.OPEN).length, rss: process.memoryUsage().rss };
  },

  async closeAll() {
    for (const ws of fanSockets) ws.terminate();
    control?.terminate();
    fanSockets.length = 0;
    return {};
  },
};

process.on('message', async (message) => {
  try {
    const result = await handlers[message.cmd](message);
    process.send({ id: message.id, ok: true, result });
  } catch (error) {
    process.send({ id: message.id, ok: false, error: error.message });
  }
});
process.on('disconnect', () => process.exit(0));
