import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotJson, parseJsonBody } from './json-body.js';
import { PLATFORM_LARGE_BODY_BYTES_MIN } from './limits.js';

const large = (fill: string) => Buffer.from(JSON.stringify({ data: fill.repeat(PLATFORM_LARGE_BODY_BYTES_MIN) }));

test('large bodies are parsed in the background thread: each call gets its own value, in any order of completion', async () => {
  const bodies = ['a', 'b', 'c', 'd'].map(large);
  const values = await Promise.all(bodies.map((body) => parseJsonBody(body)));
  assert.deepEqual(values.map((v) => (v as { data: string }).data.slice(0, 3)), ['aaa', 'bbb', 'ccc', 'ddd']);
  assert.equal((values[0] as { data: string }).data.length, PLATFORM_LARGE_BODY_BYTES_MIN);
  // The thread was handed the body's memory: the caller's buffer is detached, not copied.
  assert.equal(bodies[0]!.buffer.byteLength, 0);
});

test('a slice of a shared buffer is copied before it is handed over, so its neighbours stay intact', async () => {
  const text = JSON.stringify({ k: 'x'.repeat(PLATFORM_LARGE_BODY_BYTES_MIN) });
  const shared = Buffer.from(`${'#'.repeat(10)}${text}${'#'.repeat(10)}`);
  const slice = shared.subarray(10, 10 + text.length);
  assert.equal(((await parseJsonBody(slice)) as { k: string }).k.length, PLATFORM_LARGE_BODY_BYTES_MIN);
  assert.equal(shared.subarray(0, 10).toString(), '#'.repeat(10));
});

test('invalid JSON is NotJson, large or small; an empty body is undefined; own __proto__ keys stay data', async () => {
  const truncated = large('z').subarray(0, PLATFORM_LARGE_BODY_BYTES_MIN + 5);
  await assert.rejects(parseJsonBody(Buffer.from(truncated)), NotJson);
  await assert.rejects(parseJsonBody(Buffer.from('{"a":')), NotJson);
  assert.equal(await parseJsonBody(Buffer.alloc(0)), undefined);
  const hostile = Buffer.from(`{"__proto__":{"polluted":true},"pad":"${'p'.repeat(PLATFORM_LARGE_BODY_BYTES_MIN)}"}`);
  const value = (await parseJsonBody(hostile)) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { polluted: true });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // Deep nesting is not JSON it can parse; the thread answers NotJson and lives on.
  await assert.rejects(parseJsonBody(Buffer.from('['.repeat(PLATFORM_LARGE_BODY_BYTES_MIN * 4))), NotJson);
  assert.deepEqual(await parseJsonBody(Buffer.from(`[${'1,'.repeat(PLATFORM_LARGE_BODY_BYTES_MIN)}1]`)).then((v) => (v as number[]).length), PLATFORM_LARGE_BODY_BYTES_MIN + 1);
});
