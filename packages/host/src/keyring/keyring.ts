import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { ControlPlane } from '../store/control-plane.js';

/** AES-256-GCM: 32-byte keys, 12-byte nonces (random; at most 2^32 seals per key keeps collision odds negligible), 16-byte tags. */
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Sealed under the root key at first start; opening it proves the root key matches this data folder. */
const ROOT_KEY_CHECK = Buffer.from('plinth root key check v1');

export class RootKeyError extends Error {
  override readonly name = 'RootKeyError';
}

/** nonce ‖ tag ‖ ciphertext. `context` is bound as associated data, so a sealed value cannot be moved to another row. */
export function seal(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]);
}

/** Throws when the key, the context or the bytes are wrong: a sealed value is never silently misread. */
export function open(key: Buffer, sealed: Buffer, context: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(sealed.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
}

function decodeRootKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new RootKeyError(`${source} must hold ${KEY_BYTES} bytes in base64 (got ${key.length}); create one with: openssl rand -base64 32`);
  return key;
}

export interface RootKeySource {
  readonly file: string;
  /** PLINTH_ROOT_KEY, when the operator keeps the key outside the data folder. */
  readonly env: string | undefined;
}

/**
 * Envelope encryption: each app has a random data key, sealed ("wrapped")
 * under the root key. Values are sealed under the app's data key. Rotating the
 * root key re-wraps data keys only; deleting an app's data key shreds its data.
 */
export function openKeyring(db: ControlPlane, source: RootKeySource, now: () => number) {
  const checkRow = () => db.prepare<[], { value: Buffer }>("SELECT value FROM keyring_meta WHERE name = 'root_key_check'").get();
  let rootKey = loadRootKey(db, source, checkRow()?.value);
  if (!checkRow()) db.prepare("INSERT INTO keyring_meta (name, value) VALUES ('root_key_check', ?)").run(seal(rootKey, ROOT_KEY_CHECK, 'root'));
  const cache = new Map<string, Buffer>();

  function dataKey(appId: string): Buffer {
    const cached = cache.get(appId);
    if (cached) return cached;
    const row = db.prepare<[string], { wrapped: Buffer }>('SELECT wrapped FROM app_data_keys WHERE app_id = ?').get(appId);
    let key: Buffer;
    if (row) {
      key = open(rootKey, row.wrapped, `data-key:${appId}`);
    } else {
      key = randomBytes(KEY_BYTES);
      db.prepare('INSERT INTO app_data_keys (app_id, wrapped, created_at) VALUES (?, ?, ?)').run(appId, seal(rootKey, key, `data-key:${appId}`), now());
    }
    cache.set(appId, key);
    return key;
  }

  return {
    seal: (appId: string, plaintext: Buffer, context: string) => seal(dataKey(appId), plaintext, `${appId}:${context}`),
    open: (appId: string, sealed: Buffer, context: string) => open(dataKey(appId), sealed, `${appId}:${context}`),
    /** Crypto-shredding: without its data key, nothing sealed for the app can be opened again. */
    destroy(appId: string): void {
      db.prepare('DELETE FROM app_data_keys WHERE app_id = ?').run(appId);
      cache.delete(appId);
    },
    /**
     * Re-wraps every data key under a new root key. The new key is written
     * beside the old one first, so a crash at any point leaves a key that opens the data.
     */
    rotateRootKey(): { dataKeys: number } {
      if (source.env) throw new RootKeyError('the root key comes from PLINTH_ROOT_KEY; rotate it by re-wrapping offline, not through the daemon');
      const next = randomBytes(KEY_BYTES);
      writeFileSync(`${source.file}.next`, `${next.toString('base64')}\n`, { mode: 0o600 });
      const rows = db.prepare<[], { app_id: string; wrapped: Buffer }>('SELECT app_id, wrapped FROM app_data_keys').all();
      db.transaction(() => {
        for (const row of rows) {
          const key = open(rootKey, row.wrapped, `data-key:${row.app_id}`);
          db.prepare('UPDATE app_data_keys SET wrapped = ? WHERE app_id = ?').run(seal(next, key, `data-key:${row.app_id}`), row.app_id);
        }
        db.prepare("UPDATE keyring_meta SET value = ? WHERE name = 'root_key_check'").run(seal(next, ROOT_KEY_CHECK, 'root'));
      })();
      renameSync(`${source.file}.next`, source.file);
      rootKey = next;
      return { dataKeys: rows.length };
    },
  };
}
export type Keyring = ReturnType<typeof openKeyring>;

function opens(key: Buffer, check: Buffer): boolean {
  try {
    return open(key, check, 'root').equals(ROOT_KEY_CHECK);
  } catch {
    return false;
  }
}

/** Finds the root key, finishing an interrupted rotation; refuses to start with a key that does not match. */
function loadRootKey(db: ControlPlane, source: RootKeySource, check: Buffer | undefined): Buffer {
  if (source.env) {
    const key = decodeRootKey(source.env, 'PLINTH_ROOT_KEY');
    if (check && !opens(key, check)) throw new RootKeyError('PLINTH_ROOT_KEY does not match this data folder: the secrets and keys in it were sealed under another root key');
    return key;
  }
  const pending = `${source.file}.next`;
  if (check && existsSync(pending)) {
    const next = decodeRootKey(readFileSync(pending, 'utf8'), pending);
    if (opens(next, check)) renameSync(pending, source.file);
    else rmSync(pending);
  }
  if (!existsSync(source.file)) {
    const wrapped = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM app_data_keys').get()!.n;
    if (check || wrapped > 0) throw new RootKeyError(`${source.file} is missing, but this data folder holds data sealed under a root key; restore the file or set PLINTH_ROOT_KEY`);
    writeFileSync(source.file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  const key = decodeRootKey(readFileSync(source.file, 'utf8'), source.file);
  if (check && !opens(key, check)) throw new RootKeyError(`${source.file} does not match this data folder: the secrets and keys in it were sealed under another root key`);
  return key;
}
