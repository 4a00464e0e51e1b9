import { callPlatform, type PlinthEnv } from './abi.js';
import { alarmClient, type AlarmClient } from './alarm/index.js';
import { jobsClient, type JobsClient } from './jobs/index.js';
import { keysClient, type KeysClient } from './keys/index.js';
import { objectsClient, type ObjectsClient } from './objects/index.js';
import { secretsClient, type SecretsClient } from './secrets/index.js';
import { sqlClient, type SqlClient } from './sql/index.js';
import { socketsClient, type SocketsClient } from './sockets/index.js';

export interface AppInfo {
  readonly appId: string;
  readonly version: string;
  readonly installationId: string;
  readonly appUrl: string;
  readonly baseUrl: string;
}

/** The typed platform clients; each capability adds its own member here. */
export interface PlinthClient {
  readonly info: { get(): Promise<AppInfo> };
  readonly secrets: SecretsClient;
  readonly keys: KeysClient;
  readonly sql: SqlClient;
  readonly objects: ObjectsClient;
  readonly sockets: SocketsClient;
  readonly alarm: AlarmClient;
  readonly jobs: JobsClient;
}

export function plinth(env: PlinthEnv): PlinthClient {
  return {
    info: { get: () => callPlatform<AppInfo>(env, 'GET', '/v1/info') },
    secrets: secretsClient(env),
    keys: keysClient(env),
    sql: sqlClient(env),
    objects: objectsClient(env),
    sockets: socketsClient(env),
    alarm: alarmClient(env),
    jobs: jobsClient(env),
  };
}
