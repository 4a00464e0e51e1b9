// A chat room on platform-held WebSockets. The app holds no connection: it is
// called when someone joins, speaks or leaves, and may sleep in between.
import { defineApp, getUser, plinth } from '@plinth/guest';

interface Member { name: string; room: string }

const PAGE = `<!doctype html><meta charset="utf-8"><title>Chat</title>
<form id="f"><input id="t" autocomplete="off" autofocus><button>Send</button></form><ul id="log"></ul>
<script>
const room = new URLSearchParams(location.search).get('room') || 'lobby';
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?room=' + encodeURIComponent(room));
ws.onmessage = (e) => { const li = document.createElement('li'); li.textContent = e.data; document.getElementById('log').prepend(li); };
document.getElementById('f').onsubmit = (e) => { e.preventDefault(); ws.send(document.getElementById('t').value); document.getElementById('t').value = ''; };
</script>`;

export default defineApp({
  fetch(request) {
    return new URL(request.url).pathname === '/' ? new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }) : new Response('Not found', { status: 404 });
  },
  websocket: {
    async open(socket, request, env) {
      const url = new URL(request.url);
      const member: Member = {
        name: getUser(request)?.name ?? url.searchParams.get('name') ?? `guest-${socket.id.slice(0, 4)}`,
        room: url.searchParams.get('room') ?? 'lobby',
      };
      // The tag is the room: publish reaches everyone in it, and the platform keeps the attachment for us.
      socket.tags = [`room:${member.room}`];
      socket.attachment = member;
      socket.send(`Welcome ${member.name}! You are in ${member.room}.`);
      await plinth(env).sockets.publish(`room:${member.room}`, `${member.name} joined`);
    },
    async message(socket, data, env) {
      const member = socket.attachment as Member;
      await plinth(env).sockets.publish(`room:${member.room}`, `${member.name}: ${String(data)}`);
    },
    async close(socket, _code, _reason, env) {
      const member = socket.attachment as Member;
      await plinth(env).sockets.publish(`room:${member.room}`, `${member.name} left`);
    },
  },
});
