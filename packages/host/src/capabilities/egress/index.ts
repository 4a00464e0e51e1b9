import type { Capability } from '../capability.js';
import { parsePrivateAllowance } from './address-policy.js';
import { EGRESS_ERRORS } from './errors.js';
import { createEgressProxy } from './egress-proxy.js';
import { systemResolver, type Resolver } from './guarded-lookup.js';

export type { EgressProxy, EgressUsage } from './egress-proxy.js';
export { EGRESS_ERRORS, type EgressErrorCode } from './errors.js';

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

/**
 * The vertical as a Capability: apps reach egress through their outbound proxy, not the platform
 * API, so it has no routes; it forgets an uninstalled app's counters.
 */
export function createEgressVertical(config: EgressConfig) {
  const proxy = createEgress(config);
  const capability = {
    name: 'egress',
    routes: {},
    errors: EGRESS_ERRORS,
    removeApp: (appId) => proxy.forget(appId),
  } satisfies Capability;
  return { capability, proxy };
}
