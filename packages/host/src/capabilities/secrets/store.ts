import type { TableSchema } from '../capability.js';

/** The vault's one table; values are sealed under the app's data key (keyring). */
export const SECRETS_TABLES: readonly TableSchema[] = [{
  create: `CREATE TABLE IF NOT EXISTS secrets (
     app_id TEXT NOT NULL,
     name TEXT NOT NULL,
     sealed_value BLOB NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (app_id, name)
   ) WITHOUT ROWID;`,
}];
