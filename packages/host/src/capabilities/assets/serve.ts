/**
 * Answers GET and HEAD for an app's assets at the front door, without starting the app. Called by
 * the app proxy after its access check; returns false when the request is not for an asset, and
 * the proxy then hands it to the app's `fetch`.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sendError } from '../../http/respond.js';
import { buildAssetIndex, UNPACKED_ASSETS_DIR, type Asset, type AssetFile, type AssetIndex } from './asset-index.js';
import { createBodyCache, type BodyCache } from './body-cache.js';
import { evaluatePreconditions, ifRangeHolds, type Validators } from './conditional.js';
import type { CacheRule } from './config.js';
import { ASSET_BODY_CACHE_BYTES_MAX, ASSET_BODY_CACHE_FILE_BYTES_MAX, ASSET_STREAM_CHUNK_BYTES } from './limits.js';
import { acceptsHtml, chooseEncoding } from './negotiate.js';
import { parseRange, type RangeRequest } from './range.js';
import { assetRequestPath, mergeSlashes, type AssetRequestPath } from './request-path.js';

/** What serving needs from a deployment. A new object per (re)load, so the index is rebuilt per load. */
export interface AssetDeployment {
  readonly appId: string;
  readonly versionDir: string;
  readonly manifest: {
    readonly assets?: string | undefined;
    readonly spa?: string | undefined;
    readonly cache: readonly CacheRule[];
  };
}

export interface AssetServerDeps {
  /** Appends a line to the app's platform log, which its developer reads with `plinth logs`. */
  readonly event: (appId: string, text: string) => void;
}

export interface AssetServer {
  /**
   * Serves the asset `req` names and returns true, or returns false having written nothing.
   * `isPublic`: whether the request path is listed in the manifest's `public`; private assets
   * are never stored by shared caches.
   */
  serve(req: IncomingMessage, res: ServerResponse, deployment: AssetDeployment, isPublic: boolean): Promise<boolean>;
}

type Resolution =
  | { readonly kind: 'asset'; readonly asset: Asset; readonly spa: boolean }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'none' };

const NOSNIFF = { 'x-content-type-options': 'nosniff' } as const;
const WHOLE: RangeRequest = { kind: 'whole' };

export function createAssetServer(deps: AssetServerDeps): AssetServer {
  // Keyed by the deployment object: the supervisor makes a new one per load, and drops the old.
  const indexes = new WeakMap<AssetDeployment, Promise<AssetIndex | null>>();
  // The same, once built: read without an await on every request after the first.
  const built = new WeakMap<AssetDeployment, AssetIndex | null>();
  const bodies = createBodyCache(ASSET_BODY_CACHE_BYTES_MAX);

  function indexFor(deployment: AssetDeployment): Promise<AssetIndex | null> {
    let index = indexes.get(deployment);
    if (index === undefined) {
      const dir = join(deployment.versionDir, UNPACKED_ASSETS_DIR);
      index = buildAssetIndex(dir, deployment.manifest.cache).then((result) => {
        if (!result.ok) deps.event(deployment.appId, `${result.error.code}: ${result.error.message}; assets are not served, requests go to fetch`);
        const value = result.ok ? result.value : null;
        built.set(deployment, value);
        return value;
      });
      indexes.set(deployment, index);
    }
    return index;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, deployment: AssetDeployment, isPublic: boolean): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (deployment.manifest.assets === undefined) return false;
    const target = assetRequestPath(req.url ?? '/');
    if (!target.ok) {
      sendError(res, target.error, NOSNIFF);
      return true;
    }
    const ready = built.get(deployment);
    const index = ready !== undefined ? ready : await indexFor(deployment);
    if (index === null) return false;
    const found = resolveMergingSlashes(index, target.value, deployment.manifest.spa, req.headers.accept);
    switch (found.kind) {
      case 'none':
        return false;
      case 'redirect':
        res.writeHead(301, { location: found.location, 'cache-control': isPublic ? 'no-cache' : 'private, no-cache', 'content-length': 0, ...NOSNIFF });
        res.end();
        return true;
      case 'asset':
        return respond(req, res, found.asset, isPublic, found.spa, bodies);
    }
  }

  return { serve };
}

