import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

export type ControlPlane = Database.Database;

/**
 * Versioned migrations: each runs once, in order, in its own transaction, and
 * `user_version` records the last one applied. Never edit a shipped entry; append.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE apps (
     id TEXT PRIMARY KEY,
     version TEXT NOT NULL,
     installation_id TEXT NOT NULL UNIQUE,
     manifest_json TEXT NOT NULL,
     signer_public_key TEXT,
     installed_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE users (
     id TEXT PRIMARY KEY,
     email TEXT NOT NULL UNIQUE COLLATE NOCASE,
     name TEXT NOT NULL,
     password_hash TEXT,
     is_admin INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
     app_id TEXT,
     kind TEXT NOT NULL CHECK (kind IN ('console', 'app', 'bearer', 'handoff', 'login_link')),
     return_to TEXT,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX sessions_user ON sessions(user_id);
   CREATE INDEX sessions_app ON sessions(app_id);
   -- The key an app id was first installed signed with; outlives an uninstall that keeps data.
   CREATE TABLE app_signers (
     app_id TEXT PRIMARY KEY,
     public_key TEXT NOT NULL
   );`,
  `CREATE TABLE keyring_meta (
     name TEXT PRIMARY KEY,
     value BLOB NOT NULL
   );
   -- Each app's data key, sealed under the root key. Deleting a row shreds the app's secrets and keys.
   CREATE TABLE app_data_keys (
     app_id TEXT PRIMARY KEY,
     wrapped BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE secrets (
     app_id TEXT NOT NULL,
     name TEXT NOT NULL,
     sealed_value BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, name)
   ) WITHOUT ROWID;
   CREATE TABLE signing_keys (
     app_id TEXT NOT NULL,
     name TEXT NOT NULL,
     version INTEGER NOT NULL,
     public_key BLOB NOT NULL,
     sealed_private_key BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, name, version)
   ) WITHOUT ROWID;
   CREATE TABLE key_audit (
     id INTEGER PRIMARY KEY,
     app_id TEXT NOT NULL,
     key_name TEXT NOT NULL,
     version INTEGER,
     operation TEXT NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX key_audit_app ON key_audit(app_id, id);`,
  // A deleted key version keeps its row with the private key wiped, so its number is never reused.
  `ALTER TABLE signing_keys ADD COLUMN deleted_at INTEGER;`,
  // scheduled_at is what the app asked for; due_at moves later on each retry.
  `CREATE TABLE alarms (
     app_id TEXT PRIMARY KEY,
     scheduled_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX alarms_due ON alarms(due_at);`,
  // The gated update's state machine, one row per update or rollback (apps/updater.ts).
  `CREATE TABLE app_updates (
     id TEXT PRIMARY KEY,
     app_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('update', 'rollback')),
     from_version TEXT NOT NULL,
     to_version TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('snapshotting', 'staged', 'gating', 'switched', 'done', 'failed', 'rolled_back')),
     detail TEXT,
     started_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE INDEX app_updates_app ON app_updates(app_id, started_at);`,
  // Each app's S3 access key; the secret is sealed under the app's data key (capabilities/objects).
  `CREATE TABLE object_credentials (
     app_id TEXT PRIMARY KEY,
     access_key_id TEXT NOT NULL UNIQUE,
     sealed_secret BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // The console session an app session or handoff code came from, so signing out ends them too (identity/sessions.ts).
  `ALTER TABLE sessions ADD COLUMN console_session_hash TEXT;
   CREATE INDEX sessions_console_session ON sessions(console_session_hash);`,
  // A handoff code's sign-in state: the hash of the state cookie of the browser that asked for it (identity/handoff-state.ts).
  `ALTER TABLE sessions ADD COLUMN state_hash TEXT;`,
];

export function openControlPlane(path: string): ControlPlane {
  const db = new Database(path);
  // Password hashes and sealed keys live here: only the daemon's user reads it.
  chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  // FULL: a committed install, key or alarm survives a power cut, not only a crash. The control plane writes little.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: ControlPlane): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`control plane schema version ${current} is newer than this build knows (${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
