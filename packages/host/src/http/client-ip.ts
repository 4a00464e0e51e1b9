import { BlockList, isIP } from 'node:net';

export interface ClientAddress {
  readonly ip: string;
  /** True when `ip` came from `X-Forwarded-For` vouched for by a trusted proxy. */
  readonly viaTrustedProxy: boolean;
}
export type ClientIpResolver = (peer: string | undefined, forwardedFor: string | string[] | undefined) => ClientAddress;

/**
 * The caller's address: the socket peer, or, when the peer is a trusted
 * proxy, the right-most `X-Forwarded-For` entry that is not itself trusted.
 * Left-most entries are client-written and never believed.
 */
export function createClientIpResolver(trustedProxies: readonly string[]) {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    // Entries were validated by loadConfig.
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(prefix), family);
  }
  const isTrusted = (ip: string) => {
    const plain = unmapped(ip);
    const family = isIP(plain);
    return family !== 0 && trusted.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };

  const anyTrusted = trustedProxies.length > 0;
  return (peer: string | undefined, forwardedFor: string | string[] | undefined): ClientAddress => {
    let ip = unmapped(peer ?? '');
    // Without trusted proxies, skip the BlockList: it allocates per check, on every request.
    if (!anyTrusted || !forwardedFor || !isTrusted(ip)) return { ip, viaTrustedProxy: false };
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((s) => s.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i]!);
      if (!isIP(hop)) break;
      ip = hop;
      if (!isTrusted(hop)) break;
    }
    return { ip, viaTrustedProxy: true };
  };
}

function unmapped(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
