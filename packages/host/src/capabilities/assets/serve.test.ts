// End to end: a real daemon, real workerd, real HTTP. The test app (test-apps/assets) is built by
// the real CLI, so precompression is exercised too.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { ASSET_BODY_CACHE_FILE_BYTES_MAX } from './limits.js';
import { createAssetServer, type AssetDeployment } from './serve.js';
import { TEST_APPS, addUser, installApp, loopbackAgent, signInToApp, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';

const APP = 'assets';
const APP_DIR = join(TEST_APPS, APP);
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Reply { status: number; headers: Record<string, string | undefined>; body: Buffer }

const file = (path: string) => readFileSync(join(APP_DIR, 'public', path));
const etagOf = (bytes: Buffer) => `"${createHash('sha256').update(bytes).digest('base64url')}"`;
const errorCode = (reply: Reply) => (JSON.parse(reply.body.toString()) as { error: { code: string } }).error.code;

/** A raw HTTP/1.1 exchange, so the path is sent byte for byte: fetch and URL would resolve `..` first. */
function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer for ${path}`)));
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    const lines = Object.entries({ host: `${APP}.localhost:${port}`, ...headers, connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  });
}

describe('static assets: served by the front door without waking the app', () => {
  let daemon: TestDaemon;
  let cookie: string;

  async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
    const response = await request(daemon.appUrl(APP, path), { method: method as 'GET', headers, dispatcher: loopbackAgent });
    const body = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers as Record<string, string | undefined>, body };
  }

  async function runtimeState(): Promise<string> {
    const response = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/${APP}`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
    return ((await response.json()) as { runtime: { state: string } }).runtime.state;
  }

  before(async () => {
    daemon = await startTestDaemon();
    installApp(daemon, APP_DIR);
    addUser(daemon, 'ada@example.com', 'correct horse battery');
    cookie = await signInToApp(daemon, APP, 'ada@example.com', 'correct horse battery', '/private/secret.html');
  });
  after(() => daemon?.stop());

  test('asset requests of every kind leave the app stopped; a path with no asset starts it', async () => {
    assert.equal(await runtimeState(), 'stopped');
    const etag = etagOf(file('static/site.css'));
    const replies = [
      await get('/'),
      await get('/static/site.css', { 'accept-encoding': 'br, gzip' }),
      await get('/static/site.css', { 'if-none-match': etag }),
      await get('/static/site.css', { range: 'bytes=0-9' }),
      await get('/static/site.css', { range: 'bytes=999999-' }),
      await get('/app.3f9a1c2b.js', {}, 'HEAD'),
      await get('/docs'),
      await get('/docs/'),
      await get('/app/settings', { accept: 'text/html' }),
      await get('/private/secret.html', { cookie }),
      await get('/private/secret.html', { accept: 'application/json' }),
    ];
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 304, 206, 416, 200, 301, 200, 200, 200, 401]);
    assert.equal((await rawGet(daemon.port, '/static/%2e%2e/private/secret.html', { cookie })).status, 400);
    assert.equal(await runtimeState(), 'stopped', 'no asset request started the app');

    const fallThrough = await get('/api/hello');
    assert.equal(fallThrough.status, 200);
    assert.equal(fallThrough.body.toString(), 'FETCH-MARKER GET /api/hello');
    assert.equal(await runtimeState(), 'running');
  });

  test('HTML and other stable names revalidate (no-cache) with a strong content-hash ETag and Last-Modified', async () => {
    const html = file('index.html');
    const reply = await get('/');
    assert.deepEqual(reply.body, html);
    assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(reply.headers['cache-control'], 'no-cache');
    assert.equal(reply.headers.etag, etagOf(html));
    assert.ok(!Number.isNaN(Date.parse(reply.headers['last-modified'] ?? '')), 'Last-Modified is an HTTP-date');
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers.vary, 'Accept-Encoding');
    assert.equal(reply.headers['accept-ranges'], 'bytes');
    assert.equal(reply.headers['content-length'], String(html.byteLength));
    assert.equal((await get('/index.html')).headers.etag, etagOf(html), 'the folder index and the file are one asset');
    const notes = await get('/static/notes.txt', { 'accept-encoding': 'br' });
    assert.equal(notes.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(notes.headers['content-encoding'], undefined, 'too small to have been precompressed');
    assert.equal(notes.headers.vary, 'Accept-Encoding');
    assert.equal((await get('/static/hello%20world.txt')).body.toString(), 'a file with a space in its name\n');
  });

  test('fingerprinted names are immutable for a year; a manifest rule overrides by glob', async () => {
    for (const path of ['/app.3f9a1c2b.js', '/static/index-BxY12_aZ.js']) {
      const reply = await get(path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.headers['cache-control'], IMMUTABLE, path);
      assert.equal(reply.headers['content-type'], 'text/javascript; charset=utf-8', path);
    }
    const font = await get('/fonts/inter.woff2', { 'accept-encoding': 'br, gzip' });
    assert.equal(font.headers['cache-control'], 'public, max-age=86400');
    assert.equal(font.headers['content-type'], 'font/woff2');
    assert.equal(font.headers.vary, undefined, 'woff2 is compressed already, so the response never varies');
    assert.equal(font.headers['content-encoding'], undefined);
    const png = await get('/static/logo.png', { 'accept-encoding': 'br, gzip' });
    assert.equal(png.headers['content-type'], 'image/png');
    assert.equal(png.headers['cache-control'], 'no-cache');
    assert.equal(png.headers['content-encoding'], undefined);
    assert.deepEqual(png.body, file('static/logo.png'));
  });

  test('assets on private paths need sign-in, and are private in every cache rule', async () => {
    const browser = await get('/private/secret.html', { accept: 'text/html' });
    assert.equal(browser.status, 302);
    assert.match(browser.headers.location ?? '', /\/login\?app=assets&return=%2Fprivate%2Fsecret\.html&state=[\w-]{43}$/);
    const api = await get('/private/bundle.deadbeef12.js', { accept: 'application/json' });
    assert.equal(api.status, 401);
    assert.equal(errorCode(api), 'auth.required');
    assert.equal((await get('/private/secret.html', {}, 'HEAD')).status, 401);

    const secret = await get('/private/secret.html', { cookie });
    assert.match(secret.body.toString(), /TOP-SECRET-MARKER/);
    assert.equal(secret.headers['cache-control'], 'private, no-cache');
    assert.equal((await get('/private/bundle.deadbeef12.js', { cookie })).headers['cache-control'], 'private, max-age=31536000, immutable');
    const report = await get('/private/reports/q1.csv', { cookie });
    assert.equal(report.headers['cache-control'], 'private, max-age=600', 'public and s-maxage are dropped from the rule');
    assert.equal(report.headers['content-type'], 'text/csv; charset=utf-8');
    const revalidated = await get('/private/secret.html', { cookie, 'if-none-match': secret.headers.etag! });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers['cache-control'], 'private, no-cache');
  });

  test('If-None-Match and If-Modified-Since answer 304; If-Match that fails answers 412', async () => {
    const first = await get('/static/site.css');
    const etag = first.headers.etag!;
    const lastModified = first.headers['last-modified']!;
    const conditions: Record<string, string>[] = [
      { 'if-none-match': etag }, { 'if-none-match': `W/${etag}` }, { 'if-none-match': `"nope", ${etag}` }, { 'if-modified-since': lastModified },
    ];
    for (const headers of conditions) {
      const reply = await get('/static/site.css', headers);
      assert.equal(reply.status, 304, JSON.stringify(headers));
      assert.equal(reply.body.byteLength, 0);
      assert.equal(reply.headers.etag, etag);
      assert.equal(reply.headers['cache-control'], 'no-cache');
      assert.equal(reply.headers.vary, 'Accept-Encoding');
    }
    const earlier = new Date(Date.parse(lastModified) - 86_400_000).toUTCString();
    assert.equal((await get('/static/site.css', { 'if-modified-since': earlier })).status, 200);
    assert.equal((await get('/static/site.css', { 'if-none-match': '"stale"' })).status, 200);
    // Not HTTP-dates (RFC 9110 §5.6.7), so ignored: Date.parse would read them as far-future dates.
    for (const notADate of ['2099', '12/31/2099', '2099-12-31T00:00:00Z']) {
      assert.equal((await get('/static/site.css', { 'if-modified-since': notADate })).status, 200, notADate);
    }
    assert.equal((await get('/static/site.css', { 'if-none-match': '"stale"', 'if-modified-since': lastModified })).status, 200, 'If-None-Match takes precedence');
    const failed = await get('/static/site.css', { 'if-match': '"stale"' });
    assert.equal(failed.status, 412);
    assert.equal(errorCode(failed), 'assets.precondition_failed');
  });

  test('Range gives 206 or 416, honours If-Range, and HEAD sends headers only', async () => {
    const css = file('static/site.css');
    const head = await get('/static/site.css', { range: 'bytes=0-9', 'accept-encoding': 'br' }, 'HEAD');
    assert.equal(head.status, 200, 'Range applies to GET only');
    assert.equal(head.headers['content-length'], String((await get('/static/site.css', { 'accept-encoding': 'br' })).body.byteLength));
    assert.equal(head.body.byteLength, 0);

    const partial = await get('/static/site.css', { range: 'bytes=0-9', 'accept-encoding': 'br, gzip' });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers['content-range'], `bytes 0-9/${css.byteLength}`);
    assert.equal(partial.headers['content-encoding'], undefined, 'ranges are of the file as is');
    assert.deepEqual(partial.body, css.subarray(0, 10));
    assert.deepEqual((await get('/static/site.css', { range: 'bytes=-5' })).body, css.subarray(-5));

    const outside = await get('/static/site.css', { range: `bytes=${css.byteLength}-` });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers['content-range'], `bytes */${css.byteLength}`);
    assert.equal(errorCode(outside), 'assets.range_not_satisfiable');
    const several = await get('/static/site.css', { range: 'bytes=0-1,5-6' });
    assert.equal(several.status, 200, 'several ranges: the whole file');
    assert.deepEqual(several.body, css);

    assert.equal((await get('/static/site.css', { range: 'bytes=0-9', 'if-range': etagOf(css) })).status, 206);
    assert.equal((await get('/static/site.css', { range: 'bytes=0-9', 'if-range': '"stale"' })).status, 200);
    assert.equal((await get('/static/site.css', { range: 'bytes=0-9', 'if-range': partial.headers['last-modified']! })).status, 206);
    const isoDate = new Date(Date.parse(partial.headers['last-modified']!)).toISOString();
    assert.equal((await get('/static/site.css', { range: 'bytes=0-9', 'if-range': isoDate })).status, 200, 'an ISO time in If-Range is no date: the whole file');
    const trailingComma = await get('/static/site.css', { range: 'bytes=0-1,' });
    assert.equal(trailingComma.status, 206, 'an empty list element is ignored');
    assert.deepEqual(trailingComma.body, css.subarray(0, 2));
  });

  test('precompressed variants follow Accept-Encoding, each with its own ETag and Vary', async () => {
    const css = file('static/site.css');
    const br = await get('/static/site.css', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(br.headers['content-type'], 'text/css; charset=utf-8');
    assert.deepEqual(brotliDecompressSync(br.body), css);
    assert.ok(br.body.byteLength < css.byteLength / 2);
    assert.notEqual(br.headers.etag, etagOf(css));

    const gz = await get('/static/site.css', { 'accept-encoding': 'br;q=0, gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), css);
    for (const [acceptEncoding, expected] of [['*', 'br'], ['gzip;q=0, br;q=0', undefined], ['identity', undefined], ['br;q=0.4, gzip;q=0.6', 'gzip']] as const) {
      assert.equal((await get('/static/site.css', { 'accept-encoding': acceptEncoding })).headers['content-encoding'], expected, acceptEncoding);
    }
    const plain = await get('/static/site.css');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, css);

    assert.equal((await get('/static/site.css', { 'accept-encoding': 'br', 'if-none-match': br.headers.etag! })).status, 304);
    assert.equal((await get('/static/site.css', { 'accept-encoding': 'br', 'if-none-match': etagOf(css) })).status, 200, 'another representation');
    for (const sibling of ['/static/site.css.br', '/static/site.css.gz']) {
      assert.equal((await get(sibling)).body.toString(), `FETCH-MARKER GET ${sibling}`, 'siblings are not assets of their own');
    }
  });

  test('folders serve index.html; a folder without its slash redirects to it', async () => {
    const docs = await get('/docs/');
    assert.deepEqual(docs.body, file('docs/index.html'));
    const bare = await get('/docs?x=1');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, '/docs/?x=1');
    assert.equal(bare.headers['cache-control'], 'no-cache');
    // Empty segments are merged, as nginx does, by a redirect to the one URL of the asset.
    const moved = [['//static/site.css?v=2', '/static/site.css?v=2'], ['/static//site.css', '/static/site.css'], ['//docs', '/docs']] as const;
    for (const [path, location] of moved) {
      const merged = await get(path);
      assert.equal(merged.status, 301, path);
      assert.equal(merged.headers.location, location, path);
    }
    // Signed in, the path as sent passes the access check, and a private asset is found merged.
    assert.equal((await get('//private//secret.html', { cookie })).headers.location, '/private/secret.html');
    // Anonymous, a private path is not revealed by a redirect: it needs sign-in, as sent.
    assert.equal(errorCode(await get('//private//secret.html')), 'auth.required');
    assert.equal((await get('/static//missing.js')).body.toString(), 'FETCH-MARKER GET /static//missing.js', 'no asset once merged: the app gets the path as sent');
  });

  test('the SPA shell answers navigations only; everything else with no asset goes to fetch', async () => {
    const navigation = await get('/app/settings/42', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.equal(navigation.status, 200);
    assert.deepEqual(navigation.body, file('index.html'));
    assert.equal(navigation.headers.vary, 'Accept-Encoding, Accept');
    assert.equal(navigation.headers['cache-control'], 'no-cache');
    assert.equal((await get('/app/settings/42', { accept: 'text/html' }, 'HEAD')).status, 200);
    assert.equal((await get('/app/settings/42', { accept: 'application/json' })).body.toString(), 'FETCH-MARKER GET /app/settings/42');
    assert.equal((await get('/static/missing.js')).body.toString(), 'FETCH-MARKER GET /static/missing.js');
    const post = await get('/static/site.css', { 'content-type': 'text/plain' }, 'POST');
    assert.equal(post.body.toString(), 'FETCH-MARKER POST /static/site.css', 'only GET and HEAD are served from assets');
  });

  test('traversal, encoded or not, is refused with assets.bad_path and never reaches a file', async () => {
    const attempts = [
      '/static/../private/secret.html',
      '/static/%2e%2e/private/secret.html',
      '/static/.%2E/private/secret.html',
      '/static/%2E%2E/%2e%2e/plinth.json',
      '/static/..%2fprivate%2fsecret.html',
      '/static/..%5cprivate%5csecret.html',
      '/static\\..\\private\\secret.html',
      '/static/site.css%00.png',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/../../../../etc/passwd',
    ];
    for (const path of attempts) {
      const signedIn = await rawGet(daemon.port, path, { cookie });
      assert.equal(signedIn.status, 400, `${path}: ${signedIn.text.slice(0, 200)}`);
      assert.match(signedIn.text, /"code":"assets\.bad_path"/, path);
      const anonymous = await rawGet(daemon.port, path, { accept: 'application/json' });
      assert.ok([400, 401].includes(anonymous.status), `${path} anonymously: ${anonymous.status}`);
      for (const reply of [signedIn, anonymous]) {
        assert.doesNotMatch(reply.text, /TOP-SECRET-MARKER|root:|"id":\s*"assets"/, path);
      }
    }
  });
});

