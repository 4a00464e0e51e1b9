// A test app: shows the tests exactly what the platform handed it.
import { defineApp, plinth } from '@plinth/guest';

const hoard: Uint8Array[] = [];

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? 1000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return new Response(`slept ${ms}`);
    }
    if (url.pathname === '/public/hog') {
      // Off-heap and touched, so it is resident: the supervisor must notice it in RSS.
      const mb = Number(url.searchParams.get('mb') ?? 64);
      hoard.push(new Uint8Array(mb * 1024 * 1024).fill(1));
      return new Response(`holding ${hoard.length} blocks`);
    }
    if (url.pathname === '/public/info') return Response.json(await plinth(env).info.get());
    if (url.pathname === '/public/log') {
      console.log(`log line ${url.searchParams.get('text')}`);
      console.error(`error line ${url.searchParams.get('text')}`);
      return new Response('logged');
    }
    if (url.pathname === '/public/outbound') {
      const bytes = Number(url.searchParams.get('bytes') ?? 0);
      const init: RequestInit = { method: url.searchParams.get('method') ?? 'GET', headers: { 'x-from-app': 'echo' } };
      if (bytes > 0) init.body = 'b'.repeat(bytes);
      try {
        const response = await fetch(url.searchParams.get('to') ?? 'https://example.com/', init);
        return new Response(await response.text(), { status: response.status });
      } catch (error) {
        // 599: the platform cut the exchange (size or time), as opposed to an upstream status.
        return new Response(`fetch failed: ${error instanceof Error ? error.message : String(error)}`, { status: 599 });
      }
    }
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => { headers[name] = value; });
    return Response.json({ method: request.method, url: request.url, headers, body: request.body ? await request.text() : null });
  },
  async afterUpdate() {
    throw new Error('the echo app has no updates');
  },
});
