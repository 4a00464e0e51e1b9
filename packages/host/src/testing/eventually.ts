import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads until `check` holds or `ms` pass, and returns the last value read, so
 * the caller's assertion shows what was seen. Bounded: a broken platform fails
 * the test instead of hanging it.
 */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await sleep(50);
    value = await read();
  }
  return value;
}

/** Waits until `check` is true; throws after `ms`, so the test fails with a clear reason. */
export async function waitUntil(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  if (!(await eventually(check, Boolean, ms))) throw new Error(`condition not met within ${ms} ms`);
}
