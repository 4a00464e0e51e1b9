import { readFileSync, readlinkSync } from 'node:fs';
import { childPids } from '../runtime/proc-tree.js';

/** A process as /proc shows it to the test (which runs outside every sandbox). */
export interface ProcessView {
  readonly pid: number;
  /** The executable's short name (`comm`): `bwrap`, `workerd`, `node`. */
  readonly name: string;
  readonly cmdline: readonly string[];
  /** Fields of /proc/<pid>/status by name: `CapEff`, `Seccomp`, `NoNewPrivs`… */
  readonly status: Readonly<Record<string, string>>;
  /** uid_map lines: [inside, outside, count], as seen from the test's user namespace. */
  readonly uidMap: readonly (readonly [number, number, number])[];
  /** The user namespace, as `user:[inode]`. */
  readonly userNamespace: string;
}

export function processView(pid: number): ProcessView {
  const status: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) status[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  const uidMap = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  return {
    pid,
    name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
    status, uidMap,
    userNamespace: readlinkSync(`/proc/${pid}/ns/user`),
  };
}

/** Every process below `pid` (not `pid` itself), parents before children. */
export function descendants(pid: number): ProcessView[] {
  const found: ProcessView[] = [];
  const queue = [pid];
  while (queue.length) {
    const current = queue.shift()!;
    for (const child of childPids(current)) {
      try {
        found.push(processView(child));
        queue.push(child);
      } catch {
        // ended between listing and reading
      }
    }
  }
  return found;
}
