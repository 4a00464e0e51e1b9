import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { appPaths } from '../../apps/installer.js';
import { startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { descendants, processView } from '../../testing/process-tree.js';
import { installSqlApp, sqlApp, sqlErr, sqlOk } from '../../testing/sql-app.js';
import { SANDBOX_UID } from '../../runtime/limits.js';
import { detectIsolation } from '../../runtime/sandbox.js';

type Row = Record<string, unknown>;
interface D1Result { success: boolean; meta: Record<string, unknown>; results: Row[] }

describe('sql: D1-compatible databases through the real daemon and workerd', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-sql-'));
  let daemon: TestDaemon;
  const d1 = <T>(appId: string, body: Record<string, unknown>) => sqlOk<T>(daemon, appId, '/d1', body);
  const d1Err = (appId: string, body: Record<string, unknown>) => sqlErr(daemon, appId, '/d1', body);
  const count = async (appId: string, db: string, table: string) => d1<number>(appId, { db, op: 'first', sql: `SELECT count(*) AS n FROM ${table}`, column: 'n' });
  const sqlDir = (appId: string) => join(appPaths(daemon.dataDir, appId).data, 'sql');
  const raw = async (appId: string, spec: { method: string; path: string; headers?: Record<string, string>; body?: string }) => {
    const response = await daemon.fetch(daemon.appUrl(appId, '/raw'), { method: 'POST', body: JSON.stringify(spec), headers: { 'content-type': 'application/json' } });
    return { status: response.status, body: await response.text() };
  };

  before(async () => {
    daemon = await startTestDaemon();
    installSqlApp(daemon, work, 'alpha');
    installSqlApp(daemon, work, 'beta');
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('create, list, delete; names validated; a missing database is sql.not_found', async () => {
    const created = await sqlOk<{ name: string; bytes: number; createdAt: string }>(daemon, 'alpha', '/create', { name: 'main' });
    assert.equal(created.name, 'main');
    assert.match(created.createdAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await sqlErr(daemon, 'alpha', '/create', { name: 'main' })).code, 'sql.exists');
    for (const name of ['', 'Upper', '-dash', 'a/b', '../beta', 'x'.repeat(65), 'dot.name']) {
      assert.equal((await sqlErr(daemon, 'alpha', '/create', { name })).code, 'sql.invalid_name', name);
    }
    await sqlOk(daemon, 'alpha', '/create', { name: 'scratch' });
    const list = await sqlOk<{ name: string; bytes: number }[]>(daemon, 'alpha', '/list', {});
    assert.deepEqual(list.map((d) => d.name), ['main', 'scratch']);
    assert.ok(list.every((d) => d.bytes >= 0));
    assert.equal(await sqlOk(daemon, 'alpha', '/delete', { name: 'scratch' }), true);
    assert.equal(await sqlOk(daemon, 'alpha', '/delete', { name: 'scratch' }), false);
    assert.equal(existsSync(join(sqlDir('alpha'), 'scratch.sqlite')), false);
    const missing = await d1Err('alpha', { db: 'nope', op: 'all', sql: 'SELECT 1' });
    assert.deepEqual([missing.code, missing.status], ['sql.not_found', 404]);
  });

  test('the D1 surface: all, first, run, raw, batch, exec, dump with D1 shapes and types', async () => {
    const exec = await d1<{ count: number; duration: number }>('alpha', { db: 'main', op: 'exec', sql: 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL, avatar BLOB, big INTEGER);\nCREATE INDEX users_score ON users (score)' });
    assert.equal(exec.count, 2);
    assert.equal(typeof exec.duration, 'number');
    const run = await d1<D1Result>('alpha', { db: 'main', op: 'run', sql: 'INSERT INTO users (name, score, avatar, big) VALUES (?, ?, ?, ?)', params: ['ada', 1.5, { b64: 'AAEC/w==' }, { bigint: '9007199254740993' }] });
    assert.equal(run.success, true);
    assert.deepEqual(run.results, []);
    for (const key of ['duration', 'changes', 'last_row_id', 'changed_db', 'size_after', 'rows_read', 'rows_written']) assert.ok(key in run.meta, key);
    assert.deepEqual([run.meta.changes, run.meta.last_row_id, run.meta.changed_db, run.meta.rows_written], [1, 1, true, 1]);
    assert.ok((run.meta.size_after as number) > 0);

    const all = await d1<D1Result>('alpha', { db: 'main', op: 'all', sql: 'SELECT * FROM users WHERE name = ?', params: ['ada'] });
    assert.deepEqual(all.results, [{ id: 1, name: 'ada', score: 1.5, avatar: { b64: 'AAEC/w==' }, big: { bigint: '9007199254740993' } }]);
    assert.deepEqual([all.meta.rows_read, all.meta.changed_db, all.meta.changes], [1, false, 0]);

    assert.deepEqual(await d1('alpha', { db: 'main', op: 'first', sql: 'SELECT name, score FROM users' }), { name: 'ada', score: 1.5 });
    assert.equal(await d1('alpha', { db: 'main', op: 'first', sql: 'SELECT name FROM users', column: 'name' }), 'ada');
    assert.equal(await d1('alpha', { db: 'main', op: 'first', sql: 'SELECT name FROM users WHERE id = 99' }), null);
    const noColumn = await d1Err('alpha', { db: 'main', op: 'first', sql: 'SELECT name FROM users', column: 'nope' });
    assert.match(noColumn.message, /^D1_COLUMN_NOTFOUND/);

    assert.deepEqual(await d1('alpha', { db: 'main', op: 'raw', sql: 'SELECT id, name FROM users', columnNames: true }), [['id', 'name'], [1, 'ada']]);
    assert.deepEqual(await d1('alpha', { db: 'main', op: 'raw', sql: 'SELECT id, name FROM users' }), [[1, 'ada']]);
    assert.deepEqual(await d1('alpha', { db: 'main', op: 'raw', sql: 'SELECT id, name FROM users WHERE id = 99', columnNames: true }), [['id', 'name']]);
    assert.deepEqual(await d1('alpha', { db: 'main', op: 'all', sql: "SELECT ? AS t, ? AS f, ? AS n, ? AS inf, typeof(?) AS ty, ?2 AS again", params: [true, false, null, { real: 'Infinity' }, 7] }).then((r) => (r as D1Result).results),
      [{ t: 1, f: 0, n: null, inf: { real: 'Infinity' }, ty: 'integer', again: 0 }]);

    const batch = await d1<D1Result[]>('alpha', { db: 'main', op: 'batch', statements: [
      { sql: 'INSERT INTO users (name) VALUES (?)', params: ['bob'] },
      { sql: 'UPDATE users SET score = ? WHERE name = ? RETURNING id', params: [2, 'bob'] },
      { sql: 'SELECT count(*) AS n FROM users' },
    ] });
    assert.equal(batch.length, 3);
    assert.deepEqual(batch.map((r) => r.success), [true, true, true]);
    assert.deepEqual(batch[1]!.results, [{ id: 2 }]);
    assert.deepEqual(batch[2]!.results, [{ n: 2 }]);

    const dump = await d1<{ b64: string }>('alpha', { db: 'main', op: 'dump' });
    const file = Buffer.from(dump.b64, 'base64');
    assert.equal(file.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  });

  test('malformed SQL is a 400 with SQLite\'s message and changes nothing; a failed batch leaves nothing', async () => {
    const before = await count('alpha', 'main', 'users');
    const syntax = await d1Err('alpha', { db: 'main', op: 'run', sql: 'INSRT INTO users (name) VALUES (1)' });
    assert.deepEqual([syntax.code, syntax.status], ['sql.sqlite_error', 400]);
    assert.match(syntax.message, /^D1_ERROR: near "INSRT": syntax error/);
    const unique = await d1Err('alpha', { db: 'main', op: 'run', sql: "INSERT INTO users (name) VALUES ('ada')" });
    assert.deepEqual([unique.code, unique.status], ['sql.constraint_violation', 409]);
    const batch = await d1Err('alpha', { db: 'main', op: 'batch', statements: [
      { sql: 'INSERT INTO users (name) VALUES (?)', params: ['carol'] },
      { sql: 'INSERT INTO users (name) VALUES (?)', params: ['dave'] },
      { sql: 'INSERT INTO users (name) VALUES (?)', params: ['ada'] },
    ] });
    assert.equal(batch.code, 'sql.constraint_violation');
    assert.match(batch.message, /statement 3 of the batch/);
    assert.equal(await count('alpha', 'main', 'users'), before);
    const params = await d1Err('alpha', { db: 'main', op: 'all', sql: 'SELECT ?, ?', params: [1] });
    assert.equal(params.code, 'sql.bad_parameters');
    const undef = await sqlApp(daemon, 'alpha', '/d1', { db: 'main', op: 'all', sql: 'SELECT ?', params: [{ b64: '' }, null] });
    assert.equal(undef.error?.code, 'sql.bad_parameters');
  });

  test('transaction() commits, rolls back on throw, and rolls back on lease time-out', async () => {
    await d1('alpha', { db: 'main', op: 'exec', sql: 'CREATE TABLE ledger (id INTEGER PRIMARY KEY, note TEXT)' });
    await sqlOk(daemon, 'alpha', '/tx', { db: 'main', steps: [{ sql: "INSERT INTO ledger (note) VALUES ('kept-1')" }, { sql: "INSERT INTO ledger (note) VALUES ('kept-2')" }] });
    assert.equal(await count('alpha', 'main', 'ledger'), 2);

    const thrown = await sqlErr(daemon, 'alpha', '/tx', { db: 'main', steps: [{ sql: "INSERT INTO ledger (note) VALUES ('gone')" }], then: 'throw' });
    assert.equal(thrown.message, 'thrown inside the transaction');
    assert.equal(await count('alpha', 'main', 'ledger'), 2);

    const started = Date.now();
    const expired = await sqlErr(daemon, 'alpha', '/tx', { db: 'main', steps: [{ sql: "INSERT INTO ledger (note) VALUES ('expired')" }], then: 'sleep', sleepMs: 1200, timeoutMs: 300 });
    assert.equal(expired.code, 'sql.transaction_not_found');
    assert.ok(Date.now() - started >= 1200);
    assert.equal(await count('alpha', 'main', 'ledger'), 2);
    // The lock was released at the lease's end: an ordinary write goes straight through.
    await d1('alpha', { db: 'main', op: 'run', sql: "INSERT INTO ledger (note) VALUES ('after')" });
    assert.equal(await count('alpha', 'main', 'ledger'), 3);
  });

  test('a write outside a transaction waits for it, and sees its result afterwards', async () => {
    const holding = sqlOk(daemon, 'alpha', '/tx', { db: 'main', steps: [{ sql: "INSERT INTO ledger (note) VALUES ('in-tx')" }], then: 'sleep', sleepMs: 500 });
    await sleep(150);
    const started = Date.now();
    await d1('alpha', { db: 'main', op: 'run', sql: "INSERT INTO ledger (note) VALUES ('waited')" });
    assert.ok(Date.now() - started >= 200, 'the write waited for the lock');
    await holding;
    assert.deepEqual(await d1('alpha', { db: 'main', op: 'raw', sql: "SELECT note FROM ledger WHERE note IN ('in-tx', 'waited') ORDER BY id" }), [['in-tx'], ['waited']]);
  });

  test('export during concurrent writes is one consistent point in time; import checks before replacing', async () => {
    await d1('alpha', { db: 'main', op: 'exec', sql: 'CREATE TABLE pair_a (id INTEGER PRIMARY KEY, pad BLOB); CREATE TABLE pair_b (id INTEGER PRIMARY KEY, pad BLOB)' });
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await d1('alpha', { db: 'main', op: 'batch', statements: [{ sql: 'INSERT INTO pair_a (pad) VALUES (randomblob(2000))' }, { sql: 'INSERT INTO pair_b (pad) VALUES (randomblob(2000))' }] });
        written++;
      }
    })();
    await sleep(300);
    const exported = await d1<{ bytes: number; file: { b64: string } }>('alpha', { db: 'main', op: 'export' });
    await sleep(200);
    writing = false;
    await writer;
    const file = join(work, 'export.sqlite');
    writeFileSync(file, Buffer.from(exported.file.b64, 'base64'));
    assert.equal(Buffer.from(exported.file.b64, 'base64').length, exported.bytes);
    const copy = new Database(file, { readonly: true });
    const pairs = copy.prepare('SELECT (SELECT count(*) FROM pair_a) AS a, (SELECT count(*) FROM pair_b) AS b').get() as { a: number; b: number };
    assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
    copy.close();
    assert.equal(pairs.a, pairs.b, 'both halves of every batch, or neither');
    assert.ok(pairs.a > 0 && pairs.a < written, `snapshot ${pairs.a} of ${written} pairs`);

    // Import the snapshot as a new database, then refuse junk without touching what is there.
    const imported = await d1<{ name: string; bytes: number }>('alpha', { db: 'restored', op: 'import', params: [exported.file] });
    assert.equal(imported.name, 'restored');
    assert.equal(await count('alpha', 'restored', 'pair_a'), pairs.a);
    const junk = await d1Err('alpha', { db: 'restored', op: 'import', params: [{ b64: Buffer.from('not a database at all').toString('base64') }] });
    assert.equal(junk.code, 'sql.invalid_database');
    const truncated = Buffer.from(exported.file.b64, 'base64').subarray(0, 8192);
    const broken = await d1Err('alpha', { db: 'restored', op: 'import', params: [{ b64: truncated.toString('base64') }] });
    assert.equal(broken.code, 'sql.invalid_database');
    assert.equal(await count('alpha', 'restored', 'pair_a'), pairs.a);
  });

  test('ATTACH, VACUUM INTO, load_extension and file PRAGMAs are refused and create no file', async () => {
    const outside = join(work, 'escape.db');
    for (const sql of [`ATTACH '/etc/passwd' AS p`, `ATTACH '${outside}' AS x`, `VACUUM INTO '${outside}'`, "SELECT load_extension('/tmp/x.so')", 'PRAGMA journal_mode = DELETE', 'PRAGMA database_list']) {
      const refused = await d1Err('alpha', { db: 'main', op: 'all', sql });
      assert.deepEqual([refused.code, refused.status], ['sql.not_authorized', 403], sql);
    }
    const inExec = await sqlErr(daemon, 'alpha', '/d1', { db: 'main', op: 'exec', sql: `SELECT 1; ATTACH '${outside}' AS x` });
    assert.equal(inExec.code, 'sql.not_authorized');
    const inBatch = await d1Err('alpha', { db: 'main', op: 'batch', statements: [{ sql: 'SELECT 1' }, { sql: `ATTACH '${outside}' AS x` }] });
    assert.equal(inBatch.code, 'sql.not_authorized');
    assert.equal(existsSync(outside), false);
    assert.equal((await d1Err('alpha', { db: 'main', op: 'run', sql: 'BEGIN' })).code, 'sql.transaction_statement');
  });

  test('one app cannot reach another app\'s databases or transactions by any name, path or header', async () => {
    await sqlOk(daemon, 'beta', '/create', { name: 'main' });
    assert.deepEqual(await d1('beta', { db: 'main', op: 'all', sql: "SELECT name FROM sqlite_master WHERE name = 'users'" }).then((r) => (r as D1Result).results), []);
    assert.equal((await d1Err('beta', { db: 'restored', op: 'all', sql: 'SELECT 1' })).code, 'sql.not_found');
    for (const path of ['/v1/sql/..%2Falpha%2Fmain/query', '/v1/sql/alpha%2Fmain/query', '/v1/apps/alpha/sql/main/query', '/v1/sql/restored/query?app=alpha']) {
      const answer = await raw('beta', { method: 'POST', path, headers: { 'plinth-app-id': 'alpha' }, body: JSON.stringify({ sql: 'SELECT * FROM pair_a' }) });
      assert.ok(answer.status >= 400, `${path} answered ${answer.status}`);
      assert.doesNotMatch(answer.body, /"pad"/, path);
    }
    // A transaction id of alpha's is unknown to beta, even on a database of the same name.
    const begun = await raw('alpha', { method: 'POST', path: '/v1/sql/main/transactions', body: '{}' });
    assert.equal(begun.status, 200, begun.body);
    const { id } = JSON.parse(begun.body) as { id: string };
    const stolen = await raw('beta', { method: 'POST', path: '/v1/sql/main/query', body: JSON.stringify({ sql: 'SELECT 1', transaction: id }) });
    assert.deepEqual([stolen.status, (JSON.parse(stolen.body) as { error: { code: string } }).error.code], [404, 'sql.transaction_not_found']);
    const stolenEnd = await raw('beta', { method: 'POST', path: `/v1/sql/main/transactions/${id}/commit` });
    assert.equal(stolenEnd.status, 404);
    assert.equal((await raw('alpha', { method: 'POST', path: `/v1/sql/main/transactions/${id}/rollback` })).status, 200);
  });

  test('under bwrap, an app\'s SQL process has no capabilities, runs under seccomp, and sees only its own sql folder of the data', { skip: (process.env.PLINTH_ISOLATION === 'none' && 'the daemon runs with PLINTH_ISOLATION=none') || (detectIsolation('auto') === 'none' && 'bwrap cannot build the sandbox on this machine') }, async () => {
    await sqlOk(daemon, 'beta', '/create', { name: 'seen' });
    await d1('alpha', { db: 'main', op: 'all', sql: 'SELECT 1' });
    const engines = descendants(daemon.process.pid!).filter((p) => p.name === 'node' && p.cmdline.some((a) => a.endsWith('engine-process.js')));
    const alpha = engines.filter((p) => p.cmdline.at(-1) === sqlDir('alpha'));
    assert.equal(alpha.length, 1, `one SQL process for alpha (found ${engines.map((p) => p.cmdline.at(-1)).join(', ')})`);
    const { pid, status, uidMap, userNamespace } = alpha[0]!;
    assert.deepEqual(
      [status.CapEff, status.CapPrm, status.CapBnd, status.NoNewPrivs, status.Seccomp],
      ['0000000000000000', '0000000000000000', '0000000000000000', '1', '2'],
    );
    assert.deepEqual(uidMap, [[SANDBOX_UID, process.getuid!(), 1]]);
    assert.notEqual(userNamespace, processView(process.pid).userNamespace);
    // Its mount namespace, seen through /proc/<pid>/root: its own folder, and nothing else of the data.
    const inside = (path: string) => existsSync(join(`/proc/${pid}/root`, path));
    assert.equal(inside(join(sqlDir('alpha'), 'main.sqlite')), true);
    assert.equal(existsSync(sqlDir('beta')), true);
    for (const hidden of [sqlDir('beta'), appPaths(daemon.dataDir, 'beta').root, join(daemon.dataDir, 'control.db'), join(daemon.dataDir, 'root.key'), appPaths(daemon.dataDir, 'alpha').versions]) {
      assert.equal(inside(hidden), false, `${hidden} is visible to alpha's SQL process`);
    }
  });

  test('an app process that dies with a transaction open has it rolled back at once, not at its lease end', async () => {
    const hanging = sqlApp(daemon, 'alpha', '/tx', { db: 'main', steps: [{ sql: "INSERT INTO ledger (note) VALUES ('orphan')" }], then: 'hang', timeoutMs: 30_000 }).catch((error: Error) => error);
    await sleep(500);
    const runtime = async () => {
      const view = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/alpha`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
      return ((await view.json()) as { runtime: { pid: number | null; state: string } }).runtime;
    };
    const { pid } = await runtime();
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    await hanging;
    // Wait (bounded) until the supervisor has seen the exit, so the next request starts a new process.
    for (let i = 0; i < 50 && (await runtime()).state === 'running'; i++) await sleep(100);
    await d1('alpha', { db: 'main', op: 'run', sql: "INSERT INTO ledger (note) VALUES ('after-crash')" });
    assert.ok(Date.now() - killedAt < 5_000, `the write went through ${Date.now() - killedAt} ms after the kill; the lease was 30 s`);
    assert.equal(await d1('alpha', { db: 'main', op: 'first', sql: "SELECT count(*) AS n FROM ledger WHERE note = 'orphan'", column: 'n' }), 0);
  });

  test('a runaway query is stopped at its time limit; other apps and the app itself go on', async () => {
    const started = Date.now();
    const runaway = d1Err('alpha', { db: 'main', op: 'first', timeoutMs: 1500, sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) SELECT count(*) FROM c' });
    await sleep(300);
    // Meanwhile another app is served at once, by its own SQL process.
    const during = Date.now();
    assert.equal(await d1('beta', { db: 'main', op: 'first', sql: 'SELECT 42 AS x', column: 'x' }), 42);
    assert.ok(Date.now() - during < 1000, 'beta was not held up');
    const stopped = await runaway;
    assert.deepEqual([stopped.code, stopped.status], ['sql.timeout', 408]);
    assert.ok(Date.now() - started < 8000, `stopped after ${Date.now() - started} ms`);
    assert.equal(await count('alpha', 'main', 'ledger') > 0, true);
  });
});
