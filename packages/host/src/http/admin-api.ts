import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { PACKAGE_BYTES_MAX } from '../apps/limits.js';
import type { AppRegistry } from '../apps/app-registry.js';
import type { EgressProxy } from '../capabilities/egress/index.js';
import type { SocketsService } from '../capabilities/sockets/index.js';
import type { Alarms } from '../capabilities/alarms/index.js';
import type { AdminCall, AdminRouteHandler } from '../capabilities/capability.js';
import { RootKeyError, type Keyring } from '../keyring/keyring.js';
import type { Installer } from '../apps/installer.js';
import type { Updater } from '../apps/updater.js';
import { BEARER_TOKEN_MS } from '../identity/limits.js';
import type { SessionStore } from '../identity/sessions.js';
import { emailSchema, newUserSchema, type UserStore } from '../identity/users.js';
import type { AppLogs } from '../runtime/app-logs.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { PlinthError } from '../support/result.js';
import { readBody, sendError, sendJson } from './respond.js';

/** JSON bodies of the admin API are small records; packages are the only large upload. */
const ADMIN_JSON_BYTES_MAX = 64 * 1024;
/** `plinth logs` shows this many lines unless told otherwise; the cap bounds one response. */
const LOG_LINES_DEFAULT = 200;
const LOG_LINES_MAX = 10_000;

export interface AdminApiDeps {
  readonly adminToken: string;
  readonly installer: Installer;
  readonly updater: Updater;
  readonly registry: AppRegistry;
  readonly egress: EgressProxy;
  readonly sockets: Pick<SocketsService, 'stats'>;
  readonly alarms: Pick<Alarms, 'get'>;
  /** Each capability's admin routes (Capability.admin), all under `apps/:id/`: the app is checked to exist first. */
  readonly capabilityRoutes: Readonly<Record<string, AdminRouteHandler>>;
  readonly keyring: Keyring;
  readonly supervisor: Supervisor;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly logs: AppLogs;
  readonly appUrl: (appId: string) => string;
}

/** A route of the admin API's own: it writes its answer. */
type OwnRoute = (call: AdminCall) => Promise<void> | void;

const tokenRequestSchema = z.object({ user: emailSchema, app: z.string().min(1).max(64) });
const revokeSchema = z.object({ token: z.string().min(1).max(256) });

const appNotFound = (appId: string): PlinthError => ({ code: 'app.not_found', message: `no app ${appId} is installed` });

const nullableIso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function invalid(error: z.ZodError): PlinthError {
  const details = error.issues.map((i) => ({ path: `$${i.path.map((p) => `.${String(p)}`).join('')}`, message: i.message }));
  return { code: 'http.bad_request', message: details.map((d) => `${d.path}: ${d.message}`).join('; '), details };
}

