/** `sql`: the only file other folders import (STYLE §1). See README.md for guarantees and limits. */
import type { Capability } from '../capability.js';
import type { Slot } from '../../runtime/supervisor.js';
import { SQL_ERRORS } from './errors.js';
import { createSqlCapability } from './routes.js';
import { createSqlService, type SqlServiceDeps } from './service.js';

export { createSqlCapability } from './routes.js';
export { createSqlService, type SqlService, type SqlServiceDeps, type SqlUsage } from './service.js';
export type { DatabaseInfo } from './store.js';
export { SQL_ERRORS, type SqlErrorCode } from './errors.js';

/** The whole vertical: the SQL processes, their routes, and what uninstall and shutdown end. */
export function createSql(deps: SqlServiceDeps) {
  const service = createSqlService(deps);
  const capability = {
    ...createSqlCapability(service),
    errors: SQL_ERRORS,
    // Its databases live in the app's data folder, which the installer keeps or deletes; here the
    // app's SQL process and transfers end either way.
    removeApp: (appId) => service.removeApp(appId),
    close: () => service.stop(),
  } satisfies Capability;
  return { capability, service };
}

/**
 * While a gated update runs, the live version's SQL calls wait until the new version's
 * `/after-update` is done (apps/updater.ts), so the two never write the databases at once.
 * `heldUntil` is the updater's; other calls, and the next version's, run unheld.
 */
export function holdSqlDuringUpdate(heldUntil: (appId: string) => Promise<void> | undefined) {
  return (appId: string, slot: Slot, pathname: string): Promise<void> | undefined =>
    (slot === 'live' && pathname.startsWith('/v1/sql') ? heldUntil(appId) : undefined);
}
