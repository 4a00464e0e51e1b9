/**
 * The in-memory index of one deployed version's assets, built once by walking
 * `<versionDir>/assets`. Requests are answered only for paths in this index, and the file behind
 * each comes from the walk, never from joining request text onto the filesystem.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../support/result.js';
import { compileCacheRules, type CacheRule, type CompiledCacheRule } from './config.js';
import { contentTypeOf, isCompressibleType } from './content-type.js';
import type { AssetsErrorCode } from './errors.js';
import { isFingerprinted } from './fingerprint.js';
import {
  ASSET_ENTRIES_MAX, ASSET_IMMUTABLE_MAX_AGE_SECONDS, ASSET_INDEX_READS_CONCURRENT, ASSET_PATH_CHARS_MAX, ASSET_STREAM_CHUNK_BYTES,
} from './limits.js';
import type { ContentCoding } from './negotiate.js';

/** Where an unpacked package keeps its assets, under the version folder (PACKAGE_ASSETS_DIR in apps/package-archive.ts; a test keeps them equal). */
export const UNPACKED_ASSETS_DIR = 'assets';

/** One file on disk: a whole asset, or a precompressed variant of one. */
export interface AssetFile {
  /** Absolute path, found by the walk. */
  readonly file: string;
  readonly size: number;
  /** Strong entity tag: the quoted SHA-256 of the bytes, base64url. Each variant has its own (RFC 9110 §8.8.3). */
  readonly etag: string;
}

export interface Asset {
  /** The URL path it answers, decoded: `/docs/index.html`. */
  readonly path: string;
  readonly identity: AssetFile;
  /** Precompressed siblings (`x.css.br`, `x.css.gz`), present only for compressible types. */
  readonly variants: ReadonlyMap<ContentCoding, AssetFile>;
  readonly contentType: string;
  /** Responses carry `Vary: Accept-Encoding` when true. */
  readonly compressible: boolean;
  /** The file's modification time (its install time) in whole seconds, and as an HTTP-date. */
  readonly lastModifiedMs: number;
  readonly lastModified: string;
  /** Cache-Control for a request on a public path and on a private one. */
  readonly cacheControl: { readonly public: string; readonly private: string };
}

export type AssetIndex = ReadonlyMap<string, Asset>;

type FileFacts = AssetFile & { readonly mtimeMs: number };

interface FoundFile {
  readonly rel: string;
  readonly file: string;
}

/** Suffixes of precompressed siblings, and the coding each holds. */
const VARIANT_SUFFIXES: readonly (readonly [string, ContentCoding])[] = [['.br', 'br'], ['.gz', 'gzip']];

/** `entriesMax` is ASSET_ENTRIES_MAX in production; tests pass a small one. */
export async function buildAssetIndex(
  assetsDir: string,
  rules: readonly CacheRule[],
  entriesMax = ASSET_ENTRIES_MAX,
): Promise<Result<AssetIndex, AssetsErrorCode>> {
  const listed = await listFiles(assetsDir, entriesMax);
  if (!listed.ok) return listed;
  const compiled = compileCacheRules(rules);
  let files: Map<string, FileFacts>;
  try {
    files = await readFacts(listed.value);
  } catch (error) {
    return fail('assets.index_failed', `cannot read ${assetsDir}: ${(error as Error).message}`);
  }
  const variantOf = new Map<string, Map<ContentCoding, AssetFile>>();
  for (const rel of files.keys()) {
    for (const [suffix, coding] of VARIANT_SUFFIXES) {
      const base = rel.endsWith(suffix) ? rel.slice(0, -suffix.length) : null;
      if (base === null || !files.has(base) || !isCompressibleType(contentTypeOf(base))) continue;
      // A sibling the developer shipped that is no smaller than the original saves nothing.
      if (files.get(rel)!.size >= files.get(base)!.size) continue;
      const variants = variantOf.get(base) ?? new Map<ContentCoding, AssetFile>();
      variants.set(coding, files.get(rel)!);
      variantOf.set(base, variants);
    }
  }
  const hidden = new Set([...variantOf.values()].flatMap((v) => [...v.values()]));
  const index = new Map<string, Asset>();
  for (const [rel, file] of files) {
    if (hidden.has(file)) continue;
    index.set(`/${rel}`, describe(`/${rel}`, file, variantOf.get(rel) ?? new Map(), compiled));
  }
  return ok(index);
}

