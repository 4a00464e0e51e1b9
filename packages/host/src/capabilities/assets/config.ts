/**
 * The manifest's `cache` section: per-glob Cache-Control overrides, e.g.
 * `"cache": [{ "glob": "/fonts/*", "cacheControl": "public, max-age=86400" }]`.
 * Parsed by the manifest schema (apps/manifest.ts), so a bad rule refuses the package at install.
 */
import { z } from 'zod';
import { fail, ok, type Result } from '../../support/result.js';
import {
  CACHE_CONTROL_CHARS_MAX,
  CACHE_GLOB_CHARS_MAX,
  CACHE_GLOB_WILDCARDS_MAX,
  CACHE_MAX_AGE_SECONDS_MAX,
  CACHE_RULES_MAX,
} from './limits.js';

/** Response directives from RFC 9111 §5.2.2, RFC 8246 (immutable) and RFC 5861 (stale-*), as flag or `=seconds`. */
const FLAG_DIRECTIVES = new Set([
  'public', 'private', 'no-cache', 'no-store', 'no-transform', 'must-revalidate', 'proxy-revalidate', 'must-understand', 'immutable',
]);
const SECONDS_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);
/** Directives that address shared caches only; meaningless, and misleading, on a private response. */
const SHARED_ONLY_DIRECTIVES = new Set(['public', 's-maxage', 'proxy-revalidate']);

/** The directives of a Cache-Control value, lower-cased and in the order written; or why it is refused. */
export function parseCacheControl(value: string): Result<string[], 'manifest.invalid'> {
  const refuse = (why: string) => fail('manifest.invalid', why);
  const directives: string[] = [];
  const seen = new Set<string>();
  for (const raw of value.split(',')) {
    const directive = raw.trim().toLowerCase();
    const equals = directive.indexOf('=');
    const name = (equals < 0 ? directive : directive.slice(0, equals)).trim();
    const argument = equals < 0 ? undefined : directive.slice(equals + 1).trim();
    if (seen.has(name)) return refuse(`names "${name}" twice`);
    seen.add(name);
    if (FLAG_DIRECTIVES.has(name) && argument === undefined) directives.push(name);
    else if (FLAG_DIRECTIVES.has(name)) return refuse(`gives "${name}" a value; it takes none here`);
    else if (SECONDS_DIRECTIVES.has(name) && argument !== undefined && /^\d{1,10}$/.test(argument)) {
      const seconds = Number(argument);
      if (seconds > CACHE_MAX_AGE_SECONDS_MAX) return refuse(`sets ${name} above ${CACHE_MAX_AGE_SECONDS_MAX} seconds`);
      directives.push(`${name}=${seconds}`);
    } else if (SECONDS_DIRECTIVES.has(name)) return refuse(`needs whole seconds in "${name}=<seconds>"`);
    else return refuse(`has "${directive}", which is not a response directive we know (${[...FLAG_DIRECTIVES, ...SECONDS_DIRECTIVES].join(', ')})`);
  }
  if (seen.has('public') && seen.has('private')) return refuse('says both "public" and "private"');
  return ok(directives);
}

/**
 * Why a glob is refused, or null. A glob is an asset path (`/fonts/inter.woff2`, no
 * percent-encoding) in which `*` stands for any characters within one segment and a `**` segment
 * for any number of segments: `/fonts/*`, `/img/**`, `/**\/*.map`.
 */
export function globProblem(glob: string): string | null {
  if (!glob.startsWith('/')) return 'must start with "/"';
  if (/[\x00-\x1f\x7f\\?]/.test(glob)) return 'must not hold control characters, "\\" or "?"';
  const segments = glob.slice(1).split('/');
  if (segments.some((s) => s === '')) return 'must not have empty segments or end with "/"';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not have "." or ".." segments';
  if (segments.some((s) => s.includes('**') && s !== '**')) return 'may use "**" only as a whole segment, as in "/img/**"';
  const wildcards = segments.reduce((n, s) => n + (s === '**' ? 1 : s.split('*').length - 1), 0);
  if (wildcards > CACHE_GLOB_WILDCARDS_MAX) return `must have at most ${CACHE_GLOB_WILDCARDS_MAX} wildcards`;
  return null;
}

