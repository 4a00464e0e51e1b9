// A test app that drives the `objects` SDK through the real ABI.
//
// POST /rpc { method, args, read? } runs plinth(env).objects[method](...args) and answers
// { result } or { error: { name, code, message, status } }. Values JSON cannot carry are tagged
// both ways: Date ↔ { $date: iso }; bytes → { $bytes: base64 }. An argument
// { $body: base64, as } becomes a put body of that kind: 'arraybuffer', 'uint8array', 'view' (a
// Uint8Array in the middle of a larger buffer), 'dataview', 'blob' (with `type`), 'stream' (a
// stream in chunks of `chunkBytes`, with no known length) or 'text' (the bytes as a UTF-8 string).
// A `get` result says whether it has a body (`hasBody`), and reads it as `read` says: 'arrayBuffer'
// (default, → { $bytes }), 'text', 'json', 'blob' or 'none'.
//
// PUT /stream/<bucket>/<key> pipes the request body into objects.put, untouched; GET answers the
// object's body as the response, so a test can move large objects without the app holding them.
// POST /put-many { bucket, prefix, count } writes `count` small objects, for delete and list tests.
import { defineApp, plinth, ObjectsError, PlinthError, type ObjectBody, type ObjectInfo, type PlinthEnv } from '@plinth/guest';

const STREAM_CHUNK_BYTES_DEFAULT = 64 * 1024;
/** Concurrent puts in /put-many; under the manifest's concurrency so the app never waits on itself. */
const PUT_MANY_PARALLEL_MAX = 16;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function putBody(spec: { $body: string; as?: string; type?: string; chunkBytes?: number }): unknown {
  const bytes = fromBase64(spec.$body);
  switch (spec.as ?? 'uint8array') {
    case 'arraybuffer': return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    case 'uint8array': return bytes;
    case 'view': {
      const padded = new Uint8Array(bytes.length + 16).fill(0xee);
      padded.set(bytes, 8);
      return padded.subarray(8, 8 + bytes.length);
    }
    case 'dataview': {
      const padded = new Uint8Array(bytes.length + 6).fill(0xee);
      padded.set(bytes, 3);
      return new DataView(padded.buffer, 3, bytes.length);
    }
    case 'blob': return new Blob([bytes], spec.type ? { type: spec.type } : {});
    case 'text': return new TextDecoder().decode(bytes);
    case 'stream': {
      const chunk = spec.chunkBytes ?? STREAM_CHUNK_BYTES_DEFAULT;
      let offset = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(offset, offset + chunk));
          offset += chunk;
        },
      });
    }
    default: throw new Error(`unknown body kind ${spec.as}`);
  }
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    if ('$date' in value) return new Date((value as { $date: string }).$date);
    if ('$body' in value) return putBody(value as { $body: string });
    if ('$headers' in value) return new Headers((value as { $headers: Record<string, string> }).$headers);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

function encode(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: toBase64(value) };
  if (value instanceof ArrayBuffer) return encode(new Uint8Array(value));
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v !== 'function' && !(v instanceof ReadableStream)).map(([k, v]) => [k, encode(v)]));
  }
  return value ?? null;
}

async function readGet(result: ObjectBody | ObjectInfo | null, read: string): Promise<unknown> {
  if (result === null) return null;
  if (!('body' in result)) return { ...result, hasBody: false };
  const info = { ...result, hasBody: true, bodyUsedBefore: result.bodyUsed };
  switch (read) {
    case 'arrayBuffer': return { ...info, body: new Uint8Array(await result.arrayBuffer()) };
    case 'text': return { ...info, body: await result.text() };
    case 'json': return { ...info, body: await result.json() };
    case 'blob': {
      const blob = await result.blob();
      return { ...info, body: new Uint8Array(await blob.arrayBuffer()) };
    }
    case 'none': await result.body.cancel(); return info;
    default: throw new Error(`unknown read ${read}`);
  }
}

function errorAnswer(error: unknown): Response {
  if (error instanceof PlinthError) {
    return Response.json({ error: { name: error.name, code: error.code, message: error.message, status: error.status, objectsError: error instanceof ObjectsError } });
  }
  throw error;
}

async function rpc(env: PlinthEnv, body: { method: string; args?: unknown[]; read?: string }): Promise<Response> {
  const objects = plinth(env).objects as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const method = objects[body.method];
  if (typeof method !== 'function') return Response.json({ error: { code: 'test.no_method', message: body.method } }, { status: 400 });
  try {
    const result = await method.apply(objects, (body.args ?? []).map(decode));
    return Response.json({ result: encode(body.method === 'get' ? await readGet(result as ObjectBody | ObjectInfo | null, body.read ?? 'arrayBuffer') : result) });
  } catch (error) {
    return errorAnswer(error);
  }
}

/** `/stream/<bucket>/<key…>`, with the bucket and each key segment percent-decoded. */
function streamTarget(pathname: string): { bucket: string; key: string } | null {
  const match = /^\/stream\/([^/]+)\/(.+)$/.exec(pathname);
  return match ? { bucket: decodeURIComponent(match[1]!), key: match[2]!.split('/').map(decodeURIComponent).join('/') } : null;
}

async function stream(env: PlinthEnv, request: Request, target: { bucket: string; key: string }): Promise<Response> {
  const objects = plinth(env).objects;
  try {
    if (request.method === 'PUT') {
      const contentType = request.headers.get('content-type');
      const info = await objects.put(target.bucket, target.key, request.body, contentType ? { contentType } : {});
      return Response.json({ result: encode(info) });
    }
    const url = new URL(request.url);
    const offset = url.searchParams.get('offset');
    const length = url.searchParams.get('length');
    const range = offset === null ? undefined : { offset: Number(offset), ...(length === null ? {} : { length: Number(length) }) };
    const object = await objects.get(target.bucket, target.key, range ? { range } : {});
    if (object === null) return new Response('no such object', { status: 404 });
    if (!('body' in object)) return new Response(null, { status: 412 });
    const headers = new Headers({ etag: object.httpEtag, 'x-object-size': String(object.size) });
    if (object.contentType) headers.set('content-type', object.contentType);
    if (object.range) headers.set('x-object-range', `${object.range.offset}+${object.range.length}`);
    return new Response(object.body, { headers });
  } catch (error) {
    return errorAnswer(error);
  }
}

async function putMany(env: PlinthEnv, body: { bucket: string; prefix: string; count: number }): Promise<Response> {
  const objects = plinth(env).objects;
  const keys = Array.from({ length: body.count }, (_, i) => `${body.prefix}${String(i).padStart(5, '0')}`);
  try {
    for (let start = 0; start < keys.length; start += PUT_MANY_PARALLEL_MAX) {
      await Promise.all(keys.slice(start, start + PUT_MANY_PARALLEL_MAX).map((key) => objects.put(body.bucket, key, key)));
    }
    return Response.json({ result: keys });
  } catch (error) {
    return errorAnswer(error);
  }
}

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/rpc' && request.method === 'POST') return rpc(env, await request.json());
    if (url.pathname === '/put-many' && request.method === 'POST') return putMany(env, await request.json());
    const target = streamTarget(url.pathname);
    if (target && (request.method === 'PUT' || request.method === 'GET')) return stream(env, request, target);
    return new Response('objects test app', { status: 404 });
  },
});
