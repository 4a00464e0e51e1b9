/**
 * Range requests (RFC 9110 §14). One range per request: a single `bytes=` range gets 206; a list
 * of ranges is answered 200 with the whole file, which §14.2 allows ("a server MAY ignore the
 * Range header field") and which saves the multipart/byteranges framing no browser or media
 * player needs. A malformed Range is ignored (§14.2), an unsatisfiable one gets 416.
 */
import { RANGE_POSITION_DIGITS_MAX } from './limits.js';

export type RangeRequest =
  /** Send the whole file with 200: no Range, a malformed one, another unit, or several ranges. */
  | { readonly kind: 'whole' }
  /** Send bytes start..end inclusive with 206. */
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  /** Answer 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' };

const WHOLE: RangeRequest = { kind: 'whole' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };
const FIRST_LAST = /^(\d+)-(\d*)$/;
const SUFFIX = /^-(\d+)$/;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return WHOLE;
  const equals = header.indexOf('=');
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return WHOLE;
  // Empty list elements are ignored (RFC 9110 §5.6.1.2), so `bytes=0-1,` is one range.
  const specs = header.slice(equals + 1).split(',').map((element) => element.trim()).filter(Boolean);
  if (specs.length !== 1) return WHOLE;
  const spec = specs[0]!;
  const firstLast = FIRST_LAST.exec(spec);
  if (firstLast) {
    const first = withoutLeadingZeros(firstLast[1] ?? '');
    const last = withoutLeadingZeros(firstLast[2] ?? '');
    // A start with more digits than any file has bytes is past the end; an end that long means "to the end".
    if (first.length > RANGE_POSITION_DIGITS_MAX) return UNSATISFIABLE;
    const start = Number(first);
    const lastKnown = last !== '' && last.length <= RANGE_POSITION_DIGITS_MAX;
    if (lastKnown && Number(last) < start) return WHOLE;
    if (start >= size) return UNSATISFIABLE;
    return { kind: 'partial', start, end: lastKnown ? Math.min(Number(last), size - 1) : size - 1 };
  }
  const suffix = SUFFIX.exec(spec);
  if (suffix) {
    const digits = withoutLeadingZeros(suffix[1] ?? '');
    const length = digits.length > RANGE_POSITION_DIGITS_MAX ? size : Number(digits);
    if (length === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  return WHOLE;
}

function withoutLeadingZeros(digits: string): string {
  return digits.replace(/^0+(?=\d)/, '');
}
