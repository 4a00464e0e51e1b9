/**
 * Small asset bodies kept in memory after their first read, least recently used dropped first,
 * within one byte budget shared by every app. Entries are keyed by the index's file objects, so a
 * redeployed version (new index, new objects) never gets an old body; its old entries age out.
 */
import { readFile } from 'node:fs/promises';
import type { AssetFile } from './asset-index.js';

export interface BodyCache {
  /** The cached bytes, without touching the disk; undefined when not cached. */
  peek(file: AssetFile): Buffer | undefined;
  /** The file's bytes, or null when it is gone or no longer the size indexed (its version is being replaced). */
  get(file: AssetFile): Promise<Buffer | null>;
  readonly bytes: () => number;
}

export function createBodyCache(bytesMax: number): BodyCache {
  const entries = new Map<AssetFile, Buffer>();
  let bytes = 0;
  function peek(file: AssetFile): Buffer | undefined {
    const hit = entries.get(file);
    if (hit) {
      // Re-inserting moves the entry to the end: Map iteration order is our recency order.
      entries.delete(file);
      entries.set(file, hit);
    }
    return hit;
  }
  return {
    peek,
    async get(file) {
      const hit = peek(file);
      if (hit) return hit;
      let body: Buffer;
      try {
        body = await readFile(file.file);
      } catch {
        return null;
      }
      if (body.byteLength !== file.size) return null;
      // Another request may have read it while we did.
      const raced = entries.get(file);
      if (raced) return raced;
      entries.set(file, body);
      bytes += body.byteLength;
      for (const [oldest, oldBody] of entries) {
        if (bytes <= bytesMax) break;
        entries.delete(oldest);
        bytes -= oldBody.byteLength;
      }
      return body;
    },
    bytes: () => bytes,
  };
}
