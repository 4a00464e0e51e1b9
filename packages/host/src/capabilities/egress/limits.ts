/**
 * Default time for an upstream to send response headers, and the longest gap
 * between body chunks; generous for slow APIs, finite so a hung host frees its
 * slot. PLINTH_EGRESS_TIMEOUT_MS changes it.
 */
export const EGRESS_HEADERS_MS_MAX = 30_000;
/** Whole exchange, connect to last byte: bounds a slow-drip upstream that never goes idle. */
export const EGRESS_TOTAL_MS_MAX = 120_000;
/** Default response bytes one outbound request may bring in (PLINTH_EGRESS_RESPONSE_BYTES_MAX); larger downloads belong in objects. */
export const EGRESS_RESPONSE_BYTES_MAX = 32 * 1024 * 1024;
/** Request body bytes one outbound request may send. */
export const EGRESS_REQUEST_BYTES_MAX = 32 * 1024 * 1024;
/** Outbound requests one app may have open at once; past it the next is refused, so one app cannot exhaust sockets. */
export const EGRESS_CONCURRENT_MAX = 32;
/** Idle outbound connections are kept this long for reuse; short, as upstreams close idle ones too. */
export const EGRESS_KEEP_ALIVE_MS = 4_000;
/** Upstream connection pools kept across all apps; the least recently used is closed past this. */
export const EGRESS_CLIENTS_MAX = 256;
/** DNS answers longer than this are cut; one usable address is all a connection needs. */
export const EGRESS_ADDRESSES_MAX = 16;
