import type { ErrorTable } from '../../support/error-table.js';
import type { LookupErrorCode } from './guarded-lookup.js';

/** Every expected failure of outbound HTTP (STYLE §6); each has a row in README.md. */
export type EgressErrorCode =
  | LookupErrorCode
  | 'egress.host_not_allowed'
  | 'egress.upstream_failed'
  | 'egress.response_too_large'
  | 'egress.request_too_large'
  | 'egress.timeout'
  | 'egress.busy'
  | 'egress.bad_request';

export const EGRESS_ERRORS = {
  'egress.host_not_allowed': { status: 403, fix: 'add the host (with `http://` or `:port` if needed)' },
  'egress.private_address': { status: 403, fix: 'operator: `PLINTH_EGRESS_ALLOW_PRIVATE=host:port`' },
  'egress.platform_port': { status: 403, fix: 'call platform services through `env.PLINTH`' },
  'egress.dns_failed': { status: 502 },
  'egress.upstream_failed': { status: 502 },
  'egress.response_too_large': { status: 502 },
  'egress.request_too_large': { status: 413 },
  'egress.timeout': { status: 504 },
  'egress.busy': { status: 503, fix: 'retry after `Retry-After`' },
  'egress.bad_request': { status: 400 },
} as const satisfies ErrorTable<EgressErrorCode>;
