import { ok } from '../../support/result.js';
import type { Capability } from '../capability.js';

export interface AppInfo {
  readonly appId: string;
  readonly version: string;
  readonly installationId: string;
  readonly appUrl: string;
  readonly baseUrl: string;
}

/** `info.get()`: who the calling app is, as the platform sees it. */
export function createInfoCapability(lookup: (appId: string) => AppInfo | undefined) {
  return {
    name: 'info',
    routes: {
      'GET /v1/info': (call) => ok(lookup(call.appId)),
    },
  } satisfies Capability;
}
