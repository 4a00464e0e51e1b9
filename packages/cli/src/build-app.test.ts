import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSigningKey, readArchive } from '@plinth/host';
import { buildApp } from './build-app.js';

const MANIFEST = { id: 'hello', name: 'Hello', version: '0.1.0', assets: 'public', public: ['/*'] };
const INDEX_TS = `import { defineApp } from '@plinth/guest';
import { greeting } from './greeting';

interface Greeting { text: string }
const body: Greeting = { text: greeting('world') };

export default defineApp({ fetch: () => new Response(body.text) });
`;
const GREETING_TS = `export function greeting(name: string): string { return 'MARKER_GREETING ' + name; }\n`;

/** An app folder under os.tmpdir(), with no node_modules anywhere above it. */
async function makeApp(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plinth-app-'));
  const all: Record<string, string> = {
    'plinth.json': JSON.stringify(MANIFEST),
    'src/index.ts': INDEX_TS,
    'src/greeting.ts': GREETING_TS,
    'public/index.html': '<h1>hello</h1>',
    'public/css/site.css': 'body { color: red }',
    ...files,
  };
  for (const [p, content] of Object.entries(all)) {
    await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
    await writeFile(path.join(dir, p), content);
  }
  return dir;
}

async function withApp(files: Record<string, string>, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await makeApp(files);
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('an app folder outside the repo builds, bundling @plinth/guest from the CLI', async () => {
  await withApp({}, async (dir) => {
    const outside = path.join(dir, '..', `${path.basename(dir)}-secret.txt`);
    await writeFile(outside, 'secret');
    await symlink(outside, path.join(dir, 'public', 'escape.txt'));
    await symlink(path.join(dir, 'public', 'index.html'), path.join(dir, 'public', 'inside.html'));
    await symlink(path.join(dir, 'public'), path.join(dir, 'public', 'loop'));
    try {
      const built = await buildApp(dir, { outFile: path.join(dir, 'out', 'hello.plinth') });
      assert.ok(built.ok, built.ok ? '' : built.error.message);
      assert.equal(built.value.file, path.join(dir, 'out', 'hello.plinth'));
      assert.equal(built.value.manifest.id, 'hello');
      const bytes = await readFile(built.value.file);
      assert.equal(built.value.bytes, bytes.byteLength);
      assert.deepEqual(built.value.skipped.sort(), ['escape.txt', 'loop']);

      const pkg = await readArchive(bytes);
      assert.ok(pkg.ok, pkg.ok ? '' : pkg.error.message);
      const worker = Buffer.from(pkg.value.files.get('worker.js') ?? []).toString('utf8');
      assert.match(worker, /function defineApp\(/, 'the guest SDK is bundled in');
      assert.match(worker, /MARKER_GREETING/, 'local modules are bundled in');
      assert.doesNotMatch(worker, /["']@plinth\/guest["']/, 'no bare @plinth/guest import is left');
      assert.doesNotMatch(worker, /interface Greeting|: Greeting/, 'TypeScript is compiled away');
      assert.match(worker, /export\s*\{[^}]*default/, 'an ES module with a default export');
      assert.deepEqual([...pkg.value.files.keys()].sort(), [
        'assets/css/site.css',
        'assets/index.html',
        'assets/inside.html',
        'plinth.json',
        'worker.js',
      ]);
      assert.equal(Buffer.from(pkg.value.files.get('assets/inside.html') ?? []).toString(), '<h1>hello</h1>');
      assert.equal(pkg.value.signer, null);
    } finally {
      await rm(outside, { force: true });
    }
  });
});

test('the default output is <cwd>/<id>-<version>.plinth', async () => {
  await withApp({}, async (dir) => {
    const cwd = process.cwd();
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'plinth-out-'));
    process.chdir(elsewhere);
    try {
      const built = await buildApp(dir, {});
      assert.ok(built.ok, built.ok ? '' : built.error.message);
      assert.equal(built.value.file, path.join(await realpath(elsewhere), 'hello-0.1.0.plinth'));
    } finally {
      process.chdir(cwd);
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

test('an app with its own @plinth/guest uses that copy', async () => {
  const local = {
    'node_modules/@plinth/guest/package.json': JSON.stringify({ name: '@plinth/guest', type: 'module', main: 'index.js' }),
    'node_modules/@plinth/guest/index.js': `export const defineApp = (h) => ({ marker: 'LOCAL_GUEST_COPY', ...h });\n`,
  };
  await withApp(local, async (dir) => {
    const built = await buildApp(dir, { outFile: path.join(dir, 'x.plinth') });
    assert.ok(built.ok, built.ok ? '' : built.error.message);
    const pkg = await readArchive(await readFile(built.value.file));
    assert.ok(pkg.ok);
    assert.match(Buffer.from(pkg.value.files.get('worker.js') ?? []).toString(), /LOCAL_GUEST_COPY/);
  });
});

test('--sign-key signs the package with the keygen key', async () => {
  await withApp({}, async (dir) => {
    const key = generateSigningKey();
    const keyFile = path.join(dir, 'key.json');
    await writeFile(keyFile, JSON.stringify(key, null, 2));
    const built = await buildApp(dir, { outFile: path.join(dir, 'signed.plinth'), signKeyFile: keyFile });
    assert.ok(built.ok, built.ok ? '' : built.error.message);
    const pkg = await readArchive(await readFile(built.value.file));
    assert.ok(pkg.ok, pkg.ok ? '' : pkg.error.message);
    assert.equal(pkg.value.signer, key.publicKey);

    await writeFile(keyFile, JSON.stringify({ privateKeyJwk: key.privateKeyJwk, publicKey: generateSigningKey().publicKey }));
    const mismatched = await buildApp(dir, { outFile: path.join(dir, 'signed.plinth'), signKeyFile: keyFile });
    assert.equal(mismatched.ok ? 'ok' : mismatched.error.code, 'build.sign_key_invalid');
  });
});

test('a TypeScript syntax error fails the build and names the file', async () => {
  await withApp({ 'src/index.ts': 'export const x: = 1;\n' }, async (dir) => {
    const built = await buildApp(dir, { outFile: path.join(dir, 'x.plinth') });
    assert.equal(built.ok, false);
    if (built.ok) return;
    assert.equal(built.error.code, 'build.bundle_failed');
    assert.match(built.error.message, /src\/index\.ts:1:\d+/);
    await assert.rejects(readFile(path.join(dir, 'x.plinth')), { code: 'ENOENT' });
  });
});

test('an unresolvable import fails the build and names the module', async () => {
  await withApp({ 'src/index.ts': "import 'left-pad-nowhere';\nexport default {};\n" }, async (dir) => {
    const built = await buildApp(dir, { outFile: path.join(dir, 'x.plinth') });
    assert.equal(built.ok ? 'ok' : built.error.code, 'build.bundle_failed');
    assert.match(built.ok ? '' : built.error.message, /left-pad-nowhere/);
  });
});

test('an invalid manifest fails with every problem and its path', async () => {
  const manifest = JSON.stringify({ ...MANIFEST, id: 'Hello', limits: { memoryMb: 1 } });
  await withApp({ 'plinth.json': manifest }, async (dir) => {
    const built = await buildApp(dir, {});
    assert.equal(built.ok, false);
    if (built.ok) return;
    assert.equal(built.error.code, 'manifest.invalid');
    assert.deepEqual(built.error.details?.map((d) => d.path).sort(), ['$.id', '$.limits.memoryMb']);
  });
});

test('a missing plinth.json or assets folder is reported', async () => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'plinth-app-'));
  try {
    const built = await buildApp(empty, {});
    assert.equal(built.ok ? 'ok' : built.error.code, 'build.read_failed');
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
  await withApp({ 'plinth.json': JSON.stringify({ ...MANIFEST, assets: 'nope' }) }, async (dir) => {
    const built = await buildApp(dir, { outFile: path.join(dir, 'x.plinth') });
    assert.equal(built.ok ? 'ok' : built.error.code, 'build.assets_invalid');
  });
});

test('text assets of 1 KiB or more get precompressed .br and .gz siblings; small and binary ones do not', async () => {
  const css = '.card { margin: 0 auto; padding: 4px; }\n'.repeat(100);
  await withApp({ 'public/css/site.css': css, 'public/img/photo.png': css }, async (dir) => {
    const out = path.join(dir, 'out.plinth');
    const built = await buildApp(dir, { outFile: out });
    assert.ok(built.ok, built.ok ? '' : built.error.message);
    const pkg = await readArchive(await readFile(out));
    assert.ok(pkg.ok);
    const assets = [...pkg.value.files.keys()].filter((p) => p.startsWith('assets/')).sort();
    assert.deepEqual(assets, ['assets/css/site.css', 'assets/css/site.css.br', 'assets/css/site.css.gz', 'assets/img/photo.png', 'assets/index.html']);
    assert.equal(Buffer.from(pkg.value.files.get('assets/css/site.css')!).toString(), css, 'the original is kept as written');
  });
});
