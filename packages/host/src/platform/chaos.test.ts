import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { eventually, waitUntil } from '../testing/eventually.js';
import { writeHostileApp } from '../testing/hostile-app.js';
import { childPids, treeCpuDemand } from '../runtime/proc-tree.js';

interface RuntimeView { runtime: { state: string; pid: number | null; restarts: number } }
interface HostileState { bytesPulled: number; started: number }

async function runtimeOf(daemon: TestDaemon, appId: string): Promise<RuntimeView['runtime']> {
  const response = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/${appId}`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as RuntimeView).runtime;
}

async function hostileState(daemon: TestDaemon): Promise<HostileState> {
  return (await (await daemon.fetch(daemon.appUrl('hostile', '/state'))).json()) as HostileState;
}

/** The daemon is the same process, still serving another app and the hostile one after its restart. */
async function assertDaemonServes(daemon: TestDaemon, pid: number): Promise<void> {
  assert.equal(daemon.process.exitCode, null, `the daemon exited:\n${daemon.output()}`);
  assert.equal(daemon.process.signalCode, null);
  assert.equal(daemon.process.pid, pid);
  const echo = await daemon.fetch(daemon.appUrl('echo', '/public/after'));
  assert.equal(echo.status, 200);
  const ping = await eventually(() => daemon.fetch(daemon.appUrl('hostile', '/ping')).then((r) => r.text()), (t) => t.startsWith('pong'));
  assert.match(ping, /^pong /);
}

/** Starts a call that stays in flight, waits until the daemon is reading it, then returns the app's pending answer. */
/** The hostile app's SQL engine among the daemon's descendants, if it runs. */
function sqlEnginePid(daemonPid: number): number | undefined {
  const stack = [daemonPid];
  while (stack.length) {
    const pid = stack.pop()!;
    const children = childPids(pid);
    for (const child of children) {
      try {
        const cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8');
        if (cmdline.includes('engine-process') && cmdline.includes('hostile')) return child;
      } catch {
        // it ended
      }
    }
    stack.push(...children);
  }
  return undefined;
}

/**
 * Until the SQL engine is inside the slow query: it has used more CPU than its start takes
 * and keeps using it. A kill before the call reaches the engine leaves nothing to cancel.
 */
async function untilQueryRuns(daemonPid: number): Promise<void> {
  await waitUntil(async () => {
    const pid = sqlEnginePid(daemonPid);
    if (!pid) return false;
    const before = treeCpuDemand(pid).runMs;
    await new Promise((r) => setTimeout(r, 100));
    return before >= 600 && treeCpuDemand(pid).runMs > before;
  });
}

async function startInFlight(daemon: TestDaemon, path: string): Promise<{ answer: Promise<number> }> {
  const before = await hostileState(daemon);
  const answer = daemon.fetch(daemon.appUrl('hostile', path), { method: 'POST' }).then((r) => r.status, () => -1);
  await waitUntil(async () => {
    const now = await hostileState(daemon);
    return now.started > before.started && (path.startsWith('/slow-sql') || now.bytesPulled >= before.bytesPulled + 64 * 1024);
  });
  // The last chunk left the app; give the daemon a moment to be inside the call.
  if (path.startsWith('/slow-sql')) await untilQueryRuns(daemon.process.pid!);
  else await new Promise((r) => setTimeout(r, 300));
  // Wrapped: an async function returning the bare promise would wait for the answer itself.
  return { answer };
}

describe('one app cannot take the daemon down', () => {
  let daemon: TestDaemon;
  let work: string;
  let daemonPid: number;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'plinth-chaos-'));
    daemon = await startTestDaemon();
    daemonPid = daemon.process.pid!;
    installApp(daemon, join(TEST_APPS, 'echo'));
    installApp(daemon, writeHostileApp(join(work, 'v1'), '1.0.0', { memoryMb: 160, requestTimeoutMs: 5000 }));
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a platform call whose body never ends, then the app passes memoryMb: only that app\'s calls fail', async () => {
    const { answer: stalled } = await startInFlight(daemon, '/stall?method=PUT&path=/v1/secrets/stalled');
    const { pid } = await runtimeOf(daemon, 'hostile');
    const hog = await daemon.fetch(daemon.appUrl('hostile', '/hog?mb=400'));
    assert.ok([200, 502].includes(hog.status), `hog answered ${hog.status}`);
    const restarted = await eventually(() => runtimeOf(daemon, 'hostile'), (r) => r.pid !== pid);
    assert.notEqual(restarted.pid, pid, daemon.cli(['logs', 'hostile', '--lines', '50']).stdout);
    assert.equal(await stalled, 502);
    await assertDaemonServes(daemon, daemonPid);
    assert.match(daemon.cli(['logs', 'hostile', '--lines', '200']).stdout, /runtime\.memory_exceeded/);
  });

  for (const [kind, path] of [
    ['a secrets PUT', '/stall?method=PUT&path=/v1/secrets/stalled'],
    ['an SQL query', '/slow-sql'],
    ['an objects stream', '/stall?method=PUT&path=/v1/objects/s3/chaos/key'],
    ['a sockets send', '/stall?method=POST&path=/v1/sockets/nosuch/send'],
    ['a keys sign', '/stall?method=POST&path=/v1/keys/k/sign'],
  ] as const) {
    test(`the app process is killed in the middle of ${kind}: the daemon keeps serving`, async () => {
      if (kind === 'an objects stream') assert.equal((await daemon.fetch(daemon.appUrl('hostile', '/bucket?name=chaos'), { method: 'POST' })).status, 200);
      const { answer: inFlight } = await startInFlight(daemon, path);
      const { pid } = await runtimeOf(daemon, 'hostile');
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      assert.equal(await inFlight, 502);
      await assertDaemonServes(daemon, daemonPid);
      if (kind === 'an SQL query') {
        // The dead caller's statement is stopped, not left running for its 30 s limit.
        const logs = await eventually(async () => daemon.cli(['logs', 'hostile', '--lines', '100']).stdout, (text) => text.includes('sql.cancelled'));
        assert.match(logs, /sql\.cancelled: the caller of a running query went away/);
      }
    });
  }

  test('past its bound on platform calls an app gets 429 platform.too_many_calls with Retry-After, and another app still answers', async () => {
    // 16 running plus 256 waiting fill the app's slots; the next call is refused at once.
    const crowd = daemon.fetch(daemon.appUrl('hostile', '/crowd?n=272'), { method: 'POST' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await daemon.fetch(daemon.appUrl('echo', '/public/info'))).status, 200);
    const answer = await crowd;
    assert.equal(answer.status, 200);
    const probe = (await answer.json()) as { status: number; retryAfter: string | null; body: { error: { code: string; message: string } } };
    assert.deepEqual([probe.status, probe.retryAfter, probe.body.error.code], [429, '1', 'platform.too_many_calls']);
    assert.match(probe.body.error.message, /hostile has 16 platform calls running and too many waiting/);
    // The app still holds its stalled calls; once its process dies, every slot it held (queued ones too) comes free.
    const { pid } = await runtimeOf(daemon, 'hostile');
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const freed = await eventually(async () => {
      const response = await daemon.fetch(daemon.appUrl('hostile', '/crowd?n=0'), { method: 'POST' });
      return response.status === 200 ? ((await response.json()) as { status: number }).status : response.status;
    }, (status) => status === 200);
    assert.equal(freed, 200);
  });

  test('an update stops the old version while its platform call is stalled: the update ends and the daemon keeps serving', async () => {
    const { answer: stalled } = await startInFlight(daemon, '/stall?method=PUT&path=/v1/secrets/stalled');
    // v1 times a request out after 5 s, so the old version's drain (which waits on the stalled request) ends soon.
    const update = await daemon.cliAsync(['update', 'hostile', writeHostileApp(join(work, 'v2'), '2.0.0', { requestTimeoutMs: 2000 })]);
    assert.equal(update.status, 0, update.stderr);
    assert.ok([502, 504].includes(await stalled));
    await assertDaemonServes(daemon, daemonPid);
    assert.equal(await (await daemon.fetch(daemon.appUrl('hostile', '/ping'))).text(), 'pong 2.0.0');
  });
});
