import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptsHtml, chooseEncoding, parseAcceptEncoding, type ContentCoding } from './negotiate.js';

const both = new Set<ContentCoding>(['br', 'gzip']);
const gzipOnly = new Set<ContentCoding>(['gzip']);

test('brotli is preferred when the weights tie', () => {
  assert.equal(chooseEncoding('gzip, deflate, br, zstd', both), 'br');
  assert.equal(chooseEncoding('br, gzip', both), 'br');
  assert.equal(chooseEncoding('*', both), 'br');
});

test('the highest weight wins and q=0 refuses a coding', () => {
  assert.equal(chooseEncoding('br;q=0.5, gzip;q=0.8', both), 'gzip');
  assert.equal(chooseEncoding('br;q=0, gzip', both), 'gzip');
  assert.equal(chooseEncoding('br;q=0, gzip;q=0', both), null);
  assert.equal(chooseEncoding('*;q=0, gzip', both), 'gzip');
  assert.equal(chooseEncoding('br;q=0.001', both), 'br');
  assert.equal(chooseEncoding('BR ; Q=1.0', both), 'br', 'names and parameters are case-insensitive');
});

test('only codings that exist and are asked for are chosen', () => {
  assert.equal(chooseEncoding('br', gzipOnly), null);
  assert.equal(chooseEncoding('x-gzip', gzipOnly), 'gzip', 'x-gzip is gzip (RFC 9110 §8.4.1.3)');
  assert.equal(chooseEncoding('identity', both), null);
  assert.equal(chooseEncoding('', both), null);
  assert.equal(chooseEncoding(undefined, both), null, 'no header: tools that would not decode get the file as is');
  assert.equal(chooseEncoding('gzip, br', new Set()), null);
});

test('malformed weights drop their entry instead of being guessed', () => {
  assert.equal(chooseEncoding('br;q=2, gzip', both), 'gzip');
  assert.equal(chooseEncoding('br;q=abc', both), null);
  assert.deepEqual([...parseAcceptEncoding('gzip;q=0.5, gzip;q=0.9').entries()], [['gzip', 0.9]]);
});

test('the header is read up to its entry cap', () => {
  const noise = Array.from({ length: 40 }, (_, i) => `x${i}`).join(', ');
  assert.equal(chooseEncoding(`${noise}, br`, both), null, 'entries past the cap are not read');
  assert.equal(chooseEncoding(`br, ${noise}`, both), 'br');
});

test('a navigation asks for text/html; API calls do not', () => {
  assert.equal(acceptsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true);
  assert.equal(acceptsHtml('application/json'), false);
  assert.equal(acceptsHtml('*/*'), false);
  assert.equal(acceptsHtml('text/html;q=0, application/json'), false);
  assert.equal(acceptsHtml(undefined), false);
});
