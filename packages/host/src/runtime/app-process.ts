import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { START_MS_MAX, START_POLL_MS, STOP_GRACE_MS, LOG_LINE_CHARS_MAX } from './limits.js';

export type Isolation = 'bwrap' | 'none';

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
 * Paths visible inside the sandbox: system libraries and CA certificates
 * read-only (workerd refuses to start without CA certificates), the binary, the
 * app's own files read-only, and its socket folder. No network namespace, so
 * the sockets are the only way out.
 */
function bwrapArgs(spec: AppProcessSpec, workerdArgs: string[]): string[] {
  return [
    '--unshare-all', '--die-with-parent', '--new-session',
    '--ro-bind', '/usr', '/usr',
    '--ro-bind-try', '/lib', '/lib',
    '--ro-bind-try', '/lib64', '/lib64',
    '--ro-bind-try', '/etc/ssl', '/etc/ssl',
    '--ro-bind', spec.workerdBinary, spec.workerdBinary,
    '--ro-bind', spec.versionDir, spec.versionDir,
    '--bind', spec.runDir, spec.runDir,
    '--proc', '/proc', '--dev', '/dev',
    spec.workerdBinary, ...workerdArgs,
  ];
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
    const [command, args] = this.spec.isolation === 'bwrap'
      ? ['bwrap', bwrapArgs(this.spec, workerdArgs)]
      : [this.spec.workerdBinary, workerdArgs];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
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

function treeRssBytes(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const current = stack.pop()!;
    try {
      const status = readFileSync(`/proc/${current}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match) total += Number(match[1]) * 1024;
      for (const task of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8').trim();
        if (children) stack.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // The process ended between reads; it no longer uses memory.
    }
  }
  return total;
}

/** `auto` isolation: use bubblewrap when it can actually create namespaces here. */
export function detectIsolation(requested: 'auto' | 'bwrap' | 'none'): Isolation {
  if (requested === 'none') return 'none';
  const works = bwrapWorks();
  if (requested === 'bwrap' && !works) throw new Error('PLINTH_ISOLATION=bwrap, but bwrap cannot create namespaces on this machine (is the bubblewrap package installed?)');
  return works ? 'bwrap' : 'none';
}

function bwrapWorks(): boolean {
  try {
    const { status } = spawnSync('bwrap', ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', '/bin/true'], { stdio: 'ignore', timeout: 5000 });
    return status === 0;
  } catch {
    return false;
  }
}
