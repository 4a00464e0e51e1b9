import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { eventually } from '../testing/eventually.js';
import { writeHostileApp } from '../testing/hostile-app.js';

const MEMORY_MB = 160;

async function pidOf(daemon: TestDaemon): Promise<number | null> {
  const response = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/hostile`, { headers: { authorization: `Bearer ${daemon.adminToken}` } });
  return ((await response.json()) as { runtime: { pid: number | null } }).runtime.pid;
}

const platformLog = (daemon: TestDaemon) => daemon.cli(['logs', 'hostile', '--lines', '200']).stdout;

describe('limits that bind: CPU after a timeout, memory while busy', () => {
  let daemon: TestDaemon;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'plinth-limits-'));
    daemon = await startTestDaemon();
    installApp(daemon, writeHostileApp(join(work, 'app'), '1.0.0', { memoryMb: MEMORY_MB, requestTimeoutMs: 1000 }));
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a route that keeps spinning after its 504 is killed for CPU, logged, and the app restarts on the next request', async () => {
    assert.match(await (await daemon.fetch(daemon.appUrl('hostile', '/ping'))).text(), /^pong/);
    const pid = await pidOf(daemon);
    const spin = await daemon.fetch(daemon.appUrl('hostile', '/spin?ms=60000'));
    assert.equal(spin.status, 504);
    // Without the watch the process spins on for the whole minute (until the 5-minute idle stop).
    const log = await eventually(async () => platformLog(daemon), (text) => text.includes('runtime.cpu_runaway'), 10_000);
    assert.match(log, /runtime\.cpu_runaway: used \d+ ms of CPU and waited \d+ ms for one in the \d+ ms after a request timed out; killed/);
    assert.notEqual(await eventually(() => pidOf(daemon), (p) => p !== pid), pid);
    assert.match(await (await daemon.fetch(daemon.appUrl('hostile', '/ping'))).text(), /^pong/);
  });

  test('a fast allocator is killed before it reaches twice memoryMb', async () => {
    assert.match(await (await daemon.fetch(daemon.appUrl('hostile', '/ping'))).text(), /^pong/);
    const hog = await daemon.fetch(daemon.appUrl('hostile', '/hog?mb=900'));
    await hog.arrayBuffer();
    const log = await eventually(async () => platformLog(daemon), (text) => text.includes('runtime.memory_exceeded'), 10_000);
    const seen = /runtime\.memory_exceeded rss=(\d+) limit=(\d+)/.exec(log);
    assert.ok(seen, log);
    assert.equal(Number(seen[2]), MEMORY_MB * 1024 * 1024);
    assert.ok(Number(seen[1]) < 2 * MEMORY_MB * 1024 * 1024, `killed at ${seen[1]} bytes, past 2 × ${MEMORY_MB} MiB`);
  });
});
