import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, Readable, Writable } from 'node:stream';
import type { BlobStore } from './blob-store.js';
import { fullObjectCrc, runningChecksum, type ChecksumAlgorithm, type ChecksumType, type Digests } from './checksums.js';
import { S3Error } from './errors.js';
import { BUCKETS_PER_APP_MAX, KEY_BYTES_MAX, PART_BYTES_MIN, PART_NUMBER_MAX, UPLOAD_EXPIRY_INTERVAL_MS, UPLOAD_LIFETIME_MS } from './limits.js';
import { openObjectIndex, type BlobRef, type ListOptions, type ObjectIndex, type Part, type StandardHeaders, type StoredChecksum, type StoredObject, type Upload } from './object-index.js';

export interface ObjectsServiceDeps {
  /** `<app data>/objects`: the index lives there, and local blobs beside it. */
  readonly objectsDirOf: (appId: string) => string;
  readonly blobs: BlobStore;
  readonly now: () => number;
  readonly onError: (appId: string, error: unknown) => void;
  /** Bytes an app's objects and SQL databases may hold together (PLINTH_APP_STORAGE_BYTES_MAX). */
  readonly storageBytesMax: number;
  /** What the app's SQL databases hold now, which shares the quota. */
  readonly sqlBytes: (appId: string) => number;
}

/** Streams a body into the sink and returns what it measured; throws S3Error to refuse it. */
export type Fill = (sink: Writable) => Promise<Digests>;

