// A test app for the guest job queue: handlers record each run in the `main` database.
import { defineApp, plinth, runDueJobs, type JobContext, type PlinthEnv } from '@plinth/guest';
import { rpc } from '../../shared/rpc.js';

async function record(env: PlinthEnv, job: JobContext, phase: string): Promise<void> {
  const db = await plinth(env).jobs.database();
  await db.prepare('CREATE TABLE IF NOT EXISTS runs (job_id TEXT, name TEXT, attempt INTEGER, phase TEXT, at INTEGER)').run();
  await db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?)').bind(job.id, job.name, job.attempt, phase, Date.now()).run();
}

const handlers = {
  async record(_payload: unknown, job: JobContext, env: PlinthEnv) {
    await record(env, job, 'done');
  },
  async flaky(payload: unknown, job: JobContext, env: PlinthEnv) {
    await record(env, job, 'tried');
    if (job.attempt < (payload as { succeedOn: number }).succeedOn) throw new Error(`attempt ${job.attempt} fails`);
  },
  async slow(payload: unknown, job: JobContext, env: PlinthEnv) {
    await record(env, job, 'start');
    await new Promise((resolve) => setTimeout(resolve, (payload as { ms: number }).ms));
    await record(env, job, 'end');
  },
  async spawn(payload: unknown, job: JobContext, env: PlinthEnv) {
    await record(env, job, 'done');
    const { depth } = payload as { depth: number };
    if (depth > 0) for (let i = 0; i < 2; i++) await plinth(env).jobs.enqueue('spawn', { depth: depth - 1 });
  },
};

export default defineApp({
  jobs: handlers,
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/rpc' && request.method === 'POST') return rpc(env, await request.json());
    // Runs the job runner as a wake-up would, to race wake-ups against each other in tests.
    if (url.pathname === '/run-due' && request.method === 'POST') return Response.json(await runDueJobs(handlers, env));
    if (url.pathname === '/runs') {
      const db = await plinth(env).jobs.database();
      await db.prepare('CREATE TABLE IF NOT EXISTS runs (job_id TEXT, name TEXT, attempt INTEGER, phase TEXT, at INTEGER)').run();
      return Response.json((await db.prepare('SELECT * FROM runs ORDER BY rowid').all()).results);
    }
    if (url.pathname === '/outbox' && request.method === 'POST') {
      // A business row and a job in one batch; ?fail=1 adds a failing statement so the whole batch rolls back.
      const db = await plinth(env).jobs.database();
      await db.prepare('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)').run();
      const id = crypto.randomUUID();
      const statements = [db.prepare('INSERT INTO orders VALUES (?)').bind(id), await plinth(env).jobs.enqueueStatement('record', { order: id }, { key: `order:${id}` })];
      if (url.searchParams.get('fail')) statements.push(db.prepare('INSERT INTO no_such_table VALUES (1)'));
      try {
        await db.batch(statements);
        return Response.json({ committed: true, id });
      } catch (error) {
        return Response.json({ committed: false, id, error: String(error) });
      }
    }
    return new Response('jobs test app', { status: 404 });
  },
});
