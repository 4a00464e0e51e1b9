// The smallest useful Plinth app: a public page, a signed-in page, and the platform's view of the app.
import { defineApp, getClientIp, getUser, plinth } from '@plinth/guest';

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    const user = getUser(request);

    if (url.pathname === '/') {
      const greeting = user ? `Hello, ${user.name}!` : 'Hello, stranger. Visit /me to sign in.';
      return new Response(`${greeting}\nYour IP: ${getClientIp(request)}\n`);
    }
    if (url.pathname === '/me') {
      // Not listed in "public", so the platform signed the caller in before we got here.
      return Response.json({ user, clientIp: getClientIp(request) });
    }
    if (url.pathname === '/api/public/info') {
      return Response.json(await plinth(env).info.get());
    }
    return new Response('Not found', { status: 404 });
  },
});