export interface NewObject {
  readonly bucket: string;
  readonly key: string;
  readonly headers: StandardHeaders;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Conditional writes (S3's If-Match / If-None-Match on PUT), checked atomically with the commit. */
export interface WriteCondition {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
}

/**
 * Conditional deletes (S3's If-Match, x-amz-if-match-size, x-amz-if-match-last-modified-time, or
 * a DeleteObjects entry's ETag, Size and LastModifiedTime), checked in the transaction that deletes.
 */
export interface DeleteCondition {
  readonly ifMatch?: string;
  readonly size?: number;
  /** Compared in whole seconds, the precision of the HTTP date the client read it from. */
  readonly lastModified?: number;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly checksum?: string;
}

/** What a CompleteMultipartUpload says the object will be (x-amz-checksum-*, x-amz-mp-object-size), checked before it commits. */
export interface ExpectedObject {
  readonly checksum?: string;
  readonly size?: number;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_LIKE = /^\d+\.\d+\.\d+\.\d+$/;

function checkBucketName(name: string): void {
  if (!BUCKET_NAME.test(name) || name.includes('..') || IPV4_LIKE.test(name) || name.startsWith('xn--')) {
    throw new S3Error('InvalidBucketName', `bucket names are 3 to 63 of a-z 0-9 . - starting and ending with a letter or digit (got ${JSON.stringify(name.slice(0, 80))})`, { BucketName: name.slice(0, 80) });
  }
}

export function checkKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'an object key must not be empty');
  if (Buffer.byteLength(key) > KEY_BYTES_MAX) throw new S3Error('KeyTooLongError', `Your key is too long: at most ${KEY_BYTES_MAX} bytes of UTF-8`);
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

/** Whether an If-Match / If-None-Match list names this ETag (`*` matches any). */
export function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((item) => item.trim() === '*' || unquote(item) === etag);
}

/**
 * The object store of every app: one SQLite index per app (opened on first use) and a blob store.
 * A write streams its bytes into a new blob, which is durable before the index commits the
 * object; the replaced blob is deleted after the commit. A crash at any point leaves the old
 * object or the new one, plus at worst an unreferenced blob that the next open sweeps.
 */
export function createObjectsService(deps: ObjectsServiceDeps) {
  const indexes = new Map<string, ObjectIndex>();

  function indexOf(appId: string): ObjectIndex {
    let index = indexes.get(appId);
    if (!index) {
      const dir = deps.objectsDirOf(appId);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      index = openObjectIndex(join(dir, 'objects.db'));
      indexes.set(appId, index);
      const referenced = index.referencedBlobs();
      deps.blobs.sweep(appId, (id) => referenced.has(id)).catch((error: unknown) => deps.onError(appId, error));
      expireUploads(appId, index);
    }
    return index;
  }

  /** Aborts the app's multipart uploads begun more than UPLOAD_LIFETIME_MS ago, so abandoned parts do not fill the disk. */
  function expireUploads(appId: string, index: ObjectIndex): void {
    const blobs = index.deleteUploadsBegunBefore(deps.now() - UPLOAD_LIFETIME_MS);
    if (blobs.length) discard(appId, blobs);
  }
  const expiry = setInterval(() => {
    for (const [appId, index] of indexes) {
      try {
        expireUploads(appId, index);
      } catch (error) {
        deps.onError(appId, error);
      }
    }
  }, UPLOAD_EXPIRY_INTERVAL_MS);
  expiry.unref();

  /**
   * The storage quota. A change that adds bytes is refused when objects and databases would then
   * hold more than the quota; one that adds none (a delete, a smaller overwrite, completing an
   * upload, whose parts counted as they arrived) always passes, so an app over a lowered quota
   * can get back under it. `before` and `after` are the object bytes around the change.
   */
  function checkQuota(appId: string, before: number, after: number): void {
    if (after <= before) return;
    const used = before + deps.sqlBytes(appId);
    if (used + (after - before) <= deps.storageBytesMax) return;
    throw new S3Error('QuotaExceeded', `this app's objects and databases may hold ${deps.storageBytesMax} bytes together (PLINTH_APP_STORAGE_BYTES_MAX); they hold ${used}, and this write would add ${after - before}. Delete something first`);
  }

  /** Runs a change of the index in one transaction and undoes it if it takes the app past its quota. */
  function withinQuota<T>(appId: string, index: ObjectIndex, change: () => T): T {
    return index.transaction(() => {
      const before = index.storedBytes();
      const result = change();
      checkQuota(appId, before, index.storedBytes());
      return result;
    });
  }

  function bucketOrThrow(index: ObjectIndex, bucket: string): void {
    if (!index.bucket(bucket)) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
  }

  /**
   * Blobs an open read streams from (`<app>/<blob>` → readers), and those of them already replaced:
   * a GET that began before an overwrite or delete reads the old bytes to the end (a multipart
   * object's later parts are opened only when reached), and the blobs go when the last reader ends.
   */
  const reading = new Map<string, number>();
  const replacedWhileRead = new Set<string>();

  /** Once the commit that dropped them is durable (else power loss could bring back rows without bytes). */
  function discard(appId: string, ids: readonly string[]): void {
    const now = ids.filter((id) => {
      if (!reading.has(`${appId}/${id}`)) return true;
      replacedWhileRead.add(`${appId}/${id}`);
      return false;
    });
    if (now.length) durable(appId).then(() => deps.blobs.remove(appId, now)).catch((error: unknown) => deps.onError(appId, error));
  }

  /** Resolves once the app's committed metadata is on disk. */
  function durable(appId: string): Promise<void> {
    return indexOf(appId).durable();
  }

  /** Marks the blobs as read until the stream ends, errs or is destroyed. Synchronous, so before any commit can discard them. */
  function holdWhileRead(appId: string, blobs: readonly BlobRef[], opened: Promise<Readable>): Promise<Readable> {
    const names = [...new Set(blobs.map((b) => `${appId}/${b.id}`))];
    for (const name of names) reading.set(name, (reading.get(name) ?? 0) + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      const free: string[] = [];
      for (const name of names) {
        const left = reading.get(name)! - 1;
        if (left > 0) reading.set(name, left);
        else {
          reading.delete(name);
          if (replacedWhileRead.delete(name)) free.push(name.slice(appId.length + 1));
        }
      }
      discard(appId, free);
    };
    return opened.then((stream) => {
      finished(stream, release);
      return stream;
    }, (error: unknown) => {
      release();
      throw error;
    });
  }

  /** The open upload, or undefined; NoSuchBucket when the bucket is gone. */
  function findUpload(appId: string, bucket: string, key: string, uploadId: string): Upload | undefined {
    const index = indexOf(appId);
    bucketOrThrow(index, bucket);
    const upload = index.upload(uploadId);
    return upload && upload.bucket === bucket && upload.key === key ? upload : undefined;
  }

  function objectOrThrow(index: ObjectIndex, bucket: string, key: string): StoredObject {
    bucketOrThrow(index, bucket);
    const object = index.object(bucket, key);
    if (!object) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    return object;
  }

  function checkCondition(index: ObjectIndex, bucket: string, key: string, condition: WriteCondition): void {
    if (!condition.ifMatch && !condition.ifNoneMatch) return;
    const current = index.object(bucket, key);
    if (condition.ifNoneMatch && current && etagListMatches(condition.ifNoneMatch, current.etag)) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
    if (condition.ifMatch && !current) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (condition.ifMatch && current && !etagListMatches(condition.ifMatch, current.etag)) throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' });
  }

  /** Writes a blob; the caller commits it or it is deleted. */
  async function writeBlob(appId: string, fill: Fill): Promise<{ blob: BlobRef; digests: Digests }> {
    let digests: Digests | undefined;
    const id = await deps.blobs.write(appId, async (sink) => { digests = await fill(sink); });
    return { blob: { id, size: digests!.size }, digests: digests! };
  }

  /** Commits a written blob as an object, durably, or deletes the blob if the commit is refused. */
  async function commit(appId: string, index: ObjectIndex, object: StoredObject, condition: WriteCondition = {}): Promise<StoredObject> {
    let replaced: readonly BlobRef[];
    try {
      replaced = withinQuota(appId, index, () => {
        bucketOrThrow(index, object.bucket);
        checkCondition(index, object.bucket, object.key, condition);
        return index.putObject(object);
      });
    } catch (error) {
      discard(appId, object.blobs.map((b) => b.id));
      throw error;
    }
    await index.durable();
    discard(appId, replaced.map((b) => b.id));
    return object;
  }

  function readObject(appId: string, object: StoredObject, start: number, end: number): Promise<Readable> {
    if (object.inline) return Promise.resolve(Readable.from([object.inline.subarray(start, end + 1)]));
    return holdWhileRead(appId, object.blobs, openBlobs(appId, object.blobs, start, end));
  }

  /** Receives a small body into memory; more than `sizeMax` bytes is refused (a lying length must not fill memory). */
  async function fillInline(fill: Fill, sizeMax: number): Promise<{ data: Buffer; digests: Digests }> {
    const chunks: Buffer[] = [];
    let size = 0;
    const digests = await fill(new Writable({
      write(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > sizeMax) return done(new S3Error('IncompleteBody', 'the body is longer than its declared length'));
        chunks.push(chunk);
        done();
      },
    }));
    return { data: Buffer.concat(chunks), digests };
  }

