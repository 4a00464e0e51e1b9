/**
 * The seccomp filter every sandboxed process runs under, as the classic-BPF program that
 * `bwrap --seccomp FD` loads (struct sock_filter[], 8 bytes per instruction, host byte order).
 *
 * A deny-list, not an allow-list: workerd and node make hundreds of distinct system calls that
 * change between releases, and an allow-list that misses one breaks apps at random. The calls
 * denied here are the ones an app never needs and a sandbox escape usually does: mounting,
 * namespaces, kernel modules and keyrings, tracing other processes, eBPF, and the kernel
 * surfaces with a record of privilege-escalation bugs (userfaultfd, perf events, io_uring).
 * They fail with EPERM, which callers already handle (it is what they get without the
 * capability). A call made with another architecture's numbers (x32, or 32-bit code on a
 * 64-bit kernel) kills the process: its numbers mean other calls, so this list would not apply.
 *
 * Numbers are from the kernel's uapi headers: arch/x86/entry/syscalls/syscall_64.tbl for
 * x86_64 and include/uapi/asm-generic/unistd.h for aarch64 (which has no table of its own);
 * seccomp-filter.test.ts checks them against the headers installed on the build machine.
 */
import assert from 'node:assert/strict';

export type SeccompArch = 'x64' | 'arm64';

/** Syscall numbers by name; `undefined` where the architecture has no such call. */
interface SyscallNumbers { readonly x64: number; readonly arm64: number | undefined }

/** Denied with EPERM, whatever the arguments. */
export const DENIED_SYSCALLS: Readonly<Record<string, SyscallNumbers>> = {
  // Mounts: a process that can mount can reshape what it sees of the host.
  mount: { x64: 165, arm64: 40 },
  umount2: { x64: 166, arm64: 39 },
  pivot_root: { x64: 155, arm64: 41 },
  chroot: { x64: 161, arm64: 51 },
  open_tree: { x64: 428, arm64: 428 },
  move_mount: { x64: 429, arm64: 429 },
  fsopen: { x64: 430, arm64: 430 },
  fsconfig: { x64: 431, arm64: 431 },
  fsmount: { x64: 432, arm64: 432 },
  fspick: { x64: 433, arm64: 433 },
  mount_setattr: { x64: 442, arm64: 442 },
  // Namespaces: a new user namespace gives back every capability, inside it.
  unshare: { x64: 272, arm64: 97 },
  setns: { x64: 308, arm64: 268 },
  // Other processes' memory.
  ptrace: { x64: 101, arm64: 117 },
  process_vm_readv: { x64: 310, arm64: 270 },
  process_vm_writev: { x64: 311, arm64: 271 },
  // The kernel itself: modules, a new kernel, reboot, swap, accounting, clocks, host names.
  init_module: { x64: 175, arm64: 105 },
  finit_module: { x64: 313, arm64: 273 },
  delete_module: { x64: 176, arm64: 106 },
  kexec_load: { x64: 246, arm64: 104 },
  kexec_file_load: { x64: 320, arm64: 294 },
  reboot: { x64: 169, arm64: 142 },
  swapon: { x64: 167, arm64: 224 },
  swapoff: { x64: 168, arm64: 225 },
  acct: { x64: 163, arm64: 89 },
  quotactl: { x64: 179, arm64: 60 },
  settimeofday: { x64: 164, arm64: 170 },
  clock_settime: { x64: 227, arm64: 112 },
  clock_adjtime: { x64: 305, arm64: 266 },
  adjtimex: { x64: 159, arm64: 171 },
  sethostname: { x64: 170, arm64: 161 },
  setdomainname: { x64: 171, arm64: 162 },
  syslog: { x64: 103, arm64: 116 },
  vhangup: { x64: 153, arm64: 58 },
  lookup_dcookie: { x64: 212, arm64: 18 },
  iopl: { x64: 172, arm64: undefined },
  ioperm: { x64: 173, arm64: undefined },
  uselib: { x64: 134, arm64: undefined },
  // Kernel keyrings are shared across the host's processes of one uid.
  keyctl: { x64: 250, arm64: 219 },
  add_key: { x64: 248, arm64: 217 },
  request_key: { x64: 249, arm64: 218 },
  // Attack surface with a record of privilege escalations; node falls back when io_uring is refused.
  bpf: { x64: 321, arm64: 280 },
  perf_event_open: { x64: 298, arm64: 241 },
  userfaultfd: { x64: 323, arm64: 282 },
  io_uring_setup: { x64: 425, arm64: 425 },
  io_uring_enter: { x64: 426, arm64: 426 },
  io_uring_register: { x64: 427, arm64: 427 },
  // Opens a file by handle, bypassing the mount namespace's view (the "shocker" escape).
  open_by_handle_at: { x64: 304, arm64: 265 },
};

