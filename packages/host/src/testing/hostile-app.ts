import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes one version of the `hostile` test app, which misbehaves on purpose:
 * - `POST /stall?method=M&path=P` starts a platform call `M P` whose body sends
 *   64 KiB and then never ends, and waits on it forever;
 * - `POST /slow-sql` runs a query that takes seconds in the SQL engine;
 * - `GET /state` says how many bytes of the stalled bodies were read;
 * - `GET /hog?mb=N` allocates and touches N MiB; `GET /spin?ms=N` burns CPU;
 * - `GET /ping` answers `pong <version>`.
 * Its `/after-update` always succeeds, so it can be updated under a stalled call.
 */
export function writeHostileApp(dir: string, version: string, limits: Record<string, number> = {}): string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({
    id: 'hostile', name: 'Hostile', version, public: ['/*'],
    limits: { concurrency: 8, memoryMb: 256, requestTimeoutMs: 60_000, ...limits },
  }));
  writeFileSync(join(dir, 'src/index.ts'), `
import { defineApp } from '@plinth/guest';
const VERSION = ${JSON.stringify(version)};
const state = { bytesPulled: 0, started: 0 };
const hoard = [];
function neverEndingBody() {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= 64 * 1024) return new Promise(() => {});
      controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      sent += 16 * 1024;
      state.bytesPulled += 16 * 1024;
    },
  });
}
export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/ping') return new Response('pong ' + VERSION);
    if (url.pathname === '/state') return Response.json(state);
    if (url.pathname === '/stall') {
      state.started++;
      const method = url.searchParams.get('method') ?? 'PUT';
      const path = url.searchParams.get('path') ?? '/v1/secrets/stalled';
      const response = await env.PLINTH.fetch('http://platform' + path, { method, body: neverEndingBody(), headers: { 'content-type': 'application/json' } });
      return new Response('the platform answered ' + response.status + ': ' + await response.text());
    }
    if (url.pathname === '/crowd') {
      const stalled = Array.from({ length: Number(url.searchParams.get('n')) }, () =>
        env.PLINTH.fetch('http://platform/v1/secrets/crowd', { method: 'PUT', body: neverEndingBody() }).catch(() => undefined));
      await new Promise((r) => setTimeout(r, 1000));
      const probe = await env.PLINTH.fetch('http://platform/v1/info');
      void stalled;
      return Response.json({ status: probe.status, retryAfter: probe.headers.get('retry-after'), body: await probe.json() });
    }
    if (url.pathname === '/bucket') {
      const response = await env.PLINTH.fetch('http://platform/v1/objects/buckets/' + url.searchParams.get('name'), { method: 'PUT' });
      return new Response(await response.text(), { status: response.status });
    }
    if (url.pathname === '/slow-sql') {
      state.started++;
      await env.PLINTH.fetch('http://platform/v1/sql', { method: 'POST', body: JSON.stringify({ name: 'slow' }) });
      const sql = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000000) SELECT count(*) AS c FROM n';
      const response = await env.PLINTH.fetch('http://platform/v1/sql/slow/query', { method: 'POST', body: JSON.stringify({ sql }) });
      return new Response(await response.text(), { status: response.status });
    }
    if (url.pathname === '/hog') {
      const mb = Number(url.searchParams.get('mb') ?? 64);
      for (let i = 0; i < mb; i++) hoard.push(new Uint8Array(1024 * 1024).fill(1));
      return new Response('holding ' + hoard.length + ' MiB');
    }
    if (url.pathname === '/spin') {
      const until = Date.now() + Number(url.searchParams.get('ms') ?? 1000);
      let x = 0;
      while (Date.now() < until) x++;
      return new Response('spun ' + x);
    }
    return new Response('not found', { status: 404 });
  },
  async afterUpdate() {},
});
`);
  return dir;
}
