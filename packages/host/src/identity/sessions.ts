import type { ControlPlane } from '../store/control-plane.js';
import { hashSecret, newSecret } from './tokens.js';

export type SessionKind = 'console' | 'app' | 'bearer' | 'handoff' | 'login_link';

export interface Session {
  readonly userId: string;
  readonly appId: string | null;
  readonly kind: SessionKind;
  readonly returnTo: string | null;
  readonly expiresAt: number;
}

interface SessionRow { user_id: string; app_id: string | null; kind: SessionKind; return_to: string | null; expires_at: number }

/** The prefix says what a secret is, so the front door can tell a platform bearer token from an app's own. */
export const SESSION_PREFIX: Record<SessionKind, string> = {
  console: 'pls_', app: 'pla_', bearer: 'plt_', handoff: 'plh_', login_link: 'pll_',
};

/**
 * Every credential the platform hands out (cookies, codes, bearer tokens) is a
 * row here keyed by the hash of the secret. `consume` makes codes single-use.
 */
export function createSessionStore(db: ControlPlane, now: () => number) {
  const insert = db.prepare('INSERT INTO sessions (token_hash, user_id, app_id, kind, return_to, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const select = db.prepare<[string, SessionKind, number], SessionRow>('SELECT user_id, app_id, kind, return_to, expires_at FROM sessions WHERE token_hash = ? AND kind = ? AND expires_at > ?');
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?');

  function toSession(row: SessionRow): Session {
    return { userId: row.user_id, appId: row.app_id, kind: row.kind, returnTo: row.return_to, expiresAt: row.expires_at };
  }

  return {
    issue(kind: SessionKind, userId: string, lifetimeMs: number, opts: { appId?: string; returnTo?: string } = {}): string {
      const secret = newSecret(SESSION_PREFIX[kind]);
      const at = now();
      insert.run(hashSecret(secret), userId, opts.appId ?? null, kind, opts.returnTo ?? null, at, at + lifetimeMs);
      return secret;
    },
    find(kind: SessionKind, secret: string): Session | undefined {
      const row = select.get(hashSecret(secret), kind, now());
      return row ? toSession(row) : undefined;
    },
    /** Looks up and deletes in one transaction, so a code works exactly once even under a race. */
    consume(kind: SessionKind, secret: string): Session | undefined {
      return db.transaction(() => {
        const hash = hashSecret(secret);
        const row = select.get(hash, kind, now());
        if (row) remove.run(hash);
        return row ? toSession(row) : undefined;
      })();
    },
    revoke(secret: string): void {
      remove.run(hashSecret(secret));
    },
    removeForApp(appId: string): void {
      db.prepare('DELETE FROM sessions WHERE app_id = ?').run(appId);
    },
    purgeExpired(): void {
      db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now());
    },
  };
}
export type SessionStore = ReturnType<typeof createSessionStore>;
