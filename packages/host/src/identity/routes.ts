import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { clearCookie, platformCookieNames, readCookies, sessionCookie } from '../http/cookies.js';
import { errorPage } from '../http/pages.js';
import { readBody, redirect, sendError, sendHtml, sendJson } from '../http/respond.js';
import type { PlinthError } from '../support/result.js';
import type { IdentitySigner } from './identity-signer.js';
import { CONSOLE_SESSION_MS, HANDOFF_CODE_MS, LOGIN_BODY_BYTES_MAX, PASSWORD_CHARS_MAX } from './limits.js';
import { signInPage } from './pages.js';
import { returnPathSchema, returnUrl } from './return-path.js';
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

// An unknown app id is ignored, as before; the bound only keeps junk out of the page.
const appIdSchema = z.string().max(64);
const signInQuerySchema = z.object({ app: appIdSchema.optional(), return: returnPathSchema.optional() });
const signInFormSchema = z.object({
  email: z.string().max(254).default(''),
  password: z.string().max(PASSWORD_CHARS_MAX).default(''),
  app: appIdSchema.optional(),
  return: returnPathSchema.optional(),
});
type SignInTarget = { readonly app?: string | undefined; readonly return?: string | undefined };

function badRequest(error: z.ZodError): PlinthError<'http.bad_request'> {
  return { code: 'http.bad_request', message: error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ') };
}

/** Browsers say they take HTML, on form posts too; API clients and scripts get JSON. */
const acceptsHtml = (req: IncomingMessage) => (req.headers.accept ?? '').includes('text/html');

/** Sign-in, sign-out, the handoff to app origins, and the JWKS, all on the console origin. */
export function createIdentityRoutes(deps: IdentityRouteDeps) {
  const secure = deps.baseUrl.protocol === 'https:';
  const origin = deps.baseUrl.origin;
  const cookies = platformCookieNames(secure);
  // Signing in redirects to the handoff on an app origin, so the form may lead there.
  const signInFormAction = `'self' ${deps.baseUrl.protocol}//*.${deps.baseUrl.host}`;
  const showSignIn = (res: ServerResponse, status: number, target: SignInTarget, error: string | null) => {
    const app = target.app ?? null;
    sendHtml(res, status, signInPage({ app: app && (deps.appName(app) ?? null), returnTo: target.return ?? null, appId: app, error }), signInFormAction);
  };

  /** A request that failed its schema: an error page for a browser, the JSON error for anyone else. */
  function refuse(req: IncomingMessage, res: ServerResponse, error: PlinthError<'http.bad_request'>): void {
    if (!acceptsHtml(req)) return sendError(res, error);
    sendHtml(res, 400, errorPage('That request was not used', error.message));
  }

  /** The console session a browser holds: one live session under the console cookie (see `fromCookie`). */
  function consoleSession(req: IncomingMessage): { user: User; secret: string } | undefined {
    const found = deps.sessions.fromCookie('console', readCookies(req.headers.cookie, cookies.console));
    const user = found && deps.users.get(found.session.userId);
    return user && found ? { user, secret: found.secret } : undefined;
  }
  const consoleUser = (req: IncomingMessage) => consoleSession(req)?.user;

  function appOrigin(appId: string): string {
    return `${deps.baseUrl.protocol}//${appId}.${deps.baseUrl.host}`;
  }

  /** Where to go once signed in: through the handoff when an app asked, else `return` on the console. */
  function next(user: User, target: SignInTarget): string {
    if (!target.app || deps.appName(target.app) === undefined) return returnUrl(target.return, origin);
    const code = deps.sessions.issue('handoff', user.id, HANDOFF_CODE_MS, { appId: target.app, returnTo: target.return ?? '/' });
    return `${appOrigin(target.app)}/.plinth/handoff?code=${encodeURIComponent(code)}`;
  }

  function signIn(res: ServerResponse, user: User, location: string): void {
    const session = deps.sessions.issue('console', user.id, CONSOLE_SESSION_MS);
    redirect(res, location, { 'set-cookie': sessionCookie(cookies.console, session, CONSOLE_SESSION_MS, secure) });
  }

  async function postLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, LOGIN_BODY_BYTES_MAX);
    if (!body) return sendError(res, { code: 'http.body_too_large', message: `a sign-in form is at most ${LOGIN_BODY_BYTES_MAX} bytes` });
    const parsed = signInFormSchema.safeParse(Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    if (!parsed.success) return refuse(req, res, badRequest(parsed.error));
    const form = parsed.data;
    const user = await deps.users.authenticate(form.email, form.password);
    if (!user) return showSignIn(res, 401, form, 'That email and password do not match.');
    signIn(res, user, next(user, form));
  }

  /** The `app` and `return` of a query, or undefined when `res` was answered with a 400. */
  function signInQuery(req: IncomingMessage, res: ServerResponse, url: URL): SignInTarget | undefined {
    const parsed = signInQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (parsed.success) return parsed.data;
    refuse(req, res, badRequest(parsed.error));
    return undefined;
  }

  /** Returns true when the request was one of ours. */
  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /.well-known/jwks.json':
        sendJson(res, 200, deps.signer.jwks, { 'cache-control': 'public, max-age=300' });
        return true;
      case 'GET /login': {
        const target = signInQuery(req, res, url);
        if (!target) return true;
        const user = consoleUser(req);
        if (user) redirect(res, next(user, target));
        else showSignIn(res, 200, target, null);
        return true;
      }
      case 'POST /login':
        await postLogin(req, res);
        return true;
      case 'GET /login/link': {
        const session = deps.sessions.consume('login_link', url.searchParams.get('code') ?? '');
        const user = session && deps.users.get(session.userId);
        if (user) signIn(res, user, `${origin}/`);
        else showSignIn(res, 401, {}, 'That sign-in link is invalid, used or expired.');
        return true;
      }
      case 'POST /logout': {
        const session = consoleSession(req);
        if (session) deps.sessions.revoke(session.secret);
        redirect(res, '/login', { 'set-cookie': clearCookie(cookies.console, secure) });
        return true;
      }
      case 'GET /handoff': {
        const target = signInQuery(req, res, url);
        if (!target) return true;
        const user = consoleUser(req);
        if (!user) redirect(res, `${origin}/login?${url.searchParams}`);
        else redirect(res, next(user, target));
        return true;
      }
      default:
        return false;
    }
  }

  return { handle, consoleUser };
}
export type IdentityRoutes = ReturnType<typeof createIdentityRoutes>;
