/**
 * Conditional requests (RFC 9110 §13), evaluated in the order §13.2.2 gives: If-Match, then
 * If-Unmodified-Since, then If-None-Match, then If-Modified-Since (only without If-None-Match).
 * If-Range is checked separately, when a Range is about to be honoured.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseHttpDate } from '../../support/http-date.js';
import { ENTITY_TAGS_MAX } from './limits.js';

export type Precondition = 'proceed' | 'not_modified' | 'failed';

/** The validators of the representation about to be sent. `lastModifiedMs` is whole seconds, as HTTP dates are. */
export interface Validators {
  readonly etag: string;
  readonly lastModifiedMs: number;
}

/** Only called for GET and HEAD, so a matching If-None-Match is a 304, never a 412. */
export function evaluatePreconditions(headers: IncomingHttpHeaders, validators: Validators): Precondition {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!tagListMatches(ifMatch, validators.etag, 'strong')) return 'failed';
  } else {
    const since = httpDate(headers['if-unmodified-since']);
    if (since !== null && validators.lastModifiedMs > since) return 'failed';
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) return tagListMatches(ifNoneMatch, validators.etag, 'weak') ? 'not_modified' : 'proceed';
  const modifiedSince = httpDate(headers['if-modified-since']);
  if (modifiedSince !== null && validators.lastModifiedMs <= modifiedSince) return 'not_modified';
  return 'proceed';
}

/**
 * If-Range (§13.1.5): the range is sent only if the client's copy is current. An entity tag must
 * match strongly; a date must equal Last-Modified exactly. Anything else sends the whole file.
 */
export function ifRangeHolds(header: string | undefined, validators: Validators): boolean {
  if (header === undefined) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag;
  const date = httpDate(value);
  return date !== null && date === validators.lastModifiedMs;
}

/** `*` or a comma list of entity tags (§8.8.3); weak comparison ignores the `W/` prefix, strong never matches a weak tag. */
function tagListMatches(header: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  if (header.trim() === '*') return true;
  for (const raw of header.split(',', ENTITY_TAGS_MAX)) {
    const tag = raw.trim();
    if (comparison === 'weak' ? tag.replace(/^W\//, '') === etag : tag === etag) return true;
  }
  return false;
}

/** An HTTP-date in milliseconds, or null when absent or not an HTTP-date (then the header is ignored, §13.1.3). */
function httpDate(value: string | undefined): number | null {
  return value === undefined ? null : parseHttpDate(value);
}
