// GET /setup                 creates the key `bench` and the secret `bench` (32 random bytes, base64url)
// GET /sign?n=N              N sequential plinth(env).keys.sign('bench', data) calls
// GET /get?n=N               N sequential plinth(env).secrets.get('bench') calls
// GET /info?n=N              N sequential plinth(env).info.get() calls: the floor of a GET through the ABI
// GET /post?n=N              N sequential plinth(env).sockets.publish('nobody', 'x') calls (no socket
//                            has the tag): the floor of a POST with a small JSON body through the ABI
// Each answers { n, ms, last } with ms measured inside the app (workerd's clock moves on I/O,
// which every call is) and `last` the last signature (base64url) or value, for checking.
import { defineApp, plinth } from '@plinth/guest';

/** 64 bytes, about a JWT header and claims' worth of data to sign. */
const DATA = new TextEncoder().encode('plinth keys bench: 64 bytes of data signed on every call.......');

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export default defineApp({
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '1');
    const { keys, secrets, info, sockets } = plinth(env);
    if (url.pathname === '/setup') {
      const key = await keys.getOrCreate('bench');
      const secret = await secrets.getOrCreate('bench', { bytes: 32 });
      return Response.json({ publicKey: key.publicKey.raw, secret: secret.value });
    }
    const started = Date.now();
    let last = '';
    if (url.pathname === '/sign') {
      for (let i = 0; i < n; i++) last = b64url(await keys.sign('bench', DATA));
    } else if (url.pathname === '/get') {
      for (let i = 0; i < n; i++) last = (await secrets.get('bench')) ?? '';
    } else if (url.pathname === '/info') {
      for (let i = 0; i < n; i++) last = (await info.get()).appId;
    } else if (url.pathname === '/post') {
      for (let i = 0; i < n; i++) last = String(await sockets.publish('nobody', 'x'));
    } else {
      return new Response('not found', { status: 404 });
    }
    return Response.json({ n, ms: Date.now() - started, last });
  },
});
