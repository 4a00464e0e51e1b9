/**
 * plinth.json: the manifest every package carries (CONTRACT §3). It is untrusted input, so it is
 * parsed here once, strictly, and every problem is reported with its JSON path; inner code trusts
 * the `Manifest` type.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { cacheRulesSchema } from '../capabilities/assets/index.js';
import { fail, ok, type PlinthError, type Result } from '../support/result.js';
import {
  APP_CONCURRENCY_DEFAULT,
  APP_CONCURRENCY_MAX,
  APP_CONCURRENCY_MIN,
  APP_MEMORY_MB_DEFAULT,
  APP_MEMORY_MB_MAX,
  APP_MEMORY_MB_MIN,
  APP_NAME_CHARS_MAX,
  APP_REQUEST_TIMEOUT_MS_DEFAULT,
  APP_REQUEST_TIMEOUT_MS_MAX,
  APP_REQUEST_TIMEOUT_MS_MIN,
  APP_SOCKETS_DEFAULT,
  APP_SOCKETS_MAX,
  APP_SOCKETS_MIN,
  HOST_PATTERN_CHARS_MAX,
  MANIFEST_BYTES_MAX,
  OUTBOUND_PATTERNS_MAX,
  PACKAGE_PATH_CHARS_MAX,
  PACKAGE_PATH_SEGMENT_BYTES_MAX,
  PRICE_FRACTION_DIGITS_MAX,
  PRICE_INTEGER_DIGITS_MAX,
  PRODUCT_TITLE_CHARS_MAX,
  PRODUCTS_MAX,
  PUBLIC_PATTERNS_MAX,
  URL_PATH_CHARS_MAX,
  VENDOR_KEYS_MAX,
  VENDOR_URL_CHARS_MAX,
  VERSION_CHARS_MAX,
} from './limits.js';

export type ManifestErrorCode = 'manifest.invalid';

/** The app id is also a DNS label (`<id>.<base host>`), hence lowercase and short. */
export const APP_ID_PATTERN = /^[a-z][a-z0-9-]{1,30}$/;
/** Host labels the platform itself answers on (CONTRACT §1: the S3 endpoint is `s3.<base>`). */
export const RESERVED_APP_IDS: ReadonlySet<string> = new Set(['s3', 'www', 'console', 'admin', 'api', 'login']);
/** The regex published at semver.org (§ "Is there a suggested regular expression"), unmodified. */
const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** Path segment characters allowed in a URL path pattern: RFC 3986 pchar, minus `*` which is our wildcard. */
const URL_SEGMENT = "[A-Za-z0-9._~!$&'()+,;=:@%-]+";
/** `/`, `/*`, `/a/b`, `/a/b/` or `/a/b/*`. */
const PUBLIC_PATTERN = new RegExp(`^/(?:${URL_SEGMENT}/)*(?:${URL_SEGMENT}|\\*)?$`);
const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** `host`, `*.domain`, each with an optional `:port` and an optional scheme. */
const HOST_PATTERN = new RegExp(`^(?:https?://)?(?:\\*\\.)?(?:${DNS_LABEL}\\.)*${DNS_LABEL}(?::(\\d{1,5}))?$`);
const PRODUCT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const PRICE_PATTERN = new RegExp(
  `^(?:0|[1-9]\\d{0,${PRICE_INTEGER_DIGITS_MAX - 1}})(?:\\.\\d{1,${PRICE_FRACTION_DIGITS_MAX}})?$`,
);
const CURRENCY_PATTERN = /^[A-Z]{3}$/;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** 32 bytes in unpadded base64url is 43 characters; the last one carries 2 zero bits, so it is canonical. */
const ED25519_PUBLIC_KEY_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * Why `p` is not a safe relative path (POSIX, inside a folder), or null when it is. Shared by the
 * manifest's path fields and the package reader so both refuse the same things.
 */
