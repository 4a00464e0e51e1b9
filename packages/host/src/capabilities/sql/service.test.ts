import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { detectIsolation } from '../../runtime/sandbox.js';
import { SQL_DATABASES_PER_APP_MAX, SQL_TRANSFER_CHUNK_BYTES_MAX } from './limits.js';
import { createSqlService } from './service.js';

describe('sql service: caps, storage accounting, transfers', () => {
  const root = mkdtempSync(join(tmpdir(), 'plinth-sql-service-'));
  const events: string[] = [];
  const service = createSqlService({ sqlDirOf: (appId) => join(root, appId, 'sql'), isolation: detectIsolation('auto'), now: Date.now, event: (appId, text) => events.push(`${appId}: ${text}`), storageBytesMax: 1024 ** 4, objectBytes: () => 0 });
  after(async () => {
    await service.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test(`an app holds ${SQL_DATABASES_PER_APP_MAX} databases; the next create is sql.too_many and leaves no file`, async () => {
    for (let i = 0; i < SQL_DATABASES_PER_APP_MAX; i++) {
      const created = await service.create('capped', `db${i}`);
      assert.ok(created.ok, JSON.stringify(created));
    }
    const refused = await service.create('capped', 'one-more');
    assert.ok(!refused.ok && refused.error.code === 'sql.too_many');
    const list = service.list('capped');
    assert.ok(list.ok);
    assert.equal(list.value.databases.length, SQL_DATABASES_PER_APP_MAX);
    assert.equal(list.value.databases.some((d) => d.name === 'one-more'), false);
    const other = service.list('other');
    assert.deepEqual(other.ok && other.value.databases, [], 'apps are separate');
  });

  test('usage reports the bytes of each database, growing with its data', async () => {
    await service.create('acct', 'small');
    await service.create('acct', 'large');
    const before = service.usage('acct');
    const grown = await service.exec('acct', 'large', 'CREATE TABLE b (x BLOB); INSERT INTO b SELECT randomblob(200000)', {});
    assert.ok(grown.ok, JSON.stringify(grown));
    const after = service.usage('acct');
    const bytesOf = (usage: typeof after, name: string) => usage.databases.find((d) => d.name === name)!.bytes;
    assert.ok(bytesOf(after, 'large') >= bytesOf(before, 'large') + 200_000, JSON.stringify(after));
    assert.equal(after.bytes, after.databases.reduce((sum, d) => sum + d.bytes, 0));
    const info = service.info('acct', 'large');
    assert.ok(info.ok && info.value.bytes === bytesOf(after, 'large'));
  });

  test('an import is appended only at its current end, and a chunk past the cap is refused', async () => {
    const started = service.importStart('acct', 'copy');
    assert.ok(started.ok);
    const id = started.value.id;
    assert.ok(service.importAppend('acct', 'copy', id, 0, Buffer.alloc(10)).ok);
    const replayed = service.importAppend('acct', 'copy', id, 0, Buffer.alloc(10));
    assert.ok(!replayed.ok && replayed.error.code === 'sql.transfer_offset_mismatch');
    assert.ok(service.importAppend('acct', 'copy', id, 10, Buffer.alloc(SQL_TRANSFER_CHUNK_BYTES_MAX)).ok, 'a chunk at the cap');
    const tooBig = service.importAppend('acct', 'copy', id, 10 + SQL_TRANSFER_CHUNK_BYTES_MAX, Buffer.alloc(SQL_TRANSFER_CHUNK_BYTES_MAX + 1));
    assert.ok(!tooBig.ok && tooBig.error.code === 'sql.database_too_large');
    const otherApp = service.importAppend('capped', 'copy', id, 10 + SQL_TRANSFER_CHUNK_BYTES_MAX, Buffer.alloc(1));
    assert.ok(!otherApp.ok && otherApp.error.code === 'sql.transfer_not_found');
    const committed = await service.importCommit('acct', 'copy', id);
    assert.ok(!committed.ok && committed.error.code === 'sql.invalid_database');
    assert.equal(service.info('acct', 'copy').ok, false, 'a refused import creates nothing');
    assert.ok(service.usage('acct').transferBytes < 4096, 'the upload file is gone');
  });
});
