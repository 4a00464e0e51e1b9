import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Slot } from '../runtime/supervisor.js';
import type { z } from 'zod';
import type { ErrorRow } from '../support/error-table.js';
import type { TableSchema } from '../store/control-plane.js';
import type { Result } from '../support/result.js';

export type { TableSchema };

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

/** One admin API call, routed by `METHOD resource[/:id][/sub]` (e.g. `GET apps/:id/objects`); `id` is the decoded segment. */
export interface AdminCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly id: string | undefined;
}

/** An admin route answers with a status and JSON, or an error the edge maps through the error tables. */
export type AdminRouteHandler = (call: AdminCall) => Promise<Result<unknown>> | Result<unknown>;

/**
 * The settings a capability owns: a zod schema over their raw text (flag or environment
 * variable), the variable each is read from, and how the parsed values become its config.
 */
export interface ConfigSection<Shape extends z.ZodRawShape, Config> {
  readonly settings: z.ZodObject<Shape>;
  readonly envNames: { readonly [K in keyof Shape]: string };
  /** May throw an Error whose message names the variable; config.ts reports it as a ConfigError. */
  readonly resolve: (settings: z.infer<z.ZodObject<Shape>>) => Config;
}

/**
 * One vertical: everything about a capability, found in its folder (STYLE §1, modelled on
 * miniflare's plugin objects). It contributes routes under `/v1/<name>/` to the platform API;
 * keys are `METHOD /v1/path`, where a `:param` segment matches one path segment. Dependencies
 * come in through the factory that builds it, never through this interface (STYLE §11).
 * `Config` is what its factory takes from the operator's settings (`void` when it has none).
 */
export interface Capability<Config = void> {
  readonly name: string;
  readonly routes: Readonly<Record<string, RouteHandler>>;
  /** Streamed calls under this path prefix (object bodies), handled before JSON parsing and its size cap. */
  readonly stream?: {
    readonly prefix: string;
    readonly handle: (appId: string, req: IncomingMessage, res: ServerResponse) => Promise<void>;
  };
  /** The settings it owns; config.ts merges every section into the one Config. */
  readonly config?: ConfigSection<z.ZodRawShape, Config>;
  /** Its tables in the control plane; the factory has applied them before it returns. */
  readonly tables?: readonly TableSchema[];
  /** Its codes with status and fix; http/respond.ts merges every table. */
  readonly errors?: Readonly<Record<string, ErrorRow>>;
  /** Routes of the operator's admin API (`/api/admin/…`), keyed as in AdminCall. */
  readonly admin?: Readonly<Record<string, AdminRouteHandler>>;
  /** Forgets an uninstalled app: its live state always, its stored data unless `keepData`. */
  readonly removeApp?: (appId: string, options: { readonly keepData: boolean }) => void | Promise<void>;
  /** When the daemon begins to stop, before requests drain: refuse or end long-lived work (open sockets, timers). */
  readonly beforeDrain?: () => void;
  /** Starts background work (timers) once the daemon serves. */
  readonly start?: () => void;
  /** Stops background work and flushes, after the front door has drained and app processes stopped. */
  readonly close?: () => void | Promise<void>;
}
