import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { fail, ok, type Result } from '../../support/result.js';
import { isBlockedAddress, isLocalAddress, type PrivateAllowance } from './address-policy.js';
import { EGRESS_ADDRESSES_MAX } from './limits.js';

export type LookupErrorCode = 'egress.dns_failed' | 'egress.private_address' | 'egress.platform_port';

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface AddressGuard {
  readonly allowance: PrivateAllowance;
  /** The platform's own listening ports, unreachable on any local address whatever the allowance says. */
  readonly platformPorts: ReadonlySet<number>;
  readonly resolve: Resolver;
  /** How long a DNS answer may take. */
  readonly timeoutMs: number;
}

/**
 * Resolves a host and picks the first address an app may reach. The caller
 * connects to exactly this address, so a second DNS answer (rebinding) is
 * never consulted.
 */
export async function pickAddress(guard: AddressGuard, host: string, port: number): Promise<Result<{ address: string; family: 4 | 6 }, LookupErrorCode>> {
  let answers: { address: string; family: number }[];
  if (isIP(host)) {
    answers = [{ address: host, family: isIP(host) }];
  } else {
    try {
      answers = await Promise.race([
        guard.resolve(host),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${guard.timeoutMs} ms`)), guard.timeoutMs).unref()),
      ]);
    } catch (error) {
      return fail('egress.dns_failed', `cannot resolve ${host}: ${(error as Error).message}`);
    }
  }
  let refusal: Result<never, LookupErrorCode> | null = null;
  for (const { address } of answers.slice(0, EGRESS_ADDRESSES_MAX)) {
    if (guard.platformPorts.has(port) && isLocalAddress(address)) {
      refusal ??= fail('egress.platform_port', `${host}:${port} is the platform itself (${address}); apps cannot call the platform through egress`);
      continue;
    }
    if (isBlockedAddress(address) && !guard.allowance.allows(host, address, port)) {
      refusal ??= fail('egress.private_address', `${host} resolves to ${address}, a loopback, private or reserved address; only the operator can allow it (PLINTH_EGRESS_ALLOW_PRIVATE=${host}:${port})`);
      continue;
    }
    return ok({ address, family: isIP(address) === 6 ? 6 : 4 });
  }
  return refusal ?? fail('egress.dns_failed', `${host} has no addresses`);
}
