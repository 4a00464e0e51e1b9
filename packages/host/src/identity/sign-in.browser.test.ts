// Sign-in in a real browser: Debian's chromium, driven by playwright-core (which never downloads one).
// It checks what only a browser can: redirects followed across origins, and which cookies land where.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, type Page, type Request, type Response } from 'playwright-core';
import { launchChromium, settleWithin } from '../testing/browser.js';
import { REPO_ROOT, TEST_APPS, addUser, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { HANDOFF_STATE_MS } from './limits.js';

const WAIT_MS = 10_000;
const EMAIL = 'grace@example.com';
const PASSWORD = 'correct horse battery';
const SCREENSHOT = '/tmp/plinth-signin.png';


// CI installs Debian's chromium (.ci/run); without it this suite fails rather than skips.
describe('sign-in in a real browser', () => {
  let daemon: TestDaemon | undefined;
  let browser: Browser | undefined;

  before(async () => {
    daemon = await startTestDaemon();
    installApp(daemon, join(REPO_ROOT, 'examples/hello'));
    // Its every path but /public/* needs a user, and it echoes who the platform said is calling.
    installApp(daemon, join(TEST_APPS, 'echo'));
    addUser(daemon, EMAIL, PASSWORD, ['--name', 'Grace Hopper']);
    browser = await launchChromium();
  }, { timeout: 60_000 });

  after(async () => {
    try {
      if (browser) await settleWithin(browser.close(), 15_000);
    } finally {
      await daemon?.stop();
    }
  }, { timeout: 45_000 });

  /** A page in its own cookie jar; `errors` collects what the browser logs as errors (CSP violations among them). */
  async function freshPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser!.newContext();
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      // Browsers fetch /favicon.ico on their own; its 404 is not the flow's doing.
      if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) errors.push(message.text().trim());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    return { context, page, errors };
  }

  /** Opens the app's private page and expects to land on the console's sign-in form. */
  async function openSignIn(page: Page): Promise<URL> {
    const d = daemon!;
    await page.goto(d.appUrl('hello', '/me'));
    await page.waitForURL((url) => url.origin === d.baseUrl && url.pathname === '/login');
    const landed = new URL(page.url());
    assert.equal(landed.origin, `http://localhost:${d.port}`);
    assert.equal(landed.searchParams.get('app'), 'hello');
    assert.equal(landed.searchParams.get('return'), '/me');
    return landed;
  }

  test('a wrong password shows the error on the page and sets no session cookie', { timeout: 30_000 }, async () => {
    const { context, page } = await freshPage();
    try {
      await openSignIn(page);
      await page.locator('input[name=email]').fill(EMAIL);
      await page.locator('input[name=password]').fill('wrong password!');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
        page.locator('button[type=submit]').click(),
      ]);
      assert.equal(response.status(), 401);
      await page.waitForLoadState('load');
      const alert = page.getByRole('alert');
      await alert.waitFor({ state: 'visible' });
      assert.equal((await alert.textContent())?.trim(), 'That email and password do not match.');
      assert.equal(new URL(page.url()).pathname, '/login');
      // Only the form's CSRF cookie on the console host, and the app host's sign-in state on its own.
      assert.deepEqual((await context.cookies()).map((c) => `${c.name}@${c.domain}`).sort(), ['plinth_csrf@localhost', 'plinth_handoff_state@hello.localhost']);
      // The form still knows where to go, so a second try lands in the app.
      assert.equal(await page.locator('input[name=app]').inputValue(), 'hello');
      assert.equal(await page.locator('input[name=return]').inputValue(), '/me');
      assert.match(await page.locator('input[name=state]').inputValue(), /^[\w-]{43}$/);
    } finally {
      await context.close();
    }
  });

  test('signing in lands back on the app, with each cookie only on its own host', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const { context, page, errors } = await freshPage();
    try {
      await openSignIn(page);
      const target = page.locator('p strong');
      assert.match((await target.textContent()) ?? '', /^hello$/i, 'the sign-in page names the app');
      assert.equal(await page.title(), 'Sign in · Plinth');
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      await page.locator('input[name=email]').fill(EMAIL);
      await page.locator('input[name=password]').fill(PASSWORD);
      await page.locator('button[type=submit]').click();
      try {
        await page.waitForURL(d.appUrl('hello', '/me'));
      } catch (error) {
        throw new Error(`sign-in did not land on the app; the browser is at ${page.url()}; its errors: ${JSON.stringify(errors)}`, { cause: error });
      }

      const me = JSON.parse((await page.locator('pre').first().textContent()) ?? '') as { user: { email: string; name: string } | null; clientIp: string };
      assert.equal(me.user?.email, EMAIL);
      assert.equal(me.user?.name, 'Grace Hopper');
      assert.equal(me.clientIp, '127.0.0.1');

      // The console session is host-only on localhost; Playwright reports a domain cookie with a leading dot.
      const all = await context.cookies();
      const consoleCookie = all.find((c) => c.name === 'plinth_session');
      assert.ok(consoleCookie, 'the console cookie is set');
      assert.equal(consoleCookie.domain, 'localhost');
      assert.equal(consoleCookie.httpOnly, true);
      assert.equal(consoleCookie.sameSite, 'Lax');
      assert.ok(all.every((c) => !c.domain.startsWith('.')), `no domain cookies: ${JSON.stringify(all.map((c) => c.domain))}`);

      // The app origin holds only its own cookies (its session, and the sign-in state it set before
      // sending the browser to sign in), and the console cookie never reaches it.
      const forApp = await context.cookies(d.appUrl('hello'));
      assert.deepEqual(forApp.map((c) => c.name).sort(), ['plinth_app_session', 'plinth_handoff_state']);
      for (const cookie of forApp) {
        assert.equal(cookie.domain, 'hello.localhost', cookie.name);
        assert.equal(cookie.httpOnly, true, cookie.name);
        assert.equal(cookie.sameSite, 'Lax', cookie.name);
        assert.equal(cookie.path, '/', cookie.name);
      }
      assert.match(forApp.find((c) => c.name === 'plinth_app_session')!.value, /^pla_/);
      // The state cookie is short-lived: it only has to outlast the sign-in form.
      const state = forApp.find((c) => c.name === 'plinth_handoff_state')!;
      assert.ok(state.expires * 1000 <= Date.now() + HANDOFF_STATE_MS, `expires ${new Date(state.expires * 1000).toISOString()}`);
      assert.deepEqual(await context.cookies(d.appUrl('other')), [], 'no cookie leaks to a sibling app host');
      assert.deepEqual((await context.cookies(d.baseUrl)).map((c) => c.name).sort(), ['plinth_csrf', 'plinth_session']);

      // Both cookies are HttpOnly, so scripts on either origin cannot read them.
      const appScriptCookies = (await page.evaluate('document.cookie')) as string;
      assert.doesNotMatch(appScriptCookies, /plinth_/);

      // The app session holds: a reload stays on the app without a trip to the console.
      const again = await page.goto(d.appUrl('hello', '/me'));
      assert.equal(again?.status(), 200);
      assert.equal(page.url(), d.appUrl('hello', '/me'));
      assert.equal(again?.request().redirectedFrom(), null);

      await page.goto(`${d.baseUrl}/login`);
      const consoleScriptCookies = (await page.evaluate('document.cookie')) as string;
      assert.doesNotMatch(consoleScriptCookies, /plinth_/);
      assert.deepEqual(errors, [], 'the browser logged no errors');
    } finally {
      await context.close();
    }
  });

  /** Fills the console's sign-in form on `page` and submits it. */
  async function submitSignIn(page: Page): Promise<void> {
    await page.locator('input[name=email]').fill(EMAIL);
    await page.locator('input[name=password]').fill(PASSWORD);
    await page.locator('button[type=submit]').click();
  }

  /** Who echo says is calling at `path`, opened in `page`; 'sign-in page' when the browser was sent to sign in. */
  async function whoIsOnEcho(page: Page, path = '/private/who'): Promise<string> {
    const response = await page.goto(daemon!.appUrl('echo', path));
    if (new URL(page.url()).pathname === '/login') return 'sign-in page';
    return ((await response!.json()) as { headers: Record<string, string> }).headers['plinth-user-email'] ?? 'anonymous';
  }

  /** The hosts and paths a navigation went through, redirects included. */
  function hops(response: Response): string[] {
    const seen: string[] = [];
    for (let request: Request | null = response.request(); request; request = request.redirectedFrom()) {
      const url = new URL(request.url());
      seen.unshift(`${url.hostname} ${url.pathname}`);
    }
    return seen;
  }

  test('a user signed in to the console who opens an app from its list lands in it as themselves', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const { context, page, errors } = await freshPage();
    try {
      await page.goto(`${d.baseUrl}/login`);
      await submitSignIn(page);
      await page.waitForURL(`${d.baseUrl}/`);
      const [landed] = await Promise.all([
        // The last hop: the first request for echo's / is the one sent to sign in.
        page.waitForResponse((r) => r.url() === d.appUrl('echo', '/') && r.request().redirectedFrom() !== null),
        page.getByRole('link', { name: 'Echo' }).click(),
      ]);
      assert.equal(landed.status(), 200);
      // Sent to sign in by the app, straight on by the console, and handed to the app.
      assert.deepEqual(hops(landed), ['echo.localhost /', 'localhost /login', 'echo.localhost /.plinth/handoff', 'echo.localhost /']);
      assert.equal(((await landed.json()) as { headers: Record<string, string> }).headers['plinth-user-email'], EMAIL);
      assert.equal(await whoIsOnEcho(page, '/'), EMAIL, 'the app session holds');
      assert.deepEqual(errors, [], 'the browser logged no errors');
    } finally {
      await context.close();
    }
  });

  test('a link to /login?app= (as an app may have on a public page) signs in to that app, signed out or in', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const { context, page } = await freshPage();
    try {
      await page.goto(`${d.baseUrl}/login?app=echo&return=${encodeURIComponent('/private/x?from=link')}`);
      await submitSignIn(page);
      await page.waitForURL(d.appUrl('echo', '/private/x?from=link'));
      assert.equal(await whoIsOnEcho(page), EMAIL);
      // Signed in to the console already, a link to another app goes straight through.
      const response = await page.goto(`${d.baseUrl}/login?app=hello&return=/me`);
      assert.equal(page.url(), d.appUrl('hello', '/me'));
      assert.equal(((await response!.json()) as { user: { email: string } | null }).user?.email, EMAIL);
    } finally {
      await context.close();
    }
  });

  test('two tabs both sent to sign in before the user signs in each land in the app', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const { context, page: first } = await freshPage();
    try {
      const second = await context.newPage();
      for (const [tab, path] of [[first, '/private/one'], [second, '/private/two']] as const) {
        await tab.goto(d.appUrl('echo', path));
        await tab.waitForURL((url) => url.origin === d.baseUrl && url.pathname === '/login');
      }
      // The user signs in in the first tab, then, the second still showing the form, in that one too.
      await submitSignIn(first);
      await first.waitForURL(d.appUrl('echo', '/private/one'));
      await submitSignIn(second);
      await second.waitForURL(d.appUrl('echo', '/private/two'));
      assert.equal(await whoIsOnEcho(first), EMAIL);
      assert.equal(await whoIsOnEcho(second), EMAIL);
    } finally {
      await context.close();
    }
  });
});
