import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from './testing/daemon-harness.js';
import { installCopy } from './testing/objects-fixture.js';
import { installSqlApp, sqlOk } from './testing/sql-app.js';
import { call as vaultCall, installVault } from './testing/vault-rpc.js';
import { writeVersionedApp } from './testing/versioned-app.js';

/** Every entry under `root` whose mode lets anyone but the owner in: folders must be 0700, files 0600. */
function looseEntries(root: string): string[] {
  const loose: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const mode = stat.mode & 0o777;
      const shown = `${relative(root, path)} ${mode.toString(8).padStart(4, '0')}`;
      if (stat.isDirectory()) {
        if (mode !== 0o700) loose.push(`${shown} (folder)`);
        walk(path);
      } else if (stat.isFile()) {
        if (mode !== 0o600) loose.push(`${shown} (file)`);
      } else if (stat.isSocket()) {
        // bind() makes sockets 0777 less the umask; what matters is that nobody else can connect.
        if ((mode & 0o077) !== 0) loose.push(`${shown} (socket)`);
      } else {
        loose.push(`${shown} (neither file, folder nor socket)`);
      }
    }
  };
  walk(root);
  return loose;
}

describe('data folder modes', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-modes-'));
  let daemon: TestDaemon;
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('after apps, SQL, objects, secrets, keys, an update with its snapshot and logs, every folder is 0700 and every file 0600', async () => {
    // The shell's usual umask: without the daemon's own, files would be 0644 and folders 0755.
    daemon = await startTestDaemon({ env: { PLINTH_IDLE_STOP_MS: '60000' } });

    installSqlApp(daemon, work, 'modes-sql');
    await sqlOk(daemon, 'modes-sql', '/create', { name: 'main' });
    await sqlOk(daemon, 'modes-sql', '/d1', { db: 'main', op: 'exec', sql: 'CREATE TABLE t (x TEXT)' });
    await sqlOk(daemon, 'modes-sql', '/d1', { db: 'main', op: 'run', sql: 'INSERT INTO t VALUES (?)', params: ['a'] });

    installVault(daemon, work, 'modes-vault');
    await vaultCall(daemon, 'modes-vault', 'secrets', 'set', 'TOKEN', 'secret value');
    await vaultCall(daemon, 'modes-vault', 'keys', 'create', 'signer');

    installCopy(daemon, 'objects', 'modes-objects');
    const objects = async (method: string, ...args: unknown[]) => {
      const response = await daemon.fetch(daemon.appUrl('modes-objects', '/rpc'), { method: 'POST', body: JSON.stringify({ method, args }), headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 200, await response.clone().text());
      const answer = (await response.json()) as { error?: { code: string } };
      assert.equal(answer.error, undefined, JSON.stringify(answer.error));
    };
    await objects('createBucket', 'bucket');
    for (const [key, bytes] of [['small', 100], ['large', 200 * 1024]] as const) {
      // Small objects are stored inline in objects.db, large ones as blob files.
      const put = await daemon.fetch(daemon.appUrl('modes-objects', `/stream/bucket/${key}`), { method: 'PUT', body: Buffer.alloc(bytes, 1) });
      assert.equal(put.status, 200, await put.text());
    }

    const versioned = (version: string) => writeVersionedApp(join(work, `versioned-${version}`), version, 'migrate');
    installApp(daemon, versioned('1.0.0'));
    assert.equal((await daemon.fetch(daemon.appUrl('versioned', '/write?name=before'))).status, 200);
    const update = daemon.cli(['update', 'versioned', versioned('2.0.0')]);
    assert.equal(update.status, 0, update.stderr);

    // Console output and platform events (the update's, the starts') go to each app's log file.
    installApp(daemon, join(TEST_APPS, 'echo'));
    assert.equal((await daemon.fetch(daemon.appUrl('echo', '/public/log?text=modes'))).status, 200);

    // The run really made the files this test is about.
    const names = (path: string) => readdirSync(join(daemon.dataDir, path));
    assert.ok(names('.').includes('control.db'));
    assert.ok(names('apps/modes-objects/data/objects').includes('objects.db'), 'objects.db (inline objects) exists');
    assert.ok(names('apps/versioned').includes('updates') && names('apps/versioned/updates').length > 0, 'the update left its snapshot');
    assert.ok(names('apps/modes-sql/data/sql').includes('main.sqlite-wal'), 'SQLite made its -wal file');
    assert.ok(names('apps/echo/logs').includes('console.log'));

    assert.deepEqual(looseEntries(daemon.dataDir), [], 'while running');
    await daemon.stop({ keepData: true });
    assert.deepEqual(looseEntries(daemon.dataDir), [], 'after a clean stop');
    rmSync(daemon.dataDir, { recursive: true, force: true });
  });
});
