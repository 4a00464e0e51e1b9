import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOutboundMatcher } from './outbound-rules.js';

const allowed = createOutboundMatcher(['api.example.com', '*.example.org', 'http://plain.example.net', 'ports.example.com:8443']);
const check = (url: string) => allowed(new URL(url));

test('exact hosts allow HTTPS on the default port only', () => {
  assert.equal(check('https://api.example.com/v1'), true);
  assert.equal(check('https://API.example.com./v1'), true);
  assert.equal(check('http://api.example.com/v1'), false, 'plain HTTP must be named');
  assert.equal(check('https://api.example.com:8443/'), false, 'another port must be named');
  assert.equal(check('https://evil-api.example.com/'), false);
  assert.equal(check('https://api.example.com.evil.net/'), false);
});

test('wildcards match subdomains, not the apex', () => {
  assert.equal(check('https://a.example.org/'), true);
  assert.equal(check('https://a.b.example.org/'), true);
  assert.equal(check('https://example.org/'), false);
  assert.equal(check('https://badexample.org/'), false);
});

test('http:// entries allow plain HTTP on port 80, explicit ports their own', () => {
  assert.equal(check('http://plain.example.net/'), true);
  assert.equal(check('https://plain.example.net/'), false);
  assert.equal(check('https://ports.example.com:8443/'), true);
  assert.equal(check('https://ports.example.com/'), false);
});

test('no list means no hosts, and other schemes never match', () => {
  assert.equal(createOutboundMatcher([])(new URL('https://api.example.com/')), false);
  assert.equal(check('ftp://api.example.com/'), false);
});
