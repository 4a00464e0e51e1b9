import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { spawnSandboxed, detectIsolation } from './sandbox.js';
import {
  AUDIT_ARCH, CLONE_NAMESPACE_FLAGS, DENIED_SYSCALLS, ENOSYS, EPERM, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS,
  X32_SYSCALL_BIT, seccompArch, seccompInstructions, seccompProgram, type BpfInstruction, type SeccompArch,
} from './seccomp-filter.js';

/** Runs a classic-BPF seccomp program over one struct seccomp_data, as the kernel would. */
function evaluate(program: readonly BpfInstruction[], data: { nr: number; arch: number; arg0?: number }): number {
  const word = (offset: number): number => {
    if (offset === 0) return data.nr >>> 0;
    if (offset === 4) return data.arch >>> 0;
    if (offset === 16) return (data.arg0 ?? 0) >>> 0;
    throw new Error(`the filter reads offset ${offset}, which this test does not model`);
  };
  let accumulator = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    switch (code) {
      case 0x20: accumulator = word(k); break;
      case 0x15: pc += accumulator === k >>> 0 ? jt : jf; break;
      case 0x35: pc += accumulator >= k >>> 0 ? jt : jf; break;
      case 0x45: pc += (accumulator & k) !== 0 ? jt : jf; break;
      case 0x06: return k >>> 0;
      default: throw new Error(`unexpected opcode ${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('the filter ran off its end');
}

/** `#define __NR_<name> <number>` lines of a uapi header. */
function headerNumbers(file: string): Map<string, number> {
  const numbers = new Map<string, number>();
  for (const match of readFileSync(file, 'utf8').matchAll(/^#define __NR_(\w+)\s+(\d+)\s*$/gm)) numbers.set(match[1]!, Number(match[2]));
  return numbers;
}

const HEADERS: Record<SeccompArch, string> = {
  x64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
  // aarch64 has no table of its own: its numbers are the generic ones.
  arm64: '/usr/include/asm-generic/unistd.h',
};
const GETPID: Record<SeccompArch, number> = { x64: 39, arm64: 172 };
const CLONE: Record<SeccompArch, number> = { x64: 56, arm64: 220 };
const CLONE3 = 435;
/** What glibc's pthread_create passes to clone: no namespace bit. */
const CLONE_THREAD_FLAGS = 0x003d0f00;
const CLONE_NEWUSER = 0x10000000;

describe('seccomp filter', () => {
  for (const arch of ['x64', 'arm64'] as const) {
    test(`${arch}: syscall numbers match the kernel headers`, { skip: !existsSync(HEADERS[arch]) && `${HEADERS[arch]} is not installed (linux-libc-dev)` }, () => {
      const numbers = headerNumbers(HEADERS[arch]);
      for (const name of [...Object.keys(DENIED_SYSCALLS), 'clone', 'clone3', 'getpid']) {
        const ours = name === 'clone' ? CLONE[arch] : name === 'clone3' ? CLONE3 : name === 'getpid' ? GETPID[arch] : DENIED_SYSCALLS[name]![arch];
        assert.equal(ours, numbers.get(name), `${arch} ${name}`);
      }
    });

    test(`${arch}: denied calls get EPERM, others pass, clone only without namespace flags, clone3 ENOSYS, a foreign ABI is killed`, () => {
      const program = seccompInstructions(arch);
      const own = AUDIT_ARCH[arch];
      for (const [name, numbers] of Object.entries(DENIED_SYSCALLS)) {
        if (numbers[arch] === undefined) continue;
        assert.equal(evaluate(program, { arch: own, nr: numbers[arch]! }), SECCOMP_RET_ERRNO | EPERM, name);
      }
      const deniedNumbers = new Set(Object.values(DENIED_SYSCALLS).map((n) => n[arch]));
      for (let nr = 0; nr < 460; nr++) {
        if (deniedNumbers.has(nr) || nr === CLONE[arch] || nr === CLONE3) continue;
        assert.equal(evaluate(program, { arch: own, nr }), SECCOMP_RET_ALLOW, `syscall ${nr} is allowed`);
      }
      assert.equal(evaluate(program, { arch: own, nr: CLONE[arch], arg0: CLONE_THREAD_FLAGS }), SECCOMP_RET_ALLOW);
      assert.equal(evaluate(program, { arch: own, nr: CLONE[arch], arg0: CLONE_THREAD_FLAGS | CLONE_NEWUSER }), SECCOMP_RET_ERRNO | EPERM);
      for (let bit = 0; bit < 32; bit++) {
        const flag = (1 << bit) >>> 0;
        if ((CLONE_NAMESPACE_FLAGS & flag) === 0) continue;
        assert.equal(evaluate(program, { arch: own, nr: CLONE[arch], arg0: flag }), SECCOMP_RET_ERRNO | EPERM, `clone flag ${flag.toString(16)}`);
      }
      assert.equal(evaluate(program, { arch: own, nr: CLONE3 }), SECCOMP_RET_ERRNO | ENOSYS);
      const foreign = arch === 'x64' ? AUDIT_ARCH.arm64 : AUDIT_ARCH.x64;
      assert.equal(evaluate(program, { arch: foreign, nr: GETPID[arch] }), SECCOMP_RET_KILL_PROCESS);
      assert.equal(evaluate(program, { arch: 0x40000003 /* AUDIT_ARCH_I386 */, nr: GETPID[arch] }), SECCOMP_RET_KILL_PROCESS);
      if (arch === 'x64') assert.equal(evaluate(program, { arch: own, nr: X32_SYSCALL_BIT | GETPID.x64 }), SECCOMP_RET_KILL_PROCESS);
      assert.equal(seccompProgram(arch).length, program.length * 8);
    });
  }

  // perl's syscall() makes a raw call by number, so each denied number is tried on the real kernel.
  const realSkip = detectIsolation('auto') === 'none' ? 'bwrap cannot build the sandbox on this machine'
    : seccompArch() === undefined ? `no filter for ${process.arch}`
      : !existsSync('/usr/bin/perl') ? '/usr/bin/perl is not installed' : false;

  test('in a real sandbox, each denied call fails with EPERM and the process lives on', { skip: realSkip }, async () => {
    const arch = seccompArch()!;
    const numbers = Object.entries(DENIED_SYSCALLS).filter(([, n]) => n[arch] !== undefined).map(([name, n]) => `${name}=${n[arch]}`);
    // Zero arguments: a call the filter let through would fail on its arguments, not do anything.
    const script = 'use Errno; for (@ARGV) { my ($n, $nr) = split /=/; my $r = syscall($nr, 0, 0, 0, 0, 0); print "$n ", ($r == -1 ? ($!{EPERM} ? "EPERM" : "errno " . ($!+0)) : "returned $r"), "\\n" } print "getpid ", (syscall(' + GETPID[arch] + ') > 0 ? "ok" : "failed"), "\\n";';
    const result = await runSandboxed(['/usr/bin/perl', '-e', script, ...numbers]);
    assert.equal(result.code, 0, result.output);
    const expected = [...Object.keys(DENIED_SYSCALLS).filter((name) => DENIED_SYSCALLS[name]![arch] !== undefined).map((name) => `${name} EPERM`), 'getpid ok'];
    assert.deepEqual(result.output.trim().split('\n'), expected);
  });

  test('in a real sandbox, a call by x32 numbers kills the process', { skip: realSkip || (seccompArch() !== 'x64' && 'x32 exists on x86_64 only') }, async () => {
    const result = await runSandboxed(['/usr/bin/perl', '-e', `syscall(${X32_SYSCALL_BIT + GETPID.x64}); print "survived\\n"`]);
    assert.equal(result.output, '');
    // bwrap reports its child's death by signal as 128 + the signal: SIGSYS is 31.
    assert.equal(result.code, 128 + 31);
  });
});

function runSandboxed(command: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawnSandboxed(command, { mounts: { readOnly: [], writable: [] }, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin' } });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}
