import type { TableSchema } from '../capability.js';

/** One alarm per app. scheduled_at is what the app asked for; due_at moves later on each retry. */
export const ALARMS_TABLES: readonly TableSchema[] = [{
  create: `CREATE TABLE IF NOT EXISTS alarms (
     app_id TEXT PRIMARY KEY,
     scheduled_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX IF NOT EXISTS alarms_due ON alarms(due_at);`,
}];
