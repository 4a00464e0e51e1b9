import assert from 'node:assert/strict';
import type { ControlPlane } from '../store/control-plane.js';
import { SESSION_COOKIE_VALUES_MAX } from './limits.js';
import { hashSecret, mentionsPlatformSecret, newSecret } from './tokens.js';

export type SessionKind = 'console' | 'app' | 'bearer' | 'handoff' | 'login_link';

export interface Session {
  readonly userId: string;
  readonly appId: string | null;
  readonly kind: SessionKind;
  readonly returnTo: string | null;
  /** For a handoff code or an app session: the hash of the console session it came from. */
  readonly consoleSessionHash: string | null;
  /** For a handoff code: the hash of the state cookie of the browser it was issued to (`handoff-state.ts`). */
  readonly stateHash: string | null;
  readonly expiresAt: number;
}

interface SessionRow {
  user_id: string; app_id: string | null; kind: SessionKind; return_to: string | null; console_session_hash: string | null; state_hash: string | null; expires_at: number;
}

/** The prefix says what a secret is, so the front door can tell a platform bearer token from an app's own. */
export const SESSION_PREFIX: Record<SessionKind, string> = {
  console: 'pls_', app: 'pla_', bearer: 'plt_', handoff: 'plh_', login_link: 'pll_',
};
// The front door recognises secrets by these prefixes (tokens.ts); a new kind must be recognised too.
for (const prefix of Object.values(SESSION_PREFIX)) assert.ok(mentionsPlatformSecret(prefix), `tokens.ts does not recognise the prefix ${prefix}`);

/**
 * Every credential the platform hands out (cookies, codes, bearer tokens) is a
 * row here keyed by the hash of the secret. `consume` makes codes single-use.
 */
export function createSessionStore(db: ControlPlane, now: () => number) {
  const insert = db.prepare('INSERT INTO sessions (token_hash, user_id, app_id, kind, return_to, console_session_hash, state_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const select = db.prepare<[string, SessionKind, number], SessionRow>('SELECT user_id, app_id, kind, return_to, console_session_hash, state_hash, expires_at FROM sessions WHERE token_hash = ? AND kind = ? AND expires_at > ?');
  const remove = db.prepare<[string]>('DELETE FROM sessions WHERE token_hash = ?');
  const removeConsole = db.prepare<[string, string]>('DELETE FROM sessions WHERE token_hash = ? OR console_session_hash = ?');

  function toSession(row: SessionRow): Session {
    return {
      userId: row.user_id, appId: row.app_id, kind: row.kind, returnTo: row.return_to,
      consoleSessionHash: row.console_session_hash, stateHash: row.state_hash, expiresAt: row.expires_at,
    };
  }

  function find(kind: SessionKind, secret: string): Session | undefined {
    const row = select.get(hashSecret(secret), kind, now());
    return row ? toSession(row) : undefined;
  }

  /** Ends a credential; a console session takes the handoff codes and app sessions it led to with it. */
  function revoke(secret: string): void {
    const hash = hashSecret(secret);
    removeConsole.run(hash, hash);
  }

  return {
    issue(kind: SessionKind, userId: string, lifetimeMs: number, opts: { appId?: string; returnTo?: string; consoleSessionHash?: string | null; stateHash?: string } = {}): string {
      const secret = newSecret(SESSION_PREFIX[kind]);
      const at = now();
      insert.run(hashSecret(secret), userId, opts.appId ?? null, kind, opts.returnTo ?? null, opts.consoleSessionHash ?? null, opts.stateHash ?? null, at, at + lifetimeMs);
      return secret;
    },
    find,
    /**
     * The session behind the values a browser sent under one cookie name. When exactly one is
     * live and `accepts` it, that one; otherwise none. Two live ones mean someone planted one
     * (a sibling host can, on plain http), and no order tells which: both are ended, so the
     * planted one is dead and the next sign-in is the user's alone.
     */
    fromCookie(kind: SessionKind, values: readonly string[], accepts: (session: Session) => boolean = () => true): { secret: string; session: Session } | undefined {
      const distinct = [...new Set(values)];
      if (distinct.length > SESSION_COOKIE_VALUES_MAX) return undefined;
      const live = distinct.flatMap((secret) => {
        const session = find(kind, secret);
        return session && accepts(session) ? [{ secret, session }] : [];
      });
      if (live.length === 1) return live[0];
      for (const { secret } of live) revoke(secret);
      return undefined;
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
    revoke,
    removeForApp(appId: string): void {
      db.prepare('DELETE FROM sessions WHERE app_id = ?').run(appId);
    },
    purgeExpired(): void {
      db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now());
    },
  };
}
export type SessionStore = ReturnType<typeof createSessionStore>;
