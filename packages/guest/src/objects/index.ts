// plinth(env).objects: buckets and objects private to the app, shaped like Cloudflare R2's Workers
// binding, over the objects ABI (JSON routes under /v1/objects/ and S3-style raw routes under
// /v1/objects/s3/). Bodies stream both ways; the SDK never holds a stream's bytes whole.
import { callPlatform, type PlinthEnv } from '../abi.js';
import { asObjectsError, errorCodeOfHead, errorFromResponse, ObjectsError } from './errors.js';
import { DELETE_KEYS_COUNT_MAX } from './limits.js';
import { infoFromHeaders, infoFromListing, parseContentRange, STANDARD_HEADERS, unquoteEtag, type ListedObject, type ObjectInfo, type StandardHeaderField } from './object-info.js';
import { getHeaders, objectPath, putBody, putHeaders, type GetOptions, type ObjectBodyInit, type PutOptions } from './s3-requests.js';

export { ObjectsError, type ObjectsErrorCode } from './errors.js';
export { DELETE_KEYS_COUNT_MAX } from './limits.js';
export type { ObjectHeaders, ObjectInfo } from './object-info.js';
export type { GetOptions, ObjectBodyInit, ObjectRange, OnlyIf, PutOptions } from './s3-requests.js';

/** Everything an S3 client needs to reach the app's buckets (AWS SDK, rclone, `aws s3`). */
export interface ObjectsCredentials {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface BucketInfo {
  readonly name: string;
  readonly created: Date;
}

/** A read object: its info and its body, readable once (R2's `R2ObjectBody`). */
export interface ObjectBody extends ObjectInfo {
  readonly body: ReadableStream<Uint8Array>;
  readonly bodyUsed: boolean;
  /** The bytes this answer holds, within the whole object of `size` bytes: set when a range was asked for. */
  readonly range?: { offset: number; length: number };
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  blob(): Promise<Blob>;
}

export interface ListOptions {
  readonly prefix?: string;
  /** Groups keys by what follows the prefix up to this string; the groups come back in `prefixes`. */
  readonly delimiter?: string;
  /** The `cursor` of the previous page. */
  readonly cursor?: string;
  /** 1 to 1000; the platform's default otherwise. */
  readonly limit?: number;
  /** Lists only keys after this one. */
  readonly startAfter?: string;
}

export interface ListResult {
  readonly objects: ObjectInfo[];
  /** With a delimiter: the common prefixes, each ending in the delimiter. */
  readonly prefixes: string[];
  readonly truncated: boolean;
  /** Set when `truncated`: pass it as `cursor` for the next page. */
  readonly cursor?: string;
}

export interface PresignOptions {
  readonly method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  /** Seconds the URL stays valid: 3600 by default, at most 604800 (7 days, SigV4's limit). */
  readonly expiresIn?: number;
  /** For PUT: the upload must send this `Content-Type`. */
  readonly contentType?: string;
  /** For PUT: the upload must send this `Content-Length`. */
  readonly contentLength?: number;
}

export interface PresignedUrl {
  readonly url: string;
  readonly expiresAt: Date;
}

export interface ObjectsClient {
  /** Keys for any S3 client, scoped to this app's buckets. */
  credentials(): Promise<ObjectsCredentials>;
  /** Creates a bucket; succeeds when this app already owns it. */
  createBucket(name: string): Promise<void>;
  /** Deletes an empty bucket; `objects.bucket_not_empty` otherwise. */
  deleteBucket(name: string): Promise<void>;
  listBuckets(): Promise<BucketInfo[]>;
  /**
   * Stores an object, replacing any at that key; answers once it is durably stored. The info is
   * what this call stored (ETag, size and time from the answer), even if another writer has
   * replaced the object since.
   */
  put(bucket: string, key: string, body: ObjectBodyInit, options?: PutOptions): Promise<ObjectInfo>;
  /**
   * The object with its body; `null` when there is no such key. When an `onlyIf` condition does not
   * hold, the object's info without a body, as R2 does: test with `'body' in result`.
   */
  get(bucket: string, key: string, options?: GetOptions): Promise<ObjectBody | ObjectInfo | null>;
  /** The object's info, or `null` when there is no such key. */
  head(bucket: string, key: string): Promise<ObjectInfo | null>;
  /** Deletes one key or many; keys that do not exist are not an error. */
  delete(bucket: string, keys: string | string[]): Promise<void>;
  /** One page of keys in UTF-8 binary order. */
  list(bucket: string, options?: ListOptions): Promise<ListResult>;
  /** A SigV4 URL on the S3 endpoint that lets anyone holding it make this one call until it expires. */
  presign(bucket: string, key: string, options: PresignOptions): Promise<PresignedUrl>;
}

const bucketPath = (name: string) => {
  if (name === '') throw new ObjectsError('objects.invalid_bucket_name', 'the bucket name is empty', 400);
  return `/v1/objects/buckets/${encodeURIComponent(name)}`;
};

async function jsonCall<T>(env: PlinthEnv, method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await callPlatform<T>(env, method, path, body);
  } catch (error) {
    throw asObjectsError(error);
  }
}

