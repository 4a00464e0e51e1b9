import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBase64Hash, isFingerprinted, isHexHash } from './fingerprint.js';

test('bundler outputs with a content hash are fingerprinted', () => {
  for (const path of [
    '/app.3f9a1c2b.js', // Parcel, webpack [name].[contenthash:8]
    '/static/js/main.3f9a1c2b.chunk.js', // create-react-app
    '/assets/index-BxY12_aZ.js', // Vite / Rollup [name]-[hash]
    '/assets/index-B-x12_aZ.css', // base64url holds "-" too
    '/chunk-5ZQGQ2QA.js', // esbuild [name]-[hash], base32
    '/vendor_9f86d081884c7d65.js',
    '/img/logo.9F86D081.png',
    '/my-lib-BxY12_aZ.mjs', // a dashed name before the hash
    '/LICENSE-3f9a1c2b', // no extension
    '/a/b/c/app.0123456789abcdef0123456789abcdef.js',
  ]) {
    assert.equal(isFingerprinted(path), true, path);
  }
});

test('ordinary names, versions, sizes and dates are not fingerprinted', () => {
  for (const path of [
    '/index.html',
    '/app.js',
    '/jquery-3.7.1.min.js',
    '/fonts/Inter-Variable.woff2',
    '/fonts/IBMPlexSans-Bold.woff2',
    '/fonts/roboto-latin-400.woff2',
    '/components-HomePage.js',
    '/photo-iPhone12.jpg',
    '/icon-192x192.png',
    '/hero-1920x1080.jpg',
    '/app-v2-index.js',
    '/report-20240101.pdf', // all digits: a date, not a hash
    '/deadbeef.js', // hex letters only: a word
    '/FAVICONS.ico',
    '/settings.json',
    '/abc1234.js', // 7 hex digits: below the minimum
  ]) {
    assert.equal(isFingerprinted(path), false, path);
  }
});

test('hex and base64url token rules at their length bounds', () => {
  assert.equal(isHexHash('3f9a1c2'), false);
  assert.equal(isHexHash('3f9a1c2b'), true);
  assert.equal(isHexHash('3F9A1C2B'), true);
  assert.equal(isHexHash('3f9A1c2b'), false, 'mixed case is not how hashes are printed');
  assert.equal(isHexHash('a1'.repeat(64)), true);
  assert.equal(isHexHash('a1'.repeat(64) + 'a'), false);
  assert.equal(isBase64Hash('BxY12_a'), false);
  assert.equal(isBase64Hash('BxY12_aZ'), true);
  assert.equal(isBase64Hash('BxY12_aZ'.repeat(2) + 'BxY12_'), true);
  assert.equal(isBase64Hash('BxY12_aZ'.repeat(2) + 'BxY12_a'), false);
  assert.equal(isBase64Hash('HomePage'), false);
  assert.equal(isBase64Hash('lowercase1'), false, 'needs an upper-case letter');
});
