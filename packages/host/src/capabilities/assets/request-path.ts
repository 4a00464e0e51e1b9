/**
 * Turns a request target into the asset path it names, or refuses it. The front door resolves
 * dot segments before the access check (WHATWG URL parsing, so `%2e%2e` too), which means a
 * traversal never reaches a file it should not. Refusing them here anyway keeps one spelling per
 * asset and makes probing visible: a raw or encoded `.`/`..` segment, a backslash (raw or `%5c`),
 * an encoded slash (`%2f`), NUL or another control character gets 400 `assets.bad_path`.
 */
import { fail, ok, type Result } from '../../support/result.js';
import type { AssetsErrorCode } from './errors.js';

/** `scheme://authority` of an absolute-form target (RFC 9112 §3.2.2), which proxies send. */
const ABSOLUTE_FORM_PREFIX = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;
const CONTROL_OR_BACKSLASH = /[\x00-\x1f\x7f\\]/;
/** Printable ASCII without `%`, `\` or a `/.` (so no dot segment), as almost every request is. */
const PLAIN_PATH = /^(?:\/(?!\.)[\x21-\x24\x26-\x2e\x30-\x5b\x5d-\x7e]*)+$/;

export interface AssetRequestPath {
  /** Decoded, as the index is keyed: `/docs/my file.html`. */
  readonly path: string;
  /** As received, for redirects that keep the client's own encoding. */
  readonly rawPath: string;
  /** `?…` as received, or ''. */
  readonly rawQuery: string;
}

export function assetRequestPath(target: string): Result<AssetRequestPath, AssetsErrorCode> {
  const refuse = (why: string) => fail('assets.bad_path', `the path ${why}; asset paths are plain, like /docs/index.html`);
  const originForm = target.startsWith('/') ? target : target.replace(ABSOLUTE_FORM_PREFIX, '') || '/';
  const cut = originForm.search(/[?#]/);
  const rawPath = cut < 0 ? originForm : originForm.slice(0, cut);
  const rawQuery = cut >= 0 && originForm[cut] === '?' ? originForm.slice(cut).split('#')[0]! : '';
  if (!rawPath.startsWith('/')) return refuse('is not absolute');
  // The common case, checked first because it runs on every asset request: nothing to decode, no dot segment.
  if (PLAIN_PATH.test(rawPath)) return ok({ path: rawPath, rawPath, rawQuery });
  if (/%2f/i.test(rawPath)) return refuse('holds an encoded slash (%2f)');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return refuse('has a malformed percent-encoding');
  }
  if (CONTROL_OR_BACKSLASH.test(path)) return refuse('holds a backslash or a control character');
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return refuse('has a "." or ".." segment');
  return ok({ path, rawPath, rawQuery });
}

/** `//a///b` → `/a/b`: empty path segments merged, as nginx's `merge_slashes` does. */
export function mergeSlashes(path: string): string {
  return path.replace(/\/{2,}/g, '/');
}
