import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  contentDigest,
  generateSigningKey,
  packArchive,
  readArchive,
  writeUnpacked,
  type PackageErrorCode,
  type SigningKeyJwk,
  type UnpackedPackage,
} from './package-archive.js';
import type { Result } from '../support/result.js';
import { rawTar, type RawEntry } from '../testing/raw-tar.js';

const text = (s: string) => Buffer.from(s, 'utf8');
const MANIFEST = text(JSON.stringify({ id: 'notes', name: 'Notes', version: '1.4.0', assets: 'public' }));
const WORKER = text('export default { fetch() { return new Response("hi"); } };\n');

function appFiles(extra: Record<string, string> = {}): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>([
    ['plinth.json', MANIFEST],
    ['worker.js', WORKER],
  ]);
  for (const [p, body] of Object.entries(extra)) files.set(p, text(body));
  return files;
}

function expectCode(result: Result<UnpackedPackage, PackageErrorCode>, code: PackageErrorCode): void {
  assert.equal(result.ok, false, `expected ${code}, got a package`);
  if (!result.ok) assert.equal(result.error.code, code, result.error.message);
}

/** A signature.json built with node:crypto directly, from the documented format, not via packArchive. */
function signatureJson(files: Map<string, Uint8Array>, key: SigningKeyJwk, claimedPublicKey = key.x): Uint8Array {
  const signature = sign(null, contentDigest(files), createPrivateKey({ key, format: 'jwk' })).toString('base64url');
  return text(JSON.stringify({ alg: 'Ed25519', publicKey: claimedPublicKey, signature }));
}

const validEntries = (): RawEntry[] => [
  { name: 'plinth.json', type: '0', body: MANIFEST },
  { name: 'worker.js', type: '0', body: WORKER },
];

test('pack then read gives back the same files and manifest', async () => {
  const files = appFiles({ 'assets/index.html': '<h1>hi</h1>', 'assets/css/site.css': 'body{}', 'assets/empty.txt': '' });
  const result = await readArchive(await packArchive(files));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.manifest.id, 'notes');
  assert.equal(result.value.manifest.limits.memoryMb, 128);
  assert.equal(result.value.signer, null);
  assert.deepEqual([...result.value.files.keys()].sort(), [...files.keys()].sort());
  for (const [p, body] of files) assert.deepEqual(Buffer.from(result.value.files.get(p) ?? []), Buffer.from(body), p);
});

test('packing is deterministic whatever the insertion order', async () => {
  const a = await packArchive(appFiles({ 'assets/a.txt': 'a', 'assets/b.txt': 'b' }));
  const reversed = new Map([...appFiles({ 'assets/a.txt': 'a', 'assets/b.txt': 'b' })].reverse());
  const b = await packArchive(reversed);
  assert.deepEqual(Buffer.from(a), Buffer.from(b));
});

test('long and non-ASCII paths survive the round trip (pax headers)', async () => {
  const long = `assets/${'d'.repeat(120)}/${'f'.repeat(200)}.txt`;
  const files = appFiles({ [long]: 'deep', 'assets/ünïcödé.txt': 'u' });
  const result = await readArchive(await packArchive(files));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(Buffer.from(result.value.files.get(long) ?? []).toString(), 'deep');
  assert.equal(Buffer.from(result.value.files.get('assets/ünïcödé.txt') ?? []).toString(), 'u');
});

test('a signed package reports its signer', async () => {
  const key = generateSigningKey();
  const result = await readArchive(await packArchive(appFiles(), key.privateKeyJwk));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.signer, key.publicKey);
  assert.equal(result.value.files.has('signature.json'), false);
});

test('a signature made by hand from the documented format verifies', async () => {
  const key = generateSigningKey();
  const files = appFiles({ 'assets/x.txt': 'x' });
  files.set('signature.json', signatureJson(appFiles({ 'assets/x.txt': 'x' }), key.privateKeyJwk));
  const result = await readArchive(await packArchive(files));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.equal(result.value.signer, key.publicKey);
});

test('content changed after signing is refused', async () => {
  const key = generateSigningKey();
  const signature = signatureJson(appFiles(), key.privateKeyJwk);
  const tampered = appFiles();
  tampered.set('worker.js', text('export default { fetch() { return new Response("pwned"); } };\n'));
  tampered.set('signature.json', signature);
  expectCode(await readArchive(await packArchive(tampered)), 'package.bad_signature');
  // Adding a file is a change too.
  const added = appFiles({ 'assets/extra.js': 'alert(1)' });
  added.set('signature.json', signature);
  expectCode(await readArchive(await packArchive(added)), 'package.bad_signature');
});

