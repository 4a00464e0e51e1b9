import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Capability, RouteHandler } from '../capabilities/capability.js';
import { readBody, requestUrl, sendError, sendJson } from '../http/respond.js';

/** One ABI call carries at most this much JSON; bulk data goes through objects. */
const PLATFORM_BODY_BYTES_MAX = 1024 * 1024;

/**
 * The HTTP+JSON ABI served on each app's `platform.sock`. The socket decides
 * the app id, so no request can name another app.
 */
export function createPlatformApi(capabilities: readonly Capability[], onBug: (appId: string, error: unknown) => void) {
  const routes = new Map<string, RouteHandler>();
  for (const capability of capabilities) {
    for (const [key, handler] of Object.entries(capability.routes)) {
      if (routes.has(key)) throw new Error(`route ${key} is declared twice (second by ${capability.name})`);
      routes.set(key, handler);
    }
  }

  return async function handlePlatform(appId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    const handler = routes.get(`${req.method} ${url.pathname}`);
    if (!handler) return sendError(res, { code: 'platform.not_found', message: `${req.method} ${url.pathname} is not part of the platform API` });
    let body: unknown;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const raw = await readBody(req, PLATFORM_BODY_BYTES_MAX);
      if (!raw) return sendError(res, { code: 'platform.body_too_large', message: `a platform API call is at most ${PLATFORM_BODY_BYTES_MAX} bytes` });
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        return sendError(res, { code: 'platform.bad_json', message: 'the request body is not valid JSON' });
      }
    }
    try {
      const result = await handler({ appId, method: req.method ?? 'GET', url, body });
      if (result.ok) sendJson(res, 200, result.value);
      else sendError(res, result.error);
    } catch (error) {
      // A bug, not an expected failure: answer without internals, keep the process up for other apps.
      onBug(appId, error);
      sendError(res, { code: 'platform.internal', message: 'the platform failed to handle this call' });
    }
  };
}
