import assert from 'node:assert/strict';

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- Package archive (.plinth) ----

/** Compressed upload cap: a package is read fully into memory before it is trusted. */
export const PACKAGE_BYTES_MAX = 64 * MiB;
/** Sum of file sizes after gunzip; bounds memory and disk per installed version and stops gzip bombs. */
export const PACKAGE_UNPACKED_BYTES_MAX = 256 * MiB;
/** Entries (files and directories) per package; bounds inodes written and per-entry work. */
export const PACKAGE_ENTRIES_MAX = 10_000;
/** Longest path inside a package; long enough for deep asset trees, short enough for every filesystem's PATH_MAX. */
export const PACKAGE_PATH_CHARS_MAX = 512;
/** Longest single path segment, in UTF-8 bytes: NAME_MAX on ext4, xfs, btrfs and APFS. */
export const PACKAGE_PATH_SEGMENT_BYTES_MAX = 255;
/** plinth.json is parsed as JSON in one piece, so it gets a cap far below the package's. */
export const MANIFEST_BYTES_MAX = 256 * KiB;
/** signature.json holds three short strings; anything bigger is not ours. */
export const SIGNATURE_FILE_BYTES_MAX = 4 * KiB;
/** A pax or GNU long-name header; ours carry one path of at most PACKAGE_PATH_CHARS_MAX, other tools add a few timestamps. */
export const TAR_META_ENTRY_BYTES_MAX = 4 * KiB;
/** Tar bytes an entry adds beyond its content: header, pax header and body, and padding to a 512-byte block. */
export const TAR_ENTRY_OVERHEAD_BYTES_MAX = 512 + 512 + TAR_META_ENTRY_BYTES_MAX + 512;
/** End-of-archive blocks plus the padding to a 10 KiB record that GNU tar writes. */
export const TAR_TRAILER_BYTES_MAX = 1024 + 10 * KiB;

// ---- Manifest ----

/** Display name length; it is shown in the console and on purchase consent pages. */
export const APP_NAME_CHARS_MAX = 100;
/** A version string; generous for prerelease and build tags, bounded so comparisons stay cheap. */
export const VERSION_CHARS_MAX = 128;
/** Entries in `public`; matched on every request, so the list stays short. */
export const PUBLIC_PATTERNS_MAX = 100;
/** One `public` pattern or `spa` path. */
export const URL_PATH_CHARS_MAX = 512;
/** Entries in `outbound`; checked on every egress connection. */
export const OUTBOUND_PATTERNS_MAX = 100;
/** One outbound host pattern: a DNS name (253) plus `*.`, a port and an `http://` prefix. */
export const HOST_PATTERN_CHARS_MAX = 280;
/** Products an app may sell; each is shown on consent pages and kept in the ledger. */
export const PRODUCTS_MAX = 100;
/** Product title length, shown on the consent page. */
export const PRODUCT_TITLE_CHARS_MAX = 200;
/** Digits before the decimal point of a price: up to 10^12 - 1 currency units. */
export const PRICE_INTEGER_DIGITS_MAX = 12;
/** Digits after the decimal point: money is kept in pico-units (CONTRACT §9), so 12 is exact. */
export const PRICE_FRACTION_DIGITS_MAX = 12;
/** Vendor keys listed at once; enough for rotation with overlap. */
export const VENDOR_KEYS_MAX = 16;
/** Vendor webhook URL length. */
export const VENDOR_URL_CHARS_MAX = 2048;

/** Concurrent requests per app: at least one, or the app could never answer. */
export const APP_CONCURRENCY_MIN = 1;
/** Above this one app could starve the host's event loop and file descriptors. */
export const APP_CONCURRENCY_MAX = 1024;
/** Enough for a small app's bursts without letting one app hog a shared host. */
export const APP_CONCURRENCY_DEFAULT = 16;
/** Below this workerd itself does not fit. */
export const APP_MEMORY_MB_MIN = 16;
/** One app may not take more than a modest host has. */
export const APP_MEMORY_MB_MAX = 4096;
/** Matches Cloudflare Workers' 128 MB isolate limit, which apps are written against. */
export const APP_MEMORY_MB_DEFAULT = 128;
/** Zero is allowed: an app that takes no WebSockets. */
export const APP_SOCKETS_MIN = 0;
/** Each open socket costs the host a file descriptor and some memory. */
export const APP_SOCKETS_MAX = 100_000;
/** Enough for a chat room or dashboard; raise it in the manifest when needed. */
export const APP_SOCKETS_DEFAULT = 1000;
/** Shorter than this, ordinary network jitter would fail requests. */
export const APP_REQUEST_TIMEOUT_MS_MIN = 100;
/** Ten minutes: long uploads and reports, but a hung request is still reaped. */
export const APP_REQUEST_TIMEOUT_MS_MAX = 600_000;
/** 30 s, as common reverse proxies use, so an app behaves the same behind one. */
export const APP_REQUEST_TIMEOUT_MS_DEFAULT = 30_000;

