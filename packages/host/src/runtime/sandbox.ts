/**
 * The bubblewrap sandbox shared by an app's workerd process and its SQL process. Layers, each
 * stopping what the others might miss:
 * - namespaces (`--unshare-all`): its own mounts, pids, IPC, host name and an empty network;
 * - a mount namespace showing only what the caller lists, on an empty root;
 * - a user namespace (`--unshare-user`) in which it runs as SANDBOX_UID, not 0, with every
 *   capability dropped (`--cap-drop ALL`), and may not create another (`--disable-userns`);
 * - a seccomp filter (seccomp-filter.ts) refusing mounts, namespaces, tracing, kernel modules
 *   and similar calls, and killing the process on a foreign system-call ABI.
 */
import { spawn, spawnSync, type ChildProcess, type IOType, type SpawnOptions } from 'node:child_process';
import { SANDBOX_GID, SANDBOX_UID, SANDBOX_PROBE_MS_MAX } from './limits.js';
import { seccompArch, seccompProgram } from './seccomp-filter.js';

export type Isolation = 'bwrap' | 'none';

export interface SandboxMounts {
  /** Host paths shown read-only at the same place; each must exist. */
  readonly readOnly: readonly string[];
  /** Shown read-only if they exist (time zone data, say). */
  readonly readOnlyIfPresent?: readonly string[];
  /** Host paths shown read-write at the same place; each must exist. */
  readonly writable: readonly string[];
}

/** System libraries every sandboxed binary needs; nothing else of the host's root is shown. */
const SYSTEM_READ_ONLY = ['/usr'];
const SYSTEM_READ_ONLY_IF_PRESENT = ['/lib', '/lib64'];

/** The flags that make the sandbox, before any mounts. */
function isolationFlags(): string[] {
  return [
    '--unshare-all', '--unshare-user', '--disable-userns',
    '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID),
    '--cap-drop', 'ALL',
    '--die-with-parent', '--new-session',
  ];
}

/**
 * The bwrap arguments that run `command` in the sandbox. `seccompFd` is the descriptor the
 * child reads the filter from, or undefined on an architecture without a filter table.
 */
export function sandboxArgs(mounts: SandboxMounts, seccompFd: number | undefined, command: readonly string[]): string[] {
  const args = isolationFlags();
  for (const path of SYSTEM_READ_ONLY) args.push('--ro-bind', path, path);
  for (const path of [...SYSTEM_READ_ONLY_IF_PRESENT, ...(mounts.readOnlyIfPresent ?? [])]) args.push('--ro-bind-try', path, path);
  for (const path of mounts.readOnly) args.push('--ro-bind', path, path);
  for (const path of mounts.writable) args.push('--bind', path, path);
  args.push('--proc', '/proc', '--dev', '/dev', '--chdir', '/');
  if (seccompFd !== undefined) args.push('--seccomp', String(seccompFd));
  args.push('--', ...command);
  return args;
}

export interface SandboxSpawnOptions {
  readonly mounts: SandboxMounts;
  /** stdio of the sandboxed command; one more pipe is added after these for the seccomp filter. */
  readonly stdio: readonly (IOType | 'ipc')[];
  readonly env: NodeJS.ProcessEnv;
  readonly serialization?: SpawnOptions['serialization'];
}

/**
 * Spawns `command` inside the sandbox. The returned process is bwrap's outer process: it runs
 * outside the namespaces and only waits; killing it kills the sandbox (`--die-with-parent`).
 */
export function spawnSandboxed(command: readonly string[], options: SandboxSpawnOptions): ChildProcess {
  const arch = seccompArch();
  const seccompFd = arch ? options.stdio.length : undefined;
  const stdio: (IOType | 'ipc')[] = arch ? [...options.stdio, 'pipe'] : [...options.stdio];
  const child = spawn('bwrap', sandboxArgs(options.mounts, seccompFd, command), {
    stdio, env: options.env, ...(options.serialization ? { serialization: options.serialization } : {}),
  });
  if (arch && seccompFd !== undefined) {
    const pipe = child.stdio[seccompFd] as NodeJS.WritableStream | null;
    // bwrap reads the filter to EOF before it starts the command; if it dies first, its exit says why.
    pipe?.on('error', () => {});
    pipe?.end(seccompProgram(arch));
  }
  return child;
}

/** `auto` isolation: use bubblewrap when it can build this sandbox here (user namespaces, seccomp). */
export function detectIsolation(requested: 'auto' | 'bwrap' | 'none'): Isolation {
  if (requested === 'none') return 'none';
  const works = sandboxWorks();
  if (requested === 'bwrap' && !works) {
    throw new Error('PLINTH_ISOLATION=bwrap, but bwrap cannot build the sandbox on this machine (is the bubblewrap package installed, and are user namespaces enabled?)');
  }
  return works ? 'bwrap' : 'none';
}

/** Runs `/bin/true` with the same flags and filter the real sandbox uses, the filter on stdin. */
function sandboxWorks(): boolean {
  const arch = seccompArch();
  const args = [...isolationFlags(), '--ro-bind', '/', '/', ...(arch ? ['--seccomp', '0'] : []), '--', '/bin/true'];
  try {
    const { status } = spawnSync('bwrap', args, { input: arch ? seccompProgram(arch) : undefined, stdio: ['pipe', 'ignore', 'ignore'], timeout: SANDBOX_PROBE_MS_MAX });
    return status === 0;
  } catch {
    return false;
  }
}
