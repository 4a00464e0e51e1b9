/** `sql`: the only file other folders import (STYLE §1). See README.md for guarantees and limits. */
export { createSqlCapability } from './routes.js';
export { createSqlService, type SqlService, type SqlServiceDeps, type SqlUsage } from './service.js';
export type { DatabaseInfo } from './store.js';
