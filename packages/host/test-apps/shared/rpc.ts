// Shared by test apps: POST /rpc {client, method, args} runs plinth(env)[client][method](...args)
// inside the app, so tests drive the real SDK through the real ABI. Binary values travel as {b64}.
import { plinth, PlinthError, type PlinthEnv } from '@plinth/guest';

function decode(value: unknown): unknown {
  if (value && typeof value === 'object' && 'b64' in value) {
    const binary = atob((value as { b64: string }).b64);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  return value;
}

function encode(value: unknown): unknown {
  if (value instanceof Uint8Array) return { b64: btoa(String.fromCharCode(...value)) };
  return value ?? null;
}

export async function rpc(env: PlinthEnv, body: { client: string; method: string; args?: unknown[] }): Promise<Response> {
  const client = (plinth(env) as unknown as Record<string, Record<string, (...args: unknown[]) => Promise<unknown>>>)[body.client];
  const method = client?.[body.method];
  if (!method) return Response.json({ error: { code: 'test.no_method', message: `${body.client}.${body.method}` } }, { status: 400 });
  try {
    return Response.json({ result: encode(await method.apply(client, (body.args ?? []).map(decode))) });
  } catch (error) {
    if (error instanceof PlinthError) return Response.json({ error: { code: error.code, message: error.message, status: error.status } });
    throw error;
  }
}
