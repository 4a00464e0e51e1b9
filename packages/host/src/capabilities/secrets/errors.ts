import type { ErrorTable } from '../../support/error-table.js';
import type { SecretsErrorCode } from './service.js';

export type { SecretsErrorCode };

/** Statuses and fixes of every `secrets.*` code; README.md's table says what each means. */
export const SECRETS_ERRORS = {
  'secrets.not_found': { status: 404, fix: '`getOrCreate`, or check the name' },
  'secrets.invalid_name': { status: 400, fix: 'use letters, digits, `_ - .`' },
  'secrets.value_too_large': { status: 413, fix: 'store large data in objects' },
  'secrets.too_many': { status: 409, fix: 'delete unused ones' },
} as const satisfies ErrorTable<SecretsErrorCode>;
