import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readCookie, sessionCookie } from '../http/cookies.js';
import type { PlinthError } from '../support/result.js';
import { CSRF_COOKIE_MS } from './limits.js';

export type CsrfErrorCode = 'auth.csrf_rejected';

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
// `none` is a navigation the user started (the address bar); no other site can cause one.
const ALLOWED_FETCH_SITES = new Set(['same-origin', 'none']);

export interface CsrfDeps {
  /** The console's origin, `https://apps.example.com`. */
  readonly origin: string;
  readonly cookieName: string;
  readonly secure: boolean;
}

/**
 * Console forms are checked twice. Browsers say where a POST comes from (`Origin`,
 * `Sec-Fetch-Site`): anything but the console itself is refused, app hosts included, since
 * they are the same site. For clients that send neither, the form must carry the token its
 * page was given, equal to the CSRF cookie (double submit): another site can neither read
 * the cookie nor the page.
 */
export function createCsrf(deps: CsrfDeps) {
  const refused = (message: string): PlinthError<CsrfErrorCode> => ({ code: 'auth.csrf_rejected', message });
  return {
    /** The token for a form on a page, and the cookie to set when the browser holds no usable one. */
    forPage(req: IncomingMessage): { token: string; setCookie?: string } {
      const held = readCookie(req.headers.cookie, deps.cookieName);
      if (held && TOKEN_PATTERN.test(held)) return { token: held };
      const token = randomBytes(32).toString('base64url');
      return { token, setCookie: sessionCookie(deps.cookieName, token, CSRF_COOKIE_MS, deps.secure) };
    },
    /** Checked before the body is read. */
    checkSource(req: IncomingMessage): PlinthError<CsrfErrorCode> | undefined {
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && !ALLOWED_FETCH_SITES.has(site)) return refused(`this form was posted from another site or origin (Sec-Fetch-Site: ${site}); use the form at ${deps.origin}`);
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== deps.origin) return refused(`this form was posted from another site or origin (${origin}); use the form at ${deps.origin}`);
      return undefined;
    },
    checkToken(req: IncomingMessage, token: string | undefined): PlinthError<CsrfErrorCode> | undefined {
      const held = readCookie(req.headers.cookie, deps.cookieName);
      const matches = held !== undefined && token !== undefined && held.length === token.length && timingSafeEqual(Buffer.from(held), Buffer.from(token));
      return matches ? undefined : refused(`the form's CSRF token does not match the ${deps.cookieName} cookie; load the form at ${deps.origin} again`);
    },
  };
}
export type Csrf = ReturnType<typeof createCsrf>;
