import { ok } from '../../support/result.js';
import type { AdminRouteHandler } from '../capability.js';
import type { Objects } from './index.js';

/**
 * The operator's routes for objects: usage, and the S3 credentials `plinth objects credentials`
 * prints. `endpoint` is where the operator's S3 tools are to go: the S3 port when there is one,
 * known only once it listens, so these are built after it. The admin API has checked the app exists.
 */
export function objectsAdminRoutes(objects: Pick<Objects, 'usage' | 'credentials' | 'rotateCredentials'>, endpoint: URL): Record<string, AdminRouteHandler> {
  return {
    'GET apps/:id/objects': ({ id }) => ok(objects.usage(id ?? '')),
    'GET apps/:id/objects-credentials': ({ id }) => ok(objects.credentials(id ?? '', endpoint)),
    'POST apps/:id/objects-credentials': ({ id }) => ok(objects.rotateCredentials(id ?? '', endpoint)),
  };
}
