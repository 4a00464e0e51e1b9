import { callPlatform, PlinthError, type PlinthEnv } from '../abi.js';
import { toBase64, toBytes, type BytesLike } from '../bytes.js';

export interface SocketUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

export interface SocketInfo {
  readonly id: string;
  readonly tags: readonly string[];
  readonly attachment: unknown;
  readonly user: SocketUser | null;
  readonly openedAt: string;
}

/** The platform API's payloads: text as `data`, binary as base64 `binary` (docs/abi.md, Sockets). */
type WirePayload = { data: string } | { binary: string };

function toPayload(data: BytesLike): WirePayload {
  return typeof data === 'string' ? { data } : { binary: toBase64(toBytes(data)) };
}

export interface SocketsClient {
  send(id: string, data: BytesLike): Promise<void>;
  close(id: string, code?: number, reason?: string): Promise<void>;
  /** Sends to every open socket with the tag; returns how many it reached. */
  publish(tag: string, data: BytesLike): Promise<number>;
  list(options?: { tag?: string }): Promise<SocketInfo[]>;
  /** The socket, or null when it is closed or not this app's. */
  get(id: string): Promise<SocketInfo | null>;
  update(id: string, changes: { tags?: string[]; attachment?: unknown }): Promise<SocketInfo>;
  /** Text messages equal to `request` are answered with `response` by the platform, without waking the app; null clears. */
  setAutoResponse(request: string | null, response?: string): Promise<void>;
}

const path = (id: string) => `/v1/sockets/${encodeURIComponent(id)}`;

export function socketsClient(env: PlinthEnv): SocketsClient {
  return {
    send: async (id, data) => { await callPlatform(env, 'POST', `${path(id)}/send`, toPayload(data)); },
    close: async (id, code, reason) => { await callPlatform(env, 'POST', `${path(id)}/close`, { code, reason }); },
    publish: async (tag, data) => (await callPlatform<{ sent: number }>(env, 'POST', '/v1/sockets/publish', { tag, ...toPayload(data) })).sent,
    list: async (options = {}) => (await callPlatform<{ sockets: SocketInfo[] }>(env, 'GET', options.tag === undefined ? '/v1/sockets' : `/v1/sockets?tag=${encodeURIComponent(options.tag)}`)).sockets,
    get: async (id) => {
      try {
        return await callPlatform<SocketInfo>(env, 'GET', path(id));
      } catch (error) {
        if (error instanceof PlinthError && error.code === 'sockets.not_found') return null;
        throw error;
      }
    },
    update: (id, changes) => callPlatform(env, 'PATCH', path(id), changes),
    setAutoResponse: async (request, response = '') => {
      await callPlatform(env, 'PUT', '/v1/sockets/auto-response', request === null ? null : { request, response });
    },
  };
}
