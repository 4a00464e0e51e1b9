export { defineApp, type AppHandlers, type ExecutionContext, type UpdateInfo, type WorkerModule } from './define-app.js';
export { plinth, type AppInfo, type PlinthClient } from './client.js';
export { getUser, getClientIp, type PlinthUser } from './identity.js';
export { PlinthError, type PlinthEnv, type PlatformBinding } from './abi.js';
export type { SecretsClient, SecretEntry, GetOrCreateSpec } from './secrets/index.js';
export type { KeysClient, KeyInfo, PublicKeyForms } from './keys/index.js';
export { PlinthDatabase, D1Database, D1PreparedStatement, SqlError } from './sql/index.js';
export type { SqlClient, DatabaseInfo, DatabaseOptions, TransactionOptions, D1Result, D1Meta, D1ExecResult, SqlValue } from './sql/index.js';
export { ObjectsError, DELETE_KEYS_COUNT_MAX } from './objects/index.js';
export type {
  ObjectsClient, ObjectsCredentials, ObjectsErrorCode, ObjectInfo, ObjectBody, ObjectBodyInit, BucketInfo, PutOptions, GetOptions, ObjectRange, OnlyIf,
  ListOptions, ListResult, PresignOptions, PresignedUrl,
} from './objects/index.js';
export type { BytesLike } from './bytes.js';
export type { SocketsClient, SocketInfo, SocketUser } from './sockets/index.js';
export type { PlinthSocket, WebSocketHandlers } from './sockets/handlers.js';
export type { AlarmClient, AlarmInfo } from './alarm/index.js';
export type { JobsClient, Job, JobState, EnqueueOptions } from './jobs/index.js';
export type { JobContext, JobHandler } from './jobs/runner.js';
export { runDueJobs } from './jobs/runner.js';
