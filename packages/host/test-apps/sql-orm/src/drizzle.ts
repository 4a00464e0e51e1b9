// Drizzle ORM's own D1 driver (`drizzle-orm/d1`), unchanged, on a Plinth database.
import { count, desc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { blob, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { PlinthDatabase } from '@plinth/guest';

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  email: text('email'),
  active: integer('active', { mode: 'boolean' }).notNull().default(true),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
  avatar: blob('avatar', { mode: 'buffer' }),
});

export const posts = sqliteTable('posts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  authorId: integer('author_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  title: text('title').notNull(),
  views: integer('views').notNull().default(0),
});

/** What drizzle-kit generates for the schema above, in two steps; the second is a real change. */
const MIGRATIONS = [
  {
    hash: '0000_init', folderMillis: 1_700_000_000_000, sql: [
      'CREATE TABLE `users` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t`name` text NOT NULL,\n\t`active` integer DEFAULT true NOT NULL,\n\t`created_at` integer NOT NULL,\n\t`avatar` blob\n);\n',
      'CREATE UNIQUE INDEX `users_name_unique` ON `users` (`name`);',
      'CREATE TABLE `posts` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t`author_id` integer NOT NULL,\n\t`title` text NOT NULL,\n\t`views` integer DEFAULT 0 NOT NULL,\n\tFOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade\n);\n',
    ],
  },
  { hash: '0001_email', folderMillis: 1_700_000_100_000, sql: ['ALTER TABLE `users` ADD `email` text;', 'CREATE INDEX `posts_author_idx` ON `posts` (`author_id`);'] },
];

/**
 * drizzle-orm/d1/migrator's algorithm (it reads the same list from disk, which a worker has
 * not): the journal table, then every pending statement and journal row in one batch.
 */
async function migrate(db: ReturnType<typeof drizzle>): Promise<number> {
  await db.run(sql`CREATE TABLE IF NOT EXISTS __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
  const last = (await db.values<[number, string, number]>(sql`SELECT id, hash, created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1`))[0];
  const pending = MIGRATIONS.filter((m) => !last || Number(last[2]) < m.folderMillis);
  const statements = pending.flatMap((m) => [
    ...m.sql.map((s) => db.run(sql.raw(s))),
    // Inlined as drizzle's migrator does: its batch() cannot bind values of a raw db.run().
    db.run(sql`INSERT INTO __drizzle_migrations ("hash", "created_at") VALUES (${sql.raw(`'${m.hash}'`)}, ${sql.raw(`${m.folderMillis}`)})`),
  ]);
  if (statements.length > 0) await db.batch(statements as [typeof statements[number], ...typeof statements]);
  return pending.length;
}

export async function drizzleScenario(database: PlinthDatabase): Promise<Record<string, unknown>> {
  const db = drizzle(database, { schema: { users, posts } });
  const applied = [await migrate(db), await migrate(db)];
  const at = new Date('2025-01-02T03:04:05.678Z');
  const [ada] = await db.insert(users).values({ name: 'ada', email: 'ada@example.com', createdAt: at, avatar: Buffer.from([0, 1, 2, 255]) }).returning();
  const [bob] = await db.insert(users).values({ name: 'bob', createdAt: at, active: false }).returning({ id: users.id });
  await db.batch([
    db.insert(posts).values({ authorId: ada!.id, title: 'first', views: 10 }),
    db.insert(posts).values({ authorId: ada!.id, title: 'second', views: 30 }),
    db.insert(posts).values({ authorId: bob!.id, title: 'bobs', views: 5 }),
  ]);
  await db.update(posts).set({ views: sql`${posts.views} + 1` }).where(eq(posts.title, 'first'));
  const joined = await db.select({ title: posts.title, views: posts.views, author: users.name }).from(posts).innerJoin(users, eq(posts.authorId, users.id)).orderBy(desc(posts.views));
  const perAuthor = await db.select({ author: users.name, n: count(posts.id) }).from(users).leftJoin(posts, eq(posts.authorId, users.id)).groupBy(users.name).orderBy(users.name);
  const found = await db.query.users.findFirst({ where: eq(users.name, 'ada') });
  let uniqueError = '';
  try {
    await db.insert(users).values({ name: 'ada', createdAt: at });
  } catch (error) {
    uniqueError = String((error as { cause?: Error }).cause?.message ?? (error as Error).message);
  }
  // Cross-call transaction: Drizzle on the `tx` database; a throw rolls everything back.
  let rolledBack = false;
  try {
    await database.transaction(async (tx) => {
      await drizzle(tx).insert(users).values({ name: 'ghost', createdAt: at });
      throw new Error('undo');
    });
  } catch {
    rolledBack = (await db.select().from(users).where(eq(users.name, 'ghost'))).length === 0;
  }
  await database.transaction(async (tx) => {
    await drizzle(tx).update(users).set({ email: 'bob@example.com' }).where(eq(users.name, 'bob'));
  });
  await db.delete(users).where(eq(users.name, 'bob')); // cascades to bob's post: foreign keys are on
  const remainingPosts = (await db.select({ n: count() }).from(posts))[0]!.n;
  return {
    applied, ada: { ...ada, avatar: [...(ada!.avatar ?? [])], createdAt: ada!.createdAt.toISOString() },
    joined, perAuthor, foundEmail: found?.email, foundActive: found?.active, uniqueError, rolledBack, remainingPosts,
  };
}
