/**
 * The daemon's side of one app's SQL process: starts it on first use, sends it one request at
 * a time, kills it when a request runs past its time limit, parks writes that meet a
 * transaction's lock, and stops it when idle.
 *
 * Why a process and one request at a time: better-sqlite3 is synchronous with no interrupt, so
 * the only way to stop a runaway statement is to kill what runs it. With one request in flight
 * the running one is always known, so a kill fails exactly that request with `sql.timeout`;
 * requests still queued were never sent and go to the next process unharmed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSandboxed, type Isolation, type SandboxMounts } from '../../runtime/sandbox.js';
import { fail, type Result } from '../../support/result.js';
import type { EngineAnswer, EngineRequest } from './engine.js';
import type { EngineMessage, EngineReply } from './engine-process.js';
import type { SqlErrorCode } from './errors.js';
import { SQL_BUSY_RETRY_MS, SQL_PROCESS_HEAP_MB_MAX, SQL_PROCESS_IDLE_MS, SQL_PROCESS_START_MS_MAX, SQL_QUEUE_LENGTH_MAX } from './limits.js';
import { tmpDir } from './store.js';

export type SqlAnswer = Result<unknown, SqlErrorCode>;

interface Pending {
  readonly id: number;
  readonly request: EngineRequest;
  readonly timeoutMs: number;
  /** A parked request gives up with `sql.busy` at this time. */
  readonly lockDeadline: number;
  readonly resolve: (answer: SqlAnswer) => void;
}

export interface EngineClientDeps {
  readonly appId: string;
  readonly sqlDir: string;
  /** `bwrap`: the process runs in the same sandbox as the app's workerd, seeing only `sqlDir` of the data. */
  readonly isolation: Isolation;
  readonly now: () => number;
  /** The process died with these transactions open; SQLite rolled them back. */
  readonly onTransactionsLost: (ids: string[]) => void;
  readonly event: (text: string) => void;
  /** What the app's databases hold, as the process reported with an answer (for the storage quota). */
  readonly onSqlBytes: (bytes: number) => void;
}

const ENGINE_PROCESS = fileURLToPath(new URL('./engine-process.js', import.meta.url));
/** The host package (dist/capabilities/sql is three levels down): the engine's own code. */
const HOST_PACKAGE_DIR = fileURLToPath(new URL('../../../', import.meta.url));

/** Every node_modules folder node would search from the host package up: where better-sqlite3 and its dependencies are. */
function nodeModulesDirs(from: string): string[] {
  const dirs: string[] = [];
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules');
    if (existsSync(candidate)) dirs.push(candidate);
    if (dirname(dir) === dir) return dirs;
  }
}

/**
 * What the SQL process sees inside the sandbox: read-only, node and the code it runs (this
 * package and the node_modules folders it resolves from, which hold better-sqlite3's native
 * module); read-write, the app's sql folder and nothing else of the data folder. The time zone
 * file is there so SQLite's 'localtime' means what it means on the host.
 */
function engineMounts(sqlDir: string): SandboxMounts {
  return {
    readOnly: [realpathSync(process.execPath), HOST_PACKAGE_DIR, ...nodeModulesDirs(HOST_PACKAGE_DIR)],
    readOnlyIfPresent: ['/etc/localtime'],
    writable: [sqlDir],
  };
}
/** Long jobs run in the process's worker threads, so they do not hold the one-at-a-time slot. */
const isBackground = (request: EngineRequest) => request.op === 'snapshot' || request.op === 'validate';

export class EngineClient {
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly queue: Pending[] = [];
  private current: { pending: Pending; timer: NodeJS.Timeout } | null = null;
  private readonly background = new Map<number, { pending: Pending; timer: NodeJS.Timeout }>();
  private readonly parked: Pending[] = [];
  private parkTimer: NodeJS.Timeout | null = null;
  /** Open transactions, by id, with their database; mirrored from begin/commit/rollback answers. */
  private readonly openTransactions = new Map<string, string>();
  private idleTimer: NodeJS.Timeout | null = null;
  /** The request a kill was for, and why; `onExit` fails it with that reason. */
  private killedFor: { pending: Pending; reason: 'timeout' | 'cancelled' } | null = null;

  constructor(private readonly deps: EngineClientDeps) {}

