import { Cron } from 'croner';
import type { PlinthEnv } from '../abi.js';
import { alarmClient } from '../alarm/index.js';
import type { PlinthDatabase } from '../sql/index.js';
import { forgettingMissingSchema, jobsDatabase } from './index.js';
import {
  JOBS_FINISHED_KEPT, JOBS_PARALLEL_MAX, JOBS_TABLE, JOBS_WAKE_BUDGET_MS, JOB_BACKOFF_MS_MAX, JOB_LEASE_MARGIN_MS, JOB_TIMEOUT_MS, SCHEDULES_TABLE,
} from './limits.js';
import type { JobRow } from './schema.js';

/** What a job handler gets besides its payload. */
export interface JobContext {
  readonly id: string;
  readonly name: string;
  /** 1 on the first run. */
  readonly attempt: number;
}

export type JobHandler<Env extends PlinthEnv = PlinthEnv> = (payload: unknown, job: JobContext, env: Env) => unknown | Promise<unknown>;

/** Turns due cron schedules into jobs; the key makes each occurrence enqueue once, however many wake-ups race. */
async function promoteSchedules(db: PlinthDatabase, now: number): Promise<void> {
  const due = await db.prepare(`SELECT * FROM ${SCHEDULES_TABLE} WHERE next_run_at <= ?`).bind(now).all<{ name: string; cron: string; payload: string; next_run_at: number }>();
  for (const schedule of due.results) {
    const next = new Cron(schedule.cron, { timezone: 'UTC' }).nextRun(new Date(now))?.getTime() ?? Number.MAX_SAFE_INTEGER;
    await db.batch([
      db.prepare(`INSERT OR IGNORE INTO ${JOBS_TABLE} (id, name, payload, key, state, run_at, max_attempts, backoff_ms, created_at) VALUES (?, ?, ?, ?, 'queued', ?, 1, 0, ?)`)
        .bind(crypto.randomUUID(), schedule.name, schedule.payload, `cron:${schedule.name}:${schedule.next_run_at}`, schedule.next_run_at, now),
      db.prepare(`UPDATE ${SCHEDULES_TABLE} SET next_run_at = ? WHERE name = ? AND next_run_at = ?`).bind(next, schedule.name, schedule.next_run_at),
    ]);
  }
}

/**
 * Claims due jobs in one statement: queued ones whose time has come, and
 * running ones whose lease lapsed (their run crashed). The lease makes a job
 * run by one wake-up at a time.
 */
async function claim(db: PlinthDatabase, leaseId: string, now: number, count: number): Promise<JobRow[]> {
  const result = await db.prepare(`UPDATE ${JOBS_TABLE} SET state = 'running', attempts = attempts + 1, lease_id = ?, lease_until = ?
    WHERE id IN (SELECT id FROM ${JOBS_TABLE} WHERE (state = 'queued' AND run_at <= ?) OR (state = 'running' AND lease_until <= ?) ORDER BY run_at LIMIT ?)
    RETURNING *`).bind(leaseId, now + JOB_TIMEOUT_MS + JOB_LEASE_MARGIN_MS, now, now, count).all<JobRow>();
  return result.results;
}

async function runOne<Env extends PlinthEnv>(db: PlinthDatabase, row: JobRow, handler: JobHandler<Env> | undefined, env: Env): Promise<void> {
  let error: string | null = null;
  try {
    if (!handler) throw new Error(`no handler for job ${row.name} in defineApp({ jobs })`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${JOB_TIMEOUT_MS} ms`)), JOB_TIMEOUT_MS); });
    try {
      await Promise.race([handler(JSON.parse(row.payload), { id: row.id, name: row.name, attempt: row.attempts }, env), timeout]);
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const now = Date.now();
  // Settles only while this wake-up still holds the lease: a cancelled or re-claimed job is left alone.
  const guard = 'WHERE id = ? AND lease_id = ? AND state = \'running\'';
  if (error === null) {
    await db.prepare(`UPDATE ${JOBS_TABLE} SET state = 'succeeded', finished_at = ?, lease_id = NULL, lease_until = NULL ${guard}`).bind(now, row.id, row.lease_id).run();
  } else if (row.attempts >= row.max_attempts) {
    await db.prepare(`UPDATE ${JOBS_TABLE} SET state = 'failed', last_error = ?, finished_at = ?, lease_id = NULL, lease_until = NULL ${guard}`).bind(error, now, row.id, row.lease_id).run();
  } else {
    const retryAt = now + Math.min(row.backoff_ms * 2 ** (row.attempts - 1), JOB_BACKOFF_MS_MAX);
    await db.prepare(`UPDATE ${JOBS_TABLE} SET state = 'queued', last_error = ?, run_at = ?, lease_id = NULL, lease_until = NULL ${guard}`).bind(error, retryAt, row.id, row.lease_id).run();
  }
}

async function nextWake(db: PlinthDatabase): Promise<number | null> {
  const row = await db.prepare(`SELECT min(t) AS next FROM (
      SELECT min(run_at) AS t FROM ${JOBS_TABLE} WHERE state = 'queued'
      UNION ALL SELECT min(lease_until) FROM ${JOBS_TABLE} WHERE state = 'running'
      UNION ALL SELECT min(next_run_at) FROM ${SCHEDULES_TABLE})`).first<{ next: number | null }>();
  return row?.next ?? null;
}

/**
 * One wake-up of the job runner, called from the host alarm: runs due jobs at
 * most JOBS_PARALLEL_MAX at a time, then sets the alarm to the next due time.
 */
export async function runDueJobs<Env extends PlinthEnv>(handlers: Record<string, JobHandler<Env>>, env: Env): Promise<{ ran: number }> {
  return forgettingMissingSchema(env, { run: () => runWake(handlers, env) }).run();
}

async function runWake<Env extends PlinthEnv>(handlers: Record<string, JobHandler<Env>>, env: Env): Promise<{ ran: number }> {
  const db = await jobsDatabase(env);
  const started = Date.now();
  const leaseId = crypto.randomUUID();
  await promoteSchedules(db, started);
  let ran = 0;
  while (Date.now() - started < JOBS_WAKE_BUDGET_MS) {
    const claimed = await claim(db, leaseId, Date.now(), JOBS_PARALLEL_MAX);
    if (!claimed.length) break;
    await Promise.all(claimed.map((row) => runOne(db, row, handlers[row.name], env)));
    ran += claimed.length;
  }
  await db.prepare(`DELETE FROM ${JOBS_TABLE} WHERE state IN ('succeeded', 'failed', 'cancelled') AND id NOT IN (SELECT id FROM ${JOBS_TABLE} WHERE state IN ('succeeded', 'failed', 'cancelled') ORDER BY finished_at DESC LIMIT ?)`).bind(JOBS_FINISHED_KEPT).run();
  // Set, then re-read: an enqueue that raced this wake-up either is seen here or sets its own earlier alarm.
  const alarm = alarmClient(env);
  const next = await nextWake(db);
  if (next !== null) await alarm.set(next);
  const after = await nextWake(db);
  if (after !== null && (next === null || after < next)) await alarm.set(after, { onlyIfEarlier: true });
  return { ran };
}
