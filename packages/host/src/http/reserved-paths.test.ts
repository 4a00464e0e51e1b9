import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isReservedPath, safeReturnPath } from './app-proxy.js';

test('reserved paths match however they are spelled', () => {
  for (const path of ['/after-update', '/after-update/', '/AFTER-UPDATE', '//after-update', '/.plinth', '/.plinth/x', '/%2eplinth/x', '/%2Eplinth/x', '/.Plinth/x', '/%2fafter-update']) {
    assert.equal(isReservedPath(path), true, path);
  }
  for (const path of ['/', '/after-updates', '/plinth/x', '/x/.plinth', '/%E0%A4%A']) assert.equal(isReservedPath(path), false, path);
});

test('return paths stay on the same origin', () => {
  assert.equal(safeReturnPath('/notes?x=1'), '/notes?x=1');
  for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', 'javascript:alert(1)', '', null, undefined]) {
    assert.equal(safeReturnPath(bad), '/', String(bad));
  }
});