export function relativePathProblem(p: string): string | null {
  if (p.length === 0) return 'is empty';
  if (p.length > PACKAGE_PATH_CHARS_MAX) return `is longer than ${PACKAGE_PATH_CHARS_MAX} characters`;
  if (p.includes('\0')) return 'contains a NUL character';
  // Newlines would also break the one-path-per-line content digest.
  if (/[\x00-\x1f\x7f]/.test(p)) return 'contains a control character';
  if (p.includes('\\')) return 'contains a backslash';
  if (p.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(p)) return 'starts with a drive letter';
  for (const segment of p.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (Buffer.byteLength(segment) > PACKAGE_PATH_SEGMENT_BYTES_MAX) {
      return `has a segment longer than ${PACKAGE_PATH_SEGMENT_BYTES_MAX} bytes`;
    }
  }
  return null;
}

export function isSemver(version: string): boolean {
  return version.length <= VERSION_CHARS_MAX && SEMVER_PATTERN.test(version);
}

/** Semver precedence (semver.org §11): -1, 0 or 1. Build metadata is ignored. Both must be valid. */
export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  const left = SEMVER_PATTERN.exec(a);
  const right = SEMVER_PATTERN.exec(b);
  assert.ok(left && right, `compareSemver needs valid versions, got ${a} and ${b}`);
  for (const i of [1, 2, 3]) {
    const order = compareNumeric(left[i] ?? '0', right[i] ?? '0');
    if (order !== 0) return order;
  }
  return comparePrerelease(left[4], right[4]);
}

/** Digits without leading zeros (the regex ensures it), of any length, so no Number overflow. */
function compareNumeric(a: string, b: string): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

function comparePrerelease(a: string | undefined, b: string | undefined): -1 | 0 | 1 {
  // A release sorts after any of its prereleases: 1.0.0-rc.1 < 1.0.0.
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i] ?? '';
    const y = right[i] ?? '';
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    let order: -1 | 0 | 1;
    if (xNumeric && yNumeric) order = compareNumeric(x, y);
    else if (xNumeric !== yNumeric) order = xNumeric ? -1 : 1;
    else order = x === y ? 0 : x < y ? -1 : 1;
    if (order !== 0) return order;
  }
  return left.length === right.length ? 0 : left.length < right.length ? -1 : 1;
}

const semverSchema = z
  .string()
  .max(VERSION_CHARS_MAX, `must be at most ${VERSION_CHARS_MAX} characters`)
  .regex(SEMVER_PATTERN, 'must be a semantic version such as 1.4.0 or 2.0.0-beta.1 (semver.org)');

const relativePathSchema = z.string().superRefine((p, ctx) => {
  const problem = relativePathProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: `must be a relative path inside the app folder; it ${problem}` });
});

const publicPatternSchema = z
  .string()
  .max(URL_PATH_CHARS_MAX, `must be at most ${URL_PATH_CHARS_MAX} characters`)
  .regex(PUBLIC_PATTERN, 'must be an exact path such as "/about" or a prefix such as "/assets/*"')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain "." or ".." segments');

const spaSchema = z
  .string()
  .max(URL_PATH_CHARS_MAX, `must be at most ${URL_PATH_CHARS_MAX} characters`)
  .refine((p) => p.startsWith('/') && relativePathProblem(p.slice(1)) === null, 'must be an asset path such as "/index.html"');

