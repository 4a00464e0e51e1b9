#!/usr/bin/env node
// The Pushpin side's app: a WebSocket-over-HTTP (GRIP) backend doing what bench/websockets/app
// does for Plinth. Pushpin holds the sockets and POSTs each socket's events here
// (Content-Type: application/websocket-events); the answer carries the events to send back.
//   OPEN            → accept; `?sub=<channel>` subscribes the socket to that channel
//   TEXT echo:<x>   → TEXT <x>
//   anything else   → nothing
// Usage: PORT=<port> node grip-backend.mjs   (listens on 127.0.0.1, prints "listening <port>")
import { createServer } from 'node:http';

/** Parses `TYPE[ <hex size>]\r\n[<content>\r\n]` events (pushpin's websocket-events format). */
function parseEvents(body) {
  const events = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const line = body.toString('latin1', at, lineEnd);
    at = lineEnd + 2;
    const space = line.indexOf(' ');
    if (space < 0) {
      events.push({ type: line, content: null });
      continue;
    }
    const size = parseInt(line.slice(space + 1), 16);
    events.push({ type: line.slice(0, space), content: body.subarray(at, at + size) });
    at += size + 2;
  }
  return events;
}

function event(type, content) {
  if (content === undefined) return `${type}\r\n`;
  const bytes = Buffer.from(content);
  return Buffer.concat([Buffer.from(`${type} ${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const out = [];
    const headers = { 'content-type': 'application/websocket-events' };
    for (const { type, content } of parseEvents(Buffer.concat(chunks))) {
      if (type === 'OPEN') {
        headers['sec-websocket-extensions'] = 'grip; message-prefix=""';
        out.push(event('OPEN'));
        const channel = new URL(req.url, 'http://x').searchParams.get('sub');
        if (channel) out.push(event('TEXT', `c:${JSON.stringify({ type: 'subscribe', channel })}`));
      } else if (type === 'TEXT') {
        const text = content.toString('utf8');
        if (text.startsWith('echo:')) out.push(event('TEXT', text.slice(5)));
      } else if (type === 'CLOSE') {
        out.push(event('CLOSE', content ?? ''));
      }
    }
    const body = Buffer.concat(out.map((e) => (typeof e === 'string' ? Buffer.from(e) : e)));
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
