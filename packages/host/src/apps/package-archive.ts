/**
 * The `.plinth` package: a gzip tar holding `plinth.json`, `worker.js` (the bundle), `assets/**`
 * and, when signed, `signature.json`. Packages come from anyone, so `readArchive` bounds every
 * size before allocating for it and refuses anything a naive extractor would turn into a write
 * outside its folder (links, devices, `..`, absolute paths).
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { Header, Pax, Parser, type ReadEntry } from 'tar';
import { z } from 'zod';
import { fail, ok, type PlinthError, type Result } from '../support/result.js';
import {
  PACKAGE_BYTES_MAX,
  PACKAGE_ENTRIES_MAX,
  PACKAGE_UNPACKED_BYTES_MAX,
  SIGNATURE_FILE_BYTES_MAX,
  TAR_ENTRY_OVERHEAD_BYTES_MAX,
  TAR_META_ENTRY_BYTES_MAX,
  TAR_TRAILER_BYTES_MAX,
} from './limits.js';
import { parseManifestText, relativePathProblem, type Manifest, type ManifestErrorCode } from './manifest.js';

export type PackageErrorCode =
  | 'package.too_large'
  | 'package.malformed'
  | 'package.unsafe_entry'
  | 'package.unsafe_path'
  | 'package.bad_signature'
  | ManifestErrorCode;

export const PACKAGE_MANIFEST_FILE = 'plinth.json';
export const PACKAGE_WORKER_FILE = 'worker.js';
export const PACKAGE_SIGNATURE_FILE = 'signature.json';
/** Assets always sit under this folder in a package, whatever `assets` names in the source tree. */
export const PACKAGE_ASSETS_DIR = 'assets';

/** Caps applied by readArchive; tests pass small ones, production uses PACKAGE_LIMITS_DEFAULT. */
export interface PackageLimits {
  readonly compressedBytesMax: number;
  readonly unpackedBytesMax: number;
  readonly entriesMax: number;
}

export const PACKAGE_LIMITS_DEFAULT: PackageLimits = Object.freeze({
  compressedBytesMax: PACKAGE_BYTES_MAX,
  unpackedBytesMax: PACKAGE_UNPACKED_BYTES_MAX,
  entriesMax: PACKAGE_ENTRIES_MAX,
});

export interface UnpackedPackage {
  readonly manifest: Manifest;
  /** Every file the signature covers (signature.json itself is not included), by package path. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The Ed25519 public key (base64url, raw 32 bytes) that signed the content, or null if unsigned. */
  readonly signer: string | null;
}

/** 32 bytes in unpadded base64url: 43 characters, the last carrying 2 zero bits. */
const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** 64 bytes (an Ed25519 signature) in unpadded base64url: 86 characters, the last carrying 4 zero bits. */
const BASE64URL_64_BYTES = /^[A-Za-z0-9_-]{85}[AQgw]$/;

/** An Ed25519 private key as node:crypto exports it; extra JWK members (kid, use) are dropped. */
export const signingKeyJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  d: z.string().regex(BASE64URL_32_BYTES, 'must be 32 bytes in base64url'),
  x: z.string().regex(BASE64URL_32_BYTES, 'must be 32 bytes in base64url'),
});
export type SigningKeyJwk = z.output<typeof signingKeyJwkSchema>;

/** The file `plinth keygen` writes and `plinth build --sign-key` reads. */
export const signingKeyFileSchema = z
  .object({ privateKeyJwk: signingKeyJwkSchema, publicKey: z.string().regex(BASE64URL_32_BYTES) })
  .refine((k) => k.privateKeyJwk.x === k.publicKey, { message: 'publicKey does not match privateKeyJwk.x', path: ['publicKey'] });
export type SigningKeyFile = z.output<typeof signingKeyFileSchema>;

const signatureFileSchema = z.strictObject({
  alg: z.literal('Ed25519'),
  publicKey: z.string().regex(BASE64URL_32_BYTES),
  signature: z.string().regex(BASE64URL_64_BYTES),
});

/** Fixed entry time so the same input packs to the same bytes; 1980-01-01 is the usual reproducible-build epoch. */
const ENTRY_MTIME = new Date(Date.UTC(1980, 0, 1));
const FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;
const TAR_BLOCK_BYTES = 512;
/** RFC 1952 §2.3.1: byte 9 of a gzip header names the OS; 255 ("unknown") keeps output the same on every host. */
const GZIP_OS_BYTE_OFFSET = 9;
const GZIP_OS_UNKNOWN = 255;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

type Failure = { ok: false; error: PlinthError<PackageErrorCode> };

function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The bytes a package signature covers: one line `<sha256 hex>  <path>\n` per file, sorted by the
 * paths' UTF-8 bytes, signature.json left out. The same format as `sha256sum`, so it can be checked
 * by hand; paths never hold a newline (relativePathProblem refuses control characters).
 */
