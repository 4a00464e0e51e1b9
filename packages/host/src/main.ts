import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import workerd from 'workerd';
import { pino, type Logger } from 'pino';
import { createAppRegistry } from './apps/app-registry.js';
import { appPaths, createInstaller } from './apps/installer.js';
import { createUpdater } from './apps/updater.js';
import { createAssetServer } from './capabilities/assets/index.js';
import { createAlarmsVertical } from './capabilities/alarms/index.js';
import type { Capability } from './capabilities/capability.js';
import { createInfoCapability } from './capabilities/info/index.js';
import { createKeys } from './capabilities/keys/index.js';
import { createLocalBlobStore, createObjects, createRemoteBlobStore, objectsAdminRoutes, s3PortEndpoint } from './capabilities/objects/index.js';
import { createSecrets } from './capabilities/secrets/index.js';
import { createSql, holdSqlDuringUpdate } from './capabilities/sql/index.js';
import { createSockets } from './capabilities/sockets/index.js';
import { openKeyring } from './keyring/keyring.js';
import type { Config } from './config.js';
import { createAdminApi } from './http/admin-api.js';
import { createAppProxy } from './http/app-proxy.js';
import { createClientIpResolver } from './http/client-ip.js';
import { createConsole } from './http/console.js';
import { createEgressVertical } from './capabilities/egress/index.js';
import { createFrontDoor, createS3Door } from './http/front-door.js';
import { requestUrl } from './http/respond.js';
import { loadIdentitySigner } from './identity/identity-signer.js';
import { firstAdminSignInLink } from './identity/first-admin.js';
import { createIdentityRoutes } from './identity/routes.js';
import { createSessionStore } from './identity/sessions.js';
import { newSecret } from './identity/tokens.js';
import { createUserStore } from './identity/users.js';
import { createPlatformApi } from './platform/platform-api.js';
import { detectIsolation } from './runtime/app-process.js';
import { createAppLogs } from './runtime/app-logs.js';
import { createSupervisor } from './runtime/supervisor.js';
import { openControlPlane } from './store/control-plane.js';

/** In-flight requests get this long to finish on shutdown before their connections are cut. */
const SHUTDOWN_DRAIN_MS = 10_000;
/** Expired sign-ins, codes and tokens are deleted this often; they are refused on sight anyway. */
const SESSION_PURGE_MS = 3600_000;

/** The front door's two entry points into an app: requests and WebSocket upgrades. */
function appRoutes(proxy: ReturnType<typeof createAppProxy>) {
  return { app: proxy.handleApp, appUpgrade: proxy.handleUpgrade };
}

/** The operator's credential for the admin API: from PLINTH_ADMIN_TOKEN, else `<data>/admin.token` (0600). */
function adminToken(dataDir: string, env: NodeJS.ProcessEnv): string {
  if (env.PLINTH_ADMIN_TOKEN) return env.PLINTH_ADMIN_TOKEN;
  const path = join(dataDir, 'admin.token');
  if (!existsSync(path)) writeFileSync(path, `${newSecret('pladm_')}\n`, { mode: 0o600, flag: 'wx' });
  return readFileSync(path, 'utf8').trim();
}

/**
 * One capability's part of an uninstall. The installer's hook is synchronous: a removal that
 * finishes later (deleting object files) is logged if it fails, and the uninstall has answered.
 */
function removeFrom(capability: Capability, appId: string, keepData: boolean, log: Logger): void {
  const removing = capability.removeApp?.(appId, { keepData });
  removing?.catch((error: unknown) => log.error({ err: error, appId }, `${capability.name}: removing the app's data failed`));
}

