import { resolve } from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import { EGRESS_HEADERS_MS_MAX, EGRESS_RESPONSE_BYTES_MAX } from './capabilities/egress/limits.js';
import { UNIX_SOCKET_PATH_CHARS_MAX } from './runtime/limits.js';
import { SOCKET_MESSAGE_BYTES_CEILING, SOCKET_MESSAGE_BYTES_DEFAULT } from './capabilities/sockets/limits.js';
import { S3_IDLE_MS_DEFAULT } from './capabilities/objects/limits.js';
import { parseS3Backend, type S3Backend } from './capabilities/objects/remote-blob-store.js';
import { CEILING_ENV_NAMES, type AppCeilings } from './apps/ceilings.js';
import {
  APP_CONCURRENCY_CEILING_DEFAULT, APP_CONCURRENCY_MAX, APP_CONCURRENCY_MIN, APP_MEMORY_MB_CEILING_DEFAULT, APP_MEMORY_MB_MAX,
  APP_MEMORY_MB_MIN, APP_REQUEST_TIMEOUT_MS_CEILING_DEFAULT, APP_REQUEST_TIMEOUT_MS_MAX, APP_REQUEST_TIMEOUT_MS_MIN,
  APP_SOCKETS_CEILING_DEFAULT, APP_SOCKETS_MAX, APP_SOCKETS_MIN, APP_STORAGE_BYTES_QUOTA_DEFAULT, APP_STORAGE_BYTES_QUOTA_MAX,
  APP_STORAGE_BYTES_QUOTA_MIN,
} from './apps/limits.js';

/** Parses settings once at start; the result is frozen (STYLE §7). */
const settingsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().default('127.0.0.1'),
  data: z.string().min(1).default('./data'),
  baseUrl: z.url().optional(),
  trustedProxies: z.string().default('').refine(
    (value) => list(value).every(isAddressOrRange),
    { message: 'expected a comma list of IP addresses or CIDR ranges, e.g. 10.0.0.0/8,127.0.0.1' },
  ),
  isolation: z.enum(['auto', 'bwrap', 'none']).default('auto'),
  egressAllowPrivate: z.string().default('').refine(
    (value) => list(value).every((entry) => /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(entry)),
    { message: 'expected a comma list of host:port, e.g. 127.0.0.1:5432,db.internal:5432,[::1]:6379' },
  ),
  installExamples: z.enum(['true', 'false']).default('true'),
  idleStopMs: z.coerce.number().int().min(1000).max(86_400_000).default(5 * 60_000),
  egressTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(EGRESS_HEADERS_MS_MAX),
  egressResponseBytesMax: z.coerce.number().int().min(1024).max(1024 ** 3).default(EGRESS_RESPONSE_BYTES_MAX),
  socketMessageBytesMax: z.coerce.number().int().min(1024).max(SOCKET_MESSAGE_BYTES_CEILING).default(SOCKET_MESSAGE_BYTES_DEFAULT),
  // Five minutes: long enough for a migration of a large database, short enough that a hung one is noticed.
  afterUpdateTimeoutMs: z.coerce.number().int().min(100).max(3600_000).default(5 * 60_000),
  s3Port: z.coerce.number().int().min(0).max(65535).optional(),
  s3Backend: z.string().optional(),
  s3IdleTimeoutMs: z.coerce.number().int().min(1000).max(3600_000).default(S3_IDLE_MS_DEFAULT),
  // Ceilings on a manifest's limits; the defaults' reasons are in apps/limits.ts.
  appMemoryMbMax: z.coerce.number().int().min(APP_MEMORY_MB_MIN).max(APP_MEMORY_MB_MAX).default(APP_MEMORY_MB_CEILING_DEFAULT),
  appConcurrencyMax: z.coerce.number().int().min(APP_CONCURRENCY_MIN).max(APP_CONCURRENCY_MAX).default(APP_CONCURRENCY_CEILING_DEFAULT),
  appSocketsMax: z.coerce.number().int().min(APP_SOCKETS_MIN).max(APP_SOCKETS_MAX).default(APP_SOCKETS_CEILING_DEFAULT),
  appRequestTimeoutMsMax: z.coerce.number().int().min(APP_REQUEST_TIMEOUT_MS_MIN).max(APP_REQUEST_TIMEOUT_MS_MAX).default(APP_REQUEST_TIMEOUT_MS_CEILING_DEFAULT),
  appStorageBytesMax: z.coerce.number().int().min(APP_STORAGE_BYTES_QUOTA_MIN).max(APP_STORAGE_BYTES_QUOTA_MAX).default(APP_STORAGE_BYTES_QUOTA_DEFAULT),
});

export type Settings = z.infer<typeof settingsSchema>;

