/**
 * Content negotiation for assets: which precompressed variant Accept-Encoding allows (RFC 9110
 * §12.5.3), and whether a request is a browser navigation (for the SPA fallback).
 */
import { ACCEPT_ENCODING_ENTRIES_MAX, ACCEPT_ENTRIES_MAX } from './limits.js';

/** The codings `plinth build` precompresses, in order of preference when weights tie (brotli is smaller). */
export const CONTENT_CODINGS = ['br', 'gzip'] as const;
export type ContentCoding = (typeof CONTENT_CODINGS)[number];

/** `q=` values: 0 to 1 with at most three decimals (RFC 9110 §12.4.2). */
const QVALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;

/** Weight per coding named in the header; `*` is kept as is. A malformed entry is dropped, not guessed at. */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  const entries = header.split(',', ACCEPT_ENCODING_ENTRIES_MAX);
  for (const entry of entries) {
    const [rawName = '', ...params] = entry.split(';').map((p) => p.trim());
    let name = rawName.toLowerCase();
    if (name === '') continue;
    // RFC 9110 §8.4.1.3: x-gzip is the same coding as gzip.
    if (name === 'x-gzip') name = 'gzip';
    let weight = 1;
    let valid = true;
    for (const param of params) {
      const q = QVALUE.exec(param);
      if (q) weight = Number(q[1]);
      else if (/^q=/i.test(param)) valid = false;
    }
    if (valid) weights.set(name, Math.max(weight, weights.get(name) ?? 0));
  }
  return weights;
}

/**
 * The coding to send among those available, or null for the file as is. A coding is acceptable
 * when the header gives it (or `*`) a weight above 0; the highest weight wins, brotli on a tie.
 * No header means the client takes any coding (RFC 9110 §12.5.3), but we send identity then: a
 * client that omits the header is usually a script or tool that would not decode the body.
 */
export function chooseEncoding(header: string | undefined, available: { has(coding: ContentCoding): boolean; readonly size: number }): ContentCoding | null {
  if (header === undefined || available.size === 0) return null;
  const weights = parseAcceptEncoding(header);
  let best: ContentCoding | null = null;
  let bestWeight = 0;
  for (const coding of CONTENT_CODINGS) {
    if (!available.has(coding)) continue;
    const weight = weights.get(coding) ?? weights.get('*') ?? 0;
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best;
}

/** A navigation from a browser: it asks for HTML. Scripts calling an API ask for JSON or anything (`*\/*`). */
export function acceptsHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const entry of accept.split(',', ACCEPT_ENTRIES_MAX)) {
    const [media = '', ...params] = entry.split(';').map((p) => p.trim().toLowerCase());
    if (media !== 'text/html') continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
