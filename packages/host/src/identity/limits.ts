/** How long a console sign-in lasts; matches what users expect of "remember me" on a self-hosted box. */
export const CONSOLE_SESSION_MS = 30 * 24 * 3600_000;
/** App-origin sessions live as long as the console session they came from. */
export const APP_SESSION_MS = CONSOLE_SESSION_MS;
/** A handoff code only has to survive one redirect; short so a leaked URL is useless. */
export const HANDOFF_CODE_MS = 60_000;
/**
 * The state cookie an app host sets before sending a browser to sign in: long enough to find a
 * password, short so that the hash of one seen in a `/login` URL is soon worth nothing.
 */
export const HANDOFF_STATE_MS = 15 * 60_000;
/** The printed admin sign-in link: long enough for an operator to read the log the next morning. */
export const LOGIN_LINK_MS = 24 * 3600_000;
/** Bearer tokens for scripts and mobile apps; revocable, so long-lived. */
export const BEARER_TOKEN_MS = 365 * 24 * 3600_000;
/** The Plinth-Identity JWS is minted per request; a short life limits replay of a logged header. */
export const IDENTITY_JWS_SECONDS = 120;
/** scrypt cost (N=2^15, r=8, p=1): about 50 ms here, OWASP's floor for scrypt. */
export const SCRYPT_N = 1 << 15;
export const PASSWORD_CHARS_MIN = 8;
export const PASSWORD_CHARS_MAX = 1024;
/** Console forms (sign-in, sign-out) are tiny; anything larger is not one of them. */
export const LOGIN_BODY_BYTES_MAX = 16 * 1024;
/** The console forms' CSRF cookie lasts as long as a sign-in, so a long-open page's sign-out form still works. */
export const CSRF_COOKIE_MS = CONSOLE_SESSION_MS;
/** A `return` path; longer than any page's path and query a browser keeps in a link. */
export const RETURN_PATH_CHARS_MAX = 2048;
/**
 * Values of one session cookie name looked up per request. A browser sends one; a second means a
 * planted cookie. More than this signs no one in, so a flood of planted cookies costs no lookups.
 */
export const SESSION_COOKIE_VALUES_MAX = 8;

// Sign-in rate limits: token buckets of failed attempts, one per account and one per client address.
/** Failed sign-ins one account may have in a row before it waits; a user mistyping a password never gets near it. */
export const SIGN_IN_ACCOUNT_FAILURES_BURST = 10;
/** Then one more try a minute: an online guesser gets about 1,450 guesses a day at one account. */
export const SIGN_IN_ACCOUNT_REFILL_MS = 60_000;
/** Failed sign-ins one client address (an IPv6 /64) may have in a row, across accounts; an office behind one NAT fits. */
export const SIGN_IN_CLIENT_FAILURES_BURST = 30;
/** Then one more every 10 s: each failure costs about 50 ms of scrypt, so one client can use at most 0.5% of a core. */
export const SIGN_IN_CLIENT_REFILL_MS = 10_000;
/** Accounts, and client addresses, each limiter remembers: a few MB at most. Past it, see `createFailureBuckets`. */
export const SIGN_IN_LIMITER_KEYS_MAX = 10_000;
