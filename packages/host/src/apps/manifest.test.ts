import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSemver, isPublicPath, isSemver, jsonPath, parseManifest, parseManifestText, relativePathProblem } from './manifest.js';
import {
  APP_CONCURRENCY_DEFAULT,
  APP_MEMORY_MB_DEFAULT,
  APP_MEMORY_MB_MAX,
  APP_REQUEST_TIMEOUT_MS_DEFAULT,
  APP_SOCKETS_DEFAULT,
  PUBLIC_PATTERNS_MAX,
} from './limits.js';

const KEY = 'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik';

function paths(input: unknown): string[] {
  const result = parseManifest(input);
  assert.equal(result.ok, false);
  if (result.ok) return [];
  assert.equal(result.error.code, 'manifest.invalid');
  return (result.error.details ?? []).map((d) => d.path);
}

test('a minimal manifest gets every default', () => {
  const result = parseManifest({ id: 'notes', name: 'Notes', version: '1.4.0' });
  assert.ok(result.ok);
  assert.deepEqual(result.value, {
    id: 'notes',
    name: 'Notes',
    version: '1.4.0',
    main: 'src/index.ts',
    public: [],
    cache: [],
    outbound: [],
    limits: {
      concurrency: APP_CONCURRENCY_DEFAULT,
      memoryMb: APP_MEMORY_MB_DEFAULT,
      sockets: APP_SOCKETS_DEFAULT,
      requestTimeoutMs: APP_REQUEST_TIMEOUT_MS_DEFAULT,
    },
    products: [],
  });
});

test('the CONTRACT §3 example is valid and partial limits keep the other defaults', () => {
  const result = parseManifest({
    id: 'notes',
    name: 'Notes',
    version: '1.4.0',
    main: 'src/index.ts',
    assets: 'public',
    public: ['/', '/assets/*', '/api/hooks/*'],
    outbound: ['api.example.com', '*.example.org'],
    limits: { concurrency: 16, memoryMb: 128, sockets: 10000 },
    products: [{ id: 'supporter', title: 'Supporter badge', price: '25.00', currency: 'USD' }],
    vendor: { url: 'https://vendor.example/plinth', keys: [{ kid: '2026-1', publicKey: KEY }] },
    minUpgradableVersion: '1.0.0',
  });
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.limits.sockets, 10000);
  assert.equal(result.value.limits.requestTimeoutMs, APP_REQUEST_TIMEOUT_MS_DEFAULT);
});

