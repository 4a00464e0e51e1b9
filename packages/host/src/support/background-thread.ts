import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { BackgroundAnswer, BackgroundJob } from './background-worker.js';

/** Bytes that are not JSON. */
export class NotJson extends Error {}

interface Pending { resolve(value: unknown): void; reject(error: Error): void }

/** Heap of the background thread: 2 MiB of JSON parses into far less, so only a hostile body nears it. */
const BACKGROUND_HEAP_MB_MAX = 256;

type JobWithoutId = BackgroundJob extends infer J ? (J extends BackgroundJob ? Omit<J, 'id'> : never) : never;

/**
 * One worker thread at a low priority, started on first use, for CPU work on large inputs that
 * would otherwise hold the event loop every app shares (parsing 1 MiB of JSON is ~3 ms, signing
 * it ~2.5 ms), and that the libuv thread pool would run at the event loop's own priority. Jobs run
 * one at a time, in order; results come back as structured-clone copies.
 */
function createBackgroundThread() {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, Pending>();

  function start(): Worker {
    const started = new Worker(new URL('./background-worker.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: BACKGROUND_HEAP_MB_MAX } });
    started.on('message', (answer: BackgroundAnswer) => {
      const job = pending.get(answer.id);
      pending.delete(answer.id);
      if (pending.size === 0) started.unref();
      if (answer.ok) job?.resolve(answer.value);
      else job?.reject(answer.reason === 'not_json' ? new NotJson(answer.message) : new Error(answer.message));
    });
    // A thread that dies (out of memory on a hostile body) fails the jobs it held; the next job starts another.
    const failAll = (reason: string) => {
      if (worker === started) worker = null;
      for (const job of pending.values()) job.reject(new Error(reason));
      pending.clear();
      started.unref();
    };
    started.on('error', (error) => failAll(`the background thread failed: ${error.message}`));
    started.on('exit', () => failAll('the background thread stopped'));
    // Last: adding a listener refs the worker again. Idle, it must not keep the daemon alive.
    started.unref();
    return started;
  }

  return function submit(job: JobWithoutId, transfer: ArrayBuffer[]): Promise<unknown> {
    worker ??= start();
    const id = nextId++;
    const answer = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
    worker.ref(); // while a job waits on it
    worker.postMessage({ ...job, id }, transfer);
    return answer;
  };
}

const submit = createBackgroundThread();

/** The bytes as a Uint8Array that owns its whole ArrayBuffer, so it can be transferred: a slice of a shared one is copied. */
function owned(bytes: Buffer): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Buffer.from(bytes);
  return new Uint8Array(whole.buffer as ArrayBuffer, 0, whole.byteLength);
}

/** JSON.parse of UTF-8 bytes in the background thread; `NotJson` if they are not JSON. The bytes are handed over, not copied. */
export function parseJsonInBackground(bytes: Buffer): Promise<unknown> {
  const handed = owned(bytes);
  return submit({ op: 'parse_json', bytes: handed }, [handed.buffer as ArrayBuffer]);
}

/** An Ed25519 signature of `data`, made in the background thread (the caller keeps `data`). */
export async function signInBackground(data: Buffer, key: KeyObject): Promise<Buffer> {
  const signature = (await submit({ op: 'sign', data, key }, [])) as Uint8Array;
  return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
}

/** Whether `signature` is an Ed25519 signature of `data` by `key`, checked in the background thread. */
export async function verifyInBackground(data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  return (await submit({ op: 'verify', data, key, signature }, [])) as boolean;
}
