import type { TableSchema } from '../capability.js';

/** Each app's S3 access key; the secret is sealed under the app's data key (credentials.ts). */
export const OBJECTS_TABLES: readonly TableSchema[] = [{
  create: `CREATE TABLE IF NOT EXISTS object_credentials (
     app_id TEXT PRIMARY KEY,
     access_key_id TEXT NOT NULL UNIQUE,
     sealed_secret BLOB NOT NULL,
     created_at INTEGER NOT NULL
   );`,
}];
