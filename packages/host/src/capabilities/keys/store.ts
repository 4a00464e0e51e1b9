import type { TableSchema } from '../capability.js';

/** Signing keys, private halves sealed under the app's data key, and the audit of their use. */
export const KEYS_TABLES: readonly TableSchema[] = [
  {
    create: `CREATE TABLE IF NOT EXISTS signing_keys (
       app_id TEXT NOT NULL,
       name TEXT NOT NULL,
       version INTEGER NOT NULL,
       public_key BLOB NOT NULL,
       sealed_private_key BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       PRIMARY KEY (app_id, name, version)
     ) WITHOUT ROWID;`,
    // A deleted key version keeps its row with the private key wiped, so its number is never reused.
    addedColumns: [{ table: 'signing_keys', column: 'deleted_at', definition: 'INTEGER' }],
  },
  {
    create: `CREATE TABLE IF NOT EXISTS key_audit (
       id INTEGER PRIMARY KEY,
       app_id TEXT NOT NULL,
       key_name TEXT NOT NULL,
       version INTEGER,
       operation TEXT NOT NULL,
       at INTEGER NOT NULL
     );
     CREATE INDEX IF NOT EXISTS key_audit_app ON key_audit(app_id, id);`,
  },
];