const globSchema = z
  .string()
  .max(CACHE_GLOB_CHARS_MAX, `must be at most ${CACHE_GLOB_CHARS_MAX} characters`)
  .superRefine((glob, ctx) => {
    const problem = globProblem(glob);
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}; a glob looks like "/fonts/*" or "/img/**"` });
  });

const cacheControlSchema = z
  .string()
  .max(CACHE_CONTROL_CHARS_MAX, `must be at most ${CACHE_CONTROL_CHARS_MAX} characters`)
  .superRefine((value, ctx) => {
    const parsed = parseCacheControl(value);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `must be a Cache-Control value such as "public, max-age=86400"; it ${parsed.error.message}` });
  });

export const cacheRuleSchema = z.strictObject({ glob: globSchema, cacheControl: cacheControlSchema });
/** First matching rule wins, so list specific globs before broad ones. */
export const cacheRulesSchema = z.array(cacheRuleSchema).max(CACHE_RULES_MAX, `must list at most ${CACHE_RULES_MAX} rules`);
export type CacheRule = z.output<typeof cacheRuleSchema>;

/** A rule ready for requests: its matcher, and its header value for public and for private paths. */
export interface CompiledCacheRule {
  readonly matches: (assetPath: string) => boolean;
  readonly publicValue: string;
  readonly privateValue: string;
}

/** Rules come from a parsed manifest, so they are valid; a bad one here is a bug. */
export function compileCacheRules(rules: readonly CacheRule[]): CompiledCacheRule[] {
  return rules.map((rule) => {
    const parsed = parseCacheControl(rule.cacheControl);
    if (!parsed.ok) throw new Error(`compileCacheRules given an unparsed rule: ${parsed.error.message}`);
    return { matches: globMatcher(rule.glob), publicValue: parsed.value.join(', '), privateValue: privateVariant(parsed.value) };
  });
}

/**
 * A private path's content must never sit in a shared cache, whatever a rule says: shared-cache
 * directives are dropped and `private` is added unless the rule already forbids storing.
 */
export function privateVariant(directives: readonly string[]): string {
  const kept = directives.filter((d) => !SHARED_ONLY_DIRECTIVES.has(d.split('=')[0] ?? ''));
  if (!kept.includes('private') && !kept.includes('no-store')) kept.unshift('private');
  return kept.join(', ');
}

/** Matches segment by segment; a `**` segment is tried at every split, so the work is segments × segments × length. */
export function globMatcher(glob: string): (assetPath: string) => boolean {
  const pattern = glob.slice(1).split('/');
  return (assetPath) => {
    const path = assetPath.slice(1).split('/');
    let reach = new Array<boolean>(path.length + 1).fill(false);
    reach[0] = true;
    for (const segment of pattern) {
      const next = new Array<boolean>(path.length + 1).fill(false);
      if (segment === '**') {
        let any = false;
        for (let j = 0; j <= path.length; j++) next[j] = any = any || reach[j] === true;
      } else {
        for (let j = 0; j < path.length; j++) if (reach[j] && segmentMatches(segment, path[j] ?? '')) next[j + 1] = true;
      }
      reach = next;
    }
    return reach[path.length] === true;
  };
}

/** `*` matches any run within a segment. Greedy leftmost placement of each literal piece is exact for this grammar. */
export function segmentMatches(pattern: string, text: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return pattern === text;
  const head = pieces[0] ?? '';
  const tail = pieces[pieces.length - 1] ?? '';
  if (text.length < head.length + tail.length || !text.startsWith(head) || !text.endsWith(tail)) return false;
  let at = head.length;
  const stop = text.length - tail.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = text.indexOf(piece, at);
    if (found < 0 || found + piece.length > stop) return false;
    at = found + piece.length;
  }
  return true;
}
