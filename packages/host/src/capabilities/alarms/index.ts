import { z } from 'zod';
import { ok } from '../../support/result.js';
import type { Capability } from '../capability.js';
import { parseBody } from '../parse-body.js';
import type { Alarms } from './service.js';

export { createAlarms, ALARM_PATH, type Alarms } from './service.js';

const setSchema = z.object({ scheduledTime: z.number(), onlyIfEarlier: z.boolean().default(false) }).strict();

/** `alarm`: one wake-up per app (CONTRACT §5); the guest job runner builds on it. */
export function createAlarmCapability(alarms: Alarms) {
  return {
    name: 'alarm',
    routes: {
      'GET /v1/alarm': (call) => ok({ scheduledTime: alarms.get(call.appId) }),
      'PUT /v1/alarm': (call) => {
        const body = parseBody(call, setSchema);
        return body.ok ? alarms.set(call.appId, body.value.scheduledTime, body.value.onlyIfEarlier) : body;
      },
      'DELETE /v1/alarm': (call) => ok({ deleted: alarms.delete(call.appId) }),
    },
  } satisfies Capability;
}
