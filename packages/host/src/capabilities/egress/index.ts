import { parsePrivateAllowance } from './address-policy.js';
import { createEgressProxy } from './egress-proxy.js';
import { systemResolver, type Resolver } from './guarded-lookup.js';

export type { EgressProxy, EgressUsage } from './egress-proxy.js';

export interface EgressConfig {
  /** PLINTH_EGRESS_ALLOW_PRIVATE entries, `host:port`. */
  readonly allowPrivate: readonly string[];
  /** The platform's listening ports; main adds the bound port once it is known. */
  readonly platformPorts: ReadonlySet<number>;
  readonly outboundOf: (appId: string) => readonly string[] | undefined;
  readonly resolve?: Resolver;
  readonly timeoutMs: number;
  readonly responseBytesMax: number;
}

/** Outbound HTTP for apps: the manifest's allow-list, an SSRF guard, limits and byte counts. */
export function createEgress(config: EgressConfig) {
  return createEgressProxy({
    allowance: parsePrivateAllowance(config.allowPrivate),
    platformPorts: config.platformPorts,
    resolve: config.resolve ?? systemResolver,
    outboundOf: config.outboundOf,
    timeoutMs: config.timeoutMs,
    responseBytesMax: config.responseBytesMax,
  });
}
