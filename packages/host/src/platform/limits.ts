/** One ABI call carries at most this much JSON: 1 MiB of binary in base64 plus room; bulk data goes through objects. */
export const PLATFORM_BODY_BYTES_MAX = 2 * 1024 * 1024;
/** Longest an update gate holds one of the old version's calls; past it the call fails with 503 and may be retried. */
export const HOLD_MS_MAX = 30_000;
/**
 * Platform calls one app has running at once. All apps share the daemon's one event loop, so this
 * bounds one app's share of it: 16 calls of 1 MiB each is at most ~32 MiB of bodies in memory.
 */
export const PLATFORM_CALLS_IN_FLIGHT_MAX = 16;
/**
 * A JSON call with a body this large (or of unknown length) is a large call: its JSON is parsed in
 * the low-priority background thread (support/background-thread.ts), and each app runs one large
 * call at a time, because what is left on the shared event loop (reading the body, taking the
 * parsed value back, base64) still grows with its size.
 */
export const PLATFORM_LARGE_BODY_BYTES_MIN = 64 * 1024;
/** Large calls one app has running at once (see PLATFORM_LARGE_BODY_BYTES_MIN); others wait in the queue. */
export const PLATFORM_LARGE_CALLS_IN_FLIGHT_MAX = 1;
/** Calls of one app waiting for a slot; past it a call gets 429 at once (a flood, not a burst). */
export const PLATFORM_CALLS_QUEUED_MAX = 256;
/** Longest a call waits for a slot before 429; a well-behaved burst drains well within it. */
export const PLATFORM_CALL_QUEUE_MS_MAX = 10_000;
/** Calls one app may have held by an update gate at once, so held calls cannot grow without bound. */
export const PLATFORM_CALLS_HELD_MAX = 1_024;
/** Seconds a caller is told to wait after 429 or 503. */
export const PLATFORM_RETRY_AFTER_SECONDS = 1;
