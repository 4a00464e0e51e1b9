import { fail, ok } from '../../support/result.js';
import type { Capability } from '../capability.js';

export interface AppInfo {
  readonly appId: string;
  readonly version: string;
  readonly installationId: string;
  readonly appUrl: string;
  readonly baseUrl: string;
}

/** `info.get()`: who the calling app is, as the platform sees it. */
/** `jwks` lets an app verify `Plinth-Identity` offline, even when egress cannot reach the base URL. */
export function createInfoCapability(jwks: unknown, lookup: (appId: string) => AppInfo | undefined) {
  return {
    name: 'info',
    routes: {
      'GET /v1/info': (call) => {
        const info = lookup(call.appId);
        return info ? ok(info) : fail('app.not_found', `app ${call.appId} is no longer installed`);
      },
      'GET /v1/identity/jwks': () => ok(jwks),
    },
  } satisfies Capability;
}
