import type { IncomingMessage } from 'node:http';
import { readCookies } from '../http/cookies.js';
import type { PlinthError } from '../support/result.js';
import type { SessionStore } from './sessions.js';
import { mentionsPlatformSecret } from './tokens.js';
import type { User, UserStore } from './users.js';

export type RequestIdentity =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly user: User; readonly via: 'cookie' | 'bearer' }
  | { readonly kind: 'refused'; readonly error: PlinthError<'auth.invalid_token' | 'auth.wrong_app'> };

export type PlatformAuthorization =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'malformed' };

/**
 * What `Authorization` holds for the platform. Exactly `Bearer plt_…` (`Bearer` in any case,
 * spaces or tabs around) is a platform bearer token. Anything else that holds a platform secret
 * (a second token, trailing text, another scheme, the admin token) is malformed: it is refused,
 * never read as the app's own header. Anything without one is the app's business.
 */
export function platformAuthorization(req: IncomingMessage): PlatformAuthorization {
  const header = req.headers.authorization ?? '';
  if (!mentionsPlatformSecret(header)) return { kind: 'none' };
  const match = /^[ \t]*bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1]?.startsWith('plt_') ? { kind: 'bearer', token: match[1] } : { kind: 'malformed' };
}

export interface AppAuthDeps {
  readonly sessions: SessionStore;
  readonly users: UserStore;
  /** The app session cookie's name (`platformCookieNames`). */
  readonly appCookie: string;
}

/** Who is calling an app origin: a bearer token scoped to this app, the app's session cookie, or nobody. */
export function authenticateAppRequest(req: IncomingMessage, appId: string, deps: AppAuthDeps): RequestIdentity {
  const authorization = platformAuthorization(req);
  if (authorization.kind === 'malformed') {
    return { kind: 'refused', error: { code: 'auth.invalid_token', message: 'the Authorization header holds a platform token but is not `Bearer plt_…` with one token' } };
  }
  if (authorization.kind === 'bearer') {
    const session = deps.sessions.find('bearer', authorization.token);
    const user = session && deps.users.get(session.userId);
    if (!session || !user) return { kind: 'refused', error: { code: 'auth.invalid_token', message: 'the bearer token is unknown, revoked or expired' } };
    if (session.appId !== appId) {
      return { kind: 'refused', error: { code: 'auth.wrong_app', message: `this token is scoped to app ${session.appId}, not ${appId}` } };
    }
    return { kind: 'user', user, via: 'bearer' };
  }
  // An app session for another app is ignored, not counted: only this app's sessions compete.
  const found = deps.sessions.fromCookie('app', readCookies(req.headers.cookie, deps.appCookie), (s) => s.appId === appId);
  const user = found && deps.users.get(found.session.userId);
  return user ? { kind: 'user', user, via: 'cookie' } : { kind: 'anonymous' };
}
