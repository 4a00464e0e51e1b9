import { open, type FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { ChecksumAlgorithm, ChecksumType } from './checksums.js';

/** Content-Type and the other standard headers S3 stores with an object and returns on GET. */
export interface StandardHeaders {
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentEncoding?: string;
  readonly contentLanguage?: string;
  readonly expires?: string;
}

export interface BlobRef {
  readonly id: string;
  readonly size: number;
}

export interface StoredChecksum {
  readonly algorithm: ChecksumAlgorithm;
  /** base64; for a multipart object, the checksum of the parts' checksums with a `-N` suffix. */
  readonly value: string;
  readonly type: ChecksumType;
}

export interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Unquoted: MD5 hex, or `<md5 of part MD5s>-<parts>` for multipart objects. */
  readonly etag: string;
  readonly lastModified: number;
  readonly headers: StandardHeaders;
  readonly metadata: Readonly<Record<string, string>>;
  readonly checksum?: StoredChecksum;
  /** The bytes, in order: one blob, or one per part; none for an inline object. */
  readonly blobs: readonly BlobRef[];
  /** A small object's bytes, kept in the index row itself (one commit, no file). */
  readonly inline?: Buffer;
  /** The multipart upload that made it, so a repeated Complete of that upload can be answered. */
  readonly uploadId?: string;
}

export interface Upload {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly initiated: number;
  readonly headers: StandardHeaders;
  readonly metadata: Readonly<Record<string, string>>;
  readonly checksumAlgorithm?: ChecksumAlgorithm;
  /** With an algorithm: how completing combines the parts' checksums (COMPOSITE unless asked). */
  readonly checksumType?: ChecksumType;
}

export interface Part {
  readonly partNumber: number;
  readonly size: number;
  readonly etag: string;
  readonly checksum?: string;
  readonly blobId: string;
  readonly lastModified: number;
}

export interface ListOptions {
  readonly prefix: string;
  readonly delimiter: string;
  /** Exclusive: keys (or a common prefix) after this one. */
  readonly after: string;
  readonly maxKeys: number;
}

