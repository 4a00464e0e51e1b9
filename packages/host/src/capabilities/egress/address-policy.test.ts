import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBlockedAddress, isLocalAddress, parsePrivateAllowance } from './address-policy.js';
import { pickAddress } from './guarded-lookup.js';

test('loopback, private, link-local, unique-local, multicast and reserved addresses are blocked', () => {
  for (const ip of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1',
    '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', 'not-an-ip']) {
    assert.equal(isBlockedAddress(ip), true, ip);
  }
  for (const ip of ['93.184.216.34', '1.1.1.1', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) assert.equal(isBlockedAddress(ip), false, ip);
});

test('local addresses include loopback and the unspecified address', () => {
  assert.equal(isLocalAddress('127.0.0.1'), true);
  assert.equal(isLocalAddress('::ffff:127.0.0.1'), true);
  assert.equal(isLocalAddress('0.0.0.0'), true);
  assert.equal(isLocalAddress('93.184.216.34'), false);
});

test('the operator allowance is exact: host or address, and port', () => {
  const allowance = parsePrivateAllowance(['db.internal:5432', '127.0.0.1:9000', '[::1]:9001']);
  assert.equal(allowance.allows('db.internal', '10.0.0.5', 5432), true);
  assert.equal(allowance.allows('db.internal', '10.0.0.5', 5433), false);
  assert.equal(allowance.allows('localhost', '127.0.0.1', 9000), true);
  assert.equal(allowance.allows('localhost', '::1', 9001), true);
  assert.equal(allowance.allows('localhost', '127.0.0.1', 9001), false);
});

const guard = (answers: string[], allow: string[] = [], platformPorts: number[] = []) => ({
  timeoutMs: 1_000,
  allowance: parsePrivateAllowance(allow),
  platformPorts: new Set(platformPorts),
  resolve: async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
});

test('the first permitted address is picked; private answers are skipped, never connected to', async () => {
  const picked = await pickAddress(guard(['10.0.0.1', '93.184.216.34']), 'mixed.example', 443);
  assert.deepEqual(picked, { ok: true, value: { address: '93.184.216.34', family: 4 } });
  const refused = await pickAddress(guard(['169.254.169.254']), 'metadata.example', 80);
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.error.code, 'egress.private_address');
});

test('the address is checked once per connection, so a rebinding second answer is never used', async () => {
  let calls = 0;
  const rebinding = { ...guard([]), resolve: async () => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 }] };
  const picked = await pickAddress(rebinding, 'rebind.example', 443);
  assert.deepEqual(picked, { ok: true, value: { address: '93.184.216.34', family: 4 } });
  assert.equal(calls, 1);
});

test('literal IPs are judged without DNS; the platform port is refused even when allowed', async () => {
  const literal = await pickAddress({ ...guard([]), resolve: async () => assert.fail('no DNS for a literal') }, '10.9.8.7', 80);
  assert.equal(!literal.ok && literal.error.code, 'egress.private_address');
  const platform = await pickAddress(guard(['127.0.0.1'], ['localhost:8080'], [8080]), 'localhost', 8080);
  assert.equal(!platform.ok && platform.error.code, 'egress.platform_port');
  const dnsFailure = await pickAddress({ ...guard([]), resolve: async () => { throw new Error('ENOTFOUND'); } }, 'nowhere.example', 443);
  assert.equal(!dnsFailure.ok && dnsFailure.error.code, 'egress.dns_failed');
});
