import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { appPaths } from '../../apps/installer.js';
import { startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { descendants } from '../../testing/process-tree.js';
import { installSqlApp, sqlApp, sqlOk } from '../../testing/sql-app.js';

describe('sql: crash safety', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-sql-crash-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'plinth-sql-crash-data-'));
  let daemon: TestDaemon;
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('kill -9 of the daemon and its SQL process mid-write loses no acknowledged commit and corrupts nothing', async () => {
    daemon = await startTestDaemon({ dataDir });
    installSqlApp(daemon, work, 'crash');
    await sqlOk(daemon, 'crash', '/create', { name: 'main' });
    await sqlOk(daemon, 'crash', '/d1', { db: 'main', op: 'exec', sql: 'CREATE TABLE log (id INTEGER PRIMARY KEY, writer INTEGER, seq INTEGER, pad BLOB); CREATE TABLE twin (id INTEGER PRIMARY KEY, seq INTEGER)' });

    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let seq = 0; !stop && seq < 100_000; seq++) {
        try {
          const answer = await sqlApp(daemon, 'crash', '/d1', { db: 'main', op: 'batch', statements: [
            { sql: 'INSERT INTO log (writer, seq, pad) VALUES (?, ?, randomblob(3000))', params: [w, seq] },
            { sql: 'INSERT INTO twin (seq) VALUES (?)', params: [seq] },
          ] });
          if (!answer.error) acknowledged.push(`${w}:${seq}`);
        } catch {
          return; // the daemon is gone
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await sleep(1500);
    // The node process itself, not bubblewrap's processes around it (isolation bwrap).
    const engines = descendants(daemon.process.pid!).filter((p) => p.name === 'node' && p.cmdline.some((a) => a.endsWith('engine-process.js')));
    assert.equal(engines.length, 1, 'one SQL process for the one app');
    for (const { pid } of engines) process.kill(pid, 'SIGKILL');
    daemon.process.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await daemon.exited();
    assert.ok(acknowledged.length > 20, `only ${acknowledged.length} writes were acknowledged before the kill`);

    const file = join(appPaths(dataDir, 'crash').data, 'sql', 'main.sqlite');
    const direct = new Database(file, { readonly: true, fileMustExist: true });
    assert.equal(direct.pragma('integrity_check', { simple: true }), 'ok');
    const present = new Set((direct.prepare('SELECT writer, seq FROM log').all() as { writer: number; seq: number }[]).map((r) => `${r.writer}:${r.seq}`));
    const twins = direct.prepare('SELECT (SELECT count(*) FROM log) AS a, (SELECT count(*) FROM twin) AS b').get() as { a: number; b: number };
    direct.close();
    const lost = acknowledged.filter((k) => !present.has(k));
    assert.deepEqual(lost, [], 'every acknowledged batch is in the file');
    assert.equal(twins.a, twins.b, 'batches are whole: both rows or neither');

    daemon = await startTestDaemon({ dataDir });
    assert.equal(await sqlOk(daemon, 'crash', '/d1', { db: 'main', op: 'first', sql: 'PRAGMA integrity_check', column: 'integrity_check' }), 'ok');
    const count = await sqlOk<number>(daemon, 'crash', '/d1', { db: 'main', op: 'first', sql: 'SELECT count(*) AS n FROM log', column: 'n' });
    assert.ok(count >= acknowledged.length);
    await sqlOk(daemon, 'crash', '/d1', { db: 'main', op: 'run', sql: 'INSERT INTO log (writer, seq) VALUES (9, 9)' });
  });
});
