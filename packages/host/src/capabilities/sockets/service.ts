import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { writeRawError } from '../../http/respond.js';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { PlinthError } from '../../support/result.js';
import { WebSocketServer, type RawData } from 'ws';
import { HeldWebSocket } from './held-websocket.js';
import { createDelivery, type CallApp } from './delivery.js';
import { EVENT_CALL_MS_MAX, EVENT_REPLY_BYTES_MAX, SOCKET_CLOSE_DRAIN_MS_MAX, SOCKET_CLOSE_GRACE_MS, SOCKET_IDLE_MS_MAX, SOCKET_PING_INTERVAL_MS } from './limits.js';
import { createSocketRegistry, type HeldSocket, type SocketUser } from './registry.js';
import { decodeFramed, OPEN_PATH, openReplySchema, type OpenReply, type OutboundAction } from './wire.js';

export interface SocketsDeps {
  readonly callApp: CallApp;
  readonly socketsMax: (appId: string) => number;
  readonly messageBytesMax: number;
  readonly event: (appId: string, text: string) => void;
  readonly log: Logger;
  readonly now: () => number;
}

/** An upgrade request that passed the front door's checks, with the headers the app may see. */
export interface UpgradeRequest {
  readonly appId: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly user: SocketUser | null;
}

export interface AppSocketStats {
  open: number;
  bytesIn: number;
  bytesOut: number;
}

