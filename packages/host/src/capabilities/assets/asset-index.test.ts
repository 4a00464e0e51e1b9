import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_PATH_CHARS_MAX, PACKAGE_PATH_SEGMENT_BYTES_MAX, PACKAGE_ENTRIES_MAX } from '../../apps/limits.js';
import { PACKAGE_ASSETS_DIR } from '../../apps/package-archive.js';
import { buildAssetIndex, cacheControlFor, UNPACKED_ASSETS_DIR } from './asset-index.js';
import { createBodyCache } from './body-cache.js';
import { compileCacheRules } from './config.js';
import { ASSET_ENTRIES_MAX, ASSET_NAME_BYTES_MAX, ASSET_PACKAGE_PATH_CHARS_MAX } from './limits.js';

async function withFolder(files: Record<string, string | Buffer>, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-assets-'));
  try {
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), body);
    }
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('limits and folder names agree with the package reader', () => {
  assert.equal(UNPACKED_ASSETS_DIR, PACKAGE_ASSETS_DIR);
  assert.equal(ASSET_ENTRIES_MAX, PACKAGE_ENTRIES_MAX);
  assert.equal(ASSET_PACKAGE_PATH_CHARS_MAX, PACKAGE_PATH_CHARS_MAX);
  assert.equal(ASSET_NAME_BYTES_MAX, PACKAGE_PATH_SEGMENT_BYTES_MAX);
});

test('the index holds every file by URL path, with a content-hash ETag, size and HTTP-date', async () => {
  const css = 'body { color: red; }\n'.repeat(100);
  await withFolder({ 'index.html': '<h1>hi</h1>', 'css/site.css': css, 'css/site.css.br': 'br!', 'css/site.css.gz': 'gz!', 'my file.txt': 'x' }, async (dir) => {
    const built = await buildAssetIndex(dir, []);
    assert.ok(built.ok);
    assert.deepEqual([...built.value.keys()].sort(), ['/css/site.css', '/index.html', '/my file.txt']);
    const site = built.value.get('/css/site.css')!;
    assert.equal(site.identity.size, Buffer.byteLength(css));
    assert.equal(site.identity.etag, `"${createHash('sha256').update(css).digest('base64url')}"`);
    assert.equal(site.contentType, 'text/css; charset=utf-8');
    assert.equal(site.compressible, true);
    assert.deepEqual([...site.variants.keys()].sort(), ['br', 'gzip']);
    assert.equal(site.variants.get('br')!.etag, `"${createHash('sha256').update('br!').digest('base64url')}"`);
    assert.equal(site.lastModifiedMs % 1000, 0, 'whole seconds, as HTTP dates are');
    assert.equal(new Date(site.lastModified).getTime(), site.lastModifiedMs);
    assert.equal(site.cacheControl.public, 'no-cache');
  });
});

test('a .br/.gz sibling is a variant only of a compressible file it is smaller than; otherwise it is its own asset', async () => {
  const big = 'x'.repeat(2000);
  await withFolder({ 'a.png': big, 'a.png.gz': 'small', 'b.css': 'tiny', 'b.css.br': big, 'data.json.gz': 'gz', 'c.js': big, 'c.js.gz': 'small' }, async (dir) => {
    const built = await buildAssetIndex(dir, []);
    assert.ok(built.ok);
    assert.deepEqual([...built.value.keys()].sort(), ['/a.png', '/a.png.gz', '/b.css', '/b.css.br', '/c.js', '/data.json.gz']);
    assert.equal(built.value.get('/a.png')!.variants.size, 0);
    assert.equal(built.value.get('/b.css')!.variants.size, 0);
    assert.equal(built.value.get('/data.json.gz')!.contentType, 'application/gzip');
  });
});

test('symlinks are not followed or served, and a missing folder is an empty index', async () => {
  await withFolder({ 'inside.txt': 'ok', '../outside-secret.txt': 'secret' }, async (dir) => {
    await symlink(join(dir, '..', 'outside-secret.txt'), join(dir, 'link.txt'));
    await symlink(tmpdir(), join(dir, 'linkdir'));
    const built = await buildAssetIndex(dir, []);
    assert.ok(built.ok);
    assert.deepEqual([...built.value.keys()], ['/inside.txt']);
    await rm(join(dir, '..', 'outside-secret.txt'), { force: true });
    const missing = await buildAssetIndex(join(dir, 'nope'), []);
    assert.ok(missing.ok);
    assert.equal(missing.value.size, 0);
  });
});

test('a folder with more entries than the cap is refused, not half indexed', async () => {
  const cap = 12;
  await withFolder(Object.fromEntries(Array.from({ length: cap - 2 }, (_, i) => [`sub/f${i}`, ''])), async (dir) => {
    await writeFile(join(dir, 'top'), '');
    const atCap = await buildAssetIndex(dir, [], cap); // `sub` counts too: cap entries in all
    assert.equal(atCap.ok && atCap.value.size, cap - 1);
    await writeFile(join(dir, 'sub', 'one-more'), '');
    const past = await buildAssetIndex(dir, [], cap);
    assert.equal(past.ok ? 'ok' : past.error.code, 'assets.index_failed');
    assert.match(past.ok ? '' : past.error.message, new RegExp(`more than ${cap} files and folders`));
  });
});

test('cache policy: a rule wins, then fingerprints, then no-cache; private paths stay private', () => {
  const rules = compileCacheRules([{ glob: '/fonts/*', cacheControl: 'public, max-age=86400' }]);
  assert.deepEqual(cacheControlFor('/fonts/a.3f9a1c2b.woff2', rules), { public: 'public, max-age=86400', private: 'private, max-age=86400' });
  assert.deepEqual(cacheControlFor('/app.3f9a1c2b.js', rules), {
    public: 'public, max-age=31536000, immutable',
    private: 'private, max-age=31536000, immutable',
  });
  assert.deepEqual(cacheControlFor('/index.html', rules), { public: 'no-cache', private: 'private, no-cache' });
});

test('the body cache keeps recent bodies within its byte budget', async () => {
  await withFolder({ a: 'a'.repeat(40), b: 'b'.repeat(40), c: 'c'.repeat(40) }, async (dir) => {
    const cache = createBodyCache(100);
    const file = (name: string) => ({ file: join(dir, name), size: 40, etag: '"x"' });
    const [a, b, c] = [file('a'), file('b'), file('c')];
    assert.equal((await cache.get(a))?.toString(), 'a'.repeat(40));
    await cache.get(b);
    await cache.get(a); // a is now the most recent
    await cache.get(c); // over budget: b, the least recent, goes
    assert.equal(cache.bytes(), 80);
    await rm(join(dir, 'a'));
    assert.equal((await cache.get(a))?.toString(), 'a'.repeat(40), 'a was still cached');
    await rm(join(dir, 'b'));
    assert.equal(await cache.get(b), null, 'b was dropped and its file is gone');
    assert.equal(await cache.get({ ...file('c'), size: 41 }), null, 'a size that no longer matches the index is not served');
  });
});
