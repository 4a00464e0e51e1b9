/** Keys per `POST /v1/objects/buckets/:bucket/delete`, as S3's DeleteObjects and R2's `delete(keys)` allow; `delete` sends longer lists in batches of this size. */
export const DELETE_KEYS_COUNT_MAX = 1000;
