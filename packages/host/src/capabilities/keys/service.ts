import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSignCallback, verify as edVerifyCallback, type KeyObject } from 'node:crypto';
import type { Keyring } from '../../keyring/keyring.js';
import type { ControlPlane } from '../../store/control-plane.js';
import { signInBackground, verifyInBackground } from '../../support/background-thread.js';
import { fail, ok, type Result } from '../../support/result.js';
import { createKeyAudit, type AuditEntry } from './audit.js';
import { KEYS_PER_APP_MAX, KEY_NAME_PATTERN, KEY_VERSIONS_MAX, LARGE_INPUT_BYTES_MIN, PRIVATE_KEY_CACHE_ENTRIES_MAX } from './limits.js';

export type KeysErrorCode = 'keys.not_found' | 'keys.exists' | 'keys.invalid_name' | 'keys.too_many' | 'keys.too_many_versions';
export type { KeyOperation } from './audit.js';

export interface PublicKeyForms {
  /** The 32-byte Ed25519 public key, base64url. */
  readonly raw: string;
  readonly jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };
  /** SPKI, PEM-encoded: what OpenSSL and `crypto.createPublicKey` read. */
  readonly pem: string;
}

export interface KeyView {
  readonly name: string;
  readonly version: number;
  readonly versions: readonly number[];
  readonly createdAt: string;
  readonly publicKey: PublicKeyForms;
}

interface KeyRow { name: string; version: number; public_key: Buffer; sealed_private_key: Buffer; created_at: number }

/** Ed25519 SPKI DER is a fixed 12-byte prefix followed by the raw 32-byte key (RFC 8410). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** The keyring's context for a sealed private key: a sealed key opens only as the version it was made for. */
const sealContext = (name: string, version: number) => `key:${name}:${version}`;

/**
 * Off the event loop: small inputs in libuv's thread pool, large ones in the low-priority
 * background thread, so a flood of 1 MiB signatures yields the CPU to other apps' calls.
 */
const edSign = (data: Buffer, key: KeyObject) =>
  data.length >= LARGE_INPUT_BYTES_MIN
    ? signInBackground(data, key)
    : new Promise<Buffer>((resolve, reject) => edSignCallback(null, data, key, (error, signature) => (error ? reject(error) : resolve(signature))));
const edVerify = (data: Buffer, key: KeyObject, signature: Buffer) =>
  data.length >= LARGE_INPUT_BYTES_MIN
    ? verifyInBackground(data, key, signature)
    : new Promise<boolean>((resolve, reject) => edVerifyCallback(null, data, key, signature, (error, valid) => (error ? reject(error) : resolve(valid))));

function publicKeyForms(name: string, version: number, raw: Buffer): PublicKeyForms {
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  const x = raw.toString('base64url');
  return { raw: x, jwk: { kty: 'OKP', crv: 'Ed25519', x, kid: `${name}.${version}`, alg: 'EdDSA', use: 'sig' }, pem: key.export({ format: 'pem', type: 'spki' }).toString() };
}

/** Opened private keys, bounded: opening one is a keyring unseal plus a DER parse. */
function createPrivateKeyCache(keyring: Keyring) {
  const cache = new Map<string, KeyObject>();
  return {
    get(appId: string, row: KeyRow): KeyObject {
      const cacheKey = `${appId}\n${row.name}\n${row.version}`;
      let key = cache.get(cacheKey);
      if (!key) {
        key = createPrivateKey({ key: keyring.open(appId, row.sealed_private_key, sealContext(row.name, row.version)), format: 'der', type: 'pkcs8' });
        if (cache.size >= PRIVATE_KEY_CACHE_ENTRIES_MAX) cache.delete(cache.keys().next().value!);
        cache.set(cacheKey, key);
      }
      return key;
    },
    /** Drops every cached key whose cache key starts with `prefix` (`app\n` or `app\nname\n`). */
    forget(prefix: string): void {
      for (const cacheKey of cache.keys()) if (cacheKey.startsWith(prefix)) cache.delete(cacheKey);
    },
  };
}

