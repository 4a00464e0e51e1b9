// The Miniflare side of the jobs bench: the same queue built the Durable Object way. One
// Durable Object (SQLite-backed, persisted to disk) keeps the items in its storage and
// wakes through its own alarm; the alarm handler claims up to 4 due items at a time, runs
// the no-op handler, and settles each item, like Plinth's runner. Plain ESM with no imports:
// run.mjs hands it to Miniflare as the script. Endpoints mirror bench/jobs/app.
const PARALLEL = 4;
const LEASE_MS = 40_000;
const pad = (t) => String(t).padStart(15, '0');

export class JobQueue {
  constructor(ctx) {
    this.storage = ctx.storage;
    /** Item id → Date.now() when its handler began. */
    this.started = new Map();
    this.wakes = [];
    this.current = null;
  }

  /** The no-op job: it only notes when it ran, in memory. */
  noop(item) {
    const now = Date.now();
    this.started.set(item.id, now);
    if (this.current) {
      this.current.ran++;
      this.current.firstRun ??= now;
      this.current.lastRun = now;
    }
  }

  async enqueue(runAt) {
    const now = Date.now();
    const id = crypto.randomUUID();
    const at = runAt ?? now;
    await this.storage.put(`q:${pad(at)}:${id}`, { id, createdAt: now, runAt: at, attempts: 0 });
    // Set the alarm only when none is pending or the pending one is later (Plinth's onlyIfEarlier).
    const pending = await this.storage.getAlarm();
    if (pending === null || at < pending) await this.storage.setAlarm(at);
  }

  async alarm() {
    const wake = { start: Date.now(), end: 0, ran: 0, firstRun: null, lastRun: null };
    this.current = wake;
    try {
      for (;;) {
        // Claim: due queued items, oldest first, at most PARALLEL, moved to `running` with a lease.
        const due = await this.storage.list({ prefix: 'q:', end: `q:${pad(Date.now() + 1)}`, limit: PARALLEL });
        if (due.size === 0) break;
        const leaseUntil = Date.now() + LEASE_MS;
        const running = {};
        for (const item of due.values()) running[`r:${item.id}`] = { ...item, attempts: item.attempts + 1, leaseUntil };
        await Promise.all([this.storage.delete([...due.keys()]), this.storage.put(running)]);
        await Promise.all(Object.values(running).map(async (item) => {
          this.noop(item);
          // Settle: running → succeeded, in one coalesced write.
          await Promise.all([this.storage.delete(`r:${item.id}`), this.storage.put(`d:${item.id}`, { createdAt: item.createdAt, runAt: item.runAt, finishedAt: Date.now() })]);
        }));
      }
      const next = await this.storage.list({ prefix: 'q:', limit: 1 });
      for (const item of next.values()) await this.storage.setAlarm(item.runAt);
    } finally {
      wake.end = Date.now();
      this.current = null;
      this.wakes.push(wake);
    }
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/enqueue' && request.method === 'POST') {
      const n = Number(url.searchParams.get('n') ?? '1');
      const delayMs = Number(url.searchParams.get('delayMs') ?? '0');
      const runAt = delayMs > 0 ? Date.now() + delayMs : undefined;
      const begun = Date.now();
      for (let i = 0; i < n; i++) await this.enqueue(runAt);
      return Response.json({ n, begun, ended: Date.now(), runAt: runAt ?? null });
    }
    if (url.pathname === '/status') {
      return Response.json({ started: this.started.size, wakes: this.wakes.length, inWake: this.current !== null });
    }
    if (url.pathname === '/results') {
      const jobs = [];
      for (const [key, item] of await this.storage.list({ prefix: 'd:' })) jobs.push({ state: 'succeeded', createdAt: item.createdAt, runAt: item.runAt, startedAt: this.started.get(key.slice(2)) ?? null, finishedAt: item.finishedAt });
      for (const prefix of ['q:', 'r:']) for (const item of (await this.storage.list({ prefix })).values()) jobs.push({ state: prefix === 'q:' ? 'queued' : 'running', createdAt: item.createdAt, runAt: item.runAt, startedAt: null, finishedAt: null });
      return Response.json({ jobs, wakes: this.wakes });
    }
    if (url.pathname === '/reset' && request.method === 'POST') {
      await this.storage.deleteAlarm();
      await this.storage.deleteAll();
      this.started.clear();
      this.wakes.length = 0;
      return Response.json({ ok: true });
    }
    return new Response('jobs bench queue', { status: 404 });
  }
}

export default {
  fetch(request, env) {
    return env.QUEUE.get(env.QUEUE.idFromName('bench')).fetch(request);
  },
};
