// A test app that lets a test drive any SDK client through the real ABI:
// POST /rpc {client, method, args} → {result} or {error}. Binary values travel as {b64}.
import { defineApp, plinth } from '@plinth/guest';
import { rpc } from '../../shared/rpc.js';

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/rpc' && request.method === 'POST') return rpc(env, await request.json());
    if (url.pathname === '/raw' && request.method === 'POST') {
      // Sends an arbitrary call to the platform socket, to prove paths and headers cannot change who the caller is.
      const spec = (await request.json()) as { method: string; path: string; headers?: Record<string, string>; body?: string };
      const response = await env.PLINTH.fetch(`http://platform${spec.path}`, { method: spec.method, headers: spec.headers, body: spec.body });
      return new Response(await response.text(), { status: response.status });
    }
    return new Response('vault test app', { status: 404 });
  },
  // Records each delivery in secrets, so a test can read what the platform delivered; fails while ALARM_FAIL > 0.
  async alarm(alarm, env) {
    const secrets = plinth(env).secrets;
    const failuresLeft = Number((await secrets.get('ALARM_FAIL')) ?? 0);
    if (failuresLeft > 0) {
      await secrets.set('ALARM_FAIL', String(failuresLeft - 1));
      throw new Error(`failing on purpose, ${failuresLeft - 1} failures left`);
    }
    await secrets.set('ALARM_COUNT', String(Number((await secrets.get('ALARM_COUNT')) ?? 0) + 1));
    await secrets.set('ALARM_LAST', JSON.stringify({ scheduledTime: alarm.scheduledTime.getTime(), retryCount: alarm.retryCount }));
  },
});