export function contentDigest(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const lines = [...files.keys()]
    .filter((p) => p !== PACKAGE_SIGNATURE_FILE)
    .sort(byUtf8)
    .map((p) => `${createHash('sha256').update(files.get(p) ?? new Uint8Array()).digest('hex')}  ${p}\n`);
  return Buffer.from(lines.join(''), 'utf8');
}

export function generateSigningKey(): { privateKeyJwk: SigningKeyJwk; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const privateKeyJwk = signingKeyJwkSchema.parse(privateKey.export({ format: 'jwk' }));
  return { privateKeyJwk, publicKey: privateKeyJwk.x };
}

function signatureFile(files: ReadonlyMap<string, Uint8Array>, key: SigningKeyJwk): Uint8Array {
  const privateKey = createPrivateKey({ key, format: 'jwk' });
  // Derived, not taken from key.x, so a JWK whose x and d disagree cannot produce a bad signature.
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  assert.ok(typeof publicJwk.x === 'string');
  const signature = sign(null, contentDigest(files), privateKey).toString('base64url');
  return Buffer.from(JSON.stringify({ alg: 'Ed25519', publicKey: publicJwk.x, signature }), 'utf8');
}

/**
 * Packs files into a deterministic gzip tar: sorted, fixed mtime, uid/gid 0, no user names, files
 * 0644 and their parent directories 0755. With a key, adds signature.json over contentDigest.
 * Paths must already be valid package paths: a bad one is a bug in the caller.
 */
export async function packArchive(files: ReadonlyMap<string, Uint8Array>, signingKey?: SigningKeyJwk): Promise<Uint8Array> {
  for (const p of files.keys()) assert.equal(relativePathProblem(p), null, `packArchive given unsafe path ${JSON.stringify(p)}`);
  const entries = new Map(files);
  if (signingKey) {
    assert.ok(!files.has(PACKAGE_SIGNATURE_FILE), 'packArchive signs the files itself; do not pass signature.json');
    entries.set(PACKAGE_SIGNATURE_FILE, signatureFile(files, signingKey));
  }
  const compressed = await gzipAsync(tarBytes(entries), { level: 9 });
  compressed[GZIP_OS_BYTE_OFFSET] = GZIP_OS_UNKNOWN;
  return compressed;
}

function tarBytes(files: ReadonlyMap<string, Uint8Array>): Buffer {
  const directories = new Set<string>();
  for (const p of files.keys()) {
    const segments = p.split('/');
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join('/'));
  }
  const blocks: Buffer[] = [];
  for (const p of [...directories, ...files.keys()].sort(byUtf8)) {
    const body = files.get(p);
    if (body === undefined) blocks.push(...entryBlocks(`${p}/`, 'Directory', DIRECTORY_MODE, new Uint8Array()));
    else blocks.push(...entryBlocks(p, 'File', FILE_MODE, body));
  }
  // Two zero blocks end a tar archive (POSIX ustar).
  blocks.push(Buffer.alloc(2 * TAR_BLOCK_BYTES));
  return Buffer.concat(blocks);
}

function entryBlocks(entryPath: string, type: 'File' | 'Directory', mode: number, body: Uint8Array): Buffer[] {
  const header = new Header({
    path: entryPath, mode, uid: 0, gid: 0, size: body.byteLength, mtime: ENTRY_MTIME, type, uname: '', gname: '',
  });
  const block = Buffer.alloc(TAR_BLOCK_BYTES);
  // Paths past ustar's 100+155 bytes, or not ASCII, need a pax header carrying the full path.
  const needPax = header.encode(block);
  const out: Buffer[] = needPax ? [new Pax({ path: entryPath }).encode(), block] : [block];
  if (body.byteLength > 0) {
    out.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    const padding = (TAR_BLOCK_BYTES - (body.byteLength % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
    if (padding > 0) out.push(Buffer.alloc(padding));
  }
  return out;
}

/**
 * Reads and checks an untrusted package. Order: compressed size, gunzip bounded by the unpacked
 * cap, each tar entry (type, path, count, size) before its content is kept, required files, the
 * signature if present, then the manifest.
 */
export async function readArchive(
  bytes: Uint8Array,
  limits: Partial<PackageLimits> = {},
): Promise<Result<UnpackedPackage, PackageErrorCode>> {
  const max: PackageLimits = { ...PACKAGE_LIMITS_DEFAULT, ...limits };
  if (bytes.byteLength > max.compressedBytesMax) {
    return fail('package.too_large', `package is ${bytes.byteLength} bytes; the limit is ${max.compressedBytesMax} bytes compressed`);
  }
  const tar = await gunzipBounded(bytes, max);
  if (!tar.ok) return tar;
  const files = await readTarFiles(tar.value, max);
  if (!files.ok) return files;
  return checkContent(files.value);
}

async function gunzipBounded(bytes: Uint8Array, max: PackageLimits): Promise<Result<Buffer, PackageErrorCode>> {
  // The tar can exceed its content only by per-entry headers and the trailer; past that it is a bomb.
  const tarBytesMax = max.unpackedBytesMax + max.entriesMax * TAR_ENTRY_OVERHEAD_BYTES_MAX + TAR_TRAILER_BYTES_MAX;
  let tar: Buffer;
  try {
    tar = await gunzipAsync(bytes, { maxOutputLength: tarBytesMax });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return fail('package.too_large', `package unpacks to more than ${max.unpackedBytesMax} bytes`);
    }
    return fail('package.malformed', `package is not gzip data: ${(error as Error).message}`);
  }
  // tar's Parser would silently gunzip a second layer, escaping the bound above.
  if (tar[0] === 0x1f && tar[1] === 0x8b) return fail('package.malformed', 'package is compressed twice');
  return ok(tar);
}

/** Regular files and directories only: every other type is a way to write or read outside the folder. */
function entryKind(type: ReadEntry['type']): 'file' | 'directory' | null {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'directory';
    default:
      return null;
  }
}