/** Headers, then preconditions, then range, then the body: the order RFC 9110 §13.2.2 evaluates them in. */
async function respond(req: IncomingMessage, res: ServerResponse, asset: Asset, isPublic: boolean, spa: boolean, bodies: BodyCache): Promise<boolean> {
  const rangeHeader = req.method === 'GET' ? req.headers.range : undefined;
  // A range is served from the file as is: offsets into a compressed stream are of no use to a resuming download or a media player.
  const coding = rangeHeader === undefined ? chooseEncoding(req.headers['accept-encoding'], asset.variants) : null;
  const file = coding === null ? asset.identity : asset.variants.get(coding)!;
  const validators: Validators = { etag: file.etag, lastModifiedMs: asset.lastModifiedMs };
  const vary = [asset.compressible ? 'Accept-Encoding' : '', spa ? 'Accept' : ''].filter(Boolean).join(', ');
  const headers: OutgoingHttpHeaders = {
    etag: file.etag,
    'last-modified': asset.lastModified,
    'cache-control': isPublic ? asset.cacheControl.public : asset.cacheControl.private,
    ...NOSNIFF,
    ...(vary ? { vary } : {}),
  };
  const precondition = evaluatePreconditions(req.headers, validators);
  if (precondition === 'not_modified') {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  if (precondition === 'failed') {
    sendError(res, { code: 'assets.precondition_failed', message: `${asset.path} does not meet If-Match or If-Unmodified-Since; it is ${file.etag}` }, NOSNIFF);
    return true;
  }
  const ifRange = req.headers['if-range'];
  const range = ifRangeHolds(Array.isArray(ifRange) ? ifRange.join(', ') : ifRange, validators) ? parseRange(rangeHeader, file.size) : WHOLE;
  if (range.kind === 'unsatisfiable') {
    const message = `the range ${rangeHeader} is outside ${asset.path}, which is ${file.size} bytes`;
    sendError(res, { code: 'assets.range_not_satisfiable', message }, { 'content-range': `bytes */${file.size}`, ...NOSNIFF });
    return true;
  }
  headers['content-type'] = asset.contentType;
  headers['accept-ranges'] = 'bytes';
  if (coding !== null) headers['content-encoding'] = coding;
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, file.size - 1];
  if (range.kind === 'partial') headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
  headers['content-length'] = end - start + 1;
  return send(req, res, range.kind === 'partial' ? 206 : 200, headers, { file, start, end }, bodies);
}

/** Small files from memory; larger ones streamed with backpressure. False if the file vanished (its version is being replaced). */
async function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  { file, start, end }: { file: AssetFile; start: number; end: number },
  bodies: BodyCache,
): Promise<boolean> {
  if (req.method === 'HEAD') {
    res.writeHead(status, headers);
    res.end();
    return true;
  }
  if (file.size <= ASSET_BODY_CACHE_FILE_BYTES_MAX) {
    const body = bodies.peek(file) ?? (await bodies.get(file));
    if (body === null) return false;
    res.writeHead(status, headers);
    res.end(start === 0 && end === body.byteLength - 1 ? body : body.subarray(start, end + 1));
    return true;
  }
  let handle: FileHandle;
  try {
    handle = await open(file.file, 'r');
  } catch {
    return false;
  }
  res.writeHead(status, headers);
  try {
    await pipeline(handle.createReadStream({ start, end, highWaterMark: ASSET_STREAM_CHUNK_BYTES }), res);
  } catch {
    // The client went away mid-body; pipeline has destroyed both streams and closed the file.
  }
  return true;
}

/**
 * As `resolve`, and a path with empty segments (`//style.css`, `/docs//a.html`) that names an asset
 * once its slashes are merged (as nginx's `merge_slashes` does) is redirected there, so each asset
 * keeps one URL in caches. The Location starts with a single `/`, so it never leaves the origin.
 */
function resolveMergingSlashes(index: AssetIndex, target: AssetRequestPath, spa: string | undefined, accept: string | undefined): Resolution {
  const found = resolve(index, target, spa, accept);
  if (found.kind !== 'none' || !target.path.includes('//')) return found;
  const merged = { path: mergeSlashes(target.path), rawPath: mergeSlashes(target.rawPath), rawQuery: target.rawQuery };
  const mergedFound = resolve(index, merged, undefined, accept);
  if (mergedFound.kind === 'asset') return { kind: 'redirect', location: `${merged.rawPath}${merged.rawQuery}` };
  return mergedFound;
}

/**
 * The asset a path names: the file itself; a folder's `index.html` for a path ending in `/`; a
 * redirect to add the `/` when only the folder exists (so relative links in that page resolve
 * inside it, as with nginx and serve-static); else, for a browser navigation, the SPA shell.
 */
export function resolve(index: AssetIndex, target: AssetRequestPath, spa: string | undefined, accept: string | undefined): Resolution {
  const exact = index.get(target.path);
  if (exact) return { kind: 'asset', asset: exact, spa: false };
  if (target.path.endsWith('/')) {
    const folderIndex = index.get(`${target.path}index.html`);
    if (folderIndex) return { kind: 'asset', asset: folderIndex, spa: false };
  } else if (index.has(`${target.path}/index.html`)) {
    // Index keys have no empty segments, so rawPath cannot start with `//` and the Location stays on this origin.
    return { kind: 'redirect', location: `${target.rawPath}/${target.rawQuery}` };
  }
  if (spa !== undefined && acceptsHtml(accept)) {
    const shell = index.get(spa);
    if (shell) return { kind: 'asset', asset: shell, spa: true };
  }
  return { kind: 'none' };
}
