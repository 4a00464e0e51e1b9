import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConcurrencyGate } from './concurrency-gate.js';

test('grants up to the limit, queues up to queueMax, refuses the rest at once', async () => {
  const gate = new ConcurrencyGate(2, 1, 1_000);
  const a = await gate.acquire();
  const b = await gate.acquire();
  assert.ok(a && b);
  const queued = gate.acquire();
  assert.equal(await gate.acquire(), null, 'queue full');
  a();
  const c = await queued;
  assert.ok(c, 'the freed slot went to the waiter');
  assert.equal(gate.inFlight, 2);
  b();
  c();
  assert.equal(gate.inFlight, 0);
});

test('a waiter gives up after waitMsMax and leaves the queue', async () => {
  const gate = new ConcurrencyGate(1, 5, 50);
  const held = await gate.acquire();
  assert.equal(await gate.acquire(), null);
  held!();
  assert.equal(gate.inFlight, 0, 'the timed-out waiter did not take the slot');
});

test('releasing twice frees only one slot', async () => {
  const gate = new ConcurrencyGate(1, 0, 10);
  const release = await gate.acquire();
  release!();
  release!();
  assert.equal(gate.inFlight, 0);
  assert.ok(await gate.acquire());
  assert.equal(await gate.acquire(), null);
});
