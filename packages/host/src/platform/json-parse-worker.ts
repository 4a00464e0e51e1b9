// Parses large platform-call bodies off the daemon's event loop (see json-body.ts).
import { parentPort } from 'node:worker_threads';

export interface ParseJob { readonly id: number; readonly bytes: Uint8Array }
export type ParseAnswer = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false };

parentPort?.on('message', (job: ParseJob) => {
  let answer: ParseAnswer;
  try {
    answer = { id: job.id, ok: true, value: JSON.parse(Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength).toString('utf8')) };
  } catch {
    answer = { id: job.id, ok: false };
  }
  parentPort?.postMessage(answer);
});