  /**
   * Sends `request`, failing with `sql.timeout` past `timeoutMs` of running time. When `signal`
   * aborts (the calling app process went away), a queued request is dropped and a running one is
   * stopped by killing the process, so a dead caller's statement does not hold the app's SQL.
   */
  call(request: EngineRequest, timeoutMs: number, lockWaitMs: number, signal?: AbortSignal): Promise<SqlAnswer> {
    if (this.queue.length >= SQL_QUEUE_LENGTH_MAX) {
      return Promise.resolve(fail('sql.overloaded', `${SQL_QUEUE_LENGTH_MAX} SQL calls of this app are waiting already; retry shortly`));
    }
    if (signal?.aborted) return Promise.resolve(cancelled(request));
    return new Promise((resolveCall) => {
      const onAbort = () => this.cancel(pending);
      const resolve = (answer: SqlAnswer) => {
        signal?.removeEventListener('abort', onAbort);
        resolveCall(answer);
      };
      const pending: Pending = { id: this.nextId++, request, timeoutMs, lockDeadline: this.deps.now() + lockWaitMs, resolve };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (isBackground(request)) this.sendBackground(pending);
      else {
        this.queue.push(pending);
        this.pump();
      }
    });
  }

  get busy(): boolean {
    return this.current !== null || this.queue.length > 0 || this.parked.length > 0 || this.background.size > 0 || this.openTransactions.size > 0;
  }

  private spawn(): ChildProcess {
    const heap = `--max-old-space-size=${SQL_PROCESS_HEAP_MB_MAX}`;
    // SQLite's temporary files (big sorts, VACUUM) stay inside the app's folder.
    const env = { SQLITE_TMPDIR: tmpDir(this.deps.sqlDir) };
    const child = this.deps.isolation === 'bwrap'
      ? spawnSandboxed([process.execPath, heap, ENGINE_PROCESS, this.deps.sqlDir], {
        mounts: engineMounts(this.deps.sqlDir), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env, serialization: 'advanced',
      })
      : fork(ENGINE_PROCESS, [this.deps.sqlDir], { serialization: 'advanced', execArgv: [heap], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (reply: EngineReply) => this.onReply(reply));
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    // A failed send or kill; the 'exit' that follows fails what was in flight.
    child.on('error', (error) => this.deps.event(`sql.process_error: ${error.message}`));
    this.child = child;
    return child;
  }

  /** Sends one request; true when a process had to be started for it. */
  private send(pending: Pending): boolean {
    const started = this.child === null;
    const child = this.child ?? this.spawn();
    child.send({ id: pending.id, request: pending.request } satisfies EngineMessage);
    return started;
  }

  /** The running-time limit starts when a request is sent; a cold start of the process is not counted against it. */
  private sendTimed(pending: Pending): NodeJS.Timeout {
    const started = this.send(pending);
    return setTimeout(() => this.kill(pending, 'timeout'), pending.timeoutMs + (started ? SQL_PROCESS_START_MS_MAX : 0));
  }

  private pump(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.current) return;
    const pending = this.queue.shift();
    if (!pending) {
      if (!this.busy) this.idleTimer = setTimeout(() => void this.stop(), SQL_PROCESS_IDLE_MS).unref();
      return;
    }
    this.current = { pending, timer: this.sendTimed(pending) };
  }

  private sendBackground(pending: Pending): void {
    this.background.set(pending.id, { pending, timer: this.sendTimed(pending) });
  }

  private onReply(reply: EngineReply): void {
    if (reply.answer.sqlBytes !== undefined) this.deps.onSqlBytes(reply.answer.sqlBytes);
    const background = this.background.get(reply.id);
    if (background) {
      clearTimeout(background.timer);
      this.background.delete(reply.id);
      background.pending.resolve(toResult(reply.answer));
      return;
    }
    if (this.current?.pending.id !== reply.id) return; // the answer to a request already failed by a kill
    const { pending, timer } = this.current;
    clearTimeout(timer);
    this.current = null;
    if (!reply.answer.ok && reply.answer.retry) this.park(pending);
    else {
      this.track(pending.request, reply.answer);
      pending.resolve(toResult(reply.answer));
    }
    this.pump();
  }

