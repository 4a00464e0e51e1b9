/** Time the app has to handle one alarm call. */
export const ALARM_CALL_MS_MAX = 60_000;
/** Retries after a failed alarm call (Durable Objects retry 6 times); then the alarm is dropped and logged. */
export const ALARM_RETRIES_MAX = 6;
/** First retry delay, doubled per attempt: 2 s, 4 s … 64 s. */
export const ALARM_RETRY_MS_MIN = 2_000;
/** The furthest future an alarm may be set: ten years catches unit mistakes (seconds vs milliseconds). */
export const ALARM_FUTURE_MS_MAX = 10 * 365 * 24 * 3600_000;
/** Longest single timer; a longer wait is re-armed, as setTimeout tops out near 24.8 days. */
export const ALARM_TIMER_MS_MAX = 3600_000;
