/**
 * Content types from mime-db through mime-types (jshttp; the table Express, Fastify and Koa use,
 * kept current with IANA and browsers). Text types get `charset=utf-8`, as mime-types adds it to
 * text/* and to types that mime-db marks UTF-8 (JSON, JavaScript); anything unknown is
 * `application/octet-stream`, which browsers never render inline when `nosniff` is set.
 */
import mimeDb from 'mime-db';
import mimeTypes from 'mime-types';

const FALLBACK_TYPE = 'application/octet-stream';
/** When mime-db has no opinion: text and structured-text suffixes compress well (the `compressible` package's rule). */
const COMPRESSIBLE_FALLBACK = /^text\/|\+(?:json|text|xml)$/;

/** The Content-Type header for an asset, from its file name's extension. */
export function contentTypeOf(assetPath: string): string {
  const name = assetPath.slice(assetPath.lastIndexOf('/') + 1);
  return mimeTypes.contentType(name) || FALLBACK_TYPE;
}

/**
 * Whether a type is worth compressing: HTML, CSS, JS, JSON, SVG, fonts like TTF. Images, video,
 * archives and WOFF2 are compressed already, so a second pass only costs CPU.
 */
export function isCompressibleType(contentType: string): boolean {
  const essence = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const entry = (mimeDb as Record<string, { compressible?: boolean } | undefined>)[essence];
  if (entry?.compressible !== undefined) return entry.compressible;
  return COMPRESSIBLE_FALLBACK.test(essence);
}
