import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';
import { rawTar } from '../testing/raw-tar.js';
import { PACKAGE_BYTES_MAX } from './limits.js';

interface ErrorBody { error: { code: string; message: string; details?: { path: string; message: string }[] } }

describe('installing and removing packages', () => {
  let daemon: TestDaemon;
  let work: string;

  before(async () => {
    // Ceilings low enough to test against; the test apps ask for at most 256 MB and 1000 sockets.
    daemon = await startTestDaemon({ env: { PLINTH_APP_MEMORY_MB_MAX: '512', PLINTH_APP_SOCKETS_MAX: '1000', PLINTH_APP_REQUEST_TIMEOUT_MS_MAX: '60000' } });
    work = mkdtempSync(join(tmpdir(), 'plinth-installer-'));
  });
  after(async () => {
    await daemon?.stop();
    rmSync(daemon.dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  const upload = (bytes: Uint8Array) => daemon.fetch(`${daemon.baseUrl}/api/admin/apps`, {
    method: 'POST', body: bytes, headers: { authorization: `Bearer ${daemon.adminToken}`, 'content-type': 'application/gzip' },
  });
  const appIds = async () => ((await (await daemon.fetch(`${daemon.baseUrl}/api/admin/apps`, { headers: { authorization: `Bearer ${daemon.adminToken}` } })).json()) as { apps: { id: string }[] }).apps.map((a) => a.id);
  const appsDir = () => (existsSync(join(daemon.dataDir, 'apps')) ? readdirSync(join(daemon.dataDir, 'apps')) : []);

  /** A copy of the echo test app with a changed manifest, anywhere on disk. */
  function appDir(name: string, manifest: Record<string, unknown>): string {
    const dir = join(work, name);
    cpSync(join(TEST_APPS, 'echo'), dir, { recursive: true });
    writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ id: name, name, version: '1.0.0', main: 'src/index.ts', ...manifest }));
    return dir;
  }

  async function expectRefused(bytes: Uint8Array, status: number, code: string): Promise<ErrorBody> {
    const before = { ids: await appIds(), dirs: appsDir() };
    const response = await upload(bytes);
    const body = (await response.json()) as ErrorBody;
    assert.equal(response.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    assert.deepEqual(await appIds(), before.ids, 'no app row left behind');
    assert.deepEqual(appsDir(), before.dirs, 'no files left behind');
    return body;
  }

  const manifestJson = (m: Record<string, unknown>) => Buffer.from(JSON.stringify(m));
  const worker = Buffer.from('export default { fetch() { return new Response("x"); } };');

  test('an invalid manifest is refused with every problem and its JSON path', async () => {
    const tar = gzipSync(rawTar([
      { name: 'plinth.json', type: '0', body: manifestJson({ id: 'Bad_Id', name: 'x', version: 'one', limits: { memoryMb: -1 }, surprise: true }) },
      { name: 'worker.js', type: '0', body: worker },
    ]));
    const body = await expectRefused(tar, 400, 'manifest.invalid');
    const paths = body.error.details!.map((d) => d.path).sort();
    for (const path of ['$.id', '$.version', '$.limits.memoryMb', '$.surprise']) assert.ok(paths.includes(path), `${path} in ${paths}`);
  });

  test('the CLI reports a bad manifest in one line and exits non-zero', () => {
    const dir = appDir('badcli', { version: 'nope' });
    const run = daemon.cli(['install', dir]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^plinth: .*\$\.version/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });

  test('path traversal, absolute paths and links in the tar are refused', async () => {
    const good = { id: 'evil', name: 'Evil', version: '1.0.0' };
    for (const [entry, code] of [
      [{ name: '../../../../tmp/plinth-escaped', type: '0', body: worker }, 'package.unsafe_path'],
      [{ name: '/etc/plinth-escaped', type: '0', body: worker }, 'package.unsafe_path'],
      [{ name: 'assets/link', type: '2', linkname: '/etc/passwd' }, 'package.unsafe_entry'],
      [{ name: 'assets/hard', type: '1', linkname: '../../plinth.json' }, 'package.unsafe_entry'],
    ] as const) {
      const tar = gzipSync(rawTar([{ name: 'plinth.json', type: '0', body: manifestJson(good) }, { name: 'worker.js', type: '0', body: worker }, entry]));
      await expectRefused(tar, 400, code);
    }
    assert.equal(existsSync('/tmp/plinth-escaped'), false);
  });

  test('a package over the size cap is refused before it is read', async () => {
    // A raw socket declares the size and sends almost nothing: the answer must come without the body.
    // (fetch would stream all 64 MiB and can see the early close as EPIPE instead of the answer.)
    const before = { ids: await appIds(), dirs: appsDir() };
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(daemon.port, '127.0.0.1', () => {
        socket.write(`POST /api/admin/apps HTTP/1.1\r\nHost: localhost:${daemon.port}\r\nAuthorization: Bearer ${daemon.adminToken}\r\nContent-Type: application/gzip\r\nContent-Length: ${PACKAGE_BYTES_MAX + 1}\r\n\r\nxxxx`);
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"code":"package\.too_large"/);
    assert.deepEqual(await appIds(), before.ids);
    assert.deepEqual(appsDir(), before.dirs);
  });

  test('a signed app pins its key: another key, or no signature, is refused later', async () => {
    const keyA = join(work, 'a.key');
    const keyB = join(work, 'b.key');
    assert.equal(daemon.cli(['keygen', keyA]).status, 0);
    assert.equal(daemon.cli(['keygen', keyB]).status, 0);
    const dir = appDir('signed', { public: ['/*'] });
    installApp(daemon, dir, ['--sign-key', keyA]);
    assert.equal((await daemon.fetch(daemon.appUrl('signed', '/x'))).status, 200);
    // Uninstall keeping data keeps the pin, so the id cannot be taken over by another key.
    assert.equal(daemon.cli(['uninstall', 'signed', '--keep-data']).status, 0);
    for (const extra of [['--sign-key', keyB], []]) {
      const run = daemon.cli(['install', dir, ...extra]);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /package\.signer_mismatch/);
    }
    installApp(daemon, dir, ['--sign-key', keyA]);
    assert.equal((await daemon.fetch(daemon.appUrl('signed', '/x'))).status, 200);
  });

  test('limits above the operator\'s ceilings are refused, each named with its ceiling, and nothing is installed', async () => {
    const tar = (limits: Record<string, number>) => gzipSync(rawTar([
      { name: 'plinth.json', type: '0', body: manifestJson({ id: 'greedy', name: 'Greedy', version: '1.0.0', main: 'worker.js', limits }) },
      { name: 'worker.js', type: '0', body: worker },
    ]));
    const body = await expectRefused(tar({ memoryMb: 2048, sockets: 1001, requestTimeoutMs: 60_000 }), 400, 'manifest.above_ceiling');
    assert.equal(body.error.message, "limits.memoryMb 2048 is above this platform's ceiling of 512 (PLINTH_APP_MEMORY_MB_MAX); limits.sockets 1001 is above this platform's ceiling of 1000 (PLINTH_APP_SOCKETS_MAX)");
    assert.deepEqual(body.error.details!.map((d) => d.path), ['$.limits.memoryMb', '$.limits.sockets']);
    const timeout = await expectRefused(tar({ requestTimeoutMs: 60_001 }), 400, 'manifest.above_ceiling');
    assert.equal(timeout.error.message, "limits.requestTimeoutMs 60001 is above this platform's ceiling of 60000 (PLINTH_APP_REQUEST_TIMEOUT_MS_MAX)");

    // The CLI prints the same sentence; a manifest exactly at every ceiling installs.
    const run = daemon.cli(['install', appDir('greedy', { limits: { memoryMb: 513 } })]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /manifest\.above_ceiling.*limits\.memoryMb 513 is above this platform's ceiling of 512 \(PLINTH_APP_MEMORY_MB_MAX\)/);
    assert.ok(!(await appIds()).includes('greedy'));
    installApp(daemon, appDir('greedy', { public: ['/*'], limits: { memoryMb: 512, sockets: 1000, requestTimeoutMs: 60_000 } }));
    assert.equal((await daemon.fetch(daemon.appUrl('greedy', '/x'))).status, 200);
  });

  test('installing an id that is already installed is refused', async () => {
    installApp(daemon, appDir('twice', {}));
    const run = daemon.cli(['install', appDir('twice', {})]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /app\.exists/);
  });

  test('uninstall removes the app\'s files and routes; --keep-data keeps its data folder', async () => {
    installApp(daemon, appDir('gone', { public: ['/*'] }));
    assert.equal((await daemon.fetch(daemon.appUrl('gone', '/x'))).status, 200);
    assert.equal(daemon.cli(['uninstall', 'gone']).status, 0);
    assert.equal((await daemon.fetch(daemon.appUrl('gone', '/x'))).status, 404);
    assert.equal(existsSync(join(daemon.dataDir, 'apps', 'gone')), false);
    assert.equal(existsSync(join(daemon.dataDir, 'run', 'gone')), false);
    assert.equal(daemon.cli(['uninstall', 'gone']).status, 1);

    installApp(daemon, appDir('kept', {}));
    mkdirSync(join(daemon.dataDir, 'apps', 'kept', 'data', 'db'), { recursive: true });
    assert.equal(daemon.cli(['uninstall', 'kept', '--keep-data']).status, 0);
    assert.equal(existsSync(join(daemon.dataDir, 'apps', 'kept', 'data', 'db')), true);
    assert.equal(existsSync(join(daemon.dataDir, 'apps', 'kept', 'versions')), false);
  });

  test('installed apps survive a daemon restart', async () => {
    installApp(daemon, appDir('durable', { public: ['/*'] }));
    await daemon.stop({ keepData: true });
    const dataDir = daemon.dataDir;
    daemon = await startTestDaemon({ dataDir });
    const response = await daemon.fetch(daemon.appUrl('durable', '/x'));
    assert.equal(response.status, 200);
    assert.ok((await appIds()).includes('durable'));
  });

  test('the admin API refuses a missing or wrong admin token', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${daemon.adminToken}x`]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const response = await daemon.fetch(`${daemon.baseUrl}/api/admin/apps`, { headers });
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as ErrorBody).error.code, 'admin.unauthorized');
    }
  });
});
