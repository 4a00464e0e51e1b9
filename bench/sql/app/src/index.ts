// GET /<op>?n=N runs the bench workload on a Plinth database from inside workerd.
import { defineApp, plinth } from '@plinth/guest';
// @ts-expect-error plain JS shared with the Miniflare run
import { runWorkload } from '../../workload.js';

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    const op = url.pathname.slice(1);
    const sql = plinth(env).sql;
    if (op === 'setup') {
      await sql.delete('bench');
      await sql.create('bench');
    }
    const result = await runWorkload(sql.open('bench'), op, Number(url.searchParams.get('n') ?? '1'));
    return Response.json(result);
  },
});
