import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { CHECKSUM_ALGORITHMS, checksumAlgorithm, Digester, type ChecksumAlgorithm, type Digests } from './checksums.js';
import { newRequestId, S3_NAMESPACE, S3Error, sendS3Error, sendXml, type ErrorStyle } from './errors.js';
import { LIST_BUCKETS_MAX, LIST_KEYS_MAX, METADATA_BYTES_MAX, OBJECT_PUT_BYTES_MAX, PART_BYTES_MAX, XML_BODY_BYTES_MAX, XML_DEPTH_MAX } from './limits.js';
import { commonPrefixOf, type StandardHeaders, type StoredObject } from './object-index.js';
import { etagListMatches, type Fill, type ObjectsService } from './service.js';
import { completedParts, copySourceRange, decodeToken, deleteCondition, encodeToken, expectedObject, header, queryText, refuseAcls, uploadChecksumChoice, type Query } from './s3-request.js';
import { authenticate, parseQuery, type AppCredential, type PayloadMode } from './sigv4.js';

/** Subresources and headers of S3 features outside the portable subset: 501 NotImplemented. */
const UNSUPPORTED_SUBRESOURCES = [
  'acl', 'policy', 'policyStatus', 'versioning', 'versions', 'versionId', 'object-lock', 'retention', 'legal-hold', 'tagging', 'encryption',
  'lifecycle', 'cors', 'website', 'logging', 'notification', 'replication', 'accelerate', 'requestPayment', 'ownershipControls',
  'publicAccessBlock', 'analytics', 'inventory', 'metrics', 'intelligent-tiering', 'torrent', 'restore', 'select', 'attributes', 'session',
] as const;
const STANDARD_HEADERS: readonly [keyof StandardHeaders, string][] = [
  ['contentType', 'content-type'], ['cacheControl', 'cache-control'], ['contentDisposition', 'content-disposition'],
  ['contentEncoding', 'content-encoding'], ['contentLanguage', 'content-language'], ['expires', 'expires'],
];
/** GET may override response headers through these (S3), which presigned downloads use. */
const RESPONSE_OVERRIDES: readonly [string, string][] = [
  ['response-content-type', 'content-type'], ['response-content-language', 'content-language'], ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'], ['response-content-disposition', 'content-disposition'], ['response-content-encoding', 'content-encoding'],
];
const EXPOSED_HEADERS = ['etag', 'last-modified', 'content-range', 'x-amz-request-id', 'x-amz-version-id', 'x-amz-delete-marker', ...CHECKSUM_ALGORITHMS.map((a) => `x-amz-checksum-${a}`)].join(', ');

/** Raw S3 calls from the app's own code, on its platform socket. */
export const ABI_PREFIX = '/v1/objects/s3/';

// htmlEntities: numeric character references (`&#34;`), which Go's encoding/xml (rclone, minio-go) writes for the quotes of every ETag.
// No trimValues: a key may begin or end with spaces (DeleteObjects would delete another key); the fields that may be padded are trimmed where read.
const xmlParser = new XMLParser({ isArray: (name) => name === 'Part' || name === 'Object', parseTagValue: false, trimValues: false, htmlEntities: true });

interface Context {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly appId: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: Query;
  readonly payload: PayloadMode;
  /** Sends `100 Continue` if the client waits for one; called when the body is first read, so only an authenticated request gets it. */
  readonly continueBody: () => void;
}

/** How a request body is received and checked. */
interface BodyOptions {
  readonly sizeMax: number;
  /** A part's: the checksum computed when the part names none, and the only one it may name. */
  readonly uploadAlgorithm?: ChecksumAlgorithm;
  /** CompleteMultipartUpload's x-amz-checksum-* headers describe the object being completed, not the body. */
  readonly objectChecksumHeaders?: boolean;
}

export interface S3ApiDeps {
  readonly service: ObjectsService;
  readonly lookup: (accessKeyId: string) => AppCredential | undefined;
  readonly region: string;
  /** The endpoint's connections are dropped after this long without a byte either way. */
  readonly idleTimeoutMs: number;
  readonly now: () => number;
  readonly onBug: (error: unknown) => void;
}

const httpDate = (ms: number) => new Date(ms).toUTCString();
const isoDate = (ms: number) => new Date(ms).toISOString();
const quoted = (etag: string) => `"${etag}"`;
/** HTTP dates have whole seconds; conditional requests compare at that precision. */
const seconds = (ms: number) => Math.floor(ms / 1000);

function splitPath(rawPath: string, virtualBucket: string | undefined): { bucket: string; key: string } {
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI: malformed percent-encoding');
    }
  };
  if (virtualBucket !== undefined) return { bucket: virtualBucket, key: decode(rawPath.slice(1)) };
  const rest = rawPath.slice(1);
  const slash = rest.indexOf('/');
  return slash < 0 ? { bucket: decode(rest), key: '' } : { bucket: decode(rest.slice(0, slash)), key: decode(rest.slice(slash + 1)) };
}

