import { JOBS_TABLE, SCHEDULES_TABLE } from './limits.js';

/**
 * The job tables, created on first use in the app's `main` database. A key is
 * unique among live (queued or running) jobs only, so it can be reused once a
 * job has finished.
 */
export const JOBS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ${JOBS_TABLE} (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    key TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    backoff_ms INTEGER NOT NULL,
    lease_id TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
  )`,
  `CREATE UNIQUE INDEX IF NOT EXISTS ${JOBS_TABLE}_live_key ON ${JOBS_TABLE}(key) WHERE key IS NOT NULL AND state IN ('queued', 'running')`,
  `CREATE INDEX IF NOT EXISTS ${JOBS_TABLE}_due ON ${JOBS_TABLE}(state, run_at)`,
  `CREATE TABLE IF NOT EXISTS ${SCHEDULES_TABLE} (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    payload TEXT NOT NULL,
    next_run_at INTEGER NOT NULL
  )`,
];

export interface JobRow {
  id: string;
  name: string;
  payload: string;
  key: string | null;
  state: JobState;
  run_at: number;
  attempts: number;
  max_attempts: number;
  backoff_ms: number;
  lease_id: string | null;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly payload: unknown;
  readonly key: string | null;
  readonly state: JobState;
  readonly runAt: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id, name: row.name, payload: JSON.parse(row.payload) as unknown, key: row.key, state: row.state,
    runAt: new Date(row.run_at).toISOString(), attempts: row.attempts, maxAttempts: row.max_attempts,
    lastError: row.last_error, createdAt: new Date(row.created_at).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
  };
}
