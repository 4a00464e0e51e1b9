import type { ErrorTable } from '../support/error-table.js';
import type { UserErrorCode } from './users.js';

/** Sign-in, tokens and users (STYLE §6); README.md's table says what each code means. */
export type IdentityErrorCode =
  | UserErrorCode
  | 'auth.required'
  | 'auth.invalid_token'
  | 'auth.wrong_app'
  | 'auth.csrf_rejected'
  | 'auth.too_many_attempts'
  | 'auth.state_mismatch'
  | 'auth.token_not_found';

export const IDENTITY_ERRORS = {
  'auth.required': { status: 401 },
  'auth.invalid_token': { status: 401, fix: 'create a new token, or sign in again' },
  'auth.wrong_app': { status: 403, fix: 'use a token made with `--app` for this app' },
  'auth.csrf_rejected': { status: 403, fix: 'post the form from the console\'s own page; GET it first' },
  'auth.too_many_attempts': { status: 429, fix: 'wait' },
  'auth.state_mismatch': { status: 400, fix: 'start again at `/.plinth/login` in the browser that signs in' },
  'auth.token_not_found': { status: 404 },
  'users.exists': { status: 409, fix: 'use another email' },
  'users.not_found': { status: 404, fix: 'add the user first' },
} as const satisfies ErrorTable<IdentityErrorCode>;
