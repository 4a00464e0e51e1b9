import { holdsPlatformSecret } from '../identity/tokens.js';

/** The platform's own cookies; the front door removes them before a request reaches app code. */
export const CONSOLE_COOKIE = 'plinth_session';
export const APP_COOKIE = 'plinth_app_session';
const PLATFORM_COOKIES = new Set([CONSOLE_COOKIE, APP_COOKIE]);

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Cookie header without the platform's cookies and without any whose value holds a platform
 * secret, or undefined when nothing is left.
 */
export function withoutPlatformCookies(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !holdsPlatformSecret(p) && !PLATFORM_COOKIES.has(p.slice(0, Math.max(p.indexOf('='), 0)).trim()));
  return kept.length ? kept.join('; ') : undefined;
}

/** Host-only (no Domain attribute), so a console cookie is never sent to an app origin. */
export function sessionCookie(name: string, value: string, maxAgeMs: number, secure: boolean): string {
  const attrs = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.floor(maxAgeMs / 1000)}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

export function clearCookie(name: string, secure: boolean): string {
  return sessionCookie(name, '', 0, secure);
}
