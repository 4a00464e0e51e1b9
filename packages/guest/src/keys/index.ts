import { callPlatform, type PlinthEnv } from '../abi.js';
import { fromBase64, toBase64, type BytesLike } from '../bytes.js';

export interface PublicKeyForms {
  /** The 32-byte Ed25519 public key, base64url. */
  readonly raw: string;
  /** `OKP`/`Ed25519`, `kid` = `<name>.<version>`. */
  readonly jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };
  /** SPKI PEM, as OpenSSL reads it. */
  readonly pem: string;
}

export interface KeyInfo {
  readonly name: string;
  readonly version: number;
  readonly versions: readonly number[];
  readonly createdAt: string;
  readonly publicKey: PublicKeyForms;
}

export interface KeysClient {
  create(name: string): Promise<KeyInfo>;
  getOrCreate(name: string): Promise<KeyInfo & { created: boolean }>;
  /** Signs with the latest version; a raw 64-byte Ed25519 signature. */
  sign(name: string, data: BytesLike): Promise<Uint8Array>;
  /** Checks against `version`, or any version not deleted. */
  verify(name: string, data: BytesLike, signature: BytesLike, options?: { version?: number }): Promise<boolean>;
  publicKey(name: string, options?: { version?: number }): Promise<KeyInfo>;
  list(): Promise<KeyInfo[]>;
  rotate(name: string): Promise<KeyInfo>;
  delete(name: string, options?: { version?: number }): Promise<void>;
}

const path = (name: string) => `/v1/keys/${encodeURIComponent(name)}`;
const versioned = (name: string, version?: number) => (version === undefined ? path(name) : `${path(name)}?version=${version}`);

/** No call returns private key material: the platform holds it and only signs. */
export function keysClient(env: PlinthEnv): KeysClient {
  return {
    create: (name) => callPlatform(env, 'POST', path(name)),
    getOrCreate: (name) => callPlatform(env, 'POST', `${path(name)}/get-or-create`),
    sign: async (name, data) => fromBase64((await callPlatform<{ signature: string }>(env, 'POST', `${path(name)}/sign`, { data: toBase64(data) })).signature),
    verify: async (name, data, signature, options = {}) => (await callPlatform<{ valid: boolean }>(env, 'POST', `${path(name)}/verify`, { data: toBase64(data), signature: toBase64(signature), ...options })).valid,
    publicKey: (name, options = {}) => callPlatform(env, 'GET', versioned(name, options.version)),
    list: async () => (await callPlatform<{ keys: KeyInfo[] }>(env, 'GET', '/v1/keys')).keys,
    rotate: (name) => callPlatform(env, 'POST', `${path(name)}/rotate`),
    delete: async (name, options = {}) => { await callPlatform(env, 'DELETE', versioned(name, options.version)); },
  };
}
