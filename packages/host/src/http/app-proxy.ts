import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isPublicPath } from '../apps/manifest.js';
import { mergeSlashes, type AssetServer } from '../capabilities/assets/index.js';
import { authenticateAppRequest, platformAuthorization } from '../identity/authenticate.js';
import { createHandoffState, signInStartPath } from '../identity/handoff-state.js';
import type { IdentitySigner } from '../identity/identity-signer.js';
import { APP_SESSION_MS, HANDOFF_STATE_MS } from '../identity/limits.js';
import { returnPathSchema, returnUrl } from '../identity/return-path.js';
import type { SessionStore } from '../identity/sessions.js';
import { holdsPlatformSecret } from '../identity/tokens.js';
import type { User, UserStore } from '../identity/users.js';
import type { Deployment, Supervisor } from '../runtime/supervisor.js';
import type { SocketsService } from '../capabilities/sockets/index.js';
import type { PlinthError } from '../support/result.js';
import type { Duplex } from 'node:stream';
import { RETRY_AFTER_SECONDS } from '../runtime/limits.js';
import type { ClientAddress, ClientIpResolver } from './client-ip.js';
import { platformCookieNames, refusedAppCookie, sessionCookie, withoutPlatformCookies } from './cookies.js';
import { errorPage } from './pages.js';
import { redirect, requestUrl, sendError, sendHtml, statusFor, wantsHtml, writeRawError } from './respond.js';

export interface AppProxyDeps {
  readonly supervisor: Supervisor;
  readonly sessions: SessionStore;
  readonly users: UserStore;
  readonly signer: IdentitySigner;
  readonly baseUrl: URL;
  readonly clientIp: ClientIpResolver;
  readonly assets: AssetServer;
  readonly sockets: Pick<SocketsService, 'upgrade'>;
  /** A platform line in the app's log, for what the front door did to its traffic. */
  readonly event: (appId: string, text: string) => void;
}

type Admission =
  | { readonly kind: 'refused'; readonly error: PlinthError }
  | { readonly kind: 'sign_in'; readonly returnPath: string; readonly error: PlinthError }
  /** The same path with its empty segments merged, which is public where the path as sent is not. */
  | { readonly kind: 'moved'; readonly location: string }
  | { readonly kind: 'admitted'; readonly deployment: Deployment; readonly url: URL; readonly target: string; readonly user: User | null; readonly isPublic: boolean };

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the platform owns are never forwarded. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'cookie',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade']);

/**
 * `/.plinth/*` belongs to the platform and `/after-update` is the platform's
 * call into the new version; neither is reachable from outside. Checked on the
 * normalised, lower-cased path, so `%2e`, `//` and case tricks match too.
 */
export function isReservedPath(pathname: string): boolean {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // Malformed escapes: judge the raw path alone.
  }
  return [pathname, decoded].some((p) => {
    const path = p.toLowerCase().replace(/\/{2,}/g, '/');
    return path === '/.plinth' || path.startsWith('/.plinth/') || path === '/after-update' || path === '/after-update/';
  });
}

