import type { PlinthEnv } from './abi.js';
import type { AlarmInfo } from './alarm/index.js';
import { runDueJobs, type JobHandler } from './jobs/runner.js';
import { handleEvents, handleOpen, type WebSocketHandlers } from './sockets/handlers.js';

/** The `ctx` workerd passes to `fetch`. */
export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

export interface UpdateInfo {
  readonly previous: { readonly version: string };
  readonly current: { readonly version: string };
}

export interface AppHandlers<Env extends PlinthEnv = PlinthEnv> {
  fetch?(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
  /** WebSockets held by the platform: called on open and for each message and close (CONTRACT §6). */
  websocket?: WebSocketHandlers<Env>;
  /** Called when the alarm set with `plinth(env).alarm.set()` comes due; throw to have it retried. */
  alarm?(alarm: AlarmInfo, env: Env): void | Promise<void>;
  /** Job handlers by name, for `plinth(env).jobs.enqueue(name, payload)`; they run when the host alarm wakes the app. */
  jobs?: Record<string, JobHandler<Env>>;
  /** Answers the platform's `POST /after-update`; throw to fail the update. */
  afterUpdate?(update: UpdateInfo, env: Env): void | Promise<void>;
}

export interface WorkerModule<Env extends PlinthEnv = PlinthEnv> {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response>;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/**
 * Turns handlers into a workerd module. Platform calls (`POST /after-update`,
 * `/.plinth/*`) reach the app only from the platform: the front door answers
 * 404 for them from outside.
 */
export function defineApp<Env extends PlinthEnv = PlinthEnv>(handlers: AppHandlers<Env>): WorkerModule<Env> {
  return {
    async fetch(request, env, ctx) {
      const { pathname } = new URL(request.url);
      if (pathname === '/after-update' && request.method === 'POST') {
        if (!handlers.afterUpdate) return json(200, { ok: true });
        try {
          await handlers.afterUpdate((await request.json()) as UpdateInfo, env);
          return json(200, { ok: true });
        } catch (error) {
          return json(500, { error: { code: 'app.after_update_failed', message: error instanceof Error ? error.message : String(error) } });
        }
      }
      if (request.method === 'POST' && pathname === '/.plinth/websocket/open') return handleOpen(handlers.websocket, request, env);
      if (request.method === 'POST' && pathname === '/.plinth/websocket/events') return handleEvents(handlers.websocket, request, env);
      if (request.method === 'POST' && pathname === '/.plinth/alarm') {
        const body = (await request.json()) as { scheduledTime: number; retryCount: number };
        // The job runner shares the app's one alarm: due jobs run first, then the app's own handler.
        if (handlers.jobs) await runDueJobs(handlers.jobs, env);
        await handlers.alarm?.({ scheduledTime: new Date(body.scheduledTime), retryCount: body.retryCount }, env);
        return json(200, { ok: true });
      }
      if (pathname.startsWith('/.plinth/')) return json(404, { error: { code: 'app.no_handler', message: `this app has no handler for ${pathname}` } });
      if (!handlers.fetch) return json(404, { error: { code: 'app.no_fetch', message: 'this app defines no fetch handler' } });
      return handlers.fetch(request, env, ctx);
    },
  };
}
