/**
 * SQL values on the platform ABI (see the host's `capabilities/sql/wire-values.ts` for the
 * table): JSON, with bytes, 64-bit integers past 2^53 and infinities as one-key objects.
 */
import { fromBase64, toBase64 } from '../bytes.js';

/** What a column value reads as: BLOBs are Uint8Array, INTEGERs past ±(2^53 − 1) are bigint. */
export type SqlValue = null | number | bigint | string | Uint8Array;

export type WireValue = null | number | string | boolean | { $blob: string } | { $bigint: string } | { $real: string };

/** D1 throws this for a value it cannot bind, with the same text. */
function typeError(value: unknown): Error {
  const text = `Type '${typeof value}' not supported for value '${String(value)}'`;
  return new Error(`D1_TYPE_ERROR: ${text}`, { cause: new Error(text) });
}

/** A value given to `bind()`, as D1 accepts them, plus bigint. */
export function encodeValue(value: unknown): WireValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return null; // SQLite stores NaN as NULL
    return Number.isFinite(value) ? value : { $real: value > 0 ? 'Infinity' : '-Infinity' };
  }
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof ArrayBuffer) return { $blob: toBase64(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) return { $blob: toBase64(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (Array.isArray(value) && value.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b < 256)) {
    return { $blob: toBase64(Uint8Array.from(value as number[])) };
  }
  throw typeError(value);
}

export function decodeValue(value: WireValue): SqlValue {
  if (value === null || typeof value !== 'object') return value as SqlValue;
  if ('$blob' in value) return fromBase64(value.$blob);
  if ('$bigint' in value) return BigInt(value.$bigint);
  return value.$real === 'Infinity' ? Infinity : -Infinity;
}
