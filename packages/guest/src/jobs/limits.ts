/** The database that holds jobs: the app's default database, so business rows and jobs can share a batch. */
export const JOBS_DATABASE = 'main';
export const JOBS_TABLE = '_plinth_jobs';
export const SCHEDULES_TABLE = '_plinth_job_schedules';
/** Attempts before a job is marked failed, unless enqueue says otherwise. */
export const JOB_ATTEMPTS_DEFAULT = 5;
export const JOB_ATTEMPTS_MAX = 100;
/** First retry delay, doubled per attempt, capped at JOB_BACKOFF_MS_MAX. */
export const JOB_BACKOFF_MS_DEFAULT = 1_000;
export const JOB_BACKOFF_MS_MAX = 3600_000;
/** Time one job may run before it counts as failed; the alarm call that runs it has 60 s in all. */
export const JOB_TIMEOUT_MS = 30_000;
/** A claimed job's lease outlives its time-out by this much, so only a crashed run lets it lapse. */
export const JOB_LEASE_MARGIN_MS = 10_000;
/** Jobs run at once in one wake-up: the jobs' own cap, below limits.concurrency, so jobs cannot starve requests. */
export const JOBS_PARALLEL_MAX = 4;
/** A wake-up stops claiming new jobs after this long and leaves the rest to the next alarm. */
export const JOBS_WAKE_BUDGET_MS = 40_000;
/** Payload bytes (JSON) per job. */
export const JOB_PAYLOAD_BYTES_MAX = 64 * 1024;
/** Finished jobs kept for `list`; older ones are pruned on each wake-up. */
export const JOBS_FINISHED_KEPT = 1_000;
