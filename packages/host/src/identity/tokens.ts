import { createHash, randomBytes } from 'node:crypto';

/** Every platform secret handed to a client: 32 random bytes, base64url, with a prefix that says what it is. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Only hashes are stored, so a copy of the control plane does not sign anyone in. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}


/**
 * A platform secret anywhere in a text: one of the prefixes `newSecret` is given (`pladm_`, the
 * admin token's, included) and 43 base64url characters, in any case. The front door never lets
 * one through to an app, whatever header it is in.
 */
const SECRET_ANYWHERE = /pl(?:adm|[sathl])_[A-Za-z0-9_-]{43}/i;
/** A platform prefix at the start of a word: in `Authorization`, enough to keep the header from an app. */
const PREFIX_AT_WORD_START = /(?:^|[^A-Za-z0-9])pl(?:adm|[sathl])_/i;

export function holdsPlatformSecret(text: string): boolean {
  return SECRET_ANYWHERE.test(text);
}

export function mentionsPlatformSecret(text: string): boolean {
  return SECRET_ANYWHERE.test(text) || PREFIX_AT_WORD_START.test(text);
}
