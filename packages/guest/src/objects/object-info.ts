import { ObjectsError } from './errors.js';
import { decodeMetadata, readMetadataHeaders } from './metadata.js';

/** The standard HTTP headers an object keeps, as S3 stores and answers them. */
export interface ObjectHeaders {
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentEncoding?: string;
  readonly contentLanguage?: string;
  readonly expires?: Date;
}

/**
 * What the platform knows about a stored object; R2's `R2Object`, flattened. From `head` and
 * `get`, `contentType` is `application/octet-stream` when none was stored, as in S3.
 */
export interface ObjectInfo extends ObjectHeaders {
  readonly key: string;
  /** The whole object's size in bytes, also when a range was read. */
  readonly size: number;
  /** The entity tag without quotes, e.g. `9bb58f26192e4ba00f01e2e7b136bbd8`. */
  readonly etag: string;
  /** The entity tag as HTTP sends it, quoted: use it in `ETag` and `If-Match` headers. */
  readonly httpEtag: string;
  /** When the object was written. From `Last-Modified` it has whole seconds; from `list` it may have milliseconds. */
  readonly uploaded: Date;
  /** User metadata; names are lowercase. */
  readonly metadata: Record<string, string>;
}

/** The standard headers an object keeps, by their `ObjectInfo` field. */
export const STANDARD_HEADERS = {
  contentType: 'content-type',
  cacheControl: 'cache-control',
  contentDisposition: 'content-disposition',
  contentEncoding: 'content-encoding',
  contentLanguage: 'content-language',
} as const;

export type StandardHeaderField = keyof typeof STANDARD_HEADERS;

/** One entry of `GET /v1/objects/buckets/:bucket/objects`. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  uploaded: string;
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  expires?: string;
  metadata?: Record<string, string>;
}

export function unquoteEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** A date, or undefined for a missing or unparseable one (S3 keeps `Expires` as an opaque string). */
function optionalDate(text: string | null | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function withStandardFields(info: Record<string, unknown>, read: (field: StandardHeaderField) => string | null | undefined, expires: string | null | undefined): void {
  for (const field of Object.keys(STANDARD_HEADERS) as StandardHeaderField[]) {
    const value = read(field);
    if (value) info[field] = value;
  }
  const expiresDate = optionalDate(expires);
  if (expiresDate) info.expires = expiresDate;
}

/** Builds an ObjectInfo from the headers of a GET or HEAD answer. */
export function infoFromHeaders(key: string, response: Response): ObjectInfo {
  const headers = response.headers;
  const etagHeader = headers.get('etag');
  const uploaded = optionalDate(headers.get('last-modified'));
  const size = sizeFromHeaders(response);
  if (!etagHeader || !uploaded || size === undefined) {
    throw new ObjectsError('platform.bad_response', `the object answer for ${key} lacks ETag, Last-Modified or its size (status ${response.status})`, response.status);
  }
  const etag = unquoteEtag(etagHeader);
  const info: Record<string, unknown> = { key, size, etag, httpEtag: `"${etag}"`, uploaded };
  withStandardFields(info, (field) => headers.get(STANDARD_HEADERS[field]), headers.get('expires'));
  info.metadata = readMetadataHeaders(headers);
  return info as unknown as ObjectInfo;
}

/** `Content-Range: bytes a-b/total` on a 206, otherwise `Content-Length`. */
function sizeFromHeaders(response: Response): number | undefined {
  const range = parseContentRange(response.headers.get('content-range'));
  if (range?.total !== undefined) return range.total;
  const length = response.headers.get('content-length');
  return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
}

export function parseContentRange(header: string | null): { offset: number; length: number; total?: number } | undefined {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!match) return undefined;
  const offset = Number(match[1]);
  const range = { offset, length: Number(match[2]) - offset + 1 };
  return match[3] === '*' ? range : { ...range, total: Number(match[3]) };
}

export function infoFromListing(listed: ListedObject): ObjectInfo {
  const etag = unquoteEtag(listed.etag);
  const info: Record<string, unknown> = { key: listed.key, size: listed.size, etag, httpEtag: `"${etag}"`, uploaded: new Date(listed.uploaded) };
  withStandardFields(info, (field) => listed[field], listed.expires);
  info.metadata = decodeMetadata(listed.metadata);
  return info as unknown as ObjectInfo;
}