/**
 * A raw object call. `encodeResponseBody: 'manual'` is workerd's switch that keeps a body as
 * stored: without it, reading an object stored with `Content-Encoding: gzip` would inflate it.
 */
function rawCall(env: PlinthEnv, method: string, path: string, init: { headers?: Headers; body?: BodyInit } = {}): Promise<Response> {
  return env.PLINTH.fetch(`http://platform${path}`, { method, ...init, encodeResponseBody: 'manual' } as RequestInit);
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

async function head(env: PlinthEnv, bucket: string, key: string): Promise<ObjectInfo | null> {
  const path = objectPath(bucket, key);
  const response = await rawCall(env, 'HEAD', path);
  await discard(response);
  if (response.ok) return infoFromHeaders(key, response);
  // A HEAD answer has no body; the platform names the error in S3's `x-amz-error-code` header instead.
  const code = errorCodeOfHead(response);
  if (code === 'objects.no_such_key' || (code === undefined && response.status === 404)) return null;
  if (code !== undefined) throw new ObjectsError(code, `HEAD ${bucket}/${key} answered ${response.status} ${response.headers.get('x-amz-error-code')}`, response.status);
  // Without that header, the same GET carries the error as JSON. Only failures pay for it.
  const again = await rawCall(env, 'GET', path);
  if (!again.ok) throw await errorFromResponse(again);
  await discard(again);
  throw new ObjectsError('platform.bad_response', `HEAD ${bucket}/${key} answered ${response.status}, GET answered ${again.status}`, response.status);
}

async function put(env: PlinthEnv, bucket: string, key: string, body: ObjectBodyInit, options: PutOptions = {}): Promise<ObjectInfo> {
  const path = objectPath(bucket, key);
  const headers = putHeaders(options, body);
  const sent = putBody(body);
  const response = await rawCall(env, 'PUT', path, { headers, body: sent.body });
  if (!response.ok) throw await errorFromResponse(response);
  await discard(response);
  const etagHeader = response.headers.get('etag');
  if (!etagHeader) throw new ObjectsError('platform.bad_response', `the put of ${key} was answered without an ETag`, response.status);
  const etag = unquoteEtag(etagHeader);
  // The answer carries the ETag, the size and the upload time; the rest is what this call sent,
  // which is what was stored (a later writer cannot change this call's answer).
  const size = Number(response.headers.get('x-amz-object-size') ?? sent.size ?? -1);
  const info: Record<string, unknown> = {
    key, size, etag, httpEtag: `"${etag}"`, contentType: 'application/octet-stream',
    uploaded: new Date(response.headers.get('last-modified') ?? response.headers.get('date') ?? Date.now()),
    metadata: Object.fromEntries(Object.entries(options.metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
  };
  for (const field of Object.keys(STANDARD_HEADERS) as StandardHeaderField[]) {
    const value = headers.get(STANDARD_HEADERS[field]);
    if (value !== null) info[field] = value;
  }
  if (options.expires !== undefined) info.expires = options.expires;
  return info as unknown as ObjectInfo;
}

function objectBody(info: ObjectInfo, response: Response, range: ObjectBody['range']): ObjectBody {
  const body = response.body ?? new Response(new Uint8Array(0)).body!;
  return {
    ...info,
    body,
    get bodyUsed() { return response.bodyUsed; },
    ...(range ? { range } : {}),
    arrayBuffer: () => response.arrayBuffer(),
    text: () => response.text(),
    json: <T>() => response.json() as Promise<T>,
    blob: () => response.blob(),
  };
}

async function get(env: PlinthEnv, bucket: string, key: string, options: GetOptions = {}): Promise<ObjectBody | ObjectInfo | null> {
  const response = await rawCall(env, 'GET', objectPath(bucket, key), { headers: getHeaders(options) });
  if (response.status === 200 || response.status === 206) {
    const info = infoFromHeaders(key, response);
    const range = response.status === 206
      ? parseContentRange(response.headers.get('content-range'))
      : options.range ? { offset: 0, length: info.size } : undefined;
    return objectBody(info, response, range && { offset: range.offset, length: range.length });
  }
  if (response.status === 304 || response.status === 412) {
    // A condition did not hold: R2 answers the object's info without its body. A 304 carries no
    // metadata headers and a 412 carries JSON, so the info comes from a HEAD.
    await discard(response);
    return head(env, bucket, key);
  }
  const error = await errorFromResponse(response);
  if (error.code === 'objects.no_such_key') return null;
  throw error;
}

async function deleteKeys(env: PlinthEnv, bucket: string, keys: string | string[]): Promise<void> {
  if (typeof keys === 'string') {
    const response = await rawCall(env, 'DELETE', objectPath(bucket, keys));
    if (!response.ok) throw await errorFromResponse(response);
    await discard(response);
    return;
  }
  for (let start = 0; start < keys.length; start += DELETE_KEYS_COUNT_MAX) {
    await jsonCall(env, 'POST', `${bucketPath(bucket)}/delete`, { keys: keys.slice(start, start + DELETE_KEYS_COUNT_MAX) });
  }
}

async function list(env: PlinthEnv, bucket: string, options: ListOptions = {}): Promise<ListResult> {
  const query = new URLSearchParams();
  for (const name of ['prefix', 'delimiter', 'cursor', 'limit', 'startAfter'] as const) {
    const value = options[name];
    if (value !== undefined) query.set(name, String(value));
  }
  const search = query.toString() === '' ? '' : `?${query}`;
  const page = await jsonCall<{ objects: ListedObject[]; prefixes?: string[]; truncated: boolean; cursor?: string }>(env, 'GET', `${bucketPath(bucket)}/objects${search}`);
  return {
    objects: page.objects.map(infoFromListing),
    prefixes: page.prefixes ?? [],
    truncated: page.truncated,
    ...(page.truncated && page.cursor ? { cursor: page.cursor } : {}),
  };
}

export function objectsClient(env: PlinthEnv): ObjectsClient {
  return {
    credentials: () => jsonCall<ObjectsCredentials>(env, 'GET', '/v1/objects/credentials'),
    createBucket: async (name) => { await jsonCall(env, 'PUT', bucketPath(name)); },
    deleteBucket: async (name) => { await jsonCall(env, 'DELETE', bucketPath(name)); },
    listBuckets: async () => (await jsonCall<{ buckets: { name: string; created: string }[] }>(env, 'GET', '/v1/objects/buckets')).buckets
      .map((bucket) => ({ name: bucket.name, created: new Date(bucket.created) })),
    put: (bucket, key, body, options) => put(env, bucket, key, body, options),
    get: (bucket, key, options) => get(env, bucket, key, options),
    head: (bucket, key) => head(env, bucket, key),
    delete: (bucket, keys) => deleteKeys(env, bucket, keys),
    list: (bucket, options) => list(env, bucket, options),
    presign: async (bucket, key, options) => {
      const answer = await jsonCall<{ url: string; expiresAt: string }>(env, 'POST', `${bucketPath(bucket)}/presign`, { key, ...options });
      return { url: answer.url, expiresAt: new Date(answer.expiresAt) };
    },
  };
}
