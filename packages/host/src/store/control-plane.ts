import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

export type ControlPlane = Database.Database;

/**
 * Tables a capability keeps in the shared control-plane database. Applied when the capability
 * is built, in any order and as often as the daemon starts: statements are `IF NOT EXISTS`, and
 * a column added after the table first shipped is added only where it is missing, so data files
 * written by earlier builds keep working.
 */
export interface TableSchema {
  /** `CREATE TABLE IF NOT EXISTS …` and its `CREATE INDEX IF NOT EXISTS …`, with the columns it first shipped with. */
  readonly create: string;
  readonly addedColumns?: readonly { readonly table: string; readonly column: string; readonly definition: string }[];
}

/**
 * The platform's own tables (apps, identity, keyring, updates). Versioned migrations: each runs
 * once, in order, in its own transaction, and `user_version` records the last one applied.
 * Append; a shipped entry keeps its place. Capabilities' tables are not here: each applies its
 * own with applyTables when it is built.
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
   -- secrets, signing_keys and key_audit were created here; capabilities/secrets and keys own them now.`,
  // Was signing_keys.deleted_at; capabilities/keys/store.ts adds it where it is missing. Kept so version numbers stay.
  `SELECT 1;`,
  // Was the alarms table; capabilities/alarms/store.ts owns it.
  `SELECT 1;`,
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
  // Was object_credentials; capabilities/objects/store.ts owns it.
  `SELECT 1;`,
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

/**
 * Applies one capability's tables, in one transaction.
 * Idempotent, so it runs on every start and in any order among capabilities.
 */
export function applyTables(db: ControlPlane, tables: readonly TableSchema[]): void {
  db.transaction(() => {
    for (const table of tables) {
      db.exec(table.create);
      for (const added of table.addedColumns ?? []) {
        const columns = db.prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)').all(added.table);
        if (!columns.some((c) => c.name === added.column)) db.exec(`ALTER TABLE ${added.table} ADD COLUMN ${added.column} ${added.definition}`);
      }
    }
  })();
}
