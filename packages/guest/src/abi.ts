/** The service binding workerd gives an app as `env.PLINTH` (a `Fetcher`). */
export interface PlatformBinding {
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
}

/** What every Plinth app receives as `env`. */
export interface PlinthEnv {
  readonly PLINTH: PlatformBinding;
}

/** An error answered by the platform ABI: `{ error: { code, message } }` with its HTTP status. */
export class PlinthError extends Error {
  override readonly name = 'PlinthError';
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

/**
 * Calls `/v1/...` on the platform binding. The host name is ignored: the
 * binding is a socket, and the socket is the app's identity.
 */
export async function callPlatform<T>(env: PlinthEnv, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await env.PLINTH.fetch(`http://platform${path}`, init);
  const payload = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!response.ok) {
    const error = payload?.error ?? { code: 'platform.bad_response', message: `platform answered ${response.status}` };
    throw new PlinthError(error.code, error.message, response.status);
  }
  return payload as T;
}
