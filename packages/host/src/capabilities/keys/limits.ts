/** Key names follow secret names: letters, digits, `_`, `-`, `.`. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** Data one `sign` or `verify` call takes; larger messages should be hashed first (as JWS and Git do). */
export const SIGN_DATA_BYTES_MAX = 1024 * 1024;
/** Data from this size on is signed and verified in the low-priority background thread; smaller in libuv's pool (quicker there). */
export const LARGE_INPUT_BYTES_MIN = 64 * 1024;
/** Keys per app, counting names, not versions. */
export const KEYS_PER_APP_MAX = 1_000;
/** Versions kept per key; each rotation adds one. Delete old versions to rotate further. */
export const KEY_VERSIONS_MAX = 100;
/** Decrypted private keys kept in memory, so a signing workload does not decrypt per call. */
export const PRIVATE_KEY_CACHE_ENTRIES_MAX = 1_000;
/** Audit rows kept per app; older rows are pruned, newest first kept. */
export const AUDIT_ROWS_PER_APP_MAX = 100_000;
/** Audit rows are committed together at most this often, or when this many wait: one disk sync per batch. */
export const AUDIT_FLUSH_MS = 250;
export const AUDIT_BATCH_ROWS_MAX = 1_000;
/** Audit rows one admin API call returns. */
export const AUDIT_PAGE_ROWS_MAX = 1_000;
