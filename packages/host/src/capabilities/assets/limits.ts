/**
 * Every size, count and duration the assets capability uses (STYLE §5), each with why it is that
 * value. Relations between them are asserted at the bottom, at module load.
 */
import assert from 'node:assert/strict';

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- Index ----

/** Files and folders indexed per app version. A package holds at most 10,000 entries, so more means the folder was changed by hand. */
export const ASSET_ENTRIES_MAX = 10_000;
/** Files read at once while indexing: enough to hide per-file syscall latency, few enough to leave file descriptors for requests. */
export const ASSET_INDEX_READS_CONCURRENT = 16;
/** Longest asset path indexed, in characters; a package path is at most 512 and assets sit under `assets/`. */
export const ASSET_PATH_CHARS_MAX = 512;

// ---- Serving ----

/**
 * Files at most this big are kept in memory after their first read. Node has no sendfile, so a
 * streamed file is copied twice per request (read, then write); from memory it is written once,
 * which measured 2-3x the throughput on a 1 MiB file (bench/static). Most bundles, stylesheets
 * and images are below this.
 */
export const ASSET_BODY_CACHE_FILE_BYTES_MAX = 1 * MiB;
/** Memory for cached bodies across every app, least recently used dropped first: 64 files at the per-file cap. */
export const ASSET_BODY_CACHE_BYTES_MAX = 64 * MiB;
/** Read size when streaming a larger file: big enough to keep a socket busy, small enough that many streams do not pin much memory. */
export const ASSET_STREAM_CHUNK_BYTES = 256 * KiB;
/** One year, the longest max-age RFC 9111 §5.2.2.1 expects caches to honour; fingerprinted names change when content does. */
export const ASSET_IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;

// ---- Request headers ----

/** Codings looked at in one Accept-Encoding; browsers send three or four, so more is noise or an attack. */
export const ACCEPT_ENCODING_ENTRIES_MAX = 32;
/** Media ranges looked at in one Accept when deciding whether a request is a navigation; browsers send about six. */
export const ACCEPT_ENTRIES_MAX = 32;
/** Entity tags looked at in one If-None-Match or If-Match; a cache sends one per stored variant. */
export const ENTITY_TAGS_MAX = 64;
/** Digits in a byte position of a Range header; 15 digits stay below Number.MAX_SAFE_INTEGER. */
export const RANGE_POSITION_DIGITS_MAX = 15;

// ---- Fingerprints ----

/** Shortest hex run taken as a content hash: 8 hex digits (32 bits) is the shortest bundlers emit (Parcel, webpack `[contenthash:8]`). */
export const FINGERPRINT_HEX_CHARS_MIN = 8;
/** Longest hex run taken as a content hash: a full SHA-512 in hex. */
export const FINGERPRINT_HEX_CHARS_MAX = 128;
/** Shortest base64url-ish hash: Rollup and Vite default to 8 characters, esbuild to 8 base32 ones. */
export const FINGERPRINT_BASE64_CHARS_MIN = 8;
/** Longest base64url-ish hash: Rollup's `[hash:21]` is its maximum; a little room above it. */
export const FINGERPRINT_BASE64_CHARS_MAX = 22;

// ---- Manifest `cache` rules ----

/** Rules per manifest; each is tried on an asset until one matches, so the list stays short. */
export const CACHE_RULES_MAX = 32;
/** One glob; the longest asset path plus room for wildcards. */
export const CACHE_GLOB_CHARS_MAX = 512;
/** Wildcards per glob; matching is linear per wildcard, so this bounds the work per request. */
export const CACHE_GLOB_WILDCARDS_MAX = 8;
/** One Cache-Control value; every directive we accept fits in far less. */
export const CACHE_CONTROL_CHARS_MAX = 256;
/** Longest max-age (or s-maxage, stale-*) a rule may set: one year, as for fingerprinted files. */
export const CACHE_MAX_AGE_SECONDS_MAX = ASSET_IMMUTABLE_MAX_AGE_SECONDS;

// ---- Precompression (`plinth build`) ----

/** Smaller files are not precompressed: the saving is less than one packet and not worth a `Vary`-split cache entry. */
export const ASSET_COMPRESS_BYTES_MIN = 1 * KiB;
/** Files up to this size get brotli's best quality; above it quality 11 runs at ~1 MB/s and would stall `plinth dev`. */
export const ASSET_BROTLI_BEST_BYTES_MAX = 4 * MiB;
/** Brotli quality for files up to ASSET_BROTLI_BEST_BYTES_MAX: the smallest output, paid once at build time. */
export const ASSET_BROTLI_QUALITY_BEST = 11;
/** Brotli quality above that size: still smaller than gzip -9, at tens of MB/s. */
export const ASSET_BROTLI_QUALITY_FAST = 9;
/** gzip level: the smallest output, paid once at build time. */
export const ASSET_GZIP_LEVEL = 9;

/** Longest package path a sibling may have: the package reader's PACKAGE_PATH_CHARS_MAX (a test keeps them equal). */
export const ASSET_PACKAGE_PATH_CHARS_MAX = 512;
/** Longest file name a sibling may have, in UTF-8 bytes: NAME_MAX on common filesystems, as the package reader checks. */
export const ASSET_NAME_BYTES_MAX = 255;

assert.ok(ASSET_BODY_CACHE_FILE_BYTES_MAX <= ASSET_BODY_CACHE_BYTES_MAX, 'a cacheable body must fit in the cache');
assert.ok(FINGERPRINT_HEX_CHARS_MIN <= FINGERPRINT_HEX_CHARS_MAX);
assert.ok(FINGERPRINT_BASE64_CHARS_MIN <= FINGERPRINT_BASE64_CHARS_MAX);
assert.ok(CACHE_GLOB_CHARS_MAX >= ASSET_PATH_CHARS_MAX, 'a glob can name any asset path exactly');
assert.ok(ASSET_COMPRESS_BYTES_MIN < ASSET_BROTLI_BEST_BYTES_MAX);
