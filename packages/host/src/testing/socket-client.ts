import WebSocket from 'ws';
import type { TestDaemon } from './daemon-harness.js';

export interface TestSocket {
  readonly ws: WebSocket;
  /** The next message, text as string and binary as Buffer; rejects after `ms`. */
  next(ms?: number): Promise<string | Buffer>;
  /** Messages not yet taken by next(). */
  readonly pending: (string | Buffer)[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** Opens a WebSocket to an app through the front door with the real `ws` client. */
export function openSocket(daemon: TestDaemon, appId: string, path: string, headers: Record<string, string> = {}, protocols: string[] = []): Promise<TestSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${daemon.port}${path}`, protocols, { headers: { host: `${appId}.localhost:${daemon.port}`, ...headers } });
  const pending: (string | Buffer)[] = [];
  const waiters: ((message: string | Buffer) => void)[] = [];
  ws.on('message', (data, isBinary) => {
    const message = isBinary ? Buffer.from(data as Buffer) : data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else pending.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const next = (ms = 10_000) => {
    const ready = pending.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<string | Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
      waiters.push((message) => { clearTimeout(timer); resolve(message); });
    });
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next, pending, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
}
