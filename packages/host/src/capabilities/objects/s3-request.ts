import type { IncomingMessage } from 'node:http';
import { parseHttpDate } from '../../support/http-date.js';
import { CHECKSUM_ALGORITHMS, CHECKSUM_TYPES, checksumAlgorithm, FULL_OBJECT_ALGORITHMS, type ChecksumAlgorithm, type ChecksumType } from './checksums.js';
import { S3Error } from './errors.js';
import type { Upload } from './object-index.js';
import type { CompletedPart, DeleteCondition, ExpectedObject } from './service.js';

// S3 request headers, query parameters and XML bodies read into typed values at the edge;
// malformed input is S3's own error, never a value silently dropped.

export type Query = Record<string, string | string[]>;

/**
 * Canned ACLs that grant no one but the owner. The app owns every bucket and object it stores,
 * so these describe what it has anyway and are accepted; any other ACL is 501 (no ACLs here).
 */
const OWNER_ONLY_CANNED_ACLS: readonly string[] = ['private', 'bucket-owner-full-control', 'bucket-owner-read'];
const GRANT_HEADERS = ['x-amz-grant-read', 'x-amz-grant-write', 'x-amz-grant-read-acp', 'x-amz-grant-write-acp', 'x-amz-grant-full-control'] as const;

export const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

