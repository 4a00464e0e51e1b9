/** Secret names: letters, digits, `_`, `-`, `.`; like environment variable names plus dots. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
export const SECRET_NAME_CHARS_MAX = 128;
/** A secret is a credential, not a document: 64 KiB holds any key, token or certificate chain. */
export const SECRET_VALUE_BYTES_MAX = 64 * 1024;
/** Secrets per app; a vault with more entries is being used as a database. */
export const SECRETS_PER_APP_MAX = 1_000;
/** Random bytes `getOrCreate` may generate: 1 KiB is far past any key size. */
export const GENERATED_BYTES_MAX = 1024;
