import { z } from 'zod';
import { fail, ok, type Result } from '../../support/result.js';
import type { Capability, PlatformCall } from '../capability.js';
import { parseBody } from '../parse-body.js';
import { AUDIT_PAGE_ROWS_MAX, SIGN_DATA_BYTES_MAX } from './limits.js';
import type { Keyring } from '../../keyring/keyring.js';
import { applyTables, type ControlPlane } from '../../store/control-plane.js';
import { KEYS_ERRORS } from './errors.js';
import { createKeysService, type KeysService } from './service.js';
import { KEYS_TABLES } from './store.js';

export { createKeysService, type KeysService } from './service.js';
export { KEYS_ERRORS, type KeysErrorCode } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const signSchema = z.object({ data: z.string() }).strict();
const verifySchema = z.object({
  data: z.string(),
  signature: z.string().regex(BASE64, 'must be base64 or base64url'),
  version: z.number().int().min(1).optional(),
}).strict();

/**
 * Decodes base64 or base64url (Node accepts both) and applies the 1 MiB cap. Node skips
 * characters outside the alphabet, so a decoded length short of what the text's length implies
 * means the text was not base64: the same check as a regex, without a second pass over 1.4 MB
 * on the event loop.
 */
function decodeData(text: string): Result<Buffer, 'keys.data_too_large' | 'platform.bad_request'> {
  const data = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const unpadded = text.length - padding;
  if (unpadded % 4 === 1 || data.length !== Math.floor((unpadded * 3) / 4)) {
    return fail('platform.bad_request', 'invalid request body: $.data: must be base64 or base64url', [{ path: '$.data', message: 'must be base64 or base64url' }]);
  }
  return data.length <= SIGN_DATA_BYTES_MAX ? ok(data) : fail('keys.data_too_large', `sign and verify take at most ${SIGN_DATA_BYTES_MAX} bytes of data (got ${data.length}); hash larger messages first`);
}

function versionParam(call: PlatformCall): Result<number | undefined, 'keys.invalid_version'> {
  const text = call.url.searchParams.get('version');
  if (text === null) return ok(undefined);
  return /^[1-9]\d{0,8}$/.test(text) ? ok(Number(text)) : fail('keys.invalid_version', `version must be a positive integer (got ${JSON.stringify(text)})`);
}

/** `keys`: Ed25519 keys that sign and verify but never leave the host (CONTRACT §5). */
export function createKeysCapability(service: KeysService) {
  const name = (call: PlatformCall) => call.params.name ?? '';
  return {
    name: 'keys',
    routes: {
      'GET /v1/keys': (call) => ok({ keys: service.list(call.appId) }),
      'POST /v1/keys/:name': (call) => service.create(call.appId, name(call)),
      'POST /v1/keys/:name/get-or-create': (call) => service.getOrCreate(call.appId, name(call)),
      'GET /v1/keys/:name': (call) => {
        const version = versionParam(call);
        return version.ok ? service.get(call.appId, name(call), version.value) : version;
      },
      'POST /v1/keys/:name/sign': (call) => {
        const body = parseBody(call, signSchema);
        if (!body.ok) return body;
        const data = decodeData(body.value.data);
        return data.ok ? service.sign(call.appId, name(call), data.value) : data;
      },
      'POST /v1/keys/:name/verify': (call) => {
        const body = parseBody(call, verifySchema);
        if (!body.ok) return body;
        const data = decodeData(body.value.data);
        if (!data.ok) return data;
        return service.verify(call.appId, name(call), data.value, Buffer.from(body.value.signature, 'base64'), body.value.version);
      },
      'POST /v1/keys/:name/rotate': (call) => service.rotate(call.appId, name(call)),
      'DELETE /v1/keys/:name': (call) => {
        const version = versionParam(call);
        return version.ok ? service.delete(call.appId, name(call), version.value) : version;
      },
    },
  } satisfies Capability;
}

/** The whole vertical: its tables, its service, its routes, its admin route, and what uninstall removes. */
export function createKeys(deps: { readonly db: ControlPlane; readonly keyring: Keyring; readonly now: () => number }) {
  applyTables(deps.db, KEYS_TABLES);
  const service = createKeysService(deps.db, deps.keyring, deps.now);
  return {
    ...createKeysCapability(service),
    tables: KEYS_TABLES,
    errors: KEYS_ERRORS,
    removeApp: (appId, { keepData }) => { if (!keepData) service.removeApp(appId); },
    close: () => service.flushAudit(),
    admin: {
      // `plinth logs --audit`; the admin API has checked the app exists.
      'GET apps/:id/audit': ({ url, id }) => {
        const asked = Number(url.searchParams.get('limit') ?? AUDIT_PAGE_ROWS_MAX) || AUDIT_PAGE_ROWS_MAX;
        return ok({ audit: service.audit(id ?? '', Math.min(Math.max(asked, 1), AUDIT_PAGE_ROWS_MAX)) });
      },
    },
  } satisfies Capability;
}
export type Keys = ReturnType<typeof createKeys>;
