import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, freePort, loopbackAgent } from '@plinth/host/testing';
import { fetch } from 'undici';

const appDir = mkdtempSync(join(tmpdir(), 'plinth-dev-app-'));
after(() => rmSync(appDir, { recursive: true, force: true }));

function writeApp(greeting: string): void {
  mkdirSync(join(appDir, 'src'), { recursive: true });
  writeFileSync(join(appDir, 'plinth.json'), JSON.stringify({ id: 'devapp', name: 'Dev', version: '0.1.0', public: ['/*'] }));
  writeFileSync(join(appDir, 'src/index.ts'), `import { defineApp } from '@plinth/guest';\nexport default defineApp({ fetch: () => new Response(${JSON.stringify(greeting)}) });\n`);
}

test('plinth dev serves an app from source and reloads it on save; a broken save keeps the last good build', async (t) => {
  writeApp('first');
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
  assert.match(output, new RegExp(`devapp 0\\.1\\.0 at http://devapp\\.localhost:${port}/`));
  assert.equal(await body(), 'first');

  writeApp('second');
  await waitFor(async () => (await body()) === 'second', 'the reload');

  writeFileSync(join(appDir, 'src/index.ts'), 'export default {{{ broken');
  await waitFor(() => output.includes('build failed'), 'the failed build');
  assert.equal(await body(), 'second');
});
