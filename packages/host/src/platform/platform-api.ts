import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Capability, RouteHandler } from '../capabilities/capability.js';
import type { Slot } from '../runtime/supervisor.js';
import { readBody, requestUrl, sendError, sendJson } from '../http/respond.js';

/** One ABI call carries at most this much JSON: 1 MiB of binary in base64 plus room; bulk data goes through objects. */
export const PLATFORM_BODY_BYTES_MAX = 2 * 1024 * 1024;
/** Longest an update gate holds one of the old version's calls; past it the call fails with 503 and may be retried. */
export const HOLD_MS_MAX = 30_000;

interface Route {
  readonly key: string;
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

/** Finds the route for a call; `:param` segments match one decoded path segment. */
function matchRoute(routes: readonly Route[], method: string, pathname: string): { handler: RouteHandler; params: Record<string, string> } | 'bad_path' | undefined {
  const segments = pathname.split('/');
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < segments.length && matched; i++) {
      const expected = route.segments[i]!;
      if (!expected.startsWith(':')) matched = expected === segments[i];
      else {
        try {
          params[expected.slice(1)] = decodeURIComponent(segments[i]!);
        } catch {
          return 'bad_path';
        }
      }
    }
    if (matched) return { handler: route.handler, params };
  }
  return undefined;
}

/**
 * The HTTP+JSON ABI served on each app's `platform.sock`. The socket decides
 * the app id, so no request can name another app.
 */
/** A promise the call must wait for before it runs (the update gate holds the live version's SQL). */
export type CallHold = (appId: string, slot: Slot, pathname: string) => Promise<void> | undefined;

export function createPlatformApi(capabilities: readonly Capability[], onBug: (appId: string, error: unknown) => void, holdFor: CallHold = () => undefined) {
  const routes: Route[] = [];
  for (const capability of capabilities) {
    for (const [key, handler] of Object.entries(capability.routes)) {
      if (routes.some((r) => r.key === key)) throw new Error(`route ${key} is declared twice (second by ${capability.name})`);
      const [method = '', pattern = ''] = key.split(' ');
      routes.push({ key, method, segments: pattern.split('/'), handler });
    }
  }

  const streams = capabilities.flatMap((c) => (c.stream ? [c.stream] : []));

  return async function handlePlatform(appId: string, req: IncomingMessage, res: ServerResponse, slot: Slot): Promise<void> {
    const stream = streams.find((s) => req.url?.startsWith(s.prefix));
    if (stream) return stream.handle(appId, req, res);
    const url = requestUrl(req);
    const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (!match) return sendError(res, { code: 'platform.not_found', message: `${req.method} ${url.pathname} is not part of the platform API` });
    if (match === 'bad_path') return sendError(res, { code: 'platform.bad_path', message: `${url.pathname} has a malformed percent-encoding` });
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
      const held = holdFor(appId, slot, url.pathname);
      if (held) {
        const released = await Promise.race([held.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), HOLD_MS_MAX).unref())]);
        if (!released) return sendError(res, { code: 'platform.update_in_progress', message: `an update of ${appId} has held this call for ${HOLD_MS_MAX} ms; retry` }, { 'retry-after': '1' });
      }
      const result = await match.handler({ appId, slot, method: req.method ?? 'GET', url, params: match.params, body });
      if (result.ok) sendJson(res, 200, result.value);
      else sendError(res, result.error);
    } catch (error) {
      // A bug, not an expected failure: answer without internals, keep the process up for other apps.
      onBug(appId, error);
      sendError(res, { code: 'platform.internal', message: 'the platform failed to handle this call' });
    }
  };
}
