/**
 * Expected failures are values, not exceptions (STYLE §6). `code` is a
 * string-literal union owned by the capability that returns it; the HTTP edge
 * maps codes to statuses in one table.
 */
export interface PlinthError<Code extends string = string> {
  readonly code: Code;
  readonly message: string;
  /** JSON paths and reasons, for errors that carry several problems (manifests). */
  readonly details?: readonly { path: string; message: string }[];
}

export type Result<T, Code extends string = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: PlinthError<Code> };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail<Code extends string>(
  code: Code,
  message: string,
  details?: PlinthError['details'],
): { ok: false; error: PlinthError<Code> } {
  return { ok: false, error: details ? { code, message, details } : { code, message } };
}