function readTarFiles(tar: Buffer, max: PackageLimits): Promise<Result<Map<string, Uint8Array>, PackageErrorCode>> {
  return new Promise((resolve) => {
    const files = new Map<string, Uint8Array>();
    const directories = new Set<string>();
    let failure: Failure | undefined;
    let entryCount = 0;
    let bytesTotal = 0;
    // strict turns tar's recoverable warnings (bad checksum, truncation) into errors; zstd and
    // brotli sniffing is off because our format is gzip only and a second layer would be unbounded.
    const parser = new Parser({ strict: true, zstd: false, brotli: false, maxMetaEntrySize: TAR_META_ENTRY_BYTES_MAX });
    const stop = (f: Failure): void => {
      if (failure) return;
      failure = f;
      parser.abort(new Error(f.error.message));
    };
    parser.on('entry', (entry: ReadEntry) => {
      if (failure) return void entry.resume();
      entryCount += 1;
      if (entryCount > max.entriesMax) return stop(fail('package.too_large', `package has more than ${max.entriesMax} entries`));
      const checked = checkEntry(entry, files, directories);
      if (!checked.ok) return stop(checked);
      if (bytesTotal + entry.size > max.unpackedBytesMax) {
        return stop(fail('package.too_large', `package content exceeds ${max.unpackedBytesMax} bytes at ${JSON.stringify(entry.path)}`));
      }
      bytesTotal += entry.size;
      if (checked.value === null) return void entry.resume();
      collectBody(entry, checked.value, files);
    });
    parser.on('ignoredEntry', (entry: ReadEntry) => {
      if (entry.meta) return stop(fail('package.malformed', `a tar metadata header exceeds ${TAR_META_ENTRY_BYTES_MAX} bytes`));
      stop(fail('package.unsafe_entry', `${JSON.stringify(entry.path)} has unsupported tar type ${entry.type}`));
    });
    parser.on('error', (error: Error) => resolve(failure ?? fail('package.malformed', `package is not a valid tar: ${error.message}`)));
    parser.on('end', () => resolve(failure ?? checkTree(files, directories)));
    parser.end(tar);
  });
}

/** Keeps an entry's body; chunks arrive synchronously since the whole tar is already in memory. */
function collectBody(entry: ReadEntry, filePath: string, files: Map<string, Uint8Array>): void {
  const chunks: Buffer[] = [];
  entry.on('end', () => files.set(filePath, chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks)));
  entry.on('data', (chunk: Buffer) => chunks.push(chunk));
}

/** Returns the file's package path, null for a directory, or why the entry is refused. */
function checkEntry(entry: ReadEntry, files: Map<string, Uint8Array>, directories: Set<string>): Result<string | null, PackageErrorCode> {
  const shown = JSON.stringify(entry.path);
  const kind = entryKind(entry.type);
  if (kind === null) {
    return fail('package.unsafe_entry', `${shown} is a ${entry.type} entry; a package holds only regular files and directories`);
  }
  // `tar -C dir .` writes a `./` root entry and `./` prefixes; accept them, as they stay inside.
  if (kind === 'directory' && (entry.path === '.' || entry.path === './')) return ok(null);
  let p = entry.path.replace(/^(?:\.\/)+/, '');
  if (kind === 'directory' && p.endsWith('/')) p = p.slice(0, -1);
  const problem = relativePathProblem(p);
  if (problem !== null) return fail('package.unsafe_path', `entry ${shown} ${problem}`);
  const inAssets = p === PACKAGE_ASSETS_DIR || p.startsWith(`${PACKAGE_ASSETS_DIR}/`);
  const known = kind === 'directory' ? inAssets : inAssets || [PACKAGE_MANIFEST_FILE, PACKAGE_WORKER_FILE, PACKAGE_SIGNATURE_FILE].includes(p);
  if (!known || (p === PACKAGE_ASSETS_DIR && kind === 'file')) {
    return fail('package.malformed', `unexpected entry ${shown}: a package holds plinth.json, worker.js, signature.json and assets/`);
  }
  if (files.has(p) || directories.has(p)) return fail('package.malformed', `entry ${shown} appears twice`);
  if (kind === 'directory') {
    directories.add(p);
    return ok(null);
  }
  return ok(p);
}

