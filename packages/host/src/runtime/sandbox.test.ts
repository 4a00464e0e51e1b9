import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SANDBOX_GID, SANDBOX_UID } from './limits.js';
import { detectIsolation, spawnSandboxed, type SandboxMounts } from './sandbox.js';

function run(mounts: SandboxMounts, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnSandboxed(['/usr/bin/sh', '-c', script], { mounts, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('bubblewrap sandbox', { skip: detectIsolation('auto') === 'none' && 'bwrap cannot build the sandbox on this machine' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'plinth-sandbox-'));
  const own = join(root, 'apps', 'a', 'data');
  const other = join(root, 'apps', 'b', 'data');
  const code = join(root, 'code');
  for (const dir of [own, other, code]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(other, 'secret'), 'b');
  writeFileSync(join(code, 'program'), 'code\n');
  const mounts: SandboxMounts = { readOnly: [code], writable: [own] };
  after(() => rmSync(root, { recursive: true, force: true }));

  test('the process is SANDBOX_UID with no capabilities, no new privileges and a seccomp filter', async () => {
    const result = await run(mounts, 'cat /proc/self/status');
    assert.equal(result.code, 0, result.stderr);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(result.stdout)?.[1]?.split(/\s+/);
    assert.deepEqual(field('Uid'), Array(4).fill(String(SANDBOX_UID)));
    assert.deepEqual(field('Gid'), Array(4).fill(String(SANDBOX_GID)));
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.deepEqual(field(set), ['0000000000000000'], set);
    assert.deepEqual(field('NoNewPrivs'), ['1']);
    assert.deepEqual(field('Seccomp'), ['2']);
  });

  test('it sees its writable folder, its read-only one unwritable, and nothing else of the tree', async () => {
    const result = await run(mounts, [
      `echo written > ${own}/file`,
      `echo changed > ${code}/program 2>/dev/null && echo code-writable`,
      `cat ${code}/program`,
      `test -e ${other} && echo other-visible`,
      `test -e ${root}/apps/b && echo other-app-visible`,
      `ls ${root}/apps`,
    ].join('; '));
    assert.equal(result.stdout, 'code\na\n');
    assert.equal(readFileSync(join(own, 'file'), 'utf8'), 'written\n');
    assert.equal(readFileSync(join(code, 'program'), 'utf8'), 'code\n');
  });

  test('it cannot mount or make a user namespace', async () => {
    const result = await run(mounts, [
      `mount -t tmpfs none ${own} 2>/dev/null; echo mount=$?`,
      'unshare --user true 2>/dev/null; echo unshare=$?',
      'unshare --map-root-user --mount true 2>/dev/null; echo unshare-root=$?',
    ].join('; '));
    assert.equal(result.stdout, 'mount=32\nunshare=1\nunshare-root=1\n');
  });
});
