import { Worker } from 'node:worker_threads';
import { PLATFORM_LARGE_BODY_BYTES_MIN } from './limits.js';
import type { ParseAnswer, ParseJob } from './json-parse-worker.js';

/** A body that is not JSON. */
export class BadJson extends Error {}

interface Pending { resolve(value: unknown): void; reject(error: Error): void }

/** Heap of the parser worker: 2 MiB of JSON parses into far less, so only a hostile body reaches it. */
const PARSER_HEAP_MB_MAX = 256;

/**
 * One worker thread, started on first use and unref'd, that parses every large body in turn.
 * Decoding and parsing 1 MiB of JSON costs ~3 ms; on the event loop that is 3 ms of every other
 * app's latency, in the worker it is only this call's. Handing the parsed value back costs a
 * structured-clone copy, about a quarter of that.
 */
function createWorkerParser() {
  let worker: Worker | null = null;
  let nextId = 0;
  const pending = new Map<number, Pending>();

  function start(): Worker {
    const started = new Worker(new URL('./json-parse-worker.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: PARSER_HEAP_MB_MAX } });
    started.on('message', (answer: ParseAnswer) => {
      const call = pending.get(answer.id);
      pending.delete(answer.id);
      if (pending.size === 0) started.unref();
      if (answer.ok) call?.resolve(answer.value);
      else call?.reject(new BadJson('the request body is not valid JSON'));
    });
    // A worker that dies (out of memory on a hostile body) fails the calls it held, as platform
    // bugs (the socket's owner logs them); the next call starts another worker.
    const failAll = (reason: string) => {
      if (worker === started) worker = null;
      for (const call of pending.values()) call.reject(new Error(reason));
      started.unref();
      pending.clear();
    };
    started.on('error', (error) => failAll(`the JSON parser worker failed: ${error.message}`));
    started.on('exit', () => failAll('the JSON parser worker stopped'));
    // Last: adding a listener refs the worker again. Idle, the parser must not keep the daemon alive.
    started.unref();
    return started;
  }

  return function parseInWorker(bytes: Buffer): Promise<unknown> {
    worker ??= start();
    const id = nextId++;
    // Transfer, not copy: a body Buffer.concat made owns its whole ArrayBuffer; a pooled slice is copied first.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Buffer.from(bytes);
    const job: ParseJob = { id, bytes: new Uint8Array(owned.buffer, 0, owned.byteLength) };
    const answer = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
    worker.ref(); // while a call waits on it
    worker.postMessage(job, [job.bytes.buffer as ArrayBuffer]);
    return answer;
  };
}

const parseInWorker = createWorkerParser();

/** The JSON in a platform-call body (undefined when empty): small bodies inline, large ones in the parser worker. */
export async function parseJsonBody(bytes: Buffer): Promise<unknown> {
  if (bytes.length === 0) return undefined;
  if (bytes.length >= PLATFORM_LARGE_BODY_BYTES_MIN) return parseInWorker(bytes);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BadJson('the request body is not valid JSON');
  }
}
