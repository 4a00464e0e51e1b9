import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Slot } from '../runtime/supervisor.js';
import type { Result } from '../support/result.js';

/** One call from an app into the platform API, already tied to the app by the socket it came in on. */
export interface PlatformCall {
  readonly appId: string;
  /** `next` while a new version runs its `/after-update` beside the live one. */
  readonly slot: Slot;
  readonly method: string;
  readonly url: URL;
  /** Decoded `:name` segments of the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  /** The parsed JSON body, or undefined for a call without one. */
  readonly body: unknown;
  /** Aborts when the caller's connection closes before the answer: long work may stop early. */
  readonly signal: AbortSignal;
}

export type RouteHandler = (call: PlatformCall) => Promise<Result<unknown>> | Result<unknown>;

/**
 * A capability contributes routes under `/v1/<name>/` to the platform API.
 * Keys are `METHOD /v1/path`, where a `:param` segment matches one path segment; dependencies come in through the factory that
 * builds it, never through this interface (STYLE §11).
 */
export interface Capability {
  readonly name: string;
  readonly routes: Readonly<Record<string, RouteHandler>>;
  /** Streamed calls under this path prefix (object bodies), handled before JSON parsing and its size cap. */
  readonly stream?: {
    readonly prefix: string;
    readonly handle: (appId: string, req: IncomingMessage, res: ServerResponse) => Promise<void>;
  };
}
