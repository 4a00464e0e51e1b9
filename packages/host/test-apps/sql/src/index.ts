// A test app that drives the `sql` SDK through the real ABI. Each route takes JSON and answers
// { result } or { error: { code, message, status } }. Values that JSON cannot carry are tagged:
// Uint8Array → { b64 }, bigint → { bigint }, ±Infinity → { real }.
import { defineApp, plinth, PlinthError, type PlinthEnv } from '@plinth/guest';

function encode(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    let binary = '';
    for (let i = 0; i < value.length; i += 0x8000) binary += String.fromCharCode(...value.subarray(i, i + 0x8000));
    return { b64: btoa(binary) };
  }
  if (value instanceof ArrayBuffer) return encode(new Uint8Array(value));
  if (typeof value === 'bigint') return { bigint: value.toString() };
  if (typeof value === 'number' && !Number.isFinite(value)) return { real: String(value) };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  return value ?? null;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    if ('b64' in value) return Uint8Array.from(atob((value as { b64: string }).b64), (c) => c.charCodeAt(0));
    if ('bigint' in value) return BigInt((value as { bigint: string }).bigint);
    if ('real' in value) return Number((value as { real: string }).real);
  }
  return value;
}

type Statement = { sql: string; params?: unknown[] };
type D1Op = { db: string; op: string; sql?: string; params?: unknown[]; column?: string; columnNames?: boolean; statements?: Statement[]; timeoutMs?: number };
type TxOp = { db: string; steps: Statement[]; then?: 'commit' | 'throw' | 'sleep' | 'hang'; sleepMs?: number; timeoutMs?: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function d1(env: PlinthEnv, body: D1Op): Promise<unknown> {
  const db = plinth(env).sql.open(body.db, body.timeoutMs ? { timeoutMs: body.timeoutMs } : {});
  const statement = () => db.prepare(body.sql ?? '').bind(...((decode(body.params ?? []) as unknown[])));
  switch (body.op) {
    case 'first': return body.column === undefined ? statement().first() : statement().first(body.column);
    case 'all': return statement().all();
    case 'run': return statement().run();
    case 'raw': return statement().raw(body.columnNames === undefined ? undefined : { columnNames: body.columnNames });
    case 'batch': return db.batch((body.statements ?? []).map((s) => db.prepare(s.sql).bind(...(decode(s.params ?? []) as unknown[]))));
    case 'exec': return db.exec(body.sql ?? '');
    case 'dump': return db.dump();
    case 'export': {
      const { bytes, stream } = await db.export();
      return { bytes, file: new Uint8Array(await new Response(stream).arrayBuffer()) };
    }
    case 'import': return db.import(decode(body.params?.[0]) as Uint8Array);
    default: throw new Error(`unknown op ${body.op}`);
  }
}

async function tx(env: PlinthEnv, body: TxOp): Promise<unknown> {
  const db = plinth(env).sql.open(body.db);
  return db.transaction(async (t) => {
    const results = [];
    for (const step of body.steps) results.push(await t.prepare(step.sql).bind(...(decode(step.params ?? []) as unknown[])).run());
    if (body.then === 'throw') throw new Error('thrown inside the transaction');
    if (body.then === 'hang') await new Promise(() => undefined);
    if (body.then === 'sleep') {
      await sleep(body.sleepMs ?? 0);
      results.push(await t.prepare('SELECT 1 AS after_sleep').all());
    }
    return results;
  }, body.timeoutMs ? { timeoutMs: body.timeoutMs } : {});
}

async function answer(work: () => Promise<unknown>): Promise<Response> {
  try {
    return Response.json({ result: encode(await work()) });
  } catch (error) {
    if (error instanceof PlinthError) return Response.json({ error: { code: error.code, message: error.message, status: error.status, name: error.name } });
    return Response.json({ error: { code: 'test.thrown', message: (error as Error).message, status: 0, name: (error as Error).name } });
  }
}

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== 'POST') return new Response('sql test app', { status: 404 });
    const body = (await request.json()) as Record<string, unknown>;
    const sql = plinth(env).sql;
    switch (url.pathname) {
      case '/create': return answer(() => sql.create(body.name as string));
      case '/list': return answer(() => sql.list());
      case '/delete': return answer(() => sql.delete(body.name as string));
      case '/d1': return answer(() => d1(env, body as unknown as D1Op));
      case '/tx': return answer(() => tx(env, body as unknown as TxOp));
      case '/raw': {
        // An arbitrary call to the platform socket, to prove paths and headers cannot change who the caller is.
        const spec = body as { method: string; path: string; headers?: Record<string, string>; body?: string };
        const response = await env.PLINTH.fetch(`http://platform${spec.path}`, { method: spec.method, headers: spec.headers, body: spec.body });
        return new Response(await response.text(), { status: response.status });
      }
      default: return new Response('no such route', { status: 404 });
    }
  },
});
