import type { PlinthEnv } from '../abi.js';
import { fromBase64, type BytesLike } from '../bytes.js';
import { toPayload, type SocketInfo, type SocketUser, type WirePayload } from './index.js';

/** A platform-held WebSocket, as handlers see it. Sends and closes take effect when the handler returns. */
export interface PlinthSocket {
  readonly id: string;
  /** Change to re-tag the socket; at most 10 tags. */
  tags: string[];
  /** Any JSON, at most 16 KiB; kept by the platform between events. */
  attachment: unknown;
  readonly user: SocketUser | null;
  /** Set in `close`: whether the closing handshake completed. */
  readonly wasClean?: boolean;
  /**
   * In `open`: set to one of the subprotocols the client offered (`Sec-WebSocket-Protocol`) to
   * answer with it; left unset, the first one offered is used. Not kept for later events.
   */
  protocol?: string;
  send(data: BytesLike): void;
  close(code?: number, reason?: string): void;
}

export interface WebSocketHandlers<Env extends PlinthEnv = PlinthEnv> {
  /**
   * Return false to refuse with 403, or a Response to refuse with its status and body.
   * `plinth(env).sockets` already reaches `socket.id` here; what it sends goes out right after
   * the handshake, before `socket.send`s, and is dropped if the socket is refused.
   */
  open?(socket: PlinthSocket, request: Request, env: Env): void | boolean | Response | Promise<void | boolean | Response>;
  message?(socket: PlinthSocket, data: string | ArrayBuffer, env: Env): void | Promise<void>;
  close?(socket: PlinthSocket, code: number, reason: string, env: Env): void | Promise<void>;
}

type Action = ({ type: 'send' } & WirePayload) | { type: 'close'; code?: number; reason?: string };
type Event = ({ type: 'message' } & WirePayload) | { type: 'close'; code: number; reason: string; wasClean: boolean };

function recorder(info: SocketInfo) {
  const actions: Action[] = [];
  const socket = {
    id: info.id,
    tags: [...info.tags],
    attachment: info.attachment,
    user: info.user,
    wasClean: undefined as boolean | undefined,
    protocol: undefined as string | undefined,
    send: (data: BytesLike) => { actions.push({ type: 'send', ...toPayload(data) }); },
    close: (code?: number, reason?: string) => { actions.push({ type: 'close', code, reason }); },
  };
  /** The reply: actions in order, plus tags or attachment only if a handler changed them. */
  const reply = () => ({
    actions,
    ...(JSON.stringify(socket.tags) !== JSON.stringify(info.tags) ? { tags: socket.tags } : {}),
    ...(JSON.stringify(socket.attachment) !== JSON.stringify(info.attachment) ? { attachment: socket.attachment } : {}),
  });
  return { socket, reply };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** Answers `POST /.plinth/websocket/open`. */
export async function handleOpen<Env extends PlinthEnv>(handlers: WebSocketHandlers<Env> | undefined, request: Request, env: Env): Promise<Response> {
  if (!handlers) return json({ accept: false, status: 426, body: 'This app does not accept WebSocket connections.' });
  const body = (await request.json()) as { socket: SocketInfo; request: { url: string; headers: Record<string, string | string[]> } };
  const headers = new Headers();
  for (const [name, value] of Object.entries(body.request.headers)) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  const { socket, reply } = recorder(body.socket);
  const verdict = handlers.open ? await handlers.open(socket, new Request(body.request.url, { headers }), env) : undefined;
  if (verdict === false) return json({ accept: false, status: 403, body: 'Refused by the app.' });
  if (verdict instanceof Response) return json({ accept: false, status: verdict.status, body: await verdict.text() });
  return json({ accept: true, ...reply(), ...(socket.protocol !== undefined ? { protocol: socket.protocol } : {}) });
}

/**
 * Answers `POST /.plinth/websocket/events`: the socket's events in order.
 * A throw fails the whole batch, which the platform retries: handlers should
 * tolerate seeing an event twice.
 */
export async function handleEvents<Env extends PlinthEnv>(handlers: WebSocketHandlers<Env> | undefined, request: Request, env: Env): Promise<Response> {
  const body = (await request.json()) as { socket: SocketInfo; events: Event[] };
  const { socket, reply } = recorder(body.socket);
  for (const event of body.events) {
    if (event.type === 'message') {
      const data = 'data' in event ? event.data : fromBase64(event.binary).buffer as ArrayBuffer;
      await handlers?.message?.(socket, data, env);
    } else {
      socket.wasClean = event.wasClean;
      await handlers?.close?.(socket, event.code, event.reason, env);
    }
  }
  return json(reply());
}
