import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { call, installVault, raw, rpc } from '../../testing/vault-rpc.js';
import { SECRET_VALUE_BYTES_MAX } from './limits.js';

describe('secrets vault', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-secrets-'));
  let daemon: TestDaemon;

  before(async () => {
    daemon = await startTestDaemon();
    installVault(daemon, work, 'alpha');
    installVault(daemon, work, 'beta');
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('set, get, list (names only) and delete round-trip', async () => {
    await call(daemon, 'alpha', 'secrets', 'set', 'API_TOKEN', 'tok-123 ünïcode');
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'API_TOKEN'), 'tok-123 ünïcode');
    await call(daemon, 'alpha', 'secrets', 'set', 'API_TOKEN', 'tok-456');
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'API_TOKEN'), 'tok-456');
    const list = await call<{ name: string; createdAt: string; value?: string }[]>(daemon, 'alpha', 'secrets', 'list');
    assert.deepEqual(list.map((s) => s.name), ['API_TOKEN']);
    assert.equal('value' in list[0]!, false);
    assert.match(list[0]!.createdAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal(await call(daemon, 'alpha', 'secrets', 'delete', 'API_TOKEN'), true);
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'API_TOKEN'), null);
    assert.equal(await call(daemon, 'alpha', 'secrets', 'delete', 'API_TOKEN'), false);
  });

  test('getOrCreate is atomic: 50 concurrent callers, exactly one creation, one value', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => call<{ value: string; created: boolean }>(daemon, 'alpha', 'secrets', 'getOrCreate', 'SESSION_KEY', { bytes: 32, encoding: 'hex' })));
    assert.equal(answers.filter((a) => a.created).length, 1);
    assert.equal(new Set(answers.map((a) => a.value)).size, 1);
    assert.match(answers[0]!.value, /^[0-9a-f]{64}$/);
    const fixed = await call<{ value: string; created: boolean }>(daemon, 'alpha', 'secrets', 'getOrCreate', 'FIXED', { value: 'given' });
    assert.deepEqual(fixed, { value: 'given', created: true });
    assert.deepEqual(await call(daemon, 'alpha', 'secrets', 'getOrCreate', 'FIXED', { value: 'other' }), { value: 'given', created: false });
  });

  test('bad input gets precise errors and changes nothing', async () => {
    await call(daemon, 'alpha', 'secrets', 'set', 'KEEP', 'kept');
    for (const name of ['', 'has space', 'a/b', '../beta/KEEP', 'x'.repeat(129), 'nul\u0000']) {
      const answer = await rpc(daemon, 'alpha', 'secrets', 'set', name, 'v');
      assert.equal(answer.error?.code, 'secrets.invalid_name', JSON.stringify(name));
    }
    const atLimit = await rpc(daemon, 'alpha', 'secrets', 'set', 'BIG', 'x'.repeat(SECRET_VALUE_BYTES_MAX));
    assert.equal(atLimit.error, undefined);
    const tooBig = await rpc(daemon, 'alpha', 'secrets', 'set', 'KEEP', 'x'.repeat(SECRET_VALUE_BYTES_MAX + 1));
    assert.deepEqual([tooBig.error?.code, tooBig.error?.status], ['secrets.value_too_large', 413]);
    const missing = await raw(daemon, 'alpha', { method: 'GET', path: '/v1/secrets/NOPE' });
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { error: { code: string } }).error.code, 'secrets.not_found');
    const badBody = await raw(daemon, 'alpha', { method: 'PUT', path: '/v1/secrets/KEEP', body: '{"value": 12}', headers: { 'content-type': 'application/json' } });
    assert.equal(badBody.status, 400);
    assert.match(badBody.body, /\$\.value/);
    const badGenerate = await rpc(daemon, 'alpha', 'secrets', 'getOrCreate', 'G', { bytes: 0 });
    assert.equal(badGenerate.error?.code, 'platform.bad_request');
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'KEEP'), 'kept');
  });

  test('one app cannot reach another app\'s secrets by any name, path or header', async () => {
    await call(daemon, 'beta', 'secrets', 'set', 'BETA_ONLY', 'beta-secret-value');
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'BETA_ONLY'), null);
    for (const path of ['/v1/secrets/..%2Fbeta%2FBETA_ONLY', '/v1/secrets/beta%2FBETA_ONLY', '/v1/apps/beta/secrets/BETA_ONLY', '/v1/secrets/BETA_ONLY?app=beta']) {
      const answer = await raw(daemon, 'alpha', { method: 'GET', path, headers: { 'plinth-app-id': 'beta', 'x-app-id': 'beta' } });
      assert.doesNotMatch(answer.body, /beta-secret-value/, path);
      assert.ok(answer.status >= 400, `${path} answered ${answer.status}`);
    }
    assert.equal((await call<unknown[]>(daemon, 'alpha', 'secrets', 'list')).some((s) => (s as { name: string }).name === 'BETA_ONLY'), false);
  });

  test('values are not stored in plaintext and never reach the logs', async () => {
    const marker = `plaintext-marker-${Date.now()}`;
    await call(daemon, 'alpha', 'secrets', 'set', 'MARKER', marker);
    const grep = (() => {
      try {
        return execFileSync('grep', ['-r', '-a', '-l', marker, daemon.dataDir], { encoding: 'utf8' });
      } catch {
        return '';
      }
    })();
    assert.equal(grep, '', `plaintext found in ${grep}`);
    assert.doesNotMatch(daemon.output(), new RegExp(marker));
  });

  test('uninstall shreds the app\'s data key and secrets', async () => {
    installVault(daemon, work, 'gamma');
    await call(daemon, 'gamma', 'secrets', 'set', 'X', 'y');
    assert.equal(daemon.cli(['uninstall', 'gamma']).status, 0);
    installVault(daemon, work, 'gamma');
    assert.equal(await call(daemon, 'gamma', 'secrets', 'get', 'X'), null);
  });
});
