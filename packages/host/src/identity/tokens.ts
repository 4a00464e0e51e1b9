import { createHash, randomBytes } from 'node:crypto';

/** Every platform secret handed to a client: 32 random bytes, base64url, with a prefix that says what it is. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Only hashes are stored, so a copy of the control plane does not sign anyone in. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

