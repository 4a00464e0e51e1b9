import { holdsPlatformSecret } from '../identity/tokens.js';

/** The platform's own cookies by role; the front door removes them before a request reaches app code. */
export interface PlatformCookieNames {
  /** The console session, on the base host. */
  readonly console: string;
  /** An app session, on one app host. */
  readonly app: string;
  /** The CSRF token of the console's forms, on the base host. */
  readonly csrf: string;
  /** The state of a sign-in an app host started, on that app host: the handoff checks it. */
  readonly handoffState: string;
}

const BASE_NAMES = { console: 'plinth_session', app: 'plinth_app_session', csrf: 'plinth_csrf', handoffState: 'plinth_handoff_state' } as const;
const BASE_NAME_SET = new Set<string>(Object.values(BASE_NAMES));
// Browsers match cookie prefixes without regard to case (RFC 6265bis §4.1.3), so must we.
const PREFIXES = /^(?:__host-|__secure-)+/;

/**
 * With an https base URL every name has the `__Host-` prefix: a browser then takes the cookie
 * only from that very host, `Secure`, `Path=/` and without `Domain`, so no other host can plant
 * or shadow it. Browsers refuse the prefix without `Secure`, which plain http cannot promise
 * every client, so there the names are bare.
 */
export function platformCookieNames(secure: boolean): PlatformCookieNames {
  const prefix = secure ? '__Host-' : '';
  const name = (role: keyof typeof BASE_NAMES) => `${prefix}${BASE_NAMES[role]}`;
  return { console: name('console'), app: name('app'), csrf: name('csrf'), handoffState: name('handoffState') };
}

/** A name the platform uses or could be mistaken for: any case, with or without `__Host-`/`__Secure-`. */
export function isPlatformCookieName(name: string): boolean {
  return BASE_NAME_SET.has(name.trim().toLowerCase().replace(PREFIXES, ''));
}

/** Name and value of one `name=value` pair; a pair without `=` is a nameless cookie, all value. */
function splitPair(pair: string): { name: string; value: string } {
  const eq = pair.indexOf('=');
  return eq < 0 ? { name: '', value: pair.trim() } : { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
}

/**
 * Every value sent under `name`, in the order sent. A browser sends every cookie that matches
 * the request, longer paths first, then older ones first, so one name can come several times.
 */
export function readCookies(header: string | undefined, name: string): string[] {
  if (!header) return [];
  return header.split(';').map(splitPair).filter((p) => p.name === name).map((p) => p.value);
}

/**
 * The value sent under `name`, or undefined when none or several were sent. Neither the first
 * nor the last of several can be trusted: which comes first depends on the path and the age of
 * each cookie, and whoever planted one chooses both.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  const values = readCookies(header, name);
  return values.length === 1 ? values[0] : undefined;
}

/**
 * The Cookie header an app receives: without cookies named like the platform's and without any
 * whose value holds a platform secret; undefined when nothing is left.
 */
export function withoutPlatformCookies(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => {
      if (!p || holdsPlatformSecret(p)) return false;
      const { name, value } = splitPair(p);
      return !isPlatformCookieName(name || value.split('=')[0]!);
    });
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * Why the front door drops a `Set-Cookie` an app answered, or undefined to let it through. An app
 * may set any cookie on its own host, and none that another origin would receive (a `Domain`
 * other than its own host name: the base host's, a sibling app's) nor one named like the
 * platform's. Either would let one app sign a browser in as someone else elsewhere.
 */
export function refusedAppCookie(setCookie: string, appHostname: string): string | undefined {
  const [pair = '', ...attributes] = setCookie.split(';');
  const { name, value } = splitPair(pair);
  // A nameless cookie is sent as its bare value, which a server reads as `name=value`.
  if (isPlatformCookieName(name || value.split('=')[0]!)) return `its name ${JSON.stringify(name || value)} is the platform's`;
  for (const attribute of attributes) {
    const { name: key, value: domain } = splitPair(attribute.includes('=') ? attribute : `${attribute}=`);
    if (key.toLowerCase() !== 'domain') continue;
    // A leading dot is ignored by browsers (RFC 6265 §5.2.3); the last Domain wins there, so every one is checked here.
    const host = domain.replace(/^\./, '').toLowerCase();
    if (host !== appHostname) return `Domain=${domain} reaches beyond ${appHostname}`;
  }
  return undefined;
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
