// An app folder set up as the developer guide says (the example's tsconfig.json, @plinth/guest
// and an ORM in node_modules) type-checks with tsc out of the box, Drizzle's and Kysely's D1
// adapters included, and the D1 types the adapters name are Plinth's, not `any`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '@plinth/host/testing';

const TSC = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'plinth-typecheck-'));
after(() => rmSync(work, { recursive: true, force: true }));

const APP = `import { defineApp, plinth, type PlinthDatabase } from '@plinth/guest';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { Kysely, type Generated } from 'kysely';
import { D1Dialect } from 'kysely-d1';

const notes = sqliteTable('notes', { id: integer('id').primaryKey(), body: text('body').notNull() });
interface Schema { notes: { id: Generated<number>; body: string } }

export default defineApp({
  async fetch(_request, env) {
    const database = plinth(env).sql.open('main');
    const db = drizzle(database);
    const client: PlinthDatabase = db.$client;
    const rows = await db.select().from(notes);
    const body: string | undefined = rows[0]?.body;
    const ran = await db.run(sql\`DELETE FROM notes WHERE id = \${1}\`);
    const changes: number = ran.meta.changes;
    // Fails to compile if D1Result were an unresolved name (any): Drizzle's results are typed.
    // @ts-expect-error changes is a number
    const wrong: string = ran.meta.changes;
    const kysely = new Kysely<Schema>({ dialect: new D1Dialect({ database }) });
    const more = await kysely.selectFrom('notes').select(['id', 'body']).execute();
    return Response.json({ body, changes, wrong, more, client: client instanceof Object });
  },
});
`;

test('an app using drizzle-orm and kysely-d1 type-checks with the example tsconfig.json', () => {
  const app = join(work, 'notes');
  mkdirSync(join(app, 'src'), { recursive: true });
  mkdirSync(join(app, 'node_modules/@plinth'), { recursive: true });
  // What `npm install /path/to/plinth/packages/guest drizzle-orm kysely kysely-d1` leaves, without the network.
  symlinkSync(join(REPO_ROOT, 'packages/guest'), join(app, 'node_modules/@plinth/guest'));
  for (const name of ['drizzle-orm', 'kysely', 'kysely-d1']) symlinkSync(join(REPO_ROOT, 'node_modules', name), join(app, 'node_modules', name));
  copyFileSync(join(REPO_ROOT, 'examples/hello/tsconfig.json'), join(app, 'tsconfig.json'));
  writeFileSync(join(app, 'src/index.ts'), APP);

  const checked = spawnSync(process.execPath, [TSC, '-p', app], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.equal(checked.stdout + checked.stderr, '');
  assert.equal(checked.status, 0);

  // And it does check: an error in the app's own code is reported there, and only there.
  writeFileSync(join(app, 'src/index.ts'), `${APP}\nexport const broken: number = 'text';\n`);
  const failed = spawnSync(process.execPath, [TSC, '-p', app], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.equal(failed.status, 2);
  assert.deepEqual(failed.stdout.trim().split('\n').map((line) => line.replace(/\(.*$/, '')), ['src/index.ts']);
  assert.match(failed.stdout, /TS2322: Type 'string' is not assignable to type 'number'/);
});
