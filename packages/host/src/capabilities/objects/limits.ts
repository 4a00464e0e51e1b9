// Limits of the object store. S3's own limits where S3 has one, so tools that plan around
// them (multipart part sizes, 1000-key pages) behave the same here.

/** Largest single PUT (S3: 5 GiB); larger objects go through multipart upload. */
export const OBJECT_PUT_BYTES_MAX = 5 * 1024 ** 3;
/** Every part but the last is at least this large (S3: 5 MiB). */
export const PART_BYTES_MIN = 5 * 1024 ** 2;
export const PART_BYTES_MAX = 5 * 1024 ** 3;
export const PART_NUMBER_MAX = 10_000;
/** Unfinished multipart uploads are aborted this long after they began (R2's default: 7 days). */
export const UPLOAD_LIFETIME_MS = 7 * 24 * 3600_000;
/** How often open stores look for such uploads (each store also looks when it opens). */
export const UPLOAD_EXPIRY_INTERVAL_MS = 3600_000;
/** Object keys are at most 1024 bytes of UTF-8 (S3). */
export const KEY_BYTES_MAX = 1024;
/** User metadata: names and values of all `x-amz-meta-*` headers together (S3: 2 KiB). */
export const METADATA_BYTES_MAX = 2048;
/** One page of a listing, and one DeleteObjects call (S3: 1000). */
export const LIST_KEYS_MAX = 1000;
export const BUCKETS_PER_APP_MAX = 100;
/** One page of ListBuckets: `max-buckets` is 1 to this, and this is the page when it is not given (S3: 10 000). */
export const LIST_BUCKETS_MAX = 10_000;
/** Request bodies parsed as XML (CompleteMultipartUpload, DeleteObjects). 10,000 parts fit. */
export const XML_BODY_BYTES_MAX = 2 * 1024 ** 2;
/** Element nesting an XML request body may have: S3's bodies need 4 (`Delete/Object/Key`); deeper only overflows the parser's stack. */
export const XML_DEPTH_MAX = 32;
/** A signed request's date may differ from the host clock by this much either way (S3: 15 minutes). */
export const CLOCK_SKEW_MS = 15 * 60_000;
/** Presigned URLs live at most a week (SigV4). */
export const PRESIGN_SECONDS_MAX = 7 * 24 * 3600;
export const PRESIGN_SECONDS_DEFAULT = 3600;
/** One line of aws-chunked framing (`<hex size>;chunk-signature=<64 hex>` or a trailer). */
export const CHUNK_LINE_BYTES_MAX = 4096;
/** Trailers after the last aws-chunked chunk (clients send one checksum, and the signature). */
export const CHUNK_TRAILERS_MAX = 8;
/** Uploads and downloads may run for hours, but not stall: a connection silent this long is dropped (nginx's client_body_timeout). */
export const S3_IDLE_MS_DEFAULT = 60_000;
/** The region the endpoint reports; requests signed for any region are accepted. */
export const OBJECTS_REGION = 'us-east-1';
