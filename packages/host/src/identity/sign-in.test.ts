// The console's sign-in from an HTTP client: cookie names with an https base URL, the CSRF checks,
// return paths, and the sign-in rate limits. The browser's side is in the *.browser.test.ts files.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Response as UndiciResponse } from 'undici';
import { TEST_APPS, addUser, freePort, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import {
  SIGN_IN_ACCOUNT_FAILURES_BURST, SIGN_IN_ACCOUNT_REFILL_MS, SIGN_IN_CLIENT_FAILURES_BURST, SIGN_IN_CLIENT_REFILL_MS,
} from './limits.js';

const ADA = { email: 'ada@example.com', password: 'correct horse battery' };
const GRACE = { email: 'grace@example.com', password: 'another good password' };
const FORM = 'application/x-www-form-urlencoded';

interface ErrorBody { error: { code: string; message: string } }

describe('sign-in over https: cookies, CSRF, return paths and rate limits', () => {
  let daemon: TestDaemon;
  let origin = '';

  before(async () => {
    const port = await freePort();
    origin = `https://localhost:${port}`;
    // TLS ends at a proxy in front, so the daemon itself is reached over plain HTTP from loopback, which it trusts.
    daemon = await startTestDaemon({ port, env: { PLINTH_BASE_URL: origin, PLINTH_TRUSTED_PROXIES: '127.0.0.1' } });
    // The CLI would follow the https base URL; the daemon speaks plain HTTP.
    const url = ['--url', daemon.baseUrl];
    installApp(daemon, join(TEST_APPS, 'echo'), url);
    addUser(daemon, ADA.email, ADA.password, url);
    addUser(daemon, GRACE.email, GRACE.password, url);
  });
  after(() => daemon?.stop());

  /** The sign-in form's CSRF cookie (as a Cookie header) and token. */
  async function signInForm(): Promise<{ cookie: string; csrf: string; setCookie: string }> {
    const page = await daemon.fetch(`${daemon.baseUrl}/login`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    const setCookie = page.headers.get('set-cookie') ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(csrf, 'the form carries a CSRF token');
    return { cookie: setCookie.split(';')[0]!, csrf, setCookie };
  }

  async function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<UndiciResponse> {
    return daemon.fetch(`${daemon.baseUrl}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': FORM, ...headers } });
  }

  /** A sign-in through the form, from client address `ip` (behind the trusted proxy). */
  async function signIn(credentials: { email: string; password: string }, ip: string, extra: Record<string, string> = {}): Promise<UndiciResponse> {
    const { cookie, csrf } = await signInForm();
    return post('/login', { ...credentials, csrf, ...extra }, { cookie, 'x-forwarded-for': ip });
  }

  const errorCode = async (response: UndiciResponse) => ((await response.json()) as ErrorBody).error.code;
  const sessionCookies = (response: UndiciResponse) => response.headers.getSetCookie().filter((c) => /session=/.test(c));

  test('every platform cookie has the __Host- prefix, Secure, Path=/ and no Domain', async () => {
    const { setCookie } = await signInForm();
    assert.match(setCookie, /^__Host-plinth_csrf=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    // The app host sends a browser to sign in with its sign-in state, which the handoff asks for.
    const start = await daemon.fetch(daemon.appUrl('echo', '/private/x'), { headers: { accept: 'text/html' } });
    assert.equal(start.status, 302);
    const state = start.headers.get('set-cookie') ?? '';
    assert.match(state, /^__Host-plinth_handoff_state=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    const target = new URL(start.headers.get('location')!);
    assert.equal(`${target.origin}${target.pathname}`, `${origin}/login`);
    const login = await signIn(ADA, '203.0.113.1', Object.fromEntries(target.searchParams));
    assert.equal(login.status, 302);
    assert.match(login.headers.get('set-cookie') ?? '', /^__Host-plinth_session=pls_[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
    const handoff = new URL(login.headers.get('location')!);
    assert.equal(handoff.origin, `https://echo.localhost:${daemon.port}`);
    handoff.protocol = 'http:';
    // The bare name is not the platform's on https: the handoff refuses a state sent under it.
    const unprefixedState = await daemon.fetch(handoff.href, { headers: { cookie: state.split(';')[0]!.replace(/^__Host-/, '') } });
    assert.equal(unprefixedState.status, 400);
    assert.equal(await errorCode(unprefixedState), 'auth.state_mismatch');
    const again = await signIn(ADA, '203.0.113.1', Object.fromEntries(target.searchParams));
    const retried = new URL(again.headers.get('location')!);
    retried.protocol = 'http:';
    const landed = await daemon.fetch(retried.href, { headers: { cookie: state.split(';')[0]! } });
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

  test('a sign-in form without its CSRF token, or posted from another origin, is refused and signs no one in', async () => {
    const { cookie, csrf } = await signInForm();
    const cases: [string, Record<string, string>, Record<string, string>][] = [
      ['no token, no cookie', {}, {}],
      ['no token', {}, { cookie }],
      ['no cookie', { csrf }, {}],
      ['another form\'s token', { csrf: 'x'.repeat(43) }, { cookie }],
      ['the cookie sent twice', { csrf }, { cookie: `${cookie}; ${cookie.replace(/=.*/, '=other')}` }],
      ['a foreign Origin', { csrf }, { cookie, origin: 'https://evil.example' }],
      ['an app\'s Origin', { csrf }, { cookie, origin: `https://echo.localhost:${daemon.port}` }],
      ['the http Origin', { csrf }, { cookie, origin: `http://localhost:${daemon.port}` }],
      ['Origin null', { csrf }, { cookie, origin: 'null' }],
      ['Sec-Fetch-Site cross-site', { csrf }, { cookie, 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site same-site', { csrf }, { cookie, 'sec-fetch-site': 'same-site', origin }],
    ];
    for (const [name, fields, headers] of cases) {
      const response = await post('/login', { ...ADA, ...fields }, { ...headers, 'x-forwarded-for': '203.0.113.2' });
      assert.equal(response.status, 403, name);
      assert.deepEqual(sessionCookies(response), [], name);
      const body = (await response.json()) as ErrorBody;
      assert.equal(body.error.code, 'auth.csrf_rejected', name);
    }
    // A browser's refused form gets the sign-in page again, with a fresh token and the reason.
    const page = await post('/login', ADA, { accept: 'text/html', origin: 'https://evil.example' });
    assert.equal(page.status, 403);
    assert.match(await page.text(), /role="alert">[^<]*another site/);
    // The same form from the console's own page goes through.
    const ok = await post('/login', { ...ADA, csrf }, { cookie, origin, 'sec-fetch-site': 'same-origin', 'x-forwarded-for': '203.0.113.2' });
    assert.equal(ok.status, 302);
    assert.equal(sessionCookies(ok).length, 1);
  });

  test('signing out needs the CSRF token from the console home page', async () => {
    const login = await signIn(ADA, '203.0.113.3');
    const session = login.headers.get('set-cookie')!.split(';')[0]!;
    const home = await daemon.fetch(`${daemon.baseUrl}/`, { headers: { cookie: session, accept: 'text/html' } });
    assert.equal(home.status, 200);
    const csrfCookie = (home.headers.get('set-cookie') ?? '').split(';')[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await home.text())?.[1];
    assert.ok(csrf && csrfCookie.startsWith('__Host-plinth_csrf='));
    const refused = await post('/logout', {}, { cookie: `${session}; ${csrfCookie}` });
    assert.equal(refused.status, 403);
    assert.equal(await errorCode(refused), 'auth.csrf_rejected');
    const stillIn = await daemon.fetch(`${daemon.baseUrl}/`, { headers: { cookie: session } });
    assert.equal(stillIn.status, 200, 'the session survived the refused sign-out');
    const out = await post('/logout', { csrf }, { cookie: `${session}; ${csrfCookie}` });
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), `${origin}/login`);
    assert.equal((await daemon.fetch(`${daemon.baseUrl}/`, { headers: { cookie: session } })).status, 302, 'the session ended');
  });

  test('return paths: control characters are a 400, paths that leave the origin become the origin\'s root', async () => {
    for (const bad of ['/x\r\nSet-Cookie: a=b', '/x\n', '/\t/evil.example/x', '/x\u0000', '/x\u007f', '/x\u0085']) {
      const query = await daemon.fetch(`${daemon.baseUrl}/login?return=${encodeURIComponent(bad)}`);
      assert.equal(query.status, 400, JSON.stringify(bad));
      const body = (await query.json()) as ErrorBody;
      assert.equal(body.error.code, 'http.bad_request');
      assert.match(body.error.message, /control character/);
      const { cookie, csrf } = await signInForm();
      const form = await post('/login', { ...ADA, csrf, return: bad }, { cookie, 'x-forwarded-for': '203.0.113.4' });
      assert.equal(form.status, 400, JSON.stringify(bad));
      assert.deepEqual(sessionCookies(form), []);
    }
    for (const [asked, landed] of [
      ['//evil.example/x', '/'], ['/\\evil.example/x', '/'], ['https://evil.example/', '/'], ['/.//evil.example', '//evil.example'], ['/x/../..//evil.example', '//evil.example'],
      ['evil', '/'], ['/ok?a=1#b', '/ok?a=1#b'], ['/%2F%2Fevil.example', '/%2F%2Fevil.example'], ['/caf\u00e9', '/caf%C3%A9'],
    ]) {
      const response = await signIn(ADA, '203.0.113.5', { return: asked! });
      assert.equal(response.status, 302, asked);
      // Absolute, so a path like `//x` that the parser keeps cannot be read as another host.
      assert.equal(response.headers.get('location'), `${origin}${landed}`, asked);
    }
  });

  test(`one account gets ${SIGN_IN_ACCOUNT_FAILURES_BURST} failed sign-ins, then 429 with Retry-After, from any client`, async () => {
    for (let i = 0; i < SIGN_IN_ACCOUNT_FAILURES_BURST; i++) {
      assert.equal((await signIn({ ...GRACE, password: 'wrong password' }, `198.51.100.${i + 1}`)).status, 401, `attempt ${i + 1}`);
    }
    for (const [email, ip] of [[GRACE.email, '198.51.100.99'], [GRACE.email.toUpperCase(), '198.51.100.98']] as const) {
      const limited = await signIn({ email, password: GRACE.password }, ip);
      assert.equal(limited.status, 429, email);
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= SIGN_IN_ACCOUNT_REFILL_MS / 1000, `Retry-After ${retryAfter}`);
      assert.deepEqual(sessionCookies(limited), []);
      const body = (await limited.json()) as ErrorBody;
      assert.equal(body.error.code, 'auth.too_many_attempts');
      assert.match(body.error.message, /grace@example\.com|this account/i);
    }
    // Another account from the same clients is not held back.
    assert.equal((await signIn(ADA, '198.51.100.1')).status, 302);
    // A browser gets the sign-in page with the reason.
    const { cookie, csrf } = await signInForm();
    const page = await post('/login', { ...GRACE, csrf }, { cookie, accept: 'text/html', 'x-forwarded-for': '198.51.100.97' });
    assert.equal(page.status, 429);
    assert.ok(Number(page.headers.get('retry-after')) >= 1);
    assert.match(await page.text(), /role="alert">Too many/);
  });

  test(`one client address gets ${SIGN_IN_CLIENT_FAILURES_BURST} failed sign-ins, then 429 with Retry-After, for every account, even when they arrive at once`, async () => {
    const ip = '192.0.2.77';
    const perAccount = SIGN_IN_ACCOUNT_FAILURES_BURST - 1;
    const tries = SIGN_IN_CLIENT_FAILURES_BURST + 10;
    // All at once: each takes its try before scrypt runs, so none slips past the burst while others are hashing.
    const { cookie, csrf } = await signInForm();
    const startedAt = Date.now();
    const answers = await Promise.all(Array.from({ length: tries }, async (_, i) => {
      const response = await post('/login', { email: `nobody${Math.floor(i / perAccount)}@example.com`, password: 'wrong password', csrf }, { cookie, 'x-forwarded-for': ip });
      const text = await response.text();
      return { status: response.status, retryAfter: Number(response.headers.get('retry-after')), text };
    }));
    assert.deepEqual([answers.filter((a) => a.status === 401).length, answers.filter((a) => a.status === 429).length], [SIGN_IN_CLIENT_FAILURES_BURST, tries - SIGN_IN_CLIENT_FAILURES_BURST]);
    const limited = answers.find((a) => a.status === 429)!;
    assert.ok(limited.retryAfter >= 1 && limited.retryAfter <= SIGN_IN_CLIENT_REFILL_MS / 1000, `Retry-After ${limited.retryAfter}`);
    assert.equal((JSON.parse(limited.text) as ErrorBody).error.code, 'auth.too_many_attempts');
    // A right password from that address waits too, unless the machine was so slow that a refill came back meanwhile.
    const rightPassword = await signIn(ADA, ip);
    if (Date.now() - startedAt < SIGN_IN_CLIENT_REFILL_MS) assert.equal(rightPassword.status, 429);
    // The same account from another address, and the same address's neighbour, still sign in.
    assert.equal((await signIn(ADA, '192.0.2.78')).status, 302);
  });
});
