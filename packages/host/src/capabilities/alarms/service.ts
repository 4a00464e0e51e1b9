import type { ControlPlane } from '../../store/control-plane.js';
import type { AppAnswer, CallErrorCode } from '../../runtime/supervisor.js';
import { fail, ok, type Result } from '../../support/result.js';
import { ALARM_CALL_MS_MAX, ALARM_FUTURE_MS_MAX, ALARM_RETRIES_MAX, ALARM_RETRY_MS_MIN, ALARM_TIMER_MS_MAX } from './limits.js';

export const ALARM_PATH = '/.plinth/alarm';

export type AlarmsErrorCode = 'alarm.out_of_range';

export interface AlarmsDeps {
  readonly db: ControlPlane;
  readonly callApp: (appId: string, path: string, body: unknown, timeoutMs: number) => Promise<Result<AppAnswer, CallErrorCode>>;
  readonly event: (appId: string, text: string) => void;
  readonly now: () => number;
}

interface AlarmRow { app_id: string; scheduled_at: number; due_at: number; attempts: number }

/**
 * One alarm per app, kept in the control plane. At its time the platform calls
 * the app's `POST /.plinth/alarm`, starting it if needed. Delivery is at least
 * once: a failed call is retried with backoff, and an alarm due while the daemon
 * was down fires when it starts.
 */
export function createAlarms(deps: AlarmsDeps) {
  const { db } = deps;
  const firing = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function arm(): void {
    clearTimeout(timer);
    if (stopped) return;
    const next = db.prepare<[], { due_at: number }>('SELECT min(due_at) AS due_at FROM alarms').get()?.due_at;
    if (next === null || next === undefined) return;
    timer = setTimeout(fireDue, Math.min(Math.max(next - deps.now(), 0), ALARM_TIMER_MS_MAX));
    timer.unref();
  }

  function fireDue(): void {
    const due = db.prepare<[number], AlarmRow>('SELECT * FROM alarms WHERE due_at <= ?').all(deps.now());
    for (const row of due) if (!firing.has(row.app_id)) void fire(row);
    arm();
  }

  async function fire(row: AlarmRow): Promise<void> {
    firing.add(row.app_id);
    try {
      const answer = await deps.callApp(row.app_id, ALARM_PATH, { scheduledTime: row.scheduled_at, retryCount: row.attempts }, ALARM_CALL_MS_MAX);
      const succeeded = answer.ok && answer.value.status >= 200 && answer.value.status < 300;
      // The handler may have set a new alarm; only the alarm that fired is settled here.
      const current = db.prepare<[string], AlarmRow>('SELECT * FROM alarms WHERE app_id = ?').get(row.app_id);
      if (!current || current.scheduled_at !== row.scheduled_at) return;
      if (succeeded) {
        db.prepare('DELETE FROM alarms WHERE app_id = ? AND scheduled_at = ?').run(row.app_id, row.scheduled_at);
        return;
      }
      const reason = answer.ok ? `answered ${answer.value.status}` : answer.error.message;
      if (row.attempts >= ALARM_RETRIES_MAX) {
        db.prepare('DELETE FROM alarms WHERE app_id = ?').run(row.app_id);
        deps.event(row.app_id, `alarm.failed scheduled=${new Date(row.scheduled_at).toISOString()} after ${row.attempts + 1} attempts: ${reason}; dropped`);
        return;
      }
      const retryAt = deps.now() + ALARM_RETRY_MS_MIN * 2 ** row.attempts;
      db.prepare('UPDATE alarms SET attempts = attempts + 1, due_at = ? WHERE app_id = ?').run(retryAt, row.app_id);
      deps.event(row.app_id, `alarm.retry attempt=${row.attempts + 1} at ${new Date(retryAt).toISOString()}: ${reason}`);
    } finally {
      firing.delete(row.app_id);
      arm();
    }
  }

  return {
    /**
     * Replaces the app's alarm; with `onlyIfEarlier`, only when none is pending
     * or the pending one is later (atomic, for the job runner). A time in the past fires at once.
     */
    set(appId: string, at: number, onlyIfEarlier = false): Result<{ scheduledTime: number }, AlarmsErrorCode> {
      if (!Number.isFinite(at) || at > deps.now() + ALARM_FUTURE_MS_MAX) {
        return fail('alarm.out_of_range', `an alarm must be a time in milliseconds since the epoch, at most ${ALARM_FUTURE_MS_MAX / (365 * 24 * 3600_000)} years ahead`);
      }
      const time = Math.floor(at);
      if (onlyIfEarlier) {
        db.prepare('INSERT INTO alarms (app_id, scheduled_at, due_at, attempts) VALUES (?, ?, ?, 0) ON CONFLICT (app_id) DO UPDATE SET scheduled_at = excluded.scheduled_at, due_at = excluded.due_at, attempts = 0 WHERE excluded.scheduled_at < alarms.scheduled_at').run(appId, time, time);
        arm();
        return ok({ scheduledTime: this.get(appId) ?? time });
      }
      db.prepare('INSERT INTO alarms (app_id, scheduled_at, due_at, attempts) VALUES (?, ?, ?, 0) ON CONFLICT (app_id) DO UPDATE SET scheduled_at = excluded.scheduled_at, due_at = excluded.due_at, attempts = 0').run(appId, time, time);
      arm();
      return ok({ scheduledTime: time });
    },
    get(appId: string): number | null {
      return db.prepare<[string], { scheduled_at: number }>('SELECT scheduled_at FROM alarms WHERE app_id = ?').get(appId)?.scheduled_at ?? null;
    },
    delete(appId: string): boolean {
      const { changes } = db.prepare('DELETE FROM alarms WHERE app_id = ?').run(appId);
      arm();
      return changes > 0;
    },
    /** Arms the timer; alarms that came due while the daemon was down fire now. */
    start: arm,
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
export type Alarms = ReturnType<typeof createAlarms>;
