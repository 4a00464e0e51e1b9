import type { ControlPlane } from '../../store/control-plane.js';
import { AUDIT_BATCH_ROWS_MAX, AUDIT_FLUSH_MS, AUDIT_ROWS_PER_APP_MAX } from './limits.js';

export type KeyOperation = 'create' | 'sign' | 'verify' | 'rotate' | 'delete' | 'public_key';
export interface AuditEntry { key: string; version: number | null; operation: KeyOperation; at: string }

/** Rows between prunes: pruning every few thousand rows keeps the table bounded without a delete per call. */
const ROWS_BETWEEN_PRUNES = 4_096;

/**
 * The key audit log. Rows are written in batches: one synced commit per batch instead of one per
 * sign (bench/keys found the per-call commit costlier than the signature). A daemon crash can
 * lose the last AUDIT_FLUSH_MS of rows.
 */
export function createKeyAudit(db: ControlPlane, now: () => number) {
  const insert = db.prepare('INSERT INTO key_audit (app_id, key_name, version, operation, at) VALUES (?, ?, ?, ?, ?)');
  const prune = db.prepare('DELETE FROM key_audit WHERE app_id = ? AND id <= (SELECT id FROM key_audit WHERE app_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)');
  const latest = db.prepare<[string, number], { key_name: string; version: number | null; operation: KeyOperation; at: number }>(
    'SELECT key_name, version, operation, at FROM key_audit WHERE app_id = ? ORDER BY id DESC LIMIT ?',
  );
  const pending: [string, string, number | null, KeyOperation, number][] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let rowsSincePrune = 0;

  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!pending.length) return;
    const rows = pending.splice(0);
    db.transaction(() => { for (const row of rows) insert.run(...row); })();
    rowsSincePrune += rows.length;
    if (rowsSincePrune < ROWS_BETWEEN_PRUNES) return;
    rowsSincePrune = 0;
    for (const appId of new Set(rows.map((r) => r[0]))) prune.run(appId, appId, AUDIT_ROWS_PER_APP_MAX);
  }

  return {
    record(appId: string, name: string, version: number | null, operation: KeyOperation): void {
      pending.push([appId, name, version, operation, now()]);
      if (pending.length >= AUDIT_BATCH_ROWS_MAX) flush();
      else if (!flushTimer) {
        flushTimer = setTimeout(flush, AUDIT_FLUSH_MS);
        flushTimer.unref();
      }
    },
    flush,
    /** The app's latest entries, newest first; pending rows are written first so none is missing. */
    latest(appId: string, limit: number): AuditEntry[] {
      flush();
      return latest.all(appId, limit).map((r) => ({ key: r.key_name, version: r.version, operation: r.operation, at: new Date(r.at).toISOString() }));
    },
    removeApp(appId: string): void {
      flush();
      db.prepare('DELETE FROM key_audit WHERE app_id = ?').run(appId);
    },
  };
}