test('every problem is reported at once, each with its JSON path', () => {
  const result = parseManifest({
    id: 'Bad_Id',
    name: '',
    version: '1.0',
    main: '../outside.ts',
    public: ['/ok', 'no-slash', '/a*'],
    outbound: ['https://API.example.com', 'host:99999'],
    limits: { memoryMb: APP_MEMORY_MB_MAX + 1, concurrency: 1.5 },
    products: [{ id: 'p', title: 'P', price: '1,00', currency: 'usd' }],
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const got = (result.error.details ?? []).map((d) => d.path).sort();
  assert.deepEqual(got, [
    '$.id',
    '$.limits.concurrency',
    '$.limits.memoryMb',
    '$.main',
    '$.name',
    '$.outbound[0]',
    '$.outbound[1]',
    '$.products[0].currency',
    '$.products[0].price',
    '$.public[1]',
    '$.public[2]',
    '$.version',
  ]);
  // The message lists each problem, so a CLI user sees them all in one line.
  for (const path of got) assert.ok(result.error.message.includes(path), `${path} missing from message`);
  assert.match(result.error.message, /^plinth\.json has 12 problems: /);
});

test('unknown keys are errors, at top level and nested', () => {
  assert.deepEqual(paths({ id: 'notes', name: 'N', version: '1.0.0', permissions: [], limits: { cpu: 1 } }).sort(), [
    '$.limits.cpu',
    '$.permissions',
  ]);
});

test('id must be a short lowercase DNS label starting with a letter', () => {
  for (const id of ['a', '1abc', 'ab_c', 'Abc', 'a'.repeat(32), '', 'ab.c', 'ab-', 's3', 'www']) {
    assert.deepEqual(paths({ id, name: 'N', version: '1.0.0' }), ['$.id'], id);
  }
  for (const id of ['ab', 'a-b', 'a9', 'a'.repeat(31)]) {
    assert.ok(parseManifest({ id, name: 'N', version: '1.0.0' }).ok, id);
  }
});

test('version must be strict semver', () => {
  for (const version of ['1.0', '01.0.0', '1.0.0-', '1.0.0-01', 'v1.0.0', '1.0.0.0', ' 1.0.0', '1.0.0+', '']) {
    assert.equal(isSemver(version), false, version);
    assert.deepEqual(paths({ id: 'ab', name: 'N', version }), ['$.version'], version);
  }
  for (const version of ['0.0.0', '1.2.3-alpha.1', '1.2.3-0.3.7', '1.0.0-x-y.z+build.5', '10.20.30+meta']) {
    assert.equal(isSemver(version), true, version);
  }
});

test('compareSemver follows semver.org precedence', () => {
  const ordered = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1',
    '1.2.0',
    '1.10.0',
    '2.0.0',
    '99999999999999999999.0.0',
  ];
  for (let i = 0; i < ordered.length - 1; i++) {
    assert.equal(compareSemver(ordered[i] ?? '', ordered[i + 1] ?? ''), -1, `${ordered[i]} < ${ordered[i + 1]}`);
    assert.equal(compareSemver(ordered[i + 1] ?? '', ordered[i] ?? ''), 1);
  }
  assert.equal(compareSemver('1.0.0+a', '1.0.0+b'), 0);
  assert.throws(() => compareSemver('1.0', '1.0.0'));
});

test('cross-field rules: minUpgradableVersion, spa without assets, products without vendor, duplicates', () => {
  assert.deepEqual(paths({ id: 'ab', name: 'N', version: '1.0.0', minUpgradableVersion: '1.0.1' }), ['$.minUpgradableVersion']);
  assert.deepEqual(paths({ id: 'ab', name: 'N', version: '1.0.0', spa: '/index.html' }), ['$.spa']);
  const product = { id: 'p', title: 'P', price: '1', currency: 'EUR' };
  assert.deepEqual(paths({ id: 'ab', name: 'N', version: '1.0.0', products: [product] }), ['$.vendor']);
  const vendor = { url: 'https://v.example', keys: [{ kid: 'k', publicKey: KEY }, { kid: 'k', publicKey: KEY }] };
  assert.deepEqual(paths({ id: 'ab', name: 'N', version: '1.0.0', products: [product, product], vendor }).sort(), [
    '$.products[1].id',
    '$.vendor.keys[1].kid',
  ]);
});

test('vendor keys must be raw 32-byte Ed25519 keys in base64url', () => {
  const manifest = (publicKey: string) => ({ id: 'ab', name: 'N', version: '1.0.0', vendor: { url: 'https://v.example', keys: [{ kid: 'k', publicKey }] } });
  assert.deepEqual(paths(manifest(`${KEY}=`)), ['$.vendor.keys[0].publicKey']);
  assert.deepEqual(paths(manifest(KEY.slice(0, -1) + 'B')), ['$.vendor.keys[0].publicKey']);
  assert.ok(parseManifest(manifest(KEY)).ok);
});

test('public list: at the limit passes, one past it fails', () => {
  const list = Array.from({ length: PUBLIC_PATTERNS_MAX }, (_, i) => `/p${i}`);
  assert.ok(parseManifest({ id: 'ab', name: 'N', version: '1.0.0', public: list }).ok);
  assert.deepEqual(paths({ id: 'ab', name: 'N', version: '1.0.0', public: [...list, '/one-more'] }), ['$.public']);
});

test('outbound accepts hosts, wildcards, ports and an http:// prefix', () => {
  const outbound = ['api.example.com', '*.example.org', 'localhost:8080', 'http://legacy.example.com:81', '10.0.0.1'];
  assert.ok(parseManifest({ id: 'ab', name: 'N', version: '1.0.0', outbound }).ok);
  assert.deepEqual(paths({ id: 'ab', name: 'N', version: '1.0.0', outbound: ['*', 'a.*.com', 'host:0', 'ex ample.com'] }), [
    '$.outbound[0]',
    '$.outbound[1]',
    '$.outbound[2]',
    '$.outbound[3]',
  ]);
});

test('parseManifestText reports JSON syntax errors at $', () => {
  const result = parseManifestText('{"id": ');
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.error.code, 'manifest.invalid');
  assert.deepEqual(result.error.details?.map((d) => d.path), ['$']);
  assert.deepEqual(paths([]), ['$']);
});

test('isPublicPath: exact patterns, prefixes and /*', () => {
  const m = { public: ['/', '/about', '/assets/*'] };
  assert.equal(isPublicPath(m, '/'), true);
  assert.equal(isPublicPath(m, '/about'), true);
  assert.equal(isPublicPath(m, '/about/'), false);
  assert.equal(isPublicPath(m, '/aboutx'), false);
  assert.equal(isPublicPath(m, '/assets/'), true);
  assert.equal(isPublicPath(m, '/assets/css/site.css'), true);
  assert.equal(isPublicPath(m, '/assets'), false);
  assert.equal(isPublicPath(m, '/assetsx/a'), false);
  assert.equal(isPublicPath(m, '/admin'), false);
  assert.equal(isPublicPath({ public: ['/*'] }, '/anything/at/all'), true);
  assert.equal(isPublicPath({ public: [] }, '/'), false);
});

test('relativePathProblem refuses escapes and oddities', () => {
  for (const p of ['', '/etc/x', '../x', 'a/../b', 'a//b', './a', 'a\\b', 'a\0b', 'C:x', 'a\nb', 'a/']) {
    assert.notEqual(relativePathProblem(p), null, JSON.stringify(p));
  }
  for (const p of ['a', 'src/index.ts', 'assets/.well-known/x', 'a..b/c', 'ünï/cödé']) {
    assert.equal(relativePathProblem(p), null, p);
  }
});

test('jsonPath quotes keys that are not identifiers', () => {
  assert.equal(jsonPath([]), '$');
  assert.equal(jsonPath(['limits', 'memoryMb']), '$.limits.memoryMb');
  assert.equal(jsonPath(['public', 2]), '$.public[2]');
  assert.equal(jsonPath(['odd key']), '$["odd key"]');
});
