import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { precompressAssets } from './precompress.js';
import { ASSET_COMPRESS_BYTES_MIN } from './limits.js';

const text = (bytes: number) => Buffer.from('.card { margin: 0 auto; padding: 4px; }\n'.repeat(Math.ceil(bytes / 10)).slice(0, bytes));
const noise = (bytes: number) => {
  const out = Buffer.alloc(bytes);
  let x = 7;
  for (let i = 0; i < bytes; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
};
const room = () => ({ bytes: 1 << 30, entries: 1000 });

test('compressible assets of at least the minimum size get smaller br and gz siblings that decode to the original', async () => {
  const css = text(ASSET_COMPRESS_BYTES_MIN);
  const files = new Map<string, Uint8Array>([['assets/site.css', css], ['assets/small.css', text(ASSET_COMPRESS_BYTES_MIN - 1)], ['worker.js', text(5000)]]);
  const added = await precompressAssets(files, room());
  assert.deepEqual(added, ['assets/site.css.br', 'assets/site.css.gz']);
  assert.deepEqual(brotliDecompressSync(files.get('assets/site.css.br')!), css);
  assert.deepEqual(gunzipSync(files.get('assets/site.css.gz')!), css);
  assert.ok(files.get('assets/site.css.br')!.byteLength < files.get('assets/site.css.gz')!.byteLength);
});

test('already-compressed types, incompressible bytes and developer-shipped siblings are left alone', async () => {
  const files = new Map<string, Uint8Array>([
    ['assets/photo.png', text(5000)], // compressible bytes, but the type is not
    ['assets/random.txt', noise(5000)], // a compressible type whose bytes do not shrink
    ['assets/app.js', text(5000)],
    ['assets/app.js.gz', Buffer.from('mine')],
  ]);
  const added = await precompressAssets(files, room());
  assert.deepEqual(added, ['assets/app.js.br']);
  assert.equal(Buffer.from(files.get('assets/app.js.gz')!).toString(), 'mine');
});

test('siblings that do not fit the package room are left out', async () => {
  const files = new Map<string, Uint8Array>([['assets/a.css', text(50_000)], ['assets/b.css', text(50_000)]]);
  const added = await precompressAssets(files, { bytes: 1 << 30, entries: 3 });
  assert.equal(added.length, 3);
  const none = await precompressAssets(new Map([['assets/a.css', text(50_000)]]), { bytes: 10, entries: 100 });
  assert.deepEqual(none, []);
});

test('output is deterministic, so signatures are reproducible', async () => {
  const one = new Map<string, Uint8Array>([['assets/a.html', text(9000)]]);
  const two = new Map<string, Uint8Array>([['assets/a.html', text(9000)]]);
  await precompressAssets(one, room());
  await precompressAssets(two, room());
  assert.deepEqual(one, two);
});
