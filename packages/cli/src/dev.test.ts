import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, freePort, loopbackAgent } from '@plinth/host/testing';
import { fetch } from 'undici';

const work = mkdtempSync(join(tmpdir(), 'plinth-dev-app-'));
after(() => rmSync(work, { recursive: true, force: true }));

const source = (greeting: string) => `import { defineApp } from '@plinth/guest';\nexport default defineApp({ fetch: () => new Response(${JSON.stringify(greeting)}) });\n`;

function writeApp(appDir: string, greeting: string): void {
  mkdirSync(join(appDir, 'src'), { recursive: true });
  writeFileSync(join(appDir, 'plinth.json'), JSON.stringify({ id: 'devapp', name: 'Dev', version: '0.1.0', public: ['/*'] }));
  writeFileSync(join(appDir, 'src/index.ts'), source(greeting));
}

/** Starts `plinth dev` on the folder; resolves once it watches. */
async function startDev(t: TestContext, appDir: string) {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'dev', appDir, '--port', String(port), '--base-url', `http://localhost:${port}`], {
    env: { ...process.env, PLINTH_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => { child.kill('SIGKILL'); });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const waitFor = async (check: () => Promise<boolean> | boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${output}`);
      await sleep(100);
    }
  };
  const body = async () => {
    const response = await fetch(`http://devapp.localhost:${port}/`, { dispatcher: loopbackAgent }).catch(() => null);
    return response ? response.text() : '';
  };
  await waitFor(() => output.includes('Watching'), 'the dev server');
  return { port, output: () => output, waitFor, body };
}

test('plinth dev serves an app from source and reloads it on save; a broken save keeps the last good build', async (t) => {
  const appDir = join(work, 'plain');
  writeApp(appDir, 'first');
  const dev = await startDev(t, appDir);
  assert.match(dev.output(), new RegExp(`devapp 0\\.1\\.0 at http://devapp\\.localhost:${dev.port}/`));
  assert.equal(await dev.body(), 'first');

  writeApp(appDir, 'second');
  await dev.waitFor(async () => (await dev.body()) === 'second', 'the reload');

  writeFileSync(join(appDir, 'src/index.ts'), 'export default {{{ broken');
  await dev.waitFor(() => dev.output().includes('build failed'), 'the failed build');
  assert.equal(await dev.body(), 'second');
});

test('plinth dev keeps reloading a file after an atomic save (a temporary file renamed over it, as sed -i does)', async (t) => {
  const appDir = join(work, 'atomic');
  writeApp(appDir, 'first');
  const dev = await startDev(t, appDir);
  assert.equal(await dev.body(), 'first');

  const file = join(appDir, 'src/index.ts');
  writeFileSync(join(appDir, 'src/.index.ts.tmp'), source('atomic'));
  renameSync(join(appDir, 'src/.index.ts.tmp'), file);
  await dev.waitFor(async () => (await dev.body()) === 'atomic', 'the reload after the atomic save');

  // The file now has a new inode; a watcher bound to the old one misses this plain save.
  writeFileSync(file, source('plain after atomic'));
  await dev.waitFor(async () => (await dev.body()) === 'plain after atomic', 'the reload after the plain save');

  // GNU sed -i itself: it writes a temporary file beside the original and renames it over.
  execFileSync('sed', ['-i', 's/plain after atomic/edited by sed/', file]);
  await dev.waitFor(async () => (await dev.body()) === 'edited by sed', 'the reload after sed -i');
  writeFileSync(file, source('plain after sed'));
  await dev.waitFor(async () => (await dev.body()) === 'plain after sed', 'the reload after the plain save that follows sed -i');
});
