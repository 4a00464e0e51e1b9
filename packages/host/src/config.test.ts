import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

test('defaults work on one machine', () => {
  const config = loadConfig({}, {});
  assert.equal(config.port, 8080);
  assert.equal(config.baseUrl.origin, 'http://localhost:8080');
  assert.equal(config.baseHost, 'localhost:8080');
  assert.equal(config.isolation, 'auto');
  assert.deepEqual(config.trustedProxies, []);
  assert.ok(Object.isFrozen(config));
});

test('flags win over environment variables', () => {
  const config = loadConfig({ port: '9000' }, { PLINTH_PORT: '7000', PLINTH_BASE_URL: 'https://apps.example.com' });
  assert.equal(config.port, 9000);
  assert.equal(config.baseHost, 'apps.example.com');
});

test('bad settings name the variable', () => {
  assert.throws(() => loadConfig({}, { PLINTH_PORT: '70000' }), (e: unknown) => e instanceof ConfigError && /PLINTH_PORT/.test(e.message));
  assert.throws(() => loadConfig({}, { PLINTH_BASE_URL: 'not a url' }), /PLINTH_BASE_URL/);
  assert.throws(() => loadConfig({}, { PLINTH_TRUSTED_PROXIES: '10.0.0.0/8,300.1.1.1' }), /PLINTH_TRUSTED_PROXIES/);
  assert.deepEqual(loadConfig({}, { PLINTH_TRUSTED_PROXIES: ' 10.0.0.0/8 , ::1 ' }).trustedProxies, ['10.0.0.0/8', '::1']);
  assert.throws(() => loadConfig({}, { PLINTH_EGRESS_ALLOW_PRIVATE: 'localhost' }), /PLINTH_EGRESS_ALLOW_PRIVATE/);
  assert.deepEqual(loadConfig({}, { PLINTH_EGRESS_ALLOW_PRIVATE: '127.0.0.1:5432,[::1]:6379' }).egressAllowPrivate, ['127.0.0.1:5432', '[::1]:6379']);
  assert.throws(() => loadConfig({}, { PLINTH_DATA: `/tmp/${'d'.repeat(80)}` }), /PLINTH_DATA: .* too long/);
  for (const idle of ['999', '3600001', 'soon']) assert.throws(() => loadConfig({}, { PLINTH_S3_IDLE_TIMEOUT_MS: idle }), /PLINTH_S3_IDLE_TIMEOUT_MS/, idle);
  assert.equal(loadConfig({}, {}).s3IdleTimeoutMs, 60_000);
  assert.equal(loadConfig({}, { PLINTH_S3_IDLE_TIMEOUT_MS: '2000' }).s3IdleTimeoutMs, 2000);
});

test('operator ceilings and the storage quota: finite defaults, bounded by what a manifest may ask', () => {
  const defaults = loadConfig({}, {});
  assert.deepEqual(defaults.appCeilings, { memoryMb: 1024, concurrency: 256, sockets: 10_000, requestTimeoutMs: 300_000 });
  assert.equal(defaults.appStorageBytesMax, 10 * 1024 ** 3);
  assert.ok(Object.isFrozen(defaults.appCeilings));
  const set = loadConfig({}, { PLINTH_APP_MEMORY_MB_MAX: '512', PLINTH_APP_CONCURRENCY_MAX: '8', PLINTH_APP_SOCKETS_MAX: '0', PLINTH_APP_REQUEST_TIMEOUT_MS_MAX: '1000', PLINTH_APP_STORAGE_BYTES_MAX: '1048576' });
  assert.deepEqual(set.appCeilings, { memoryMb: 512, concurrency: 8, sockets: 0, requestTimeoutMs: 1000 });
  assert.equal(set.appStorageBytesMax, 1048576);
  for (const [name, value] of [['PLINTH_APP_MEMORY_MB_MAX', '4097'], ['PLINTH_APP_MEMORY_MB_MAX', '15'], ['PLINTH_APP_CONCURRENCY_MAX', '0'], ['PLINTH_APP_SOCKETS_MAX', '100001'],
    ['PLINTH_APP_REQUEST_TIMEOUT_MS_MAX', '600001'], ['PLINTH_APP_STORAGE_BYTES_MAX', '1048575'], ['PLINTH_APP_STORAGE_BYTES_MAX', 'lots']] as const) {
    assert.throws(() => loadConfig({}, { [name]: value }), new RegExp(name), `${name}=${value}`);
  }
});
