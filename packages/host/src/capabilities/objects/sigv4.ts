import { createHash, createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4, getSigningKey } from '@smithy/signature-v4';
import { S3Error } from './errors.js';
import { CLOCK_SKEW_MS, PRESIGN_SECONDS_MAX } from './limits.js';

/** node:crypto in the shape smithy's signer takes (a Checksum constructor). */
export class NodeSha256 {
  private hash;
  private readonly secret: BinaryLike | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined || typeof secret === 'string' ? secret : ArrayBuffer.isView(secret) ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength) : new Uint8Array(secret);
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
}

export interface AppCredential {
  readonly appId: string;
  readonly secretAccessKey: string;
}

export type PayloadMode =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'sha256'; readonly hex: string }
  /** aws-chunked: every chunk carries a signature chained from the request's; maybe a signed trailer. */
  | { readonly kind: 'chunked-signed'; readonly trailer: boolean; readonly chain: ChunkChain }
  /** aws-chunked with unsigned chunks and a checksum trailer (the AWS SDK's default for uploads). */
  | { readonly kind: 'chunked-unsigned-trailer' };

/** What a signed chunk's signature is chained from. */
export interface ChunkChain {
  readonly signingKey: Uint8Array;
  readonly longDate: string;
  readonly scope: string;
  readonly seedSignature: string;
}

