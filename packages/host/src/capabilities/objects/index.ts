import { isIPv6 } from 'node:net';
import { z } from 'zod';
import type { Keyring } from '../../keyring/keyring.js';
import { applyTables, type ControlPlane } from '../../store/control-plane.js';
import { fail, ok, type Result } from '../../support/result.js';
import type { Capability, PlatformCall } from '../capability.js';
import { parseBody } from '../parse-body.js';
import type { BlobStore } from './blob-store.js';
import { createCredentialStore } from './credentials.js';
import { abiCode, OBJECTS_ERRORS, S3Error } from './errors.js';
import { LIST_KEYS_MAX, OBJECTS_REGION, PRESIGN_SECONDS_DEFAULT, PRESIGN_SECONDS_MAX } from './limits.js';
import { presignUrl } from './presign.js';
import { ABI_PREFIX, createS3Api } from './s3-api.js';
import { checkKey, createObjectsService } from './service.js';
import { OBJECTS_TABLES } from './store.js';

export { createLocalBlobStore, type BlobStore } from './blob-store.js';
export { createRemoteBlobStore, parseS3Backend } from './remote-blob-store.js';
export { OBJECTS_ERRORS, type S3ErrorCode } from './errors.js';
export { objectsAdminRoutes } from './admin.js';

export interface ObjectsDeps {
  readonly db: ControlPlane;
  readonly keyring: Keyring;
  readonly blobs: BlobStore;
  readonly objectsDirOf: (appId: string) => string;
  /** Where S3 clients reach the store: `http://s3.<base host>`. */
  readonly endpoint: URL;
  /** See Config.s3IdleTimeoutMs. */
  readonly idleTimeoutMs: number;
  readonly now: () => number;
  /** Credentials of an app uninstalled with --keep-data stay stored but stop working. */
  readonly appExists: (appId: string) => boolean;
  readonly onBug: (appId: string | undefined, error: unknown) => void;
  /** Bytes an app's objects and SQL databases may hold together. */
  readonly storageBytesMax: number;
  /** What the app's SQL databases hold now; they share the quota. */
  readonly sqlBytes: (appId: string) => number;
}

/**
 * The `--s3-port` listener's endpoint for S3 tools: the address it listens on, or the base URL's
 * host name when that is every interface. Tools other than browsers and curl do not resolve
 * `s3.localhost`, and an operator sets the port for them.
 */
export function s3PortEndpoint(listenHost: string, baseUrl: URL, port: number): URL {
  const everyInterface = listenHost === '0.0.0.0' || listenHost === '::';
  const host = everyInterface ? baseUrl.hostname : isIPv6(listenHost) ? `[${listenHost}]` : listenHost;
  return new URL(`http://${host}:${port}`);
}

/** Runs a service call, turning S3Error into the ABI's `objects.*` error. */
function attempt<T>(fn: () => T): Result<T> {
  try {
    return ok(fn());
  } catch (error) {
    if (error instanceof S3Error) return fail(abiCode(error.code), error.message);
    throw error;
  }
}

const presignSchema = z.object({
  key: z.string().min(1),
  method: z.enum(['GET', 'PUT', 'HEAD', 'DELETE']),
  expiresIn: z.number().int().min(1).max(PRESIGN_SECONDS_MAX).default(PRESIGN_SECONDS_DEFAULT),
  contentType: z.string().min(1).max(256).optional(),
  contentLength: z.number().int().min(0).optional(),
}).strict();
const deleteSchema = z.object({ keys: z.array(z.string().min(1)).min(1).max(LIST_KEYS_MAX) }).strict();

