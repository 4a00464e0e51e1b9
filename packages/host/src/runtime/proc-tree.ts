import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat on Linux. */
const CLOCK_TICKS_PER_S = 100;

/** The direct children of a process, from every one of its threads; none once it has ended. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    return []; // it ended while being read
  }
  return children;
}

/** `read` of a process and each of its descendants, added up; a process that ends between reads counts 0. */
function sumOverTree(pid: number, read: (pid: number) => number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const current = stack.pop()!;
    try {
      total += read(current);
    } catch {
      continue; // it ended; it no longer uses memory or CPU
    }
    stack.push(...childPids(current));
  }
  return total;
}

/** Resident memory of a process tree (bwrap and workerd), in bytes. */
export function treeRssBytes(pid: number): number {
  return sumOverTree(pid, (current) => {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${current}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  });
}

/** CPU a process tree has used, and has waited for on a run queue, since it started; in ms. */
export interface CpuDemand {
  readonly runMs: number;
  readonly waitMs: number;
}

/**
 * Run and run-queue wait time of a process tree, summed over every thread, from
 * `/proc/<pid>/task/<tid>/schedstat`. Their sum is how long the tree wanted a CPU, which a busy
 * machine does not hide: a spinner that gets a third of a core waits the other two thirds.
 * Kernels without schedstat give CPU time from `/proc/<pid>/stat` and no wait.
 */
export function treeCpuDemand(pid: number): CpuDemand {
  let runNs = 0;
  let waitNs = 0;
  const ticks = sumOverTree(pid, (current) => {
    const stat = readFileSync(`/proc/${current}/stat`, 'utf8');
    try {
      for (const task of readdirSync(`/proc/${current}/task`)) {
        const [run = '0', wait = '0'] = readFileSync(`/proc/${current}/task/${task}/schedstat`, 'utf8').split(' ');
        runNs += Number(run);
        waitNs += Number(wait);
      }
    } catch {
      // no schedstat on this kernel, or a thread ended while being read
    }
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  });
  if (runNs === 0) return { runMs: (ticks * 1000) / CLOCK_TICKS_PER_S, waitMs: 0 };
  return { runMs: runNs / 1e6, waitMs: waitNs / 1e6 };
}
