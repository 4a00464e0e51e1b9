import type { z } from 'zod';
import { fail, ok, type Result } from '../support/result.js';
import type { PlatformCall } from './capability.js';

/** Validates an ABI call's JSON body; every problem is reported with its JSON path. */
export function parseBody<T>(call: PlatformCall, schema: z.ZodType<T>): Result<T, 'platform.bad_request'> {
  const parsed = schema.safeParse(call.body);
  if (parsed.success) return ok(parsed.data);
  const details = parsed.error.issues.map((i) => ({ path: `$${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`, message: i.message }));
  return fail('platform.bad_request', `invalid request body: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}