/** clone() is allowed for threads and processes, refused (EPERM) when it asks for a new namespace. */
const CLONE: SyscallNumbers = { x64: 56, arm64: 220 };
/**
 * clone3() passes its flags in memory, where seccomp cannot read them, so it fails with ENOSYS:
 * glibc (2.34+) then falls back to clone(), whose flags the filter can check. Docker does the same.
 */
const CLONE3: SyscallNumbers = { x64: 435, arm64: 435 };
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** AUDIT_ARCH_* from linux/audit.h: the ELF machine with the 64-bit and little-endian bits. */
export const AUDIT_ARCH: Readonly<Record<SeccompArch, number>> = { x64: 0xc000003e, arm64: 0xc00000b7 };
/** x32 system calls run under AUDIT_ARCH_X86_64 with this bit set in the number. */
export const X32_SYSCALL_BIT = 0x40000000;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const EPERM = 1;
export const ENOSYS = 38;

// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** The low 32 bits of args[0] on a little-endian machine (both supported ones are). */
const OFFSET_ARG0_LOW = 16;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K

/** The kernel's limit is 4096 instructions; a jump reaches at most 255 ahead, which bounds this list. */
const JUMP_MAX = 255;

export interface BpfInstruction { readonly code: number; readonly jt: number; readonly jf: number; readonly k: number }

/** The architecture seccomp filters are built for here, or undefined if this one has no table. */
export function seccompArch(arch: string = process.arch): SeccompArch | undefined {
  return arch === 'x64' || arch === 'arm64' ? arch : undefined;
}

/** The filter's instructions for `arch`. */
export function seccompInstructions(arch: SeccompArch): BpfInstruction[] {
  const denied = Object.values(DENIED_SYSCALLS).map((n) => n[arch]).filter((n): n is number => n !== undefined);
  const program: BpfInstruction[] = [];
  const emit = (code: number, k: number, jt = 0, jf = 0) => program.push({ code, jt, jf, k });
  // Jumps to the shared return instructions at the end are patched once their place is known.
  const toEperm: number[] = [];
  const toEnosys: number[] = [];

  emit(LD_W_ABS, OFFSET_ARCH);
  emit(JEQ_K, AUDIT_ARCH[arch], 1, 0);
  emit(RET_K, SECCOMP_RET_KILL_PROCESS);
  emit(LD_W_ABS, OFFSET_NR);
  if (arch === 'x64') {
    emit(JGE_K, X32_SYSCALL_BIT, 0, 1);
    emit(RET_K, SECCOMP_RET_KILL_PROCESS);
  }
  for (const nr of denied) {
    toEperm.push(program.length);
    emit(JEQ_K, nr);
  }
  toEnosys.push(program.length);
  emit(JEQ_K, CLONE3[arch]!);
  emit(JEQ_K, CLONE[arch]!, 0, 2); // not clone: skip its flag check, to ALLOW
  emit(LD_W_ABS, OFFSET_ARG0_LOW);
  toEperm.push(program.length);
  emit(JSET_K, CLONE_NAMESPACE_FLAGS);
  emit(RET_K, SECCOMP_RET_ALLOW);
  const eperm = program.length;
  emit(RET_K, SECCOMP_RET_ERRNO | EPERM);
  const enosys = program.length;
  emit(RET_K, SECCOMP_RET_ERRNO | ENOSYS);

  const patch = (from: number, to: number) => {
    const jt = to - from - 1;
    assert.ok(jt <= JUMP_MAX, `seccomp filter: a jump of ${jt} instructions is past BPF's ${JUMP_MAX}; shorten DENIED_SYSCALLS or add a trampoline`);
    program[from] = { ...program[from]!, jt };
  };
  for (const at of toEperm) patch(at, eperm);
  for (const at of toEnosys) patch(at, enosys);
  return program;
}

/** The filter as bytes for `bwrap --seccomp FD`: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
export function seccompProgram(arch: SeccompArch): Buffer {
  const program = seccompInstructions(arch);
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((instruction, i) => {
    bytes.writeUInt16LE(instruction.code, i * 8);
    bytes.writeUInt8(instruction.jt, i * 8 + 2);
    bytes.writeUInt8(instruction.jf, i * 8 + 3);
    bytes.writeUInt32LE(instruction.k >>> 0, i * 8 + 4);
  });
  return bytes;
}
