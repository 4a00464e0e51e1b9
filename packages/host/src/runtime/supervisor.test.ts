import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { eventually } from '../testing/eventually.js';
import { descendants, processView } from '../testing/process-tree.js';
import { SANDBOX_UID } from './limits.js';
import { detectIsolation } from './sandbox.js';

interface AppView { runtime: { state: string; pid: number | null; restarts: number; inFlight: number } }
interface LogLine { stream: string; text: string }

async function appView(daemon: TestDaemon, appId: string): Promise<AppView> {
  const response = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/${appId}`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
  assert.equal(response.status, 200);
  return (await response.json()) as AppView;
}

async function logLines(daemon: TestDaemon, appId: string): Promise<LogLine[]> {
  const run = daemon.cli(['logs', appId, '--json', '--lines', '1000']);
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
}

describe('workerd supervisor', () => {
  let daemon: TestDaemon;

  before(async () => {
    daemon = await startTestDaemon({ env: { PLINTH_IDLE_STOP_MS: '1000' } });
    installApp(daemon, join(TEST_APPS, 'echo'));
  });
  after(() => daemon?.stop());

  test('an app starts on its first request, stops when idle, and starts again on the next', async () => {
    assert.equal((await appView(daemon, 'echo')).runtime.state, 'stopped');
    assert.equal((await daemon.fetch(daemon.appUrl('echo', '/public/a'))).status, 200);
    assert.equal((await appView(daemon, 'echo')).runtime.state, 'running');
    const stopped = await eventually(() => appView(daemon, 'echo'), (v) => v.runtime.state === 'stopped');
    assert.equal(stopped.runtime.state, 'stopped');
    assert.ok((await logLines(daemon, 'echo')).some((l) => l.stream === 'platform' && l.text.startsWith('runtime.idle_stop')));
    const again = await daemon.fetch(daemon.appUrl('echo', '/public/b'));
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { url: string }).url, `http://echo.localhost:${daemon.port}/public/b`);
  });

  test('a crashed app is restarted on the next request', async () => {
    await daemon.fetch(daemon.appUrl('echo', '/public/a'));
    const before = await appView(daemon, 'echo');
    assert.ok(before.runtime.pid);
    process.kill(before.runtime.pid, 'SIGKILL');
    await eventually(() => appView(daemon, 'echo'), (v) => v.runtime.state === 'stopped');
    const response = await daemon.fetch(daemon.appUrl('echo', '/public/after-crash'));
    assert.equal(response.status, 200);
    const afterCrash = await appView(daemon, 'echo');
    assert.equal(afterCrash.runtime.restarts, before.runtime.restarts + 1);
    assert.notEqual(afterCrash.runtime.pid, before.runtime.pid);
    assert.ok((await logLines(daemon, 'echo')).some((l) => l.text.startsWith('runtime.crashed')));
  });

  test('past limits.concurrency requests queue briefly, then get 503 with Retry-After', async () => {
    // echo allows 2 at once and queues up to 8 for 2 s; each of these holds its slot for 2.5 s.
    const responses = await Promise.all(Array.from({ length: 12 }, () => daemon.fetch(daemon.appUrl('echo', '/slow?ms=2500'))));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, ...Array(10).fill(503)]);
    const refused = responses.find((r) => r.status === 503)!;
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'app.overloaded');
    assert.equal((await appView(daemon, 'echo')).runtime.inFlight, 0);
  });

  test('a request whose client leaves while it waits for a slot or a start gives its slot back', async () => {
    // Two requests hold both of echo's slots; two more wait in the queue, and their clients leave.
    const holders = [0, 1].map(() => daemon.fetch(daemon.appUrl('echo', '/slow?ms=1500')));
    await eventually(() => appView(daemon, 'echo'), (v) => v.runtime.inFlight === 2);
    const leavers = [0, 1].map(() => daemon.fetch(daemon.appUrl('echo', '/public/left'), { signal: AbortSignal.timeout(300) }).catch((error: Error) => error.name));
    assert.deepEqual(await Promise.all(leavers), ['TimeoutError', 'TimeoutError']);
    assert.deepEqual((await Promise.all(holders)).map((r) => r.status), [200, 200]);
    // Before the fix the waiters got the slots after their clients had gone, and never gave them back.
    const settled = await eventually(() => appView(daemon, 'echo'), (v) => v.runtime.inFlight === 0);
    assert.equal(settled.runtime.inFlight, 0);
    // The same for a client that leaves while the app process starts.
    await eventually(() => appView(daemon, 'echo'), (v) => v.runtime.state === 'stopped');
    const starting = await Promise.all([0, 1].map(() => daemon.fetch(daemon.appUrl('echo', '/public/left'), { signal: AbortSignal.timeout(5) }).catch((error: Error) => error.name)));
    assert.deepEqual(starting, ['TimeoutError', 'TimeoutError']);
    const afterStart = await eventually(() => appView(daemon, 'echo'), (v) => v.runtime.state === 'running' && v.runtime.inFlight === 0);
    assert.deepEqual([afterStart.runtime.state, afterStart.runtime.inFlight], ['running', 0]);
    const responses = await Promise.all([0, 1].map(() => daemon.fetch(daemon.appUrl('echo', '/public/after'))));
    assert.deepEqual(responses.map((r) => r.status), [200, 200]);
  });

  test('a request past limits.requestTimeoutMs gets 504', async () => {
    const response = await daemon.fetch(daemon.appUrl('echo', '/slow?ms=6000'));
    assert.equal(response.status, 504);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'app.timeout');
  });

  test('console output is captured per app and shown by plinth logs', async () => {
    const marker = `m${Date.now()}`;
    assert.equal((await daemon.fetch(daemon.appUrl('echo', `/public/log?text=${marker}`))).status, 200);
    const lines = await eventually(() => logLines(daemon, 'echo'), (ls) => ls.some((l) => l.text.includes(`error line ${marker}`)));
    assert.ok(lines.some((l) => l.stream === 'stdout' && l.text.includes(`log line ${marker}`)));
    assert.ok(lines.some((l) => l.stream === 'stderr' && l.text.includes(`error line ${marker}`)));
    const text = daemon.cli(['logs', 'echo']);
    assert.match(text.stdout, new RegExp(`stdout log line ${marker}`));
    assert.equal(daemon.cli(['logs', 'nosuchapp']).status, 1);
  });

  test('under bwrap, workerd has no capabilities, a non-root uid in its own user namespace, and a seccomp filter', { skip: (process.env.PLINTH_ISOLATION === 'none' && 'the daemon runs with PLINTH_ISOLATION=none') || (detectIsolation('auto') === 'none' && 'bwrap cannot build the sandbox on this machine') }, async () => {
    assert.equal((await daemon.fetch(daemon.appUrl('echo', '/public/a'))).status, 200);
    const { runtime } = await appView(daemon, 'echo');
    assert.ok(runtime.pid);
    const workerd = descendants(runtime.pid).filter((p) => p.name === 'workerd');
    assert.equal(workerd.length, 1, 'one workerd process below bwrap');
    const { status, uidMap, userNamespace } = workerd[0]!;
    assert.deepEqual(
      [status.CapEff, status.CapPrm, status.CapBnd, status.CapAmb, status.NoNewPrivs, status.Seccomp],
      ['0000000000000000', '0000000000000000', '0000000000000000', '0000000000000000', '1', '2'],
    );
    // Inside its namespace workerd is SANDBOX_UID; only the daemon's own uid is mapped, to it.
    assert.deepEqual(uidMap, [[SANDBOX_UID, process.getuid!(), 1]]);
    assert.notEqual(userNamespace, processView(process.pid).userNamespace);
  });

  test('a process whose memory passes limits.memoryMb is stopped', async () => {
    // echo's limit is 256 MiB; one block of 300 MiB of touched memory passes it.
    // The kill may land before or after the hog's own response: 200 (answered, then killed) or 502 (killed first).
    const hog = await daemon.fetch(daemon.appUrl('echo', '/public/hog?mb=300'));
    assert.ok([200, 502].includes(hog.status), `hog answered ${hog.status}`);
    const lines = await eventually(() => logLines(daemon, 'echo'), (ls) => ls.some((l) => l.text.startsWith('runtime.memory_exceeded')));
    assert.ok(lines.some((l) => l.text.startsWith('runtime.memory_exceeded')));
    assert.equal((await daemon.fetch(daemon.appUrl('echo', '/public/fresh'))).status, 200);
  });
});
