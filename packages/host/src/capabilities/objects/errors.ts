import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { XMLBuilder } from 'fast-xml-parser';
import type { ErrorRow } from '../../support/error-table.js';

/** S3's error codes with their statuses; clients branch on these exact names. */
const S3_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  BadDigest: 400,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidPartNumber: 416,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  // The app's storage quota. AWS has no such code; Ceph RGW answers 403 QuotaExceeded, MinIO 400
  // XMinioAdminBucketQuotaExceeded. RGW's is chosen: not vendor-prefixed, and a 403 is not retried
  // by AWS SDKs (a 400 is not either, but it tells the client its request was malformed, which it was not).
  QuotaExceeded: 403,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  TooManyBuckets: 400,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3ErrorCode = keyof typeof S3_STATUS;

/** An expected S3 failure, thrown from deep in a handler and rendered once at the edge. */
export class S3Error extends Error {
  constructor(
    readonly code: S3ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
  get status(): number {
    return S3_STATUS[this.code];
  }
}

const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false });
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function sendXml(res: ServerResponse, status: number, document: Record<string, unknown>, headers: Record<string, string> = {}): void {
  const body = Buffer.from(XML_DECLARATION + xmlBuilder.build(document));
  res.writeHead(status, { ...headers, 'content-type': 'application/xml', 'content-length': body.length }).end(body);
}

// randomUUID draws from a cached entropy pool; randomBytes(8) was a syscall per request.
export const newRequestId = () => randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();

/** How errors look to the caller: S3 XML on the endpoint, `{error:{code,message}}` on the ABI. */
export type ErrorStyle = 'xml' | 'json';

/** `NoSuchKey` → `objects.no_such_key`, the ABI's namespaced form (STYLE: codes carry their capability). */
export function abiCode(code: S3ErrorCode): string {
  return `objects.${code.replace(/SHA256/, 'Sha256').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;
}

/**
 * The ABI's `objects.*` codes with the statuses S3 gives them, so a code has one status whether
 * it came from a JSON route or a streamed one. Derived from S3_STATUS, so no code lacks a row.
 */
export const OBJECTS_ERRORS: Readonly<Record<string, ErrorRow>> = Object.freeze(Object.fromEntries(
  (Object.entries(S3_STATUS) as [S3ErrorCode, number][]).map(([code, status]) => [abiCode(code), { status }]),
));

export function sendS3Error(res: ServerResponse, error: S3Error, style: ErrorStyle, resource: string, headOnly: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers = { 'x-amz-request-id': String(res.getHeader('x-amz-request-id') ?? newRequestId()), ...(error.code === 'MethodNotAllowed' ? { allow: 'GET, PUT, POST, DELETE, HEAD' } : {}) };
  if (headOnly) {
    // HEAD answers carry no body; the code travels in a header (as S3 does for some gateways).
    res.writeHead(error.status, { ...headers, 'x-amz-error-code': error.code }).end();
  } else if (style === 'json') {
    const body = Buffer.from(JSON.stringify({ error: { code: abiCode(error.code), message: error.message } }));
    res.writeHead(error.status, { ...headers, 'content-type': 'application/json', 'content-length': body.length }).end(body);
  } else {
    sendXml(res, error.status, { Error: { Code: error.code, Message: error.message, ...error.extra, Resource: resource, RequestId: headers['x-amz-request-id'] } }, headers);
  }
}
