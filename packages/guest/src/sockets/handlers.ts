import type { PlinthEnv } from '../abi.js';
import type { BytesLike } from '../bytes.js';
import { framedResponse, readFramed, release } from './frames.js';
import type { SocketInfo, SocketUser } from './index.js';

/**
 * A platform-held WebSocket, as handlers see it. Sends and closes take effect when the handler
 * returns; `send` copies its data at once.
 */
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

type ActionHeader = { type: 'send'; binary: boolean; bytes: number } | { type: 'close'; code?: number; reason?: string };
type EventHeader = { type: 'message'; binary: boolean; bytes: number } | { type: 'close'; code: number; reason: string; wasClean: boolean };

/**
 * UTF-8 both ways through workerd's `Buffer` (a global under nodejs_compat, which Plinth
 * always sets): it builds the string with one copy, where TextDecoder goes through UTF-16,
 * and a 16 MiB text echo peaks ~16 MiB lower (docs/performance.md). The standard codecs
 * where it is missing.
 */
interface NodeBufferClass {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'utf8'): string };
  from(text: string, encoding: 'utf8'): Uint8Array;
}
const nodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;

function decodeUtf8(bytes: Uint8Array): string {
  return nodeBuffer ? nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8') : new TextDecoder().decode(bytes);
}

/** A copy of what `send` was given, so a buffer changed after `send` does not change the message. */
function messageBytes(data: BytesLike): Uint8Array {
  if (typeof data === 'string') return nodeBuffer ? nodeBuffer.from(data, 'utf8') : new TextEncoder().encode(data);
  // The typed-array constructor copies (a Node Buffer's own slice() would not).
  return new Uint8Array(data instanceof Uint8Array ? data : new Uint8Array(data));
}

function recorder(info: SocketInfo) {
  const actions: ActionHeader[] = [];
  const payloads: Uint8Array[] = [];
  const socket = {
    id: info.id,
    tags: [...info.tags],
    attachment: info.attachment,
    user: info.user,
    wasClean: undefined as boolean | undefined,
    protocol: undefined as string | undefined,
    send: (data: BytesLike) => {
      const bytes = messageBytes(data);
      actions.push({ type: 'send', binary: typeof data !== 'string', bytes: bytes.length });
      payloads.push(bytes);
    },
    close: (code?: number, reason?: string) => { actions.push({ type: 'close', code, reason }); },
  };
  /** The reply's header: actions in order, plus tags or attachment only if a handler changed them; the sends' bytes follow it. */
  const header = () => ({
    actions,
    ...(JSON.stringify(socket.tags) !== JSON.stringify(info.tags) ? { tags: socket.tags } : {}),
    ...(JSON.stringify(socket.attachment) !== JSON.stringify(info.attachment) ? { attachment: socket.attachment } : {}),
  });
  return { socket, header, payloads };
}

/** Answers `POST /.plinth/websocket/open`: a JSON request, a framed answer. */
export async function handleOpen<Env extends PlinthEnv>(handlers: WebSocketHandlers<Env> | undefined, request: Request, env: Env): Promise<Response> {
  if (!handlers) return framedResponse({ accept: false, status: 426, body: 'This app does not accept WebSocket connections.' }, []);
  const body = (await request.json()) as { socket: SocketInfo; request: { url: string; headers: Record<string, string | string[]> } };
  const headers = new Headers();
  for (const [name, value] of Object.entries(body.request.headers)) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  const { socket, header, payloads } = recorder(body.socket);
  const verdict = handlers.open ? await handlers.open(socket, new Request(body.request.url, { headers }), env) : undefined;
  if (verdict === false) return framedResponse({ accept: false, status: 403, body: 'Refused by the app.' }, []);
  if (verdict instanceof Response) return framedResponse({ accept: false, status: verdict.status, body: await verdict.text() }, []);
  return framedResponse({ accept: true, ...header(), ...(socket.protocol !== undefined ? { protocol: socket.protocol } : {}) }, payloads);
}

const EMPTY = new Uint8Array(0);

/** A message as its handler gets it: binary as the bytes' own buffer; text decoded, and its bytes freed. */
function messageData(event: { binary: boolean }, bytes: Uint8Array): string | ArrayBuffer {
  if (event.binary) return bytes.buffer as ArrayBuffer;
  const text = decodeUtf8(bytes);
  release(bytes);
  return text;
}

/**
 * Answers `POST /.plinth/websocket/events`: the socket's events in order, framed both ways.
 * A throw fails the whole batch, which the platform retries: handlers should
 * tolerate seeing an event twice.
 */
export async function handleEvents<Env extends PlinthEnv>(handlers: WebSocketHandlers<Env> | undefined, request: Request, env: Env): Promise<Response> {
  const { header: body, payloads: messages } = await readFramed<{ socket: SocketInfo; events: EventHeader[] }>(
    request.body,
    (header) => header.events.flatMap((event) => (event.type === 'message' ? [event.bytes] : [])),
  );
  const { socket, header, payloads } = recorder(body.socket);
  let next = 0;
  for (const event of body.events) {
    if (event.type === 'message') {
      const data = messageData(event, messages[next]!);
      messages[next++] = EMPTY;
      await handlers?.message?.(socket, data, env);
    } else {
      socket.wasClean = event.wasClean;
      await handlers?.close?.(socket, event.code, event.reason, env);
    }
  }
  return framedResponse(header(), payloads);
}
