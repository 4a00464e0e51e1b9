// A null S3 server for bench/objects/run.mjs: the client's ceiling on this machine. It does the
// least an S3 server can while still answering what the bench asks: it checks no signature,
// writes nothing to disk, and keeps in memory only what it must hand back (the last body PUT under
// each top-level prefix, which the bench's GETs of that prefix expect, the sizes and the keys of
// the listed bucket). GET big/… streams the file named by NULL_S3_BIG_FILE, the file the bench
// uploaded. Every figure of the bench is bounded by it: a server cannot beat a server that does
// nothing, with the same client on the same cores.
//
//   node bench/objects/null-s3.mjs <port>   (started and stopped by run.mjs)
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const bigFile = process.env.NULL_S3_BIG_FILE;
const lastBody = new Map(); // prefix → Buffer
const sizes = new Map(); // bucket/key → size
const listed = new Map(); // bucket → Set of keys
const sortedKeys = new Map(); // bucket → the keys in order, until the next PUT
const uploads = new Map(); // uploadId → { parts: Map<n, size> }
const ETAG = `"${createHash('md5').update('null').digest('hex')}"`;

const xml = (res, status, body) => {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const url = new URL(req.url, 'http://x');
  const [, bucket = '', ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  const q = url.searchParams;
  const chunks = [];
  let size = 0;
  // Bodies are kept only for keys under a prefix whose GETs check bytes (not big/, not the fill).
  const keep = req.method === 'PUT' && key && !key.startsWith('big/') && bucket !== 'bench-list';
  req.on('data', (c) => { size += c.length; if (keep) chunks.push(c); });
  req.on('end', () => {
    const prefix = key.split('/')[0];
    if (req.method === 'PUT' && !key) return res.writeHead(200, { 'content-length': 0 }).end(); // CreateBucket
    if (req.method === 'PUT' && q.has('uploadId')) {
      uploads.get(q.get('uploadId'))?.parts.set(Number(q.get('partNumber')), size);
      return res.writeHead(200, { etag: ETAG, 'content-length': 0 }).end();
    }
    if (req.method === 'PUT') {
      if (keep) lastBody.set(prefix, Buffer.concat(chunks));
      sizes.set(`${bucket}/${key}`, size);
      if (bucket === 'bench-list') { if (!listed.has(bucket)) listed.set(bucket, new Set()); listed.get(bucket).add(key); sortedKeys.delete(bucket); }
      return res.writeHead(200, { etag: ETAG, 'content-length': 0 }).end();
    }
    if (req.method === 'POST' && q.has('uploads')) {
      const id = randomBytes(8).toString('hex');
      uploads.set(id, { parts: new Map() });
      return xml(res, 200, `<InitiateMultipartUploadResult><Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
    }
    if (req.method === 'POST' && q.has('uploadId')) {
      const up = uploads.get(q.get('uploadId'));
      uploads.delete(q.get('uploadId'));
      sizes.set(`${bucket}/${key}`, [...(up?.parts.values() ?? [])].reduce((a, b) => a + b, 0));
      return xml(res, 200, `<CompleteMultipartUploadResult><Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><ETag>"${'0'.repeat(32)}-${up?.parts.size ?? 0}"</ETag></CompleteMultipartUploadResult>`);
    }
    if (req.method === 'POST' && q.has('delete')) return xml(res, 200, '<DeleteResult></DeleteResult>');
    if (req.method === 'DELETE') {
      if (q.has('uploadId')) uploads.delete(q.get('uploadId'));
      sizes.delete(`${bucket}/${key}`);
      return res.writeHead(204).end();
    }
    if (req.method === 'GET' && !key && q.get('list-type') === '2') {
      if (!sortedKeys.has(bucket)) sortedKeys.set(bucket, [...(listed.get(bucket) ?? [])].sort()); // ASCII keys: UTF-16 order is byte order
      const keys = sortedKeys.get(bucket);
      const after = q.get('continuation-token') ? Buffer.from(q.get('continuation-token'), 'base64url').toString() : '';
      const max = Number(q.get('max-keys') ?? 1000);
      const from = after ? keys.findIndex((k) => k > after) : 0;
      const page = from < 0 ? [] : keys.slice(from, from + max);
      const truncated = from >= 0 && from + max < keys.length;
      const contents = page.map((k) => `<Contents><Key>${esc(k)}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>${ETAG.replace(/"/g, '&quot;')}</ETag><Size>${sizes.get(`${bucket}/${k}`) ?? 0}</Size><StorageClass>STANDARD</StorageClass></Contents>`).join('');
      const token = truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1]).toString('base64url')}</NextContinuationToken>` : '';
      return xml(res, 200, `<ListBucketResult><Name>${esc(bucket)}</Name><Prefix></Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${token}</ListBucketResult>`);
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && key) {
      const length = sizes.get(`${bucket}/${key}`);
      if (length === undefined) return xml(res, 404, `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${esc(key)}</Key></Error>`);
      res.writeHead(200, { 'content-length': length, etag: ETAG, 'content-type': 'application/octet-stream', 'last-modified': new Date(0).toUTCString() });
      if (req.method === 'HEAD') return res.end();
      if (key.startsWith('big/') && bigFile) return createReadStream(bigFile, { highWaterMark: 256 * 1024 }).pipe(res);
      return res.end(lastBody.get(prefix)?.subarray(0, length));
    }
    xml(res, 501, '<Error><Code>NotImplemented</Code><Message>the null server does not do this</Message></Error>');
  });
}).listen(port, '127.0.0.1');
