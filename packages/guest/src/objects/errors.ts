import { PlinthError } from '../abi.js';

/**
 * Codes the objects ABI answers. The union is open (`string & {}`) because the host may add codes;
 * branch on the ones you handle and rethrow the rest.
 */
export type ObjectsErrorCode =
  | 'objects.no_such_key'
  | 'objects.no_such_bucket'
  | 'objects.precondition_failed'
  | 'objects.invalid_range'
  | 'objects.invalid_bucket_name'
  | 'objects.invalid_key'
  | 'objects.invalid_metadata'
  | 'objects.bucket_not_empty'
  | 'objects.quota_exceeded'
  | 'platform.bad_response'
  | (string & {});

/** An error from `plinth(env).objects`: the platform's `{ error: { code, message } }` and its HTTP status. */
export class ObjectsError extends PlinthError {
  declare readonly code: ObjectsErrorCode;
  constructor(code: ObjectsErrorCode, message: string, status: number) {
    super(code, message, status);
    // PlinthError fixes `name` as a class field; redefine it so logs and stack traces say which client threw.
    Object.defineProperty(this, 'name', { value: 'ObjectsError', enumerable: false, configurable: true, writable: false });
  }
}

/** Rethrows a PlinthError from a JSON call as an ObjectsError, so every objects call throws one type. */
export function asObjectsError(error: unknown): unknown {
  return error instanceof PlinthError && !(error instanceof ObjectsError) ? new ObjectsError(error.code, error.message, error.status) : error;
}

/** Reads the `{ error: { code, message } }` body of a failed raw call; `platform.bad_response` when it has none. */
export async function errorFromResponse(response: Response): Promise<ObjectsError> {
  const payload = (await response.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
  const code = payload?.error?.code;
  const message = payload?.error?.message;
  if (typeof code === 'string' && typeof message === 'string') return new ObjectsError(code, message, response.status);
  return new ObjectsError('platform.bad_response', `platform answered ${response.status}`, response.status);
}

/** The ABI code for S3's error name in a HEAD answer's `x-amz-error-code` (`NoSuchKey` → `objects.no_such_key`), as the JSON answers name it. */
export function errorCodeOfHead(response: Response): ObjectsErrorCode | undefined {
  const s3Code = response.headers.get('x-amz-error-code');
  if (!s3Code || !/^[A-Za-z0-9]+$/.test(s3Code)) return undefined;
  return `objects.${s3Code.replace(/SHA256/, 'Sha256').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;
}