/**
 * Signing keys that never leave the host: private halves are generated here,
 * sealed under the app's data key, and only ever used in this process.
 */
export function createKeysService(db: ControlPlane, keyring: Keyring, now: () => number) {
  const versionsOf = db.prepare<[string, string], KeyRow>('SELECT * FROM signing_keys WHERE app_id = ? AND name = ? AND deleted_at IS NULL ORDER BY version');
  // Counts deleted versions too: a `kid` names one key forever.
  const nextVersion = db.prepare<[string, string], { next: number }>('SELECT coalesce(max(version), 0) + 1 AS next FROM signing_keys WHERE app_id = ? AND name = ?');
  const insert = db.prepare('INSERT INTO signing_keys (app_id, name, version, public_key, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  const audit = createKeyAudit(db, now);
  const record = audit.record;
  const privateKeys = createPrivateKeyCache(keyring);

  function view(name: string, rows: KeyRow[]): KeyView {
    const latest = rows[rows.length - 1]!;
    return { name, version: latest.version, versions: rows.map((r) => r.version), createdAt: new Date(rows[0]!.created_at).toISOString(), publicKey: publicKeyForms(name, latest.version, latest.public_key) };
  }

  function rowsOf(appId: string, name: string): Result<KeyRow[], KeysErrorCode> {
    if (!KEY_NAME_PATTERN.test(name)) return fail('keys.invalid_name', `key names are 1 to 128 of A-Z a-z 0-9 _ - . (got ${JSON.stringify(name.slice(0, 129))})`);
    const rows = versionsOf.all(appId, name);
    return rows.length ? ok(rows) : fail('keys.not_found', `no key named ${name}`);
  }

  function addVersion(appId: string, name: string, version: number): void {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
    const sealed = keyring.seal(appId, privateKey.export({ format: 'der', type: 'pkcs8' }), sealContext(name, version));
    insert.run(appId, name, version, raw, sealed, now());
  }

  function create(appId: string, name: string, onlyIfAbsent: boolean): Result<KeyView & { created: boolean }, KeysErrorCode> {
    if (!KEY_NAME_PATTERN.test(name)) return fail('keys.invalid_name', `key names are 1 to 128 of A-Z a-z 0-9 _ - . (got ${JSON.stringify(name.slice(0, 129))})`);
    return db.transaction((): Result<KeyView & { created: boolean }, KeysErrorCode> => {
      const existing = versionsOf.all(appId, name);
      if (existing.length && !onlyIfAbsent) return fail('keys.exists', `a key named ${name} already exists; use rotate to add a version`);
      if (existing.length) {
        // getOrCreate of a key that exists reads it, and every single-key read is audited.
        const found = view(name, existing);
        record(appId, name, found.version, 'public_key');
        return ok({ ...found, created: false });
      }
      const names = db.prepare<[string], { n: number }>('SELECT count(DISTINCT name) AS n FROM signing_keys WHERE app_id = ? AND deleted_at IS NULL').get(appId)!.n;
      if (names >= KEYS_PER_APP_MAX) return fail('keys.too_many', `an app holds at most ${KEYS_PER_APP_MAX} keys`);
      const version = nextVersion.get(appId, name)!.next;
      addVersion(appId, name, version);
      record(appId, name, version, 'create');
      return ok({ ...view(name, versionsOf.all(appId, name)), created: true });
    })();
  }

  return {
    create: (appId: string, name: string) => create(appId, name, false),
    getOrCreate: (appId: string, name: string) => create(appId, name, true),
    get(appId: string, name: string, version?: number): Result<KeyView, KeysErrorCode> {
      const rows = rowsOf(appId, name);
      if (!rows.ok) return rows;
      const chosen = version === undefined ? rows.value[rows.value.length - 1] : rows.value.find((r) => r.version === version);
      if (!chosen) return fail('keys.not_found', `key ${name} has no version ${version}`);
      record(appId, name, chosen.version, 'public_key');
      return ok({ ...view(name, rows.value), version: chosen.version, publicKey: publicKeyForms(name, chosen.version, chosen.public_key) });
    },
    list(appId: string): KeyView[] {
      const rows = db.prepare<[string], KeyRow>('SELECT * FROM signing_keys WHERE app_id = ? AND deleted_at IS NULL ORDER BY name, version').all(appId);
      const byName = new Map<string, KeyRow[]>();
      for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row]);
      return [...byName].map(([name, versions]) => view(name, versions));
    },
    /** Signs with the latest version, off the event loop (a 1 MiB input is ~2.5 ms of hashing). */
    async sign(appId: string, name: string, data: Buffer): Promise<Result<{ signature: string; version: number; kid: string }, KeysErrorCode>> {
      const rows = rowsOf(appId, name);
      if (!rows.ok) return rows;
      const latest = rows.value[rows.value.length - 1]!;
      const signature = await edSign(data, privateKeys.get(appId, latest));
      record(appId, name, latest.version, 'sign');
      return ok({ signature: signature.toString('base64url'), version: latest.version, kid: `${name}.${latest.version}` });
    },
    /** Checks against the given version, or against every version that has not been deleted; off the event loop, as sign. */
    async verify(appId: string, name: string, data: Buffer, signature: Buffer, version?: number): Promise<Result<{ valid: boolean; version: number | null }, KeysErrorCode>> {
      const rows = rowsOf(appId, name);
      if (!rows.ok) return rows;
      const candidates = version === undefined ? rows.value : rows.value.filter((r) => r.version === version);
      if (!candidates.length) return fail('keys.not_found', `key ${name} has no version ${version}`);
      let match: KeyRow | undefined;
      for (const row of signature.length === 64 ? candidates : []) {
        if (await edVerify(data, createPublicKey({ key: Buffer.concat([SPKI_PREFIX, row.public_key]), format: 'der', type: 'spki' }), signature)) {
          match = row;
          break;
        }
      }
      record(appId, name, match?.version ?? version ?? null, 'verify');
      return ok({ valid: match !== undefined, version: match?.version ?? null });
    },
    rotate(appId: string, name: string): Result<KeyView, KeysErrorCode> {
      return db.transaction((): Result<KeyView, KeysErrorCode> => {
        const rows = rowsOf(appId, name);
        if (!rows.ok) return rows;
        if (rows.value.length >= KEY_VERSIONS_MAX) return fail('keys.too_many_versions', `key ${name} has ${KEY_VERSIONS_MAX} versions; delete old ones before rotating`);
        const next = nextVersion.get(appId, name)!.next;
        addVersion(appId, name, next);
        record(appId, name, next, 'rotate');
        return ok(view(name, versionsOf.all(appId, name)));
      })();
    },
    /** Deletes one version, or the whole key. Deleting the only remaining version deletes the key. */
    delete(appId: string, name: string, version?: number): Result<{ name: string; deleted: readonly number[] }, KeysErrorCode> {
      const rows = rowsOf(appId, name);
      if (!rows.ok) return rows;
      const doomed = version === undefined ? rows.value.map((r) => r.version) : rows.value.filter((r) => r.version === version).map((r) => r.version);
      if (!doomed.length) return fail('keys.not_found', `key ${name} has no version ${version}`);
      // The private key is wiped; the row stays as a tombstone that reserves the version number.
      const remove = db.prepare("UPDATE signing_keys SET deleted_at = ?, sealed_private_key = x'' WHERE app_id = ? AND name = ? AND version = ?");
      db.transaction(() => { for (const v of doomed) remove.run(now(), appId, name, v); })();
      privateKeys.forget(`${appId}\n${name}\n`);
      record(appId, name, version ?? null, 'delete');
      return ok({ name, deleted: doomed });
    },
    flushAudit: audit.flush,
    audit: (appId: string, limit: number): AuditEntry[] => audit.latest(appId, limit),
    removeApp(appId: string): void {
      audit.removeApp(appId);
      db.prepare('DELETE FROM signing_keys WHERE app_id = ?').run(appId);
      privateKeys.forget(`${appId}\n`);
    },
  };
}
export type KeysService = ReturnType<typeof createKeysService>;