/** The composition root: builds each part with explicit dependencies, then starts serving. */
export async function startDaemon(config: Config, env: NodeJS.ProcessEnv, log: Logger = pino({ level: env.PLINTH_LOG_LEVEL ?? 'info' })) {
  const now = () => Date.now();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const firstStart = !existsSync(join(config.dataDir, 'control.db'));
  const db = openControlPlane(join(config.dataDir, 'control.db'));
  const users = createUserStore(db, now);
  const sessions = createSessionStore(db, now);
  const signer = await loadIdentitySigner(join(config.dataDir, 'identity-key.json'), config.baseUrl.origin, now);
  const logs = createAppLogs((appId) => appPaths(config.dataDir, appId).logs, now);
  const appUrl = (appId: string) => `${config.baseUrl.protocol}//${appId}.${config.baseHost}`;

  const registry = createAppRegistry(db, now);
  const info = createInfoCapability(signer.jwks, (appId) => {
    const app = registry.get(appId);
    return app && { appId, version: app.version, installationId: app.installationId, appUrl: appUrl(appId), baseUrl: config.baseUrl.origin };
  });
  const keyring = openKeyring(db, { file: join(config.dataDir, 'root.key'), env: env.PLINTH_ROOT_KEY }, now);
  const secrets = createSecrets({ db, keyring, now });
  const keys = createKeys({ db, keyring, now });
  const isolation = detectIsolation(config.isolation);
  const platformEvent = (appId: string, text: string) => logs.append(appId, 'platform', text);
  // sql and objects share one storage quota, so each asks the other; the supervisor calls into
  // capabilities and capabilities call apps through it. Those closures run only once serving.
  const sql = createSql({
    sqlDirOf: (appId) => join(appPaths(config.dataDir, appId).data, 'sql'), isolation, now, event: platformEvent,
    storageBytesMax: config.appStorageBytesMax, objectBytes: (appId) => objects.storedBytes(appId),
  });
  const sockets = createSockets({
    callApp: (appId, path, body, timeoutMs, answerBytesMax) => supervisor.callBytes(appId, path, body, timeoutMs, answerBytesMax),
    socketsMax: (appId) => supervisor.deployment(appId)?.manifest.limits.sockets ?? 0,
    messageBytesMax: config.socketMessageBytesMax, log, now, event: platformEvent,
  });
  const objectsDirOf = (appId: string) => join(appPaths(config.dataDir, appId).data, 'objects');
  const objectsHostEndpoint = new URL(`${config.baseUrl.protocol}//s3.${config.baseHost}`);
  const objects = createObjects({
    db, keyring, objectsDirOf, now, appExists: (appId) => registry.get(appId) !== undefined,
    blobs: config.s3Backend ? createRemoteBlobStore(config.s3Backend, join(config.dataDir, 'spool')) : createLocalBlobStore(objectsDirOf),
    endpoint: objectsHostEndpoint, idleTimeoutMs: config.s3IdleTimeoutMs,
    onBug: (appId, error) => log.error({ err: error, appId }, 'objects: unexpected error'),
    storageBytesMax: config.appStorageBytesMax, sqlBytes: sql.service.sqlBytes,
  });
  const alarms = createAlarmsVertical({ db, now, callApp: (appId, path, body, timeoutMs) => supervisor.call(appId, path, body, timeoutMs), event: platformEvent });
  const platformPorts = new Set<number>();
  const egress = createEgressVertical({
    allowPrivate: config.egressAllowPrivate, platformPorts, outboundOf: (appId) => supervisor.deployment(appId)?.manifest.outbound,
    timeoutMs: config.egressTimeoutMs, responseBytesMax: config.egressResponseBytesMax,
  });
  /** Every capability, in the order they were built; start, uninstall and stop walk this list. */
  const capabilities: readonly Capability[] = [info, secrets, keys, sql.capability, sockets.capability, alarms.capability, objects.capability, egress.capability];
  const platformApi = createPlatformApi(
    capabilities,
    (appId, error) => log.error({ err: error, appId }, 'platform API bug'),
    holdSqlDuringUpdate((appId) => updater.heldUntil(appId)),
  );
  const supervisor = createSupervisor({
    runRoot: join(config.dataDir, 'run'), isolation, workerdBinary: workerd.default, idleStopMs: config.idleStopMs, logs, now,
    platformHandler: platformApi,
    egressHandler: (appId, req, res) => egress.proxy.handle(appId, req, res),
    onProcessExit: (appId) => sql.service.appStopped(appId),
  });
  const installer = createInstaller({
    db, registry, dataDir: config.dataDir, supervisor, now, ceilings: config.appCeilings,
    updating: (appId) => updater.isRunning(appId),
    onUninstall: (appId, keepData) => {
      sessions.removeForApp(appId);
      for (const capability of capabilities) removeFrom(capability, appId, keepData, log);
      // Last: the data key seals the secrets, keys and object credentials removed above.
      if (!keepData) keyring.destroy(appId);
    },
  });
  const updater = createUpdater({
    db, dataDir: config.dataDir, registry, supervisor, snapshots: sql.service, now, failpoint: env.PLINTH_FAILPOINT,
    afterUpdateTimeoutMs: config.afterUpdateTimeoutMs, ceilings: config.appCeilings, event: platformEvent,
    changing: installer.changing,
  });
  await updater.recover();
  for (const failure of await installer.loadAll()) log.error(failure, 'an installed app could not be loaded; it answers 404 until `plinth uninstall <app> --keep-data` and a fresh install');

  const clientIp = createClientIpResolver(config.trustedProxies);
  const identity = createIdentityRoutes({ users, sessions, signer, baseUrl: config.baseUrl, appName: (id) => registry.get(id)?.name, clientIp, now });
  // The S3 port listens before the admin API is made, so that `--s3-port 0` has its real port to report.
  const s3Door = config.s3Port === undefined ? undefined : createS3Door(objects.handleEndpoint, log);
  const s3Port = await s3Door?.listen(config.s3Port!, config.listenHost);
  if (s3Port !== undefined) platformPorts.add(s3Port);
  const objectsEndpoint = s3Port === undefined ? objectsHostEndpoint : s3PortEndpoint(config.listenHost, config.baseUrl, s3Port);
  const admin = createAdminApi({
    adminToken: adminToken(config.dataDir, env), installer, updater, registry, egress: egress.proxy, sockets: sockets.service, alarms: alarms.alarms,
    keyring, supervisor, users, sessions, logs, appUrl,
    capabilityRoutes: Object.assign({}, ...capabilities.map((c) => c.admin ?? {}), objectsAdminRoutes(objects, objectsEndpoint)),
  });
  const frontDoor = createFrontDoor({
    baseHost: config.baseHost, baseOrigin: config.baseUrl.origin, log, appExists: (id) => supervisor.has(id),
    console: createConsole({ identity, admin, registry, appUrl }),
    admin: (req, res) => admin(req, res, requestUrl(req)),
    s3: objects.handleEndpoint,
    ...appRoutes(createAppProxy({
      supervisor, sessions, users, signer, sockets: sockets.service, baseUrl: config.baseUrl, clientIp,
      assets: createAssetServer({ event: platformEvent }),
      event: platformEvent,
    })),
  });
  const port = await frontDoor.listen(config.port, config.listenHost);
  platformPorts.add(port);
  for (const capability of capabilities) capability.start?.();
  const purgeTimer = setInterval(() => sessions.purgeExpired(), SESSION_PURGE_MS);
  purgeTimer.unref();
  log.info({ port, baseUrl: config.baseUrl.origin, isolation, data: config.dataDir }, 'plinth is serving');

  return {
    port, s3Port, firstStart, installer, registry, users, supervisor,
    /** A single-use link that signs the first admin in; created with that admin on first start. */
    adminSignInLink: () => firstAdminSignInLink(users, sessions, config.baseUrl.origin),
    async stop(): Promise<void> {
      log.info('plinth is stopping: draining requests');
      clearInterval(purgeTimer);
      for (const capability of capabilities) capability.beforeDrain?.();
      await Promise.all([frontDoor.close(SHUTDOWN_DRAIN_MS), s3Door?.close(SHUTDOWN_DRAIN_MS)]);
      await supervisor.stopAll();
      for (const capability of capabilities) await capability.close?.();
      db.close();
    },
  };
}
export type Daemon = Awaited<ReturnType<typeof startDaemon>>;