function intParam(query: Context['query'], name: string, fallback: number, max: number): number {
  const text = queryText(query, name);
  if (text === undefined || text === '') return fallback;
  if (!/^\d{1,10}$/.test(text)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer (got ${JSON.stringify(text.slice(0, 40))})`);
  return Math.min(Number(text), max);
}

function standardHeaders(req: IncomingMessage): StandardHeaders {
  const out: Record<string, string> = {};
  for (const [field, name] of STANDARD_HEADERS) {
    let value = header(req, name);
    // aws-chunked describes the transfer, not the object (S3 drops it).
    if (name === 'content-encoding' && value) value = value.split(',').map((v) => v.trim()).filter((v) => v && v !== 'aws-chunked').join(', ');
    if (value) out[field] = value;
  }
  return out;
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    metadata[name.slice('x-amz-meta-'.length)] = text;
    bytes += name.length - 'x-amz-meta-'.length + Buffer.byteLength(text);
  }
  if (bytes > METADATA_BYTES_MAX) throw new S3Error('MetadataTooLarge', `Your metadata headers exceed the maximum allowed metadata size of ${METADATA_BYTES_MAX} bytes`);
  return metadata;
}

/**
 * A metadata value as S3 returns it: one with characters outside US-ASCII becomes an RFC 2047
 * encoded word ("encoded as per RFC 2047 to make them mail-safe before returning", AWS's user
 * guide), so no response header carries raw 8-bit bytes. Values are stored as they arrived.
 */
const mailSafe = (value: string) => (/[^\x00-\x7f]/.test(value) ? `=?UTF-8?B?${Buffer.from(value).toString('base64')}?=` : value);

function objectHeaders(object: StoredObject): Record<string, string> {
  const out: Record<string, string> = {
    etag: quoted(object.etag), 'last-modified': httpDate(object.lastModified), 'accept-ranges': 'bytes',
    'content-type': object.headers.contentType ?? 'application/octet-stream',
  };
  for (const [field, name] of STANDARD_HEADERS) if (object.headers[field] && field !== 'contentType') out[name] = object.headers[field]!;
  for (const [name, value] of Object.entries(object.metadata)) out[`x-amz-meta-${name}`] = mailSafe(value);
  if (object.blobs.length > 1) out['x-amz-mp-parts-count'] = String(object.blobs.length);
  return out;
}

/** RFC 9110 evaluation order, as S3 applies it to GET and HEAD. */
function evaluateConditions(req: IncomingMessage, object: StoredObject): 'ok' | 'not-modified' {
  const ifMatch = header(req, 'if-match');
  const ifNoneMatch = header(req, 'if-none-match');
  const ifModifiedSince = Date.parse(header(req, 'if-modified-since') ?? '');
  const ifUnmodifiedSince = Date.parse(header(req, 'if-unmodified-since') ?? '');
  const modified = seconds(object.lastModified);
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, object.etag)) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  } else if (!Number.isNaN(ifUnmodifiedSince) && modified > seconds(ifUnmodifiedSince)) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Unmodified-Since' });
  }
  if (ifNoneMatch !== undefined) return etagListMatches(ifNoneMatch, object.etag) ? 'not-modified' : 'ok';
  if (!Number.isNaN(ifModifiedSince) && modified <= seconds(ifModifiedSince)) return 'not-modified';
  return 'ok';
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined when absent or not a single byte range (S3 then sends it all). */
function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = value ? /^bytes=(\d*)-(\d*)$/.exec(value.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: value!, ActualObjectSize: String(size) });
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: value!, ActualObjectSize: String(size) });
  return { start, end };
}

/**
 * A presigned URL carries the `x-amz-*` headers it was signed with (checksums, user metadata)
 * in its query; they bind the request as if sent as headers, so a pinned checksum is checked.
 * `authenticate` has already refused a header that contradicts its query value.
 */
function hoistSignedQueryHeaders(req: IncomingMessage, query: Context['query']): void {
  for (const [name, value] of Object.entries(query)) {
    const lower = name.toLowerCase();
    if (name === lower && lower.startsWith('x-amz-') && typeof value === 'string' && req.headers[lower] === undefined) req.headers[lower] = value;
  }
}

/** The sizes of an object's parts: one per blob of a multipart object; a single-part object is one part. */
const partSizes = (object: StoredObject): number[] => (object.blobs.length > 1 ? object.blobs.map((b) => b.size) : [object.size]);

/** `?partNumber=N` on GET/HEAD: the bytes of the Nth part (the whole object when it has one part). */
function partRange(object: StoredObject, text: string): { start: number; end: number } | undefined {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : 0;
  if (n < 1) throw new S3Error('InvalidArgument', `partNumber must be an integer from 1 to 10000 (got ${JSON.stringify(text.slice(0, 20))})`);
  const sizes = partSizes(object);
  if (n > sizes.length) throw new S3Error('InvalidPartNumber', `The requested partnumber is not satisfiable: the object has ${sizes.length} part(s)`, { PartNumberRequested: text, ActualPartCount: String(sizes.length) });
  if (sizes.length === 1) return undefined;
  const start = sizes.slice(0, n - 1).reduce((sum, size) => sum + size, 0);
  return { start, end: start + sizes[n - 1]! - 1 };
}

export function createS3Api(deps: S3ApiDeps) {
  const { service } = deps;

  /** Streams the request body through aws-chunked decoding and the digests into `sink`, then checks every digest sent. */
  async function receive(ctx: Context, sink: Writable, options: BodyOptions): Promise<Digests> {
    const { req, payload } = ctx;
    const { sizeMax, uploadAlgorithm, objectChecksumHeaders = false } = options;
    ctx.continueBody();
    const bodyHeader = (name: string) => (objectChecksumHeaders ? undefined : header(req, name));
    const trailerName = header(req, 'x-amz-trailer')?.trim().toLowerCase();
    const named = CHECKSUM_ALGORITHMS.find((a) => bodyHeader(`x-amz-checksum-${a}`) !== undefined);
    if (bodyHeader('x-amz-checksum-crc64nvme') !== undefined) throw new S3Error('NotImplemented', 'CRC64NVME checksums are not supported; use crc32, crc32c, sha1 or sha256');
    const fromTrailer = trailerName?.startsWith('x-amz-checksum-') ? trailerName.slice('x-amz-checksum-'.length) : undefined;
    const requested = named ?? checksumAlgorithm(fromTrailer) ?? checksumAlgorithm(header(req, 'x-amz-sdk-checksum-algorithm'));
    // A part's checksum is combined into the object's, so it must be of the upload's algorithm (AWS's words below).
    if (uploadAlgorithm && requested && requested !== uploadAlgorithm) throw new S3Error('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${uploadAlgorithm}, actual checksum Type: ${requested}`);
    const algorithm = requested ?? uploadAlgorithm;
    const chunked = payload.kind === 'chunked-signed' || payload.kind === 'chunked-unsigned-trailer';
    const decoder = chunked ? new AwsChunkedDecoder(payload.kind === 'chunked-signed' ? payload.chain : undefined, payload.kind === 'chunked-signed' && payload.trailer) : undefined;
    const digester = new Digester({ sizeMax, sha256: payload.kind === 'sha256', ...(algorithm ? { algorithm } : {}) });
    // The request is piped, not pipelined: a refused body must not destroy the socket before the error is sent.
    const source = new PassThrough();
    req.pipe(source);
    req.once('close', () => { if (!req.complete) source.destroy(new Error('the client closed the request')); });
    try {
      await (decoder ? pipeline(source, decoder, digester, sink) : pipeline(source, digester, sink));
    } catch (error) {
      req.unpipe(source);
      if (error instanceof S3Error) throw error;
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
    const digests = digester.digests();
    const decodedLength = header(req, 'x-amz-decoded-content-length');
    if (decoder && decodedLength !== undefined && Number(decodedLength) !== digests.size) throw new S3Error('IncompleteBody', `the decoded body has ${digests.size} bytes, not the ${decodedLength} declared in x-amz-decoded-content-length`);
    const md5 = header(req, 'content-md5');
    if (md5 !== undefined && md5 !== digests.md5.toString('base64')) throw new S3Error(/^[A-Za-z0-9+/]{22}==$/.test(md5) ? 'BadDigest' : 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.');
    if (payload.kind === 'sha256' && payload.hex !== digests.sha256Hex) throw new S3Error('XAmzContentSHA256Mismatch', 'The provided \'x-amz-content-sha256\' header does not match what was computed.');
    if (algorithm && digests.checksum) {
      const sent = bodyHeader(`x-amz-checksum-${algorithm}`) ?? decoder?.trailers[`x-amz-checksum-${algorithm}`];
      if (trailerName && decoder && sent === undefined) throw new S3Error('InvalidRequest', `the trailer ${trailerName} was announced but not sent`);
      if (sent !== undefined && sent !== digests.checksum.value) throw new S3Error('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    }
    return digests;
  }

  async function receiveXml(ctx: Context, objectChecksumHeaders = false): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    await receive(ctx, new Writable({ write(chunk: Buffer, _e, done) { chunks.push(chunk); done(); } }), { sizeMax: XML_BODY_BYTES_MAX, objectChecksumHeaders });
    const text = Buffer.concat(chunks).toString('utf8');
    // S3's request bodies never need a DTD; refusing one up front keeps entity tricks out of the parser.
    if (/<!DOCTYPE/i.test(text)) throw new S3Error('MalformedXML', 'The XML you provided must not contain a document type declaration');
    if (xmlDepth(text) > XML_DEPTH_MAX) throw new S3Error('MalformedXML', `The XML you provided nests elements more than ${XML_DEPTH_MAX} deep`);
    if (XMLValidator.validate(text) !== true) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    return xmlParser.parse(text) as Record<string, unknown>;
  }

  /** The deepest element nesting in `text`, counted from its tags without parsing (the parsers recurse). */
  function xmlDepth(text: string): number {
    let depth = 0;
    let deepest = 0;
    for (const tag of text.matchAll(/<(\/?)[A-Za-z_][^<>]*?(\/?)>/g)) {
      if (tag[1]) depth--;
      else if (!tag[2]) deepest = Math.max(deepest, ++depth);
    }
    return deepest;
  }

  function checksumHeaders(checksum: { algorithm: ChecksumAlgorithm; value: string; type?: string } | undefined): Record<string, string> {
    if (!checksum) return {};
    return { [`x-amz-checksum-${checksum.algorithm}`]: checksum.value, ...(checksum.type ? { 'x-amz-checksum-type': checksum.type } : {}) };
  }

  function conditionFromHeaders(req: IncomingMessage) {
    const ifMatch = header(req, 'if-match');
    const ifNoneMatch = header(req, 'if-none-match');
    return { ...(ifMatch ? { ifMatch } : {}), ...(ifNoneMatch ? { ifNoneMatch } : {}) };
  }

  /** The body's length as declared (decoded, for aws-chunked), if it is. */
  function declaredLength(ctx: Context): number | undefined {
    const chunked = ctx.payload.kind === 'chunked-signed' || ctx.payload.kind === 'chunked-unsigned-trailer';
    const text = chunked ? header(ctx.req, 'x-amz-decoded-content-length') : header(ctx.req, 'content-length');
    return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
  }

  function bodyFill(ctx: Context, options: BodyOptions): Fill {
    if ((declaredLength(ctx) ?? 0) > options.sizeMax) throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size of ${options.sizeMax} bytes`);
    return (sink) => receive(ctx, sink, options);
  }

  /** `x-amz-copy-source: /bucket/key` (URL-encoded), with its conditions; the source must be the app's own. */
  function copySource(ctx: Context): StoredObject {
    const raw = header(ctx.req, 'x-amz-copy-source') ?? '';
    const path = raw.split('?')[0]!;
    const { bucket, key } = splitPath(path.startsWith('/') ? path : `/${path}`, undefined);
    if (!bucket || !key) throw new S3Error('InvalidArgument', 'x-amz-copy-source must name a bucket and a key: /bucket/key');
    const source = service.head(ctx.appId, bucket, key);
    const h = (name: string) => header(ctx.req, `x-amz-copy-source-${name}`);
    const failed = (name: string) => new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: `x-amz-copy-source-${name}` });
    const modified = seconds(source.lastModified);
    const ifMatch = h('if-match');
    const ifUnmodifiedSince = Date.parse(h('if-unmodified-since') ?? '');
    const ifModifiedSince = Date.parse(h('if-modified-since') ?? '');
    if (ifMatch !== undefined && !etagListMatches(ifMatch, source.etag)) throw failed('if-match');
    if (ifMatch === undefined && !Number.isNaN(ifUnmodifiedSince) && modified > seconds(ifUnmodifiedSince)) throw failed('if-unmodified-since');
    const ifNoneMatch = h('if-none-match');
    if (ifNoneMatch !== undefined && etagListMatches(ifNoneMatch, source.etag)) throw failed('if-none-match');
    if (ifNoneMatch === undefined && !Number.isNaN(ifModifiedSince) && modified <= seconds(ifModifiedSince)) throw failed('if-modified-since');
    return source;
  }

  function copyFill(ctx: Context, source: StoredObject, start: number, end: number, algorithm: ChecksumAlgorithm | undefined): Fill {
    return async (sink) => {
      const digester = new Digester({ sizeMax: Number.MAX_SAFE_INTEGER, ...(algorithm ? { algorithm } : {}) });
      await pipeline(await service.read(ctx.appId, source, start, end), digester, sink);
      return digester.digests();
    };
  }

  // ---------------------------------------------------------------- operations

  /** The app owns everything it stores; S3 clients read it as the owner of buckets and objects. */
  const owner = (ctx: Context) => ({ ID: ctx.appId, DisplayName: ctx.appId });

  function listBuckets(ctx: Context): void {
    const { query } = ctx;
    const maxText = queryText(query, 'max-buckets');
    if (maxText !== undefined && !(/^\d{1,5}$/.test(maxText) && Number(maxText) >= 1 && Number(maxText) <= LIST_BUCKETS_MAX)) {
      throw new S3Error('InvalidArgument', `max-buckets must be an integer from 1 to ${LIST_BUCKETS_MAX} (got ${JSON.stringify(maxText.slice(0, 20))})`, { ArgumentName: 'max-buckets' });
    }
    const maxBuckets = maxText === undefined ? LIST_BUCKETS_MAX : Number(maxText);
    const prefix = queryText(query, 'prefix');
    const token = queryText(query, 'continuation-token');
    const after = token ? decodeToken(token) : '';
    const region = queryText(query, 'bucket-region');
    const matching = region !== undefined && region !== deps.region ? [] : service.listBuckets(ctx.appId).filter((b) => b.name.startsWith(prefix ?? '') && b.name > after);
    const page = matching.slice(0, maxBuckets);
    sendXml(ctx.res, 200, {
      ListAllMyBucketsResult: {
        '@_xmlns': S3_NAMESPACE, Owner: owner(ctx),
        Buckets: { Bucket: page.map((b) => ({ Name: b.name, CreationDate: isoDate(b.created), BucketRegion: deps.region })) },
        ...(matching.length > maxBuckets ? { ContinuationToken: encodeToken(page[page.length - 1]!.name) } : {}),
        ...(prefix !== undefined ? { Prefix: prefix } : {}),
      },
    });
  }

  function listObjects(ctx: Context, version: 1 | 2): void {
    const { query } = ctx;
    const prefix = queryText(query, 'prefix') ?? '';
    const delimiter = queryText(query, 'delimiter') ?? '';
    const maxKeys = intParam(query, 'max-keys', LIST_KEYS_MAX, LIST_KEYS_MAX);
    const encodingType = queryText(query, 'encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request: encoding-type must be url');
    // RFC 3986 percent-encoding, keeping `/`: AWS documents `test_file(3).png` as `test_file%283%29.png`.
    const encode = encodingType === 'url' ? (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%2F/g, '/') : (s: string) => s;
    const token = queryText(query, 'continuation-token');
    let after: string;
    if (version === 1) after = queryText(query, 'marker') ?? '';
    // An empty token is no token: the listing starts from the beginning (S3, and s3-tests' test_bucket_listv2_continuationtoken_empty).
    else if (token !== undefined && token !== '') after = decodeToken(token);
    else after = queryText(query, 'start-after') ?? '';
    const listing = service.list(ctx.appId, ctx.bucket, { prefix, delimiter, after, maxKeys });
    const withOwner = version === 1 || queryText(query, 'fetch-owner')?.toLowerCase() === 'true';
    const common = {
      // v1 gives Prefix back as sent: AWS does (botocore, which asks v1 for url encoding itself, decodes every field but
      // this one, and s3-tests' test_bucket_list_prefix_unreadable passes on AWS); v2 encodes it, as documented.
      Name: ctx.bucket, Prefix: version === 1 ? prefix : encode(prefix), MaxKeys: maxKeys, IsTruncated: listing.truncated,
      ...(delimiter ? { Delimiter: encode(delimiter) } : {}), ...(encodingType ? { EncodingType: encodingType } : {}),
      // S3 lists each object's owner in v1, and in v2 only with fetch-owner=true.
      Contents: listing.objects.map((o) => ({
        Key: encode(o.key), LastModified: isoDate(o.lastModified), ETag: quoted(o.etag), Size: o.size, StorageClass: 'STANDARD', ...(withOwner ? { Owner: owner(ctx) } : {}),
      })),
      CommonPrefixes: listing.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
    };
    const next = listing.truncated && listing.last !== undefined ? listing.last : undefined;
    const page = version === 1
      ? { ...common, Marker: encode(after), ...(next !== undefined && delimiter ? { NextMarker: encode(next) } : {}) }
      : {
        ...common, KeyCount: listing.objects.length + listing.commonPrefixes.length,
        ...(token !== undefined ? { ContinuationToken: token } : {}),
        ...(queryText(query, 'start-after') !== undefined ? { StartAfter: encode(queryText(query, 'start-after')!) } : {}),
        ...(next !== undefined ? { NextContinuationToken: encodeToken(next) } : {}),
      };
    sendXml(ctx.res, 200, { ListBucketResult: { '@_xmlns': S3_NAMESPACE, ...page } });
  }

  async function getObject(ctx: Context, headOnly: boolean): Promise<void> {
    const { req, res } = ctx;
    const object = service.head(ctx.appId, ctx.bucket, ctx.key);
    const headers = objectHeaders(object);
    if (evaluateConditions(req, object) === 'not-modified') {
      res.writeHead(304, { etag: headers.etag!, 'last-modified': headers['last-modified']! }).end();
      return;
    }
    const partNumber = queryText(ctx.query, 'partNumber');
    if (partNumber !== undefined && header(req, 'range') !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
    const range = partNumber !== undefined ? partRange(object, partNumber) : parseRange(header(req, 'range'), object.size);
    if (partNumber !== undefined) headers['x-amz-mp-parts-count'] = String(partSizes(object).length);
    for (const [param, name] of RESPONSE_OVERRIDES) {
      const value = queryText(ctx.query, param);
      if (value !== undefined) headers[name] = value;
    }
    if (!range && header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') Object.assign(headers, checksumHeaders(object.checksum));
    const start = range?.start ?? 0;
    const end = range?.end ?? object.size - 1;
    headers['content-length'] = String(end - start + 1);
    if (range) headers['content-range'] = `bytes ${start}-${end}/${object.size}`;
    // Opened before the status is sent, so a blob that cannot be read (a back end down) is still a clean 500.
    const body = headOnly || object.size === 0 ? undefined : await service.read(ctx.appId, object, start, end);
    res.writeHead(range ? 206 : 200, headers);
    if (!body) return void res.end();
    await pipeline(body, res);
  }

  async function putObject(ctx: Context): Promise<void> {
    service.checkBucket(ctx.appId, ctx.bucket);
    const object = await service.put(ctx.appId, { bucket: ctx.bucket, key: ctx.key, headers: standardHeaders(ctx.req), metadata: userMetadata(ctx.req) }, bodyFill(ctx, { sizeMax: OBJECT_PUT_BYTES_MAX }), conditionFromHeaders(ctx.req), declaredLength(ctx));
    // Last-Modified and the size let a client describe what it stored without a HEAD (the guest SDK does).
    ctx.res.writeHead(200, {
      etag: quoted(object.etag), 'last-modified': httpDate(object.lastModified), 'x-amz-object-size': String(object.size),
      'content-length': 0, ...checksumHeaders(object.checksum),
    }).end();
  }

  async function copyObject(ctx: Context): Promise<void> {
    const source = copySource(ctx);
    const directive = (header(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') throw new S3Error('InvalidArgument', 'Unknown metadata directive: x-amz-metadata-directive is COPY or REPLACE');
    if (directive === 'COPY' && source.bucket === ctx.bucket && source.key === ctx.key) {
      throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
    }
    const algorithm = checksumAlgorithm(header(ctx.req, 'x-amz-checksum-algorithm')) ?? source.checksum?.algorithm;
    const target = directive === 'COPY'
      ? { bucket: ctx.bucket, key: ctx.key, headers: source.headers, metadata: source.metadata }
      : { bucket: ctx.bucket, key: ctx.key, headers: standardHeaders(ctx.req), metadata: userMetadata(ctx.req) };
    const object = await service.put(ctx.appId, target, copyFill(ctx, source, 0, source.size - 1, algorithm), conditionFromHeaders(ctx.req), source.size);
    sendXml(ctx.res, 200, { CopyObjectResult: { '@_xmlns': S3_NAMESPACE, ETag: quoted(object.etag), LastModified: isoDate(object.lastModified) } }, checksumHeaders(object.checksum));
  }

  async function deleteObjects(ctx: Context): Promise<void> {
    if (header(ctx.req, 'content-md5') === undefined && !CHECKSUM_ALGORITHMS.some((a) => header(ctx.req, `x-amz-checksum-${a}`) !== undefined) && ctx.payload.kind !== 'chunked-unsigned-trailer' && ctx.payload.kind !== 'chunked-signed') {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 or x-amz-checksum-*');
    }
    service.checkBucket(ctx.appId, ctx.bucket);
    const body = await receiveXml(ctx);
    const request = body.Delete as { Quiet?: string; Object?: { Key?: unknown; ETag?: unknown; Size?: unknown; LastModifiedTime?: unknown }[] } | undefined;
    const objects = request?.Object ?? [];
    const optionalText = (value: unknown) => value === undefined || typeof value === 'string';
    if (!request || objects.length === 0 || objects.length > LIST_KEYS_MAX || objects.some((o) => typeof o.Key !== 'string' || !optionalText(o.ETag) || !optionalText(o.Size) || !optionalText(o.LastModifiedTime))) {
      throw new S3Error('MalformedXML', `DeleteObjects takes 1 to ${LIST_KEYS_MAX} <Object> entries, each with a <Key> and optionally <ETag>, <Size> and <LastModifiedTime>`);
    }
    const deleted: { Key: string }[] = [];
    const errors: { Key: string; Code: string; Message: string }[] = [];
    for (const { Key, ETag, Size, LastModifiedTime } of objects as { Key: string; ETag?: string; Size?: string; LastModifiedTime?: string }[]) {
      try {
        service.delete(ctx.appId, ctx.bucket, Key, deleteCondition(ETag, Size, LastModifiedTime, { size: '<Size>', time: '<LastModifiedTime>' }));
        deleted.push({ Key });
      } catch (error) {
        if (!(error instanceof S3Error)) throw error;
        errors.push({ Key, Code: error.code, Message: error.message });
      }
    }
    await service.durable(ctx.appId);
    const quiet = request.Quiet?.trim().toLowerCase() === 'true';
    sendXml(ctx.res, 200, { DeleteResult: { '@_xmlns': S3_NAMESPACE, Deleted: quiet ? [] : deleted, Error: errors } });
  }

  async function createUpload(ctx: Context): Promise<void> {
    const checksum = uploadChecksumChoice(ctx.req);
    const upload = service.createUpload(ctx.appId, { bucket: ctx.bucket, key: ctx.key, headers: standardHeaders(ctx.req), metadata: userMetadata(ctx.req) }, checksum);
    await service.durable(ctx.appId);
    sendXml(ctx.res, 200, { InitiateMultipartUploadResult: { '@_xmlns': S3_NAMESPACE, Bucket: ctx.bucket, Key: ctx.key, UploadId: upload.uploadId } },
      checksum ? { 'x-amz-checksum-algorithm': checksum.algorithm.toUpperCase(), 'x-amz-checksum-type': checksum.type } : {});
  }

  async function uploadPart(ctx: Context, copy: boolean): Promise<void> {
    const upload = service.upload(ctx.appId, ctx.bucket, ctx.key, queryText(ctx.query, 'uploadId') ?? '');
    const partNumber = Number(queryText(ctx.query, 'partNumber'));
    let fill: Fill;
    let sizeHint: number | undefined;
    if (copy) {
      const source = copySource(ctx);
      const range = copySourceRange(header(ctx.req, 'x-amz-copy-source-range'), source.size);
      fill = copyFill(ctx, source, range.start, range.end, upload.checksumAlgorithm);
      sizeHint = range.end - range.start + 1;
    } else {
      fill = bodyFill(ctx, { sizeMax: PART_BYTES_MAX, ...(upload.checksumAlgorithm ? { uploadAlgorithm: upload.checksumAlgorithm } : {}) });
      sizeHint = declaredLength(ctx);
    }
    const { part, checksum: received } = await service.putPart(ctx.appId, upload, partNumber, fill, sizeHint);
    const checksum = checksumHeaders(received);
    if (copy) sendXml(ctx.res, 200, { CopyPartResult: { ETag: quoted(part.etag), LastModified: isoDate(part.lastModified) } }, checksum);
    else ctx.res.writeHead(200, { etag: quoted(part.etag), 'content-length': 0, ...checksum }).end();
  }

  async function completeUpload(ctx: Context): Promise<void> {
    const uploadId = queryText(ctx.query, 'uploadId') ?? '';
    const upload = service.findUpload(ctx.appId, ctx.bucket, ctx.key, uploadId);
    const expected = upload ? expectedObject(ctx.req, upload) : undefined;
    const requested = completedParts(await receiveXml(ctx, true), upload?.checksumAlgorithm);
    // No open upload: a retry of a Complete that succeeded gets the same answer (the SDKs retry it on a 500 or a lost reply).
    const object = upload
      ? await service.completeUpload(ctx.appId, upload, requested, conditionFromHeaders(ctx.req), expected)
      : service.completedUpload(ctx.appId, ctx.bucket, ctx.key, uploadId, requested);
    const checksum = object.checksum ? { [`Checksum${object.checksum.algorithm.toUpperCase()}`]: object.checksum.value, ChecksumType: object.checksum.type } : {};
    sendXml(ctx.res, 200, {
      CompleteMultipartUploadResult: {
        '@_xmlns': S3_NAMESPACE, Location: `/${encodeURIComponent(ctx.bucket)}/${encodeURIComponent(ctx.key)}`, Bucket: ctx.bucket, Key: ctx.key, ETag: quoted(object.etag), ...checksum,
      },
    });
  }

  function listParts(ctx: Context): void {
    const upload = service.upload(ctx.appId, ctx.bucket, ctx.key, queryText(ctx.query, 'uploadId') ?? '');
    const marker = intParam(ctx.query, 'part-number-marker', 0, Number.MAX_SAFE_INTEGER);
    const maxParts = intParam(ctx.query, 'max-parts', LIST_KEYS_MAX, LIST_KEYS_MAX);
    const parts = service.listParts(ctx.appId, upload, marker, maxParts + 1);
    const page = parts.slice(0, maxParts);
    const algorithm = upload.checksumAlgorithm?.toUpperCase();
    sendXml(ctx.res, 200, {
      ListPartsResult: {
        '@_xmlns': S3_NAMESPACE, Bucket: ctx.bucket, Key: ctx.key, UploadId: upload.uploadId, PartNumberMarker: marker,
        ...(page.length ? { NextPartNumberMarker: page[page.length - 1]!.partNumber } : {}), MaxParts: maxParts, IsTruncated: parts.length > maxParts,
        StorageClass: 'STANDARD', ...(algorithm ? { ChecksumAlgorithm: algorithm, ChecksumType: upload.checksumType } : {}),
        Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: isoDate(p.lastModified), ETag: quoted(p.etag), Size: p.size, ...(algorithm && p.checksum ? { [`Checksum${algorithm}`]: p.checksum } : {}) })),
      },
    });
  }

  function listUploads(ctx: Context): void {
    const prefix = queryText(ctx.query, 'prefix') ?? '';
    const keyMarker = queryText(ctx.query, 'key-marker') ?? '';
    const uploadIdMarker = queryText(ctx.query, 'upload-id-marker') ?? '';
    const maxUploads = intParam(ctx.query, 'max-uploads', LIST_KEYS_MAX, LIST_KEYS_MAX);
    const delimiter = queryText(ctx.query, 'delimiter') ?? '';
    const uploads = service.listUploads(ctx.appId, ctx.bucket, prefix, keyMarker, uploadIdMarker, maxUploads + 1);
    const page = uploads.slice(0, maxUploads);
    const last = page[page.length - 1];
    // With a delimiter, keys that continue past it after the prefix roll up into CommonPrefixes (per page).
    const rolledUp = (key: string) => commonPrefixOf(key, prefix, delimiter);
    const commonPrefixes = [...new Set(page.map((u) => rolledUp(u.key)).filter((p): p is string => p !== undefined))];
    sendXml(ctx.res, 200, {
      ListMultipartUploadsResult: {
        '@_xmlns': S3_NAMESPACE, Bucket: ctx.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker, MaxUploads: maxUploads,
        IsTruncated: uploads.length > maxUploads, ...(uploads.length > maxUploads && last ? { NextKeyMarker: last.key, NextUploadIdMarker: last.uploadId } : {}),
        ...(delimiter ? { Delimiter: delimiter } : {}),
        Upload: page.filter((u) => rolledUp(u.key) === undefined).map((u) => ({ Key: u.key, UploadId: u.uploadId, Initiated: isoDate(u.initiated), StorageClass: 'STANDARD' })),
        CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: p })),
      },
    });
  }

  async function dispatch(ctx: Context): Promise<void> {
    const { req, res, query } = ctx;
    const method = req.method ?? 'GET';
    const has = (name: string) => name in query;
    if (!ctx.bucket) {
      if (method === 'GET') return listBuckets(ctx);
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
    const unsupported = UNSUPPORTED_SUBRESOURCES.find(has);
    if (unsupported) throw new S3Error('NotImplemented', `?${unsupported} is outside Plinth's S3 subset (no ACLs, policies, versioning, object lock, tagging or bucket configuration)`);
    refuseAcls(req, ctx.appId);
    const sse = header(req, 'x-amz-server-side-encryption');
    if ((sse && sse !== 'AES256') || header(req, 'x-amz-server-side-encryption-customer-algorithm') || header(req, 'x-amz-object-lock-mode') || header(req, 'x-amz-tagging') || header(req, 'x-amz-website-redirect-location')) {
      throw new S3Error('NotImplemented', 'SSE-KMS, SSE-C, object lock, tagging and website redirects are outside Plinth\'s S3 subset');
    }
    if (!ctx.key) {
      if (method === 'GET' && has('location')) return sendXml(res, 200, { LocationConstraint: { '@_xmlns': S3_NAMESPACE, '#text': deps.region === 'us-east-1' ? '' : deps.region } });
      if (method === 'GET' && has('uploads')) return listUploads(ctx);
      if (method === 'GET') return listObjects(ctx, queryText(query, 'list-type') === '2' ? 2 : 1);
      if (method === 'HEAD') {
        service.headBucket(ctx.appId, ctx.bucket);
        return void res.writeHead(200, { 'x-amz-bucket-region': deps.region }).end();
      }
      if (method === 'PUT') {
        req.resume();
        if (!service.createBucket(ctx.appId, ctx.bucket) && deps.region !== 'us-east-1') throw new S3Error('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: ctx.bucket });
        await service.durable(ctx.appId);
        return void res.writeHead(200, { location: `/${ctx.bucket}`, 'content-length': 0 }).end();
      }
      if (method === 'DELETE') {
        service.deleteBucket(ctx.appId, ctx.bucket);
        await service.durable(ctx.appId);
        return void res.writeHead(204).end();
      }
      if (method === 'POST' && has('delete')) return deleteObjects(ctx);
      throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
    const copy = header(req, 'x-amz-copy-source') !== undefined;
    switch (method) {
      case 'GET':
        return has('uploadId') ? listParts(ctx) : getObject(ctx, false);
      case 'HEAD':
        return getObject(ctx, true);
      case 'PUT':
        if (has('uploadId') || has('partNumber')) return uploadPart(ctx, copy);
        return copy ? copyObject(ctx) : putObject(ctx);
      case 'DELETE':
        if (has('uploadId')) {
          service.abortUpload(ctx.appId, service.upload(ctx.appId, ctx.bucket, ctx.key, queryText(query, 'uploadId') ?? ''));
        } else {
          const condition = deleteCondition(header(req, 'if-match'), header(req, 'x-amz-if-match-size'), header(req, 'x-amz-if-match-last-modified-time'), { size: 'x-amz-if-match-size', time: 'x-amz-if-match-last-modified-time' });
          service.delete(ctx.appId, ctx.bucket, ctx.key, condition);
        }
        await service.durable(ctx.appId);
        return void res.writeHead(204).end();
      case 'POST':
        if (has('uploads')) return createUpload(ctx);
        if (has('uploadId')) return completeUpload(ctx);
    }
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  async function run(req: IncomingMessage, res: ServerResponse, style: ErrorStyle, resolve: (rawPath: string, query: Context['query']) => Promise<Omit<Context, 'req' | 'res' | 'query'>>): Promise<void> {
    const url = req.url ?? '/';
    const at = url.indexOf('?');
    const rawPath = at < 0 ? url : url.slice(0, at);
    const headOnly = req.method === 'HEAD';
    res.setHeader('x-amz-request-id', newRequestId());
    let resource = rawPath;
    try {
      const query = parseQuery(at < 0 ? '' : url.slice(at + 1));
      const ctx = { req, res, query, ...(await resolve(rawPath, query)) };
      resource = `/${ctx.bucket}${ctx.key ? `/${ctx.key}` : ''}`;
      await dispatch(ctx);
    } catch (error) {
      if (!(error instanceof S3Error)) {
        // A client that hangs up mid-download is no bug; a blob that fails mid-way is.
        if (!res.destroyed) deps.onBug(error);
        if (res.headersSent) return void res.destroy();
      }
      // A refused upload may still be sending: answer, then close rather than read the rest.
      if (!req.complete) {
        res.setHeader('connection', 'close');
        req.resume();
      }
      sendS3Error(res, error instanceof S3Error ? error : new S3Error('InternalError', 'We encountered an internal error. Please try again.'), style, resource, headOnly);
    }
  }

  return {
    /** The public endpoint (`s3.<base>` and `--s3-port`): SigV4 decides the app. */
    handleEndpoint(req: IncomingMessage, res: ServerResponse, virtualBucket: string | undefined): Promise<void> {
      // With no 'timeout' listener, Node destroys the socket: a stalled upload or download frees its file and socket.
      req.setTimeout(deps.idleTimeoutMs);
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
      if (req.method === 'OPTIONS') {
        // Preflight: every real request still needs a signature, and no cookies are involved, so any origin may ask.
        res.writeHead(200, {
          'access-control-allow-methods': 'GET, PUT, POST, DELETE, HEAD',
          'access-control-allow-headers': header(req, 'access-control-request-headers') ?? '*',
          'access-control-max-age': '3600', 'content-length': 0,
        }).end();
        return Promise.resolve();
      }
      return run(req, res, 'xml', async (rawPath, query) => {
        // A browser form upload carries its authority in a signed policy inside the body, which Plinth does not take:
        // it is outside the subset (501), so its missing signature is not the error to report.
        if (req.method === 'POST' && /^multipart\/form-data\b/i.test(header(req, 'content-type') ?? '')) {
          throw new S3Error('NotImplemented', 'POST Object (browser form uploads) is outside Plinth\'s S3 subset; use a presigned PUT URL');
        }
        const auth = await authenticate(req, rawPath, query, deps.lookup, deps.now());
        if (auth.presigned) hoistSignedQueryHeaders(req, query);
        // The server hands over requests with Expect unanswered (FrontDoorDeps.s3): a client waiting for 100 sends no body before it.
        let continuePending = /(?:^|\W)100-continue(?:$|\W)/i.test(header(req, 'expect') ?? '');
        const continueBody = () => {
          if (continuePending) res.writeContinue();
          continuePending = false;
        };
        return { appId: auth.appId, payload: auth.payload, continueBody, ...splitPath(rawPath, virtualBucket) };
      });
    },
    /** The ABI (`<ABI_PREFIX><bucket>/<key>` on the platform socket): the socket decides the app. */
    handleAbi(appId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
      // The platform socket's server answers Expect as Node does, so there is no 100 to send here.
      return run(req, res, 'json', async (rawPath) => ({ appId, payload: { kind: 'unsigned' }, continueBody: () => undefined, ...splitPath(rawPath.slice(ABI_PREFIX.length - 1), undefined) }));
    },
  };
}
export type S3Api = ReturnType<typeof createS3Api>;
