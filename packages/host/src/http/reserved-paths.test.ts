import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isReservedPath } from './app-proxy.js';

test('reserved paths match however they are spelled', () => {
  for (const path of ['/after-update', '/after-update/', '/AFTER-UPDATE', '//after-update', '/.plinth', '/.plinth/x', '/%2eplinth/x', '/%2Eplinth/x', '/.Plinth/x', '/%2fafter-update']) {
    assert.equal(isReservedPath(path), true, path);
  }
  for (const path of ['/', '/after-updates', '/plinth/x', '/x/.plinth', '/%E0%A4%A']) assert.equal(isReservedPath(path), false, path);
});