const hostPatternSchema = z
  .string()
  .max(HOST_PATTERN_CHARS_MAX, `must be at most ${HOST_PATTERN_CHARS_MAX} characters`)
  .regex(HOST_PATTERN, 'must be a lowercase host such as "api.example.com" or "*.example.org", optionally with ":port"')
  .refine((p) => {
    const port = HOST_PATTERN.exec(p)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, 'port must be between 1 and 65535');

const limitsSchema = z.strictObject({
  concurrency: z.number().int().min(APP_CONCURRENCY_MIN).max(APP_CONCURRENCY_MAX).default(APP_CONCURRENCY_DEFAULT),
  memoryMb: z.number().int().min(APP_MEMORY_MB_MIN).max(APP_MEMORY_MB_MAX).default(APP_MEMORY_MB_DEFAULT),
  sockets: z.number().int().min(APP_SOCKETS_MIN).max(APP_SOCKETS_MAX).default(APP_SOCKETS_DEFAULT),
  requestTimeoutMs: z
    .number()
    .int()
    .min(APP_REQUEST_TIMEOUT_MS_MIN)
    .max(APP_REQUEST_TIMEOUT_MS_MAX)
    .default(APP_REQUEST_TIMEOUT_MS_DEFAULT),
});

const productSchema = z.strictObject({
  id: z.string().regex(PRODUCT_ID_PATTERN, 'must be lowercase letters, digits, ".", "_" or "-", at most 64'),
  title: z.string().min(1, 'must not be empty').max(PRODUCT_TITLE_CHARS_MAX, `must be at most ${PRODUCT_TITLE_CHARS_MAX} characters`),
  price: z
    .string()
    .regex(PRICE_PATTERN, `must be a decimal string such as "25.00", at most ${PRICE_FRACTION_DIGITS_MAX} decimals`),
  currency: z.string().regex(CURRENCY_PATTERN, 'must be an ISO 4217 code such as "USD"'),
});

const vendorSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(VENDOR_URL_CHARS_MAX, `must be at most ${VENDOR_URL_CHARS_MAX} characters`),
  keys: z
    .array(
      z.strictObject({
        kid: z.string().regex(KEY_ID_PATTERN, 'must be 1 to 64 letters, digits, ".", "_" or "-"'),
        publicKey: z.string().regex(ED25519_PUBLIC_KEY_PATTERN, 'must be a raw Ed25519 public key in base64url (43 characters)'),
      }),
    )
    .min(1, 'must list at least one key')
    .max(VENDOR_KEYS_MAX, `must list at most ${VENDOR_KEYS_MAX} keys`),
});

const manifestFieldsSchema = z.strictObject({
  id: z.string()
    .regex(APP_ID_PATTERN, 'must match ^[a-z][a-z0-9-]{1,30}$ (it becomes a host name)')
    .refine((id) => !id.endsWith('-'), 'must not end with "-" (it becomes a host name label)')
    .refine((id) => !RESERVED_APP_IDS.has(id), `is reserved for the platform (${[...RESERVED_APP_IDS].join(', ')})`),
  name: z.string().min(1, 'must not be empty').max(APP_NAME_CHARS_MAX, `must be at most ${APP_NAME_CHARS_MAX} characters`),
  version: semverSchema,
  main: relativePathSchema.default('src/index.ts'),
  assets: relativePathSchema.optional(),
  public: z.array(publicPatternSchema).max(PUBLIC_PATTERNS_MAX, `must list at most ${PUBLIC_PATTERNS_MAX} patterns`).default([]),
  spa: spaSchema.optional(),
  // Per-glob Cache-Control overrides for assets; see capabilities/assets/README.md.
  cache: cacheRulesSchema.default([]),
  outbound: z.array(hostPatternSchema).max(OUTBOUND_PATTERNS_MAX, `must list at most ${OUTBOUND_PATTERNS_MAX} hosts`).default([]),
  // prefault, not default: zod 4 returns a default as is, and we want the inner defaults applied.
  limits: limitsSchema.prefault({}),
  products: z.array(productSchema).max(PRODUCTS_MAX, `must list at most ${PRODUCTS_MAX} products`).default([]),
  vendor: vendorSchema.optional(),
  minUpgradableVersion: semverSchema.optional(),
});

export const manifestSchema = manifestFieldsSchema.superRefine(checkCrossFieldRules);

