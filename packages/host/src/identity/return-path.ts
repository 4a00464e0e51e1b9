import { z } from 'zod';
import { RETURN_PATH_CHARS_MAX } from './limits.js';

// C0, DEL and C1. The URL parser drops tabs and line breaks inside a URL, so `/\t/evil.example`
// would be read as `//evil.example`; a CR or LF in a Location header is a response-splitting attempt.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** A `return` parameter where it enters: bounded, and with no control character. */
export const returnPathSchema = z.string()
  .max(RETURN_PATH_CHARS_MAX)
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters (a tab or line break, say)');

/**
 * Where to send a browser back to: `path` made absolute on `origin` by the URL parser, the way
 * a browser will read it, when it starts with `/` and stays on that origin; else `origin`'s
 * root. The answer is absolute so that a path the parser keeps as `//x` (from `/.//x`, say)
 * cannot be read as another host.
 */
export function returnUrl(path: string | null | undefined, origin: string): string {
  const root = `${origin}/`;
  if (!path?.startsWith('/') || !returnPathSchema.safeParse(path).success) return root;
  try {
    const url = new URL(path, origin);
    return url.origin === origin ? url.href : root;
  } catch {
    return root;
  }
}
