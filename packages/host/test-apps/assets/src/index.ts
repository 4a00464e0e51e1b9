// A test app for static assets: every request that reaches fetch says so, so tests can tell a
// fall-through from an asset answered by the front door.
import { defineApp } from '@plinth/guest';

export default defineApp({
  async fetch(request) {
    const url = new URL(request.url);
    // A path naming a missing file gets the app's own 404, as an app's router would answer.
    return new Response(`FETCH-MARKER ${request.method} ${url.pathname}`, {
      status: url.pathname.includes('missing') ? 404 : 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-from': 'fetch' },
    });
  },
});
