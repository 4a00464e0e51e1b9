import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { readCookie, sessionCookie } from '../http/cookies.js';
import { HANDOFF_STATE_MS } from './limits.js';
import { hashSecret } from './tokens.js';

const VALUE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Where a browser starts signing in to an app, on the app's own host, to land on `returnPath`:
 * the app host sets the state cookie there and sends it on to `/login`.
 */
export function signInStartPath(returnPath: string): string {
  return `/.plinth/login?return=${encodeURIComponent(returnPath)}`;
}

/** The `state` of `/login` where it enters: the SHA-256 of a state cookie, base64url. */
export const stateSchema = z.string().regex(VALUE_PATTERN, 'must be 43 base64url characters, as the app host sent it');

/**
 * Ties a handoff code to the browser that asked for it, as OAuth's `state` does (RFC 6749
 * §10.12). The app host gives the browser a random cookie before sending it to sign in, and
 * sends the cookie's hash through `/login` into the code; the handoff takes the code only with
 * that cookie. A link to someone else's handoff comes without it, so it signs no one in.
 * Nothing is kept on the server but the hash in the code's row.
 */
export function createHandoffState(opts: { readonly cookieName: string; readonly secure: boolean }) {
  return {
    /**
     * The hash to carry through `/login` and the cookie to set. The browser's one cookie is kept
     * when it has one, so that tabs sent to sign in at once share it and each can finish.
     */
    start(req: IncomingMessage): { state: string; setCookie: string } {
      const held = readCookie(req.headers.cookie, opts.cookieName);
      const value = held && VALUE_PATTERN.test(held) ? held : randomBytes(32).toString('base64url');
      return { state: hashSecret(value), setCookie: sessionCookie(opts.cookieName, value, HANDOFF_STATE_MS, opts.secure) };
    },
    /** Whether the browser sent exactly one state cookie and it hashes to `state`; a second one may be planted. */
    matches(req: IncomingMessage, state: string | null): boolean {
      const held = readCookie(req.headers.cookie, opts.cookieName);
      if (!held || !state) return false;
      const [a, b] = [Buffer.from(hashSecret(held)), Buffer.from(state)];
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
