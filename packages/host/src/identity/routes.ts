import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeReturnPath } from '../http/app-proxy.js';
import { CONSOLE_COOKIE, clearCookie, readCookie, sessionCookie } from '../http/cookies.js';
import { readBody, redirect, sendError, sendHtml, sendJson } from '../http/respond.js';
import type { IdentitySigner } from './identity-signer.js';
import { CONSOLE_SESSION_MS, HANDOFF_CODE_MS, LOGIN_BODY_BYTES_MAX } from './limits.js';
import { signInPage } from './pages.js';
import type { SessionStore } from './sessions.js';
import type { User, UserStore } from './users.js';

export interface IdentityRouteDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly signer: IdentitySigner;
  readonly baseUrl: URL;
  /** The app's display name, or undefined when no such app is installed. */
  readonly appName: (appId: string) => string | undefined;
}

/** Sign-in, sign-out, the handoff to app origins, and the JWKS, all on the console origin. */
export function createIdentityRoutes(deps: IdentityRouteDeps) {
  const secure = deps.baseUrl.protocol === 'https:';
  // Signing in redirects to the handoff on an app origin, so the form may lead there.
  const signInFormAction = `'self' ${deps.baseUrl.protocol}//*.${deps.baseUrl.host}`;
  const showSignIn = (res: ServerResponse, status: number, app: string | null, returnTo: string | null, error: string | null) =>
    sendHtml(res, status, signInPage({ app: app && (deps.appName(app) ?? null), returnTo, appId: app, error }), signInFormAction);

  function consoleUser(req: IncomingMessage): User | undefined {
    const cookie = readCookie(req.headers.cookie, CONSOLE_COOKIE);
    const session = cookie ? deps.sessions.find('console', cookie) : undefined;
    return session ? deps.users.get(session.userId) : undefined;
  }

  function appOrigin(appId: string): string {
    return `${deps.baseUrl.protocol}//${appId}.${deps.baseUrl.host}`;
  }

  /** Where to go once signed in: through the handoff when an app asked, else the console. */
  function next(user: User, app: string | null, returnTo: string | null): string {
    if (!app || deps.appName(app) === undefined) return safeReturnPath(returnTo);
    const code = deps.sessions.issue('handoff', user.id, HANDOFF_CODE_MS, { appId: app, returnTo: safeReturnPath(returnTo) });
    return `${appOrigin(app)}/.plinth/handoff?code=${encodeURIComponent(code)}`;
  }

  function signIn(res: ServerResponse, user: User, location: string): void {
    const session = deps.sessions.issue('console', user.id, CONSOLE_SESSION_MS);
    redirect(res, location, { 'set-cookie': sessionCookie(CONSOLE_COOKIE, session, CONSOLE_SESSION_MS, secure) });
  }

  async function postLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, LOGIN_BODY_BYTES_MAX);
    if (!body) return sendError(res, { code: 'http.body_too_large', message: `a sign-in form is at most ${LOGIN_BODY_BYTES_MAX} bytes` });
    const form = new URLSearchParams(body.toString('utf8'));
    const app = form.get('app');
    const returnTo = form.get('return');
    const user = await deps.users.authenticate(form.get('email') ?? '', form.get('password') ?? '');
    if (!user) return showSignIn(res, 401, app, returnTo, 'That email and password do not match.');
    signIn(res, user, next(user, app, returnTo));
  }

  /** Returns true when the request was one of ours. */
  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = `${req.method} ${url.pathname}`;
    const app = url.searchParams.get('app');
    const returnTo = url.searchParams.get('return');
    switch (route) {
      case 'GET /.well-known/jwks.json':
        sendJson(res, 200, deps.signer.jwks, { 'cache-control': 'public, max-age=300' });
        return true;
      case 'GET /login': {
        const user = consoleUser(req);
        if (user) redirect(res, next(user, app, returnTo));
        else showSignIn(res, 200, app, returnTo, null);
        return true;
      }
      case 'POST /login':
        await postLogin(req, res);
        return true;
      case 'GET /login/link': {
        const session = deps.sessions.consume('login_link', url.searchParams.get('code') ?? '');
        const user = session && deps.users.get(session.userId);
        if (user) signIn(res, user, '/');
        else showSignIn(res, 401, null, null, 'That sign-in link is invalid, used or expired.');
        return true;
      }
      case 'POST /logout': {
        const cookie = readCookie(req.headers.cookie, CONSOLE_COOKIE);
        if (cookie) deps.sessions.revoke(cookie);
        redirect(res, '/login', { 'set-cookie': clearCookie(CONSOLE_COOKIE, secure) });
        return true;
      }
      case 'GET /handoff': {
        const user = consoleUser(req);
        if (!user) redirect(res, `/login?${url.searchParams}`);
        else redirect(res, next(user, app, returnTo));
        return true;
      }
      default:
        return false;
    }
  }

  return { handle, consoleUser };
}
export type IdentityRoutes = ReturnType<typeof createIdentityRoutes>;