/** A path may not be both a file and a folder holding other entries; it could not be written out. */
function checkTree(files: Map<string, Uint8Array>, directories: Set<string>): Result<Map<string, Uint8Array>, PackageErrorCode> {
  for (const p of [...files.keys(), ...directories]) {
    const segments = p.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      if (files.has(parent)) return fail('package.malformed', `${JSON.stringify(parent)} is a file but also holds ${JSON.stringify(p)}`);
    }
  }
  return ok(files);
}

function checkContent(files: Map<string, Uint8Array>): Result<UnpackedPackage, PackageErrorCode> {
  const manifestBytes = files.get(PACKAGE_MANIFEST_FILE);
  if (manifestBytes === undefined) return fail('package.malformed', `package has no ${PACKAGE_MANIFEST_FILE}`);
  if (!files.has(PACKAGE_WORKER_FILE)) return fail('package.malformed', `package has no ${PACKAGE_WORKER_FILE}`);
  let signer: string | null = null;
  const signatureBytes = files.get(PACKAGE_SIGNATURE_FILE);
  if (signatureBytes !== undefined) {
    files.delete(PACKAGE_SIGNATURE_FILE);
    const verified = verifySignature(files, signatureBytes);
    if (!verified.ok) return verified;
    signer = verified.value;
  }
  const text = decodeUtf8(manifestBytes);
  if (text === null) return fail('manifest.invalid', 'plinth.json is not UTF-8', [{ path: '$', message: 'is not UTF-8' }]);
  const manifest = parseManifestText(text);
  if (!manifest.ok) return manifest;
  return ok({ manifest: manifest.value, files, signer });
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Returns the signer's public key when signature.json is well formed and signs exactly `files`. */
function verifySignature(files: ReadonlyMap<string, Uint8Array>, signatureBytes: Uint8Array): Result<string, 'package.bad_signature'> {
  const refuse = (why: string) => fail('package.bad_signature', `signature.json ${why}`);
  if (signatureBytes.byteLength > SIGNATURE_FILE_BYTES_MAX) return refuse(`is larger than ${SIGNATURE_FILE_BYTES_MAX} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(decodeUtf8(signatureBytes) ?? '');
  } catch {
    return refuse('is not JSON');
  }
  const parsed = signatureFileSchema.safeParse(json);
  if (!parsed.success) return refuse('must be {"alg":"Ed25519","publicKey":"<base64url>","signature":"<base64url>"}');
  const { publicKey, signature } = parsed.data;
  let valid: boolean;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
    valid = verify(null, contentDigest(files), key, Buffer.from(signature, 'base64url'));
  } catch {
    valid = false;
  }
  return valid ? ok(publicKey) : refuse(`does not match the package content (key ${publicKey})`);
}

/**
 * Writes a package's files under `dir`, which must not exist yet (so nothing already there, such as
 * a planted symlink, is followed). Files get 0600, folders 0700: like everything under the data
 * folder, an app's code is the daemon's alone (the sandbox maps the daemon's uid, so workerd still
 * reads it). On any failure the partly written
 * `dir` is removed and the error is thrown: the paths were validated by readArchive, so a path
 * escaping `dir` here is a bug, and an existing `dir` (EEXIST) or a full disk is the caller's to handle.
 */
export async function writeUnpacked(pkg: Pick<UnpackedPackage, 'files'>, dir: string): Promise<void> {
  const root = path.resolve(dir);
  await mkdir(path.dirname(root), { recursive: true, mode: 0o700 });
  await mkdir(root, { mode: 0o700 });
  try {
    for (const [p, bytes] of pkg.files) {
      assert.equal(relativePathProblem(p), null, `writeUnpacked given unsafe path ${JSON.stringify(p)}`);
      const target = path.resolve(root, p);
      assert.ok(target.startsWith(root + path.sep), `${JSON.stringify(p)} resolves outside ${root}`);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      // wx: never follow or overwrite something already at the target.
      await writeFile(target, bytes, { mode: 0o600, flag: 'wx' });
    }
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