test('forged or malformed signature.json is refused', async () => {
  const victim = generateSigningKey();
  const attacker = generateSigningKey();
  const cases: Uint8Array[] = [
    // Signed by the attacker, claiming the victim's key.
    signatureJson(appFiles(), attacker.privateKeyJwk, victim.publicKey),
    text(JSON.stringify({ alg: 'Ed25519', publicKey: victim.publicKey, signature: 'A'.repeat(86) })),
    text(JSON.stringify({ alg: 'RS256', publicKey: victim.publicKey, signature: 'A'.repeat(86) })),
    text(JSON.stringify({ alg: 'Ed25519', publicKey: victim.publicKey })),
    text('not json'),
    text(' '.repeat(5000)),
  ];
  for (const signature of cases) {
    const files = appFiles();
    files.set('signature.json', signature);
    expectCode(await readArchive(await packArchive(files)), 'package.bad_signature');
  }
});

test('hostile entries are refused with the exact code', async () => {
  const hostile: [RawEntry, PackageErrorCode][] = [
    [{ name: '../evil', type: '0', body: text('x') }, 'package.unsafe_path'],
    [{ name: 'assets/../../evil', type: '0', body: text('x') }, 'package.unsafe_path'],
    [{ name: '/etc/x', type: '0', body: text('x') }, 'package.unsafe_path'],
    [{ name: 'assets\\..\\..\\evil', type: '0', body: text('x') }, 'package.unsafe_path'],
    [{ name: 'assets/link', type: '2', linkname: '/etc/passwd' }, 'package.unsafe_entry'],
    [{ name: 'assets/hard', type: '1', linkname: 'worker.js' }, 'package.unsafe_entry'],
    [{ name: 'assets/tty', type: '3' }, 'package.unsafe_entry'],
    [{ name: 'assets/fifo', type: '6' }, 'package.unsafe_entry'],
    [{ name: 'assets/sparse', type: 'S' }, 'package.unsafe_entry'],
  ];
  for (const [entry, code] of hostile) {
    const result = await readArchive(gzipSync(rawTar([...validEntries(), entry])));
    expectCode(result, code);
    // Hostile first too: nothing before it is needed to catch it.
    expectCode(await readArchive(gzipSync(rawTar([entry, ...validEntries()]))), code);
  }
});

test('a hand-made tar as `tar -C dir .` writes it (./ prefixes) is accepted', async () => {
  const entries: RawEntry[] = [
    { name: './', type: '5' },
    { name: './plinth.json', type: '0', body: MANIFEST },
    { name: './worker.js', type: '0', body: WORKER },
    { name: './assets/', type: '5' },
    { name: './assets/a.txt', type: '0', body: text('a') },
  ];
  const result = await readArchive(gzipSync(rawTar(entries)));
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  assert.deepEqual([...result.value.files.keys()].sort(), ['assets/a.txt', 'plinth.json', 'worker.js']);
});

test('unpacked bytes: at the limit passes, one past it is too large', async () => {
  const files = appFiles();
  const bytes = await packArchive(files);
  const total = MANIFEST.byteLength + WORKER.byteLength;
  assert.ok((await readArchive(bytes, { unpackedBytesMax: total })).ok);
  expectCode(await readArchive(bytes, { unpackedBytesMax: total - 1 }), 'package.too_large');
});

test('entry count: at the limit passes, one past it is too large', async () => {
  const bytes = await packArchive(appFiles({ 'assets/a.txt': 'a' })); // plinth.json, worker.js, assets/, assets/a.txt
  assert.ok((await readArchive(bytes, { entriesMax: 4 })).ok);
  expectCode(await readArchive(bytes, { entriesMax: 3 }), 'package.too_large');
});

test('compressed bytes: at the limit passes, one past it is too large', async () => {
  const bytes = await packArchive(appFiles());
  assert.ok((await readArchive(bytes, { compressedBytesMax: bytes.byteLength })).ok);
  expectCode(await readArchive(bytes, { compressedBytesMax: bytes.byteLength - 1 }), 'package.too_large');
});

