import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { openSocket } from '../../testing/socket-client.js';
import { childPids } from '../../runtime/proc-tree.js';

const MIB = 1024 * 1024;
const MESSAGE_BYTES = 16 * MIB;

interface AppView { runtime: { pid: number | null; restarts: number } }

/** Peak resident memory (VmHWM) of a process and its descendants, summed, as the supervisor sums VmRSS. */
function treePeakBytes(pid: number): number {
  let kib = 0;
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    pids.push(...childPids(pids[i]!));
    kib += Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pids[i]}/status`, 'utf8'))?.[1] ?? 0);
  }
  return kib * 1024;
}

describe('large socket messages with the default memoryMb (issue 14 §22)', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-socket-memory-'));
  let daemon: TestDaemon;
  const view = async () => (await (await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/sockets`, { headers: { authorization: `Bearer ${daemon.adminToken}` } })).json()) as AppView;

  before(async () => {
    // ws counts a compressed message's bytes on the wire, and random bytes grow a little when deflated.
    daemon = await startTestDaemon({ env: { PLINTH_SOCKET_MESSAGE_BYTES_MAX: String(MESSAGE_BYTES + MIB) } });
    const app = join(work, 'sockets');
    cpSync(join(TEST_APPS, 'sockets'), app, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(app, 'plinth.json'), 'utf8')) as { limits: Record<string, number> };
    writeFileSync(join(app, 'plinth.json'), JSON.stringify({ ...manifest, limits: { ...manifest.limits, memoryMb: 128 } }));
    installApp(daemon, app);
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a 16 MiB binary message and a 16 MiB text message go through the app and back, and its memory stays under 128 MiB', async (t) => {
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    // One after the other in one process: the garbage of the first (not yet collected) counts too.
    const binary = randomBytes(MESSAGE_BYTES);
    socket.ws.send(binary);
    assert.ok(binary.equals(await socket.next(30_000) as Buffer), 'the binary echo is the message');
    // base64 has no ':', so the test app echoes it whole.
    const text = randomBytes((MESSAGE_BYTES * 3) / 4).toString('base64');
    socket.ws.send(text);
    assert.equal(await socket.next(30_000), text);
    const { runtime } = await view();
    assert.equal(runtime.restarts, 0, 'the app was never killed');
    const peak = treePeakBytes(runtime.pid!);
    t.diagnostic(`the app's peak RSS: ${(peak / MIB).toFixed(0)} MiB`);
    assert.ok(peak < 128 * MIB, `the app's peak RSS was ${(peak / MIB).toFixed(0)} MiB`);
    assert.doesNotMatch(daemon.cli(['logs', 'sockets']).stdout, /runtime\.memory_exceeded/);
    socket.ws.close();
  });
});
