import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Manifest } from '../apps/manifest.js';
import { fail, ok, type Result } from '../support/result.js';
import { AppProcess, type Isolation } from './app-process.js';
import type { AppLogs } from './app-logs.js';
import { ConcurrencyGate } from '../support/concurrency-gate.js';
import {
  CALL_JSON_ANSWER_BYTES_MAX, CPU_RUNAWAY_SHARE_MIN, CPU_RUNAWAY_WINDOW_MS, CRASH_WINDOW_MS, IDLE_SWEEP_MS, MEMORY_POLL_MS, MEMORY_POLL_MS_BUSY,
  QUEUE_LENGTH_FACTOR, QUEUE_WAIT_MS_MAX, DRAIN_MS_MAX, RESTART_BACKOFF_MS_MAX, RESTART_BACKOFF_MS_MIN, UNIX_SOCKET_PATH_CHARS_MAX,
} from './limits.js';
import { treeCpuDemand, type CpuDemand } from './proc-tree.js';
import { workerdConfig } from './workerd-config.js';

export interface Deployment {
  readonly appId: string;
  readonly version: string;
  readonly versionDir: string;
  readonly manifest: Manifest;
}

/** `live` serves the app; `next` is a new version started beside it during a gated update. */
export type Slot = 'live' | 'next';

export type SocketHandler = (appId: string, req: IncomingMessage, res: ServerResponse, slot: Slot) => Promise<void>;

export interface SupervisorDeps {
  readonly runRoot: string;
  readonly isolation: Isolation;
  readonly workerdBinary: string;
  readonly idleStopMs: number;
  readonly logs: AppLogs;
  readonly platformHandler: SocketHandler;
  readonly egressHandler: SocketHandler;
  readonly now: () => number;
  /** Called when an app's process exits for any reason (idle stop, crash, kill, unload). */
  readonly onProcessExit?: (appId: string) => void;
}

export type AppState = 'stopped' | 'starting' | 'running';

export interface AppStatus {
  readonly state: AppState;
  readonly pid: number | null;
  readonly rssBytes: number;
  readonly inFlight: number;
  readonly restarts: number;
}

/** A slot to send one request to a running app; `release` when its response has ended. */
export interface AppLease {
  readonly pool: Pool;
  readonly release: () => void;
  /** The request got no answer in time: the process is watched, and killed if it keeps burning CPU. */
  readonly timedOut: () => void;
}

export type DispatchErrorCode = 'app.not_found' | 'app.overloaded' | 'app.unavailable';
export type CallErrorCode = DispatchErrorCode | 'app.timeout' | 'app.bad_gateway';

/** What the app answered to a platform call. */
export interface AppAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** The same, as bytes: for calls whose bodies are not JSON (socket events). */
export interface AppBytesAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** A raw call body: sent as these chunks, without joining them, with a Content-Length. */
export interface CallBody {
  readonly contentType: string;
  readonly chunks: readonly Uint8Array[];
}

interface Runtime {
  readonly deployment: Deployment;
  /** Read by the socket handlers on each call, so a promoted runtime answers as `live`. */
  readonly slot: { current: Slot };
  readonly sockets: { dir: string; app: string; platform: string; egress: string };
  readonly servers: Server[];
  readonly gate: ConcurrencyGate;
  /** Connections to the current process; a new pool per process start, so no request reuses a dead process's socket. */
  pool: Pool;
  process: AppProcess | null;
  starting: Promise<void> | null;
  state: AppState;
  lastActivity: number;
  startedAt: number;
  consecutiveCrashes: number;
  restarts: number;
  nextStartAt: number;
  /** Set when a request timed out: the process's CPU demand then (run and run-queue time), to tell a runaway from a slow wait. */
  cpuWatch: { readonly process: AppProcess; readonly since: number; readonly start: CpuDemand } | null;
}

/**
 * Owns one workerd process per running app: starts it on demand, stops it when
 * idle (scale to zero), restarts it after a crash with backoff, and kills it past
 * `limits.memoryMb`.
 */
