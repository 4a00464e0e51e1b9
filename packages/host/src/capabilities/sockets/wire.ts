import { z } from 'zod';
import { AUTO_RESPONSE_CHARS_MAX, SOCKET_ATTACHMENT_BYTES_MAX, SOCKET_TAGS_MAX, SOCKET_TAG_CHARS_MAX } from './limits.js';

/**
 * The event protocol between the platform and the guest SDK, on the app's
 * reserved paths: `POST /.plinth/websocket/open` and `/.plinth/websocket/events`.
 * Binary data travels as base64 in `binary`; text in `data`.
 */
export const OPEN_PATH = '/.plinth/websocket/open';
export const EVENTS_PATH = '/.plinth/websocket/events';

/** Codes an endpoint may send (RFC 6455 §7.4): 1000, or 3000–4999 for libraries and apps. */
export const closeCodeSchema = z.number().int().refine((c) => c === 1000 || (c >= 3000 && c <= 4999), 'must be 1000 or 3000-4999');
/** A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455 §5.5). */
export const closeReasonSchema = z.string().refine((r) => Buffer.byteLength(r) <= 123, 'must be at most 123 bytes of UTF-8');

export const tagsSchema = z.array(z.string().min(1).max(SOCKET_TAG_CHARS_MAX)).max(SOCKET_TAGS_MAX, `a socket has at most ${SOCKET_TAGS_MAX} tags`);
export const attachmentSchema = z.unknown().refine(
  (value) => value === undefined || Buffer.byteLength(JSON.stringify(value) ?? '') <= SOCKET_ATTACHMENT_BYTES_MAX,
  `an attachment is at most ${SOCKET_ATTACHMENT_BYTES_MAX} bytes of JSON`,
);

const payloadSchema = z.union([z.object({ data: z.string() }), z.object({ binary: z.base64() })]);
export type Payload = z.infer<typeof payloadSchema>;

export const actionSchema = z.union([
  z.object({ type: z.literal('send') }).and(payloadSchema),
  z.object({ type: z.literal('close'), code: closeCodeSchema.optional(), reason: closeReasonSchema.optional() }),
]);
export type SocketAction = z.infer<typeof actionSchema>;
/** An action as the service runs it, its payload decoded. */
export type OutboundAction = { type: 'send'; data: string | Buffer } | { type: 'close'; code?: number | undefined; reason?: string | undefined };

export function outbound(action: SocketAction): OutboundAction {
  return action.type === 'send' ? { type: 'send', data: payloadBytes(action) } : action;
}

/** What the app answers to an event batch: actions in order, and the socket's new tags or attachment if it changed them. */
export const eventReplySchema = z.object({
  actions: z.array(actionSchema).max(10_000).default([]),
  tags: tagsSchema.optional(),
  attachment: attachmentSchema.optional(),
});

export const openReplySchema = z.union([
  // `protocol`: the subprotocol the app chose among those the client offered.
  z.object({ accept: z.literal(true), protocol: z.string().min(1).max(256).optional() }).and(eventReplySchema),
  z.object({ accept: z.literal(false), status: z.number().int().min(400).max(599).default(403), body: z.string().max(64 * 1024).default('') }),
]);
export type OpenReply = z.infer<typeof openReplySchema>;

export type SocketEvent =
  | ({ type: 'message' } & Payload)
  | { type: 'close'; code: number; reason: string; wasClean: boolean };

export const autoResponseSchema = z.object({
  request: z.string().min(1).max(AUTO_RESPONSE_CHARS_MAX),
  response: z.string().max(AUTO_RESPONSE_CHARS_MAX),
}).nullable();

export function payloadBytes(payload: Payload): Buffer | string {
  return 'data' in payload ? payload.data : Buffer.from(payload.binary, 'base64');
}

export function payloadSize(event: SocketEvent): number {
  if (event.type === 'close') return event.reason.length;
  return 'data' in event ? event.data.length : (event.binary.length * 3) / 4;
}
