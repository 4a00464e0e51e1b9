// A test app that lets a test drive any SDK client through the real ABI:
// POST /rpc {client, method, args} → {result} or {error}. Binary values travel as {b64}.
import { defineApp, plinth, PlinthError, type PlinthEnv } from '@plinth/guest';

type Encoded = unknown;

function decode(value: Encoded): unknown {
  if (value && typeof value === 'object' && 'b64' in value) {
    const binary = atob((value as { b64: string }).b64);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  return value;
}

function encode(value: unknown): Encoded {
  if (value instanceof Uint8Array) return { b64: btoa(String.fromCharCode(...value)) };
  return value ?? null;
}

async function rpc(env: PlinthEnv, body: { client: string; method: string; args?: Encoded[] }): Promise<Response> {
  const client = (plinth(env) as unknown as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>)[body.client];
  const method = client?.[body.method];
  if (!method) return Response.json({ error: { code: 'test.no_method', message: `${body.client}.${body.method}` } }, { status: 400 });
  try {
    return Response.json({ result: encode(await method(...(body.args ?? []).map(decode))) });
  } catch (error) {
    if (error instanceof PlinthError) return Response.json({ error: { code: error.code, message: error.message, status: error.status } }, { status: 200 });
    throw error;
  }
}

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