/** The app's own refusal: its status and text, as it chose them. */
function refuse(socket: Duplex, status: number, body: string): void {
  const text = Buffer.from(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * WebSockets held by the front door: the app is called on open and for each
 * batch of events, and may be stopped in between; sockets outlive app
 * restarts, idle stops and updates because no app process holds them.
 */
export function createSocketsService(deps: SocketsDeps) {
  /** The subprotocol each accepted handshake answers with, as the app chose it. */
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const server = new WebSocketServer({
    noServer: true,
    WebSocket: HeldWebSocket,
    // The app's choice; otherwise the first the client offered, as before apps could choose.
    handleProtocols: (offered, req) => chosenProtocol.get(req) ?? offered.values().next().value ?? false,
    maxPayload: deps.messageBytesMax,
    // No context takeover keeps an idle socket's memory small: zlib state is not held between messages.
    perMessageDeflate: { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true },
  });
  const registry = createSocketRegistry(deps.now, (socket) => {
    deps.event(socket.appId, `sockets.too_slow socket=${socket.id}: send buffer full; closed with 1013`);
    closeNow(socket, 1013, 'client is not keeping up');
  });

  /**
   * Closes with a code, and stops counting the socket at once. A peer that
   * does not answer the close (a stalled reader cannot) is cut after a grace.
   * A socket still opening closes right after its handshake.
   */
  function closeNow(socket: HeldSocket, code: number, reason: string): void {
    const { ws } = socket;
    if (!ws) return close(socket, code, reason);
    registry.remove(socket);
    ws.closeAtOnce(code, reason);
    setTimeout(() => ws.terminate(), SOCKET_CLOSE_GRACE_MS).unref();
  }
  const totals = new Map<string, AppSocketStats>();
  const autoResponses = new Map<string, { request: string; response: string }>();
  const alive = new WeakSet<HeldWebSocket>();

  function apply(socket: HeldSocket, actions: readonly OutboundAction[]): void {
    for (const action of actions) {
      if (action.type === 'send') registry.send(socket, action.data, action.binary);
      else close(socket, action.code ?? 1000, action.reason ?? '');
    }
  }
  /**
   * The app's close, or the platform's own. Before the handshake completes it waits
   * behind the early sends. Codes and reasons are validated at the edge; the guard
   * keeps a missed case from reaching the daemon's event loop.
   */
  function close(socket: HeldSocket, code: number, reason: string): void {
    const { ws } = socket;
    if (!ws) {
      if (!socket.early.some((action) => action.type === 'close')) socket.early.push({ type: 'close', code, reason });
      return;
    }
    try {
      ws.closeAtOnce(code, reason);
    } catch (error) {
      deps.event(socket.appId, `sockets.bad_close socket=${socket.id}: ${(error as Error).message}; closed with 1011`);
      ws.closeAtOnce(1011);
    }
  }
  const delivery = createDelivery({ registry, callApp: deps.callApp, apply, close, event: deps.event, log: deps.log });

  function statsOf(appId: string): AppSocketStats {
    let stats = totals.get(appId);
    if (!stats) totals.set(appId, (stats = { open: 0, bytesIn: 0, bytesOut: 0 }));
    return stats;
  }

  function onMessage(socket: HeldSocket, data: RawData, isBinary: boolean): void {
    // ws hands a Buffer (binaryType nodebuffer); it is kept as is, not copied, until the app has it.
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    socket.bytesIn += bytes.length;
    socket.lastActivity = deps.now();
    const auto = autoResponses.get(socket.appId);
    if (!isBinary && auto && bytes.length === Buffer.byteLength(auto.request) && bytes.toString('utf8') === auto.request) {
      registry.send(socket, auto.response);
      return;
    }
    delivery.enqueue(socket, { type: 'message', binary: isBinary, data: bytes });
  }

  function onClose(socket: HeldSocket, code: number, reason: Buffer): void {
    registry.remove(socket);
    const stats = statsOf(socket.appId);
    stats.bytesIn += socket.bytesIn;
    stats.bytesOut += socket.bytesOut;
    delivery.enqueue(socket, { type: 'close', code, reason: reason.toString('utf8'), wasClean: code !== 1006 });
  }

  /** The handshake completed: the socket starts with what the app queued during open, then the open reply's actions. */
  function hold(ws: HeldWebSocket, socket: HeldSocket, actions: readonly OutboundAction[]): void {
    socket.ws = ws;
    socket.lastActivity = deps.now();
    alive.add(ws);
    // The peer's close (or a protocol error) is answered once the app has answered what came before it, within a bound.
    ws.onPeerClose = (finish) => {
      const timer = setTimeout(finish, SOCKET_CLOSE_DRAIN_MS_MAX).unref();
      delivery.whenIdle(socket, () => {
        clearTimeout(timer);
        finish();
      });
    };
    ws.on('message', (data, isBinary) => onMessage(socket, data, isBinary));
    ws.on('close', (code, reason) => onClose(socket, code, reason));
    ws.on('pong', () => alive.add(ws));
    // Protocol errors (bad frames, invalid UTF-8, oversize) make ws close with the RFC 6455 code; log why.
    ws.on('error', (err) => deps.event(socket.appId, `sockets.protocol_error socket=${socket.id}: ${err.message}`));
    apply(socket, registry.takeEarly(socket));
    apply(socket, actions);
  }

  /**
   * Asks the app whether to accept; completes the 101 only if it does. The socket is
   * held (and counted) while the app decides, so its `open` handler may already use
   * the sockets API on it; a refusal drops it with whatever it queued.
   */
  async function upgrade(req: IncomingMessage, netSocket: Duplex, head: Buffer, request: UpgradeRequest): Promise<void> {
    const max = deps.socketsMax(request.appId);
    if (registry.count(request.appId) >= max) return writeRawError(netSocket, { code: 'sockets.limit', message: `app ${request.appId} holds its limit of ${max} sockets (limits.sockets)` });
    const socket = registry.add(randomUUID(), request.appId, request.user);
    const verdict = await askToOpen(req, socket, request);
    if (verdict.kind !== 'accepted') {
      registry.remove(socket);
      return verdict.kind === 'refused' ? refuse(netSocket, verdict.status, verdict.body) : writeRawError(netSocket, verdict.error);
    }
    if (verdict.reply.tags) registry.retag(socket, verdict.reply.tags);
    if (verdict.reply.attachment !== undefined) socket.attachment = verdict.reply.attachment;
    let held = false;
    server.handleUpgrade(req, netSocket, head, (ws) => {
      held = true;
      hold(ws, socket, verdict.actions);
    });
    // ws completes an upgrade synchronously (there is no verifyClient); it did not when the client already left.
    if (!held) {
      registry.remove(socket);
      delivery.enqueue(socket, { type: 'close', code: 1006, reason: '', wasClean: false });
    }
  }

  type Verdict =
    | { kind: 'accepted'; reply: Extract<OpenReply, { accept: true }>; actions: OutboundAction[] }
    | { kind: 'refused'; status: number; body: string }
    | { kind: 'failed'; error: PlinthError };

  async function askToOpen(req: IncomingMessage, socket: HeldSocket, request: UpgradeRequest): Promise<Verdict> {
    const view = registry.view(socket);
    const body = Buffer.from(JSON.stringify({ socket: view, request: { url: request.url, method: 'GET', headers: request.headers } }));
    const answer = await deps.callApp(request.appId, OPEN_PATH, { contentType: 'application/json', chunks: [body] }, EVENT_CALL_MS_MAX, EVENT_REPLY_BYTES_MAX);
    if (!answer.ok) return { kind: 'failed', error: answer.error };
    const reply = decodeFramed(answer.value.body, openReplySchema, (r) => (r.accept ? r.actions : []));
    if (answer.value.status !== 200 || !reply.ok) {
      return { kind: 'failed', error: { code: 'sockets.bad_open_reply', message: `${request.appId} answered the open event with ${answer.value.status} and no valid reply${reply.ok ? '' : `: ${reply.problem}`}` } };
    }
    if (!reply.value.accept) return { kind: 'refused', status: reply.value.status, body: reply.value.body };
    const { protocol } = reply.value;
    if (protocol !== undefined) {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(protocol)) {
        return { kind: 'failed', error: { code: 'sockets.bad_open_reply', message: `${request.appId} chose the subprotocol ${JSON.stringify(protocol)}, which the client did not offer (${offered.filter(Boolean).join(', ') || 'none'})` } };
      }
      chosenProtocol.set(req, protocol);
    }
    return { kind: 'accepted', reply: reply.value, actions: reply.actions };
  }

  const heartbeat = setInterval(() => {
    for (const { ws, lastActivity } of registry.all()) {
      if (!ws) continue;
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      if (deps.now() - lastActivity > SOCKET_IDLE_MS_MAX) {
        ws.closeAtOnce(1001, 'idle');
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, SOCKET_PING_INTERVAL_MS);
  heartbeat.unref();

  return {
    registry,
    upgrade,
    close,
    setAutoResponse(appId: string, rule: { request: string; response: string } | null): void {
      if (rule) autoResponses.set(appId, rule);
      else autoResponses.delete(appId);
    },
    stats(appId: string): AppSocketStats {
      const held = registry.ofApp(appId).filter((socket) => socket.ws);
      const closed = statsOf(appId);
      return {
        open: held.length,
        bytesIn: closed.bytesIn + held.reduce((n, s) => n + s.bytesIn, 0),
        bytesOut: closed.bytesOut + held.reduce((n, s) => n + s.bytesOut, 0),
      };
    },
    closeApp(appId: string, code: number, reason: string): void {
      for (const socket of registry.ofApp(appId)) close(socket, code, reason);
      autoResponses.delete(appId);
      totals.delete(appId);
    },
    closeAll(): void {
      clearInterval(heartbeat);
      for (const socket of registry.all()) close(socket, 1001, 'server shutting down');
    },
  };
}
export type SocketsService = ReturnType<typeof createSocketsService>;
