/**
 * Where an app's databases live, and what they weigh. Layout under the app's data folder:
 * `sql/<name>.sqlite` (+ `-wal`, `-shm` while open), `sql/<name>.json` ({ createdAt }),
 * `sql/.transfers/` (export snapshots and import uploads in progress), `sql/.tmp/` (SQLite's
 * temporary files, so they stay inside the app's folder too).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQL_DATABASE_NAME_CHARS_MAX, SQL_DATABASE_NAME_PATTERN } from './limits.js';
import { fail, ok, type Result } from '../../support/result.js';
import type { SqlErrorCode } from './errors.js';

export interface DatabaseInfo {
  readonly name: string;
  /** The database file plus its write-ahead log: what the database occupies on disk now. */
  readonly bytes: number;
  readonly createdAt: string;
}

const SUFFIX = '.sqlite';

export const databaseFile = (sqlDir: string, name: string) => join(sqlDir, `${name}${SUFFIX}`);
/** The database a file in the sql folder is, if it is one (`main.sqlite` → `main`; not `main.sqlite-wal`). */
export function databaseName(file: string): string | undefined {
  const name = file.endsWith(SUFFIX) ? file.slice(0, -SUFFIX.length) : '';
  return SQL_DATABASE_NAME_PATTERN.test(name) ? name : undefined;
}
const metaFile = (sqlDir: string, name: string) => join(sqlDir, `${name}.json`);
export const transfersDir = (sqlDir: string) => join(sqlDir, '.transfers');
export const tmpDir = (sqlDir: string) => join(sqlDir, '.tmp');

export function checkName(name: string): Result<string, SqlErrorCode> {
  return SQL_DATABASE_NAME_PATTERN.test(name)
    ? ok(name)
    : fail('sql.invalid_name', `database names are 1 to ${SQL_DATABASE_NAME_CHARS_MAX} of a-z 0-9 _ -, starting with a letter or digit (got ${JSON.stringify(name.slice(0, SQL_DATABASE_NAME_CHARS_MAX + 1))})`);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function databaseInfo(sqlDir: string, name: string): DatabaseInfo | undefined {
  const file = databaseFile(sqlDir, name);
  let created: number;
  try {
    created = statSync(file).birthtimeMs || statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  try {
    const meta = JSON.parse(readFileSync(metaFile(sqlDir, name), 'utf8')) as { createdAt?: unknown };
    if (typeof meta.createdAt === 'string') return { name, bytes: sizeOf(file) + sizeOf(`${file}-wal`), createdAt: meta.createdAt };
  } catch {
    // No sidecar (it is written just after the file): fall back to the file's own time.
  }
  return { name, bytes: sizeOf(file) + sizeOf(`${file}-wal`), createdAt: new Date(created).toISOString() };
}

export function listDatabases(sqlDir: string): DatabaseInfo[] {
  let names: string[];
  try {
    names = readdirSync(sqlDir);
  } catch {
    return [];
  }
  return names
    .filter((f) => f.endsWith(SUFFIX) && SQL_DATABASE_NAME_PATTERN.test(f.slice(0, -SUFFIX.length)))
    .map((f) => databaseInfo(sqlDir, f.slice(0, -SUFFIX.length)))
    .filter((info): info is DatabaseInfo => info !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function ensureDirs(sqlDir: string): void {
  mkdirSync(transfersDir(sqlDir), { recursive: true, mode: 0o700 });
  mkdirSync(tmpDir(sqlDir), { recursive: true, mode: 0o700 });
}

export function writeMeta(sqlDir: string, name: string, createdAt: Date): void {
  writeFileSync(metaFile(sqlDir, name), JSON.stringify({ createdAt: createdAt.toISOString() }));
}

/** Removes a database's files; the caller has closed every connection to it. */
export function removeDatabaseFiles(sqlDir: string, name: string): void {
  const file = databaseFile(sqlDir, name);
  // The log first: a main file without its log is a consistent (older) database, the reverse is not.
  for (const path of [`${file}-wal`, `${file}-shm`, file, metaFile(sqlDir, name)]) rmSync(path, { force: true });
}

/** Bytes of every file under `dir`, for the app's total (transfers and temporary files included). */
export function folderBytes(dir: string): number {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : sizeOf(path);
  }
  return total;
}
