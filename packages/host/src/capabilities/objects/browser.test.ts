// Presigned URLs in a real browser: Debian's chromium, driven by playwright-core (which never downloads one).
// A page on an app's origin uploads straight to the object store through a presigned PUT and reads it
// back through a presigned GET, cross-origin to s3.<base host>: only a browser shows that the CORS
// preflight is answered and that the answers are readable. The refusals (wrong Content-Type, expired,
// tampered) are checked from the browser where it matters and from Node (undici) otherwise.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium, settleWithin } from '../../testing/browser.js';
import { startObjectsDaemon, type ObjectsFixture } from '../../testing/objects-fixture.js';

const WAIT_MS = 10_000;
const APP = 'web';
const BUCKET = 'uploads';
const KEY = 'from-browser/photo 1.bin';
const CONTENT_TYPE = 'application/x-photo';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const errorCode = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];


interface PageAnswer { status: number; headers: Record<string, string>; text: string; sha256: string; error?: undefined }
type PageResult = PageAnswer | { error: string };

/**
 * Runs fetch in the page (so with the page's origin and the browser's CORS rules) and reports what
 * a script there can see: status, the headers CORS lets it read, and the body (its first 4 KiB as text, and its SHA-256). A network or CORS
 * failure comes back as { error }.
 */
async function fetchInPage(page: Page, url: string, init: { method: string; bodyBase64?: string; headers?: Record<string, string> }): Promise<PageResult> {
  return page.evaluate(async ({ url, init }) => {
    try {
      const body = init.bodyBase64 === undefined ? undefined : new Blob([Uint8Array.from(atob(init.bodyBase64), (c) => c.charCodeAt(0))]);
      const response = await fetch(url, { method: init.method, headers: init.headers ?? {}, ...(body ? { body } : {}) });
      const bytes = new Uint8Array(await response.arrayBuffer());
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => { headers[name] = value; });
      return { status: response.status, headers, text: new TextDecoder().decode(bytes.subarray(0, 4096)), sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
    } catch (error) {
      return { error: String(error) };
    }
  }, { url, init });
}

function answered(result: PageResult): PageAnswer {
  if (result.error !== undefined) assert.fail(`the page's fetch failed: ${result.error}`);
  return result;
}

