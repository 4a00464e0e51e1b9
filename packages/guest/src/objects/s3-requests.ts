// How the SDK speaks the raw object routes, `/v1/objects/s3/<bucket>/<key>`: S3's REST semantics,
// unsigned (the platform socket is the app's identity), with JSON errors.
import { ObjectsError } from './errors.js';
import { writeMetadataHeaders } from './metadata.js';
import { STANDARD_HEADERS, type ObjectHeaders, type StandardHeaderField } from './object-info.js';

/** What `put` stores: bytes, text (as UTF-8), a Blob, a stream (sent as it is read), or nothing. */
export type ObjectBodyInit = ReadableStream | ArrayBuffer | ArrayBufferView | string | Blob | null;

export interface PutOptions extends ObjectHeaders {
  /** User metadata, sent as `x-amz-meta-<name>`; names are lowercased. */
  readonly metadata?: Record<string, string>;
}

/** R2's range forms: `{ offset, length? }` (length defaults to the rest), `{ length }` (from 0), or `{ suffix }` (the last bytes). */
export type ObjectRange = { offset: number; length?: number } | { offset?: undefined; length: number } | { suffix: number };

/** R2's `onlyIf`. Each holds or the read returns the object's info without a body. A `Headers` may carry the same as `If-*` headers. */
export interface OnlyIf {
  /** Read only when the ETag is this one (`If-Match`); quoted or not, or `*`. */
  readonly etagMatches?: string;
  /** Read only when the ETag is not this one (`If-None-Match`). */
  readonly etagDoesNotMatch?: string;
  /** Read only when the object was not written after this time (`If-Unmodified-Since`, whole seconds). */
  readonly uploadedBefore?: Date;
  /** Read only when the object was written after this time (`If-Modified-Since`, whole seconds). */
  readonly uploadedAfter?: Date;
}

export interface GetOptions {
  readonly range?: ObjectRange;
  readonly onlyIf?: OnlyIf | Headers;
}

const CONDITIONAL_HEADERS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'] as const;

/**
 * `/v1/objects/s3/<bucket>/<key>`, each key segment percent-encoded and `/` kept. A `.` or `..`
 * segment cannot be sent: URL parsing resolves it (also as `%2e`), so such keys are refused here.
 */
export function objectPath(bucket: string, key: string): string {
  if (bucket === '') throw new ObjectsError('objects.invalid_bucket_name', 'the bucket name is empty', 400);
  if (typeof key !== 'string' || key === '') throw new ObjectsError('objects.invalid_key', 'the object key is empty', 400);
  const segments = key.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    throw new ObjectsError('objects.invalid_key', `the key ${JSON.stringify(key)} has a "." or ".." segment, which a URL path cannot carry`, 400);
  }
  return `/v1/objects/s3/${encodeURIComponent(bucket)}/${segments.map(encodeURIComponent).join('/')}`;
}

function isWholeNumber(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/** The `Range` header for an ObjectRange (RFC 9110 §14.1.2); bad numbers fail here, before any call. */
export function rangeHeader(range: ObjectRange): string {
  const invalid = () => new ObjectsError('objects.invalid_range', `range ${JSON.stringify(range)} must be { offset ≥ 0, length? ≥ 1 } or { suffix ≥ 1 }, in whole bytes`, 416);
  if ('suffix' in range && range.suffix !== undefined) {
    if (!isWholeNumber(range.suffix, 1)) throw invalid();
    return `bytes=-${range.suffix}`;
  }
  const offset = (range as { offset?: number }).offset ?? 0;
  const length = (range as { length?: number }).length;
  if (!isWholeNumber(offset, 0) || (length !== undefined && !isWholeNumber(length, 1))) throw invalid();
  return length === undefined ? `bytes=${offset}-` : `bytes=${offset}-${offset + length - 1}`;
}

/** ETags go quoted in `If-Match` and `If-None-Match`; `*` and weak tags go as they are. */
function quoteEtag(etag: string): string {
  return etag === '*' || etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

export function getHeaders(options: GetOptions): Headers {
  const headers = new Headers();
  if (options.range) headers.set('range', rangeHeader(options.range));
  const onlyIf = options.onlyIf;
  if (onlyIf instanceof Headers) {
    for (const name of CONDITIONAL_HEADERS) {
      const value = onlyIf.get(name);
      if (value !== null) headers.set(name, value);
    }
  } else if (onlyIf) {
    if (onlyIf.etagMatches !== undefined) headers.set('if-match', quoteEtag(onlyIf.etagMatches));
    if (onlyIf.etagDoesNotMatch !== undefined) headers.set('if-none-match', quoteEtag(onlyIf.etagDoesNotMatch));
    if (onlyIf.uploadedBefore !== undefined) headers.set('if-unmodified-since', onlyIf.uploadedBefore.toUTCString());
    if (onlyIf.uploadedAfter !== undefined) headers.set('if-modified-since', onlyIf.uploadedAfter.toUTCString());
  }
  return headers;
}

export function putHeaders(options: PutOptions, body: ObjectBodyInit): Headers {
  const headers = new Headers();
  for (const field of Object.keys(STANDARD_HEADERS) as StandardHeaderField[]) {
    const value = options[field];
    if (value !== undefined) headers.set(STANDARD_HEADERS[field], value);
  }
  // A Blob's own type is its content type unless the caller names one, as when a Blob is fetched.
  if (options.contentType === undefined && body instanceof Blob && body.type !== '') headers.set('content-type', body.type);
  if (options.expires !== undefined) headers.set('expires', options.expires.toUTCString());
  if (options.metadata) writeMetadataHeaders(headers, options.metadata);
  return headers;
}

/**
 * The fetch body for a put, and its size when known without reading it. A string is encoded
 * here, not by fetch, because fetch would add `Content-Type: text/plain` to the stored object. A
 * stream is handed to fetch untouched, so it is sent as it is read and never held whole.
 */
export function putBody(body: ObjectBodyInit): { body: BodyInit; size?: number } {
  if (body === null || body === undefined) return { body: new Uint8Array(0), size: 0 };
  if (typeof body === 'string') {
    const bytes = new TextEncoder().encode(body);
    return { body: bytes, size: bytes.byteLength };
  }
  if (body instanceof ArrayBuffer) return { body, size: body.byteLength };
  // A view is sent as exactly its bytes, not its whole underlying buffer.
  if (ArrayBuffer.isView(body)) return { body: new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength), size: body.byteLength };
  if (body instanceof Blob) return { body, size: body.size };
  if (body instanceof ReadableStream) return { body };
  throw new ObjectsError('objects.invalid_body', 'put takes a ReadableStream, ArrayBuffer, ArrayBufferView, string, Blob or null', 400);
}
