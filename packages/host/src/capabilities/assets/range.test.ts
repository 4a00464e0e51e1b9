import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRange } from './range.js';

test('single ranges: first-last, open-ended and suffix', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=90-1000', 100), { kind: 'partial', start: 90, end: 99 }, 'the end is clamped');
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-1000', 100), { kind: 'partial', start: 0, end: 99 });
  assert.deepEqual(parseRange('Bytes = 5-5', 100), { kind: 'partial', start: 5, end: 5 });
  assert.deepEqual(parseRange('bytes=099-', 100), { kind: 'partial', start: 99, end: 99 }, 'leading zeros');
  assert.deepEqual(parseRange('bytes=0-1,', 100), { kind: 'partial', start: 0, end: 1 }, 'an empty list element is ignored');
  assert.deepEqual(parseRange('bytes=, ,-10', 100), { kind: 'partial', start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=100-,', 100), { kind: 'unsatisfiable' });
});

test('at the end of the file: the last byte is satisfiable, one past it is not', () => {
  assert.deepEqual(parseRange('bytes=99-99', 100), { kind: 'partial', start: 99, end: 99 });
  assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=100-200', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' }, 'an empty file has no bytes to range over');
  assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange(`bytes=${'9'.repeat(16)}-`, 100), { kind: 'unsatisfiable' }, 'past any file size');
  assert.deepEqual(parseRange(`bytes=0-${'9'.repeat(30)}`, 100), { kind: 'partial', start: 0, end: 99 });
});

test('malformed ranges, other units and multiple ranges get the whole file', () => {
  for (const header of [undefined, 'bytes=9-0', 'bytes=a-b', 'bytes=', 'bytes 0-9', 'items=0-9', 'bytes=0-1,5-6', 'bytes=,', 'bytes=--5', 'bytes=1.5-2']) {
    assert.deepEqual(parseRange(header, 100), { kind: 'whole' }, String(header));
  }
});