describe('presigned URLs in a real browser', () => {
  let plinth: ObjectsFixture;
  let browser: Browser | undefined;
  let client: S3Client;
  let presigner: S3Client;
  /** `http://s3.localhost:<port>`: the front door's S3 host, where presigned URLs point. */
  let s3Origin: string;
  /** A server that takes any request and answers without CORS headers: the control for what the browser enforces. */
  let bare: Server | undefined;
  const bareSeen: string[] = [];
  const upload = randomBytes(1024 * 1024 + 123);

  before(async () => {
    plinth = await startObjectsDaemon([APP]);
    s3Origin = `http://s3.localhost:${plinth.daemon.port}`;
    client = plinth.client(APP);
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const { accessKeyId, secretAccessKey, region } = plinth.credentials(APP);
    // WHEN_REQUIRED: otherwise the SDK signs a CRC32 of the empty body into every presigned PUT
    // (x-amz-checksum-crc32=AAAAAA==), which AWS S3 itself then refuses for any real body.
    presigner = new S3Client({ endpoint: s3Origin, forcePathStyle: true, region, credentials: { accessKeyId, secretAccessKey }, requestChecksumCalculation: 'WHEN_REQUIRED' });
    bare = createServer((req, res) => {
      bareSeen.push(req.method ?? '');
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('stored');
    });
    await new Promise<void>((resolve) => bare!.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
  }, { timeout: 60_000 });

  after(async () => {
    try {
      if (browser) await settleWithin(browser.close(), 15_000);
    } finally {
      presigner?.destroy();
      await new Promise((resolve) => (bare ? bare.close(resolve) : resolve(undefined)));
      await plinth?.stop();
    }
  }, { timeout: 45_000 });

  /** A page on the app's origin, with the browser's own network log (preflights included) from the DevTools protocol. */
  async function appPage(): Promise<{ context: BrowserContext; page: Page; network: { method: string; url: string; type?: string }[] }> {
    const context = await browser!.newContext();
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    const page = await context.newPage();
    const network: { method: string; url: string; type?: string }[] = [];
    const cdp = await context.newCDPSession(page);
    cdp.on('Network.requestWillBeSent', (event) => network.push({ method: event.request.method, url: event.request.url, ...(event.type ? { type: event.type } : {}) }));
    await cdp.send('Network.enable');
    const landed = await page.goto(plinth.daemon.appUrl(APP, '/public/info'));
    assert.equal(landed?.status(), 200);
    assert.equal(await page.evaluate('location.origin'), `http://${APP}.localhost:${plinth.daemon.port}`);
    return { context, page, network };
  }

  const putUrl = (options: { key?: string; expiresIn?: number; signingDate?: Date } = {}) => getSignedUrl(
    presigner,
    new PutObjectCommand({ Bucket: BUCKET, Key: options.key ?? KEY, ContentType: CONTENT_TYPE }),
    // Without signableHeaders the SDK signs only host, and any Content-Type would do.
    { expiresIn: options.expiresIn ?? 300, signableHeaders: new Set(['content-type']), ...(options.signingDate ? { signingDate: options.signingDate } : {}) },
  );
  const getUrl = (options: { key?: string; expiresIn?: number; signingDate?: Date } = {}) => getSignedUrl(
    presigner,
    new GetObjectCommand({ Bucket: BUCKET, Key: options.key ?? KEY }),
    { expiresIn: options.expiresIn ?? 300, ...(options.signingDate ? { signingDate: options.signingDate } : {}) },
  );
  /** Node's view (undici, *.localhost mapped to loopback): status, S3 error code and body. */
  async function fromNode(url: string, init: { method: string; body?: Uint8Array | string; headers?: Record<string, string> }) {
    const response = await plinth.daemon.fetch(url, init);
    const text = await response.text();
    return { status: response.status, code: errorCode(text), text };
  }
  const stored = async () => {
    const answer = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
    return { bytes: Buffer.from(await answer.Body!.transformToByteArray()), contentType: answer.ContentType };
  };

  test('a page on the app origin uploads through a presigned PUT and downloads through a presigned GET', { timeout: 60_000 }, async () => {
    const { context, page, network } = await appPage();
    try {
      const put = await putUrl();
      assert.equal(new URL(put).origin, s3Origin);
      assert.equal(new URL(put).searchParams.get('X-Amz-SignedHeaders'), 'content-type;host');
      const uploaded = answered(await fetchInPage(page, put, { method: 'PUT', bodyBase64: upload.toString('base64'), headers: { 'content-type': CONTENT_TYPE } }));
      assert.equal(uploaded.status, 200, uploaded.text);
      assert.equal(uploaded.headers.etag, `"${md5(upload)}"`, 'the ETag is exposed to the page (Access-Control-Expose-Headers)');

      // The browser asked first: PUT with a Content-Type is not a simple request.
      const preflights = network.filter((r) => r.method === 'OPTIONS' && r.url.startsWith(`${s3Origin}/`));
      assert.ok(preflights.length >= 1, `the browser sent a CORS preflight to the S3 host: ${JSON.stringify(network)}`);
      assert.ok(network.some((r) => r.method === 'PUT' && r.url === put), 'and then the PUT itself');

      const object = await stored();
      assert.equal(sha256(object.bytes), sha256(upload), 'the SDK reads back exactly what the browser sent');
      assert.equal(object.contentType, CONTENT_TYPE);

      const get = await getUrl();
      const downloaded = answered(await fetchInPage(page, get, { method: 'GET' }));
      assert.equal(downloaded.status, 200);
      assert.equal(downloaded.sha256, sha256(upload));
      assert.equal(downloaded.headers['content-type'], CONTENT_TYPE);
      assert.equal(downloaded.headers['content-length'], String(upload.length));
      assert.equal(downloaded.headers.etag, `"${md5(upload)}"`);

      const ranged = answered(await fetchInPage(page, get, { method: 'GET', headers: { range: 'bytes=1000-1999' } }));
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers['content-range'], `bytes 1000-1999/${upload.length}`, 'Content-Range is exposed to the page');
      assert.equal(ranged.sha256, sha256(upload.subarray(1000, 2000)));
    } finally {
      await context.close();
    }
  });

  test('the endpoint answers the preflight for any origin; the browser refuses an upload where no one does', { timeout: 30_000 }, async () => {
    // What the browser asked of the S3 host, asked by hand: the answer allows the method and the header.
    const preflight = await plinth.daemon.fetch(`${s3Origin}/${BUCKET}/${encodeURIComponent(KEY)}`, {
      method: 'OPTIONS',
      headers: { origin: plinth.daemon.appUrl(APP).replace(/\/$/, ''), 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /\bPUT\b/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/i);

    // The control: the same upload to a server that would store anything but does not answer CORS.
    const { context, page } = await appPage();
    try {
      bareSeen.length = 0;
      const address = bare!.address();
      assert.ok(address && typeof address === 'object');
      const refused = await fetchInPage(page, `http://127.0.0.1:${address.port}/upload`, { method: 'PUT', bodyBase64: 'aGVsbG8=', headers: { 'content-type': CONTENT_TYPE } });
      assert.ok(refused.error !== undefined, `the browser lets the page see no answer: ${JSON.stringify(refused)}`);
      assert.match(refused.error, /TypeError/);
      assert.deepEqual(bareSeen, ['OPTIONS'], 'the browser sent only the preflight, never the PUT');
    } finally {
      await context.close();
    }
  });

  test('a presigned PUT signed with a Content-Type refuses another one (403 SignatureDoesNotMatch), in the browser and from Node', { timeout: 30_000 }, async () => {
    const put = await putUrl();
    const { context, page } = await appPage();
    try {
      const refused = answered(await fetchInPage(page, put, { method: 'PUT', bodyBase64: Buffer.from('<script>alert(1)</script>').toString('base64'), headers: { 'content-type': 'text/html' } }));
      assert.equal(refused.status, 403, 'the refusal is readable by the page (errors carry the CORS headers)');
      assert.equal(errorCode(refused.text), 'SignatureDoesNotMatch');
    } finally {
      await context.close();
    }
    const fromNodeRefused = await fromNode(put, { method: 'PUT', body: 'replaced?', headers: { 'content-type': 'text/html' } });
    assert.deepEqual([fromNodeRefused.status, fromNodeRefused.code], [403, 'SignatureDoesNotMatch']);
    const object = await stored();
    assert.equal(sha256(object.bytes), sha256(upload), 'the object is unchanged');
    assert.equal(object.contentType, CONTENT_TYPE);
  });

  test('an expired presigned URL is refused with 403 AccessDenied: Request has expired', { timeout: 30_000 }, async () => {
    // Signed two hours ago for one minute: expired without waiting on the clock.
    const signingDate = new Date(Date.now() - 2 * 3600_000);
    const expiredGet = await getUrl({ signingDate, expiresIn: 60 });
    const expiredPut = await putUrl({ signingDate, expiresIn: 60 });
    for (const [url, init] of [[expiredGet, { method: 'GET' }], [expiredPut, { method: 'PUT', body: 'late', headers: { 'content-type': CONTENT_TYPE } }]] as const) {
      const answer = await fromNode(url, init);
      assert.equal(answer.status, 403, `${init.method}: ${answer.text}`);
      assert.equal(answer.code, 'AccessDenied');
      assert.match(answer.text, /Request has expired/);
    }
    const { context, page } = await appPage();
    try {
      const inPage = answered(await fetchInPage(page, expiredGet, { method: 'GET' }));
      assert.equal(inPage.status, 403);
      assert.match(inPage.text, /<Code>AccessDenied<\/Code>[\s\S]*Request has expired/);
    } finally {
      await context.close();
    }
    // The same URL, freshly signed, works: the refusal was about time only.
    assert.equal((await fromNode(await getUrl({ expiresIn: 60 }), { method: 'GET' })).status, 200);
    assert.equal(sha256((await stored()).bytes), sha256(upload));
  });

  test('a tampered presigned URL is refused with 403 SignatureDoesNotMatch', { timeout: 30_000 }, async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other.txt', Body: 'another object' }));
    const get = new URL(await getUrl());
    const put = new URL(await putUrl());
    const tampered: [string, URL, { method: string; body?: string; headers?: Record<string, string> }][] = [];
    const withPath = new URL(get);
    withPath.pathname = `/${BUCKET}/other.txt`;
    tampered.push(['another key in the path', withPath, { method: 'GET' }]);
    const withPutPath = new URL(put);
    withPutPath.pathname = `/${BUCKET}/other.txt`;
    tampered.push(['another key for the upload', withPutPath, { method: 'PUT', body: 'overwritten', headers: { 'content-type': CONTENT_TYPE } }]);
    const longer = new URL(get);
    longer.searchParams.set('X-Amz-Expires', '604800');
    tampered.push(['a longer X-Amz-Expires', longer, { method: 'GET' }]);
    const override = new URL(get);
    override.searchParams.set('response-content-type', 'text/html');
    tampered.push(['an added response-content-type', override, { method: 'GET' }]);
    const flipped = new URL(get);
    const signature = flipped.searchParams.get('X-Amz-Signature')!;
    flipped.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);
    tampered.push(['one signature digit changed', flipped, { method: 'GET' }]);
    tampered.push(['the GET URL used to DELETE', get, { method: 'DELETE' }]);
    tampered.push(['the GET URL used to PUT', get, { method: 'PUT', body: 'overwritten', headers: { 'content-type': CONTENT_TYPE } }]);

    for (const [what, url, init] of tampered) {
      const answer = await fromNode(url.toString(), init);
      assert.deepEqual([answer.status, answer.code], [403, 'SignatureDoesNotMatch'], `${what}: ${answer.text}`);
    }
    assert.equal(sha256((await stored()).bytes), sha256(upload), 'the object is untouched');
    const other = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'other.txt' }));
    assert.equal(await other.Body!.transformToString(), 'another object');
    // The untampered URL still works, so each refusal was the tampering's doing.
    assert.equal((await fromNode(get.toString(), { method: 'GET' })).status, 200);
  });

  // S3 treats the x-amz-* parameters of a presigned URL (signed, hoisted there by the signer) as the
  // request's headers: a pinned checksum must match the body, metadata is stored. Plinth reads them
  // from headers only (s3-api.ts receive() and userMetadata()), so the pin is not enforced.
  test('the signed x-amz-checksum and x-amz-meta parameters of a presigned PUT bind the upload', { timeout: 30_000 }, async () => {
    const pinned = Buffer.from('only these bytes');
    const url = await getSignedUrl(presigner, new PutObjectCommand({
      Bucket: BUCKET, Key: 'pinned.txt', ContentType: 'text/plain', Metadata: { owner: 'alice' },
      ChecksumSHA256: createHash('sha256').update(pinned).digest('base64'),
    }), { expiresIn: 300, signableHeaders: new Set(['content-type']) });
    assert.ok(new URL(url).searchParams.has('x-amz-checksum-sha256'));
    const other = await fromNode(url, { method: 'PUT', body: 'other bytes', headers: { 'content-type': 'text/plain' } });
    assert.deepEqual([other.status, other.code], [400, 'BadDigest'], other.text);
    assert.equal((await fromNode(url, { method: 'PUT', body: pinned, headers: { 'content-type': 'text/plain' } })).status, 200);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'pinned.txt' }));
    assert.deepEqual(head.Metadata, { owner: 'alice' });
  });
});