  function openBlobs(appId: string, blobs: readonly BlobRef[], start: number, end: number): Promise<Readable> {
    if (blobs.length === 1) return deps.blobs.read(appId, blobs[0]!.id, start, end);
    async function* concatenated() {
      let offset = 0;
      for (const blob of blobs) {
        const from = Math.max(start, offset);
        const to = Math.min(end, offset + blob.size - 1);
        if (from <= to) yield* await deps.blobs.read(appId, blob.id, from - offset, to - offset);
        offset += blob.size;
        if (offset > end) break;
      }
    }
    return Promise.resolve(Readable.from(concatenated(), { objectMode: false }));
  }

  return {
    listBuckets: (appId: string) => indexOf(appId).buckets().map((b) => ({ name: b.name, created: b.created_at })),
    /** Creates the bucket; `false` when the app already owns it. */
    createBucket(appId: string, name: string): boolean {
      checkBucketName(name);
      const index = indexOf(appId);
      return index.transaction(() => {
        if (index.bucket(name)) return false;
        if (index.bucketCount() >= BUCKETS_PER_APP_MAX) throw new S3Error('TooManyBuckets', `an app has at most ${BUCKETS_PER_APP_MAX} buckets`);
        index.createBucket(name, deps.now());
        return true;
      });
    },
    headBucket: (appId: string, name: string) => bucketOrThrow(indexOf(appId), name),
    deleteBucket(appId: string, name: string): void {
      const index = indexOf(appId);
      const blobs = index.transaction(() => {
        bucketOrThrow(index, name);
        if (!index.bucketIsEmpty(name)) throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
        return index.deleteBucket(name);
      });
      discard(appId, blobs);
    },

    head: (appId: string, bucket: string, key: string) => objectOrThrow(indexOf(appId), bucket, key),
    /** Fails fast, before a body is read, when the bucket is missing. */
    checkBucket: (appId: string, bucket: string) => bucketOrThrow(indexOf(appId), bucket),
    read: readObject,

    /** `sizeHint`: the declared length, when known; small bodies then go inline. */
    async put(appId: string, target: NewObject, fill: Fill, condition: WriteCondition = {}, sizeHint?: number): Promise<StoredObject> {
      checkKey(target.key);
      const index = indexOf(appId);
      bucketOrThrow(index, target.bucket);
      checkCondition(index, target.bucket, target.key, condition);
      // A declared length past the quota is refused before a byte of the body is read.
      if (sizeHint !== undefined) {
        const stored = index.storedBytes();
        checkQuota(appId, stored, stored - (index.object(target.bucket, target.key)?.size ?? 0) + sizeHint);
      }
      const small = sizeHint !== undefined && deps.blobs.inlineBytesMax > 0 && sizeHint <= deps.blobs.inlineBytesMax;
      const { blobs, inline, digests } = small
        ? await fillInline(fill, sizeHint).then(({ data, digests: d }) => ({ blobs: [], inline: data, digests: d }))
        : await writeBlob(appId, fill).then(({ blob, digests: d }) => ({ blobs: [blob], inline: undefined, digests: d }));
      return commit(appId, index, {
        ...target, size: digests.size, etag: digests.md5.toString('hex'), lastModified: deps.now(), blobs,
        ...(inline ? { inline } : {}),
        ...(digests.checksum ? { checksum: { ...digests.checksum, type: 'FULL_OBJECT' } } : {}),
      }, condition);
    },

    delete(appId: string, bucket: string, key: string, condition: DeleteCondition = {}): void {
      const index = indexOf(appId);
      const blobs = index.transaction(() => {
        bucketOrThrow(index, bucket);
        checkDeleteCondition(index.object(bucket, key), key, condition);
        return index.deleteObject(bucket, key);
      });
      discard(appId, blobs.map((b) => b.id));
    },

    list(appId: string, bucket: string, options: ListOptions) {
      const index = indexOf(appId);
      bucketOrThrow(index, bucket);
      return index.list(bucket, options);
    },

    createUpload(appId: string, target: NewObject, checksum: { algorithm: ChecksumAlgorithm; type: ChecksumType } | undefined): Upload {
      checkKey(target.key);
      const index = indexOf(appId);
      bucketOrThrow(index, target.bucket);
      const upload: Upload = { ...target, uploadId: randomBytes(24).toString('base64url'), initiated: deps.now(), ...(checksum ? { checksumAlgorithm: checksum.algorithm, checksumType: checksum.type } : {}) };
      index.createUpload(upload);
      return upload;
    },
    upload(appId: string, bucket: string, key: string, uploadId: string): Upload {
      const upload = findUpload(appId, bucket, key, uploadId);
      if (!upload) throw noSuchUpload(uploadId);
      return upload;
    },
    findUpload,
    /**
     * A repeated CompleteMultipartUpload (S3 answers a retry with the same result): the object the
     * upload made, while it is still the key's object and `requested` names the parts it was made of.
     */
    completedUpload(appId: string, bucket: string, key: string, uploadId: string, requested: readonly CompletedPart[]): StoredObject {
      const index = indexOf(appId);
      bucketOrThrow(index, bucket);
      const object = index.object(bucket, key);
      if (!object || object.uploadId !== uploadId || multipartEtag(requested.map((p) => unquote(p.etag))) !== object.etag) throw noSuchUpload(uploadId);
      return object;
    },
    /** The stored part, and the checksum as received (its algorithm is the caller's choice, or the upload's). */
    async putPart(appId: string, upload: Upload, partNumber: number, fill: Fill, sizeHint?: number): Promise<{ part: Part; checksum?: Digests['checksum'] }> {
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > PART_NUMBER_MAX) throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${PART_NUMBER_MAX}, inclusive`);
      const index = indexOf(appId);
      if (sizeHint !== undefined) {
        const stored = index.storedBytes();
        checkQuota(appId, stored, stored - (index.part(upload.uploadId, partNumber)?.size ?? 0) + sizeHint);
      }
      const { blob, digests } = await writeBlob(appId, fill);
      const part: Part = { partNumber, size: blob.size, etag: digests.md5.toString('hex'), blobId: blob.id, lastModified: deps.now(), ...(digests.checksum ? { checksum: digests.checksum.value } : {}) };
      let replaced: string | undefined;
      try {
        replaced = withinQuota(appId, index, () => {
          if (!index.upload(upload.uploadId)) throw noSuchUpload(upload.uploadId);
          return index.putPart(upload.uploadId, part);
        });
      } catch (error) {
        discard(appId, [blob.id]);
        throw error;
      }
      // Once committed, the row names the new blob: only the part it replaced may go, and only once on disk.
      await index.durable();
      if (replaced) discard(appId, [replaced]);
      return { part, ...(digests.checksum ? { checksum: digests.checksum } : {}) };
    },
    listParts: (appId: string, upload: Upload, afterPart: number, limit: number) => indexOf(appId).parts(upload.uploadId, afterPart, limit),
    listUploads: (appId: string, bucket: string, prefix: string, keyMarker: string, uploadIdMarker: string, limit: number) => {
      const index = indexOf(appId);
      bucketOrThrow(index, bucket);
      return index.uploads(bucket, prefix, keyMarker, uploadIdMarker, limit);
    },
    abortUpload(appId: string, upload: Upload): void {
      const index = indexOf(appId);
      discard(appId, index.transaction(() => index.deleteUpload(upload.uploadId)));
    },
    /** Joins the named parts into the object (no bytes are copied: the object lists the parts' blobs). */
    async completeUpload(appId: string, upload: Upload, requested: readonly CompletedPart[], condition: WriteCondition = {}, expected: ExpectedObject = {}): Promise<StoredObject> {
      const index = indexOf(appId);
      const { object, leftovers } = withinQuota(appId, index, () => {
        if (!index.upload(upload.uploadId)) throw noSuchUpload(upload.uploadId);
        bucketOrThrow(index, upload.bucket);
        checkCondition(index, upload.bucket, upload.key, condition);
        // The list's order is checked before any part is looked up: a part named twice is out of order, whichever ETag it has.
        if (requested.some((want, i) => i > 0 && want.partNumber <= requested[i - 1]!.partNumber)) throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
        const stored = new Map(index.allParts(upload.uploadId).map((p) => [p.partNumber, p]));
        const chosen: Part[] = [];
        requested.forEach((want) => {
          const part = stored.get(want.partNumber);
          if (!part || unquote(want.etag) !== part.etag) throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.', { PartNumber: String(want.partNumber), ETag: want.etag });
          if (want.checksum !== undefined && part.checksum !== undefined && want.checksum !== part.checksum) throw new S3Error('InvalidPart', `part ${want.partNumber}'s checksum does not match the one given`);
          chosen.push(part);
        });
        chosen.forEach((part, i) => {
          if (i < chosen.length - 1 && part.size < PART_BYTES_MIN) throw new S3Error('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed size: every part but the last is at least ${PART_BYTES_MIN} bytes`, { PartNumber: String(part.partNumber), ProposedSize: String(part.size), MinSizeAllowed: String(PART_BYTES_MIN) });
        });
        const completed: StoredObject = {
          bucket: upload.bucket, key: upload.key, headers: upload.headers, metadata: upload.metadata,
          size: chosen.reduce((sum, p) => sum + p.size, 0), etag: multipartEtag(chosen.map((p) => p.etag)), lastModified: deps.now(),
          blobs: chosen.map((p) => ({ id: p.blobId, size: p.size })), uploadId: upload.uploadId,
          ...uploadChecksum(upload, chosen),
        };
        checkExpected(completed, expected);
        const used = new Set(chosen.map((p) => p.blobId));
        const unused = index.deleteUpload(upload.uploadId).filter((id) => !used.has(id));
        return { object: completed, leftovers: [...unused, ...index.putObject(completed).map((b) => b.id)] };
      });
      await index.durable();
      discard(appId, leftovers);
      return object;
    },


    durable,
    usage: (appId: string) => indexOf(appId).usage(),
    /** Bytes the app's objects and unfinished uploads hold; 0, without creating a store, for an app that never used one. */
    storedBytes(appId: string): number {
      const index = indexes.get(appId);
      if (index) return index.storedBytes();
      return existsSync(join(deps.objectsDirOf(appId), 'objects.db')) ? indexOf(appId).storedBytes() : 0;
    },
    async removeApp(appId: string): Promise<void> {
      indexes.get(appId)?.close();
      indexes.delete(appId);
      await deps.blobs.removeApp(appId);
      await rm(deps.objectsDirOf(appId), { recursive: true, force: true });
    },
    close(): void {
      clearInterval(expiry);
      for (const index of indexes.values()) index.close();
      indexes.clear();
    },
  };
}
export type ObjectsService = ReturnType<typeof createObjectsService>;