/** The operator's API under `/api/admin/`, used by the `plinth` CLI; every call needs the admin token. */
export function createAdminApi(deps: AdminApiDeps) {
  const expected = digest(deps.adminToken);
  const authorized = (req: IncomingMessage) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    // Comparing digests keeps the comparison constant-time whatever the length sent.
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };

  async function json<T>(req: IncomingMessage, res: ServerResponse, schema: z.ZodType<T>): Promise<T | undefined> {
    const body = await readBody(req, ADMIN_JSON_BYTES_MAX);
    if (!body) return void sendError(res, { code: 'http.body_too_large', message: `request body is over ${ADMIN_JSON_BYTES_MAX} bytes` });
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return void sendError(res, { code: 'http.bad_request', message: 'request body is not valid JSON' });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) return void sendError(res, invalid(parsed.error));
    return parsed.data;
  }

  function appView(appId: string) {
    const app = deps.registry.get(appId);
    return app && { id: app.id, name: app.name, version: app.version, installationId: app.installationId, signer: app.signer, installedAt: app.installedAt, url: deps.appUrl(app.id), runtime: deps.supervisor.status(app.id) ?? null, egress: deps.egress.usage(app.id), sockets: deps.sockets.stats(app.id), nextAlarm: nullableIso(deps.alarms.get(app.id)) };
  }

  async function install(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, PACKAGE_BYTES_MAX);
    if (!body) return sendError(res, { code: 'package.too_large', message: `a package is at most ${PACKAGE_BYTES_MAX} bytes` });
    const result = await deps.installer.install(body);
    if (!result.ok) return sendError(res, result.error);
    sendJson(res, 201, appView(result.value.id));
  }

  function followLogs(req: IncomingMessage, res: ServerResponse, appId: string, lines: number): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    for (const line of deps.logs.tail(appId, lines)) res.write(`${JSON.stringify(line)}\n`);
    const unsubscribe = deps.logs.subscribe(appId, (line) => res.write(`${JSON.stringify(line)}\n`));
    req.socket.once('close', unsubscribe);
  }

  const ok200 = (res: ServerResponse, result: { ok: true; value: unknown } | { ok: false; error: PlinthError }, status = 200) =>
    (result.ok ? sendJson(res, status, result.value) : sendError(res, result.error));

  /** Installed apps: list, install, inspect, uninstall and their console output. */
  const appRoutes: Record<string, OwnRoute> = {
    'GET apps': ({ res }) => sendJson(res, 200, { apps: deps.registry.list().map((a) => appView(a.id)) }),
    'POST apps': ({ req, res }) => install(req, res),
    'GET apps/:id': ({ res, id }) => {
      const view = appView(id!);
      return view ? sendJson(res, 200, view) : sendError(res, appNotFound(id!));
    },
    'DELETE apps/:id': async ({ res, url, id }) => ok200(res, await deps.installer.uninstall(id!, url.searchParams.get('keepData') === 'true')),
    'GET apps/:id/logs': ({ req, res, url, id }) => {
      if (!deps.registry.get(id!)) return sendError(res, appNotFound(id!));
      const lines = Math.min(Math.max(Number(url.searchParams.get('lines') ?? LOG_LINES_DEFAULT) || LOG_LINES_DEFAULT, 1), LOG_LINES_MAX);
      if (url.searchParams.get('follow') === 'true') return followLogs(req, res, id!, lines);
      return sendJson(res, 200, { lines: deps.logs.tail(id!, lines) });
    },
  };

  /** Gated updates and rollbacks (apps/updater.ts). */
  const updateRoutes: Record<string, OwnRoute> = {
    'POST apps/:id/updates': async ({ req, res, url, id }) => {
      const body = await readBody(req, PACKAGE_BYTES_MAX);
      if (!body) return sendError(res, { code: 'package.too_large', message: `a package is at most ${PACKAGE_BYTES_MAX} bytes` });
      return ok200(res, await deps.updater.update(id!, body, url.searchParams.get('allowDowngrade') === 'true'));
    },
    'GET apps/:id/updates': ({ res, id }) => {
      if (!deps.registry.get(id!)) return sendError(res, appNotFound(id!));
      return sendJson(res, 200, { history: deps.updater.history(id!) });
    },
    'POST apps/:id/rollbacks': async ({ res, id }) => ok200(res, await deps.updater.rollback(id!)),
    'POST root-key-rotations': ({ res }) => {
      try {
        return sendJson(res, 200, deps.keyring.rotateRootKey());
      } catch (error) {
        if (error instanceof RootKeyError) return sendError(res, { code: 'keyring.rotation_unavailable', message: error.message });
        throw error;
      }
    },
  };

  /** Console users and the bearer tokens an operator hands out. */
  const identityRoutes: Record<string, OwnRoute> = {
    'GET users': ({ res }) => sendJson(res, 200, { users: deps.users.list() }),
    'POST users': async ({ req, res }) => {
      const input = await json(req, res, newUserSchema);
      if (input) ok200(res, await deps.users.add(input), 201);
    },
    'POST tokens': async ({ req, res }) => {
      const input = await json(req, res, tokenRequestSchema);
      if (!input) return;
      const user = deps.users.findByEmail(input.user);
      if (!user) return sendError(res, { code: 'users.not_found', message: `no user has email ${input.user}` });
      if (!deps.registry.get(input.app)) return sendError(res, appNotFound(input.app));
      const token = deps.sessions.issue('bearer', user.id, BEARER_TOKEN_MS, { appId: input.app });
      return sendJson(res, 201, { token, user: user.email, app: input.app, expiresInDays: Math.round(BEARER_TOKEN_MS / 86_400_000) });
    },
    'DELETE tokens': async ({ req, res }) => {
      const input = await json(req, res, revokeSchema);
      if (!input) return;
      if (!deps.sessions.find('bearer', input.token)) return sendError(res, { code: 'auth.token_not_found', message: 'no live bearer token matches' });
      deps.sessions.revoke(input.token);
      return sendJson(res, 200, { revoked: true });
    },
  };

  /** A capability's route runs for an installed app only, and answers JSON or an error. */
  const capabilityRoutes = Object.fromEntries(Object.entries(deps.capabilityRoutes).map(([key, handler]): [string, OwnRoute] => [key, async (call) => {
    if (!deps.registry.get(call.id!)) return sendError(call.res, appNotFound(call.id!));
    ok200(call.res, await handler(call));
  }]));

  const routes: Readonly<Record<string, OwnRoute>> = { ...appRoutes, ...updateRoutes, ...identityRoutes, ...capabilityRoutes };

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const [resource, id, sub] = url.pathname.split('/').slice(3).map(decodeURIComponent);
    const key = `${req.method} ${resource ?? ''}${id !== undefined ? '/:id' : ''}${sub ? `/${sub}` : ''}`;
    const handler = routes[key];
    if (!handler) return sendError(res, { code: 'http.not_found', message: `${req.method} ${url.pathname} is not an admin API route` });
    await handler({ req, res, url, id });
  }

  return async function handleAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!authorized(req)) {
      return sendError(res, { code: 'admin.unauthorized', message: 'send the admin token from <data>/admin.token as `Authorization: Bearer <token>`' });
    }
    await route(req, res, url);
  };
}
