import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import type { CallBody } from '../../runtime/supervisor.js';
import {
  AUTO_RESPONSE_CHARS_MAX, EVENT_REPLY_ACTIONS_MAX, EVENT_REPLY_HEADER_BYTES_MAX, SOCKET_ATTACHMENT_BYTES_MAX, SOCKET_TAGS_MAX, SOCKET_TAG_CHARS_MAX,
} from './limits.js';
import type { SocketView } from './registry.js';

/**
 * The event protocol between the platform and the guest SDK, on the app's
 * reserved paths: `POST /.plinth/websocket/open` and `/.plinth/websocket/events`.
 * Message bytes travel raw in a framed body (docs/abi.md, "WebSocket events"):
 * one line of JSON, the header, then each message's bytes back to back, in the
 * order of the header's messages or `send` actions. A message is thus never
 * copied into JSON or base64, which for 16 MiB took the app past 300 MiB
 * (issue 14 §22).
 */
export const OPEN_PATH = '/.plinth/websocket/open';
export const EVENTS_PATH = '/.plinth/websocket/events';
export const FRAMED_CONTENT_TYPE = 'application/vnd.plinth.frames';

/** Codes an endpoint may send (RFC 6455 §7.4): 1000, or 3000–4999 for libraries and apps. */
export const closeCodeSchema = z.number().int().refine((c) => c === 1000 || (c >= 3000 && c <= 4999), 'must be 1000 or 3000-4999');
/** A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5). */
export const closeReasonSchema = z.string().refine((r) => Buffer.byteLength(r) <= 123, 'must be at most 123 bytes of UTF-8');

export const tagsSchema = z.array(z.string().min(1).max(SOCKET_TAG_CHARS_MAX)).max(SOCKET_TAGS_MAX, `a socket has at most ${SOCKET_TAGS_MAX} tags`);
export const attachmentSchema = z.unknown().refine(
  (value) => value === undefined || Buffer.byteLength(JSON.stringify(value) ?? '') <= SOCKET_ATTACHMENT_BYTES_MAX,
  `an attachment is at most ${SOCKET_ATTACHMENT_BYTES_MAX} bytes of JSON`,
);

/** A payload of the platform API (`send`, `publish`): JSON, so binary data is base64. */
export type Payload = { data: string } | { binary: string };

export function payloadBytes(payload: Payload): Buffer | string {
  return 'data' in payload ? payload.data : Buffer.from(payload.binary, 'base64');
}

/** A `send` action announces its message; the bytes follow the header. */
const actionHeaderSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('send'), binary: z.boolean(), bytes: z.number().int().min(0) }),
  z.object({ type: z.literal('close'), code: closeCodeSchema.optional(), reason: closeReasonSchema.optional() }),
]);
type ActionHeader = z.infer<typeof actionHeaderSchema>;

/** An action as the service runs it, with its message's bytes. */
export type OutboundAction =
  | { type: 'send'; data: string | Buffer; binary: boolean }
  | { type: 'close'; code?: number | undefined; reason?: string | undefined };

/** The header of the app's answer to an event batch: actions in order, and the socket's new tags or attachment if it changed them. */
export const eventReplySchema = z.object({
  actions: z.array(actionHeaderSchema).max(EVENT_REPLY_ACTIONS_MAX).default([]),
  tags: tagsSchema.optional(),
  attachment: attachmentSchema.optional(),
});

export const openReplySchema = z.union([
  // `protocol`: the subprotocol the app chose among those the client offered.
  z.object({ accept: z.literal(true), protocol: z.string().min(1).max(256).optional() }).and(eventReplySchema),
  z.object({ accept: z.literal(false), status: z.number().int().min(400).max(599).default(403), body: z.string().max(64 * 1024).default('') }),
]);
export type OpenReply = z.infer<typeof openReplySchema>;

/** An event for the app; a message holds the bytes the client sent (UTF-8 for text, checked by ws). */
export type SocketEvent =
  | { type: 'message'; binary: boolean; data: Buffer }
  | { type: 'close'; code: number; reason: string; wasClean: boolean };

export const autoResponseSchema = z.object({
  request: z.string().min(1).max(AUTO_RESPONSE_CHARS_MAX),
  response: z.string().max(AUTO_RESPONSE_CHARS_MAX),
}).nullable();

export function payloadSize(event: SocketEvent): number {
  return event.type === 'close' ? event.reason.length : event.data.length;
}

/** The body of an events call: the header `{ socket, events }`, a message as `{ type, binary, bytes }`, then the messages' bytes. */
export function framedEvents(socket: SocketView, events: readonly SocketEvent[]): CallBody {
  const header = { socket, events: events.map((e) => (e.type === 'message' ? { type: e.type, binary: e.binary, bytes: e.data.length } : e)) };
  const payloads = events.flatMap((e) => (e.type === 'message' && e.data.length > 0 ? [e.data] : []));
  return { contentType: FRAMED_CONTENT_TYPE, chunks: [Buffer.from(`${JSON.stringify(header)}\n`), ...payloads] };
}

export type Decoded<T> = { ok: true; value: T; actions: OutboundAction[] } | { ok: false; problem: string };

/**
 * Reads a framed answer: the header through `schema`, then each `send` action's bytes
 * (views into `body`, not copies). The bytes must add up exactly, and text must be UTF-8,
 * since ws would send it as it is. A plain JSON body is a framed body without messages.
 */
export function decodeFramed<T>(body: Buffer, schema: z.ZodType<T>, actionsOf: (header: T) => readonly ActionHeader[]): Decoded<T> {
  const newline = body.indexOf(0x0a);
  const headerEnd = newline < 0 ? body.length : newline;
  if (headerEnd > EVENT_REPLY_HEADER_BYTES_MAX) return { ok: false, problem: `its header is longer than ${EVENT_REPLY_HEADER_BYTES_MAX} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8', 0, headerEnd));
  } catch {
    return { ok: false, problem: 'its header is not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, problem: `its header is invalid: ${parsed.error.issues[0]?.message}` };
  const rest = newline < 0 ? body.subarray(body.length) : body.subarray(newline + 1);
  const actions: OutboundAction[] = [];
  let at = 0;
  for (const action of actionsOf(parsed.data)) {
    if (action.type === 'close') {
      actions.push(action);
      continue;
    }
    const data = rest.subarray(at, at + action.bytes);
    at += action.bytes;
    if (data.length !== action.bytes) return { ok: false, problem: `its send actions announce at least ${at} bytes, but ${rest.length} follow the header` };
    if (!action.binary && !isUtf8(data)) return { ok: false, problem: 'a text message it sends is not UTF-8' };
    actions.push({ type: 'send', data, binary: action.binary });
  }
  if (at !== rest.length) return { ok: false, problem: `${rest.length - at} bytes follow its header that no send action announces` };
  return { ok: true, value: parsed.data, actions };
}
