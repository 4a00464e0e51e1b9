export { defineApp, type AppHandlers, type ExecutionContext, type UpdateInfo, type WorkerModule } from './define-app.js';
export { plinth, type AppInfo, type PlinthClient } from './client.js';
export { getUser, getClientIp, type PlinthUser } from './identity.js';
export { PlinthError, type PlinthEnv, type PlatformBinding } from './abi.js';
export type { SecretsClient, SecretEntry, GetOrCreateSpec } from './secrets/index.js';
export type { KeysClient, KeyInfo, PublicKeyForms } from './keys/index.js';
export type { BytesLike } from './bytes.js';
