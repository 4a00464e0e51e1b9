import { Cron } from 'croner';
import { PlinthError, type PlinthEnv } from '../abi.js';
import { alarmClient } from '../alarm/index.js';
import { sqlClient } from '../sql/index.js';
import type { D1PreparedStatement, PlinthDatabase } from '../sql/index.js';
import {
  JOBS_DATABASE, JOBS_TABLE, JOB_ATTEMPTS_DEFAULT, JOB_ATTEMPTS_MAX, JOB_BACKOFF_MS_DEFAULT, JOB_BACKOFF_MS_MAX,
  JOB_PAYLOAD_BYTES_MAX, SCHEDULES_TABLE,
} from './limits.js';
import { JOBS_SCHEMA, toJob, type Job, type JobRow, type JobState } from './schema.js';

export type { Job, JobState } from './schema.js';

export interface EnqueueOptions {
  /** Run this many ms from now (default: now). */
  delayMs?: number;
  /** Run at this time; wins over delayMs. */
  runAt?: Date | number;
  /** Idempotency: while a job with this key is queued or running, enqueue returns it instead. */
  key?: string;
  maxAttempts?: number;
  /** First retry delay in ms, doubled per attempt (capped at one hour). */
  backoff?: number;
}

export interface JobsClient {
  enqueue(name: string, payload?: unknown, options?: EnqueueOptions): Promise<Job>;
  /**
   * The insert as a statement for `db.batch([...])` on the `main` database, so a job
   * commits or rolls back with the business write beside it (transactional outbox).
   */
  enqueueStatement(name: string, payload?: unknown, options?: EnqueueOptions): Promise<D1PreparedStatement>;
  /** Runs `name` on a cron schedule (5 or 6 fields, evaluated in UTC); replaces an existing schedule of that name. */
  schedule(name: string, cron: string, payload?: unknown): Promise<{ name: string; nextRunAt: string }>;
  unschedule(name: string): Promise<boolean>;
  /** True when a queued or running job was cancelled; a running job finishes but is not retried. */
  cancel(id: string): Promise<boolean>;
  list(options?: { state?: JobState; limit?: number }): Promise<Job[]>;
  /** The `main` database that holds the jobs, for batches that enqueue. */
  database(): Promise<PlinthDatabase>;
}

/**
 * Schema set-up already done in this isolate, per platform binding. It saved about a third of
 * each enqueue (bench/jobs). If the app deletes `main`, the next call fails once with
 * `sql.not_found`, forgets this, and the call after it sets the schema up again.
 */
const schemaReady = new WeakMap<object, Promise<void>>();

async function createSchema(env: PlinthEnv, db: PlinthDatabase): Promise<void> {
  const sql = sqlClient(env);
  try {
    await db.batch(JOBS_SCHEMA.map((s) => db.prepare(s)));
  } catch (error) {
    if (!(error instanceof PlinthError) || error.code !== 'sql.not_found') throw error;
    await sql.create(JOBS_DATABASE).catch((e: unknown) => { if (!(e instanceof PlinthError) || e.code !== 'sql.exists') throw e; });
    await db.batch(JOBS_SCHEMA.map((s) => db.prepare(s)));
  }
}

/** The `main` database with the job tables in it, created on first use. */
export async function jobsDatabase(env: PlinthEnv): Promise<PlinthDatabase> {
  const db = sqlClient(env).open(JOBS_DATABASE);
  let ready = schemaReady.get(env.PLINTH);
  if (!ready) {
    ready = createSchema(env, db);
    schemaReady.set(env.PLINTH, ready);
    ready.catch(() => schemaReady.delete(env.PLINTH));
  }
  await ready;
  return db;
}

/** Wraps every call so that, when `main` vanished under it, the set-up is forgotten and the next call redoes it. */
export function forgettingMissingSchema<T extends object>(env: PlinthEnv, calls: T): T {
  const wrapped = Object.entries(calls).map(([name, call]) => [name, async (...args: unknown[]) => {
    try {
      return await (call as (...a: unknown[]) => Promise<unknown>)(...args);
    } catch (error) {
      if (error instanceof PlinthError && error.code === 'sql.not_found') schemaReady.delete(env.PLINTH);
      throw error;
    }
  }]);
  return Object.fromEntries(wrapped) as T;
}

