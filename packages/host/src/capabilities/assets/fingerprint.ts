/**
 * Whether a file name carries a content hash, so the file can be cached for a year as immutable.
 * A false positive is costly (a changed file would stay stale in browsers for a year), a false
 * negative is cheap (one revalidation per load, answered 304), so the rules lean to "no": a run
 * that reads like a word, a version or a size is not a hash. An app corrects either way with a
 * `cache` rule in its manifest.
 */
import {
  FINGERPRINT_BASE64_CHARS_MAX,
  FINGERPRINT_BASE64_CHARS_MIN,
  FINGERPRINT_HEX_CHARS_MAX,
  FINGERPRINT_HEX_CHARS_MIN,
} from './limits.js';

/** One case only: hashes are printed in lower or upper case, never mixed. */
const HEX = /^(?:[0-9a-f]+|[0-9A-F]+)$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/**
 * `index`, `Variable`, `HomePage2`, `myWidget`, `iPhone12`, `IBMPlexSans`: a lower-case run, or an
 * acronym, then capitalised words, then at most three digits. Some real hashes look like this and
 * are missed; that is the cheap mistake.
 */
const WORDISH = /^(?:[a-z]+|[A-Z]{2,}(?=[A-Z][a-z]))?(?:[A-Z][a-z]+)*\d{0,3}$/;

/** `3f9a1c2b`, `9F86D081884C7D65`: hex of a hash length, with a digit and not only digits (dates, build numbers). */
export function isHexHash(token: string): boolean {
  return (
    token.length >= FINGERPRINT_HEX_CHARS_MIN &&
    token.length <= FINGERPRINT_HEX_CHARS_MAX &&
    HEX.test(token) &&
    /\d/.test(token) &&
    !/^\d+$/.test(token)
  );
}

/**
 * `BxY12_aZ` (Rollup, Vite), `5ZQGQ2QA` (esbuild). It must hold an upper-case letter (a random
 * 8-character base64url string lacks one 1.6% of the time; `1920x1080` and `v2-index` have none),
 * and a digit or a lower-case letter; no `-`/`_`-separated piece may read as a word (`Inter-Variable`).
 */
export function isBase64Hash(token: string): boolean {
  if (token.length < FINGERPRINT_BASE64_CHARS_MIN || token.length > FINGERPRINT_BASE64_CHARS_MAX) return false;
  if (!BASE64URL.test(token) || !/[A-Z]/.test(token)) return false;
  const hasDigit = /\d/.test(token);
  if (!hasDigit && !/[a-z]/.test(token)) return false;
  return !token.split(/[-_]/).some(isWordish);
}

/** Three letters or more: `v2` or `x12` is as likely a run of a random hash as a word. */
function isWordish(piece: string): boolean {
  return WORDISH.test(piece) && piece.replace(/[^A-Za-z]/g, '').length >= 3;
}

/**
 * Looks at the file name only. Each dot-separated part before the extension is a candidate as a
 * whole (`app.3f9a1c2b.js`, `main.3f9a1c2b.chunk.js`), and so is each tail after a `-` or `_`
 * (`index-BxY12_aZ.js`, `chunk-5ZQGQ2QA.js`, `vendor_3f9a1c2b.js`), since bundlers write
 * `[name]-[hash]` and the name may hold dashes itself.
 */
export function isFingerprinted(assetPath: string): boolean {
  const name = assetPath.slice(assetPath.lastIndexOf('/') + 1);
  const parts = name.split('.');
  const stem = parts.length > 1 ? parts.slice(0, -1) : parts;
  return stem.some((part) => {
    if (isHexHash(part) || isBase64Hash(part)) return true;
    for (let i = 0; i < part.length; i++) {
      if (part[i] !== '-' && part[i] !== '_') continue;
      const tail = part.slice(i + 1);
      if (isHexHash(tail) || isBase64Hash(tail)) return true;
    }
    return part.split(/[-_]/).some(isHexHash);
  });
}
