// `plinth install <dir>` and `plinth update <app> <dir>` keep the package they built, where
// `plinth build` would write it (or at -o), once the daemon has taken it, so that exact package
// can be installed again later.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, type TestDaemon } from '@plinth/host/testing';

const work = mkdtempSync(join(tmpdir(), 'plinth-kept-'));

/** An app folder whose `/` says its version; `afterUpdate` refuses when told to. */
function writeApp(name: string, version: string, afterUpdate: 'ok' | 'throw' = 'ok'): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ id: 'kept', name: 'Kept', version, public: ['/*'] }));
  writeFileSync(join(dir, 'src/index.ts'), `import { defineApp } from '@plinth/guest';
export default defineApp({
  fetch: () => new Response(${JSON.stringify(`v${version}`)}),
  afterUpdate() { ${afterUpdate === 'throw' ? "throw new Error('refused on purpose');" : ''} },
});
`);
  return dir;
}

describe('packages built by install and update are kept', () => {
  let daemon: TestDaemon;
  const served = async () => (await daemon.fetch(daemon.appUrl('kept'))).text();

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('install <dir> keeps <id>-<version>.plinth in the working folder and says so', () => {
    const run = daemon.cli(['install', writeApp('one', '1.0.0'), '--json']);
    assert.equal(run.status, 0, run.stderr);
    const kept = join(daemon.cliDir, 'kept-1.0.0.plinth');
    assert.equal((JSON.parse(run.stdout) as { package: string }).package, kept);
    assert.ok(readFileSync(kept).byteLength > 0);
  });

  test('update <app> <dir> -o keeps the package there; a refused update keeps none', async () => {
    const refused = daemon.cli(['update', 'kept', writeApp('bad', '1.5.0', 'throw')]);
    assert.notEqual(refused.status, 0);
    assert.deepEqual(readdirSync(daemon.cliDir).sort(), ['kept-1.0.0.plinth']);

    const kept = join(work, 'releases', 'kept-2.0.0.plinth');
    const run = daemon.cli(['update', 'kept', writeApp('two', '2.0.0'), '-o', kept]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /updated kept 1\.0\.0 → 2\.0\.0/);
    assert.match(run.stdout, new RegExp(`package kept at ${kept.replace(/[.]/g, '\\.')}`));
    assert.equal(await served(), 'v2.0.0');

    // The kept file is the exact package: after a rollback it rolls the app forward again.
    assert.equal(daemon.cli(['rollback', 'kept']).status, 0);
    assert.equal(await served(), 'v1.0.0');
    const forward = daemon.cli(['update', 'kept', kept]);
    assert.equal(forward.status, 0, forward.stderr);
    assert.equal(await served(), 'v2.0.0');
    assert.doesNotMatch(forward.stdout, /package kept/, 'a package file is sent as it is');
    assert.equal(existsSync(join(daemon.cliDir, 'kept-2.0.0.plinth')), false);
  });

  test('-o with a package file is refused: there is nothing to build', () => {
    const run = daemon.cli(['install', join(daemon.cliDir, 'kept-1.0.0.plinth'), '-o', join(work, 'x.plinth')]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^plinth: -o names where a built folder is kept/);
  });
});
