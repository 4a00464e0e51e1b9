// The background thread's side (see background-thread.ts): parses JSON and signs or verifies
// large inputs, at a low priority.
import { sign, verify, type KeyObject } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

export type BackgroundJob =
  | { readonly id: number; readonly op: 'parse_json'; readonly bytes: Uint8Array }
  | { readonly id: number; readonly op: 'sign'; readonly data: Uint8Array; readonly key: KeyObject }
  | { readonly id: number; readonly op: 'verify'; readonly data: Uint8Array; readonly key: KeyObject; readonly signature: Uint8Array };

export type BackgroundAnswer =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  /** `not_json`: the bytes were not JSON; `failed`: anything else, with its message. */
  | { readonly id: number; readonly ok: false; readonly reason: 'not_json' | 'failed'; readonly message: string };

/**
 * This thread's nice value: on a busy machine the event loop, which serves every app's small
 * calls and requests, gets the CPU before a large call's work. Linux applies setpriority to a
 * thread id alone; elsewhere the call fails and the thread keeps the process's priority.
 */
const BACKGROUND_NICE = 10;
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), BACKGROUND_NICE);
} catch {
  // not Linux, or no /proc: work at normal priority
}

function run(job: BackgroundJob): unknown {
  switch (job.op) {
    case 'parse_json':
      return JSON.parse(Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString('utf8'));
    case 'sign':
      return sign(null, job.data, job.key);
    case 'verify':
      return verify(null, job.data, job.key, job.signature);
  }
}

parentPort?.on('message', (job: BackgroundJob) => {
  let answer: BackgroundAnswer;
  try {
    answer = { id: job.id, ok: true, value: run(job) };
  } catch (error) {
    const notJson = job.op === 'parse_json' && (error instanceof SyntaxError || error instanceof RangeError);
    answer = { id: job.id, ok: false, reason: notJson ? 'not_json' : 'failed', message: (error as Error).message };
  }
  parentPort?.postMessage(answer);
});
