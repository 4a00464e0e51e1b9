/**
 * Build-time compression for `plinth build`: each compressible asset of at least
 * ASSET_COMPRESS_BYTES_MIN gets `x.br` and `x.gz` siblings, each kept only when smaller than the
 * original. Compressing once at build time lets the front door use the slowest, smallest settings
 * and spend no CPU per request. Output is deterministic (no timestamps), so a package signature is
 * reproducible.
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { contentTypeOf, isCompressibleType } from './content-type.js';
import {
  ASSET_BROTLI_BEST_BYTES_MAX,
  ASSET_BROTLI_QUALITY_BEST,
  ASSET_BROTLI_QUALITY_FAST,
  ASSET_COMPRESS_BYTES_MIN,
  ASSET_GZIP_LEVEL,
  ASSET_NAME_BYTES_MAX,
  ASSET_PACKAGE_PATH_CHARS_MAX,
} from './limits.js';
import type { ContentCoding } from './negotiate.js';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** What the package may still hold; siblings that do not fit are left out (the original is served instead). */
export interface PrecompressRoom {
  bytes: number;
  entries: number;
}

const SUFFIX: Readonly<Record<ContentCoding, string>> = { br: '.br', gzip: '.gz' };

/**
 * Adds siblings to `files` (package path → bytes) for every file under `assetsPrefix`. A sibling
 * already in `files` (one the developer shipped) is kept as is. Returns the package paths added.
 */
export async function precompressAssets(files: Map<string, Uint8Array>, room: PrecompressRoom, assetsPrefix = 'assets/'): Promise<string[]> {
  const added: string[] = [];
  const candidates = [...files.keys()].filter((p) => p.startsWith(assetsPrefix)).sort();
  for (const path of candidates) {
    const bytes = files.get(path)!;
    const contentType = contentTypeOf(path);
    if (bytes.byteLength < ASSET_COMPRESS_BYTES_MIN || !isCompressibleType(contentType)) continue;
    for (const coding of ['br', 'gzip'] as const) {
      const sibling = path + SUFFIX[coding];
      if (files.has(sibling) || !siblingPathFits(sibling) || room.entries < 1) continue;
      const compressed = await compress(coding, bytes, contentType);
      if (compressed.byteLength >= bytes.byteLength || compressed.byteLength > room.bytes) continue;
      files.set(sibling, compressed);
      room.bytes -= compressed.byteLength;
      room.entries -= 1;
      added.push(sibling);
    }
  }
  return added;
}

function siblingPathFits(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return path.length <= ASSET_PACKAGE_PATH_CHARS_MAX && Buffer.byteLength(name) <= ASSET_NAME_BYTES_MAX;
}

export async function compress(coding: ContentCoding, bytes: Uint8Array, contentType: string): Promise<Uint8Array> {
  switch (coding) {
    case 'br':
      return brotli(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: bytes.byteLength <= ASSET_BROTLI_BEST_BYTES_MAX ? ASSET_BROTLI_QUALITY_BEST : ASSET_BROTLI_QUALITY_FAST,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength,
          [constants.BROTLI_PARAM_MODE]: brotliMode(contentType),
        },
      });
    case 'gzip':
      return gzipAsync(bytes, { level: ASSET_GZIP_LEVEL });
  }
}

/** Brotli has tuned modes for UTF-8 text and for WOFF 2.0 font data; everything else is generic. */
function brotliMode(contentType: string): number {
  if (contentType.startsWith('font/')) return constants.BROTLI_MODE_FONT;
  if (/charset=utf-8/i.test(contentType)) return constants.BROTLI_MODE_TEXT;
  return constants.BROTLI_MODE_GENERIC;
}
