// The Plinth side of bench/websockets: what grip-backend.mjs does for Pushpin.
//   open with `?sub=<tag>` → the socket is tagged (publish reaches it); no welcome message
//   `echo:<x>`             → sends <x> back
//   `publish:<tag>:<text>` → platform publish of <text> to every socket with the tag
import { defineApp, plinth } from '@plinth/guest';

export default defineApp({
  async fetch() {
    return new Response('websockets bench app');
  },
  websocket: {
    open(socket, request) {
      const tag = new URL(request.url).searchParams.get('sub');
      if (tag) socket.tags = [tag];
    },
    async message(socket, data, env) {
      if (typeof data !== 'string') return;
      if (data.startsWith('echo:')) return socket.send(data.slice(5));
      if (data.startsWith('publish:')) {
        const [tag = '', ...text] = data.slice(8).split(':');
        await plinth(env).sockets.publish(tag, text.join(':'));
      }
    },
  },
});
