import type { ErrorTable } from '../../support/error-table.js';
import type { KeysErrorCode as KeysServiceErrorCode } from './service.js';

/** The service's codes and the two the routes add while reading the call. */
export type KeysErrorCode = KeysServiceErrorCode | 'keys.invalid_version' | 'keys.data_too_large';

/** Statuses and fixes of every `keys.*` code; README.md's table says what each means. */
export const KEYS_ERRORS = {
  'keys.not_found': { status: 404, fix: '`getOrCreate`' },
  'keys.exists': { status: 409, fix: '`getOrCreate` or `rotate`' },
  'keys.invalid_name': { status: 400 },
  'keys.invalid_version': { status: 400 },
  'keys.data_too_large': { status: 413, fix: 'sign a hash' },
  'keys.too_many': { status: 409, fix: 'delete keys or old versions' },
  'keys.too_many_versions': { status: 409, fix: 'delete keys or old versions' },
} as const satisfies ErrorTable<KeysErrorCode>;
