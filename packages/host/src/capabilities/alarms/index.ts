import { z } from 'zod';
import { ok } from '../../support/result.js';
import type { Capability } from '../capability.js';
import { parseBody } from '../parse-body.js';
import { applyTables } from '../../store/control-plane.js';
import { ALARMS_ERRORS } from './errors.js';
import { createAlarms, type Alarms, type AlarmsDeps } from './service.js';
import { ALARMS_TABLES } from './store.js';

export { createAlarms, ALARM_PATH, type Alarms } from './service.js';
export { ALARMS_ERRORS, type AlarmsErrorCode } from './errors.js';

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

/** The whole vertical: its table, its timer, its routes, and what uninstall removes. */
export function createAlarmsVertical(deps: AlarmsDeps) {
  applyTables(deps.db, ALARMS_TABLES);
  const alarms = createAlarms(deps);
  const capability = {
    ...createAlarmCapability(alarms),
    tables: ALARMS_TABLES,
    errors: ALARMS_ERRORS,
    // An uninstalled app is not woken, data kept or not: a reinstall schedules again.
    removeApp: (appId) => { alarms.delete(appId); },
    start: alarms.start,
    beforeDrain: alarms.stop,
  } satisfies Capability;
  return { capability, alarms };
}
export type AlarmsVertical = ReturnType<typeof createAlarmsVertical>;