export function queryText(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[0] : value;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/**
 * A conditional delete's size or time, as a header (HTTP-date, the SDKs' form) or a DeleteObjects
 * element (ISO 8601); anything else is InvalidArgument, never a condition silently dropped.
 */
export function deleteCondition(ifMatch: string | undefined, size: string | undefined, time: string | undefined, names: { size: string; time: string }): DeleteCondition {
  const condition: { ifMatch?: string; size?: number; lastModified?: number } = {};
  if (ifMatch !== undefined) condition.ifMatch = ifMatch;
  if (size !== undefined) {
    if (!/^\d{1,15}$/.test(size.trim())) throw new S3Error('InvalidArgument', `${names.size} must be a size in bytes (got ${JSON.stringify(size.slice(0, 40))})`);
    condition.size = Number(size.trim());
  }
  if (time !== undefined) {
    const text = time.trim();
    const ms = ISO_TIMESTAMP.test(text) ? Date.parse(text) : parseHttpDate(text);
    if (ms === null || Number.isNaN(ms)) throw new S3Error('InvalidArgument', `${names.time} must be an HTTP-date or an ISO 8601 time (got ${JSON.stringify(time.slice(0, 40))})`);
    condition.lastModified = ms;
  }
  return condition;
}

/** x-amz-acl and x-amz-grant-*: accepted only where they grant the app what it has (see OWNER_ONLY_CANNED_ACLS), else 501. */
export function refuseAcls(req: IncomingMessage, appId: string): void {
  const acl = header(req, 'x-amz-acl');
  if (acl !== undefined && !OWNER_ONLY_CANNED_ACLS.includes(acl.trim())) {
    throw new S3Error('NotImplemented', `x-amz-acl: ${acl.slice(0, 40)} is outside Plinth's S3 subset: objects are private to the app, and only ${OWNER_ONLY_CANNED_ACLS.join(', ')} are accepted`);
  }
  for (const name of GRANT_HEADERS) {
    const grantees = header(req, name)?.split(',').map((g) => g.trim());
    if (grantees && !grantees.every((g) => g === `id="${appId}"` || g === `id=${appId}`)) {
      throw new S3Error('NotImplemented', `${name} grants access to others, which is outside Plinth's S3 subset: only the app itself (id="${appId}") may be named`);
    }
  }
}

/** Continuation tokens: the key (or bucket name) a page ended at, base64url, so no client reads them as keys. */
export const encodeToken = (last: string) => Buffer.from(last).toString('base64url');
export function decodeToken(token: string): string {
  const last = Buffer.from(token, 'base64url').toString('utf8');
  if (encodeToken(last) !== token) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  return last;
}

/** CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type (COMPOSITE unless FULL_OBJECT is asked). */
export function uploadChecksumChoice(req: IncomingMessage): { algorithm: ChecksumAlgorithm; type: ChecksumType } | undefined {
  const algorithm = checksumAlgorithm(header(req, 'x-amz-checksum-algorithm'));
  const typeText = header(req, 'x-amz-checksum-type');
  const type = typeText === undefined ? 'COMPOSITE' : CHECKSUM_TYPES.find((t) => t === typeText.trim().toUpperCase());
  if (!type) throw new S3Error('InvalidRequest', `x-amz-checksum-type is ${CHECKSUM_TYPES.join(' or ')} (got ${JSON.stringify(typeText!.slice(0, 40))})`);
  if (!algorithm) {
    if (typeText !== undefined) throw new S3Error('InvalidRequest', 'x-amz-checksum-type needs an x-amz-checksum-algorithm');
    return undefined;
  }
  if (type === 'FULL_OBJECT' && !FULL_OBJECT_ALGORITHMS.includes(algorithm)) {
    throw new S3Error('InvalidRequest', `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toUpperCase()} checksum algorithm; use ${FULL_OBJECT_ALGORITHMS.join(' or ').toUpperCase()}`);
  }
  return { algorithm, type };
}

/**
 * CompleteMultipartUpload's x-amz-checksum-* (the whole object's checksum, of the upload's algorithm),
 * x-amz-checksum-type (must be the upload's: else BadDigest, as AWS documents) and x-amz-mp-object-size.
 */
export function expectedObject(req: IncomingMessage, upload: Upload): ExpectedObject {
  const named = CHECKSUM_ALGORITHMS.find((a) => header(req, `x-amz-checksum-${a}`) !== undefined);
  if (named && named !== upload.checksumAlgorithm) throw new S3Error('InvalidRequest', `the upload was created with ${upload.checksumAlgorithm ? `the ${upload.checksumAlgorithm.toUpperCase()} checksum algorithm` : 'no checksum algorithm'}, not ${named.toUpperCase()}`);
  const type = header(req, 'x-amz-checksum-type');
  if (type !== undefined && type.trim().toUpperCase() !== upload.checksumType) throw new S3Error('BadDigest', `the upload's checksum type is ${upload.checksumType ?? 'none'}, not ${type.slice(0, 40)}`);
  const size = header(req, 'x-amz-mp-object-size');
  if (size !== undefined && !/^\d{1,15}$/.test(size)) throw new S3Error('InvalidArgument', `x-amz-mp-object-size must be a size in bytes (got ${JSON.stringify(size.slice(0, 40))})`);
  return { ...(named ? { checksum: header(req, `x-amz-checksum-${named}`)!.trim() } : {}), ...(size !== undefined ? { size: Number(size) } : {}) };
}

/**
 * UploadPartCopy's x-amz-copy-source-range: exactly `bytes=first-last`. Anything else is
 * InvalidArgument (S3 does not fall back to the whole source, as a GET's Range does); a well-formed
 * range past the source's end is InvalidRange.
 */
export function copySourceRange(text: string | undefined, size: number): { start: number; end: number } {
  if (text === undefined) return { start: 0, end: size - 1 };
  const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(text.trim());
  if (!m || Number(m[1]) > Number(m[2])) {
    throw new S3Error('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: text.slice(0, 100) });
  }
  if (Number(m[2]) >= size) throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: text.slice(0, 100), ActualObjectSize: String(size) });
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** CompleteMultipartUpload's `<Part>` list, with each part's checksum of the upload's algorithm. */
export function completedParts(body: Record<string, unknown>, algorithm: ChecksumAlgorithm | undefined): CompletedPart[] {
  const parts = (body.CompleteMultipartUpload as { Part?: Record<string, string>[] } | undefined)?.Part;
  if (!parts?.length) throw new S3Error('MalformedXML', 'CompleteMultipartUpload lists at least one <Part> with <PartNumber> and <ETag>');
  return parts.map((p) => {
    const partNumber = Number(p.PartNumber);
    if (!Number.isInteger(partNumber) || typeof p.ETag !== 'string') throw new S3Error('MalformedXML', 'every <Part> has a numeric <PartNumber> and an <ETag>');
    const checksum = algorithm ? p[`Checksum${algorithm.toUpperCase()}`] : undefined;
    return { partNumber, etag: p.ETag, ...(typeof checksum === 'string' ? { checksum: checksum.trim() } : {}) };
  });
}
