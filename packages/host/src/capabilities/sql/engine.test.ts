import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { QueryResult } from './connection.js';
import { createEngine, type EngineAnswer, type EngineRequest } from './engine.js';
import { SQL_DATABASE_BYTES_MAX, SQL_RESULT_BYTES_MAX } from './limits.js';
import { databaseFile, ensureDirs } from './store.js';

describe('sql engine (in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-sql-engine-'));
  const engine = createEngine(dir);
  const handle = (request: EngineRequest): EngineAnswer => engine.handle(request);
  const value = <T>(request: EngineRequest): T => {
    const answer = handle(request);
    assert.ok(answer.ok, JSON.stringify(answer));
    return answer.value as T;
  };
  const query = (sql: string, params: unknown[] = [], extra: Partial<{ tx: string; first: boolean }> = {}) =>
    handle({ op: 'query', db: 'main', statement: { sql, params: params as never }, ...extra });

  before(() => {
    ensureDirs(dir);
    value({ op: 'create', db: 'main' });
  });
  after(() => {
    engine.closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create makes a WAL database with the size cap set; a second create of the name fails', () => {
    assert.equal(handle({ op: 'create', db: 'main' }).ok, false);
    const rows = (q: string) => (value<QueryResult>({ op: 'query', db: 'main', statement: { sql: q } })).rows;
    assert.deepEqual(rows('PRAGMA journal_mode'), [['wal']]);
    assert.deepEqual(rows('PRAGMA foreign_keys'), [[1]]);
    assert.deepEqual(rows('PRAGMA synchronous'), [[1]]);
    assert.deepEqual(rows('PRAGMA max_page_count'), [[SQL_DATABASE_BYTES_MAX / 4096]]);
  });

  test('values round-trip: integers by size, reals, text, blobs, null; numbers bind as INTEGER when whole', () => {
    value({ op: 'exec', db: 'main', sql: 'CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, n, any)' });
    const insert = query('INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)', [{ $bigint: '9007199254740993' }, 1.5, 'ünï', { $blob: 'AAH/' }, null, 3]);
    assert.ok(insert.ok);
    const meta = (insert.value as QueryResult).meta;
    assert.deepEqual([meta.changes, meta.last_row_id, meta.changed_db, meta.rows_written, meta.served_by], [1, 1, true, 1, 'plinth']);
    const read = query('SELECT i, r, t, b, n, any, typeof(any) AS ty, 9007199254740991 AS safe, 1e999 AS inf FROM v');
    assert.ok(read.ok);
    const result = read.value as QueryResult;
    assert.deepEqual(result.columns, ['i', 'r', 't', 'b', 'n', 'any', 'ty', 'safe', 'inf']);
    assert.deepEqual(result.rows, [[{ $bigint: '9007199254740993' }, 1.5, 'ünï', { $blob: 'AAH/' }, null, 3, 'integer', 9007199254740991, { $real: 'Infinity' }]]);
    assert.equal(result.meta.rows_read, 1);
    assert.equal(result.meta.changed_db, false);
    assert.equal(query('SELECT ?', [{ $bigint: '9223372036854775808' }]).ok, false, 'past 64 bits');
  });

  test('?NNN parameters bind by number; a wrong count is refused', () => {
    const read = query('SELECT ?2 AS b, ?1 AS a', ['one', 'two']);
    assert.ok(read.ok);
    assert.deepEqual((read.value as QueryResult).rows, [['two', 'one']]);
    const few = query('SELECT ?, ?', [1]);
    assert.equal(!few.ok && few.error.code, 'sql.bad_parameters');
  });

  test('a batch is all or nothing; the failure names its statement', () => {
    value({ op: 'exec', db: 'main', sql: 'CREATE TABLE k (id INTEGER PRIMARY KEY, name TEXT UNIQUE)' });
    const answer = handle({ op: 'batch', db: 'main', statements: [
      { sql: 'INSERT INTO k (name) VALUES (?)', params: ['a'] },
      { sql: 'INSERT INTO k (name) VALUES (?)', params: ['a'] },
    ] });
    assert.equal(answer.ok, false);
    assert.ok(!answer.ok && answer.error.code === 'sql.constraint_violation' && /statement 2 of the batch/.test(answer.error.message));
    assert.deepEqual((value<QueryResult>({ op: 'query', db: 'main', statement: { sql: 'SELECT count(*) FROM k' } })).rows, [[0]]);
    const syntax = handle({ op: 'batch', db: 'main', statements: [{ sql: 'INSERT INTO k (name) VALUES (1)' }, { sql: 'SELEC 1' }] });
    assert.ok(!syntax.ok && syntax.error.code === 'sql.sqlite_error' && /syntax error/.test(syntax.error.message));
    assert.deepEqual((value<QueryResult>({ op: 'query', db: 'main', statement: { sql: 'SELECT count(*) FROM k' } })).rows, [[0]]);
  });

  test('a transaction holds the lock: other writes answer retry and change nothing, reads see committed data', () => {
    value({ op: 'begin', db: 'main', tx: 't1' });
    assert.ok(query("INSERT INTO k (name) VALUES ('in-tx')", [], { tx: 't1' }).ok);
    const blocked = query("INSERT INTO k (name) VALUES ('outside')");
    assert.equal(!blocked.ok && blocked.retry, true);
    assert.deepEqual((query('SELECT count(*) FROM k').ok && (query('SELECT count(*) FROM k') as { value: QueryResult }).value.rows), [[0]]);
    const second = handle({ op: 'begin', db: 'main', tx: 't2' });
    assert.equal(!second.ok && second.retry, true);
    const exec = handle({ op: 'exec', db: 'main', sql: 'SELECT 1' });
    assert.equal(!exec.ok && exec.retry, true);
    value({ op: 'commit', tx: 't1' });
    assert.ok(query("INSERT INTO k (name) VALUES ('outside')").ok);
    assert.deepEqual((value<QueryResult>({ op: 'query', db: 'main', statement: { sql: 'SELECT name FROM k ORDER BY id' } })).rows, [['in-tx'], ['outside']]);
    value({ op: 'begin', db: 'main', tx: 't3' });
    assert.ok(query("INSERT INTO k (name) VALUES ('undone')", [], { tx: 't3' }).ok);
    value({ op: 'rollback', tx: 't3' });
    assert.equal(query('SELECT 1', [], { tx: 't3' }).ok, false);
    assert.deepEqual((value<QueryResult>({ op: 'query', db: 'main', statement: { sql: "SELECT count(*) FROM k WHERE name = 'undone'" } })).rows, [[0]]);
  });

  test('results past the cap are refused, and a RETURNING write past it is undone', () => {
    value({ op: 'exec', db: 'main', sql: 'CREATE TABLE big (b BLOB)' });
    const rows = Math.ceil(SQL_RESULT_BYTES_MAX / (768 * 1024)) + 1;
    const answer = handle({ op: 'query', db: 'main', statement: { sql: `INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) SELECT randomblob(${768 * 1024}) FROM n RETURNING b` } });
    assert.ok(!answer.ok && answer.error.code === 'sql.result_too_large', JSON.stringify(answer).slice(0, 200));
    assert.deepEqual((value<QueryResult>({ op: 'query', db: 'main', statement: { sql: 'SELECT count(*) FROM big' } })).rows, [[0]]);
  });

  test('first stops a read after one row', () => {
    const answer = value<QueryResult>({ op: 'query', db: 'main', statement: { sql: 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT i FROM n' }, first: true });
    assert.deepEqual(answer.rows, [[1]]);
  });

  test('replace swaps in a new file whole; delete removes every file', () => {
    const file = join(dir, '.transfers', 'upload.sqlite');
    writeFileSync(file, '');
    value({ op: 'replace', db: 'other', file });
    assert.ok(existsSync(databaseFile(dir, 'other')));
    value({ op: 'delete', db: 'other' });
    assert.equal(existsSync(databaseFile(dir, 'other')), false);
    assert.equal(existsSync(`${databaseFile(dir, 'other')}-wal`), false);
    const missing = handle({ op: 'delete', db: 'other' });
    assert.ok(!missing.ok && missing.error.code === 'sql.not_found');
  });
});