// ---- Operator ceilings (PLINTH_APP_*_MAX; apps/ceilings.ts) ----
// What one app may ask of this host unless the operator says otherwise. The manifest bounds
// above are what the platform can run; these defaults fit a small shared host (2-4 GB, a few
// apps), so one manifest cannot claim the whole machine by asking.

/** A quarter of a 4 GB host: eight times the 128 MB default, and two such apps still leave room. */
export const APP_MEMORY_MB_CEILING_DEFAULT = 1024;
/** Each in-flight request holds a connection and its buffers in the daemon; 16 times the default. */
export const APP_CONCURRENCY_CEILING_DEFAULT = 256;
/** An open socket costs the daemon ~21 KB and a file descriptor: 10,000 is ~210 MB, not the ~2 GB of APP_SOCKETS_MAX. */
export const APP_SOCKETS_CEILING_DEFAULT = 10_000;
/** Five minutes: long reports and uploads fit, and a hung request gives its concurrency slot back within minutes. */
export const APP_REQUEST_TIMEOUT_MS_CEILING_DEFAULT = 300_000;

/**
 * Bytes one app may store in objects and SQL databases together (PLINTH_APP_STORAGE_BYTES_MAX).
 * 10 GiB: the SQL cap of one app alone (SQL_APP_BYTES_MAX), so no existing app loses room it had
 * in its databases, and a 100 GB disk still holds several apps at their quota.
 */
export const APP_STORAGE_BYTES_QUOTA_DEFAULT = 10 * 1024 ** 3;
/** Below this nothing useful fits; it is also small enough to test the quota with. */
export const APP_STORAGE_BYTES_QUOTA_MIN = MiB;
/** A petabyte: far past any one disk, and still exact as a JavaScript number. */
export const APP_STORAGE_BYTES_QUOTA_MAX = 1024 ** 5;

// Relations the code relies on; a bad edit fails at load, not in production.
assert.ok(MANIFEST_BYTES_MAX < PACKAGE_UNPACKED_BYTES_MAX);
assert.ok(SIGNATURE_FILE_BYTES_MAX < PACKAGE_UNPACKED_BYTES_MAX);
assert.ok(PACKAGE_PATH_SEGMENT_BYTES_MAX <= PACKAGE_PATH_CHARS_MAX * 4);
// A pax record for our longest path (4 UTF-8 bytes a char, plus its length prefix) fits a meta entry.
assert.ok(PACKAGE_PATH_CHARS_MAX * 4 + 64 <= TAR_META_ENTRY_BYTES_MAX);
assert.ok(APP_CONCURRENCY_MIN <= APP_CONCURRENCY_DEFAULT && APP_CONCURRENCY_DEFAULT <= APP_CONCURRENCY_MAX);
assert.ok(APP_MEMORY_MB_MIN <= APP_MEMORY_MB_DEFAULT && APP_MEMORY_MB_DEFAULT <= APP_MEMORY_MB_MAX);
assert.ok(APP_SOCKETS_MIN <= APP_SOCKETS_DEFAULT && APP_SOCKETS_DEFAULT <= APP_SOCKETS_MAX);
assert.ok(
  APP_REQUEST_TIMEOUT_MS_MIN <= APP_REQUEST_TIMEOUT_MS_DEFAULT &&
    APP_REQUEST_TIMEOUT_MS_DEFAULT <= APP_REQUEST_TIMEOUT_MS_MAX,
);
// A default ceiling the manifest could never reach would be no ceiling; one below the manifest
// default would refuse every app that states no limits.
assert.ok(APP_MEMORY_MB_DEFAULT <= APP_MEMORY_MB_CEILING_DEFAULT && APP_MEMORY_MB_CEILING_DEFAULT < APP_MEMORY_MB_MAX);
assert.ok(APP_CONCURRENCY_DEFAULT <= APP_CONCURRENCY_CEILING_DEFAULT && APP_CONCURRENCY_CEILING_DEFAULT < APP_CONCURRENCY_MAX);
assert.ok(APP_SOCKETS_DEFAULT <= APP_SOCKETS_CEILING_DEFAULT && APP_SOCKETS_CEILING_DEFAULT < APP_SOCKETS_MAX);
assert.ok(APP_REQUEST_TIMEOUT_MS_DEFAULT <= APP_REQUEST_TIMEOUT_MS_CEILING_DEFAULT && APP_REQUEST_TIMEOUT_MS_CEILING_DEFAULT < APP_REQUEST_TIMEOUT_MS_MAX);
assert.ok(APP_STORAGE_BYTES_QUOTA_MIN <= APP_STORAGE_BYTES_QUOTA_DEFAULT && APP_STORAGE_BYTES_QUOTA_DEFAULT <= APP_STORAGE_BYTES_QUOTA_MAX);
assert.ok(APP_STORAGE_BYTES_QUOTA_MAX <= Number.MAX_SAFE_INTEGER);
