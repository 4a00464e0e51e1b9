import { callPlatform, PlinthError, type PlinthEnv } from '../abi.js';

export interface SecretEntry {
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type GetOrCreateSpec = { value: string } | { bytes: number; encoding?: 'base64' | 'base64url' | 'hex' };

export interface SecretsClient {
  /** The value, or null when no secret has that name. */
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  /** True when a secret was deleted. */
  delete(name: string): Promise<boolean>;
  /** Names and timestamps only; values are never listed. */
  list(): Promise<SecretEntry[]>;
  /** Atomic: under any number of concurrent callers exactly one creates, and all get the same value. */
  getOrCreate(name: string, spec: GetOrCreateSpec): Promise<{ value: string; created: boolean }>;
}

const path = (name: string) => `/v1/secrets/${encodeURIComponent(name)}`;

async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof PlinthError && error.code === 'secrets.not_found') return null;
    throw error;
  }
}

export function secretsClient(env: PlinthEnv): SecretsClient {
  return {
    get: async (name) => (await orNull(callPlatform<{ value: string }>(env, 'GET', path(name))))?.value ?? null,
    set: async (name, value) => { await callPlatform(env, 'PUT', path(name), { value }); },
    delete: async (name) => (await orNull(callPlatform(env, 'DELETE', path(name)))) !== null,
    list: async () => (await callPlatform<{ secrets: SecretEntry[] }>(env, 'GET', '/v1/secrets')).secrets,
    getOrCreate: (name, spec) => callPlatform(env, 'POST', `${path(name)}/get-or-create`, spec),
  };
}
