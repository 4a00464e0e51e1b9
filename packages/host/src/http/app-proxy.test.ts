import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { REPO_ROOT, TEST_APPS, addUser, installApp, postSignIn, signInToApp, signInUntilHandoff, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';

interface Echo { method: string; url: string; headers: Record<string, string>; body: string | null }
interface ErrorBody { error: { code: string; message: string } }

const ADA = { email: 'ada@example.com', password: 'correct horse battery' };
const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('front door: routing, identity and header hygiene', () => {
  let daemon: TestDaemon;
  let cookie: string;

  before(async () => {
    daemon = await startTestDaemon();
    installApp(daemon, join(TEST_APPS, 'echo'));
    installApp(daemon, join(REPO_ROOT, 'examples/hello'));
    installApp(daemon, join(TEST_APPS, 'mischief'));
    addUser(daemon, 'ada@example.com', 'correct horse battery', ['--name', 'Ada Lovelace']);
    cookie = await signInToApp(daemon, 'echo', 'ada@example.com', 'correct horse battery', '/private/page?x=1');
  });
  after(() => daemon?.stop());

  test('an installed app answers on its own host through the front door', async () => {
    const response = await daemon.fetch(daemon.appUrl('hello'));
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^Hello, stranger\. .*\nYour IP: 127\.0\.0\.1\n$/);
  });

  test('unknown hosts get a 404 page for browsers and a JSON error for clients', async () => {
    const page = await daemon.fetch(daemon.appUrl('nosuchapp'), { headers: { accept: 'text/html' } });
    assert.equal(page.status, 404);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /nosuchapp\.localhost/);
    const api = await daemon.fetch(`http://127.0.0.1:${daemon.port}/`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'app.not_found');
  });

  test('anonymous: public paths pass, private paths redirect browsers and refuse API clients', async () => {
    assert.equal((await daemon.fetch(daemon.appUrl('echo', '/public/x'))).status, 200);
    const browser = await daemon.fetch(daemon.appUrl('echo', '/private/page?x=1'), { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(browser.status, 302);
    const location = new URL(browser.headers.get('location')!);
    assert.equal(location.origin, daemon.baseUrl);
    assert.equal(location.pathname, '/login');
    assert.equal(location.searchParams.get('app'), 'echo');
    assert.equal(location.searchParams.get('return'), '/private/page?x=1');
    // The sign-in state: a short-lived host-only cookie, and its hash in the URL.
    const [state, ...more] = browser.headers.getSetCookie();
    assert.deepEqual(more, []);
    assert.match(state ?? '', /^plinth_handoff_state=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=900$/);
    assert.match(location.searchParams.get('state') ?? '', /^[\w-]{43}$/);
    assert.notEqual(location.searchParams.get('state'), state!.split(';')[0]!.split('=')[1], 'the URL carries a hash, not the cookie');
    // An API client (a script, a WebSocket) is refused and given no cookie: it never reaches the handoff.
    const api = await daemon.fetch(daemon.appUrl('echo', '/private/page'), { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.deepEqual(api.headers.getSetCookie(), []);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'auth.required');
  });

  test('a browser sent to sign in again keeps its state cookie, so tabs share it; a second one planted beside it is replaced', async () => {
    const first = await daemon.fetch(daemon.appUrl('echo', '/private/a'), { headers: HTML });
    const cookie = first.headers.getSetCookie()[0]!.split(';')[0]!;
    const stateOf = (response: Awaited<ReturnType<TestDaemon['fetch']>>) => new URL(response.headers.get('location')!).searchParams.get('state');
    const again = await daemon.fetch(daemon.appUrl('echo', '/private/b'), { headers: { ...HTML, cookie } });
    assert.equal(again.headers.getSetCookie()[0]!.split(';')[0], cookie, 'the same value, its lifetime renewed');
    assert.equal(stateOf(again), stateOf(first));
    for (const held of [`${cookie}; ${cookie.replace(/=.*/, `=${'B'.repeat(43)}`)}`, 'plinth_handoff_state=short']) {
      const fresh = await daemon.fetch(daemon.appUrl('echo', '/private/c'), { headers: { ...HTML, cookie: held } });
      assert.notEqual(fresh.headers.getSetCookie()[0]!.split(';')[0], cookie, held);
      assert.notEqual(stateOf(fresh), stateOf(first), held);
    }
  });

  test('a link to sign in on the app\'s own host, /.plinth/login, starts the sign-in with a state', async () => {
    const start = await daemon.fetch(daemon.appUrl('echo', `/.plinth/login?return=${encodeURIComponent('/private/x?y=1')}`), { headers: HTML });
    assert.equal(start.status, 302);
    const location = new URL(start.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, `${daemon.baseUrl}/login`);
    assert.deepEqual([...location.searchParams.keys()], ['app', 'return', 'state']);
    assert.equal(location.searchParams.get('return'), '/private/x?y=1');
    assert.match(start.headers.get('set-cookie') ?? '', /^plinth_handoff_state=/);
    // Without a return it goes to the app's root; a return with a control character is refused.
    const bare = await daemon.fetch(daemon.appUrl('echo', '/.plinth/login'), { headers: HTML });
    assert.equal(new URL(bare.headers.get('location')!).searchParams.get('return'), '/');
    const bad = await daemon.fetch(daemon.appUrl('echo', '/.plinth/login?return=/x%0d%0ay'), { headers: HTML });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /role="alert">return: must not contain control characters/);
    assert.deepEqual(bad.headers.getSetCookie(), []);
    // Any other method there, and HEAD, is the reserved path's 404.
    for (const method of ['POST', 'HEAD']) assert.equal((await daemon.fetch(daemon.appUrl('echo', '/.plinth/login'), { method })).status, 404, method);
  });

  test('the console sends a sign-in that came without a state to the app host for one; a malformed state is a 400', async () => {
    const login = await postSignIn(daemon, { ...ADA, app: 'echo', return: '/private/y' });
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), daemon.appUrl('echo', `/.plinth/login?return=${encodeURIComponent('/private/y')}`));
    const session = login.headers.getSetCookie().find((c) => c.startsWith('plinth_session='))!.split(';')[0]!;
    for (const path of ['/login?app=echo&return=/z', '/handoff?app=echo&return=/z']) {
      const signedIn = await daemon.fetch(`${daemon.baseUrl}${path}`, { headers: { cookie: session } });
      assert.equal(signedIn.headers.get('location'), daemon.appUrl('echo', '/.plinth/login?return=%2Fz'), path);
    }
    const malformed = await daemon.fetch(`${daemon.baseUrl}/login?app=echo&state=not-a-state`, { headers: { cookie: session } });
    assert.equal(malformed.status, 400);
    assert.match(((await malformed.json()) as ErrorBody).error.message, /^state: must be 43 base64url characters/);
  });

  test('sign-in hands the user to the app origin with identity headers and a verifiable JWS', async () => {
    const response = await daemon.fetch(daemon.appUrl('echo', '/private/page'), { headers: { cookie } });
    assert.equal(response.status, 200);
    const echo = (await response.json()) as Echo;
    assert.equal(echo.headers['plinth-user-email'], 'ada@example.com');
    assert.equal(decodeURIComponent(echo.headers['plinth-user-name']!), 'Ada Lovelace');
    assert.equal(echo.headers['plinth-client-ip'], '127.0.0.1');
    assert.match(echo.headers['plinth-request-id']!, /^[0-9a-f-]{36}$/);
    // Fetched with the harness's client: jose's remote set uses the global fetch, whose pooled keep-alive
    // connection could race the daemon's 5 s idle close on a loaded machine ("other side closed").
    const published = await daemon.fetch(`${daemon.baseUrl}/.well-known/jwks.json`);
    assert.equal(published.status, 200);
    const jwks = createLocalJWKSet((await published.json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(echo.headers['plinth-identity']!, jwks, { audience: 'echo', issuer: daemon.baseUrl });
    assert.equal(protectedHeader.alg, 'EdDSA');
    assert.equal(payload.sub, echo.headers['plinth-user-id']);
    assert.equal(payload.email, 'ada@example.com');
    await assert.rejects(jwtVerify(echo.headers['plinth-identity']!, jwks, { audience: 'hello' }), /aud/);
  });

  test('the handoff code works once and only for its app; a misdirected code is burned', async () => {
    const started = () => signInUntilHandoff(daemon, daemon.appUrl('echo', '/private/page'), ADA);
    const misdirected = await started();
    const onOtherApp = new URL(misdirected.handoff);
    assert.equal(onOtherApp.host, `echo.localhost:${daemon.port}`);
    onOtherApp.host = `hello.localhost:${daemon.port}`;
    const headers = { cookie: misdirected.stateCookie };
    assert.equal((await daemon.fetch(onOtherApp.href, { headers })).status, 401);
    assert.equal((await daemon.fetch(misdirected.handoff, { headers })).status, 401);

    const { handoff, stateCookie } = await started();
    const first = await daemon.fetch(handoff, { headers: { cookie: stateCookie } });
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), daemon.appUrl('echo', '/private/page'));
    assert.match(first.headers.get('set-cookie') ?? '', /^plinth_app_session=pla_[\w-]+; Path=\/; HttpOnly; SameSite=Lax/);
    assert.doesNotMatch(first.headers.get('set-cookie') ?? '', /Domain=/i);
    const used = await daemon.fetch(handoff, { headers: { cookie: stateCookie } });
    assert.equal(used.status, 401);
    assert.equal(((await used.json()) as ErrorBody).error.code, 'auth.invalid_token');
    // A browser is told on a page, with a way to sign in again.
    const page = await daemon.fetch(handoff, { headers: { ...HTML, cookie: stateCookie } });
    assert.equal(page.status, 401);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /invalid, used or expired.*href="\/\.plinth\/login\?return=%2F"/s);
  });

  test('a handoff code is used only with the state cookie of the browser that asked for it; without it, it is refused and burned', async () => {
    const other = `plinth_handoff_state=${'C'.repeat(43)}`;
    for (const [name, cookie] of [
      ['no cookie', undefined], ['another browser\'s cookie', other], ['the cookie sent twice', (s: string) => `${s}; ${other}`],
      ['the cookie under the https name', (s: string) => `__Host-${s}`], ['the cookie and nothing in it', 'plinth_handoff_state='],
    ] as const) {
      const { handoff, stateCookie } = await signInUntilHandoff(daemon, daemon.appUrl('echo', '/private/q'), ADA);
      const sent = typeof cookie === 'function' ? cookie(stateCookie) : cookie;
      const refused = await daemon.fetch(handoff, { headers: sent === undefined ? {} : { cookie: sent } });
      assert.equal(refused.status, 400, name);
      assert.deepEqual(refused.headers.getSetCookie(), [], name);
      const body = (await refused.json()) as ErrorBody;
      assert.equal(body.error.code, 'auth.state_mismatch', name);
      assert.match(body.error.message, /plinth_handoff_state cookie .* start again at http:\/\/echo\.localhost:\d+\/\.plinth\/login\?return=%2Fprivate%2Fq$/, name);
      // Burned: the right browser cannot use it either.
      assert.equal((await daemon.fetch(handoff, { headers: { cookie: stateCookie } })).status, 401, name);
    }
    // A browser gets a page that says so, and a link that starts its own sign-in for the same page.
    const { handoff } = await signInUntilHandoff(daemon, daemon.appUrl('echo', '/private/q'), ADA);
    const page = await daemon.fetch(handoff, { headers: HTML });
    assert.equal(page.status, 400);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /role="alert">This sign-in link was started in another browser.*href="\/\.plinth\/login\?return=%2Fprivate%2Fq"/s);
    // The operator can tell from the app's log, say when a proxy in front drops cookies.
    assert.match(daemon.cli(['logs', 'echo']).stdout, /front door refused a handoff code: the request lacked the plinth_handoff_state cookie/);
  });

  test('a wrong password is refused and sets no cookie', async () => {
    const login = await postSignIn(daemon, { email: 'ada@example.com', password: 'wrong password!' });
    assert.equal(login.status, 401);
    assert.deepEqual(login.headers.getSetCookie(), []);
  });

  test('an open redirect through the return path is not possible', async () => {
    const login = await postSignIn(daemon, { email: 'ada@example.com', password: 'correct horse battery', return: '//evil.example/x' });
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), `${daemon.baseUrl}/`);
  });

  test('platform cookies never reach the app, while the app\'s own cookies do', async () => {
    const response = await daemon.fetch(daemon.appUrl('echo', '/private/page'), {
      headers: { cookie: `theme=dark; ${cookie}; plinth_session=stolen; plinth_handoff_state=${'D'.repeat(43)}` },
    });
    const echo = (await response.json()) as Echo;
    assert.equal(echo.headers.cookie, 'theme=dark');
  });

  test('client-sent Plinth-* headers and X-Forwarded-For from an untrusted peer are ignored', async () => {
    const response = await daemon.fetch(daemon.appUrl('echo', '/public/x'), {
      headers: { 'plinth-user-id': 'root', 'Plinth-User-Email': 'boss@example.com', 'plinth-identity': 'forged', 'plinth-anything': '1', 'x-forwarded-for': '203.0.113.9' },
    });
    const echo = (await response.json()) as Echo;
    assert.equal(echo.headers['plinth-user-id'], undefined);
    assert.equal(echo.headers['plinth-user-email'], undefined);
    assert.equal(echo.headers['plinth-identity'], undefined);
    assert.equal(echo.headers['plinth-anything'], undefined);
    assert.equal(echo.headers['plinth-client-ip'], '127.0.0.1');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('bearer tokens are scoped to one app and never forwarded', async () => {
    const created = daemon.cli(['tokens', 'create', '--user', 'ada@example.com', '--app', 'echo']);
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^plt_/);
    const ok = await daemon.fetch(daemon.appUrl('echo', '/private/api'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    const echo = (await ok.json()) as Echo;
    assert.equal(echo.headers['plinth-user-email'], 'ada@example.com');
    assert.equal(echo.headers.authorization, undefined);
    const other = await daemon.fetch(daemon.appUrl('hello', '/me'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(other.status, 403);
    assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'auth.wrong_app');
    const forged = await daemon.fetch(daemon.appUrl('echo', '/private/api'), { headers: { authorization: `Bearer plt_${'A'.repeat(43)}` } });
    assert.equal(forged.status, 401);
    assert.equal(daemon.cli(['tokens', 'revoke', token]).status, 0);
    const revoked = await daemon.fetch(daemon.appUrl('echo', '/private/api'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(revoked.status, 401);
    assert.equal(daemon.cli(['tokens', 'revoke', token]).status, 1);
    // An app's own Authorization scheme is its business and passes through.
    const own = await daemon.fetch(daemon.appUrl('echo', '/public/x'), { headers: { authorization: 'Basic YTpi' } });
    assert.equal(((await own.json()) as Echo).headers.authorization, 'Basic YTpi');
  });

  test('no header that carries a platform token reaches the app, however it is spelled', async () => {
    const created = daemon.cli(['tokens', 'create', '--user', 'ada@example.com', '--app', 'echo']);
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trim();
    const echoOf = async (headers: Record<string, string>) => {
      const response = await daemon.fetch(daemon.appUrl('echo', '/public/x'), { headers });
      const body = (await response.json()) as Echo & { error?: { code: string } };
      return { status: response.status, body };
    };
    const carriesToken = (echo: Echo) => Object.entries(echo.headers).filter(([, value]) => /pl(adm|[tsahl])_/i.test(value)).map(([name]) => name);
    // One token, `Bearer` in any case, any spaces or tabs around it: the platform takes it and the app gets the user.
    for (const spelling of [`Bearer ${token}`, `bearer ${token}`, `BEARER\t${token}`, `Bearer   ${token}   `, `bEaReR \t ${token}`]) {
      const { status, body } = await echoOf({ authorization: spelling });
      assert.equal(status, 200, JSON.stringify(spelling));
      assert.equal(body.headers['plinth-user-email'], 'ada@example.com', JSON.stringify(spelling));
      assert.deepEqual(carriesToken(body), [], JSON.stringify(spelling));
    }
    // Anything else holding a platform secret in Authorization is refused, on public paths too, and never forwarded.
    for (const spelling of [`Bearer ${token} x`, `Bearer ${token}, Bearer ${token}`, `Bearer ${token} ${token}`, `Bearer x ${token}`, `Token ${token}`,
      `Basic ${token}`, `Bearer "${token}"`, token, `Bearer ${daemon.adminToken}`, `Bearer ${token.toUpperCase()}`]) {
      const { status, body } = await echoOf({ authorization: spelling });
      assert.equal(status, 401, JSON.stringify(spelling));
      assert.equal(body.error?.code, 'auth.invalid_token', JSON.stringify(spelling));
    }
    // A platform secret in any other header is removed; the request goes on without it.
    const { status, body } = await echoOf({ 'x-api-key': token, 'x-forwarded-authorization': `Bearer ${token}`, 'sec-websocket-protocol': `chat, ${token}`, cookie: `theme=dark; stash=${token}`, 'x-kept': 'yes' });
    assert.equal(status, 200);
    assert.deepEqual(carriesToken(body), []);
    assert.equal(body.headers['x-kept'], 'yes');
    assert.equal(body.headers.cookie, 'theme=dark');
    assert.equal(body.headers['plinth-user-email'], undefined);
  });

  test('an app cannot set a cookie for another host or under a platform cookie\'s name', async () => {
    const set = async (...cookies: string[]) => {
      const query = cookies.map((c) => `c=${encodeURIComponent(c)}`).join('&');
      const response = await daemon.fetch(daemon.appUrl('mischief', `/public/set-cookie?${query}`));
      assert.equal(response.status, 200);
      return response.headers.getSetCookie();
    };
    const host = `mischief.localhost`;
    const kept = ['theme=dark; Path=/', `own=1; Domain=${host}`, `own2=1; domain=.MISCHIEF.localhost; Path=/x`, 'plinth_app_session_theirs=1', 'nameless'];
    assert.deepEqual(await set(...kept), kept);
    for (const cookie of [
      'a=1; Domain=localhost', 'a=1; Domain=.localhost', 'a=1; domain = LOCALHOST ; Path=/', `a=1; Domain=${host}; Domain=localhost`, 'a=1; Domain=echo.localhost',
      `a=1; Domain=x.${host}`, 'a=1; Domain=', 'plinth_session=x', 'plinth_app_session=x; Path=/private', 'PLINTH_APP_SESSION=x', ' plinth_session =x',
      '__Host-plinth_session=x; Path=/; Secure', '__secure-plinth_app_session=x; Secure', '__Host-plinth_csrf=x; Path=/; Secure', 'plinth_csrf=x', '=plinth_session=x',
      'plinth_handoff_state=x', '__Host-plinth_handoff_state=x; Path=/; Secure',
    ]) {
      assert.deepEqual(await set(cookie, 'kept=1'), ['kept=1'], cookie);
    }
    // The app's log says what was dropped and why.
    const logs = daemon.cli(['logs', 'mischief']);
    assert.match(logs.stdout, /front door dropped a Set-Cookie: Domain=localhost reaches beyond mischief\.localhost/);
    assert.match(logs.stdout, /front door dropped a Set-Cookie: its name "PLINTH_APP_SESSION" is the platform's/);
  });

  test('reserved paths are unreachable from outside, however they are spelled', async () => {
    for (const path of ['/after-update', '/.plinth/x', '/.plinth/events/socket', '/%2eplinth/x', '/.PLINTH/x', '//after-update', '/public/../after-update', '/AFTER-UPDATE']) {
      for (const method of ['GET', 'POST']) {
        const response = await daemon.fetch(daemon.appUrl('echo', path), { method, headers: { cookie } });
        assert.equal(response.status, 404, `${method} ${path}`);
      }
    }
  });

  test('the platform API tells the app who it is', async () => {
    const response = await daemon.fetch(daemon.appUrl('echo', '/public/info'));
    assert.equal(response.status, 200);
    const info = (await response.json()) as Record<string, string>;
    assert.equal(info.appId, 'echo');
    assert.equal(info.version, '1.0.0');
    assert.equal(info.appUrl, `http://echo.localhost:${daemon.port}`);
    assert.equal(info.baseUrl, daemon.baseUrl);
    assert.match(info.installationId!, /^[0-9a-f-]{36}$/);
  });
});
