// The console's sign-in from an HTTP client: cookie names with an https base URL. The browser's
// side is in the *.browser.test.ts files.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, addUser, freePort, installApp, postSignIn, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';

const ADA = { email: 'ada@example.com', password: 'correct horse battery' };

describe('sign-in over https', () => {
  let daemon: TestDaemon;

  before(async () => {
    const port = await freePort();
    // TLS ends at a proxy in front, so the daemon itself is reached over plain HTTP from loopback, which it trusts.
    daemon = await startTestDaemon({ port, env: { PLINTH_BASE_URL: `https://localhost:${port}`, PLINTH_TRUSTED_PROXIES: '127.0.0.1' } });
    // The CLI would follow the https base URL; the daemon speaks plain HTTP.
    const url = ['--url', daemon.baseUrl];
    installApp(daemon, join(TEST_APPS, 'echo'), url);
    addUser(daemon, ADA.email, ADA.password, url);
  });
  after(() => daemon?.stop());

  test('every platform cookie has the __Host- prefix, Secure, Path=/ and no Domain', async () => {
    const login = await postSignIn(daemon, { ...ADA, app: 'echo', return: '/private/x' });
    assert.equal(login.status, 302);
    assert.match(login.headers.get('set-cookie') ?? '', /^__Host-plinth_session=pls_[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    const handoff = new URL(login.headers.get('location')!);
    assert.equal(handoff.origin, `https://echo.localhost:${daemon.port}`);
    handoff.protocol = 'http:';
    const landed = await daemon.fetch(handoff.href);
    assert.equal(landed.status, 302);
    assert.equal(landed.headers.get('location'), `https://echo.localhost:${daemon.port}/private/x`);
    const appCookie = landed.headers.get('set-cookie') ?? '';
    assert.match(appCookie, /^__Host-plinth_app_session=pla_[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    // The prefixed cookie signs the user in, and the app never sees it.
    const echo = await daemon.fetch(daemon.appUrl('echo', '/private/x'), { headers: { cookie: `theme=dark; ${appCookie.split(';')[0]}` } });
    assert.equal(echo.status, 200);
    const seen = ((await echo.json()) as { headers: Record<string, string> }).headers;
    assert.equal(seen['plinth-user-email'], ADA.email);
    assert.equal(seen.cookie, 'theme=dark');
    // The unprefixed name is no longer the platform's: it signs no one in.
    const value = appCookie.split(';')[0]!.split('=')[1]!;
    const unprefixed = await daemon.fetch(daemon.appUrl('echo', '/private/x'), { headers: { cookie: `plinth_app_session=${value}` } });
    assert.equal(unprefixed.status, 401);
  });
});
