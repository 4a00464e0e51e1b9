import { callPlatform, type PlinthEnv } from '../abi.js';

export interface AlarmClient {
  /** Replaces the app's one alarm; a time in the past fires at once. `onlyIfEarlier` keeps a sooner pending alarm. */
  set(when: Date | number, options?: { onlyIfEarlier?: boolean }): Promise<void>;
  /** The pending alarm's time, or null. */
  get(): Promise<Date | null>;
  /** True when an alarm was pending. */
  delete(): Promise<boolean>;
}

/** What the `alarm` handler receives. */
export interface AlarmInfo {
  readonly scheduledTime: Date;
  /** 0 on the first delivery; delivery is at least once, so handlers must tolerate a repeat. */
  readonly retryCount: number;
}

export function alarmClient(env: PlinthEnv): AlarmClient {
  return {
    set: async (when, options = {}) => {
      await callPlatform(env, 'PUT', '/v1/alarm', { scheduledTime: typeof when === 'number' ? when : when.getTime(), onlyIfEarlier: options.onlyIfEarlier ?? false });
    },
    get: async () => {
      const { scheduledTime } = await callPlatform<{ scheduledTime: number | null }>(env, 'GET', '/v1/alarm');
      return scheduledTime === null ? null : new Date(scheduledTime);
    },
    delete: async () => (await callPlatform<{ deleted: boolean }>(env, 'DELETE', '/v1/alarm')).deleted,
  };
}
