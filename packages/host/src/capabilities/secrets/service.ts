import { randomBytes } from 'node:crypto';
import type { Keyring } from '../../keyring/keyring.js';
import type { ControlPlane } from '../../store/control-plane.js';
import { fail, ok, type Result } from '../../support/result.js';
import { SECRETS_PER_APP_MAX, SECRET_NAME_CHARS_MAX, SECRET_NAME_PATTERN, SECRET_VALUE_BYTES_MAX } from './limits.js';

export type SecretsErrorCode = 'secrets.not_found' | 'secrets.invalid_name' | 'secrets.value_too_large' | 'secrets.too_many';

export interface SecretEntry {
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type GeneratedValue = { readonly bytes: number; readonly encoding: 'base64' | 'base64url' | 'hex' };

interface SecretRow { name: string; sealed_value: Buffer; created_at: number; updated_at: number }

/** The vault: values sealed under the app's data key, bound to app and name. */
export function createSecretsService(db: ControlPlane, keyring: Keyring, now: () => number) {
  const select = db.prepare<[string, string], SecretRow>('SELECT * FROM secrets WHERE app_id = ? AND name = ?');
  const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM secrets WHERE app_id = ?');
  const insert = db.prepare('INSERT INTO secrets (app_id, name, sealed_value, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (app_id, name) DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at');

  const context = (name: string) => `secret:${name}`;
  const entry = (row: SecretRow): SecretEntry => ({ name: row.name, createdAt: new Date(row.created_at).toISOString(), updatedAt: new Date(row.updated_at).toISOString() });

  function checkName(name: string): Result<string, SecretsErrorCode> {
    return SECRET_NAME_PATTERN.test(name) ? ok(name) : fail('secrets.invalid_name', `secret names are 1 to ${SECRET_NAME_CHARS_MAX} of A-Z a-z 0-9 _ - . (got ${JSON.stringify(name.slice(0, SECRET_NAME_CHARS_MAX + 1))})`);
  }

  function checkValue(value: string): Result<Buffer, SecretsErrorCode> {
    const bytes = Buffer.from(value, 'utf8');
    return bytes.length <= SECRET_VALUE_BYTES_MAX ? ok(bytes) : fail('secrets.value_too_large', `a secret value is at most ${SECRET_VALUE_BYTES_MAX} bytes (got ${bytes.length})`);
  }

  /** Inserts or replaces, in one transaction with the count check. Returns whether the name was new. */
  function write(appId: string, name: string, value: Buffer, onlyIfAbsent: boolean): Result<boolean, SecretsErrorCode> {
    return db.transaction((): Result<boolean, SecretsErrorCode> => {
      const exists = select.get(appId, name) !== undefined;
      if (exists && onlyIfAbsent) return ok(false);
      if (!exists && count.get(appId)!.n >= SECRETS_PER_APP_MAX) return fail('secrets.too_many', `an app holds at most ${SECRETS_PER_APP_MAX} secrets; delete some first`);
      const at = now();
      insert.run(appId, name, keyring.seal(appId, value, context(name)), at, at);
      return ok(!exists);
    })();
  }

  return {
    get(appId: string, name: string): Result<SecretEntry & { value: string }, SecretsErrorCode> {
      const checked = checkName(name);
      if (!checked.ok) return checked;
      const row = select.get(appId, name);
      if (!row) return fail('secrets.not_found', `no secret named ${name}`);
      return ok({ ...entry(row), value: keyring.open(appId, row.sealed_value, context(name)).toString('utf8') });
    },
    set(appId: string, name: string, value: string): Result<{ name: string; created: boolean }, SecretsErrorCode> {
      const checked = checkName(name);
      if (!checked.ok) return checked;
      const bytes = checkValue(value);
      if (!bytes.ok) return bytes;
      const written = write(appId, name, bytes.value, false);
      return written.ok ? ok({ name, created: written.value }) : written;
    },
    delete(appId: string, name: string): Result<{ name: string; deleted: true }, SecretsErrorCode> {
      const checked = checkName(name);
      if (!checked.ok) return checked;
      const { changes } = db.prepare('DELETE FROM secrets WHERE app_id = ? AND name = ?').run(appId, name);
      return changes ? ok({ name, deleted: true }) : fail('secrets.not_found', `no secret named ${name}`);
    },
    list(appId: string): SecretEntry[] {
      return db.prepare<[string], SecretRow>('SELECT name, created_at, updated_at FROM secrets WHERE app_id = ? ORDER BY name').all(appId).map(entry);
    },
    /**
     * Atomic under any number of callers: the check and the insert run in one
     * SQLite transaction on the daemon's single connection, so exactly one
     * caller creates and every caller reads the stored value.
     */
    getOrCreate(appId: string, name: string, spec: { value: string } | GeneratedValue): Result<{ value: string; created: boolean }, SecretsErrorCode> {
      const checked = checkName(name);
      if (!checked.ok) return checked;
      const candidate = 'value' in spec ? spec.value : randomBytes(spec.bytes).toString(spec.encoding);
      const bytes = checkValue(candidate);
      if (!bytes.ok) return bytes;
      const written = write(appId, name, bytes.value, true);
      if (!written.ok) return written;
      const row = select.get(appId, name)!;
      return ok({ value: keyring.open(appId, row.sealed_value, context(name)).toString('utf8'), created: written.value });
    },
    removeApp(appId: string): void {
      db.prepare('DELETE FROM secrets WHERE app_id = ?').run(appId);
    },
  };
}
export type SecretsService = ReturnType<typeof createSecretsService>;
