import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Capability, RouteHandler } from '../capabilities/capability.js';
import type { Slot } from '../runtime/supervisor.js';
import { readBody, requestUrl, sendError, sendJson } from '../http/respond.js';
import { ConcurrencyGate } from '../support/concurrency-gate.js';
import { NotJson, parseJsonBody } from './json-body.js';
import type { PlinthError } from '../support/result.js';
import {
  HOLD_MS_MAX, PLATFORM_BODY_BYTES_MAX, PLATFORM_CALLS_HELD_MAX, PLATFORM_CALLS_IN_FLIGHT_MAX, PLATFORM_CALLS_QUEUED_MAX,
  PLATFORM_CALL_QUEUE_MS_MAX, PLATFORM_LARGE_BODY_BYTES_MIN, PLATFORM_LARGE_CALLS_IN_FLIGHT_MAX, PLATFORM_RETRY_AFTER_SECONDS,
} from './limits.js';

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

/** A body of PLATFORM_LARGE_BODY_BYTES_MIN or more, or of unknown length (chunked). */
function hasLargeBody(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const declared = req.headers['content-length'];
  return declared === undefined ? req.headers['transfer-encoding'] !== undefined : Number(declared) >= PLATFORM_LARGE_BODY_BYTES_MIN;
}

/** A promise the call must wait for before it runs (the update gate holds the live version's SQL). */
export type CallHold = (appId: string, slot: Slot, pathname: string) => Promise<void> | undefined;

const RETRY = { 'retry-after': String(PLATFORM_RETRY_AFTER_SECONDS) };

/**
 * The HTTP+JSON ABI served on each app's `platform.sock`. The socket decides
 * the app id, so no request can name another app. Each app's calls run at most
 * PLATFORM_CALLS_IN_FLIGHT_MAX at a time, and large JSON calls one at a time, so
 * one app cannot take the event loop from the others; a held call (update gate)
 * waits before it takes a slot.
 */
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
  const gates = new Map<string, { all: ConcurrencyGate; large: ConcurrencyGate }>();
  const heldCounts = new Map<string, number>();

  function gatesOf(appId: string) {
    let gate = gates.get(appId);
    if (!gate) {
      gate = {
        all: new ConcurrencyGate(PLATFORM_CALLS_IN_FLIGHT_MAX, PLATFORM_CALLS_QUEUED_MAX, PLATFORM_CALL_QUEUE_MS_MAX),
        large: new ConcurrencyGate(PLATFORM_LARGE_CALLS_IN_FLIGHT_MAX, PLATFORM_CALLS_QUEUED_MAX, PLATFORM_CALL_QUEUE_MS_MAX),
      };
      gates.set(appId, gate);
    }
    return gate;
  }

  /** A slot for this call: one of the app's, and for a large JSON body also its one large slot. */
  async function admit(appId: string, req: IncomingMessage, streamed: boolean): Promise<(() => void) | null> {
    const gate = gatesOf(appId);
    const release = await gate.all.acquire();
    if (!release) return null;
    if (streamed || !hasLargeBody(req)) return release;
    const releaseLarge = await gate.large.acquire();
    if (!releaseLarge) {
      release();
      return null;
    }
    return () => { releaseLarge(); release(); };
  }

  /** Waits out an update gate's hold on this call; an error when it held too long or holds too many. */
  async function waitForHold(appId: string, slot: Slot, pathname: string): Promise<PlinthError | undefined> {
    const held = holdFor(appId, slot, pathname);
    if (!held) return undefined;
    const count = heldCounts.get(appId) ?? 0;
    if (count >= PLATFORM_CALLS_HELD_MAX) return { code: 'platform.update_in_progress', message: `an update of ${appId} holds ${PLATFORM_CALLS_HELD_MAX} calls already; retry` };
    heldCounts.set(appId, count + 1);
    let timer: NodeJS.Timeout | undefined;
    try {
      const released = await Promise.race([held.then(() => true), new Promise<false>((r) => { timer = setTimeout(() => r(false), HOLD_MS_MAX); })]);
      return released ? undefined : { code: 'platform.update_in_progress', message: `an update of ${appId} has held this call for ${HOLD_MS_MAX} ms; retry` };
    } finally {
      clearTimeout(timer);
      const left = (heldCounts.get(appId) ?? 1) - 1;
      if (left > 0) heldCounts.set(appId, left);
      else heldCounts.delete(appId);
    }
  }

  async function runRoute(appId: string, req: IncomingMessage, res: ServerResponse, slot: Slot, url: URL, match: { handler: RouteHandler; params: Record<string, string> }): Promise<void> {
    let body: unknown;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // A caller that dies mid-body rejects here; the supervisor's socket handler owns that failure.
      const raw = await readBody(req, PLATFORM_BODY_BYTES_MAX);
      if (!raw) return sendError(res, { code: 'platform.body_too_large', message: `a platform API call is at most ${PLATFORM_BODY_BYTES_MAX} bytes` });
      try {
        body = await parseJsonBody(raw);
      } catch (error) {
        if (!(error instanceof NotJson)) throw error;
        return sendError(res, { code: 'platform.bad_json', message: `the request body is not valid JSON: ${error.message}` });
      }
    }
    const gone = new AbortController();
    res.once('close', () => { if (!res.writableFinished) gone.abort(); });
    try {
      const result = await match.handler({ appId, slot, method: req.method ?? 'GET', url, params: match.params, body, signal: gone.signal });
      if (result.ok) sendJson(res, 200, result.value);
      else sendError(res, result.error);
    } catch (error) {
      // A bug, not an expected failure: answer without internals, keep the process up for other apps.
      onBug(appId, error);
      sendError(res, { code: 'platform.internal', message: 'the platform failed to handle this call' });
    }
  }

  return async function handlePlatform(appId: string, req: IncomingMessage, res: ServerResponse, slot: Slot): Promise<void> {
    const url = requestUrl(req);
    const stream = streams.find((s) => url.pathname.startsWith(s.prefix));
    // HEAD runs the GET route (RFC 9110 §9.3.2); Node drops the body of a HEAD response.
    const match = stream ? undefined : matchRoute(routes, req.method === 'HEAD' ? 'GET' : req.method ?? 'GET', url.pathname);
    if (!stream && !match) return sendError(res, { code: 'platform.not_found', message: `${req.method} ${url.pathname} is not part of the platform API` });
    if (match === 'bad_path') return sendError(res, { code: 'platform.bad_path', message: `${url.pathname} has a malformed percent-encoding` });
    const holdError = await waitForHold(appId, slot, url.pathname);
    if (holdError) return sendError(res, holdError, RETRY);
    const release = await admit(appId, req, stream !== undefined);
    if (!release) {
      return sendError(res, { code: 'platform.too_many_calls', message: `${appId} has ${PLATFORM_CALLS_IN_FLIGHT_MAX} platform calls running and too many waiting; retry shortly` }, RETRY);
    }
    try {
      if (stream) await stream.handle(appId, req, res);
      else await runRoute(appId, req, res, slot, url, match!);
    } finally {
      release();
    }
  };
}