export interface Authenticated {
  readonly appId: string;
  readonly payload: PayloadMode;
  /** Presigned URLs carry their authority in the query; such requests may not be re-signed by the caller. */
  readonly presigned: boolean;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ALGORITHM = 'AWS4-HMAC-SHA256';
const CREDENTIAL = /^([A-Za-z0-9]{1,128})\/(\d{8})\/([a-z0-9-]{1,32})\/s3\/aws4_request$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

/** Splits a raw query string without turning `+` into a space (SigV4 encodes spaces as %20). */
export function parseQuery(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of search.split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const key = decodeComponent(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : decodeComponent(pair.slice(at + 1));
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidURI', `the request URI has a malformed percent-encoding: ${text.slice(0, 64)}`);
  }
}

function parseAmzDate(text: string | undefined): Date {
  const m = text ? AMZ_DATE.exec(text) : null;
  if (!m) throw new S3Error('AccessDenied', `X-Amz-Date must be an ISO 8601 basic timestamp like 20260101T000000Z (got ${JSON.stringify(text ?? null)})`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** Constant-time comparison of two signatures. */
export function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export const sha256Hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
export const hmacHex = (key: Uint8Array, data: string) => createHmac('sha256', key).update(data).digest('hex');

interface Parsed {
  readonly accessKeyId: string;
  readonly shortDate: string;
  readonly region: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

function parseCredential(credential: string, signedHeaders: string, signature: string): Parsed {
  const malformed = 'AuthorizationHeaderMalformed';
  const m = CREDENTIAL.exec(credential);
  if (!m) throw new S3Error(malformed, `the credential must be <access key>/<yyyymmdd>/<region>/s3/aws4_request (got ${JSON.stringify(credential.slice(0, 200))})`);
  const headers = signedHeaders.split(';');
  if (!signedHeaders || headers.some((h) => !/^[a-z0-9-]+$/.test(h))) throw new S3Error(malformed, 'SignedHeaders must be a semicolon list of lower-case header names');
  if (!headers.includes('host')) throw new S3Error('AccessDenied', 'the host header must be signed');
  if (!SIGNATURE.test(signature)) throw new S3Error(malformed, 'the signature must be 64 lower-case hex digits');
  return { accessKeyId: m[1]!, shortDate: m[2]!, region: m[3]!, signedHeaders: headers, signature };
}

function parseAuthorizationHeader(value: string): Parsed {
  if (!value.startsWith(`${ALGORITHM} `)) {
    throw new S3Error(value.startsWith('AWS ') ? 'InvalidRequest' : 'AuthorizationHeaderMalformed', `only ${ALGORITHM} (Signature Version 4) is supported`);
  }
  const fields: Record<string, string> = {};
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return parseCredential(fields.Credential ?? '', fields.SignedHeaders ?? '', fields.Signature ?? '');
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Verifies AWS Signature Version 4 (header or presigned query) against the app's secret. The
 * expected signature is computed by smithy's SignatureV4 (the AWS SDK's own signer) over the
 * request as it arrived: raw path, decoded query, and exactly the headers the client signed.
 */
export async function authenticate(
  req: IncomingMessage,
  rawPath: string,
  query: Record<string, string | string[]>,
  lookup: (accessKeyId: string) => AppCredential | undefined,
  now: number,
): Promise<Authenticated> {
  const authorization = headerValue(req, 'authorization');
  const presigned = typeof query['X-Amz-Algorithm'] === 'string';
  if (authorization && presigned) throw new S3Error('InvalidArgument', 'a request is signed in the Authorization header or in the query, not both');
  if (!authorization && !presigned) throw new S3Error('AccessDenied', 'objects are private: sign the request with the app\'s credentials (SigV4) or use a presigned URL');

  let parsed: Parsed;
  let signingDate: Date;
  let payloadHash: string;
  let expiresIn = 0;
  if (authorization) {
    parsed = parseAuthorizationHeader(authorization);
    const amzDate = headerValue(req, 'x-amz-date');
    if (!amzDate || !parsed.signedHeaders.includes('x-amz-date')) throw new S3Error('AccessDenied', 'the x-amz-date header must be sent and signed');
    signingDate = parseAmzDate(amzDate);
    if (Math.abs(now - signingDate.getTime()) > CLOCK_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', `the request time ${amzDate} differs from the server's by more than ${CLOCK_SKEW_MS / 60_000} minutes`, { RequestTime: amzDate, ServerTime: new Date(now).toISOString() });
    }
    const contentSha256 = headerValue(req, 'x-amz-content-sha256');
    if (!contentSha256) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    payloadHash = contentSha256;
  } else {
    const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : '');
    if (text('X-Amz-Algorithm') !== ALGORITHM) throw new S3Error('AuthorizationHeaderMalformed', `X-Amz-Algorithm must be ${ALGORITHM}`);
    parsed = parseCredential(text('X-Amz-Credential'), text('X-Amz-SignedHeaders'), text('X-Amz-Signature'));
    signingDate = parseAmzDate(text('X-Amz-Date'));
    const expiresText = text('X-Amz-Expires');
    if (!/^-?\d{1,12}$/.test(expiresText)) throw new S3Error('AuthorizationHeaderMalformed', `X-Amz-Expires must be a number of seconds, 1 to ${PRESIGN_SECONDS_MAX}`);
    expiresIn = Number(expiresText);
    // A number out of range is a URL that is not (or no longer) valid: S3 answers 403, as for an expired one.
    if (expiresIn < 1) throw new S3Error('AccessDenied', 'Request has expired: X-Amz-Expires is less than 1 second');
    if (expiresIn > PRESIGN_SECONDS_MAX) throw new S3Error('AccessDenied', `X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be at most ${PRESIGN_SECONDS_MAX} seconds`);
    if (signingDate.getTime() - CLOCK_SKEW_MS > now) throw new S3Error('AccessDenied', 'Request is not valid yet');
    if (signingDate.getTime() + expiresIn * 1000 < now) throw new S3Error('AccessDenied', 'Request has expired', { Expires: new Date(signingDate.getTime() + expiresIn * 1000).toISOString(), ServerTime: new Date(now).toISOString() });
    // A presigned request may still pin its body with a signed x-amz-content-sha256 header.
    payloadHash = headerValue(req, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  }
  if (parsed.shortDate !== signingDate.toISOString().slice(0, 10).replace(/-/g, '')) throw new S3Error('AuthorizationHeaderMalformed', 'the credential date does not match the request date');

  const credential = lookup(parsed.accessKeyId);
  if (!credential) throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: parsed.accessKeyId });

  const headers: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const value = headerValue(req, name);
    if (value === undefined) throw new S3Error('AccessDenied', `the signed header ${name} is missing from the request`);
    headers[name] = value;
  }
  const credentials = { accessKeyId: parsed.accessKeyId, secretAccessKey: credential.secretAccessKey };
  const signer = new SignatureV4({ credentials, region: parsed.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const signable = new Set(parsed.signedHeaders);
  const request = { method: req.method ?? 'GET', protocol: 'http:', hostname: headers.host ?? '', path: rawPath, query: { ...query }, headers };
  let expected: string;
  if (authorization) {
    const signed = await signer.sign(request, { signingDate, signableHeaders: signable });
    expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  } else {
    for (const name of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']) delete request.query[name];
    // A body that is neither string nor bytes makes smithy use UNSIGNED-PAYLOAD, as presigned URLs do.
    const presignedRequest = await signer.presign({ ...request, body: { streamed: true } }, { signingDate, expiresIn, signableHeaders: signable, unhoistableHeaders: signable });
    expected = String(presignedRequest.query?.['X-Amz-Signature'] ?? '');
  }
  if (!sameHex(expected, parsed.signature)) {
    throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', { AWSAccessKeyId: parsed.accessKeyId });
  }
  // x-amz-* headers steer what a request does (copy source, checksums, metadata, payload mode): an unsigned one
  // could turn a presigned PUT into a copy of another key. A presigned request may repeat a signed query value.
  const unsigned = Object.keys(req.headers).filter((name) => name.startsWith('x-amz-') && !signable.has(name) && !(presigned && query[name] === headerValue(req, name)));
  if (unsigned.length > 0) throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });

  return { appId: credential.appId, presigned, payload: await payloadMode(payloadHash, credentials, parsed, signingDate) };
}

async function payloadMode(hash: string, credentials: { accessKeyId: string; secretAccessKey: string }, parsed: Parsed, signingDate: Date): Promise<PayloadMode> {
  if (hash === 'UNSIGNED-PAYLOAD') return { kind: 'unsigned' };
  if (/^[0-9a-f]{64}$/.test(hash)) return { kind: 'sha256', hex: hash };
  if (hash === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return { kind: 'chunked-unsigned-trailer' };
  if (hash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' || hash === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') {
    const longDate = signingDate.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const signingKey = await getSigningKey(NodeSha256, credentials, parsed.shortDate, parsed.region, 's3');
    return {
      kind: 'chunked-signed', trailer: hash.endsWith('-TRAILER'),
      chain: { signingKey, longDate, scope: `${parsed.shortDate}/${parsed.region}/s3/aws4_request`, seedSignature: parsed.signature },
    };
  }
  if (hash.startsWith('STREAMING-AWS4-ECDSA')) throw new S3Error('NotImplemented', 'Signature Version 4A (ECDSA) is not supported; sign with SigV4');
  throw new S3Error('InvalidArgument', `x-amz-content-sha256 must be a SHA-256 hex digest, UNSIGNED-PAYLOAD or a STREAMING-* value (got ${JSON.stringify(hash.slice(0, 80))})`);
}

