import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'undici';
import { sendError } from '../../http/respond.js';
import { ConcurrencyGate } from '../../support/concurrency-gate.js';
import { pickAddress, type AddressGuard } from './guarded-lookup.js';
import { EGRESS_CLIENTS_MAX, EGRESS_CONCURRENT_MAX, EGRESS_KEEP_ALIVE_MS, EGRESS_REQUEST_BYTES_MAX, EGRESS_TOTAL_MS_MAX } from './limits.js';
import { createOutboundMatcher } from './outbound-rules.js';

export interface EgressUsage {
  requests: number;
  /** Response bytes received from upstreams (body only). */
  bytesIn: number;
  /** Request body bytes sent to upstreams. */
  bytesOut: number;
}

export interface EgressDeps extends AddressGuard {
  /** The app's manifest `outbound` list; undefined for an app that is not installed. */
  readonly outboundOf: (appId: string) => readonly string[] | undefined;
  readonly responseBytesMax: number;
}

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the proxy's own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/** Counts bytes through a stream and fails it once `bytesMax` is passed. */
function meter(bytesMax: number, count: (bytes: number) => void, what: string): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      total += chunk.length;
      if (total > bytesMax) return callback(new Error(`${what} passed ${bytesMax} bytes`));
      count(chunk.length);
      callback(null, chunk);
    },
  });
}

function headersOf(raw: IncomingMessage['headers'] | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * The egress proxy behind every app's `globalOutbound`. workerd sends each
 * outbound request here in absolute form (`GET https://host/path`); the proxy
 * checks the manifest, resolves and checks the address, connects to exactly
 * that address, and passes redirects back so each hop is checked again.
 */
export function createEgressProxy(deps: EgressDeps) {
  const usage = new Map<string, EgressUsage>();
  const gates = new Map<string, ConcurrencyGate>();
  const matchers = new Map<readonly string[], (url: URL) => boolean>();
  const clients = new Map<string, Client>();

  const usageOf = (appId: string) => {
    let entry = usage.get(appId);
    if (!entry) usage.set(appId, (entry = { requests: 0, bytesIn: 0, bytesOut: 0 }));
    return entry;
  };

  function target(req: IncomingMessage): URL | null {
    try {
      const url = new URL(req.url ?? '');
      return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
    } catch {
      return null;
    }
  }

  async function handle(appId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = target(req);
    if (!url) return sendError(res, { code: 'egress.bad_request', message: `outbound requests must name an absolute http(s) URL, not ${req.method} ${req.url}` });
    const outbound = deps.outboundOf(appId) ?? [];
    let matches = matchers.get(outbound);
    if (!matches) matchers.set(outbound, (matches = createOutboundMatcher(outbound)));
    if (!matches(url)) {
      const hint = url.hostname.startsWith('[')
        ? 'IPv6 literals cannot be listed; name the host in "outbound" instead'
        : `add ${url.protocol === 'http:' ? `"http://${url.host}" (plain HTTP must be named with its scheme)` : `"${url.host}"`} to "outbound" in plinth.json`;
      return sendError(res, { code: 'egress.host_not_allowed', message: `app ${appId} may not reach ${url.protocol}//${url.host}: ${hint}` });
    }
    let gate = gates.get(appId);
    if (!gate) gates.set(appId, (gate = new ConcurrencyGate(EGRESS_CONCURRENT_MAX, 0, 0)));
    const release = await gate.acquire();
    if (!release) return sendError(res, { code: 'egress.busy', message: `app ${appId} already has ${EGRESS_CONCURRENT_MAX} outbound requests open` }, { 'retry-after': '1' });
    try {
      await forward(appId, req, res, url);
    } finally {
      release();
    }
  }

  async function forward(appId: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const picked = await pickAddress(deps, host, port);
    if (!picked.ok) return sendError(res, picked.error);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > EGRESS_REQUEST_BYTES_MAX) return sendError(res, { code: 'egress.request_too_large', message: `an outbound request body is at most ${EGRESS_REQUEST_BYTES_MAX} bytes` });

    const counters = usageOf(appId);
    counters.requests++;
    const client = clientFor(appId, url.origin, picked.value.address, picked.value.family);
    const abort = AbortSignal.timeout(EGRESS_TOTAL_MS_MAX);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    try {
      const upstream = await client.request({
        path: `${url.pathname}${url.search}`,
        method: (req.method ?? 'GET') as 'GET',
        headers: { ...headersOf(req.headers), host: url.host },
        body: hasBody ? req.pipe(meter(EGRESS_REQUEST_BYTES_MAX, (n) => { counters.bytesOut += n; }, 'the request body')) : null,
        signal: abort,
      });
      if (Number(upstream.headers['content-length'] ?? 0) > deps.responseBytesMax) {
        upstream.body.destroy();
        return sendError(res, { code: 'egress.response_too_large', message: `${url.host} sent more than ${deps.responseBytesMax} bytes` });
      }
      res.writeHead(upstream.statusCode, headersOf(upstream.headers));
      await pipeline(upstream.body, meter(deps.responseBytesMax, (n) => { counters.bytesIn += n; }, 'the response'), res);
    } catch (error) {
      const timedOut = abort.aborted || /timeout/i.test((error as Error).name ?? '') || /Timeout/.test(String((error as { code?: string }).code));
      const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      sendError(res, timedOut
        ? { code: 'egress.timeout', message: `${url.host} did not answer in time` }
        : { code: 'egress.upstream_failed', message: `request to ${url.host} failed: ${reason}` });
    }
  }

  /**
   * Keep-alive connections per app, origin and checked address: a connection
   * is only ever to the address this request was checked against, so reuse
   * keeps the rebinding guarantee. A new TCP (and TLS) handshake per fetch cost
   * about 1 ms of daemon CPU each (bench/egress).
   */
  function clientFor(appId: string, origin: string, address: string, family: 4 | 6): Client {
    const key = `${appId}\n${origin}\n${address}`;
    const cached = clients.get(key);
    if (cached && !cached.destroyed && !cached.closed) {
      clients.delete(key);
      clients.set(key, cached); // most recently used last
      return cached;
    }
    // Connect to the checked address; TLS still verifies the certificate against the host name.
    const client = new Client(origin, {
      connect: {
        lookup: ((_host, options, callback) => {
          if (options.all) (callback as unknown as (e: null, all: { address: string; family: number }[]) => void)(null, [{ address, family }]);
          else callback(null, address, family);
        }) satisfies LookupFunction,
      },
      headersTimeout: deps.timeoutMs,
      bodyTimeout: deps.timeoutMs,
      keepAliveTimeout: EGRESS_KEEP_ALIVE_MS,
    });
    clients.set(key, client);
    if (clients.size > EGRESS_CLIENTS_MAX) {
      const [oldestKey, oldest] = clients.entries().next().value as [string, Client];
      clients.delete(oldestKey);
      void oldest.close().catch(() => undefined);
    }
    return client;
  }

  return {
    handle,
    usage: (appId: string): EgressUsage => ({ ...usageOf(appId) }),
    forget(appId: string): void {
      usage.delete(appId);
      gates.delete(appId);
      for (const [key, client] of clients) {
        if (!key.startsWith(`${appId}\n`)) continue;
        clients.delete(key);
        void client.close().catch(() => undefined);
      }
    },
  };
}
export type EgressProxy = ReturnType<typeof createEgressProxy>;
