import { randomBytes } from 'node:crypto';
import type { Keyring } from '../../keyring/keyring.js';
import type { ControlPlane } from '../../store/control-plane.js';
import type { AppCredential } from './sigv4.js';

export interface ObjectCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 20 characters like an AWS key id (`PLK` + 17 random base32), so tools that check the shape accept it. */
const newAccessKeyId = () => `PLK${[...randomBytes(17)].map((b) => BASE32[b & 31]).join('')}`;
/** 40 characters, 240 bits. */
const newSecret = () => randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');

/**
 * Each app's S3 key pair. The secret must be readable by the host (SigV4 is an HMAC with it),
 * so it is sealed under the app's data key, and uninstalling shreds it with the rest.
 */
export function createCredentialStore(db: ControlPlane, keyring: Keyring, now: () => number) {
  const byApp = db.prepare<[string], { access_key_id: string; sealed_secret: Buffer }>('SELECT access_key_id, sealed_secret FROM object_credentials WHERE app_id = ?');
  const byKey = db.prepare<[string], { app_id: string; sealed_secret: Buffer }>('SELECT app_id, sealed_secret FROM object_credentials WHERE access_key_id = ?');
  const upsert = db.prepare('INSERT INTO object_credentials (app_id, access_key_id, sealed_secret, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (app_id) DO UPDATE SET access_key_id = excluded.access_key_id, sealed_secret = excluded.sealed_secret, created_at = excluded.created_at');
  const remove = db.prepare('DELETE FROM object_credentials WHERE app_id = ?');
  // Verifying a request needs the plaintext secret; opening it once per key id keeps SigV4 cheap.
  const cache = new Map<string, AppCredential>();
  const context = 'objects:secret-access-key';

  function issue(appId: string): ObjectCredentials {
    const fresh = { accessKeyId: newAccessKeyId(), secretAccessKey: newSecret() };
    upsert.run(appId, fresh.accessKeyId, keyring.seal(appId, Buffer.from(fresh.secretAccessKey), context), now());
    return fresh;
  }

  return {
    /** The app's key pair, created on first use. */
    getOrCreate(appId: string): ObjectCredentials {
      const row = byApp.get(appId);
      if (!row) return issue(appId);
      return { accessKeyId: row.access_key_id, secretAccessKey: keyring.open(appId, row.sealed_secret, context).toString() };
    },
    /** A new key pair; the old one stops working at once (presigned URLs made with it too). */
    rotate(appId: string): ObjectCredentials {
      const old = byApp.get(appId);
      if (old) cache.delete(old.access_key_id);
      return issue(appId);
    },
    lookup(accessKeyId: string): AppCredential | undefined {
      const cached = cache.get(accessKeyId);
      if (cached) return cached;
      const row = byKey.get(accessKeyId);
      if (!row) return undefined;
      const credential = { appId: row.app_id, secretAccessKey: keyring.open(row.app_id, row.sealed_secret, context).toString() };
      cache.set(accessKeyId, credential);
      return credential;
    },
    removeApp(appId: string): void {
      const row = byApp.get(appId);
      if (row) cache.delete(row.access_key_id);
      remove.run(appId);
    },
  };
}
export type CredentialStore = ReturnType<typeof createCredentialStore>;
