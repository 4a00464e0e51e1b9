import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assetRequestPath } from './request-path.js';

test('plain paths decode to the index key, keeping the raw form for redirects', () => {
  assert.deepEqual(assetRequestPath('/docs/my%20file.html?x=1#frag'), { ok: true, value: { path: '/docs/my file.html', rawPath: '/docs/my%20file.html', rawQuery: '?x=1' } });
  assert.deepEqual(assetRequestPath('/'), { ok: true, value: { path: '/', rawPath: '/', rawQuery: '' } });
  assert.deepEqual(assetRequestPath('http://app.example:8080/a.css?v=2'), { ok: true, value: { path: '/a.css', rawPath: '/a.css', rawQuery: '?v=2' } });
  const unicode = assetRequestPath('/caf%C3%A9.txt');
  assert.equal(unicode.ok && unicode.value.path, '/café.txt');
});

test('the plain fast path and the decoding path agree', () => {
  for (const target of ['/', '/docs/', '/a/b.css', '/.well-known/x.txt', '/a/.hidden', '/a..b/c', '/x~y!$&(),;=:@+-_']) {
    const result = assetRequestPath(target);
    assert.equal(result.ok && result.value.path, decodeURIComponent(target), target);
  }
});

test('traversal and smuggling are refused with assets.bad_path, raw or encoded', () => {
  for (const target of [
    '/../etc/passwd',
    '/static/../private/x',
    '/static/./x',
    '/static/.',
    '/static/..',
    '/./x',
    '/..',
    '/static/%2e%2e/private/x',
    '/static/%2E%2E/x',
    '/static/.%2e/x',
    '/static/..%2fprivate',
    '/static%2fx',
    '/static\\..\\private',
    '/static/..%5cprivate',
    '/static/%5C',
    '/static/a%00.js',
    '/static/%0a',
    '/static/%zz',
    '/static/%',
    'relative/path',
  ]) {
    const result = assetRequestPath(target);
    assert.equal(result.ok ? 'ok' : result.error.code, 'assets.bad_path', target);
  }
});