const noSuchUpload = (uploadId: string) => new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });

/** A multipart object's ETag: the MD5 of its parts' MD5s (hex ETags), then `-<parts>`. */
function multipartEtag(partEtags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const etag of partEtags) md5.update(Buffer.from(etag, 'hex'));
  return `${md5.digest('hex')}-${partEtags.length}`;
}

/**
 * If-Match names an object that must exist (AWS: If-Match `*` checks "that the object exists before
 * deleting it"), so a missing one is NoSuchKey; size and time hold for a missing object (204, as documented).
 */
function checkDeleteCondition(current: StoredObject | undefined, key: string, condition: DeleteCondition): void {
  const failed = (name: string) => new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: name });
  if (condition.ifMatch !== undefined) {
    if (!current) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (!etagListMatches(condition.ifMatch, current.etag)) throw failed('If-Match');
  }
  if (!current) return;
  if (condition.size !== undefined && condition.size !== current.size) throw failed('x-amz-if-match-size');
  if (condition.lastModified !== undefined && Math.floor(condition.lastModified / 1000) !== Math.floor(current.lastModified / 1000)) throw failed('x-amz-if-match-last-modified-time');
}

/**
 * S3's checksum of a multipart object: COMPOSITE is the checksum of the parts' checksums, with
 * `-N`; FULL_OBJECT the CRC of all the bytes, combined from the parts' CRCs. None if a part has none.
 */