function describe(path: string, file: FileFacts, variants: ReadonlyMap<ContentCoding, AssetFile>, rules: readonly CompiledCacheRule[]): Asset {
  const contentType = contentTypeOf(path);
  const lastModifiedMs = Math.floor(file.mtimeMs / 1000) * 1000;
  return {
    path,
    identity: { file: file.file, size: file.size, etag: file.etag },
    variants,
    contentType,
    compressible: isCompressibleType(contentType),
    lastModifiedMs,
    lastModified: new Date(lastModifiedMs).toUTCString(),
    cacheControl: cacheControlFor(path, rules),
  };
}

/**
 * First matching manifest rule; else a year and `immutable` for a fingerprinted name; else
 * `no-cache`, so HTML and other stable names are revalidated (cheaply: 304) on every use. Private
 * paths never let a shared cache keep a copy.
 */
export function cacheControlFor(path: string, rules: readonly CompiledCacheRule[]): Asset['cacheControl'] {
  const rule = rules.find((r) => r.matches(path));
  if (rule) return { public: rule.publicValue, private: rule.privateValue };
  if (isFingerprinted(path)) {
    const lifetime = `max-age=${ASSET_IMMUTABLE_MAX_AGE_SECONDS}, immutable`;
    return { public: `public, ${lifetime}`, private: `private, ${lifetime}` };
  }
  return { public: 'no-cache', private: 'private, no-cache' };
}

/**
 * Regular files under `root`, depth first. Symlinks, sockets and devices are skipped: an unpacked
 * package holds only files and folders, so anything else was put there by hand. A missing folder
 * is an app without assets on disk (an empty assets folder packs to no entries).
 */
async function listFiles(root: string, entriesMax: number): Promise<Result<FoundFile[], AssetsErrorCode>> {
  const found: FoundFile[] = [];
  const pending: { dir: string; rel: string }[] = [{ dir: root, rel: '' }];
  let entries = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let listing;
    try {
      listing = await readdir(next.dir, { withFileTypes: true });
    } catch (error) {
      if (next.rel === '' && (error as NodeJS.ErrnoException).code === 'ENOENT') return ok([]);
      return fail('assets.index_failed', `cannot list ${next.dir}: ${(error as Error).message}`);
    }
    entries += listing.length;
    if (entries > entriesMax) return fail('assets.index_failed', `${root} holds more than ${entriesMax} files and folders`);
    for (const entry of listing) {
      const rel = next.rel === '' ? entry.name : `${next.rel}/${entry.name}`;
      if (rel.length > ASSET_PATH_CHARS_MAX) continue;
      if (entry.isDirectory()) pending.push({ dir: join(next.dir, entry.name), rel });
      else if (entry.isFile()) found.push({ rel, file: join(next.dir, entry.name) });
    }
  }
  return ok(found);
}

/** Size, time and hash of each file, a few reads at a time: thousands of small files are bound by syscall latency, not bandwidth. */
async function readFacts(found: readonly FoundFile[]): Promise<Map<string, FileFacts>> {
  const facts = new Map<string, FileFacts>();
  let next = 0;
  async function worker(): Promise<void> {
    for (let item = found[next++]; item !== undefined; item = found[next++]) {
      const info = await stat(item.file);
      facts.set(item.rel, { file: item.file, size: info.size, mtimeMs: info.mtimeMs, etag: `"${await sha256(item.file, info.size)}"` });
    }
  }
  await Promise.all(Array.from({ length: ASSET_INDEX_READS_CONCURRENT }, worker));
  return facts;
}

async function sha256(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size <= ASSET_STREAM_CHUNK_BYTES) return hash.update(await readFile(file)).digest('base64url');
  for await (const chunk of createReadStream(file, { highWaterMark: ASSET_STREAM_CHUNK_BYTES })) hash.update(chunk as Buffer);
  return hash.digest('base64url');
}
