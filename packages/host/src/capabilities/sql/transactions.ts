/**
 * Leases of cross-call transactions, kept by the daemon. A transaction belongs to one app and
 * one database and lives at most its lease; it is rolled back when the lease runs out, when
 * the app's process stops or crashes, or when its SQL process dies (SQLite then rolls it back).
 */
import { randomBytes } from 'node:crypto';
import { fail, ok, type Result } from '../../support/result.js';
import type { SqlErrorCode } from './errors.js';
import { SQL_TRANSACTIONS_PER_APP_MAX } from './limits.js';

export interface Lease {
  readonly id: string;
  readonly appId: string;
  readonly db: string;
  readonly expiresAt: number;
  timer: NodeJS.Timeout | null;
}

export interface TransactionsDeps {
  readonly now: () => number;
  /** Rolls a transaction back in the app's SQL process (asked on expiry and app stop). */
  readonly rollback: (lease: Lease, reason: string) => void;
}

export function createTransactions(deps: TransactionsDeps) {
  const leases = new Map<string, Lease>();
  /** Begins asked for but not answered yet, per app, so the cap also bounds waiting ones. */
  const starting = new Map<string, number>();

  const countOf = (appId: string) => [...leases.values()].filter((l) => l.appId === appId).length + (starting.get(appId) ?? 0);

  return {
    /** Reserves a slot and an id; `opened` or `abandoned` must follow. */
    reserve(appId: string): Result<string, SqlErrorCode> {
      if (countOf(appId) >= SQL_TRANSACTIONS_PER_APP_MAX) {
        return fail('sql.too_many_transactions', `an app has at most ${SQL_TRANSACTIONS_PER_APP_MAX} transactions open or starting; finish some first`);
      }
      starting.set(appId, (starting.get(appId) ?? 0) + 1);
      return ok(`tx_${randomBytes(16).toString('base64url')}`);
    },
    abandoned(appId: string): void {
      starting.set(appId, Math.max(0, (starting.get(appId) ?? 1) - 1));
    },
    opened(appId: string, db: string, id: string, leaseMs: number): Lease {
      this.abandoned(appId);
      const lease: Lease = { id, appId, db, expiresAt: deps.now() + leaseMs, timer: null };
      lease.timer = setTimeout(() => this.end(id) && deps.rollback(lease, `its ${leaseMs} ms lease ran out`), leaseMs);
      lease.timer.unref();
      leases.set(id, lease);
      return lease;
    },
    /** The lease for a call that names a transaction; another app's id is as unknown as a made-up one. */
    check(appId: string, db: string, id: string): Result<Lease, SqlErrorCode> {
      const lease = leases.get(id);
      if (lease && lease.appId === appId && lease.db === db) return ok(lease);
      return fail('sql.transaction_not_found', `no open transaction ${id} on database ${db}; it ended (committed, rolled back, expired after its lease, or its app stopped)`);
    },
    /** Forgets a lease; true when it was open. */
    end(id: string): boolean {
      const lease = leases.get(id);
      if (!lease) return false;
      if (lease.timer) clearTimeout(lease.timer);
      leases.delete(id);
      return true;
    },
    /** Rolls back every transaction of an app: its process stopped, crashed or was unloaded. */
    rollbackApp(appId: string, reason: string): void {
      for (const lease of [...leases.values()]) {
        if (lease.appId === appId && this.end(lease.id)) deps.rollback(lease, reason);
      }
    },
    /** The SQL process died: SQLite rolled these back already, so only the leases go. */
    lost(ids: readonly string[]): void {
      for (const id of ids) this.end(id);
    },
    openFor(appId: string, db?: string): Lease[] {
      return [...leases.values()].filter((l) => l.appId === appId && (db === undefined || l.db === db));
    },
  };
}
export type Transactions = ReturnType<typeof createTransactions>;
