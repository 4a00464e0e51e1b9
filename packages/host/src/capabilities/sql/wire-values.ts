/**
 * SQL values on the JSON ABI, both ways. JSON has no bytes, no integers past 2^53 and no
 * infinities, so those three travel as one-key tagged objects; everything else is plain JSON.
 *
 * | SQLite value                  | JSON                                  |
 * | ----------------------------- | ------------------------------------- |
 * | NULL                          | `null`                                |
 * | INTEGER within ±(2^53 − 1)    | number                                |
 * | INTEGER beyond that           | `{ "$bigint": "9007199254740993" }`   |
 * | REAL, finite                  | number                                |
 * | REAL ±Infinity                | `{ "$real": "Infinity" }`             |
 * | TEXT                          | string                                |
 * | BLOB                          | `{ "$blob": "<base64>" }`             |
 *
 * Bound values also accept `true`/`false` (bound as 1/0, as D1 does). A JSON number that is a
 * safe integer binds as INTEGER and any other as REAL, so `typeof(?)` answers as on D1
 * (better-sqlite3 alone would bind every JS number as REAL).
 */
import { z } from 'zod';

export type SqlValue = null | number | bigint | string | Buffer;

export const wireValueSchema = z.union([
  z.null(),
  z.number(),
  z.string(),
  z.boolean(),
  z.object({ $blob: z.base64() }).strict(),
  z.object({ $bigint: z.string().regex(/^-?\d{1,20}$/) }).strict(),
  z.object({ $real: z.enum(['Infinity', '-Infinity']) }).strict(),
]);
export type WireValue = z.infer<typeof wireValueSchema>;
export type EncodedValue = null | number | string | { $blob: string } | { $bigint: string } | { $real: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A parsed wire value as better-sqlite3 binds it; undefined when a `$bigint` is outside SQLite's 64 bits. */
export function toSqlValue(value: WireValue): SqlValue | undefined {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if ('$blob' in value) return Buffer.from(value.$blob, 'base64');
  if ('$real' in value) return value.$real === 'Infinity' ? Infinity : -Infinity;
  const big = BigInt(value.$bigint);
  return big >= INT64_MIN && big <= INT64_MAX ? big : undefined;
}

/** A value read with `safeIntegers(true)`, encoded for JSON. */
export function fromSqlValue(value: unknown): EncodedValue {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'bigint') {
    return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : { $bigint: value.toString() };
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $real: value > 0 ? 'Infinity' : '-Infinity' };
  if (Buffer.isBuffer(value)) return { $blob: value.toString('base64') };
  throw new TypeError(`SQLite returned a value of unexpected type ${typeof value}`);
}

/** Roughly the JSON bytes of an encoded value: enough to stop a result before it outgrows the cap. */
export function encodedBytes(value: EncodedValue): number {
  if (value === null) return 4;
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'number') return 24;
  return 16 + ('$blob' in value ? value.$blob.length : '$bigint' in value ? value.$bigint.length : 9);
}
