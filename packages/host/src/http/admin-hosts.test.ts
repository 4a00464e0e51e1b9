// The admin API answers on every address of the daemon that is not an app's, so the CLI works
// with `--url http://127.0.0.1:<port>`; the console's pages stay on the base host, and the names
// under the base host stay the apps'.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';

describe('the admin API on any address of the daemon', () => {
  let daemon: TestDaemon;
  let byAddress: string;

  before(async () => {
    daemon = await startTestDaemon();
    byAddress = `http://127.0.0.1:${daemon.port}`;
    installApp(daemon, `${TEST_APPS}/echo`);
  });
  after(() => daemon?.stop());

  test('the CLI works with --url naming the daemon by IP address', () => {
    const apps = daemon.cli(['apps', '--url', byAddress, '--json']);
    assert.equal(apps.status, 0, apps.stderr);
    assert.deepEqual((JSON.parse(apps.stdout) as { id: string }[]).map((a) => a.id), ['echo']);
    const users = daemon.cli(['users', 'list', '--url', byAddress, '--json']);
    assert.equal(users.status, 0, users.stderr);
    // A call with a body, answered with the app's URL on the base host, whatever address was used.
    const removed = daemon.cli(['uninstall', 'echo', '--url', byAddress]);
    assert.equal(removed.status, 0, removed.stderr);
    const installed = daemon.cli(['install', `${TEST_APPS}/echo`, '--url', byAddress, '--json']);
    assert.equal(installed.status, 0, installed.stderr);
    assert.equal((JSON.parse(installed.stdout) as { url: string }).url, daemon.appUrl('echo', ''));
  });

  test('on another address the admin API still needs the admin token', async () => {
    const response = await daemon.fetch(`${byAddress}/api/admin/apps`);
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'admin.unauthorized');
  });

  test('the console is not served on another address, and the answer names the URL to use', async () => {
    for (const path of ['/', '/login', '/api/other']) {
      const response = await daemon.fetch(`${byAddress}${path}`);
      assert.equal(response.status, 404, path);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, 'app.not_found');
      assert.match(error.message, new RegExp(`the console is at ${daemon.baseUrl}`));
      assert.equal(response.headers.get('set-cookie'), null);
    }
  });

  test('app hosts and the S3 host never answer as the admin API, installed or not', async () => {
    const authorization = `Bearer ${daemon.adminToken}`;
    // An app host refuses the admin token outright: it is a platform secret, never an app's credential.
    const app = await daemon.fetch(daemon.appUrl('echo', '/api/admin/apps'), { headers: { authorization } });
    assert.equal(app.status, 401);
    assert.equal(((await app.json()) as { error: { code: string } }).error.code, 'auth.invalid_token');
    const ghost = await daemon.fetch(daemon.appUrl('ghost', '/api/admin/apps'), { headers: { authorization } });
    assert.equal(ghost.status, 404);
    assert.equal(((await ghost.json()) as { error: { code: string } }).error.code, 'app.not_found');
    const s3 = await daemon.fetch(`http://s3.localhost:${daemon.port}/api/admin/apps`, { headers: { authorization } });
    assert.notEqual(s3.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.match(await s3.text(), /<Error>/);
  });
});