export interface Config {
  readonly port: number;
  readonly listenHost: string;
  readonly dataDir: string;
  readonly baseUrl: URL;
  /** host[:port] of the console origin, lower-case, as found in a Host header. */
  readonly baseHost: string;
  readonly trustedProxies: readonly string[];
  readonly isolation: 'auto' | 'bwrap' | 'none';
  readonly egressAllowPrivate: readonly string[];
  readonly installExamples: boolean;
  /** Idle time after which an app process is stopped (scale to zero). */
  readonly idleStopMs: number;
  /** Outbound: time for response headers, and the longest idle gap in a body. */
  readonly egressTimeoutMs: number;
  readonly egressResponseBytesMax: number;
  /** Largest WebSocket message either way; past it the socket closes with 1009. */
  readonly socketMessageBytesMax: number;
  /** Time the new version's POST /after-update has before the update fails. */
  readonly afterUpdateTimeoutMs: number;
  /** A second listener that answers the S3 API path-style for any Host (tools that address by IP). */
  readonly s3Port: number | undefined;
  /** An external S3 that stores object bytes instead of local files. */
  readonly s3Backend: S3Backend | undefined;
  /** The S3 endpoint drops a connection on which no byte has moved either way for this long. */
  readonly s3IdleTimeoutMs: number;
  /** The most a manifest's `limits` may ask for here; install, update and reload refuse more. */
  readonly appCeilings: AppCeilings;
  /** Bytes of objects and SQL databases one app may hold together. */
  readonly appStorageBytesMax: number;
}

const ENV_NAMES: Record<keyof Settings, string> = {
  port: 'PLINTH_PORT',
  host: 'PLINTH_HOST',
  data: 'PLINTH_DATA',
  baseUrl: 'PLINTH_BASE_URL',
  trustedProxies: 'PLINTH_TRUSTED_PROXIES',
  isolation: 'PLINTH_ISOLATION',
  egressAllowPrivate: 'PLINTH_EGRESS_ALLOW_PRIVATE',
  installExamples: 'PLINTH_INSTALL_EXAMPLES',
  idleStopMs: 'PLINTH_IDLE_STOP_MS',
  egressTimeoutMs: 'PLINTH_EGRESS_TIMEOUT_MS',
  egressResponseBytesMax: 'PLINTH_EGRESS_RESPONSE_BYTES_MAX',
  socketMessageBytesMax: 'PLINTH_SOCKET_MESSAGE_BYTES_MAX',
  afterUpdateTimeoutMs: 'PLINTH_AFTER_UPDATE_TIMEOUT_MS',
  s3Port: 'PLINTH_S3_PORT',
  s3Backend: 'PLINTH_S3_BACKEND',
  s3IdleTimeoutMs: 'PLINTH_S3_IDLE_TIMEOUT_MS',
  appMemoryMbMax: CEILING_ENV_NAMES.memoryMb,
  appConcurrencyMax: CEILING_ENV_NAMES.concurrency,
  appSocketsMax: CEILING_ENV_NAMES.sockets,
  appRequestTimeoutMsMax: CEILING_ENV_NAMES.requestTimeoutMs,
  appStorageBytesMax: 'PLINTH_APP_STORAGE_BYTES_MAX',
};

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Flags win over environment variables; both fall back to defaults that work on one machine. */
export function loadConfig(flags: Partial<Record<keyof Settings, string>>, env: NodeJS.ProcessEnv): Config {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(ENV_NAMES) as (keyof Settings)[]) {
    raw[key] = flags[key] ?? env[ENV_NAMES[key]];
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${ENV_NAMES[i.path[0] as keyof Settings] ?? i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid settings: ${problems.join('; ')}`);
  }
  const s = parsed.data;
  const dataDir = resolve(s.data);
  // Unix socket paths are capped at 107 bytes; the longest is <data>/run/<31-char app id>.<generation>/platform.sock.
  const longestSocket = `${dataDir}/run/${'x'.repeat(31)}.999999/platform.sock`;
  if (longestSocket.length > UNIX_SOCKET_PATH_CHARS_MAX) {
    throw new ConfigError(`PLINTH_DATA: ${dataDir} is too long for app sockets (at most ${dataDir.length - (longestSocket.length - UNIX_SOCKET_PATH_CHARS_MAX)} characters here); choose a shorter folder`);
  }
  const baseUrl = new URL(s.baseUrl ?? `http://localhost:${s.port}`);
  let s3Backend: S3Backend | undefined;
  try {
    s3Backend = s.s3Backend ? parseS3Backend(s.s3Backend) : undefined;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return Object.freeze({
    port: s.port,
    listenHost: s.host,
    dataDir,
    baseUrl,
    baseHost: baseUrl.host.toLowerCase(),
    trustedProxies: Object.freeze(list(s.trustedProxies)),
    isolation: s.isolation,
    egressAllowPrivate: Object.freeze(list(s.egressAllowPrivate)),
    installExamples: s.installExamples === 'true',
    idleStopMs: s.idleStopMs,
    egressTimeoutMs: s.egressTimeoutMs,
    egressResponseBytesMax: s.egressResponseBytesMax,
    socketMessageBytesMax: s.socketMessageBytesMax,
    afterUpdateTimeoutMs: s.afterUpdateTimeoutMs,
    s3Port: s.s3Port,
    s3Backend,
    s3IdleTimeoutMs: s.s3IdleTimeoutMs,
    appCeilings: Object.freeze({ memoryMb: s.appMemoryMbMax, concurrency: s.appConcurrencyMax, sockets: s.appSocketsMax, requestTimeoutMs: s.appRequestTimeoutMsMax }),
    appStorageBytesMax: s.appStorageBytesMax,
  });
}

/** A startup failure the operator must fix; printed as one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
