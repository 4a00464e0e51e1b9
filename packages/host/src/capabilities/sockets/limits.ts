/** Tags per socket (CONTRACT §6): enough to address rooms and users without becoming a query language. */
export const SOCKET_TAGS_MAX = 10;
export const SOCKET_TAG_CHARS_MAX = 128;
/** Attachment per socket, as JSON (CONTRACT §6). */
export const SOCKET_ATTACHMENT_BYTES_MAX = 16 * 1024;
/** Default largest message either way; PLINTH_SOCKET_MESSAGE_BYTES_MAX changes it. Past it the socket closes with 1009. */
export const SOCKET_MESSAGE_BYTES_DEFAULT = 1024 * 1024;
/** The most PLINTH_SOCKET_MESSAGE_BYTES_MAX may be: a message is held whole in the daemon and in the app (docs/performance.md). */
export const SOCKET_MESSAGE_BYTES_CEILING = 64 * 1024 * 1024;
/** Bytes queued towards one client before it counts as too slow and is closed with 1013. */
export const SOCKET_SEND_BUFFER_BYTES_MAX = 4 * 1024 * 1024;
/** Messages the app may send to a socket while its `open` runs; their bytes count against SOCKET_SEND_BUFFER_BYTES_MAX. */
export const SOCKET_EARLY_SENDS_MAX = 1_000;
/** Events queued for the app per socket; a client that outpaces its app this far is closed with 1013. */
export const SOCKET_PENDING_EVENTS_MAX = 10_000;
/** Events sent to the app in one call; a slow app receives batches, never reordered. */
export const EVENT_BATCH_EVENTS_MAX = 100;
/** Payload bytes in one event batch (one message may exceed it alone). */
export const EVENT_BATCH_BYTES_MAX = 1024 * 1024;
/** Actions in one answer of the app, and the JSON header line that lists them (with tags and attachment). */
export const EVENT_REPLY_ACTIONS_MAX = 10_000;
export const EVENT_REPLY_HEADER_BYTES_MAX = 1024 * 1024;
/**
 * Bytes of one answer of the app: a full send buffer of messages and one more as large as a
 * client may ever be allowed to send; more could not be sent, as a send past the buffer
 * closes the socket. Longer answers fail unread, like an invalid one.
 */
export const EVENT_REPLY_BYTES_MAX = EVENT_REPLY_HEADER_BYTES_MAX + SOCKET_SEND_BUFFER_BYTES_MAX + SOCKET_MESSAGE_BYTES_CEILING;
/** Delays before each retry of a failed event batch; after the last the socket closes with 1011. */
export const EVENT_RETRY_DELAYS_MS: readonly number[] = [100, 500, 2_000];
/** An app at its concurrency cap delays events this long per try, for at most EVENT_OVERLOAD_WAIT_MS_MAX, before tries count as failures. */
export const EVENT_OVERLOAD_RETRY_MS = 50;
export const EVENT_OVERLOAD_WAIT_MS_MAX = 30_000;
/** Time the app has to answer one event call (open or a batch). */
export const EVENT_CALL_MS_MAX = 30_000;
/** Protocol pings keep NATs open and find dead peers; a peer that misses one pong is dropped. */
export const SOCKET_PING_INTERVAL_MS = 30_000;
/** A socket with no message either way for this long is closed with 1001. */
export const SOCKET_IDLE_MS_MAX = 60 * 60_000;
/** Time a peer has to answer a close frame before its connection is cut. */
export const SOCKET_CLOSE_GRACE_MS = 2_000;
/**
 * Time a peer's close frame (or a protocol error) waits for the app to answer the messages
 * that came before it, so their replies are sent before the close (issue 14 §21). Covers a
 * cold start and a retry or two; past it the close is answered and later replies are dropped.
 */
export const SOCKET_CLOSE_DRAIN_MS_MAX = 5_000;
/** Auto-response strings, each way. */
export const AUTO_RESPONSE_CHARS_MAX = 1024;
