import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ClientIpResolver } from '../http/client-ip.js';
import { clearCookie, platformCookieNames, readCookies, sessionCookie } from '../http/cookies.js';
import { errorPage } from '../http/pages.js';
import { readBody, redirect, sendError, sendHtml, sendJson, statusFor } from '../http/respond.js';
import type { PlinthError } from '../support/result.js';
import { createCsrf } from './csrf.js';
import { signInStartPath, stateSchema } from './handoff-state.js';
import type { IdentitySigner } from './identity-signer.js';
import { CONSOLE_SESSION_MS, HANDOFF_CODE_MS, LOGIN_BODY_BYTES_MAX, PASSWORD_CHARS_MAX } from './limits.js';
import { csrfField, signInPage } from './pages.js';
import { returnPathSchema, returnUrl } from './return-path.js';
import type { SessionStore } from './sessions.js';
import { createSignInLimiter } from './sign-in-limiter.js';
import { hashSecret } from './tokens.js';
import type { User, UserStore } from './users.js';

export interface IdentityRouteDeps {
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly signer: IdentitySigner;
  readonly baseUrl: URL;
  /** The app's display name, or undefined when no such app is installed. */
  readonly appName: (appId: string) => string | undefined;
  readonly clientIp: ClientIpResolver;
  readonly now: () => number;
}

// An unknown app id is ignored, as before; the bound only keeps junk out of the page.
const appIdSchema = z.string().max(64);
const signInQuerySchema = z.object({ app: appIdSchema.optional(), return: returnPathSchema.optional(), state: stateSchema.optional() });
const signInFormSchema = z.object({
  email: z.string().max(254).default(''),
  password: z.string().max(PASSWORD_CHARS_MAX).default(''),
  app: appIdSchema.optional(),
  return: returnPathSchema.optional(),
  state: stateSchema.optional(),
  csrf: z.string().max(64).optional(),
});
const signOutFormSchema = z.object({ csrf: z.string().max(64).optional() });
/** Where a sign-in goes on to; `state` is the app host's sign-in state (`handoff-state.ts`). */
type SignInTarget = { readonly app?: string | undefined; readonly return?: string | undefined; readonly state?: string | undefined };
interface RefuseOptions {
  /** Show the sign-in form again, for this target, instead of an error page. */
  readonly signIn?: SignInTarget;
  readonly headers?: Record<string, string>;
  /** What the page says, instead of the code's usual sentence. */
  readonly page?: string;
}

type SignInErrorCode = 'http.bad_request' | 'http.body_too_large' | 'auth.csrf_rejected' | 'auth.too_many_attempts';

