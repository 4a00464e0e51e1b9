import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { IDENTITY_JWS_SECONDS } from './limits.js';
import type { User } from './users.js';

/**
 * The platform's Ed25519 identity key signs `Plinth-Identity`. The private JWK
 * stays in `<data>/identity-key.json` (mode 0600); only the public half is
 * published at `/.well-known/jwks.json`.
 */
export async function loadIdentitySigner(path: string, issuer: string, now: () => number) {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path, JSON.stringify(privateKey.export({ format: 'jwk' })), { mode: 0o600, flag: 'wx' });
  }
  const privateJwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  const key = await importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA');
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }] };

  return {
    jwks,
    /** A short-lived token for one app: `aud` is the app id, so it cannot be replayed to another app. */
    sign(user: User, appId: string): Promise<string> {
      const iat = Math.floor(now() / 1000);
      return new SignJWT({ email: user.email, name: user.name, roles: user.isAdmin ? ['admin'] : [] })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(user.id)
        .setAudience(appId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + IDENTITY_JWS_SECONDS)
        .sign(key);
    },
  };
}
export type IdentitySigner = Awaited<ReturnType<typeof loadIdentitySigner>>;