function uploadChecksum(upload: Upload, parts: readonly Part[]): { checksum?: StoredChecksum } {
  const algorithm = upload.checksumAlgorithm;
  if (!algorithm || parts.some((p) => p.checksum === undefined)) return {};
  if (upload.checksumType === 'FULL_OBJECT') {
    return { checksum: { algorithm, value: fullObjectCrc(algorithm, parts.map((p) => ({ checksum: p.checksum!, size: p.size }))), type: 'FULL_OBJECT' } };
  }
  const running = runningChecksum(algorithm);
  for (const part of parts) running.update(Buffer.from(part.checksum!, 'base64'));
  return { checksum: { algorithm, value: `${running.digest().toString('base64')}-${parts.length}`, type: 'COMPOSITE' } };
}

/** A composite checksum may be given with or without its `-N`, as clients print either. */
function checkExpected(object: StoredObject, expected: ExpectedObject): void {
  if (expected.checksum !== undefined) {
    const value = object.checksum?.value;
    const matches = value !== undefined && (expected.checksum === value || (object.checksum!.type === 'COMPOSITE' && expected.checksum === value.replace(/-\d+$/, '')));
    if (!matches) throw new S3Error('BadDigest', `The ${object.checksum?.algorithm.toUpperCase() ?? 'checksum'} you specified did not match the calculated checksum.`);
  }
  if (expected.size !== undefined && expected.size !== object.size) {
    throw new S3Error('InvalidRequest', `x-amz-mp-object-size is ${expected.size}, but the parts hold ${object.size} bytes`);
  }
}