/** What a person reads on the page for each refusal; API clients get the error's own message. */
const PAGE_MESSAGES: Record<Exclude<SignInErrorCode, 'http.bad_request'>, string> = {
  'http.body_too_large': 'That form was too large to be one of ours.',
  'auth.csrf_rejected': 'That form came from another site, or has expired, so it was not used.',
  'auth.too_many_attempts': 'Too many failed sign-ins. Wait a minute, then try again.',
};

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
  const csrf = createCsrf({ origin, cookieName: cookies.csrf, secure });
  const limiter = createSignInLimiter(deps.now);
  // Signing in redirects to the handoff on an app origin, so the form may lead there.
  const signInFormAction = `'self' ${deps.baseUrl.protocol}//*.${deps.baseUrl.host}`;

  /** The page's CSRF token as a form field; sets its cookie on `res` when the browser has none. */
  function formCsrfField(req: IncomingMessage, res: ServerResponse): string {
    const { token, setCookie } = csrf.forPage(req);
    if (setCookie) res.appendHeader('set-cookie', setCookie);
    return csrfField(token);
  }

  function showSignIn(req: IncomingMessage, res: ServerResponse, status: number, target: SignInTarget, error: string | null): void {
    const app = target.app ?? null;
    const html = signInPage({ app: app && (deps.appName(app) ?? null), appId: app, returnTo: target.return ?? null, state: target.state ?? null, error, csrfField: formCsrfField(req, res) });
    sendHtml(res, status, html, signInFormAction);
  }

  /**
   * A refused request: the JSON error for API clients; for a browser, the sign-in form again with
   * the reason when it was a sign-in, else an error page.
   */
  function refuse(req: IncomingMessage, res: ServerResponse, error: PlinthError<SignInErrorCode>, opts: RefuseOptions = {}): void {
    const headers = opts.headers ?? {};
    if (!acceptsHtml(req)) return sendError(res, error, headers);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const text = opts.page ?? (error.code === 'http.bad_request' ? error.message : PAGE_MESSAGES[error.code]);
    if (opts.signIn) return showSignIn(req, res, statusFor(error.code), opts.signIn, text);
    sendHtml(res, statusFor(error.code), errorPage('That request was not used', text));
  }

  /** The console session a browser holds: one live session under the console cookie (see `fromCookie`). */
  function consoleSession(req: IncomingMessage): { user: User; secret: string } | undefined {
    const found = deps.sessions.fromCookie('console', readCookies(req.headers.cookie, cookies.console));
    const user = found && deps.users.get(found.session.userId);
    return user && found ? { user, secret: found.secret } : undefined;
  }

  /**
   * Where to go once signed in: through the handoff when an app asked, else `return` on the
   * console. The handoff code remembers the console session, and so does the app session it
   * becomes, so that signing out ends both. It also remembers the app host's sign-in state, so
   * that only the browser the app host sent here can use it; without a state (a link to
   * `/login?app=` that did not come from the app host) the browser first goes to the app host
   * for one, and comes back.
   */
  function next(user: User, consoleSecret: string, target: SignInTarget): string {
    if (!target.app || deps.appName(target.app) === undefined) return returnUrl(target.return, origin);
    const appOrigin = `${deps.baseUrl.protocol}//${target.app}.${deps.baseUrl.host}`;
    if (!target.state) return `${appOrigin}${signInStartPath(target.return ?? '/')}`;
    const code = deps.sessions.issue('handoff', user.id, HANDOFF_CODE_MS, {
      appId: target.app, returnTo: target.return ?? '/', consoleSessionHash: hashSecret(consoleSecret), stateHash: target.state,
    });
    return `${appOrigin}/.plinth/handoff?code=${encodeURIComponent(code)}`;
  }

  function signIn(res: ServerResponse, user: User, target: SignInTarget): void {
    const session = deps.sessions.issue('console', user.id, CONSOLE_SESSION_MS);
    redirect(res, next(user, session, target), { 'set-cookie': sessionCookie(cookies.console, session, CONSOLE_SESSION_MS, secure) });
  }

  /** The form's fields once its origin, size, shape and CSRF token passed; undefined when `res` was answered. */
  async function readForm<T extends SignInTarget & { readonly csrf?: string | undefined }>(req: IncomingMessage, res: ServerResponse, schema: z.ZodType<T>, form: 'sign-in' | 'sign-out'): Promise<T | undefined> {
    const again = form === 'sign-in' ? {} : undefined;
    const source = csrf.checkSource(req);
    if (source) return void refuse(req, res, source, { signIn: again });
    const body = await readBody(req, LOGIN_BODY_BYTES_MAX);
    if (!body) return void refuse(req, res, { code: 'http.body_too_large', message: `a console form is at most ${LOGIN_BODY_BYTES_MAX} bytes` }, { signIn: again });
    const parsed = schema.safeParse(Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    if (!parsed.success) return void refuse(req, res, badRequest(parsed.error));
    const token = csrf.checkToken(req, parsed.data.csrf);
    if (token) return void refuse(req, res, token, { signIn: again && parsed.data });
    return parsed.data;
  }

  async function postSignIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req, res, signInFormSchema, 'sign-in');
    if (!form) return;
    const client = deps.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']).ip;
    // Taken before scrypt runs, so a refused attempt costs no hashing and parallel ones cannot pass the burst.
    const wait = limiter.attempt(form.email, client);
    if (wait) {
      const seconds = Math.ceil(wait.waitMs / 1000);
      const who = wait.scope === 'account' ? `this account (${form.email})` : `this client address (${client})`;
      return refuse(req, res, { code: 'auth.too_many_attempts', message: `too many failed sign-ins for ${who}; try again in ${seconds} s` }, {
        signIn: form, headers: { 'retry-after': String(seconds) }, page: `Too many failed sign-ins. Try again in ${seconds} seconds.`,
      });
    }
    const user = await deps.users.authenticate(form.email, form.password);
    if (!user) return showSignIn(req, res, 401, form, 'That email and password do not match.');
    limiter.succeeded(form.email, client);
    signIn(res, user, form);
  }

  async function postSignOut(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!(await readForm(req, res, signOutFormSchema, 'sign-out'))) return;
    const session = consoleSession(req);
    // Revoking the console session takes the app sessions this browser was handed with it.
    if (session) deps.sessions.revoke(session.secret);
    redirect(res, `${origin}/login`, { 'set-cookie': clearCookie(cookies.console, secure) });
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
        const session = consoleSession(req);
        if (session) redirect(res, next(session.user, session.secret, target));
        else showSignIn(req, res, 200, target, null);
        return true;
      }
      case 'POST /login':
        await postSignIn(req, res);
        return true;
      case 'GET /login/link': {
        const session = deps.sessions.consume('login_link', url.searchParams.get('code') ?? '');
        const user = session && deps.users.get(session.userId);
        if (user) signIn(res, user, {});
        else showSignIn(req, res, 401, {}, 'That sign-in link is invalid, used or expired.');
        return true;
      }
      case 'POST /logout':
        await postSignOut(req, res);
        return true;
      case 'GET /handoff': {
        const target = signInQuery(req, res, url);
        if (!target) return true;
        const session = consoleSession(req);
        if (!session) redirect(res, `${origin}/login?${url.searchParams}`);
        else redirect(res, next(session.user, session.secret, target));
        return true;
      }
      default:
        return false;
    }
  }

  return { handle, consoleUser: (req: IncomingMessage) => consoleSession(req)?.user, formCsrfField };
}
export type IdentityRoutes = ReturnType<typeof createIdentityRoutes>;