test('a gzip bomb is stopped while decompressing', async () => {
  const bomb = gzipSync(rawTar([...validEntries(), { name: 'assets/zeros', type: '0', body: new Uint8Array(50 * 1024 * 1024) }]));
  assert.ok(bomb.byteLength < 100 * 1024);
  const started = process.hrtime.bigint();
  expectCode(await readArchive(bomb, { unpackedBytesMax: 4096, entriesMax: 8 }), 'package.too_large');
  // Decompressing all 50 MiB takes far longer than stopping at the cap (~40 KiB).
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});

test('an entry that declares more bytes than allowed is refused at its header', async () => {
  const lying = rawTar([...validEntries(), { name: 'assets/huge', type: '0', sizeField: '77777777777' }]);
  expectCode(await readArchive(gzipSync(lying)), 'package.too_large');
});

test('garbage, plain tar, double gzip and truncation are malformed', async () => {
  const good = await packArchive(appFiles());
  const cases: Uint8Array[] = [
    text('definitely not a package'),
    new Uint8Array(0),
    rawTar(validEntries()),
    gzipSync(good),
    good.subarray(0, good.byteLength - 20),
    gzipSync(Buffer.alloc(4096, 7)),
    gzipSync(rawTar(validEntries()).subarray(0, 700)),
  ];
  for (const bytes of cases) expectCode(await readArchive(bytes), 'package.malformed');
});

test('required files, unexpected entries, duplicates and file/folder clashes are malformed', async () => {
  expectCode(await readArchive(await packArchive(new Map([['plinth.json', MANIFEST]]))), 'package.malformed');
  expectCode(await readArchive(await packArchive(new Map([['worker.js', WORKER]]))), 'package.malformed');
  expectCode(await readArchive(await packArchive(appFiles({ 'node_modules/x.js': 'x' }))), 'package.malformed');
  expectCode(await readArchive(await packArchive(appFiles({ assets: 'x' }))), 'package.malformed');
  const duplicate = rawTar([...validEntries(), { name: 'worker.js', type: '0', body: text('other') }]);
  expectCode(await readArchive(gzipSync(duplicate)), 'package.malformed');
  const clash = rawTar([...validEntries(), { name: 'assets/a', type: '0', body: text('x') }, { name: 'assets/a/b', type: '0', body: text('y') }]);
  expectCode(await readArchive(gzipSync(clash)), 'package.malformed');
});

test('an invalid manifest inside a package reports its problems', async () => {
  const files = appFiles();
  files.set('plinth.json', text(JSON.stringify({ id: 'X', name: 'N', version: '1', extra: true })));
  const result = await readArchive(await packArchive(files));
  expectCode(result, 'manifest.invalid');
  if (result.ok) return;
  assert.deepEqual(result.error.details?.map((d) => d.path).sort(), ['$.extra', '$.id', '$.version']);
  files.set('plinth.json', new Uint8Array([0xff, 0xfe, 0x7b]));
  expectCode(await readArchive(await packArchive(files)), 'manifest.invalid');
});

test('writeUnpacked writes every file into a fresh folder', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'plinth-unpack-'));
  try {
    const result = await readArchive(await packArchive(appFiles({ 'assets/css/site.css': 'body{}' })));
    assert.ok(result.ok);
    const dir = path.join(tmp, 'nested', 'v1');
    await writeUnpacked(result.value, dir);
    assert.equal(await readFile(path.join(dir, 'assets/css/site.css'), 'utf8'), 'body{}');
    assert.deepEqual(await readFile(path.join(dir, 'worker.js')), WORKER);
    assert.equal((await stat(path.join(dir, 'worker.js'))).mode & 0o777, 0o600);
    assert.equal((await stat(path.join(dir, 'assets/css'))).mode & 0o777, 0o700);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('writeUnpacked refuses an existing folder and leaves it untouched', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'plinth-unpack-'));
  try {
    await mkdir(path.join(tmp, 'v1'));
    await assert.rejects(writeUnpacked({ files: appFiles() }, path.join(tmp, 'v1')), { code: 'EEXIST' });
    assert.deepEqual(await readdir(path.join(tmp, 'v1')), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('writeUnpacked refuses a path that escapes and removes what it wrote', async () => {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'plinth-unpack-'));
  try {
    const files = appFiles();
    files.set('../escaped', text('x'));
    await assert.rejects(writeUnpacked({ files }, path.join(tmp, 'v1')));
    assert.deepEqual(await readdir(tmp), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
