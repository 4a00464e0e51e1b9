import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Address ranges no app may reach unless the operator names the exact
 * `host:port` in PLINTH_EGRESS_ALLOW_PRIVATE: loopback, private, CGNAT,
 * link-local (169.254.0.0/16 holds cloud metadata), unique-local, multicast,
 * and reserved ranges (RFC 6890).
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(network, prefix, 'ipv6');

/** IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible forms are judged by the IPv4 address they carry. */
function embeddedIpv4(ip: string): string | null {
  const match = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (match) return match[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return null;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return BLOCKED.check(ip, 'ipv4');
  if (family !== 6) return true;
  const v4 = embeddedIpv4(ip);
  return v4 ? BLOCKED.check(v4, 'ipv4') : BLOCKED.check(ip, 'ipv6');
}

/** Addresses that reach this machine: loopback, unspecified, and every interface address. */
export function isLocalAddress(ip: string): boolean {
  const plain = embeddedIpv4(ip) ?? ip;
  if (plain === '0.0.0.0' || plain === '::' || plain.startsWith('127.') || plain === '::1') return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === plain));
}

export interface PrivateAllowance {
  /** True when the operator let this `host:port` (by name or by address) through. */
  allows(host: string, address: string, port: number): boolean;
}

/** PLINTH_EGRESS_ALLOW_PRIVATE: `host:port` entries (IPv6 as `[addr]:port`). */
export function parsePrivateAllowance(entries: readonly string[]): PrivateAllowance {
  const allowed = new Set(entries.map((e) => e.toLowerCase().replace(/^\[(.*)\]:/, '$1:')));
  return { allows: (host, address, port) => allowed.has(`${host.toLowerCase()}:${port}`) || allowed.has(`${address}:${port}`) };
}
