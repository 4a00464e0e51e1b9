import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClientIpResolver } from './client-ip.js';

test('without trusted proxies the socket peer is the client, whatever X-Forwarded-For says', () => {
  const resolve = createClientIpResolver([]);
  assert.deepEqual(resolve('::ffff:127.0.0.1', '203.0.113.9'), { ip: '127.0.0.1', viaTrustedProxy: false });
  assert.deepEqual(resolve('::1', undefined), { ip: '::1', viaTrustedProxy: false });
});

test('behind trusted proxies the right-most untrusted hop is the client', () => {
  const resolve = createClientIpResolver(['10.0.0.0/8', '127.0.0.1']);
  assert.deepEqual(resolve('127.0.0.1', '198.51.100.1, 203.0.113.9, 10.1.2.3'), { ip: '203.0.113.9', viaTrustedProxy: true });
  // A hop that is not an IP stops the walk at the last good address.
  assert.deepEqual(resolve('127.0.0.1', 'garbage, 10.1.2.3'), { ip: '10.1.2.3', viaTrustedProxy: true });
  // An untrusted peer's header is ignored.
  assert.deepEqual(resolve('192.0.2.1', '203.0.113.9'), { ip: '192.0.2.1', viaTrustedProxy: false });
});

test('IPv6 ranges are honoured', () => {
  const resolve = createClientIpResolver(['fd00::/8']);
  assert.equal(resolve('fd12::1', '2001:db8::5').ip, '2001:db8::5');
  assert.equal(resolve('fe80::1', '2001:db8::5').ip, 'fe80::1');
});
