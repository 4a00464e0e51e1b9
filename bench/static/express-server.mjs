// The express + serve-static reference for bench/static/run.mjs: the same files with the same
// caching headers as Plinth sends. Started by run.mjs with PORT and ROOT in the environment.
import express from 'express';
import serveStatic from 'serve-static';

const app = express();
app.disable('x-powered-by');
app.use(serveStatic(process.env.ROOT, {
  etag: true,
  lastModified: true,
  // serve-static would send `public, max-age=0`; send what Plinth sends for a non-fingerprinted name.
  cacheControl: false,
  index: ['index.html'],
  setHeaders(res) {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Vary', 'Accept-Encoding');
  },
}));
app.listen(Number(process.env.PORT), '127.0.0.1');