function checkPayload(payload: unknown): string {
  const text = JSON.stringify(payload ?? null);
  if (new TextEncoder().encode(text).length > JOB_PAYLOAD_BYTES_MAX) throw new RangeError(`a job payload is at most ${JOB_PAYLOAD_BYTES_MAX} bytes of JSON`);
  return text;
}

function insertStatement(db: PlinthDatabase, name: string, payload: unknown, options: EnqueueOptions, id: string, now: number): { statement: D1PreparedStatement; runAt: number } {
  const runAt = options.runAt !== undefined ? new Date(options.runAt).getTime() : now + (options.delayMs ?? 0);
  const maxAttempts = Math.min(Math.max(Math.floor(options.maxAttempts ?? JOB_ATTEMPTS_DEFAULT), 1), JOB_ATTEMPTS_MAX);
  const backoff = Math.min(Math.max(Math.floor(options.backoff ?? JOB_BACKOFF_MS_DEFAULT), 0), JOB_BACKOFF_MS_MAX);
  if (!Number.isFinite(runAt)) throw new RangeError('runAt or delayMs is not a valid time');
  const statement = db.prepare(`INSERT OR IGNORE INTO ${JOBS_TABLE} (id, name, payload, key, state, run_at, max_attempts, backoff_ms, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)`)
    .bind(id, name, checkPayload(payload), options.key ?? null, runAt, maxAttempts, backoff, now);
  return { statement, runAt };
}

/** The guest-layer job queue (CONTRACT §5 `jobs`): rows in the app's own SQLite, woken by the host alarm. */
export function jobsClient(env: PlinthEnv): JobsClient {
  const alarm = alarmClient(env);
  return forgettingMissingSchema<JobsClient>(env, {
    async enqueue(name, payload, options = {}) {
      const db = await jobsDatabase(env);
      const id = crypto.randomUUID();
      const { statement, runAt } = insertStatement(db, name, payload, options, id, Date.now());
      const [, found] = await db.batch<JobRow>([
        statement,
        db.prepare(`SELECT * FROM ${JOBS_TABLE} WHERE id = ? OR (key = ? AND state IN ('queued', 'running')) ORDER BY id = ? DESC LIMIT 1`).bind(id, options.key ?? null, id),
      ]);
      await alarm.set(runAt, { onlyIfEarlier: true });
      return toJob(found!.results[0]!);
    },
    async enqueueStatement(name, payload, options = {}) {
      const db = await jobsDatabase(env);
      const { statement, runAt } = insertStatement(db, name, payload, options, crypto.randomUUID(), Date.now());
      // Woken early is harmless: if the batch rolls back, the runner finds nothing due.
      await alarm.set(runAt, { onlyIfEarlier: true });
      return statement;
    },
    async schedule(name, cron, payload) {
      const next = new Cron(cron, { timezone: 'UTC' }).nextRun();
      if (!next) throw new RangeError(`cron ${JSON.stringify(cron)} never fires`);
      const db = await jobsDatabase(env);
      await db.prepare(`INSERT INTO ${SCHEDULES_TABLE} (name, cron, payload, next_run_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, payload = excluded.payload, next_run_at = excluded.next_run_at`)
        .bind(name, cron, checkPayload(payload), next.getTime()).run();
      await alarm.set(next, { onlyIfEarlier: true });
      return { name, nextRunAt: next.toISOString() };
    },
    async unschedule(name) {
      const db = await jobsDatabase(env);
      return (await db.prepare(`DELETE FROM ${SCHEDULES_TABLE} WHERE name = ?`).bind(name).run()).meta.changes > 0;
    },
    async cancel(id) {
      const db = await jobsDatabase(env);
      const result = await db.prepare(`UPDATE ${JOBS_TABLE} SET state = 'cancelled', finished_at = ? WHERE id = ? AND state IN ('queued', 'running')`).bind(Date.now(), id).run();
      return result.meta.changes > 0;
    },
    async list(options = {}) {
      const db = await jobsDatabase(env);
      const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
      const rows = options.state
        ? await db.prepare(`SELECT * FROM ${JOBS_TABLE} WHERE state = ? ORDER BY created_at DESC LIMIT ?`).bind(options.state, limit).all<JobRow>()
        : await db.prepare(`SELECT * FROM ${JOBS_TABLE} ORDER BY created_at DESC LIMIT ?`).bind(limit).all<JobRow>();
      return rows.results.map(toJob);
    },
    database: () => jobsDatabase(env),
  });
}
