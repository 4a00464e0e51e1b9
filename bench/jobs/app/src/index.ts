// The jobs bench app: one no-op job handler, an endpoint that enqueues N jobs in a loop, and
// a thin wrapper around the SDK's module that times every wake-up (the platform's
// `POST /.plinth/alarm`). What the bench reads back is kept in this isolate's memory, so
// measuring adds no SQL work to the job path; only /results reads the job table.
import { defineApp, plinth, type JobContext, type PlinthEnv } from '@plinth/guest';

interface Wake { start: number; end: number; ran: number; firstRun: number | null; lastRun: number | null }

/** Job id → Date.now() when its handler began. */
const started = new Map<string, number>();
const wakes: Wake[] = [];
let current: Wake | null = null;

const app = defineApp({
  jobs: {
    // A no-op job: it only notes when it ran, in memory.
    noop(_payload: unknown, job: JobContext) {
      const now = Date.now();
      started.set(job.id, now);
      if (current) {
        current.ran++;
        current.firstRun ??= now;
        current.lastRun = now;
      }
    },
  },
  async fetch(request, env) {
    const url = new URL(request.url);
    const jobs = plinth(env).jobs;
    if (url.pathname === '/enqueue' && request.method === 'POST') {
      // N enqueues one after another, as an app handling a burst would issue them.
      const n = Number(url.searchParams.get('n') ?? '1');
      const delayMs = Number(url.searchParams.get('delayMs') ?? '0');
      const runAt = delayMs > 0 ? Date.now() + delayMs : undefined;
      const begun = Date.now();
      for (let i = 0; i < n; i++) await jobs.enqueue('noop', { i }, runAt === undefined ? {} : { runAt });
      return Response.json({ n, begun, ended: Date.now(), runAt: runAt ?? null });
    }
    if (url.pathname === '/status') {
      return Response.json({ started: started.size, wakes: wakes.length, inWake: current !== null });
    }
    if (url.pathname === '/results') {
      const db = await jobs.database();
      const rows = (await db.prepare('SELECT id, state, created_at, run_at, finished_at FROM _plinth_jobs').all<{ id: string; state: string; created_at: number; run_at: number; finished_at: number | null }>()).results;
      return Response.json({
        jobs: rows.map((r) => ({ state: r.state, createdAt: r.created_at, runAt: r.run_at, startedAt: started.get(r.id) ?? null, finishedAt: r.finished_at })),
        wakes,
      });
    }
    if (url.pathname === '/anatomy' && request.method === 'POST') {
      // The platform calls one enqueue makes, each timed alone over n calls (ms per call):
      // jobs.database() (the schema batch every jobs call begins with), a two-statement batch
      // like enqueue's insert + read-back (on a table of its own), and alarm.set with
      // onlyIfEarlier while an earlier alarm is pending; then a whole delayed enqueue. The
      // alarm is left far ahead meanwhile, and deleted at the end, with the jobs.
      const n = Number(url.searchParams.get('n') ?? '100');
      const { alarm } = plinth(env);
      const db = await jobs.database();
      await db.prepare('CREATE TABLE IF NOT EXISTS anatomy (id TEXT PRIMARY KEY, v TEXT)').run();
      await alarm.set(Date.now() + 3600_000);
      const out: Record<string, number> = {};
      const time = async (name: string, fn: () => Promise<unknown>) => {
        const begun = Date.now();
        for (let i = 0; i < n; i++) await fn();
        out[name] = (Date.now() - begun) / n;
      };
      await time('select1', () => db.prepare('SELECT 1').first());
      await time('schema', () => jobs.database());
      await time('batch2', () => {
        const id = crypto.randomUUID();
        return db.batch([db.prepare('INSERT INTO anatomy VALUES (?, ?)').bind(id, '{}'), db.prepare('SELECT * FROM anatomy WHERE id = ?').bind(id)]);
      });
      await time('alarmSet', () => alarm.set(Date.now() + 7200_000, { onlyIfEarlier: true }));
      await time('enqueue', () => jobs.enqueue('noop', {}, { delayMs: 3600_000 }));
      await db.batch([db.prepare('DELETE FROM _plinth_jobs'), db.prepare('DROP TABLE anatomy')]);
      await alarm.delete();
      return Response.json({ n, ms: out });
    }
    if (url.pathname === '/reset' && request.method === 'POST') {
      const db = await jobs.database();
      await db.prepare('DELETE FROM _plinth_jobs').run();
      started.clear();
      wakes.length = 0;
      return Response.json({ ok: true });
    }
    return new Response('jobs bench app', { status: 404 });
  },
});

export default {
  async fetch(request: Request, env: PlinthEnv, ctx: Parameters<typeof app.fetch>[2]): Promise<Response> {
    if (request.method !== 'POST' || new URL(request.url).pathname !== '/.plinth/alarm') return app.fetch(request, env, ctx);
    // One alarm call per app at a time (the host's rule), so `current` is this wake-up's.
    const wake: Wake = { start: Date.now(), end: 0, ran: 0, firstRun: null, lastRun: null };
    current = wake;
    try {
      return await app.fetch(request, env, ctx);
    } finally {
      wake.end = Date.now();
      current = null;
      wakes.push(wake);
    }
  },
};
