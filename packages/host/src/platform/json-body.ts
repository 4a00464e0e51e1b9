import { NotJson, parseJsonInBackground } from '../support/background-thread.js';
import { PLATFORM_LARGE_BODY_BYTES_MIN } from './limits.js';

export { NotJson };

/** The JSON in a platform-call body (undefined when empty): small bodies inline, large ones in the background thread. */
export async function parseJsonBody(bytes: Buffer): Promise<unknown> {
  if (bytes.length === 0) return undefined;
  if (bytes.length >= PLATFORM_LARGE_BODY_BYTES_MIN) return parseJsonInBackground(bytes);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new NotJson((error as Error).message);
  }
}
