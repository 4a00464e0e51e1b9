// A test app that attacks the platform's sign-in from an app origin, as any installed app could:
// - `GET /public/set-cookie?c=<Set-Cookie value>` (repeatable) answers with each as a Set-Cookie header;
// - `GET /public/page?html=<markup>` answers the markup as an HTML page (a cross-origin form, say);
// - anything else answers who the platform said is calling, and the cookies the app received.
import { defineApp } from '@plinth/guest';

export default defineApp({
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/public/set-cookie') {
      const headers = new Headers({ 'content-type': 'text/plain' });
      for (const value of url.searchParams.getAll('c')) headers.append('set-cookie', value);
      return new Response('set', { headers });
    }
    if (url.pathname === '/public/page') {
      return new Response(url.searchParams.get('html') ?? '', { headers: { 'content-type': 'text/html; charset=utf-8' } });
    }
    return Response.json({ user: request.headers.get('plinth-user-email'), cookie: request.headers.get('cookie') });
  },
});
