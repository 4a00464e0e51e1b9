import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';

/**
 * Drizzle's `drizzle-orm/d1` and Kysely's `kysely-d1`, unchanged, inside workerd against Plinth
 * databases: a schema, a two-step migration (run twice: the second run is a no-op), queries,
 * joins, aggregates, RETURNING, a unique violation, cascading deletes, and a cross-call
 * transaction that rolls back. The app is installed in place so the ORMs resolve from the
 * repository's node_modules.
 */
describe('sql: Drizzle and Kysely run unchanged', () => {
  let daemon: TestDaemon;
  const scenario = async (path: string) => {
    const response = await daemon.fetch(daemon.appUrl('sql-orm', path), { method: 'POST', body: '{}' });
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(response.status, 200, JSON.stringify(body));
    return body;
  };

  before(async () => {
    daemon = await startTestDaemon();
    installApp(daemon, join(TEST_APPS, 'sql-orm'));
  });
  after(() => daemon?.stop());

  test('drizzle-orm/d1: migrate, insert, batch, join, aggregate, relational query, transaction', async () => {
    const result = await scenario('/drizzle');
    assert.deepEqual(result.applied, [2, 0]);
    assert.deepEqual(result.ada, { id: 1, name: 'ada', email: 'ada@example.com', active: true, createdAt: '2025-01-02T03:04:05.678Z', avatar: [0, 1, 2, 255] });
    assert.deepEqual(result.joined, [
      { title: 'second', views: 30, author: 'ada' },
      { title: 'first', views: 11, author: 'ada' },
      { title: 'bobs', views: 5, author: 'bob' },
    ]);
    assert.deepEqual(result.perAuthor, [{ author: 'ada', n: 2 }, { author: 'bob', n: 1 }]);
    assert.equal(result.foundEmail, 'ada@example.com');
    assert.equal(result.foundActive, true);
    assert.match(result.uniqueError as string, /UNIQUE constraint failed: users\.name/);
    assert.equal(result.rolledBack, true);
    assert.equal(result.remainingPosts, 2, 'deleting bob cascaded to his post');
  });

  test('kysely-d1: Migrator, introspection, insert/returning, join, aggregate, transaction', async () => {
    const result = await scenario('/kysely');
    assert.equal(result.migrateError, '');
    assert.deepEqual(result.migrated, ['0001_init:Success', '0002_isbn:Success']);
    assert.equal(result.migratedAgain, 0);
    const tables = result.tables as { name: string; columns: string[] }[];
    assert.deepEqual(tables.find((t) => t.name === 'books')?.columns, ['id', 'author_id', 'title', 'pages', 'isbn']);
    assert.deepEqual(result.le, { id: 1, name: 'Le Guin' });
    assert.equal(result.lemId, 2);
    assert.equal(result.updated, 1);
    assert.deepEqual(result.joined, [
      { title: 'The Dispossessed', pages: 387, name: 'Le Guin' },
      { title: 'The Left Hand of Darkness', pages: 304, name: 'Le Guin' },
    ]);
    assert.deepEqual(result.counts, [{ name: 'Le Guin', n: 2 }, { name: 'Lem', n: 1 }]);
    assert.equal(result.rolledBack, true);
    assert.equal(result.deleted, 1);
    assert.equal(result.booksLeft, 2, 'deleting Lem cascaded to Solaris');
  });
});
