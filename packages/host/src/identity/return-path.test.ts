import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RETURN_PATH_CHARS_MAX } from './limits.js';
import { returnPathSchema, returnUrl } from './return-path.js';

const ORIGIN = 'https://apps.example.com';

test('return paths stay on the origin, made absolute the way a browser reads them', () => {
  assert.equal(returnUrl('/notes?x=1#top', ORIGIN), `${ORIGIN}/notes?x=1#top`);
  // The parser keeps `//evil.example` as a path here; absolute, it cannot be read as a host.
  assert.equal(returnUrl('/.//evil.example', ORIGIN), `${ORIGIN}//evil.example`);
  assert.equal(returnUrl('/caf\u00e9', ORIGIN), `${ORIGIN}/caf%C3%A9`);
  for (const bad of ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', 'https://evil.example', 'javascript:alert(1)', 'notes', '', null, undefined]) {
    assert.equal(returnUrl(bad, ORIGIN), `${ORIGIN}/`, JSON.stringify(bad));
  }
});

test('a return parameter with a control character, or past its length limit, is invalid', () => {
  for (const bad of ['/x\r\n', '/x\t', '/x\u0000', '/x\u007f', '/x\u0085', `/${'a'.repeat(RETURN_PATH_CHARS_MAX)}`]) {
    assert.equal(returnPathSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.equal(returnPathSchema.safeParse(`/${'a'.repeat(RETURN_PATH_CHARS_MAX - 1)}`).success, true, 'at the limit');
});