/** The S3-compatible object store: the endpoint, the ABI and the per-app credentials (CONTRACT §1, §5). */
export function createObjects(deps: ObjectsDeps) {
  applyTables(deps.db, OBJECTS_TABLES);
  const credentials = createCredentialStore(deps.db, deps.keyring, deps.now);
  const service = createObjectsService({
    objectsDirOf: deps.objectsDirOf, blobs: deps.blobs, now: deps.now, onError: deps.onBug, storageBytesMax: deps.storageBytesMax, sqlBytes: deps.sqlBytes,
  });
  const lookup = (accessKeyId: string) => {
    const found = credentials.lookup(accessKeyId);
    return found && deps.appExists(found.appId) ? found : undefined;
  };
  const s3 = createS3Api({ service, lookup, region: OBJECTS_REGION, idleTimeoutMs: deps.idleTimeoutMs, now: deps.now, onBug: (error) => deps.onBug(undefined, error) });
  const bucket = (call: PlatformCall) => call.params.bucket ?? '';
  /** A change is answered once it is on disk. */
  const durably = async <T>(appId: string, result: Result<T>): Promise<Result<T>> => {
    if (result.ok) await service.durable(appId);
    return result;
  };
  const credentialsFor = (appId: string, endpoint = deps.endpoint) => ({ endpoint: endpoint.origin, region: OBJECTS_REGION, ...credentials.getOrCreate(appId) });

  const capability = {
    name: 'objects',
    routes: {
      'GET /v1/objects/credentials': (call) => ok(credentialsFor(call.appId)),
      'GET /v1/objects/buckets': (call) => attempt(() => ({ buckets: service.listBuckets(call.appId).map((b) => ({ name: b.name, created: new Date(b.created).toISOString() })) })),
      'PUT /v1/objects/buckets/:bucket': (call) => durably(call.appId, attempt(() => (service.createBucket(call.appId, bucket(call)), { name: bucket(call) }))),
      'DELETE /v1/objects/buckets/:bucket': (call) => durably(call.appId, attempt(() => (service.deleteBucket(call.appId, bucket(call)), {}))),
      'GET /v1/objects/buckets/:bucket/objects': (call) => {
        const q = call.url.searchParams;
        const limitText = q.get('limit');
        if (limitText !== null && !(/^\d{1,4}$/.test(limitText) && Number(limitText) >= 1 && Number(limitText) <= LIST_KEYS_MAX)) {
          return fail('platform.bad_request', `limit must be an integer from 1 to ${LIST_KEYS_MAX} (got ${JSON.stringify(limitText.slice(0, 20))})`);
        }
        const limit = limitText === null ? LIST_KEYS_MAX : Number(limitText);
        const cursor = q.get('cursor');
        return attempt(() => {
        const listing = service.list(call.appId, bucket(call), {
          prefix: q.get('prefix') ?? '', delimiter: q.get('delimiter') ?? '', maxKeys: limit,
          after: cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : (q.get('startAfter') ?? ''),
        });
        return {
          objects: listing.objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag, uploaded: new Date(o.lastModified).toISOString(), ...o.headers, metadata: o.metadata })),
          prefixes: listing.commonPrefixes, truncated: listing.truncated,
          ...(listing.truncated && listing.last !== undefined ? { cursor: Buffer.from(listing.last).toString('base64url') } : {}),
        };
        });
      },
      'POST /v1/objects/buckets/:bucket/delete': (call) => {
        const body = parseBody(call, deleteSchema);
        if (!body.ok) return body;
        return durably(call.appId, attempt(() => {
          for (const key of body.value.keys) service.delete(call.appId, bucket(call), key);
          return { deleted: body.value.keys };
        }));
      },
      'POST /v1/objects/buckets/:bucket/presign': async (call) => {
        const body = parseBody(call, presignSchema);
        if (!body.ok) return body;
        const checked = attempt(() => {
          service.checkBucket(call.appId, bucket(call));
          checkKey(body.value.key);
        });
        if (!checked.ok) return checked;
        const signingDate = new Date(deps.now());
        const url = await presignUrl({
          endpoint: deps.endpoint, region: OBJECTS_REGION, credentials: credentials.getOrCreate(call.appId), bucket: bucket(call), signingDate,
          key: body.value.key, method: body.value.method, expiresIn: body.value.expiresIn,
          ...(body.value.contentType !== undefined ? { contentType: body.value.contentType } : {}),
          ...(body.value.contentLength !== undefined ? { contentLength: body.value.contentLength } : {}),
        });
        return ok({ url, expiresAt: new Date(signingDate.getTime() + body.value.expiresIn * 1000).toISOString() });
      },
    },
    stream: { prefix: ABI_PREFIX, handle: s3.handleAbi },
    tables: OBJECTS_TABLES,
    errors: OBJECTS_ERRORS,
    /** Kept data keeps its credentials, stored but refused until a reinstall (see ObjectsDeps.appExists). */
    async removeApp(appId: string, { keepData }: { readonly keepData: boolean }): Promise<void> {
      if (keepData) return;
      credentials.removeApp(appId);
      await service.removeApp(appId);
    },
    close: service.close,
  } satisfies Capability;

  return {
    capability,
    handleEndpoint: s3.handleEndpoint,
    /** For the operator: `endpoint` is where their S3 tools are to go (the S3 port, when there is one). */
    credentials: (appId: string, endpoint: URL) => credentialsFor(appId, endpoint),
    rotateCredentials: (appId: string, endpoint: URL) => ({ endpoint: endpoint.origin, region: OBJECTS_REGION, ...credentials.rotate(appId) }),
    usage: service.usage,
    storedBytes: service.storedBytes,
  };
}
export type Objects = ReturnType<typeof createObjects>;