export function createAppProxy(deps: AppProxyDeps) {
  const secure = deps.baseUrl.protocol === 'https:';
  const cookieNames = platformCookieNames(secure);
  const appCookie = cookieNames.app;
  const handoffState = createHandoffState({ cookieName: cookieNames.handoffState, secure });
  const appOrigin = (appId: string) => `${deps.baseUrl.protocol}//${appId}.${deps.baseUrl.host}`;

  async function forwardHeaders(req: IncomingMessage, appId: string, user: User | null, client: ClientAddress): Promise<IncomingHttpHeaders> {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (DROPPED_REQUEST_HEADERS.has(name) || name.startsWith('plinth-') || value === undefined) continue;
      // A platform secret never reaches app code, in Authorization (taken or refused by admit) or anywhere else.
      if (name === 'authorization' && platformAuthorization(req).kind !== 'none') continue;
      if ((Array.isArray(value) ? value : [value]).some(holdsPlatformSecret)) continue;
      headers[name] = value;
    }
    const cookie = withoutPlatformCookies(req.headers.cookie);
    if (cookie) headers.cookie = cookie;
    // Prior hops are kept only when a trusted proxy vouched for them.
    headers['x-forwarded-for'] = client.viaTrustedProxy ? `${req.headers['x-forwarded-for']}, ${req.socket.remoteAddress}` : client.ip;
    headers['x-forwarded-proto'] = deps.baseUrl.protocol.replace(':', '');
    headers['x-forwarded-host'] = req.headers.host;
    headers['plinth-client-ip'] = client.ip;
    headers['plinth-request-id'] = randomUUID();
    if (user) {
      headers['plinth-user-id'] = user.id;
      headers['plinth-user-name'] = encodeURIComponent(user.name);
      headers['plinth-user-email'] = user.email;
      headers['plinth-user-roles'] = user.isAdmin ? 'admin' : '';
      headers['plinth-identity'] = await deps.signer.sign(user, appId);
    }
    return headers;
  }

  /** A sign-in on the app host that was not used: JSON for API clients; for a browser, a page that says why and offers to start again. */
  function refuseSignIn(req: IncomingMessage, res: ServerResponse, error: PlinthError, page: string, returnPath: string): void {
    if (!wantsHtml(req)) return sendError(res, error);
    sendHtml(res, statusFor(error.code), errorPage('That sign-in was not used', page, signInStartPath(returnPath)));
  }

  function handoff(req: IncomingMessage, res: ServerResponse, appId: string, url: URL): void {
    // Consumed before the other checks: a code refused for any reason is burned.
    const session = deps.sessions.consume('handoff', url.searchParams.get('code') ?? '');
    if (!session || session.appId !== appId) {
      const error = { code: 'auth.invalid_token', message: 'this sign-in link is invalid, used or expired; sign in again' };
      return refuseSignIn(req, res, error, 'That sign-in link is invalid, used or expired, so no one was signed in.', '/');
    }
    // Only the browser the app host sent to sign in holds the state cookie: a link to someone else's handoff fails here.
    if (!handoffState.matches(req, session.stateHash)) {
      const minutes = HANDOFF_STATE_MS / 60_000;
      const error = {
        code: 'auth.state_mismatch',
        message: `this handoff code belongs to the browser that started the sign-in, and this request lacks that browser's ${cookieNames.handoffState} cookie (it lasts ${minutes} min); start again at ${appOrigin(appId)}${signInStartPath(session.returnTo ?? '/')}`,
      };
      const page = `This sign-in link was started in another browser, or more than ${minutes} minutes ago, so no one was signed in. If you were signing in, start again.`;
      deps.event(appId, `front door refused a handoff code: the request lacked the ${cookieNames.handoffState} cookie of the browser that asked for it`);
      return refuseSignIn(req, res, error, page, session.returnTo ?? '/');
    }
    // Tied to the console session the code came from, so signing out of the console ends it.
    const cookie = deps.sessions.issue('app', session.userId, APP_SESSION_MS, { appId, consoleSessionHash: session.consoleSessionHash });
    redirect(res, returnUrl(session.returnTo, appOrigin(appId)), {
      'set-cookie': sessionCookie(appCookie, cookie, APP_SESSION_MS, secure),
    });
  }

  /** Sends a browser to the console to sign in and come back to `returnPath`, with the state cookie the handoff will ask for. */
  function startSignIn(req: IncomingMessage, res: ServerResponse, appId: string, returnPath: string): void {
    const { state, setCookie } = handoffState.start(req);
    const url = new URL('/login', deps.baseUrl);
    url.searchParams.set('app', appId);
    url.searchParams.set('return', returnPath);
    url.searchParams.set('state', state);
    redirect(res, url.href, { 'set-cookie': setCookie });
  }

  /** `GET /.plinth/login?return=`: a sign-in link on the app's own host, and where the console sends a browser that came without a state. */
  function login(req: IncomingMessage, res: ServerResponse, appId: string, url: URL): void {
    const returnPath = returnPathSchema.safeParse(url.searchParams.get('return') ?? '/');
    if (returnPath.success) return startSignIn(req, res, appId, returnPath.data);
    const message = `return: ${returnPath.error.issues.map((i) => i.message).join('; ')}`;
    if (!wantsHtml(req)) return sendError(res, { code: 'http.bad_request', message });
    sendHtml(res, 400, errorPage('That request was not used', message, signInStartPath('/')));
  }

  /**
   * The checks every request to an app passes, HTTP or WebSocket: the app
   * exists, the path is not reserved, the caller may use it.
   */
  function admit(req: IncomingMessage, appId: string): Admission {
    const deployment = deps.supervisor.deployment(appId);
    if (!deployment) return { kind: 'refused', error: { code: 'app.not_found', message: `no app ${appId} is installed here` } };
    const url = requestUrl(req);
    if (isReservedPath(url.pathname)) return { kind: 'refused', error: { code: 'http.not_found', message: `${url.pathname} is not found` } };
    const identity = authenticateAppRequest(req, appId, { sessions: deps.sessions, users: deps.users, appCookie });
    if (identity.kind === 'refused') return { kind: 'refused', error: identity.error };
    const user = identity.kind === 'user' ? identity.user : null;
    const isPublic = isPublicPath(deployment.manifest, url.pathname);
    // `//static/x` is not under a `public` glob, but `/static/x` is: send anonymous GETs there, as
    // the assets layer does for signed-in users, rather than to sign-in. Only ever to a public path.
    const merged = mergeSlashes(url.pathname);
    if (!user && !isPublic && merged !== url.pathname && (req.method === 'GET' || req.method === 'HEAD') && isPublicPath(deployment.manifest, merged)) {
      return { kind: 'moved', location: `${merged}${url.search}` };
    }
    if (!user && !isPublic) {
      return { kind: 'sign_in', returnPath: `${url.pathname}${url.search}`, error: { code: 'auth.required', message: `sign in to use ${url.pathname}; send a bearer token or sign in at ${deps.baseUrl.origin}/login` } };
    }
    // The app gets exactly the path that was checked here.
    return { kind: 'admitted', deployment, url, target: `${url.pathname}${url.search}`, user, isPublic };
  }

  async function handleApp(req: IncomingMessage, res: ServerResponse, appId: string): Promise<void> {
    const url = requestUrl(req);
    // The platform's two routes on an app host; every other /.plinth/ path is refused by admit.
    if (req.method === 'GET' && deps.supervisor.deployment(appId)) {
      if (url.pathname === '/.plinth/handoff') return handoff(req, res, appId, url);
      if (url.pathname === '/.plinth/login') return login(req, res, appId, url);
    }
    const admission = admit(req, appId);
    if (admission.kind === 'refused') return sendError(res, admission.error);
    // Only a browser gets the state cookie: an API client or a WebSocket never reaches the handoff.
    if (admission.kind === 'sign_in') return wantsHtml(req) ? startSignIn(req, res, appId, admission.returnPath) : sendError(res, admission.error);
    if (admission.kind === 'moved') {
      res.writeHead(301, { location: admission.location, 'cache-control': 'no-cache', 'content-length': 0, 'x-content-type-options': 'nosniff' });
      return void res.end();
    }
    const { deployment, target, user, isPublic } = admission;
    // After the access check, and without starting the app: assets follow the app's access rules.
    if (await deps.assets.serve(req, res, deployment, isPublic)) return;
    const client = deps.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    await proxy(req, res, appId, target, await forwardHeaders(req, appId, user, client), deployment.manifest.limits.requestTimeoutMs);
  }

  /** A WebSocket handshake: the same checks as a request, then the app decides in its `open` handler. */
  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, appId: string): Promise<void> {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return writeRawError(socket, { code: 'http.bad_request', message: `only WebSocket upgrades are supported, not ${req.headers.upgrade}` });
    }
    const admission = admit(req, appId);
    if (admission.kind === 'moved') return writeRawError(socket, { code: 'auth.required', message: `sign in to use ${requestUrl(req).pathname}, or connect to ${admission.location}` });
    if (admission.kind !== 'admitted') return writeRawError(socket, admission.error);
    const client = deps.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const headers = await forwardHeaders(req, appId, admission.user, client);
    const url = `${deps.baseUrl.protocol}//${req.headers.host}${admission.target}`;
    const user = admission.user && { id: admission.user.id, name: admission.user.name, email: admission.user.email };
    await deps.sockets.upgrade(req, socket, head, { appId, url, headers, user });
  }

  /** The app's Set-Cookie values the browser may have; each one dropped is logged with the reason. */
  function allowedCookies(appId: string, value: string | string[]): string[] {
    const hostname = `${appId}.${deps.baseUrl.hostname}`;
    return (Array.isArray(value) ? value : [value]).filter((cookie) => {
      const refused = refusedAppCookie(cookie, hostname);
      if (refused) deps.event(appId, `front door dropped a Set-Cookie: ${refused}`);
      return refused === undefined;
    });
  }

  return { handleApp, handleUpgrade };

  async function proxy(req: IncomingMessage, res: ServerResponse, appId: string, target: string, headers: IncomingHttpHeaders, timeoutMs: number): Promise<void> {
    // The client may leave while the request waits for a slot or for the process to start; its
    // 'close' has then passed, so the lease must be given back here or the slot is lost for good.
    let clientGone = false;
    const noteClientGone = () => { clientGone = true; };
    res.once('close', noteClientGone);
    const lease = await deps.supervisor.acquire(appId);
    res.off('close', noteClientGone);
    if (clientGone) {
      if (lease.ok) lease.value.release();
      return;
    }
    if (!lease.ok) {
      const retry: Record<string, string> = lease.error.code === 'app.overloaded' ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {};
      return sendError(res, lease.error, retry);
    }
    res.once('close', lease.value.release);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    // The time limit is undici's: headers within timeoutMs, and no gap in the body longer than it.
    // No AbortController or timer per request: on the hot path they cost more than the proxying (bench/front-door).
    try {
      const upstream = await lease.value.pool.request({
        path: target,
        method: (req.method ?? 'GET') as 'GET',
        headers: headers as Record<string, string>,
        body: hasBody ? req : null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const outHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upstream.headers)) {
        if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
        if (name !== 'set-cookie') {
          outHeaders[name] = value;
          continue;
        }
        const cookies = allowedCookies(appId, value);
        if (cookies.length > 0) outHeaders[name] = cookies;
      }
      // An error body is never a script or a style, so nosniff costs nothing there and stops a
      // browser from reading an app's 404 page (a missing asset, say) as something it is not.
      if (upstream.statusCode >= 400) outHeaders['x-content-type-options'] ??= 'nosniff';
      res.writeHead(upstream.statusCode, outHeaders);
      upstream.body.once('error', () => res.destroy());
      res.once('close', () => { if (!res.writableFinished) upstream.body.destroy(); });
      upstream.body.pipe(res);
    } catch (error) {
      if ((error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') {
        lease.value.timedOut();
        return sendError(res, { code: 'app.timeout', message: `${appId} did not answer within ${timeoutMs} ms` });
      }
      sendError(res, { code: 'app.bad_gateway', message: `${appId} failed to answer: ${(error as Error).message}` });
    }
  }
}
