import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from './testing/daemon-harness.js';

describe('daemon lifecycle', () => {
  const daemons: TestDaemon[] = [];
  after(() => Promise.all(daemons.map((d) => d.stop())));

  test('first start installs the examples and prints a one-time admin sign-in link', async () => {
    const daemon = await startTestDaemon({ env: { PLINTH_INSTALL_EXAMPLES: 'true' } });
    daemons.push(daemon);
    const deadline = Date.now() + 60_000;
    while (!/one-time link/.test(daemon.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(daemon.output(), /installed example hello/);
    const link = /(http:\/\/localhost:\d+\/login\/link\?code=\S+)/.exec(daemon.output())?.[1];
    assert.ok(link, daemon.output());

    const signedIn = await daemon.fetch(link);
    assert.equal(signedIn.status, 302);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    const home = await daemon.fetch(`${daemon.baseUrl}/`, { headers: { cookie } });
    assert.equal(home.status, 200);
    const html = await home.text();
    assert.match(html, /admin@localhost/);
    assert.match(html, new RegExp(`href="http://hello\\.localhost:${daemon.port}/"`));
    // The link is single-use.
    assert.equal((await daemon.fetch(link)).status, 401);
    assert.equal((await daemon.fetch(daemon.appUrl('hello'))).status, 200);
  });

  test('shutdown stops accepting, lets an in-flight request finish, and stops app processes', async () => {
    const daemon = await startTestDaemon();
    daemons.push(daemon);
    installApp(daemon, join(TEST_APPS, 'echo'));
    const inFlight = daemon.fetch(daemon.appUrl('echo', '/slow?ms=1500'));
    await new Promise((r) => setTimeout(r, 500));
    const status = await (await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/echo`, { headers: { authorization: `Bearer ${daemon.adminToken}` } })).json() as { runtime: { pid: number } };
    daemon.process.kill('SIGTERM');
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'slept 1500');
    const exitCode = await new Promise((r) => daemon.process.once('exit', r));
    assert.equal(exitCode, 0);
    assert.throws(() => process.kill(status.runtime.pid, 0), /ESRCH/);
    await assert.rejects(daemon.fetch(daemon.appUrl('echo', '/public/x')));
  });

  test('X-Forwarded-For is believed only from a trusted proxy', async () => {
    const daemon = await startTestDaemon({ env: { PLINTH_TRUSTED_PROXIES: '127.0.0.1' } });
    daemons.push(daemon);
    installApp(daemon, join(TEST_APPS, 'echo'));
    const response = await daemon.fetch(daemon.appUrl('echo', '/public/x'), { headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' } });
    const echo = (await response.json()) as { headers: Record<string, string> };
    // The right-most hop that is not a trusted proxy is the client; anything left of it is client-written.
    assert.equal(echo.headers['plinth-client-ip'], '203.0.113.9');
    assert.equal(echo.headers['x-forwarded-for'], '198.51.100.7, 203.0.113.9, 127.0.0.1');
  });

  test('invalid settings stop the daemon at start with a one-line reason', async () => {
    await assert.rejects(startTestDaemon({ env: { PLINTH_ISOLATION: 'sometimes' } }), /PLINTH_ISOLATION/);
    await assert.rejects(startTestDaemon({ env: { PLINTH_TRUSTED_PROXIES: 'not-an-ip' } }), /PLINTH_TRUSTED_PROXIES/);
  });
});