/** Rules that relate fields; zod runs them only once every field has the right shape. */
function checkCrossFieldRules(m: z.output<typeof manifestFieldsSchema>, ctx: z.RefinementCtx): void {
  if (m.minUpgradableVersion !== undefined && compareSemver(m.minUpgradableVersion, m.version) > 0) {
    ctx.addIssue({ code: 'custom', path: ['minUpgradableVersion'], message: `must not be above version ${m.version}` });
  }
  if (m.spa !== undefined && m.assets === undefined) {
    ctx.addIssue({ code: 'custom', path: ['spa'], message: 'needs "assets": the fallback is served from them' });
  }
  if (m.cache.length > 0 && m.assets === undefined) {
    ctx.addIssue({ code: 'custom', path: ['cache'], message: 'needs "assets": the rules apply to them' });
  }
  // The vendor's url is where purchases are fulfilled (CONTRACT §8), so products need one.
  if (m.products.length > 0 && m.vendor === undefined) {
    ctx.addIssue({ code: 'custom', path: ['vendor'], message: 'is required when products are listed' });
  }
  reportDuplicates(m.products.map((p) => p.id), ['products'], 'id', ctx);
  reportDuplicates(m.vendor?.keys.map((k) => k.kid) ?? [], ['vendor', 'keys'], 'kid', ctx);
}

function reportDuplicates(values: string[], path: (string | number)[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  values.forEach((value, i) => {
    if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [...path, i, field], message: `duplicates "${value}"` });
    seen.add(value);
  });
}

/** A valid manifest with every default applied. */
export type Manifest = z.output<typeof manifestSchema>;
/** What a developer writes in plinth.json: defaulted fields are optional. */
export type ManifestInput = z.input<typeof manifestSchema>;

/** Validates parsed JSON. Every problem is reported, each with its JSON path (`$.limits.memoryMb`). */
export function parseManifest(input: unknown): Result<Manifest, ManifestErrorCode> {
  const parsed = manifestSchema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  const details = parsed.error.issues.flatMap(issueDetails);
  const listing = details.map((d) => `${d.path} ${d.message}`).join('; ');
  const noun = details.length === 1 ? 'problem' : 'problems';
  return fail('manifest.invalid', `plinth.json has ${details.length} ${noun}: ${listing}`, details);
}

/** Parses plinth.json text: JSON syntax errors are manifest problems at `$`. */
export function parseManifestText(text: string): Result<Manifest, ManifestErrorCode> {
  if (Buffer.byteLength(text) > MANIFEST_BYTES_MAX) {
    return invalidAtRoot(`is larger than ${MANIFEST_BYTES_MAX} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return invalidAtRoot(`is not valid JSON (${(error as Error).message})`);
  }
  return parseManifest(json);
}

function invalidAtRoot(message: string): { ok: false; error: PlinthError<ManifestErrorCode> } {
  return fail('manifest.invalid', `plinth.json ${message}`, [{ path: '$', message }]);
}

type Issue = z.core.$ZodIssue;

/** One detail per problem; an unknown-keys issue names several keys, so it becomes one per key. */
function issueDetails(issue: Issue): { path: string; message: string }[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: jsonPath([...issue.path, key]), message: 'is not a known field' }));
  }
  return [{ path: jsonPath(issue.path), message: lowerFirst(issue.message) }];
}

/** `$`, `$.limits.memoryMb`, `$.public[2]`, `$["odd key"]`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) out += `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/**
 * Whether `pathname` (a WHATWG URL pathname, so dot segments are already resolved) is listed in
 * `public`: exact patterns match only themselves; `/prefix/*` matches `/prefix/` and everything
 * below it, but not `/prefix`; `/*` matches every path.
 */
export function isPublicPath(manifest: Pick<Manifest, 'public'>, pathname: string): boolean {
  return manifest.public.some((pattern) =>
    pattern.endsWith('/*') ? pathname.startsWith(pattern.slice(0, -1)) : pathname === pattern,
  );
}
