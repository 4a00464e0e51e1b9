import { z } from 'zod';
import type { Capability, PlatformCall } from '../capability.js';
import { parseBody } from '../parse-body.js';
import { GENERATED_BYTES_MAX } from './limits.js';
import type { Keyring } from '../../keyring/keyring.js';
import { applyTables, type ControlPlane } from '../../store/control-plane.js';
import { SECRETS_ERRORS } from './errors.js';
import { createSecretsService, type SecretsService } from './service.js';
import { SECRETS_TABLES } from './store.js';

export { createSecretsService, type SecretsService } from './service.js';
export { SECRETS_ERRORS, type SecretsErrorCode } from './errors.js';

const setSchema = z.object({ value: z.string() });
const getOrCreateSchema = z.union([
  z.object({ value: z.string() }).strict(),
  z.object({ bytes: z.number().int().min(1).max(GENERATED_BYTES_MAX), encoding: z.enum(['base64', 'base64url', 'hex']).default('base64url') }).strict(),
]);

/** The last path segment, decoded: `/v1/secrets/<name>` or `/v1/secrets/<name>/get-or-create`. */
function nameOf(call: PlatformCall): string {
  return call.params.name ?? '';
}

/** `secrets`: a key-value vault private to each app (CONTRACT §5). */
export function createSecretsCapability(service: SecretsService) {
  return {
    name: 'secrets',
    routes: {
      'GET /v1/secrets': (call) => ({ ok: true, value: { secrets: service.list(call.appId) } }),
      'GET /v1/secrets/:name': (call) => service.get(call.appId, nameOf(call)),
      'PUT /v1/secrets/:name': (call) => {
        const body = parseBody(call, setSchema);
        return body.ok ? service.set(call.appId, nameOf(call), body.value.value) : body;
      },
      'DELETE /v1/secrets/:name': (call) => service.delete(call.appId, nameOf(call)),
      'POST /v1/secrets/:name/get-or-create': (call) => {
        const body = parseBody(call, getOrCreateSchema);
        return body.ok ? service.getOrCreate(call.appId, nameOf(call), body.value) : body;
      },
    },
  } satisfies Capability;
}

/** The whole vertical: its table, its service, its routes, and what uninstall removes. */
export function createSecrets(deps: { readonly db: ControlPlane; readonly keyring: Keyring; readonly now: () => number }) {
  applyTables(deps.db, SECRETS_TABLES);
  const service = createSecretsService(deps.db, deps.keyring, deps.now);
  return {
    ...createSecretsCapability(service),
    tables: SECRETS_TABLES,
    errors: SECRETS_ERRORS,
    removeApp: (appId, { keepData }) => { if (!keepData) service.removeApp(appId); },
  } satisfies Capability;
}
