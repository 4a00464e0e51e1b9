import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { openSocket } from '../testing/socket-client.js';
import { writeVersionedApp } from '../testing/versioned-app.js';

describe('gated version upgrades', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-update-'));
  const daemons: TestDaemon[] = [];
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    rmSync(work, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string> = {}, dataDir?: string) => {
    const daemon = await startTestDaemon({ env: { PLINTH_AFTER_UPDATE_TIMEOUT_MS: '3000', ...env }, ...(dataDir ? { dataDir } : {}) });
    daemons.push(daemon);
    return daemon;
  };
  let n = 0;
  const version = (v: string, behaviour: Parameters<typeof writeVersionedApp>[2], extra: Record<string, unknown> = {}) => writeVersionedApp(join(work, `app-${++n}`), v, behaviour, extra);
  const text = async (d: TestDaemon, path: string) => (await d.fetch(d.appUrl('versioned', path))).text();
  const items = async (d: TestDaemon) => JSON.parse(await text(d, '/items')) as { name: string; note?: string }[];

  test('a successful update migrates, switches with zero failed requests, and carries sockets and jobs over', async () => {
    const d = await start();
    installApp(d, version('1.0.0', 'migrate'));
    assert.equal(await text(d, '/write?name=before'), 'ok');
    const socket = await openSocket(d, 'versioned', '/ws');
    socket.ws.send('hello');
    assert.equal(await socket.next(), 'v1.0.0:hello');
    // Due after the update has switched (it takes a few seconds at most here), so the new version runs it.
    await d.fetch(d.appUrl('versioned', '/enqueue?delayMs=10000'));

    // A bounded load loop on loopback across the switch.
    let updating = true;
    const seen = new Map<string, number>();
    const load = (async () => {
      for (let i = 0; i < 5_000 && updating; i++) {
        const response = await d.fetch(d.appUrl('versioned', '/'));
        const body = await response.text();
        seen.set(`${response.status} ${body}`, (seen.get(`${response.status} ${body}`) ?? 0) + 1);
      }
    })();
    await sleep(200);
    const run = await d.cliAsync(['update', 'versioned', version('2.0.0', 'migrate'), '--json']);
    await sleep(300);
    updating = false;
    await load;
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).to, '2.0.0');
    assert.deepEqual([...seen.keys()].filter((k) => !k.startsWith('200 ')), [], `errors during the switch: ${[...seen]}`);
    assert.ok(seen.has('200 v1.0.0') && seen.has('200 v2.0.0'), `served both versions: ${[...seen.keys()]}`);
    assert.deepEqual(await items(d), [{ name: 'before', note: 'migrated' }, { name: 'from-after-update', note: 'migrated' }]);

    socket.ws.send('again');
    assert.equal(await socket.next(), 'v2.0.0:again', 'the socket stayed open and reached the new version');
    const deadline = Date.now() + 30_000;
    let runs: { version: string }[] = [];
    while (Date.now() < deadline && runs.length === 0) {
      runs = JSON.parse(await text(d, '/job-runs')) as { version: string }[];
      await sleep(200);
    }
    assert.deepEqual(runs, [{ version: '2.0.0' }], 'the job queued before the update ran under the new version');
    socket.ws.close();

    const history = d.cli(['apps', '--history', 'versioned', '--json']);
    const entries = JSON.parse(history.stdout) as { kind: string; from: string; to: string; state: string; durationMs: number }[];
    assert.deepEqual(entries.map((e) => [e.kind, e.from, e.to, e.state]), [['update', '1.0.0', '2.0.0', 'done']]);
    assert.ok(entries[0]!.durationMs >= 0);

    // Failed gates: a throw, a plain 500 and a time-out. The old version serves; the failed migration's writes are gone.
    for (const [behaviour, expected] of [['throw', /500.*migration refused on purpose/], ['status500', /500.*the new version says no/], ['sleep', /did not answer \/after-update within 3000 ms/]] as const) {
      const failed = d.cli(['update', 'versioned', version('3.0.0', behaviour)]);
      assert.equal(failed.status, 1, behaviour);
      assert.match(failed.stderr, expected);
      assert.equal(await text(d, '/'), 'v2.0.0');
      assert.deepEqual((await items(d)).map((i) => i.name), ['before', 'from-after-update'], `${behaviour} left no writes`);
    }
    const states = (JSON.parse(d.cli(['apps', '--history', 'versioned', '--json']).stdout) as { state: string }[]).map((e) => e.state);
    assert.deepEqual(states, ['done', 'failed', 'failed', 'failed']);

    // Rollback: the previous version and its pre-update data.
    const rolled = d.cli(['rollback', 'versioned']);
    assert.equal(rolled.status, 0, rolled.stderr);
    assert.match(rolled.stderr, /writes made since then are gone/);
    assert.equal(await text(d, '/'), 'v1.0.0');
    assert.deepEqual(await items(d), [{ name: 'before' }]);
    assert.equal(d.cli(['rollback', 'versioned']).status, 1, 'only one rollback is kept');
  });

  test('an update under concurrent SQL traffic fails no request, and the held calls do not stall the switch', async () => {
    const d = await start();
    installApp(d, version('1.0.0', 'migrate'));
    assert.equal(await text(d, '/write?name=before'), 'ok');
    // 40 loops on loopback, each request running a query, across a 0.5 s migration; bounded by the update's end and a count.
    let updating = true;
    const statuses = new Map<number, number>();
    const loop = async () => {
      for (let i = 0; updating && i < 2_000; i++) {
        const response = await d.fetch(d.appUrl('versioned', '/items'));
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      }
    };
    const loops = Array.from({ length: 40 }, loop);
    await sleep(300);
    const update = await d.cliAsync(['update', 'versioned', version('2.0.0', 'migrate-slowly'), '--json']);
    updating = false;
    await Promise.all(loops);
    assert.equal(update.status, 0, update.stderr);
    assert.deepEqual([...statuses.keys()], [200], `statuses seen: ${JSON.stringify([...statuses])}`);
    const record = JSON.parse(update.stdout) as { state: string };
    assert.equal(record.state, 'done');
    // Before the fix the old version's drain waited out its held calls until DRAIN_MS_MAX.
    const logs = d.cli(['logs', 'versioned', '--lines', '500']).stdout;
    assert.doesNotMatch(logs, /runtime\.drain_timeout/);
    assert.match(logs, /update\.done 1\.0\.0 → 2\.0\.0/);
    assert.equal((await items(d)).at(-1)?.note, 'migrated');
  });

  test('an uninstall while an update runs is refused with 409 update.in_progress, and the app is left as the update leaves it', async () => {
    // A long gate, so the uninstall surely comes while it is open even on a slow machine.
    const d = await start({ PLINTH_AFTER_UPDATE_TIMEOUT_MS: '10000' });
    installApp(d, version('1.0.0', 'migrate'));
    const updating = d.cliAsync(['update', 'versioned', version('2.0.0', 'sleep')]);
    const gating = async () => {
      const response = await d.fetch(`${d.baseUrl}/api/admin/apps/versioned/updates`, { headers: { authorization: `Bearer ${d.adminToken}` } });
      return ((await response.json()) as { history: { state: string }[] }).history.some((e) => e.state === 'gating');
    };
    for (let i = 0; i < 400 && !(await gating()); i++) await sleep(25);
    assert.ok(await gating(), 'the update reached its gate');
    const refused = d.cli(['uninstall', 'versioned']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /update\.in_progress/);
    const failed = await updating;
    assert.equal(failed.status, 1, 'the sleeping gate times out');
    assert.equal(await text(d, '/'), 'v1.0.0');
    const removed = d.cli(['uninstall', 'versioned']);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal((await d.fetch(d.appUrl('versioned', '/'))).status, 404);
  });

  test('downgrades, foreign signers, minUpgradableVersion and limits above the ceilings are refused before anything runs', async () => {
    const d = await start({ PLINTH_APP_MEMORY_MB_MAX: '512' });
    const keyA = join(work, 'a.key');
    const keyB = join(work, 'b.key');
    d.cli(['keygen', keyA]);
    d.cli(['keygen', keyB]);
    installApp(d, version('2.0.0', 'migrate'), ['--sign-key', keyA]);
    const older = d.cli(['update', 'versioned', version('1.0.0', 'migrate'), '--sign-key', keyA]);
    assert.match(older.stderr, /update\.not_newer/);
    const foreign = d.cli(['update', 'versioned', version('3.0.0', 'migrate'), '--sign-key', keyB]);
    assert.match(foreign.stderr, /package\.signer_mismatch/);
    const unsigned = d.cli(['update', 'versioned', version('3.0.0', 'migrate')]);
    assert.match(unsigned.stderr, /package\.signer_mismatch/);
    const tooOld = d.cli(['update', 'versioned', version('5.0.0', 'migrate', { minUpgradableVersion: '4.0.0' }), '--sign-key', keyA]);
    assert.match(tooOld.stderr, /update\.too_old/);
    await text(d, '/write?name=kept');
    const greedy = d.cli(['update', 'versioned', version('3.0.0', 'migrate', { limits: { concurrency: 32, memoryMb: 1024 } }), '--sign-key', keyA]);
    assert.equal(greedy.status, 1);
    assert.match(greedy.stderr, /manifest\.above_ceiling.*limits\.memoryMb 1024 is above this platform's ceiling of 512 \(PLINTH_APP_MEMORY_MB_MAX\)/);
    assert.deepEqual(readdirSync(join(d.dataDir, 'apps', 'versioned', 'versions')), ['2.0.0'], 'the refused version was not unpacked');
    assert.equal(await text(d, '/'), 'v2.0.0');
    assert.deepEqual(await items(d), [{ name: 'kept' }]);
    assert.equal((JSON.parse(d.cli(['apps', '--history', 'versioned', '--json']).stdout) as unknown[]).length, 0, 'refusals start no update');
    const downgrade = d.cli(['update', 'versioned', version('1.5.0', 'migrate'), '--sign-key', keyA, '--allow-downgrade']);
    assert.equal(downgrade.status, 0, downgrade.stderr);
    assert.equal(await text(d, '/'), 'v1.5.0');
  });

  test('a daemon killed in any state of an update restarts with exactly one version and matching data', async () => {
    for (const [state, active] of [['snapshotting', 'v1.0.0'], ['staged', 'v1.0.0'], ['gating', 'v1.0.0'], ['switched', 'v2.0.0']] as const) {
      const dataDir = join(work, `crash-${state}`);
      const d = await start({ PLINTH_FAILPOINT: `update:${state}` }, dataDir);
      installApp(d, version('1.0.0', 'migrate'));
      await text(d, '/write?name=kept');
      const run = d.cli(['update', 'versioned', version('2.0.0', 'migrate')]);
      assert.equal(run.status, 1, `${state}: the daemon died mid-update`);
      await d.exited();
      const again = await start({}, dataDir);
      assert.equal(await text(again, '/'), active, state);
      const rows = await items(again);
      // v2's migration ran before the switch committed, so its row belongs to v2's data; v1's data never saw it.
      assert.deepEqual(rows.map((r) => r.name), active === 'v2.0.0' ? ['kept', 'from-after-update'] : ['kept'], `${state}: data matches ${active}`);
      const history = JSON.parse(again.cli(['apps', '--history', 'versioned', '--json']).stdout) as { state: string }[];
      assert.equal(history[0]!.state, active === 'v2.0.0' ? 'done' : 'failed', state);
      await again.stop({ keepData: true });
    }
  });

  test('a daemon killed while /after-update is migrating comes back on the old version with the old data', async () => {
    const dataDir = join(work, 'crash-mid-migration');
    const d = await start({ PLINTH_AFTER_UPDATE_TIMEOUT_MS: '60000' }, dataDir);
    installApp(d, version('1.0.0', 'migrate'));
    await text(d, '/write?name=kept');
    const updating = d.cliAsync(['update', 'versioned', version('2.0.0', 'migrate-then-sleep')]);
    // Once the gate is open, /after-update migrates at once and then sleeps: kill the daemon in that sleep.
    const history = () => JSON.parse(d.cli(['apps', '--history', 'versioned', '--json']).stdout || '[]') as { state: string }[];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && history()[0]?.state !== 'gating') await sleep(200);
    assert.equal(history()[0]?.state, 'gating');
    await sleep(2_000);
    d.process.kill('SIGKILL');
    assert.equal((await updating).status, 1);
    await d.exited();
    const again = await start({}, dataDir);
    assert.equal(await text(again, '/'), 'v1.0.0');
    assert.deepEqual(await items(again), [{ name: 'kept' }]);
  });
});
