import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { compactVerify, importJWK } from 'jose';
import { open } from '../../keyring/keyring.js';
import { startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { bytesOf, call, installVault, raw, rpc } from '../../testing/vault-rpc.js';
import { SIGN_DATA_BYTES_MAX } from './limits.js';

interface KeyInfo { name: string; version: number; versions: number[]; publicKey: { raw: string; pem: string; jwk: { kty: string; crv: string; x: string; kid: string } } }

describe('enclave-style Ed25519 keys', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-keys-'));
  let daemon: TestDaemon;
  /** Everything the platform sent back during the tests, to search for private key bytes. */
  const seen: string[] = [];
  const track = async <T>(value: Promise<T>) => { const v = await value; seen.push(JSON.stringify(v)); return v; };

  before(async () => {
    daemon = await startTestDaemon();
    installVault(daemon, work, 'alpha');
    installVault(daemon, work, 'beta');
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('create gives raw, JWK and PEM public keys that node:crypto and OpenSSL accept', async () => {
    const key = await track(call<KeyInfo>(daemon, 'alpha', 'keys', 'create', 'signer'));
    assert.equal(key.version, 1);
    assert.equal(Buffer.from(key.publicKey.raw, 'base64url').length, 32);
    assert.deepEqual({ kty: key.publicKey.jwk.kty, crv: key.publicKey.jwk.crv, kid: key.publicKey.jwk.kid }, { kty: 'OKP', crv: 'Ed25519', kid: 'signer.1' });
    const fromPem = createPublicKey(key.publicKey.pem);
    const fromJwk = createPublicKey({ key: key.publicKey.jwk, format: 'jwk' });
    assert.deepEqual(fromPem.export({ format: 'der', type: 'spki' }), fromJwk.export({ format: 'der', type: 'spki' }));
    const pemFile = join(work, 'signer.pem');
    writeFileSync(pemFile, key.publicKey.pem);
    assert.match(execFileSync('openssl', ['pkey', '-pubin', '-in', pemFile, '-noout', '-text'], { encoding: 'utf8' }), /ED25519 Public-Key/);
    const again = await rpc(daemon, 'alpha', 'keys', 'create', 'signer');
    assert.deepEqual([again.error?.code, again.error?.status], ['keys.exists', 409]);
    const existing = await track(call<KeyInfo & { created: boolean }>(daemon, 'alpha', 'keys', 'getOrCreate', 'signer'));
    assert.equal(existing.created, false);
    assert.equal(existing.publicKey.raw, key.publicKey.raw);
  });

  test('signatures verify in node:crypto and as a JWS in jose', async () => {
    const key = await track(call<KeyInfo>(daemon, 'alpha', 'keys', 'publicKey', 'signer'));
    const message = new TextEncoder().encode('attack at dawn');
    const signature = bytesOf(await track(call(daemon, 'alpha', 'keys', 'sign', 'signer', message)));
    assert.equal(signature.length, 64);
    assert.equal(verify(null, message, createPublicKey(key.publicKey.pem), signature), true);
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', message, new Uint8Array(signature)), true);
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', new TextEncoder().encode('attack at dusk'), new Uint8Array(signature)), false);

    // A large message is signed and checked in the background thread: the same signatures.
    const large = new Uint8Array(SIGN_DATA_BYTES_MAX).map((_, i) => i % 251);
    const largeSignature = bytesOf(await call(daemon, 'alpha', 'keys', 'sign', 'signer', large));
    assert.equal(verify(null, large, createPublicKey(key.publicKey.pem), largeSignature), true);
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', large, new Uint8Array(largeSignature)), true);
    large[SIGN_DATA_BYTES_MAX - 1]! ^= 1;
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', large, new Uint8Array(largeSignature)), false);

    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: key.publicKey.jwk.kid })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'someone' })).toString('base64url');
    const jwsSignature = bytesOf(await call(daemon, 'alpha', 'keys', 'sign', 'signer', `${header}.${payload}`));
    const jws = `${header}.${payload}.${jwsSignature.toString('base64url')}`;
    const verified = await compactVerify(jws, await importJWK({ ...key.publicKey.jwk, alg: 'EdDSA' }, 'EdDSA'));
    assert.equal(new TextDecoder().decode(verified.payload), '{"sub":"someone"}');
  });

  test('rotation adds a version; old signatures verify until their version is deleted', async () => {
    const message = new TextEncoder().encode('rotate me');
    const oldSignature = bytesOf(await call(daemon, 'alpha', 'keys', 'sign', 'signer', message));
    const rotated = await track(call<KeyInfo>(daemon, 'alpha', 'keys', 'rotate', 'signer'));
    assert.deepEqual([rotated.version, rotated.versions], [2, [1, 2]]);
    const newSignature = bytesOf(await call(daemon, 'alpha', 'keys', 'sign', 'signer', message));
    assert.equal(verify(null, message, createPublicKey(rotated.publicKey.pem), newSignature), true, 'sign uses the latest version');
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', message, new Uint8Array(oldSignature)), true);
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', message, new Uint8Array(oldSignature), { version: 1 }), true);
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', message, new Uint8Array(oldSignature), { version: 2 }), false);
    const v1 = await call<KeyInfo>(daemon, 'alpha', 'keys', 'publicKey', 'signer', { version: 1 });
    assert.equal(v1.publicKey.jwk.kid, 'signer.1');
    await call(daemon, 'alpha', 'keys', 'delete', 'signer', { version: 1 });
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', message, new Uint8Array(oldSignature)), false);
    assert.equal(await call(daemon, 'alpha', 'keys', 'verify', 'signer', message, new Uint8Array(newSignature)), true);
  });

  test('a deleted version number is never reused, so a kid names one key forever', async () => {
    const first = await call<KeyInfo>(daemon, 'alpha', 'keys', 'create', 'numbered');
    await call(daemon, 'alpha', 'keys', 'rotate', 'numbered');
    await call(daemon, 'alpha', 'keys', 'delete', 'numbered', { version: 2 });
    const rotated = await call<KeyInfo>(daemon, 'alpha', 'keys', 'rotate', 'numbered');
    assert.deepEqual(rotated.versions, [1, 3]);
    await call(daemon, 'alpha', 'keys', 'delete', 'numbered');
    const recreated = await call<KeyInfo & { created: boolean }>(daemon, 'alpha', 'keys', 'getOrCreate', 'numbered');
    assert.deepEqual([recreated.created, recreated.version], [true, 4]);
    assert.notEqual(recreated.publicKey.raw, first.publicKey.raw);
    const gone = await rpc(daemon, 'alpha', 'keys', 'publicKey', 'numbered', { version: 1 });
    assert.equal(gone.error?.code, 'keys.not_found');
  });

  test('bad input: names, sizes and encodings get clear 4xx errors', async () => {
    const tooBig = await rpc(daemon, 'alpha', 'keys', 'sign', 'signer', new Uint8Array(SIGN_DATA_BYTES_MAX + 1));
    assert.deepEqual([tooBig.error?.code, tooBig.error?.status], ['keys.data_too_large', 413]);
    const atLimit = await rpc(daemon, 'alpha', 'keys', 'sign', 'signer', new Uint8Array(SIGN_DATA_BYTES_MAX));
    assert.equal(atLimit.error, undefined);
    const badSignature = await raw(daemon, 'alpha', { method: 'POST', path: '/v1/keys/signer/verify', body: JSON.stringify({ data: 'aGk=', signature: 'not base64!' }) });
    assert.equal(badSignature.status, 400);
    assert.match(badSignature.body, /\$\.signature/);
    const shortSignature = await raw(daemon, 'alpha', { method: 'POST', path: '/v1/keys/signer/verify', body: JSON.stringify({ data: 'aGk=', signature: 'AAAA' }) });
    assert.deepEqual(JSON.parse(shortSignature.body), { valid: false, version: null });
    const badName = await rpc(daemon, 'alpha', 'keys', 'create', 'no/slashes');
    assert.deepEqual([badName.error?.code, badName.error?.status], ['keys.invalid_name', 400]);
    const missing = await rpc(daemon, 'alpha', 'keys', 'sign', 'nope', 'x');
    assert.deepEqual([missing.error?.code, missing.error?.status], ['keys.not_found', 404]);
    const badVersion = await raw(daemon, 'alpha', { method: 'GET', path: '/v1/keys/signer?version=-1' });
    assert.equal(badVersion.status, 400);
  });

  test('apps can fetch the platform identity JWKS over the ABI, to verify Plinth-Identity offline', async () => {
    const answer = await raw(daemon, 'alpha', { method: 'GET', path: '/v1/identity/jwks' });
    const jwks = JSON.parse(answer.body) as { keys: { kty: string; crv: string; d?: string }[] };
    assert.equal(jwks.keys[0]!.kty, 'OKP');
    assert.equal(jwks.keys[0]!.crv, 'Ed25519');
    assert.equal(jwks.keys[0]!.d, undefined);
  });

  test('another app cannot use, see or delete the key', async () => {
    assert.equal((await rpc(daemon, 'beta', 'keys', 'sign', 'signer', 'x')).error?.code, 'keys.not_found');
    assert.equal((await rpc(daemon, 'beta', 'keys', 'delete', 'signer')).error?.code, 'keys.not_found');
    assert.deepEqual(await call(daemon, 'beta', 'keys', 'list'), []);
    const own = await call<KeyInfo>(daemon, 'beta', 'keys', 'create', 'signer');
    const alphas = await call<KeyInfo>(daemon, 'alpha', 'keys', 'publicKey', 'signer');
    assert.notEqual(own.publicKey.raw, alphas.publicKey.raw, 'same name, separate keys');
  });

  test('getOrCreate records a create for a new key and a public_key read for an existing one', async () => {
    type AuditRow = { key: string; version: number; operation: string };
    const auditOf = (key: string) => {
      const run = daemon.cli(['logs', 'beta', '--audit', '--json']);
      assert.equal(run.status, 0, run.stderr);
      return run.stdout.trim().split('\n').map((l) => JSON.parse(l) as AuditRow).filter((r) => r.key === key).map(({ version, operation }) => ({ version, operation }));
    };
    assert.equal((await call<{ created: boolean }>(daemon, 'beta', 'keys', 'getOrCreate', 'audited')).created, true);
    assert.equal((await call<{ created: boolean }>(daemon, 'beta', 'keys', 'getOrCreate', 'audited')).created, false);
    assert.deepEqual(auditOf('audited'), [{ version: 1, operation: 'create' }, { version: 1, operation: 'public_key' }]);
  });

  test('every use is audited without key material, and no response or log holds private key bytes', async () => {
    for (let i = 0; i < 20; i++) seen.push(JSON.stringify(await rpc(daemon, 'alpha', 'keys', 'sign', 'signer', `message ${i}`)));
    const audit = daemon.cli(['logs', 'alpha', '--audit', '--json']);
    assert.equal(audit.status, 0, audit.stderr);
    const rows = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; version: number; operation: string; at: string });
    assert.ok(rows.filter((r) => r.operation === 'sign' && r.key === 'signer' && r.version === 2).length >= 20);
    assert.ok(rows.some((r) => r.operation === 'rotate') && rows.some((r) => r.operation === 'delete') && rows.some((r) => r.operation === 'create'));
    seen.push(audit.stdout, daemon.cli(['logs', 'alpha', '--json']).stdout, daemon.output());

    // Unseal every private key from the data folder, as an attacker with the root key could, and search for it.
    const rootKey = Buffer.from(readFileSync(join(daemon.dataDir, 'root.key'), 'utf8').trim(), 'base64');
    const db = new Database(join(daemon.dataDir, 'control.db'), { readonly: true });
    const dataKeys = new Map(db.prepare<[], { app_id: string; wrapped: Buffer }>('SELECT app_id, wrapped FROM app_data_keys').all().map((r) => [r.app_id, open(rootKey, r.wrapped, `data-key:${r.app_id}`)]));
    const keys = db.prepare<[], { app_id: string; name: string; version: number; sealed_private_key: Buffer }>('SELECT app_id, name, version, sealed_private_key FROM signing_keys WHERE deleted_at IS NULL').all();
    const tombstones = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM signing_keys WHERE deleted_at IS NOT NULL AND length(sealed_private_key) > 0").get()!.n;
    assert.equal(tombstones, 0, 'deleted versions keep no private key');
    db.close();
    assert.ok(keys.length >= 2);
    const haystack = seen.join('\n');
    for (const key of keys) {
      const pkcs8 = open(dataKeys.get(key.app_id)!, key.sealed_private_key, `${key.app_id}:key:${key.name}:${key.version}`);
      const seed = pkcs8.subarray(pkcs8.length - 32);
      for (const form of [seed.toString('base64'), seed.toString('base64url'), seed.toString('hex'), pkcs8.toString('base64')]) {
        assert.equal(haystack.includes(form), false, `private key of ${key.app_id}/${key.name}.${key.version} leaked`);
      }
    }
  });
});
