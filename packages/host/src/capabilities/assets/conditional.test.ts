import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluatePreconditions, ifRangeHolds, type Validators } from './conditional.js';

const LAST_MODIFIED_MS = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
const v: Validators = { etag: '"abc"', lastModifiedMs: LAST_MODIFIED_MS };
const date = (deltaSeconds: number) => new Date(LAST_MODIFIED_MS + deltaSeconds * 1000).toUTCString();

test('If-None-Match: a matching tag (weakly compared, in a list, or *) is not modified', () => {
  assert.equal(evaluatePreconditions({ 'if-none-match': '"abc"' }, v), 'not_modified');
  assert.equal(evaluatePreconditions({ 'if-none-match': 'W/"abc"' }, v), 'not_modified');
  assert.equal(evaluatePreconditions({ 'if-none-match': '"x", "abc"' }, v), 'not_modified');
  assert.equal(evaluatePreconditions({ 'if-none-match': '*' }, v), 'not_modified');
  assert.equal(evaluatePreconditions({ 'if-none-match': '"abd"' }, v), 'proceed');
});

test('If-Modified-Since: at or after Last-Modified is not modified; it is ignored beside If-None-Match', () => {
  assert.equal(evaluatePreconditions({ 'if-modified-since': date(0) }, v), 'not_modified');
  assert.equal(evaluatePreconditions({ 'if-modified-since': date(60) }, v), 'not_modified');
  assert.equal(evaluatePreconditions({ 'if-modified-since': date(-1) }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-modified-since': 'not a date' }, v), 'proceed');
  // Only HTTP-dates are dates (RFC 9110 §5.6.7): these far-future values would otherwise be 304s.
  for (const value of ['2099', '12/31/2099', '2099-12-31T00:00:00Z']) assert.equal(evaluatePreconditions({ 'if-modified-since': value }, v), 'proceed', value);
  assert.equal(evaluatePreconditions({ 'if-unmodified-since': '1999' }, v), 'proceed', 'not a date: ignored, not failed');
  assert.equal(evaluatePreconditions({ 'if-none-match': '"old"', 'if-modified-since': date(60) }, v), 'proceed');
});

test('If-Match and If-Unmodified-Since fail when they do not hold', () => {
  assert.equal(evaluatePreconditions({ 'if-match': '"abc"' }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-match': '*' }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-match': 'W/"abc"' }, v), 'failed', 'If-Match compares strongly');
  assert.equal(evaluatePreconditions({ 'if-match': '"other"' }, v), 'failed');
  assert.equal(evaluatePreconditions({ 'if-unmodified-since': date(0) }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-unmodified-since': date(-1) }, v), 'failed');
});

test('If-Range holds only for the exact strong tag or the exact date', () => {
  assert.equal(ifRangeHolds(undefined, v), true);
  assert.equal(ifRangeHolds('"abc"', v), true);
  assert.equal(ifRangeHolds('W/"abc"', v), false);
  assert.equal(ifRangeHolds('"old"', v), false);
  assert.equal(ifRangeHolds(date(0), v), true);
  assert.equal(ifRangeHolds(date(1), v), false);
  assert.equal(ifRangeHolds('garbage', v), false);
  assert.equal(ifRangeHolds(new Date(LAST_MODIFIED_MS).toISOString(), v), false, 'an ISO time is not an HTTP-date');
});
