/**
 * A worker thread of an app's SQL process for the two long file jobs, so the process keeps
 * answering queries meanwhile: a snapshot (export) and the check of an uploaded file (import).
 * Both run on their own connection; in WAL mode a reader never blocks the app's writers.
 */
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { fail, ok } from '../../support/result.js';
import { sqliteFailure } from './connection.js';
import type { EngineAnswer } from './engine.js';
import { SQL_DATABASE_BYTES_MAX, SQL_LOCK_WAIT_MS_MAX } from './limits.js';

export type WorkerJob = { readonly op: 'snapshot'; readonly source: string; readonly file: string } | { readonly op: 'validate'; readonly file: string };

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * `VACUUM INTO` reads the database in one read transaction, so the copy is one consistent
 * point in time however many commits land meanwhile, and it is compact. Written to a new
 * file that is complete before anyone is told its name.
 */
function snapshot(source: string, file: string): EngineAnswer {
  let db: Database.Database | undefined;
  try {
    db = new Database(source, { fileMustExist: true, timeout: SQL_LOCK_WAIT_MS_MAX });
    db.prepare('VACUUM INTO ?').run(file);
    return ok({ file });
  } catch (error) {
    rmSync(file, { force: true });
    if (error instanceof Database.SqliteError && error.code === 'SQLITE_CANTOPEN') return fail('sql.not_found', 'the database does not exist');
    return sqliteFailure(error);
  } finally {
    db?.close();
  }
}

function readHeader(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(100);
    readSync(fd, header, 0, 100, 0);
    return header;
  } finally {
    closeSync(fd);
  }
}

/**
 * An upload becomes a database only if SQLite agrees it is one: the 16-byte magic header,
 * then a full `PRAGMA integrity_check`, then the size cap by page count.
 */
function validate(file: string): EngineAnswer {
  if (!readHeader(file).subarray(0, 16).equals(HEADER)) return fail('sql.invalid_database', 'the file is not an SQLite database (its header is wrong)');
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 0 });
    db.pragma('trusted_schema = OFF');
    const problems = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    if (problems.length !== 1 || problems[0] !== 'ok') {
      return fail('sql.invalid_database', `the file failed PRAGMA integrity_check: ${problems.slice(0, 5).join('; ')}`);
    }
    const pages = db.pragma('page_count', { simple: true }) as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    if (pages * pageSize > SQL_DATABASE_BYTES_MAX) return fail('sql.database_too_large', `a database holds at most ${SQL_DATABASE_BYTES_MAX} bytes (this one ${pages * pageSize})`);
    // Leave it in WAL mode like every database the platform opens; this also empties any log.
    db.pragma('journal_mode = WAL');
    return ok({ bytes: pages * pageSize });
  } catch (error) {
    if (error instanceof Database.SqliteError) return fail('sql.invalid_database', `SQLite cannot open the file: ${error.message}`);
    throw error;
  } finally {
    db?.close();
  }
}

const job = workerData as WorkerJob;
parentPort!.postMessage(job.op === 'snapshot' ? snapshot(job.source, job.file) : validate(job.file));
