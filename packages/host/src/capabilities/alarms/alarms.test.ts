import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import { call, installVault, raw, rpc } from '../../testing/vault-rpc.js';

async function waitForSecret(daemon: TestDaemon, name: string, expected: string, ms: number): Promise<string | null> {
  const deadline = Date.now() + ms;
  let value: string | null = null;
  while (Date.now() < deadline) {
    value = await call<string | null>(daemon, 'alpha', 'secrets', 'get', name);
    if (value === expected) return value;
    await sleep(100);
  }
  return value;
}

describe('host alarms', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-alarms-'));
  const dataDir = join(work, 'data');
  let daemon: TestDaemon;
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('an alarm fires at its time, once, and is then cleared', async () => {
    daemon = await startTestDaemon({ dataDir, env: { PLINTH_IDLE_STOP_MS: '1000' } });
    installVault(daemon, work, 'alpha');
    // Far enough ahead that the checks below run before it fires, even on a loaded machine.
    const at = Date.now() + 3_000;
    await call(daemon, 'alpha', 'alarm', 'set', at);
    assert.equal(await call(daemon, 'alpha', 'alarm', 'get'), new Date(at).toISOString());
    const view = await (await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/alpha`, { headers: { authorization: `Bearer ${daemon.adminToken}` } })).json() as { nextAlarm: string };
    assert.equal(view.nextAlarm, new Date(at).toISOString());
    assert.equal(await waitForSecret(daemon, 'ALARM_COUNT', '1', 10_000), '1');
    assert.deepEqual(JSON.parse((await call<string>(daemon, 'alpha', 'secrets', 'get', 'ALARM_LAST'))), { scheduledTime: at, retryCount: 0 });
    assert.equal(await call(daemon, 'alpha', 'alarm', 'get'), null);
    await sleep(1500);
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'ALARM_COUNT'), '1', 'fired once');
  });

  test('a failing alarm is retried with backoff until it succeeds', async () => {
    await call(daemon, 'alpha', 'secrets', 'set', 'ALARM_FAIL', '2');
    await call(daemon, 'alpha', 'alarm', 'set', Date.now());
    assert.equal(await waitForSecret(daemon, 'ALARM_COUNT', '2', 15_000), '2');
    assert.equal(JSON.parse(await call<string>(daemon, 'alpha', 'secrets', 'get', 'ALARM_LAST')).retryCount, 2);
    assert.match(daemon.cli(['logs', 'alpha']).stdout, /alarm\.retry attempt=2/);
  });

  test('an alarm due while the daemon was down fires when it starts', async () => {
    await call(daemon, 'alpha', 'alarm', 'set', Date.now() + 1_000);
    await daemon.stop({ keepData: true });
    await sleep(1_500);
    daemon = await startTestDaemon({ dataDir });
    assert.equal(await waitForSecret(daemon, 'ALARM_COUNT', '3', 10_000), '3');
  });

  test('delete cancels, and bad times are refused', async () => {
    const later = Date.now() + 60_000;
    await call(daemon, 'alpha', 'alarm', 'set', later);
    assert.match(daemon.cli(['apps']).stdout, new RegExp(`^alpha\t.*\tnext alarm ${new Date(later).toISOString()}$`, 'm'));
    assert.equal(await call(daemon, 'alpha', 'alarm', 'delete'), true);
    assert.equal(await call(daemon, 'alpha', 'alarm', 'get'), null);
    assert.equal(await call(daemon, 'alpha', 'alarm', 'delete'), false);
    const farFuture = await rpc(daemon, 'alpha', 'alarm', 'set', Date.now() * 1000);
    assert.deepEqual([farFuture.error?.code, farFuture.error?.status], ['alarm.out_of_range', 400]);
    const notANumber = await raw(daemon, 'alpha', { method: 'PUT', path: '/v1/alarm', body: '{"scheduledTime":"tomorrow"}' });
    assert.equal(notANumber.status, 400);
    assert.equal(await call(daemon, 'alpha', 'alarm', 'get'), null);
  });
});
