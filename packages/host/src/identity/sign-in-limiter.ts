import { isIP } from 'node:net';
import {
  SIGN_IN_ACCOUNT_FAILURES_BURST, SIGN_IN_ACCOUNT_REFILL_MS, SIGN_IN_CLIENT_FAILURES_BURST, SIGN_IN_CLIENT_REFILL_MS, SIGN_IN_LIMITER_KEYS_MAX,
} from './limits.js';

export interface BucketLimits {
  readonly burst: number;
  readonly refillMs: number;
  readonly keysMax: number;
}

/**
 * Token buckets of failures by key. The Map is kept in least-recently-taken order and never
 * holds more than `keysMax` keys: past that, refilled buckets go first (they are the same as
 * none), then the oldest. Evicting a bucket forgives its failures, the price of a memory bound.
 */
export function createFailureBuckets(limits: BucketLimits, now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const level = (key: string): number => {
    const bucket = buckets.get(key);
    return bucket ? Math.min(limits.burst, bucket.tokens + (now() - bucket.at) / limits.refillMs) : limits.burst;
  };
  function prune(): void {
    if (buckets.size <= limits.keysMax) return;
    for (const key of buckets.keys()) {
      if (buckets.size <= limits.keysMax) return;
      if (level(key) >= limits.burst) buckets.delete(key);
    }
    for (const key of buckets.keys()) {
      if (buckets.size <= limits.keysMax) return;
      buckets.delete(key);
    }
  }
  return {
    /** How long until `key` may try once more; 0 when it may now. */
    waitMs(key: string): number {
      const tokens = level(key);
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * limits.refillMs);
    },
    take(key: string): void {
      const tokens = level(key);
      buckets.delete(key);
      buckets.set(key, { tokens: Math.max(0, tokens - 1), at: now() });
      prune();
    },
    /** Gives back a token taken for a try that turned out not to be a failure. */
    refund(key: string): void {
      if (buckets.has(key)) buckets.set(key, { tokens: Math.min(limits.burst, level(key) + 1), at: now() });
    },
    forget(key: string): void {
      buckets.delete(key);
    },
    size: () => buckets.size,
  };
}

/** Emails are compared without case, as the user store does. */
const accountKey = (email: string) => email.trim().toLowerCase();

/** An IPv6 client is its /64: one host or home network is usually handed a whole one. */
export function clientKey(ip: string): string {
  const address = ip.split('%')[0]!.toLowerCase();
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export type SignInWait = { readonly waitMs: number; readonly scope: 'account' | 'client' } | undefined;

/**
 * Failed sign-ins per account and per client address, each with its own bucket. A try takes
 * its tokens before the password is checked, so tries that run at once cannot pass the burst;
 * a right password gives them back.
 */
export function createSignInLimiter(now: () => number) {
  const accounts = createFailureBuckets({ burst: SIGN_IN_ACCOUNT_FAILURES_BURST, refillMs: SIGN_IN_ACCOUNT_REFILL_MS, keysMax: SIGN_IN_LIMITER_KEYS_MAX }, now);
  const clients = createFailureBuckets({ burst: SIGN_IN_CLIENT_FAILURES_BURST, refillMs: SIGN_IN_CLIENT_REFILL_MS, keysMax: SIGN_IN_LIMITER_KEYS_MAX }, now);
  return {
    /** Takes a try for this account from this client: undefined when allowed, else how long to wait and for which limit. */
    attempt(email: string, ip: string): SignInWait {
      const account = accounts.waitMs(accountKey(email));
      const client = clients.waitMs(clientKey(ip));
      if (account > 0 || client > 0) return account >= client ? { waitMs: account, scope: 'account' } : { waitMs: client, scope: 'client' };
      accounts.take(accountKey(email));
      clients.take(clientKey(ip));
      return undefined;
    },
    /**
     * A right password forgives the account's failures and gives the client its try back. The
     * client's earlier failures stay, or a guesser could sign in to its own account to clear them.
     */
    succeeded(email: string, ip: string): void {
      accounts.forget(accountKey(email));
      clients.refund(clientKey(ip));
    },
  };
}
export type SignInLimiter = ReturnType<typeof createSignInLimiter>;