export function createSupervisor(deps: SupervisorDeps) {
  const runtimes = new Map<string, Runtime>();
  const event = (appId: string, text: string) => deps.logs.append(appId, 'platform', text);
  const keyOf = (appId: string, slot: Slot) => (slot === 'live' ? appId : `${appId}#next`);
  // Each runtime gets its own socket folder, so a new version can start beside the old one.
  let generation = 0;

  function socketPaths(appId: string) {
    const dir = join(deps.runRoot, `${appId}.${++generation}`);
    const paths = { dir, app: join(dir, 'app.sock'), platform: join(dir, 'platform.sock'), egress: join(dir, 'egress.sock') };
    if (paths.platform.length > UNIX_SOCKET_PATH_CHARS_MAX) {
      throw new Error(`socket path ${paths.platform} is longer than ${UNIX_SOCKET_PATH_CHARS_MAX} characters; choose a shorter --data folder`);
    }
    return paths;
  }

  async function listen(path: string, appId: string, slot: { current: Slot }, handler: SocketHandler): Promise<Server> {
    rmSync(path, { force: true });
    // workerd's proxy-style egress sends absolute-form request lines without Host.
    const server = createServer({ requireHostHeader: false }, (req, res) => {
      // The owner of every call's promise: a call that fails (its caller died mid-body, a bug) fails alone.
      handler(appId, req, res, slot.current).catch((error: unknown) => {
        event(appId, `runtime.call_failed ${req.method} ${req.url}: ${(error as Error)?.message ?? String(error)}`);
        res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    return server;
  }

  async function load(deployment: Deployment, slot: Slot = 'live'): Promise<void> {
    const { appId } = deployment;
    if (runtimes.has(keyOf(appId, slot))) await unloadRuntime(keyOf(appId, slot));
    const paths = socketPaths(appId);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(deployment.versionDir, 'workerd.capnp'), workerdConfig(paths));
    const slotRef = { current: slot };
    const servers = [
      await listen(paths.platform, appId, slotRef, deps.platformHandler),
      await listen(paths.egress, appId, slotRef, deps.egressHandler),
    ];
    const { concurrency } = deployment.manifest.limits;
    runtimes.set(keyOf(appId, slot), {
      deployment, slot: slotRef, sockets: paths, servers,
      gate: new ConcurrencyGate(concurrency, concurrency * QUEUE_LENGTH_FACTOR, QUEUE_WAIT_MS_MAX),
      pool: new Pool('http://app', { socketPath: paths.app, connections: concurrency, headersTimeout: 0, bodyTimeout: 0 }),
      process: null, starting: null, state: 'stopped',
      lastActivity: deps.now(), startedAt: 0, consecutiveCrashes: 0, restarts: 0, nextStartAt: 0, cpuWatch: null,
    });
  }

  /** Unloads the app: both slots, or just one. */
  async function unload(appId: string, slot?: Slot): Promise<void> {
    for (const s of slot ? [slot] : (['live', 'next'] as const)) await unloadRuntime(keyOf(appId, s));
  }

  async function unloadRuntime(key: string): Promise<void> {
    const runtime = runtimes.get(key);
    if (!runtime) return;
    runtimes.delete(key);
    await retire(runtime);
  }

  async function retire(runtime: Runtime): Promise<void> {
    await runtime.process?.stop();
    await runtime.pool.destroy();
    for (const server of runtime.servers) server.close();
    rmSync(runtime.sockets.dir, { recursive: true, force: true });
  }

  function ensureStarted(runtime: Runtime): Promise<void> {
    if (runtime.state === 'running') return Promise.resolve();
    runtime.starting ??= startProcess(runtime).finally(() => { runtime.starting = null; });
    return runtime.starting;
  }

  async function startProcess(runtime: Runtime): Promise<void> {
    const { appId, versionDir } = runtime.deployment;
    const wait = runtime.nextStartAt - deps.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    runtime.state = 'starting';
    const process: AppProcess = new AppProcess({
      workerdBinary: deps.workerdBinary, isolation: deps.isolation, versionDir,
      runDir: runtime.sockets.dir, appSocket: runtime.sockets.app,
      onOutput: (stream, line) => deps.logs.append(appId, stream, line),
      onExit: ({ code, signal, expected }) => onExit(runtime, process, expected, `code ${code}, signal ${signal}`),
    });
    runtime.process = process;
    const begun = deps.now();
    try {
      await process.start();
    } catch (error) {
      runtime.process = null;
      runtime.state = 'stopped';
      noteCrash(runtime);
      event(appId, `runtime.start_failed: ${(error as Error).message}`);
      throw error;
    }
    runtime.state = 'running';
    const stale = runtime.pool;
    runtime.pool = new Pool('http://app', { socketPath: runtime.sockets.app, connections: runtime.deployment.manifest.limits.concurrency, headersTimeout: 0, bodyTimeout: 0 });
    void stale.destroy().catch(() => undefined);
    runtime.startedAt = deps.now();
    runtime.lastActivity = runtime.startedAt;
    event(appId, `runtime.started pid=${process.pid} isolation=${deps.isolation} in ${runtime.startedAt - begun} ms`);
  }

  function noteCrash(runtime: Runtime): void {
    if (deps.now() - runtime.startedAt > CRASH_WINDOW_MS) runtime.consecutiveCrashes = 0;
    runtime.consecutiveCrashes++;
    const delay = Math.min(RESTART_BACKOFF_MS_MIN * 2 ** (runtime.consecutiveCrashes - 1), RESTART_BACKOFF_MS_MAX);
    runtime.nextStartAt = deps.now() + delay;
  }

  function onExit(runtime: Runtime, process: AppProcess, expected: boolean, how: string): void {
    if (runtime.process !== process) return;
    runtime.process = null;
    deps.onProcessExit?.(runtime.deployment.appId);
    const wasRunning = runtime.state === 'running';
    runtime.state = 'stopped';
    if (expected || !wasRunning) return;
    runtime.restarts++;
    noteCrash(runtime);
    event(runtime.deployment.appId, `runtime.crashed (${how}); restarts on the next request after ${runtime.nextStartAt - deps.now()} ms`);
  }

  async function acquire(appId: string, slot: Slot = 'live'): Promise<Result<AppLease, DispatchErrorCode>> {
    const runtime = runtimes.get(keyOf(appId, slot));
    if (!runtime) return fail('app.not_found', `no app ${appId} is installed`);
    const release = await runtime.gate.acquire();
    if (!release) {
      return fail('app.overloaded', `${appId} is at its concurrency limit of ${runtime.deployment.manifest.limits.concurrency}; retry shortly`);
    }
    try {
      await ensureStarted(runtime);
    } catch (error) {
      release();
      return fail('app.unavailable', `${appId} could not be started: ${(error as Error).message}`);
    }
    runtime.lastActivity = deps.now();
    return ok({
      pool: runtime.pool,
      release: () => { runtime.lastActivity = deps.now(); release(); },
      timedOut: () => watchCpu(runtime),
    });
  }

  /**
   * A platform call into the app (`/.plinth/*` events, `/after-update`): JSON
   * in, JSON out, under the same concurrency cap as requests, starting the
   * process if it is stopped.
   */
  async function call(appId: string, path: string, body: unknown, timeoutMs: number, slot: Slot = 'live'): Promise<Result<AppAnswer, CallErrorCode>> {
    const answer = await callBytes(appId, path, { contentType: 'application/json', chunks: [Buffer.from(JSON.stringify(body))] }, timeoutMs, CALL_JSON_ANSWER_BYTES_MAX, slot);
    if (!answer.ok) return answer;
    const text = answer.value.body.toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: the caller gets the text and decides.
    }
    return ok({ status: answer.value.status, body: parsed });
  }

  /** The same with a raw body each way; an answer longer than `answerBytesMax` fails the call unread. */
  async function callBytes(appId: string, path: string, body: CallBody, timeoutMs: number, answerBytesMax: number, slot: Slot = 'live'): Promise<Result<AppBytesAnswer, CallErrorCode>> {
    const lease = await acquire(appId, slot);
    if (!lease.ok) return lease;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const length = body.chunks.reduce((n, chunk) => n + chunk.length, 0);
      const response = await lease.value.pool.request({
        path, method: 'POST', body: body.chunks.length === 1 ? body.chunks[0] : Readable.from(body.chunks, { objectMode: false }), signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        headers: { 'content-type': body.contentType, 'content-length': String(length), host: `${appId}.plinth.internal` },
      });
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > answerBytesMax) {
          response.body.destroy();
          return fail('app.bad_gateway', `${appId} answered ${path} with more than ${answerBytesMax} bytes`);
        }
        chunks.push(chunk);
      }
      return ok({ status: response.statusCode, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes) });
    } catch (error) {
      if (!signal.aborted) return fail('app.bad_gateway', `${appId} failed to answer ${path}: ${(error as Error).message}`);
      lease.value.timedOut();
      return fail('app.timeout', `${appId} did not answer ${path} within ${timeoutMs} ms`);
    } finally {
      lease.value.release();
    }
  }

  /**
   * The gated update's switch: the `next` runtime becomes `live` at once, so
   * new requests and events go to it, and `onSwitched` runs; requests in flight
   * on the old runtime finish there (bounded by DRAIN_MS_MAX), then the old
   * process stops.
   */
  async function promote(appId: string, onSwitched: () => void = () => undefined): Promise<void> {
    const next = runtimes.get(keyOf(appId, 'next'));
    if (!next) throw new Error(`no new version of ${appId} is loaded to promote`);
    const old = runtimes.get(appId);
    runtimes.delete(keyOf(appId, 'next'));
    next.slot.current = 'live';
    runtimes.set(appId, next);
    onSwitched();
    if (!old) return;
    const deadline = deps.now() + DRAIN_MS_MAX;
    while (old.gate.inFlight > 0 && deps.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (old.gate.inFlight > 0) event(appId, `runtime.drain_timeout: ${old.gate.inFlight} requests of ${old.deployment.version} were still running after ${DRAIN_MS_MAX} ms; stopped`);
    await retire(old);
  }

  async function stopRuntime(runtime: Runtime, reason: string): Promise<void> {
    if (!runtime.process) return;
    event(runtime.deployment.appId, reason);
    await runtime.process.stop();
  }

  const idleTimer = setInterval(() => {
    for (const runtime of runtimes.values()) {
      const idleMs = deps.now() - runtime.lastActivity;
      if (runtime.state === 'running' && runtime.gate.inFlight === 0 && idleMs >= deps.idleStopMs) {
        void stopRuntime(runtime, `runtime.idle_stop after ${idleMs} ms idle`);
      }
    }
  }, Math.min(IDLE_SWEEP_MS, deps.idleStopMs));
  function watchCpu(runtime: Runtime): void {
    const process = runtime.process;
    if (!process?.pid || runtime.cpuWatch?.process === process) return;
    runtime.cpuWatch = { process, since: deps.now(), start: treeCpuDemand(process.pid) };
  }

  /**
   * Kills a process that wanted one core for the whole window after one of its requests timed
   * out: CPU it used plus time it waited for one, so a spinner is caught on a busy machine too.
   */
  function checkCpu(runtime: Runtime): void {
    const watch = runtime.cpuWatch;
    if (!watch) return;
    const elapsedMs = deps.now() - watch.since;
    if (watch.process !== runtime.process || !watch.process.pid) {
      runtime.cpuWatch = null;
      return;
    }
    if (elapsedMs < CPU_RUNAWAY_WINDOW_MS) return;
    runtime.cpuWatch = null;
    const now = treeCpuDemand(watch.process.pid);
    const runMs = Math.round(now.runMs - watch.start.runMs);
    const waitMs = Math.round(now.waitMs - watch.start.waitMs);
    if (runMs + waitMs < elapsedMs * CPU_RUNAWAY_SHARE_MIN) return;
    event(runtime.deployment.appId, `runtime.cpu_runaway: used ${runMs} ms of CPU and waited ${waitMs} ms for one in the ${elapsedMs} ms after a request timed out; killed, restarts on the next request`);
    watch.process.kill();
  }

  function checkMemory(runtime: Runtime): void {
    const limitBytes = runtime.deployment.manifest.limits.memoryMb * 1024 * 1024;
    const rss = runtime.process?.rssBytes() ?? 0;
    if (runtime.state === 'running' && rss > limitBytes) {
      event(runtime.deployment.appId, `runtime.memory_exceeded rss=${rss} limit=${limitBytes}; killed`);
      runtime.process?.kill();
    }
  }

  // Busy processes are read every MEMORY_POLL_MS_BUSY, idle ones every MEMORY_POLL_MS.
  let pollTick = 0;
  const idlePollEvery = Math.max(1, Math.round(MEMORY_POLL_MS / MEMORY_POLL_MS_BUSY));
  const memoryTimer = setInterval(() => {
    const everyone = ++pollTick % idlePollEvery === 0;
    for (const runtime of runtimes.values()) {
      if (everyone || runtime.gate.inFlight > 0) checkMemory(runtime);
      checkCpu(runtime);
    }
  }, MEMORY_POLL_MS_BUSY);
  idleTimer.unref();
  memoryTimer.unref();

  return {
    load,
    unload,
    acquire,
    call,
    callBytes,
    promote,
    has: (appId: string) => runtimes.has(appId),
    deployment: (appId: string) => runtimes.get(appId)?.deployment,
    status(appId: string): AppStatus | undefined {
      const r = runtimes.get(appId);
      if (!r) return undefined;
      return { state: r.state, pid: r.process?.pid ?? null, rssBytes: r.process?.rssBytes() ?? 0, inFlight: r.gate.inFlight, restarts: r.restarts };
    },
    async stopAll(): Promise<void> {
      clearInterval(idleTimer);
      clearInterval(memoryTimer);
      await Promise.all([...runtimes.keys()].map((key) => unloadRuntime(key)));
    },
  };
}
export type Supervisor = ReturnType<typeof createSupervisor>;