export interface Listing {
  readonly objects: readonly Pick<StoredObject, 'key' | 'size' | 'etag' | 'lastModified' | 'headers' | 'metadata'>[];
  readonly commonPrefixes: readonly string[];
  readonly truncated: boolean;
  /** The last key or common prefix returned: where the next page starts. */
  readonly last?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS objects (
  bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
  last_modified INTEGER NOT NULL, headers TEXT NOT NULL, metadata TEXT NOT NULL, checksum TEXT, blobs TEXT NOT NULL,
  inline BLOB
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS objects_by_key ON objects (bucket, key);
CREATE TABLE IF NOT EXISTS uploads (
  upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL, initiated INTEGER NOT NULL,
  headers TEXT NOT NULL, metadata TEXT NOT NULL, checksum_algorithm TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
CREATE TABLE IF NOT EXISTS parts (
  upload_id TEXT NOT NULL, part_number INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
  checksum TEXT, blob_id TEXT NOT NULL, last_modified INTEGER NOT NULL, PRIMARY KEY (upload_id, part_number)
) STRICT;
-- Bytes of all objects and parts, kept by triggers in the same transaction as every change, so
-- the storage quota reads one row instead of summing every object on each write.
CREATE TABLE IF NOT EXISTS stored_bytes (id INTEGER PRIMARY KEY CHECK (id = 1), bytes INTEGER NOT NULL) STRICT;
INSERT INTO stored_bytes (id, bytes)
  SELECT 1, (SELECT coalesce(sum(size), 0) FROM objects) + (SELECT coalesce(sum(size), 0) FROM parts)
  WHERE NOT EXISTS (SELECT 1 FROM stored_bytes);
CREATE TRIGGER IF NOT EXISTS objects_added AFTER INSERT ON objects BEGIN UPDATE stored_bytes SET bytes = bytes + NEW.size; END;
CREATE TRIGGER IF NOT EXISTS objects_resized AFTER UPDATE OF size ON objects BEGIN UPDATE stored_bytes SET bytes = bytes + NEW.size - OLD.size; END;
CREATE TRIGGER IF NOT EXISTS objects_removed AFTER DELETE ON objects BEGIN UPDATE stored_bytes SET bytes = bytes - OLD.size; END;
CREATE TRIGGER IF NOT EXISTS parts_added AFTER INSERT ON parts BEGIN UPDATE stored_bytes SET bytes = bytes + NEW.size; END;
CREATE TRIGGER IF NOT EXISTS parts_resized AFTER UPDATE OF size ON parts BEGIN UPDATE stored_bytes SET bytes = bytes + NEW.size - OLD.size; END;
CREATE TRIGGER IF NOT EXISTS parts_removed AFTER DELETE ON parts BEGIN UPDATE stored_bytes SET bytes = bytes - OLD.size; END;
`;

/**
 * Columns added after stores were first written: each is added in place when a store lacks it,
 * so an index written by an older version opens unchanged (its rows read the column as NULL).
 */
const ADDED_COLUMNS: readonly { readonly table: string; readonly column: string; readonly type: string }[] = [
  { table: 'uploads', column: 'checksum_type', type: 'TEXT' },
  { table: 'objects', column: 'upload_id', type: 'TEXT' },
];

interface ObjectRow { bucket: string; key: string; size: number; etag: string; last_modified: number; headers: string; metadata: string; checksum: string | null; blobs: string; inline: Buffer | null; upload_id: string | null }
interface UploadRow { upload_id: string; bucket: string; key: string; initiated: number; headers: string; metadata: string; checksum_algorithm: string | null; checksum_type: string | null }
interface PartRow { part_number: number; size: number; etag: string; checksum: string | null; blob_id: string; last_modified: number }

/** Past every key that starts with a prefix: U+10FFFF is the largest code point, so the largest UTF-8. */
const AFTER_ALL = '\u{10FFFF}';

/** S3's roll-up: the common prefix a key falls under (through the first delimiter after the prefix), if any. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

const toObject = (row: ObjectRow): StoredObject => ({
  bucket: row.bucket, key: row.key, size: row.size, etag: row.etag, lastModified: row.last_modified,
  headers: JSON.parse(row.headers) as StandardHeaders, metadata: JSON.parse(row.metadata) as Record<string, string>,
  ...(row.checksum ? { checksum: JSON.parse(row.checksum) as StoredChecksum } : {}),
  blobs: JSON.parse(row.blobs) as BlobRef[],
  ...(row.inline ? { inline: row.inline } : {}),
  ...(row.upload_id ? { uploadId: row.upload_id } : {}),
});

const toUpload = (row: UploadRow): Upload => ({
  uploadId: row.upload_id, bucket: row.bucket, key: row.key, initiated: row.initiated,
  headers: JSON.parse(row.headers) as StandardHeaders, metadata: JSON.parse(row.metadata) as Record<string, string>,
  ...(row.checksum_algorithm ? { checksumAlgorithm: row.checksum_algorithm as ChecksumAlgorithm, checksumType: (row.checksum_type ?? 'COMPOSITE') as ChecksumType } : {}),
});

const toPart = (row: PartRow): Part => ({
  partNumber: row.part_number, size: row.size, etag: row.etag, blobId: row.blob_id, lastModified: row.last_modified,
  ...(row.checksum ? { checksum: row.checksum } : {}),
});

/**
 * One app's object metadata: buckets, objects (pointing at blobs), multipart uploads and parts.
 * Key order is SQLite's BINARY collation, i.e. UTF-8 byte order, which is S3's listing order.
 *
 * Durability: a 200 promises the object survives power loss, which synchronous=FULL gives by an
 * fsync inside every commit, on the event loop. Instead commits run with synchronous=NORMAL
 * (written to the WAL, consistent after a crash of the process) and `durable()` fsyncs the WAL
 * off the event loop; callers await it before they answer or delete a replaced blob.
 */
export function openObjectIndex(file: string) {
  const db: Database.Database = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const hasColumn = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM pragma_table_info(?) WHERE name = ?');
  for (const { table, column, type } of ADDED_COLUMNS) if (!hasColumn.get(table, column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  // Opened after the schema write, so the WAL file exists; SQLite removes it only on close.
  const wal: Promise<FileHandle> = open(`${file}-wal`, 'r');
  wal.catch(() => undefined);

  const s = {
    bucket: db.prepare<[string], { name: string; created_at: number }>('SELECT * FROM buckets WHERE name = ?'),
    buckets: db.prepare<[], { name: string; created_at: number }>('SELECT * FROM buckets ORDER BY name'),
    bucketCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM buckets'),
    insertBucket: db.prepare('INSERT INTO buckets (name, created_at) VALUES (?, ?)'),
    deleteBucket: db.prepare('DELETE FROM buckets WHERE name = ?'),
    anyObject: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1'),
    object: db.prepare<[string, string], ObjectRow>('SELECT * FROM objects WHERE bucket = ? AND key = ?'),
    upsertObject: db.prepare(`INSERT INTO objects (bucket, key, size, etag, last_modified, headers, metadata, checksum, blobs, inline, upload_id)
      VALUES (@bucket, @key, @size, @etag, @lastModified, @headers, @metadata, @checksum, @blobs, @inline, @uploadId)
      ON CONFLICT (bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, last_modified = excluded.last_modified,
        headers = excluded.headers, metadata = excluded.metadata, checksum = excluded.checksum, blobs = excluded.blobs, inline = excluded.inline,
        upload_id = excluded.upload_id`),
    deleteObject: db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?'),
    page: db.prepare<[string, string, string, number], Pick<ObjectRow, 'key' | 'size' | 'etag' | 'last_modified' | 'headers' | 'metadata'>>(
      'SELECT key, size, etag, last_modified, headers, metadata FROM objects WHERE bucket = ? AND key > ? AND key >= ? ORDER BY key LIMIT ?'),
    upload: db.prepare<[string], UploadRow>('SELECT * FROM uploads WHERE upload_id = ?'),
    insertUpload: db.prepare('INSERT INTO uploads (upload_id, bucket, key, initiated, headers, metadata, checksum_algorithm, checksum_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    deleteUpload: db.prepare('DELETE FROM uploads WHERE upload_id = ?'),
    bucketUploads: db.prepare<[string], { upload_id: string }>('SELECT upload_id FROM uploads WHERE bucket = ?'),
    uploadPage: db.prepare<[string, string, string, string, string, number], UploadRow>(
      `SELECT * FROM uploads WHERE bucket = ? AND key >= ? AND (key > ? OR (key = ? AND upload_id > ?)) ORDER BY key, upload_id LIMIT ?`),
    part: db.prepare<[string, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number = ?'),
    parts: db.prepare<[string, number, number], PartRow>('SELECT * FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?'),
    allParts: db.prepare<[string], PartRow>('SELECT * FROM parts WHERE upload_id = ? ORDER BY part_number'),
    upsertPart: db.prepare(`INSERT INTO parts (upload_id, part_number, size, etag, checksum, blob_id, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag, checksum = excluded.checksum,
        blob_id = excluded.blob_id, last_modified = excluded.last_modified`),
    deleteParts: db.prepare('DELETE FROM parts WHERE upload_id = ?'),
    uploadsBegunBefore: db.prepare<[number], { upload_id: string }>('SELECT upload_id FROM uploads WHERE initiated < ?'),
    blobLists: db.prepare<[], { blobs: string }>('SELECT blobs FROM objects'),
    partBlobs: db.prepare<[], { blob_id: string }>('SELECT blob_id FROM parts'),
    usage: db.prepare<[], { objects: number; bytes: number | null }>('SELECT count(*) AS objects, sum(size) AS bytes FROM objects'),
    partBytes: db.prepare<[], { bytes: number | null }>('SELECT sum(size) AS bytes FROM parts'),
    storedBytes: db.prepare<[], number>('SELECT bytes FROM stored_bytes').pluck(),
  };

  /** Removes the upload and its parts; returns the parts' blobs. */
  function dropUpload(uploadId: string): string[] {
    const blobs = s.allParts.all(uploadId).map((p) => p.blob_id);
    s.deleteParts.run(uploadId);
    s.deleteUpload.run(uploadId);
    return blobs;
  }

  return {
    close(): void {
      db.close();
      wal.then((handle) => handle.close(), () => undefined);
    },
    /** Resolves once every commit made before the call is on disk. */
    async durable(): Promise<void> {
      await (await wal).datasync();
    },
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),

    bucket: (name: string) => s.bucket.get(name),
    buckets: () => s.buckets.all(),
    bucketCount: () => s.bucketCount.get()!.n,
    createBucket: (name: string, at: number) => void s.insertBucket.run(name, at),
    /** Deletes the bucket and its unfinished uploads; returns the blobs of their parts. */
    deleteBucket(name: string): string[] {
      return db.transaction(() => {
        const blobs = s.bucketUploads.all(name).flatMap(({ upload_id }) => dropUpload(upload_id));
        s.deleteBucket.run(name);
        return blobs;
      })();
    },
    bucketIsEmpty: (name: string) => s.anyObject.get(name) === undefined,

    object(bucket: string, key: string): StoredObject | undefined {
      const row = s.object.get(bucket, key);
      return row && toObject(row);
    },
    /** Inserts or replaces; returns the replaced object's blobs, which the caller deletes once this commits. */
    putObject(object: StoredObject): readonly BlobRef[] {
      const previous = s.object.get(object.bucket, object.key);
      s.upsertObject.run({
        ...object, headers: JSON.stringify(object.headers), metadata: JSON.stringify(object.metadata),
        checksum: object.checksum ? JSON.stringify(object.checksum) : null, blobs: JSON.stringify(object.blobs), inline: object.inline ?? null,
        uploadId: object.uploadId ?? null,
      });
      return previous ? (JSON.parse(previous.blobs) as BlobRef[]) : [];
    },
    deleteObject(bucket: string, key: string): readonly BlobRef[] {
      const previous = s.object.get(bucket, key);
      if (!previous) return [];
      s.deleteObject.run(bucket, key);
      return JSON.parse(previous.blobs) as BlobRef[];
    },

    list(bucket: string, options: ListOptions): Listing {
      const { prefix, delimiter, maxKeys } = options;
      const objects: Listing['objects'][number][] = [];
      const commonPrefixes: string[] = [];
      let after = options.after;
      // Continuing after a common prefix skips everything under it.
      let lastPrefix = delimiter && after.startsWith(prefix) && after.endsWith(delimiter) && after.indexOf(delimiter, prefix.length) === after.length - delimiter.length ? after : undefined;
      let last: string | undefined;
      if (maxKeys === 0) return { objects, commonPrefixes, truncated: false };
      for (;;) {
        const rows = s.page.all(bucket, lastPrefix && lastPrefix >= after ? lastPrefix + AFTER_ALL : after, prefix, maxKeys + 1);
        if (rows.length === 0) return { objects, commonPrefixes, truncated: false, ...(last !== undefined ? { last } : {}) };
        let jumped = false;
        for (const row of rows) {
          if (!row.key.startsWith(prefix)) return { objects, commonPrefixes, truncated: false, ...(last !== undefined ? { last } : {}) };
          if (lastPrefix !== undefined && row.key.startsWith(lastPrefix)) {
            after = row.key;
            continue;
          }
          if (objects.length + commonPrefixes.length === maxKeys) return { objects, commonPrefixes, truncated: true, ...(last !== undefined ? { last } : {}) };
          const rolledUp = commonPrefixOf(row.key, prefix, delimiter);
          if (rolledUp !== undefined) {
            lastPrefix = rolledUp;
            commonPrefixes.push(lastPrefix);
            last = after = lastPrefix;
            jumped = true;
            break;
          }
          objects.push({ key: row.key, size: row.size, etag: row.etag, lastModified: row.last_modified, get headers() { return JSON.parse(row.headers) as StandardHeaders; }, get metadata() { return JSON.parse(row.metadata) as Record<string, string>; } });
          last = after = row.key;
        }
        if (!jumped && rows.length <= maxKeys) return { objects, commonPrefixes, truncated: false, ...(last !== undefined ? { last } : {}) };
      }
    },

    upload(uploadId: string): Upload | undefined {
      const row = s.upload.get(uploadId);
      return row && toUpload(row);
    },
    createUpload(upload: Upload): void {
      s.insertUpload.run(upload.uploadId, upload.bucket, upload.key, upload.initiated, JSON.stringify(upload.headers), JSON.stringify(upload.metadata), upload.checksumAlgorithm ?? null, upload.checksumType ?? null);
    },
    deleteUpload: dropUpload,
    /** Removes every upload begun before `at` (ms), with its parts; returns the parts' blobs. */
    deleteUploadsBegunBefore(at: number): string[] {
      return db.transaction(() => s.uploadsBegunBefore.all(at).flatMap(({ upload_id }) => dropUpload(upload_id)))();
    },
    uploads(bucket: string, prefix: string, keyMarker: string, uploadIdMarker: string, limit: number): Upload[] {
      return s.uploadPage.all(bucket, prefix, keyMarker, keyMarker, uploadIdMarker, limit).filter((u) => u.key.startsWith(prefix)).map(toUpload);
    },
    part(uploadId: string, partNumber: number): Part | undefined {
      const row = s.part.get(uploadId, partNumber);
      return row && toPart(row);
    },
    parts: (uploadId: string, afterPart: number, limit: number) => s.parts.all(uploadId, afterPart, limit).map(toPart),
    allParts: (uploadId: string) => s.allParts.all(uploadId).map(toPart),
    /** Inserts or replaces a part; returns the replaced part's blob. */
    putPart(uploadId: string, part: Part): string | undefined {
      const previous = s.part.get(uploadId, part.partNumber);
      s.upsertPart.run(uploadId, part.partNumber, part.size, part.etag, part.checksum ?? null, part.blobId, part.lastModified);
      return previous?.blob_id;
    },

    /** Every blob the metadata refers to, to tell crash leftovers from live data. */
    referencedBlobs(): Set<string> {
      const ids = new Set<string>();
      for (const row of s.blobLists.iterate()) for (const blob of JSON.parse(row.blobs) as BlobRef[]) ids.add(blob.id);
      for (const row of s.partBlobs.iterate()) ids.add(row.blob_id);
      return ids;
    },
    /** Bytes of every object and every part of unfinished uploads, as of this transaction; one row read. */
    storedBytes: (): number => s.storedBytes.get()!,
    usage() {
      const row = s.usage.get()!;
      return { objects: row.objects, bytes: (row.bytes ?? 0) + (s.partBytes.get()!.bytes ?? 0) };
    },
  };
}
export type ObjectIndex = ReturnType<typeof openObjectIndex>;
