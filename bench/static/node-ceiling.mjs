// The Node ceiling for bench/static/run.mjs: the least a node:http server can do to send these
// files with these headers (bodies and ETags in memory, only If-None-Match handled). Plinth's
// front door is one Node event loop too, so this is as fast as it could get; the gap to nginx
// that remains here is Node's, not Plinth's. Started by run.mjs with PORT and ROOT set.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const TYPES = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
const files = new Map();
for (const name of readdirSync(process.env.ROOT)) {
  const path = join(process.env.ROOT, name);
  const body = readFileSync(path);
  files.set(`/${name}`, {
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url')}"`,
    lastModified: statSync(path).mtime.toUTCString(),
    type: TYPES[name.split('.').pop()] ?? 'application/octet-stream',
  });
}

createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  const file = files.get(req.url);
  if (!file) {
    res.writeHead(404, { 'content-length': 0 });
    return res.end();
  }
  const headers = {
    etag: file.etag, 'last-modified': file.lastModified, 'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff', vary: 'Accept-Encoding',
  };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    return res.end();
  }
  res.writeHead(200, { ...headers, 'content-type': file.type, 'accept-ranges': 'bytes', 'content-length': file.body.byteLength });
  res.end(file.body);
}).listen(Number(process.env.PORT), '127.0.0.1');
