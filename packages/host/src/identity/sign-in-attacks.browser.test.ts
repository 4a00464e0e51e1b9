// Attacks on sign-in, replayed in a real browser (Debian's chromium through playwright-core): cookies
// planted for the console or another app, a sign-in form posted from another site, return paths that
// leave the origin, and signing out. The daemon's base host is `plinth.localhost`, not `localhost`:
// Chromium refuses `Domain=localhost` (a single label), but an app at `echo.plinth.localhost` may set
// `Domain=plinth.localhost`, which is what a real base host such as `apps.example.com` allows.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium, settleWithin } from '../testing/browser.js';
import { TEST_APPS, freePort, signInThroughApp, signInUntilHandoff, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';

const WAIT_MS = 10_000;
const VICTIM = { email: 'victim@example.com', password: 'victim password 1' };
const MALLORY = { email: 'mallory@example.com', password: 'mallory password 1' };

interface Echo { headers: Record<string, string> }

describe('sign-in attacks in a real browser', () => {
  let daemon: TestDaemon | undefined;
  let browser: Browser | undefined;
  let base = '';
  let port = 0;
  // Another site on loopback: the off-site target of redirects (it records every hit), a sibling
  // host outside Plinth (`evil.plinth.localhost:<its port>`, which shares the base host's cookies),
  // and a cross-site page.
  let evil: Server | undefined;
  let evilPort = 0;
  const evilHits: string[] = [];
  const appUrl = (appId: string, path = '/') => `http://${appId}.plinth.localhost:${port}${path}`;

  async function admin(method: string, path: string, body: Buffer | object): Promise<void> {
    const raw = Buffer.isBuffer(body);
    const response = await daemon!.fetch(`${base}/api/admin${path}`, {
      method, body: raw ? body : JSON.stringify(body),
      headers: { authorization: `Bearer ${daemon!.adminToken}`, 'content-type': raw ? 'application/gzip' : 'application/json' },
    });
    if (response.status !== 201) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  }

  /** The CLI cannot reach `plinth.localhost` (Node does not resolve it), so apps go in through the admin API. */
  async function install(dir: string): Promise<void> {
    const file = join(daemon!.dataDir, `${dir.split('/').pop()}.plinth`);
    const built = daemon!.cli(['build', dir, '-o', file]);
    if (built.status !== 0) throw new Error(`build ${dir} failed: ${built.stderr}`);
    await admin('POST', '/apps', readFileSync(file));
  }

  before(async () => {
    port = await freePort();
    base = `http://plinth.localhost:${port}`;
    daemon = await startTestDaemon({ port, env: { PLINTH_BASE_URL: base } });
    await install(join(TEST_APPS, 'echo'));
    await install(join(TEST_APPS, 'mischief'));
    await admin('POST', '/users', VICTIM);
    await admin('POST', '/users', MALLORY);
    evil = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://evil');
      evilHits.push(`${req.headers.host}${req.url}`);
      if (url.pathname === '/set') res.setHeader('set-cookie', url.searchParams.getAll('c'));
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(url.searchParams.get('html') ?? 'evil');
    });
    await new Promise<void>((resolve) => evil!.listen(0, '127.0.0.1', resolve));
    evilPort = (evil.address() as { port: number }).port;
    browser = await launchChromium();
  }, { timeout: 90_000 });

  after(async () => {
    try {
      if (browser) await settleWithin(browser.close(), 15_000);
      evil?.close();
    } finally {
      await daemon?.stop();
    }
  }, { timeout: 45_000 });

  async function freshContext(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext();
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    return { context, page: await context.newPage() };
  }

  /** Mallory's own sessions, from a sign-in of her own: her console cookie and her app session for echo. */
  async function mallorySessions(): Promise<{ console: string; app: string }> {
    const signedIn = await signInThroughApp(daemon!, appUrl('echo', '/'), MALLORY, base);
    const value = (cookie: string, name: string) => new RegExp(`(?:^|; )${name}=([^;]+)`).exec(cookie)?.[1];
    const [consoleValue, appValue] = [value(signedIn.consoleCookie, 'plinth_session'), value(signedIn.appCookie, 'plinth_app_session')];
    assert.ok(consoleValue && appValue, 'mallory is signed in');
    return { console: consoleValue, app: appValue };
  }

  /** Whether a console or app session cookie value still signs anyone in. */
  async function appSessionLive(value: string): Promise<boolean> {
    const response = await daemon!.fetch(appUrl('echo', '/private/who'), { headers: { cookie: `plinth_app_session=${value}`, accept: 'application/json' } });
    return response.status === 200;
  }

  /** Signs the victim in with the real form, starting from echo's private page, and lands back there. */
  async function victimSignsIn(page: Page): Promise<void> {
    await page.goto(appUrl('echo', '/private/who'));
    await page.waitForURL((url) => url.origin === base && url.pathname === '/login');
    await page.locator('input[name=email]').fill(VICTIM.email);
    await page.locator('input[name=password]').fill(VICTIM.password);
    await page.locator('button[type=submit]').click();
    await page.waitForURL(appUrl('echo', '/private/who'));
    assert.equal(await whoIsOnEcho(page), VICTIM.email);
  }

  /** Opens echo's private page in the browser; the user echo was told about, or 'sign-in page' when sent to sign in. */
  async function whoIsOnEcho(page: Page): Promise<string> {
    const response = await page.goto(appUrl('echo', '/private/who'));
    if (new URL(page.url()).pathname === '/login') return 'sign-in page';
    const body = await response!.text();
    const echo = JSON.parse(body) as Partial<Echo>;
    assert.ok(echo.headers, `echo answered ${response!.status()} ${body}; daemon log: ${daemon!.output().slice(-2000)}`);
    return echo.headers['plinth-user-email'] ?? 'anonymous';
  }

  const setCookieUrl = (origin: string, cookie: string) => `${origin}?c=${encodeURIComponent(cookie)}`;

  test('an app cannot plant an app session for the base domain: the victim stays themselves', { timeout: 30_000 }, async () => {
    const mallory = await mallorySessions();
    const { context, page } = await freshContext();
    try {
      await victimSignsIn(page);
      // A longer path is sent first, so before the fix echo saw Mallory.
      await page.goto(setCookieUrl(appUrl('mischief', '/public/set-cookie'), `plinth_app_session=${mallory.app}; Domain=plinth.localhost; Path=/private`));
      assert.deepEqual((await context.cookies()).filter((c) => c.domain.startsWith('.')).map((c) => `${c.name}@${c.domain}`), [], 'the front door dropped the domain cookie');
      assert.equal(await whoIsOnEcho(page), VICTIM.email);
    } finally {
      await context.close();
    }
  });

  test('an app cannot plant a console session for /login: the victim is asked to sign in, not signed in as mallory', { timeout: 30_000 }, async () => {
    const mallory = await mallorySessions();
    const { context, page } = await freshContext();
    try {
      await page.goto(setCookieUrl(appUrl('mischief', '/public/set-cookie'), `plinth_session=${mallory.console}; Domain=plinth.localhost; Path=/login`));
      // Names that only look like the platform's are dropped too, host-only ones included.
      await page.goto(setCookieUrl(appUrl('mischief', '/public/set-cookie'), 'PLINTH_APP_SESSION=x; Path=/'));
      assert.deepEqual((await context.cookies()).map((c) => c.name), []);
      assert.equal(await whoIsOnEcho(page), 'sign-in page');
      assert.equal(await page.locator('input[name=email]').count(), 1);
    } finally {
      await context.close();
    }
  });

  test('a session cookie planted by a sibling host outside Plinth does not win, and is ended', { timeout: 30_000 }, async () => {
    const mallory = await mallorySessions();
    const { context, page } = await freshContext();
    try {
      await victimSignsIn(page);
      // The front door never sees this response: cookies ignore ports, so any server on a sibling host can plant one.
      await page.goto(setCookieUrl(`http://evil.plinth.localhost:${evilPort}/set`, `plinth_app_session=${mallory.app}; Domain=plinth.localhost; Path=/private`));
      assert.ok((await context.cookies(appUrl('echo', '/private/who'))).some((c) => c.domain === '.plinth.localhost'), 'the browser holds the planted cookie');
      // Two live sessions under one name: neither wins and both end. The console session then hands the victim a fresh one.
      assert.equal(await whoIsOnEcho(page), VICTIM.email);
      assert.equal(await appSessionLive(mallory.app), false, 'the planted session was revoked');
      assert.equal(await whoIsOnEcho(page), VICTIM.email);
    } finally {
      await context.close();
    }
  });

  test('a console session planted by a sibling host next to the victim\'s does not win, and is ended', { timeout: 30_000 }, async () => {
    const mallory = await mallorySessions();
    const { context, page } = await freshContext();
    try {
      await victimSignsIn(page);
      await page.goto(setCookieUrl(`http://evil.plinth.localhost:${evilPort}/set`, `plinth_session=${mallory.console}; Domain=plinth.localhost; Path=/`));
      // The victim's host-only console cookie and Mallory's domain cookie are both live: neither wins.
      await page.goto(`${base}/`);
      assert.equal(new URL(page.url()).pathname, '/login', 'the console home asks to sign in again');
      const again = await daemon!.fetch(`${base}/`, { headers: { cookie: `plinth_session=${mallory.console}` } });
      assert.equal(again.status, 302, 'mallory\'s planted console session was revoked');
      assert.equal(new URL(again.headers.get('location')!, base).pathname, '/login');
    } finally {
      await context.close();
    }
  });

  /** An auto-submitting form on `origin` (another site, or an app) that posts to the console. */
  function autoSubmit(pageUrl: string, action: string, fields: Record<string, string>): string {
    const inputs = Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`).join('');
    const html = `<form method="post" action="${action}">${inputs}</form><script>document.forms[0].submit()</script>`;
    return `${pageUrl}?html=${encodeURIComponent(html)}`;
  }

  for (const from of ['another site', 'an app origin'] as const) {
    test(`login CSRF from ${from}: a posted sign-in form does not sign the victim in as mallory`, { timeout: 30_000 }, async () => {
      const { context, page } = await freshContext();
      try {
        const pageUrl = from === 'another site' ? `http://127.0.0.1:${evilPort}/page` : appUrl('mischief', '/public/page');
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${base}/login`),
          page.goto(autoSubmit(pageUrl, `${base}/login`, { ...MALLORY, app: 'echo', return: '/private/who' })),
        ]);
        assert.equal(response.status(), 403);
        await page.waitForLoadState('load');
        assert.equal(page.url(), `${base}/login`);
        assert.match((await page.getByRole('alert').textContent()) ?? '', /another site/);
        const names = (await context.cookies()).map((c) => c.name);
        assert.ok(!names.includes('plinth_session') && !names.includes('plinth_app_session'), `no session cookie: ${names.join(', ')}`);
        assert.equal(await whoIsOnEcho(page), 'sign-in page');
      } finally {
        await context.close();
      }
    });
  }

  test('a sign-out form posted from another site does not sign the victim out', { timeout: 30_000 }, async () => {
    const { context, page } = await freshContext();
    try {
      await victimSignsIn(page);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${base}/logout`),
        page.goto(autoSubmit(`http://127.0.0.1:${evilPort}/page`, `${base}/logout`, {})),
      ]);
      assert.equal(response.status(), 403);
      await page.goto(`${base}/`);
      assert.match((await page.locator('body').textContent()) ?? '', new RegExp(`Signed in as ${VICTIM.email}`));
      assert.equal(await whoIsOnEcho(page), VICTIM.email);
    } finally {
      await context.close();
    }
  });

  test('a return path that would leave the console or the app does not', { timeout: 30_000 }, async () => {
    const { context, page } = await freshContext();
    try {
      await victimSignsIn(page);
      evilHits.length = 0;
      // Chromium drops the tab from `/\t/127.0.0.1:…/x` and reads `//127.0.0.1:…/x`, another host: refused outright.
      for (const app of ['', 'app=echo&']) {
        const response = await page.goto(`${base}/login?${app}return=/%09/127.0.0.1:${evilPort}/x`);
        assert.equal(response?.status(), 400);
        assert.match((await page.getByRole('alert').textContent()) ?? '', /control character/);
      }
      // A backslash is a slash to the URL parser: `/\127.0.0.1:…` leaves too, and becomes the root.
      await page.goto(`${base}/login?return=${encodeURIComponent(`/\\127.0.0.1:${evilPort}/x`)}`);
      assert.equal(page.url(), `${base}/`);
      await page.goto(`${base}/login?app=echo&return=${encodeURIComponent(`/\\127.0.0.1:${evilPort}/x`)}`);
      assert.equal(page.url(), appUrl('echo', '/'));
      assert.deepEqual(evilHits, [], 'the browser never reached the other site');
      // A return path that stays on the origin is followed, query and fragment included.
      await page.goto(`${base}/login?app=echo&return=${encodeURIComponent('/private/who?x=1#top')}`);
      assert.equal(page.url(), appUrl('echo', '/private/who?x=1#top'));
    } finally {
      await context.close();
    }
  });

  test('a return path with a line break is refused with an error page', { timeout: 30_000 }, async () => {
    const { context, page } = await freshContext();
    try {
      // Signed out, the page used to show the form; signed in, the redirect failed with a 500.
      for (const signedIn of [false, true]) {
        if (signedIn) await victimSignsIn(page);
        const response = await page.goto(`${base}/login?app=echo&return=/x%0d%0aSet-Cookie:%20a=b`);
        assert.equal(response?.status(), 400, `signed in: ${signedIn}`);
        assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
        assert.match((await page.getByRole('alert').textContent()) ?? '', /control character/);
        assert.equal(page.url(), `${base}/login?app=echo&return=/x%0d%0aSet-Cookie:%20a=b`);
      }
      assert.deepEqual((await context.cookies()).map((c) => c.name).filter((n) => n === 'a'), []);
    } finally {
      await context.close();
    }
  });

  for (const victim of ['signed out', 'signed in to echo'] as const) {
    test(`a handoff link mallory started does not sign a victim (${victim}) in as mallory, and is burned`, { timeout: 30_000 }, async () => {
      // Mallory starts echo's sign-in as a browser would, signs in, and stops before the handoff: the link she sends.
      const mallory = await signInUntilHandoff(daemon!, appUrl('echo', '/private/who'), MALLORY, base);
      assert.equal(new URL(mallory.handoff).pathname, '/.plinth/handoff');
      const { context, page } = await freshContext();
      try {
        if (victim === 'signed in to echo') await victimSignsIn(page);
        const response = await page.goto(mallory.handoff);
        const status = response?.status();
        const type = response?.headers()['content-type'] ?? '';
        const alert = status === 400 ? await page.getByRole('alert').textContent() : null;
        // Before the fix the victim landed on echo as mallory, and a signed-in victim's own session was replaced.
        assert.equal(await whoIsOnEcho(page), victim === 'signed out' ? 'sign-in page' : VICTIM.email);
        assert.equal(status, 400);
        assert.match(type, /^text\/html/);
        assert.match(alert ?? '', /another browser/);
        // Burned: not even the browser that started it can use it now.
        const late = await daemon!.fetch(mallory.handoff, { headers: { cookie: mallory.stateCookie, accept: 'application/json' } });
        assert.equal(late.status, 401);
        assert.equal(((await late.json()) as { error: { code: string } }).error.code, 'auth.invalid_token');
      } finally {
        await context.close();
      }
    });
  }

  test('signing out of the console ends this browser\'s app sessions, and only this browser\'s', { timeout: 45_000 }, async () => {
    const here = await freshContext();
    const elsewhere = await freshContext();
    try {
      await victimSignsIn(here.page);
      await victimSignsIn(elsewhere.page);
      await here.page.goto(`${base}/`);
      await here.page.getByRole('button', { name: 'Sign out' }).click();
      await here.page.waitForURL(`${base}/login`);
      assert.equal(await whoIsOnEcho(here.page), 'sign-in page');
      const appCookie = (await here.context.cookies(appUrl('echo'))).find((c) => c.name === 'plinth_app_session');
      assert.ok(appCookie, 'the browser still holds the app cookie');
      assert.equal(await appSessionLive(appCookie.value), false, 'but it signs no one in');
      assert.equal(await whoIsOnEcho(elsewhere.page), VICTIM.email, 'the other browser stays signed in');
    } finally {
      await here.context.close();
      await elsewhere.context.close();
    }
  });
});