describe('static assets: files above the in-memory cap are streamed', () => {
  const versionDir = mkdtempSync(join(tmpdir(), 'plinth-assets-stream-'));
  const big = Buffer.alloc(ASSET_BODY_CACHE_FILE_BYTES_MAX + 1);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const deployment: AssetDeployment = { appId: 'stream', versionDir, manifest: { assets: 'public', cache: [] } };
  const events: string[] = [];
  const assets = createAssetServer({ event: (_appId, text) => events.push(text) });
  let server: Server;
  let port: number;

  before(async () => {
    mkdirSync(join(versionDir, 'assets'));
    writeFileSync(join(versionDir, 'assets', 'big.bin'), big);
    server = createServer((req, res) => {
      void assets.serve(req, res, deployment, true).then((served) => {
        if (!served) res.writeHead(404).end('not an asset');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server?.close();
    rmSync(versionDir, { recursive: true, force: true });
  });

  const fetchBig = async (headers: Record<string, string> = {}) => {
    const response = await request(`http://127.0.0.1:${port}/big.bin`, { headers });
    return { status: response.statusCode, headers: response.headers, body: Buffer.from(await response.body.arrayBuffer()) };
  };

  test('the whole file and a range inside it arrive intact', async () => {
    const whole = await fetchBig();
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-length'], String(big.length));
    assert.ok(whole.body.equals(big));
    const middle = await fetchBig({ range: 'bytes=1000-700000' });
    assert.equal(middle.status, 206);
    assert.ok(middle.body.equals(big.subarray(1000, 700001)));
    assert.equal((await fetchBig({ range: `bytes=${big.length}-` })).status, 416);
  });

  test('a client that goes away mid-body leaves the server serving', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
      socket.write('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    const after = await fetchBig({ range: 'bytes=0-9' });
    assert.ok(after.body.equals(big.subarray(0, 10)));
    assert.deepEqual(events, []);
  });
});
