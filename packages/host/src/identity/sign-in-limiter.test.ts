import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SIGN_IN_ACCOUNT_FAILURES_BURST, SIGN_IN_ACCOUNT_REFILL_MS, SIGN_IN_CLIENT_FAILURES_BURST, SIGN_IN_CLIENT_REFILL_MS, SIGN_IN_LIMITER_KEYS_MAX,
} from './limits.js';
import { clientKey, createFailureBuckets, createSignInLimiter } from './sign-in-limiter.js';

function clock() {
  let at = 1_000_000;
  return { now: () => at, advance: (ms: number) => { at += ms; } };
}

test('an account may fail its burst, then waits one refill per try; a right password forgives it', () => {
  const time = clock();
  const limiter = createSignInLimiter(time.now);
  for (let i = 0; i < SIGN_IN_ACCOUNT_FAILURES_BURST; i++) assert.equal(limiter.attempt('ada@example.com', `10.0.0.${i}`), undefined, `try ${i + 1}`);
  assert.deepEqual(limiter.attempt('ADA@example.com ', '10.9.9.9'), { waitMs: SIGN_IN_ACCOUNT_REFILL_MS, scope: 'account' });
  time.advance(SIGN_IN_ACCOUNT_REFILL_MS - 1);
  assert.deepEqual(limiter.attempt('ada@example.com', '10.9.9.9'), { waitMs: 1, scope: 'account' });
  time.advance(1);
  assert.equal(limiter.attempt('ada@example.com', '10.9.9.9'), undefined, 'one try came back');
  assert.equal(limiter.attempt('ada@example.com', '10.9.9.9')?.waitMs, SIGN_IN_ACCOUNT_REFILL_MS);
  limiter.succeeded('ada@example.com', '10.9.9.9');
  assert.equal(limiter.attempt('ada@example.com', '10.9.9.9'), undefined);
});

test('tries that run at once cannot pass the burst: each takes its token before the password is checked', () => {
  const limiter = createSignInLimiter(clock().now);
  const answers = Array.from({ length: SIGN_IN_ACCOUNT_FAILURES_BURST + 5 }, (_, i) => limiter.attempt('ada@example.com', `10.0.1.${i}`));
  assert.equal(answers.filter((a) => a === undefined).length, SIGN_IN_ACCOUNT_FAILURES_BURST);
  assert.ok(answers.slice(SIGN_IN_ACCOUNT_FAILURES_BURST).every((a) => a?.scope === 'account'));
});

test('a client address may fail its burst across accounts; a success gives back its own try only', () => {
  const time = clock();
  const limiter = createSignInLimiter(time.now);
  for (let i = 0; i < SIGN_IN_CLIENT_FAILURES_BURST; i++) assert.equal(limiter.attempt(`user${i}@example.com`, '192.0.2.1'), undefined);
  limiter.succeeded('user0@example.com', '192.0.2.1');
  assert.equal(limiter.attempt('someone@example.com', '192.0.2.1'), undefined, 'the success gave its try back');
  assert.deepEqual(limiter.attempt('someone@example.com', '192.0.2.1'), { waitMs: SIGN_IN_CLIENT_REFILL_MS, scope: 'client' });
  assert.equal(limiter.attempt('someone@example.com', '192.0.2.2'), undefined);
  // The rest of an IPv6 /64 is the same client.
  for (let i = 0; i < SIGN_IN_CLIENT_FAILURES_BURST; i++) limiter.attempt(`user${i}@example.com`, `2001:db8:1:2::${i.toString(16)}`);
  assert.equal(limiter.attempt('someone@example.com', '2001:db8:1:2:ffff:ffff:ffff:ffff')?.scope, 'client');
  assert.equal(limiter.attempt('someone@example.com', '2001:db8:1:3::1'), undefined);
});

test('IPv6 addresses are keyed by their /64, IPv4 by the address', () => {
  assert.equal(clientKey('2001:db8:0001:0002:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:DB8:1:2::9'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
  assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(clientKey('203.0.113.9'), '203.0.113.9');
});

test('the buckets never hold more than keysMax keys: refilled ones go first, then the least recently taken', () => {
  const time = clock();
  const buckets = createFailureBuckets({ burst: 2, refillMs: 1000, keysMax: 3 }, time.now);
  buckets.take('refilled');
  time.advance(1000);
  for (const key of ['a', 'b', 'c']) buckets.take(key);
  assert.equal(buckets.size(), 3, 'the refilled bucket made room');
  buckets.take('a');
  buckets.take('d');
  assert.equal(buckets.size(), 3);
  // 'b' was the least recently taken: evicted, so it starts over with a full burst.
  assert.equal(buckets.waitMs('b'), 0);
  assert.equal(buckets.waitMs('a'), 1000, 'a was taken twice and is held');
  buckets.refund('a');
  assert.equal(buckets.waitMs('a'), 0, 'a refund gives one back');
  // At the real bound: a flood of distinct keys leaves exactly SIGN_IN_LIMITER_KEYS_MAX.
  const limiter = createFailureBuckets({ burst: 1, refillMs: 60_000, keysMax: SIGN_IN_LIMITER_KEYS_MAX }, time.now);
  for (let i = 0; i <= SIGN_IN_LIMITER_KEYS_MAX + 100; i++) limiter.take(`k${i}`);
  assert.equal(limiter.size(), SIGN_IN_LIMITER_KEYS_MAX);
  assert.equal(limiter.waitMs(`k${SIGN_IN_LIMITER_KEYS_MAX + 100}`), 60_000, 'the newest is kept');
  assert.equal(limiter.waitMs('k0'), 0, 'the oldest was evicted');
});
