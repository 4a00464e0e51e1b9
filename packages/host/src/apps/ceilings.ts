import { fail, ok, type Result } from '../support/result.js';
import type { Manifest } from './manifest.js';

/**
 * The operator's ceilings on what a manifest's `limits` may ask for (PLINTH_APP_*_MAX).
 * The manifest schema's own bounds (limits.ts) are what the platform can run at all;
 * these are what this host is willing to give one app.
 */
export interface AppCeilings {
  readonly memoryMb: number;
  readonly concurrency: number;
  readonly sockets: number;
  readonly requestTimeoutMs: number;
}

export type CeilingErrorCode = 'manifest.above_ceiling';

/** The setting that sets each ceiling, named in the refusal so the operator knows what to raise. */
export const CEILING_ENV_NAMES: Readonly<Record<keyof AppCeilings, string>> = {
  memoryMb: 'PLINTH_APP_MEMORY_MB_MAX',
  concurrency: 'PLINTH_APP_CONCURRENCY_MAX',
  sockets: 'PLINTH_APP_SOCKETS_MAX',
  requestTimeoutMs: 'PLINTH_APP_REQUEST_TIMEOUT_MS_MAX',
};

/** Every limit the manifest sets above its ceiling, each with its JSON path; checked by install, update and `plinth dev` reloads. */
export function checkCeilings(manifest: Pick<Manifest, 'limits'>, ceilings: AppCeilings): Result<void, CeilingErrorCode> {
  const details = (Object.keys(CEILING_ENV_NAMES) as (keyof AppCeilings)[])
    .filter((name) => manifest.limits[name] > ceilings[name])
    .map((name) => ({
      path: `$.limits.${name}`,
      message: `limits.${name} ${manifest.limits[name]} is above this platform's ceiling of ${ceilings[name]} (${CEILING_ENV_NAMES[name]})`,
    }));
  if (details.length === 0) return ok(undefined);
  return fail('manifest.above_ceiling', details.map((d) => d.message).join('; '), details);
}
