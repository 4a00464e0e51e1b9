// Kysely with the kysely-d1 dialect, unchanged, on a Plinth database, including its Migrator.
import { Kysely, sql, type Generated } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import { D1Dialect } from 'kysely-d1';
import type { PlinthDatabase } from '@plinth/guest';

interface Schema {
  authors: { id: Generated<number>; name: string; born: number | null };
  books: { id: Generated<number>; author_id: number; title: string; pages: number; isbn: string | null };
}

const migrations: Record<string, Migration> = {
  '0001_init': {
    async up(db) {
      await db.schema.createTable('authors')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('born', 'integer')
        .execute();
      await db.schema.createTable('books')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('author_id', 'integer', (c) => c.notNull().references('authors.id').onDelete('cascade'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0002_isbn': {
    async up(db) {
      await db.schema.alterTable('books').addColumn('isbn', 'text').execute();
      await db.schema.createIndex('books_author').on('books').column('author_id').execute();
    },
  },
};

export async function kyselyScenario(database: PlinthDatabase): Promise<Record<string, unknown>> {
  const db = new Kysely<Schema>({ dialect: new D1Dialect({ database: database as never }) });
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const first = await migrator.migrateToLatest();
  const again = await migrator.migrateToLatest();
  const tables = (await db.introspection.getTables()).map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) }));
  const le = await db.insertInto('authors').values({ name: 'Le Guin', born: 1929 }).returning(['id', 'name']).executeTakeFirstOrThrow();
  const insert = await db.insertInto('authors').values({ name: 'Lem', born: 1921 }).executeTakeFirstOrThrow();
  await db.insertInto('books').values([
    { author_id: le.id, title: 'The Dispossessed', pages: 387, isbn: '978-0061054884' },
    { author_id: le.id, title: 'The Left Hand of Darkness', pages: 304 },
    { author_id: Number(insert.insertId), title: 'Solaris', pages: 204 },
  ]).execute();
  const updated = await db.updateTable('books').set({ pages: sql`pages + 1` }).where('title', '=', 'Solaris').executeTakeFirst();
  const joined = await db.selectFrom('books').innerJoin('authors', 'authors.id', 'books.author_id')
    .select(['books.title', 'books.pages', 'authors.name']).where('books.pages', '>', 250).orderBy('books.pages', 'desc').execute();
  const counts = await db.selectFrom('authors').leftJoin('books', 'books.author_id', 'authors.id')
    .select(['authors.name', db.fn.count<number>('books.id').as('n')]).groupBy('authors.name').orderBy('authors.name').execute();
  let rolledBack = false;
  try {
    await database.transaction(async (tx) => {
      const inTx = new Kysely<Schema>({ dialect: new D1Dialect({ database: tx as never }) });
      await inTx.insertInto('authors').values({ name: 'Nobody', born: null }).execute();
      throw new Error('undo');
    });
  } catch {
    rolledBack = (await db.selectFrom('authors').selectAll().where('name', '=', 'Nobody').execute()).length === 0;
  }
  const deleted = await db.deleteFrom('authors').where('name', '=', 'Lem').executeTakeFirst();
  const books = await db.selectFrom('books').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return {
    migrated: first.results?.map((r) => `${r.migrationName}:${r.status}`), migratedAgain: again.results?.length, migrateError: String(first.error ?? again.error ?? ''),
    tables, le, lemId: Number(insert.insertId), updated: Number(updated.numUpdatedRows), joined, counts, rolledBack,
    deleted: Number(deleted.numDeletedRows), booksLeft: books.n,
  };
}
