// A test app for platform-held WebSockets; each text message is a small command.
import { defineApp, getClientIp, getUser, plinth, type PlinthSocket, type SocketsClient } from '@plinth/guest';

/** `?early=…`: calls the sockets API on the socket that is still opening (issue 14 §9). */
async function openEarly(socket: PlinthSocket, mode: string, sockets: SocketsClient): Promise<void | false> {
  switch (mode) {
    case 'update': {
      const view = await sockets.update(socket.id, { tags: ['early'], attachment: { count: 41 } });
      return socket.send(`tags ${view.tags.join(',')}`);
    }
    case 'send':
      await sockets.send(socket.id, 'sent early');
      return socket.send('welcome');
    case 'publish':
      await sockets.update(socket.id, { tags: ['early-publish'] });
      return socket.send(`reached ${await sockets.publish('early-publish', 'published early')}`);
    case 'refuse':
      await sockets.update(socket.id, { tags: ['early-refused'] });
      await sockets.send(socket.id, 'never delivered');
      return false;
    case 'flood':
      // Five 1 MiB messages: the fifth passes the 4 MiB the socket may have queued before its handshake.
      for (let i = 1; i <= 5; i++) await sockets.send(socket.id, new Uint8Array(1024 * 1024).fill(i));
      return;
    case 'slow':
      // Long enough for the test to hang up before the app accepts.
      await sockets.publish('watchers', `opening ${socket.id}`);
      return new Promise((resolve) => setTimeout(resolve, 2000));
    case 'close':
      await sockets.send(socket.id, 'before the close');
      return sockets.close(socket.id, 4002, 'closed early');
  }
}

export default defineApp({
  async fetch() {
    return new Response('sockets test app');
  },
  websocket: {
    async open(socket, request, env) {
      const url = new URL(request.url);
      const early = url.searchParams.get('early');
      if (early) return openEarly(socket, early, plinth(env).sockets);
      if (url.searchParams.get('refuse')) return false;
      const status = url.searchParams.get('status');
      if (status) return new Response('not you', { status: Number(status) });
      const protocol = url.searchParams.get('protocol');
      if (protocol) socket.protocol = protocol;
      socket.tags = (url.searchParams.get('tags') ?? '').split(',').filter(Boolean);
      socket.attachment = { count: 0 };
      socket.send(`welcome ${getUser(request)?.email ?? 'anonymous'} from ${getClientIp(request)}`);
    },
    async message(socket, data, env) {
      if (typeof data !== 'string') return socket.send(data);
      const [command = '', ...rest] = data.split(':');
      const arg = rest.join(':');
      const sockets = plinth(env).sockets;
      switch (command) {
        case 'echo': return socket.send(arg);
        case 'count': {
          const state = socket.attachment as { count: number };
          socket.attachment = { count: state.count + 1 };
          return socket.send(`count ${state.count + 1}`);
        }
        case 'publish': {
          const [tag = '', ...text] = arg.split(':');
          return void (await sockets.publish(tag, text.join(':')));
        }
        case 'list': return socket.send(JSON.stringify((await sockets.list({ tag: arg || undefined })).map((s) => s.id)));
        case 'whoami': return socket.send(socket.id);
        case 'send-to': {
          const [id = '', ...text] = arg.split(':');
          try {
            await sockets.send(id, text.join(':'));
            return socket.send('sent');
          } catch (error) {
            return socket.send(`refused ${(error as { code?: string }).code}`);
          }
        }
        case 'auto': return void (await sockets.setAutoResponse('ping', 'pong'));
        case 'flood': {
          // Random, so permessage-deflate cannot shrink the flood to a few kilobytes.
          const bytes = new Uint8Array(768 * 1024);
          for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
          const block = btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
          for (let i = 0; i < Number(arg); i++) await sockets.publish('flood', block);
          return;
        }
        case 'sleep': return new Promise((resolve) => setTimeout(resolve, Number(arg)));
        // One message of `arg` MiB in the answer (zeros: cheap to make, but sent whole).
        case 'huge': return socket.send(new Uint8Array(Number(arg) * 1024 * 1024));
        case 'fail': throw new Error('this event fails on purpose');
        case 'bye': return socket.close(4000, 'asked to leave');
        // 1005 may never be sent (RFC 6455 §7.4.1): the platform must refuse it without harm.
        case 'badclose': return socket.close(1005, 'not allowed');
        default: return socket.send(data);
      }
    },
    async close(socket, code, reason, env) {
      await plinth(env).sockets.publish('watchers', `closed ${socket.id} ${code} ${reason} clean=${socket.wasClean}`);
    },
  },
});
