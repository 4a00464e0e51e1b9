import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, fetch } from 'undici';
import { CliError } from './cli-error.js';

/** No headers or body deadline: an update waits for /after-update, whose own limit the daemon enforces. */
const patientAgent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

export interface ClientOptions {
  readonly url?: string | undefined;
  readonly data?: string | undefined;
}

/** Talks to a running daemon's admin API with the operator's token. */
export function createDaemonClient(opts: ClientOptions, env: NodeJS.ProcessEnv) {
  const base = new URL(opts.url ?? env.PLINTH_BASE_URL ?? `http://localhost:${env.PLINTH_PORT ?? 8080}`);
  const tokenFile = join(resolve(opts.data ?? env.PLINTH_DATA ?? './data'), 'admin.token');
  const token = () => {
    if (env.PLINTH_ADMIN_TOKEN) return env.PLINTH_ADMIN_TOKEN;
    if (!existsSync(tokenFile)) throw new CliError(`no admin token: set PLINTH_ADMIN_TOKEN or pass --data pointing at the daemon's data folder (looked for ${tokenFile})`);
    return readFileSync(tokenFile, 'utf8').trim();
  };

  async function request(method: string, path: string, body?: Uint8Array | string, contentType = 'application/json') {
    const init: { method: string; headers: Record<string, string>; body?: Uint8Array | string } = { method, headers: { authorization: `Bearer ${token()}`, 'content-type': contentType } };
    if (body !== undefined) init.body = body;
    try {
      return await fetch(new URL(path, base), { ...init, dispatcher: patientAgent });
    } catch (error) {
      throw new CliError(`cannot reach the daemon at ${base.origin}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
    }
  }

  return {
    base,
    request,
    /** Sends a call and returns its JSON, or throws the daemon's error as one line. */
    async call<T>(method: string, path: string, body?: Uint8Array | string, contentType?: string): Promise<T> {
      const response = await request(method, path, body, contentType);
      const payload = (await response.json().catch(() => null)) as ({ error?: { code: string; message: string; details?: { path: string; message: string }[] } } & T) | null;
      if (!response.ok) {
        const error = payload?.error;
        // The message already lists any details; they are there for --json callers.
        throw new CliError(error ? `${error.code}: ${error.message}` : `the daemon answered ${response.status}`);
      }
      return payload as T;
    },
  };
}
export type DaemonClient = ReturnType<typeof createDaemonClient>;
