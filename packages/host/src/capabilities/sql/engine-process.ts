/**
 * Entry point of an app's SQL process, forked by engine-client.ts with the app's `sql` folder
 * as its only argument. It answers one request at a time on the IPC channel, in order, except
 * snapshots and upload checks, which run in worker threads and answer when done.
 */
import { Worker } from 'node:worker_threads';
import { fail } from '../../support/result.js';
import { createEngine, type EngineAnswer, type EngineRequest } from './engine.js';
import type { WorkerJob } from './engine-worker.js';
import { databaseFile, ensureDirs } from './store.js';

export type EngineMessage = { readonly id: number; readonly request: EngineRequest } | { readonly id: number; readonly close: true };
export interface EngineReply {
  readonly id: number;
  readonly answer: EngineAnswer;
}

const sqlDir = process.argv[2];
if (!sqlDir || !process.send) throw new Error('engine-process is forked by the daemon with the sql folder as argument');
ensureDirs(sqlDir);
const engine = createEngine(sqlDir);
const send = (reply: EngineReply) => process.send!(reply);

function inWorker(job: WorkerJob): Promise<EngineAnswer> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: job });
    let answered = false;
    worker.once('message', (answer: EngineAnswer) => {
      answered = true;
      resolve(answer);
    });
    worker.once('error', (error) => resolve(fail('sql.unavailable', `the ${job.op} failed: ${error.message}`)));
    worker.once('exit', () => {
      if (!answered) resolve(fail('sql.unavailable', `the ${job.op} stopped without an answer`));
    });
  });
}

process.on('message', (message: EngineMessage) => {
  if ('close' in message) {
    engine.closeAll();
    send({ id: message.id, answer: { ok: true, value: null } });
    process.disconnect();
    return;
  }
  const { id, request } = message;
  if (request.op === 'snapshot') {
    void inWorker({ op: 'snapshot', source: databaseFile(sqlDir, request.db), file: request.file }).then((answer) => send({ id, answer }));
  } else if (request.op === 'validate') {
    void inWorker({ op: 'validate', file: request.file }).then((answer) => send({ id, answer }));
  } else {
    send({ id, answer: engine.handle(request) });
  }
});

// The daemon is gone (it exited or was killed): close cleanly rather than linger.
process.on('disconnect', () => {
  engine.closeAll();
  process.exit(0);
});
