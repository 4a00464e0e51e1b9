/** Time allowed from spawn to a listening app socket; workerd needs ~150 ms here, so 10 s means it is stuck. */
export const START_MS_MAX = 10_000;
/** How often the supervisor polls for the app socket while starting: small, as it sits on cold-start latency. */
export const START_POLL_MS = 3;
/** Grace given to a process between SIGTERM and SIGKILL on stop. */
export const STOP_GRACE_MS = 2_000;
/** First delay before restarting a crashed process; doubled per consecutive crash. */
export const RESTART_BACKOFF_MS_MIN = 100;
/** Cap on the restart delay, so a fixed app comes back within this time. */
export const RESTART_BACKOFF_MS_MAX = 10_000;
/** A process that ran this long without crashing resets the backoff. */
export const CRASH_WINDOW_MS = 60_000;
/** How often RSS is read from /proc to enforce `limits.memoryMb` while a process serves nothing. */
export const MEMORY_POLL_MS = 1_000;
/**
 * The same while it has requests in flight: an allocator can add ~1 GB/s, so 25 ms keeps the
 * overshoot past `memoryMb` to tens of MB. A read of /proc for one process tree costs ~50 µs.
 */
export const MEMORY_POLL_MS_BUSY = 25;
/**
 * After a request of a process timed out, its CPU use is measured over this window; JavaScript
 * that keeps spinning after its caller got a 504 would otherwise burn a core until the idle stop.
 */
export const CPU_RUNAWAY_WINDOW_MS = 2_000;
/** Share of that window the process ran or waited to run (it wanted a core) that counts as still spinning: it is then killed. */
export const CPU_RUNAWAY_SHARE_MIN = 0.8;
/** How often idle processes are looked for. */
export const IDLE_SWEEP_MS = 1_000;
/** A JSON answer to a platform call (after-update, alarm) is a small status; past this the call fails, so a runaway answer cannot fill the daemon's memory. */
export const CALL_JSON_ANSWER_BYTES_MAX = 16 * 1024 * 1024;
/** Requests may wait this long for a free slot under `limits.concurrency` before a 503. */
export const QUEUE_WAIT_MS_MAX = 2_000;
/** Waiting requests per app, as a multiple of its concurrency limit; more than that is a flood. */
export const QUEUE_LENGTH_FACTOR = 4;
/** Seconds a client is told to wait after a 503 from the concurrency cap. */
export const RETRY_AFTER_SECONDS = 1;
/** Console log file size before it is rotated to `console.log.1`; two files bound disk use per app. */
export const LOG_FILE_BYTES_MAX = 8 * 1024 * 1024;
/** A single console line longer than this is cut, so one huge log call cannot fill the file. */
export const LOG_LINE_CHARS_MAX = 8 * 1024;
/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
export const UNIX_SOCKET_PATH_CHARS_MAX = 107;
/** Time requests in flight on an old version get to finish after an update switched away from it. */
export const DRAIN_MS_MAX = 30_000;
/** compatibilityDate given to every app's workerd; bump it deliberately, it changes runtime behaviour. */
export const WORKERD_COMPATIBILITY_DATE = '2025-09-01';
/**
 * The uid and gid a sandboxed process has inside its user namespace: not 0, so nothing inside
 * believes it is root, and not 65534, the kernel's overflow id that files of unmapped owners show.
 * Outside the namespace it is still the daemon's own uid (bwrap maps only that one).
 */
export const SANDBOX_UID = 10001;
export const SANDBOX_GID = 10001;
/** The probe that checks bwrap can build the sandbox here takes ~10 ms; 5 s means it hangs. */
export const SANDBOX_PROBE_MS_MAX = 5_000;
