import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the version does in its POST /after-update. */
export type AfterUpdate = 'migrate' | 'throw' | 'sleep' | 'status500' | 'migrate-then-sleep' | 'migrate-slowly';

/**
 * Writes an app folder for one version of the `versioned` test app: `/` says
 * its version, `/items` and `/write` use the `main` database, WebSocket
 * messages are answered with the version, jobs record the version that ran them.
 */
export function writeVersionedApp(dir: string, version: string, afterUpdate: AfterUpdate, extra: Record<string, unknown> = {}): string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ id: 'versioned', name: 'Versioned', version, public: ['/*'], limits: { concurrency: 32, memoryMb: 256 }, ...extra }));
  writeFileSync(join(dir, 'src/index.ts'), `
import { defineApp, plinth } from '@plinth/guest';
const VERSION = ${JSON.stringify(version)};
const AFTER_UPDATE = ${JSON.stringify(afterUpdate)};
async function main(env) {
  const db = await plinth(env).jobs.database();
  await db.prepare('CREATE TABLE IF NOT EXISTS items (name TEXT)').run();
  return db;
}
async function migrate(env) {
  const db = await main(env);
  await db.batch([db.prepare("ALTER TABLE items ADD COLUMN note TEXT DEFAULT 'migrated'"), db.prepare("INSERT INTO items (name) VALUES ('from-after-update')")]);
}
const app = defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/') return new Response('v' + VERSION);
    if (url.pathname === '/write') { const db = await main(env); await db.prepare('INSERT INTO items (name) VALUES (?)').bind(url.searchParams.get('name')).run(); return new Response('ok'); }
    if (url.pathname === '/items') { const db = await main(env); return Response.json((await db.prepare('SELECT * FROM items ORDER BY rowid').all()).results); }
    if (url.pathname === '/enqueue') { const job = await plinth(env).jobs.enqueue('record', {}, { delayMs: Number(url.searchParams.get('delayMs') ?? 0) }); return Response.json(job); }
    if (url.pathname === '/job-runs') { const db = await main(env); await db.prepare('CREATE TABLE IF NOT EXISTS job_runs (version TEXT)').run(); return Response.json((await db.prepare('SELECT version FROM job_runs').all()).results); }
    return new Response('not found', { status: 404 });
  },
  websocket: { message(socket, data) { socket.send('v' + VERSION + ':' + data); } },
  jobs: { async record(_p, _job, env) { const db = await main(env); await db.prepare('CREATE TABLE IF NOT EXISTS job_runs (version TEXT)').run(); await db.prepare('INSERT INTO job_runs VALUES (?)').bind(VERSION).run(); } },
  async afterUpdate(_info, env) {
    if (AFTER_UPDATE === 'migrate') return migrate(env);
    if (AFTER_UPDATE === 'migrate-then-sleep') { await migrate(env); await new Promise((r) => setTimeout(r, 60000)); }
    if (AFTER_UPDATE === 'migrate-slowly') { await migrate(env); await new Promise((r) => setTimeout(r, 500)); return; }
    const db = await main(env);
    await db.batch([db.prepare("INSERT INTO items (name) VALUES ('from-failed-update')"), db.prepare('CREATE TABLE junk (x)')]);
    if (AFTER_UPDATE === 'throw') throw new Error('migration refused on purpose');
    if (AFTER_UPDATE === 'sleep') await new Promise((r) => setTimeout(r, 60000));
  },
});
export default {
  async fetch(request, env, ctx) {
    if (AFTER_UPDATE === 'status500' && new URL(request.url).pathname === '/after-update') {
      const db = await main(env);
      await db.batch([db.prepare("INSERT INTO items (name) VALUES ('from-failed-update')"), db.prepare('CREATE TABLE junk (x)')]);
      return new Response('the new version says no', { status: 500 });
    }
    return app.fetch(request, env, ctx);
  },
};
`);
  return dir;
}
