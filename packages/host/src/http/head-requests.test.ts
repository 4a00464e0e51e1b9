// HEAD on the platform's own GET routes answers as GET without a body (RFC 9110 §9.3.2), except
// where a GET spends a one-time code.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { installVault, raw } from '../testing/vault-rpc.js';

const COMPARED_HEADERS = ['content-type', 'content-length', 'cache-control', 'location'];

describe('HEAD on the platform routes', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-head-'));
  let daemon: TestDaemon;

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function compare(url: string, headers: Record<string, string> = {}): Promise<number> {
    const get = await daemon.fetch(url, { headers });
    const getBody = await get.arrayBuffer();
    const head = await daemon.fetch(url, { method: 'HEAD', headers });
    assert.equal(head.status, get.status, `HEAD ${url}`);
    for (const name of COMPARED_HEADERS) assert.equal(head.headers.get(name), get.headers.get(name), `HEAD ${url}: ${name}`);
    assert.equal((await head.arrayBuffer()).byteLength, 0, `HEAD ${url} has no body`);
    assert.ok(getBody.byteLength > 0 || get.status === 302, `GET ${url} has a body`);
    return get.status;
  }

  test('the JWKS, the console pages and the admin API answer HEAD as GET', async () => {
    assert.equal(await compare(`${daemon.baseUrl}/.well-known/jwks.json`), 200);
    assert.equal(await compare(`${daemon.baseUrl}/login`), 200);
    assert.equal(await compare(`${daemon.baseUrl}/`), 302);
    assert.equal(await compare(`${daemon.baseUrl}/nothing-here`), 404);
    const authorization = `Bearer ${daemon.adminToken}`;
    assert.equal(await compare(`${daemon.baseUrl}/api/admin/apps`, { authorization }), 200);
    assert.equal(await compare(`http://127.0.0.1:${daemon.port}/api/admin/users`, { authorization }), 200);
    assert.equal(await compare(`${daemon.baseUrl}/api/admin/apps`), 401);
  });

  test('HEAD on a sign-in link answers 405 and leaves the link usable', async () => {
    const deadline = Date.now() + 30_000;
    while (!/one-time link/.test(daemon.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const link = /(http:\/\/localhost:\d+\/login\/link\?code=\S+)/.exec(daemon.output())?.[1];
    assert.ok(link, daemon.output());
    const head = await daemon.fetch(link, { method: 'HEAD' });
    assert.equal(head.status, 405);
    assert.equal(head.headers.get('allow'), 'GET');
    const signedIn = await daemon.fetch(link);
    assert.equal(signedIn.status, 302);
    assert.match(signedIn.headers.get('set-cookie') ?? '', /plinth/);
  });

  test('the platform API on env.PLINTH answers HEAD on its GET routes as GET', async () => {
    installVault(daemon, work, 'vault');
    const get = await raw(daemon, 'vault', { method: 'GET', path: '/v1/info' });
    assert.equal(get.status, 200);
    assert.equal((JSON.parse(get.body) as { appId: string }).appId, 'vault');
    assert.deepEqual(await raw(daemon, 'vault', { method: 'HEAD', path: '/v1/info' }), { status: 200, body: '' });
    assert.deepEqual(await raw(daemon, 'vault', { method: 'HEAD', path: '/v1/identity/jwks' }), { status: 200, body: '' });
    assert.equal((await raw(daemon, 'vault', { method: 'HEAD', path: '/v1/nothing' })).status, 404);
  });
});
