import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, freePort, installApp, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';

const RESPONSE_BYTES_MAX = 1024 * 1024;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** A self-signed certificate for 127.0.0.1, made with the system's openssl. */
function certificate(dir: string, name: string): { key: Buffer; cert: Buffer; certFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile,
    '-out', certFile, '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

describe('egress: outbound HTTP through the guarded proxy', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-egress-'));
  const servers: Server[] = [];
  let daemon: TestDaemon;
  let upstream: number;
  let forbidden: number;
  let forbiddenHits = 0;
  let untrustedTls: number;
  let trustedTls: number;
  let lastRequest: { headers: IncomingMessage['headers']; bodyBytes: number } | null = null;

  function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => { bodyBytes += chunk.length; });
    req.on('end', () => {
      lastRequest = { headers: req.headers, bodyBytes };
      const path = req.url ?? '/';
      if (path === '/hello') return void res.end(`hello from upstream via ${req.method}`);
      if (path === '/bytes') return void res.end('x'.repeat(5000));
      if (path === '/redirect-private') return void res.writeHead(302, { location: `http://127.0.0.1:${forbidden}/` }).end();
      if (path === '/big') return void res.writeHead(200, { 'content-length': 2 * RESPONSE_BYTES_MAX }).end(Buffer.alloc(2 * RESPONSE_BYTES_MAX));
      if (path === '/big-chunked') {
        res.writeHead(200);
        for (let i = 0; i < 32; i++) res.write(Buffer.alloc(64 * 1024));
        return void res.end();
      }
      if (path === '/slow') return; // never answers: the proxy's timeout must end it
      res.writeHead(404).end();
    });
  }

  before(async () => {
    upstream = await listen((servers[servers.length] = createServer(upstreamHandler)));
    forbidden = await listen((servers[servers.length] = createServer((_req, res) => { forbiddenHits++; res.end('should never be reached'); })));
    const untrusted = certificate(work, 'untrusted');
    const trusted = certificate(work, 'trusted');
    untrustedTls = await listen((servers[servers.length] = createTlsServer({ key: untrusted.key, cert: untrusted.cert }, (_req, res) => res.end('untrusted tls'))));
    trustedTls = await listen((servers[servers.length] = createTlsServer({ key: trusted.key, cert: trusted.cert }, (_req, res) => res.end('trusted tls'))));
    const port = await freePort();
    const allowPrivate = [upstream, untrustedTls, trustedTls, port].map((p) => `127.0.0.1:${p}`).join(',');
    daemon = await startTestDaemon({
      port,
      env: {
        PLINTH_EGRESS_ALLOW_PRIVATE: allowPrivate, PLINTH_EGRESS_TIMEOUT_MS: '1500',
        PLINTH_EGRESS_RESPONSE_BYTES_MAX: String(RESPONSE_BYTES_MAX), NODE_EXTRA_CA_CERTS: trusted.certFile,
      },
    });
    const app = join(work, 'app');
    cpSync(join(TEST_APPS, 'echo'), app, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(app, 'plinth.json'), 'utf8')) as Record<string, unknown>;
    manifest.outbound = [`http://127.0.0.1:${upstream}`, `http://127.0.0.1:${forbidden}`, `http://localhost:${forbidden}`,
      `127.0.0.1:${untrustedTls}`, `127.0.0.1:${trustedTls}`, `http://127.0.0.1:${port}`];
    manifest.limits = { concurrency: 8, memoryMb: 256, requestTimeoutMs: 10_000 };
    writeFileSync(join(app, 'plinth.json'), JSON.stringify(manifest));
    installApp(daemon, app);
  });
  after(async () => {
    await daemon?.stop();
    for (const server of servers) server.close();
    rmSync(work, { recursive: true, force: true });
  });

  const outbound = async (to: string, extra = '') => {
    const response = await daemon.fetch(daemon.appUrl('echo', `/public/outbound?to=${encodeURIComponent(to)}${extra}`));
    return { status: response.status, body: await response.text() };
  };

  test('an allowed host is reached, with the app\'s headers and none of the platform\'s', async () => {
    const result = await outbound(`http://127.0.0.1:${upstream}/hello`);
    assert.deepEqual(result, { status: 200, body: 'hello from upstream via GET' });
    assert.equal(lastRequest!.headers['x-from-app'], 'echo');
    assert.equal(lastRequest!.headers.host, `127.0.0.1:${upstream}`);
    assert.equal(Object.keys(lastRequest!.headers).some((h) => h.startsWith('plinth-') || h.startsWith('proxy-')), false);
  });

  test('a host missing from the manifest is refused with an error naming host and field', async () => {
    const result = await outbound('https://example.com/');
    assert.equal(result.status, 403);
    const error = (JSON.parse(result.body) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'egress.host_not_allowed');
    assert.match(error.message, /example\.com/);
    assert.match(error.message, /"outbound"/);
  });

  test('plain HTTP to a host named only for HTTPS is refused', async () => {
    const result = await outbound(`http://127.0.0.1:${trustedTls}/`);
    assert.equal(result.status, 403);
    assert.match(result.body, /egress\.host_not_allowed/);
  });

  test('a literal private IP and a name that resolves to loopback are refused without connecting', async () => {
    const literal = await outbound(`http://127.0.0.1:${forbidden}/`);
    assert.equal(literal.status, 403);
    assert.match(literal.body, /egress\.private_address/);
    const named = await outbound(`http://localhost:${forbidden}/`);
    assert.equal(named.status, 403);
    assert.match(named.body, /egress\.private_address/);
    assert.match(named.body, /PLINTH_EGRESS_ALLOW_PRIVATE/);
    assert.equal(forbiddenHits, 0);
  });

  test('each redirect hop is checked: a redirect to a private address is refused', async () => {
    const result = await outbound(`http://127.0.0.1:${upstream}/redirect-private`);
    assert.equal(result.status, 403);
    assert.match(result.body, /egress\.private_address/);
    assert.equal(forbiddenHits, 0);
  });

  test('the platform\'s own port is unreachable even when the operator allows it', async () => {
    const result = await outbound(`http://127.0.0.1:${daemon.port}/`);
    assert.equal(result.status, 403);
    assert.match(result.body, /egress\.platform_port/);
  });

  test('oversized responses are refused or cut off', async () => {
    const declared = await outbound(`http://127.0.0.1:${upstream}/big`);
    assert.equal(declared.status, 502);
    assert.match(declared.body, /egress\.response_too_large/);
    const streamed = await outbound(`http://127.0.0.1:${upstream}/big-chunked`);
    assert.equal(streamed.status, 599, streamed.body);
  });

  test('a slow upstream is cut off at the timeout', async () => {
    const started = Date.now();
    const result = await outbound(`http://127.0.0.1:${upstream}/slow`);
    assert.equal(result.status, 504);
    assert.match(result.body, /egress\.timeout/);
    assert.ok(Date.now() - started < 8_000);
  });

  test('HTTPS verifies certificates: an untrusted one fails, a trusted one works', async () => {
    const untrusted = await outbound(`https://127.0.0.1:${untrustedTls}/`);
    assert.equal(untrusted.status, 502);
    assert.match(untrusted.body, /egress\.upstream_failed.*certificate/);
    assert.deepEqual(await outbound(`https://127.0.0.1:${trustedTls}/`), { status: 200, body: 'trusted tls' });
  });

  test('bytes in and out are counted per app', async () => {
    const read = async () => ((await (await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/echo`, { headers: { authorization: `Bearer ${daemon.adminToken}` } })).json()) as { egress: { requests: number; bytesIn: number; bytesOut: number } }).egress;
    const before = await read();
    const result = await outbound(`http://127.0.0.1:${upstream}/bytes`, '&method=POST&bytes=1000');
    assert.equal(result.status, 200);
    assert.equal(lastRequest!.bodyBytes, 1000);
    const afterCall = await read();
    assert.equal(afterCall.requests - before.requests, 1);
    assert.equal(afterCall.bytesOut - before.bytesOut, 1000);
    assert.equal(afterCall.bytesIn - before.bytesIn, 5000);
  });
});
