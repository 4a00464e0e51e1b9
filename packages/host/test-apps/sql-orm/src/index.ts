// Runs Drizzle's and Kysely's D1 adapters, unchanged, against Plinth databases:
// POST /drizzle and POST /kysely each migrate a fresh database, query it and answer a summary.
import { defineApp, plinth } from '@plinth/guest';
import { drizzleScenario } from './drizzle.js';
import { kyselyScenario } from './kysely.js';

export default defineApp({
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    const scenario = pathname === '/drizzle' ? drizzleScenario : pathname === '/kysely' ? kyselyScenario : undefined;
    if (!scenario || request.method !== 'POST') return new Response('sql-orm test app', { status: 404 });
    const sql = plinth(env).sql;
    const name = pathname.slice(1);
    await sql.delete(name);
    await sql.create(name);
    try {
      return Response.json(await scenario(sql.open(name)));
    } catch (error) {
      const cause = (error as { cause?: Error }).cause;
      return Response.json({ error: `${(error as Error).message}${cause ? ` (cause: ${cause.message})` : ''}` }, { status: 500 });
    }
  },
});
