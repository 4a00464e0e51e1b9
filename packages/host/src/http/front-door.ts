import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Logger } from 'pino';
import { APP_ID_PATTERN } from '../apps/manifest.js';
import { notFoundPage } from './pages.js';
import { requestUrl, sendError, sendHtml, wantsHtml, writeRawError } from './respond.js';
import type { Duplex } from 'node:stream';

export type HostHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface FrontDoorDeps {
  /** The console's host, e.g. `localhost:8080`; apps live at `<app>.<baseHost>`. */
  readonly baseHost: string;
  /** The console's origin, named in the answer on hosts that are neither the console nor an app. */
  readonly baseOrigin: string;
  readonly console: HostHandler;
  /** The admin API (`/api/admin/`), also reached through the console. */
  readonly admin: HostHandler;
  readonly app: (req: IncomingMessage, res: ServerResponse, appId: string) => Promise<void>;
  readonly appExists: (appId: string) => boolean;
  readonly appUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, appId: string) => Promise<void>;
  /**
   * The S3 endpoint at `s3.<baseHost>`; `<bucket>.s3.<baseHost>` passes the bucket (virtual-hosted
   * style). It gets requests with any `Expect` too: it sends `100 Continue` itself once the request is
   * authenticated, and treats other expectations as none (S3 answers them, where Node would say 417).
   */
  readonly s3: (req: IncomingMessage, res: ServerResponse, virtualBucket: string | undefined) => Promise<void>;
  readonly log: Logger;
}

/** Listening and draining, shared by the front door and the S3 port. */
function lifecycle(server: Server) {
  return {
    listen(port: number, host: string): Promise<number> {
      return new Promise((resolve, reject) => {
        server.once('error', reject).listen(port, host, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    /** Stops accepting, lets in-flight requests finish for up to `drainMs`, then closes what is left. */
    async close(drainMs: number): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(deadline);
    },
  };
}

/**
 * A response without Node's `Keep-Alive: timeout=5` header, as nginx answers by default: HTTP/1.1
 * does not define that header (RFC 9112 keeps only `Connection`), and checkers such as REDbot flag
 * it. Node has no option for it, so the flag its header writer reads is cleared; the front-door
 * test checks the header stays away on every kind of response.
 */
class ResponseWithoutKeepAliveHint extends ServerResponse {
  constructor(req: IncomingMessage) {
    super(req);
    (this as unknown as { _defaultKeepAlive: boolean })._defaultKeepAlive = false;
  }
}

// Object uploads may take longer than Node's 5-minute default for a whole request; headersTimeout still bounds slow headers.
const SERVER_OPTIONS = { keepAliveTimeout: 5_000, requestTimeout: 0, ServerResponse: ResponseWithoutKeepAliveHint };

/** `--s3-port`: the S3 API path-style for any Host, for tools that address the server by IP. */
export function createS3Door(handle: FrontDoorDeps['s3'], log: Logger) {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, undefined).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 's3 port: unhandled error');
      res.destroy();
    });
  };
  const server = createServer(SERVER_OPTIONS, onRequest);
  // The S3 API answers Expect itself (see FrontDoorDeps.s3), instead of Node's 100 and 417.
  server.on('checkContinue', onRequest).on('checkExpectation', onRequest);
  return { server, ...lifecycle(server) };
}


/** Console paths whose GET spends a one-time code: a link checker's HEAD must not use it up. */
const ONE_TIME_CODE_PATHS = new Set(['/login/link']);

/**
 * The platform's own routes answer HEAD as GET without a body (RFC 9110 §9.3.2). Node's response
 * already drops the body of a HEAD request, so the routes only need to see GET. Returns false
 * when it answered itself.
 */
function headAsGet(req: IncomingMessage, res: ServerResponse, onConsole: boolean): boolean {
  if (req.method !== 'HEAD') return true;
  const { pathname } = requestUrl(req);
  if (onConsole && ONE_TIME_CODE_PATHS.has(pathname)) {
    sendError(res, { code: 'http.method_not_allowed', message: `HEAD ${pathname} would spend its one-time code; use GET` }, { allow: 'GET' });
    return false;
  }
  req.method = 'GET';
  return true;
}

/** Routes by Host: the console on the base host, each app on its own subdomain, a 404 page for the rest. */
export function createFrontDoor(deps: FrontDoorDeps) {
  const appSuffix = `.${deps.baseHost}`;
  const s3Host = `s3.${deps.baseHost}`;
  const s3Suffix = `.${s3Host}`;
  const inFlight = new Set<ServerResponse>();

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = (req.headers.host ?? '').toLowerCase();
    if (host === s3Host) return deps.s3(req, res, undefined);
    if (host.endsWith(s3Suffix)) return deps.s3(req, res, host.slice(0, -s3Suffix.length));
    const appId = appOf(host);
    if (appId) return deps.app(req, res, appId);
    if (!headAsGet(req, res, host === deps.baseHost)) return;
    if (host === deps.baseHost) return deps.console(req, res);
    // The admin API takes the admin token and never a cookie, so it can answer on any name or
    // address of the daemon (`plinth --url http://127.0.0.1:8080`) without a DNS-rebinding risk.
    // Names under the base host stay the apps', and the console's pages and cookies stay on it.
    if (!host.endsWith(appSuffix) && requestUrl(req).pathname.startsWith('/api/admin/')) return deps.admin(req, res);
    if (wantsHtml(req)) return sendHtml(res, 404, notFoundPage(host));
    sendError(res, { code: 'app.not_found', message: `no app answers at host ${host || '(none)'}; the console is at ${deps.baseOrigin}, and the admin API answers on any address of the daemon` });
  }

  /** The app a Host names, or undefined for the console and unknown hosts. */
  function appOf(host: string): string | undefined {
    if (!host.endsWith(appSuffix)) return undefined;
    const label = host.slice(0, -appSuffix.length);
    return APP_ID_PATTERN.test(label) && deps.appExists(label) ? label : undefined;
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    dispatch(req, res).catch((error: unknown) => {
      deps.log.error({ err: error, url: req.url, host: req.headers.host }, 'front door: unhandled error');
      sendError(res, { code: 'platform.internal', message: 'the platform failed to handle this request' });
    });
  };
  const server: Server = createServer(SERVER_OPTIONS, onRequest);
  // The S3 endpoint answers Expect itself (see FrontDoorDeps.s3); everything else keeps Node's 417.
  const isS3 = (req: IncomingMessage) => {
    const host = (req.headers.host ?? '').toLowerCase();
    return host === s3Host || host.endsWith(s3Suffix);
  };
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!isS3(req)) res.writeContinue();
    onRequest(req, res);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => (isS3(req) ? onRequest(req, res) : void res.writeHead(417).end()));

  // WebSockets go to apps only; the console and unknown hosts refuse the upgrade.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const appId = appOf((req.headers.host ?? '').toLowerCase());
    if (!appId) return writeRawError(socket, { code: 'app.not_found', message: `no app accepts WebSockets at host ${req.headers.host ?? '(none)'}` });
    deps.appUpgrade(req, socket, head, appId).catch((error: unknown) => {
      deps.log.error({ err: error, url: req.url, host: req.headers.host }, 'front door: unhandled upgrade error');
      writeRawError(socket, { code: 'platform.internal', message: 'the platform failed to handle this upgrade' });
    });
  });

  return {
    server,
    ...lifecycle(server),
    inFlightCount: () => inFlight.size,
  };
}
export type FrontDoor = ReturnType<typeof createFrontDoor>;
