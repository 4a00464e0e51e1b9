import type { IncomingMessage } from 'node:http';
import { APP_COOKIE, readCookie } from '../http/cookies.js';
import type { PlinthError } from '../support/result.js';
import { SESSION_PREFIX, type SessionStore } from './sessions.js';
import type { User, UserStore } from './users.js';

export type RequestIdentity =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly user: User; readonly via: 'cookie' | 'bearer' }
  | { readonly kind: 'refused'; readonly error: PlinthError<'auth.invalid_token' | 'auth.wrong_app'> };

/** A platform bearer token in `Authorization`, or undefined when the header is the app's own business. */
export function platformBearer(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1]?.startsWith(SESSION_PREFIX.bearer) ? match[1] : undefined;
}

/** Who is calling an app origin: a bearer token scoped to this app, the app's session cookie, or nobody. */
export function authenticateAppRequest(req: IncomingMessage, appId: string, sessions: SessionStore, users: UserStore): RequestIdentity {
  const bearer = platformBearer(req);
  if (bearer) {
    const session = sessions.find('bearer', bearer);
    const user = session && users.get(session.userId);
    if (!session || !user) return { kind: 'refused', error: { code: 'auth.invalid_token', message: 'the bearer token is unknown, revoked or expired' } };
    if (session.appId !== appId) {
      return { kind: 'refused', error: { code: 'auth.wrong_app', message: `this token is scoped to app ${session.appId}, not ${appId}` } };
    }
    return { kind: 'user', user, via: 'bearer' };
  }
  const cookie = readCookie(req.headers.cookie, APP_COOKIE);
  const session = cookie ? sessions.find('app', cookie) : undefined;
  const user = session && session.appId === appId ? users.get(session.userId) : undefined;
  return user ? { kind: 'user', user, via: 'cookie' } : { kind: 'anonymous' };
}