  /** Keeps `openTransactions` in step with what the process holds, and wakes writers a transaction blocked. */
  private track(request: EngineRequest, answer: EngineAnswer): void {
    if (request.op === 'begin' && answer.ok) this.openTransactions.set(request.tx, request.db);
    if (request.op === 'commit' || request.op === 'rollback') {
      this.openTransactions.delete(request.tx);
      this.unpark();
    }
    if (request.op === 'delete' || request.op === 'replace') {
      for (const [id, db] of this.openTransactions) if (db === request.db) this.openTransactions.delete(id);
      this.unpark();
    }
  }

  /**
   * A request that met another connection's write lock waits here, changing nothing. It is sent
   * again when a transaction ends, or every SQL_BUSY_RETRY_MS when none of ours holds the lock
   * (an operator's tool might), until its lock deadline.
   */
  private park(pending: Pending): void {
    if (this.deps.now() >= pending.lockDeadline) {
      pending.resolve(fail('sql.busy', 'the database stayed locked by a transaction past the lock wait limit; nothing was changed, retry later'));
      return;
    }
    this.parked.push(pending);
    const deadline = Math.min(...this.parked.map((p) => p.lockDeadline));
    const waitMs = this.openTransactions.size > 0 ? Math.max(1, deadline - this.deps.now()) : SQL_BUSY_RETRY_MS;
    if (this.parkTimer) clearTimeout(this.parkTimer);
    this.parkTimer = setTimeout(() => this.unpark(), waitMs);
  }

  private unpark(): void {
    if (this.parkTimer) clearTimeout(this.parkTimer);
    this.parkTimer = null;
    this.queue.unshift(...this.parked.splice(0));
  }

  /**
   * A request ran past its limit, or its caller went away: kill the process; `onExit` fails that
   * request with the reason and restarts the rest.
   */
  private kill(pending: Pending, reason: 'timeout' | 'cancelled'): void {
    this.killedFor = { pending, reason };
    this.deps.event(reason === 'timeout'
      ? `sql.timeout: a ${pending.request.op} ran longer than ${pending.timeoutMs} ms; the app's SQL process was killed and will restart`
      : `sql.cancelled: the caller of a running ${pending.request.op} went away; the app's SQL process was killed and will restart`);
    this.child?.kill('SIGKILL');
  }

  /** Its caller went away: a request not yet sent is dropped; the running one is killed. */
  private cancel(pending: Pending): void {
    for (const list of [this.queue, this.parked]) {
      const index = list.indexOf(pending);
      if (index < 0) continue;
      list.splice(index, 1);
      pending.resolve(cancelled(pending.request));
      return;
    }
    if (this.current?.pending === pending) this.kill(pending, 'cancelled');
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    const killedFor = this.killedFor;
    this.killedFor = null;
    const lost = [...this.openTransactions.keys()];
    this.openTransactions.clear();
    if (lost.length > 0) this.deps.onTransactionsLost(lost);
    const failed = (pending: Pending): SqlAnswer => {
      if (pending !== killedFor?.pending) {
        return fail('sql.unavailable', `the app's SQL process stopped (code ${code}, signal ${signal}) during this ${pending.request.op}; a write may not have completed`);
      }
      if (killedFor.reason === 'cancelled') return cancelled(pending.request);
      return fail('sql.timeout', `the ${pending.request.op} ran longer than its ${pending.timeoutMs} ms limit and was stopped; it changed nothing`);
    };
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.pending.resolve(failed(this.current.pending));
      this.current = null;
    }
    for (const { pending, timer } of this.background.values()) {
      clearTimeout(timer);
      pending.resolve(failed(pending));
    }
    this.background.clear();
    this.unpark();
    this.pump();
  }

  /** Closes the databases cleanly and lets the process exit; new calls start a new one. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.busy) return;
    this.child = null; // a call from now on starts a new process; this one only closes
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      child.send({ id: 0, close: true } satisfies EngineMessage);
    } catch {
      child.kill('SIGKILL');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** Ends the process now, whatever it is doing (uninstall, daemon shutdown). */
  async terminate(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.killedFor = null;
    child.kill('SIGKILL');
    await exited;
  }
}

function cancelled(request: EngineRequest): SqlAnswer {
  return fail('sql.cancelled', `the ${request.op} was stopped because its caller went away; it changed nothing`);
}

function toResult(answer: EngineAnswer): SqlAnswer {
  return answer.ok ? answer : { ok: false, error: answer.error };
}
