import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { treeRssBytes } from './proc-tree.js';
import { spawnSandboxed, type Isolation, type SandboxMounts } from './sandbox.js';
import { START_MS_MAX, START_POLL_MS, STOP_GRACE_MS, LOG_LINE_CHARS_MAX } from './limits.js';

export { detectIsolation, type Isolation } from './sandbox.js';

export interface AppProcessSpec {
  readonly workerdBinary: string;
  readonly isolation: Isolation;
  /** Read-only: the unpacked version with `workerd.capnp` beside `worker.js`. */
  readonly versionDir: string;
  /** Writable: where the sockets live. */
  readonly runDir: string;
  readonly appSocket: string;
  readonly onOutput: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Called once when the process ends; `expected` is false for a crash. */
  readonly onExit: (detail: { code: number | null; signal: string | null; expected: boolean }) => void;
}

/**
 * What workerd sees inside the sandbox besides system libraries: CA certificates (workerd
 * refuses to start without them), its binary, the app's own files read-only, and its socket
 * folder. No network namespace of the host, so the sockets are the only way out.
 */
function sandboxMounts(spec: AppProcessSpec): SandboxMounts {
  return {
    readOnly: [spec.workerdBinary, spec.versionDir],
    readOnlyIfPresent: ['/etc/ssl'],
    writable: [spec.runDir],
  };
}

/** One workerd process serving one app version. */
export class AppProcess {
  private child: ChildProcess | null = null;
  private stopping = false;

  constructor(private readonly spec: AppProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns workerd and resolves once its app socket accepts connections. */
  async start(): Promise<void> {
    rmSync(this.spec.appSocket, { force: true });
    const workerdArgs = ['serve', `${this.spec.versionDir}/workerd.capnp`, '--experimental'];
    const env = { PATH: '/usr/bin:/bin' };
    const child = this.spec.isolation === 'bwrap'
      ? spawnSandboxed([this.spec.workerdBinary, ...workerdArgs], { mounts: sandboxMounts(this.spec), stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(this.spec.workerdBinary, workerdArgs, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    this.pipeLines(child, 'stdout');
    this.pipeLines(child, 'stderr');
    let exited = false;
    child.once('exit', (code, signal) => {
      exited = true;
      this.child = null;
      this.spec.onExit({ code, signal, expected: this.stopping });
    });
    const deadline = Date.now() + START_MS_MAX;
    while (!(await canConnect(this.spec.appSocket))) {
      if (exited) throw new AppStartError('workerd exited during start; see the app log');
      if (Date.now() > deadline) {
        await this.stop();
        throw new AppStartError(`workerd did not listen within ${START_MS_MAX} ms`);
      }
      await sleep(START_POLL_MS);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** Resident memory of the whole process tree (bwrap and workerd), in bytes. */
  rssBytes(): number {
    const pid = this.child?.pid;
    return pid ? treeRssBytes(pid) : 0;
  }

  private pipeLines(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const source = child[stream];
    if (!source) return;
    createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => {
      this.spec.onOutput(stream, line.length > LOG_LINE_CHARS_MAX ? `${line.slice(0, LOG_LINE_CHARS_MAX)}…` : line);
    });
  }
}

export class AppStartError extends Error {
  override readonly name = 'AppStartError';
}

function canConnect(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}
