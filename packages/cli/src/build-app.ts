/**
 * `plinth build`: app folder → `<id>-<version>.plinth`. Bundles `main` with esbuild, gathers the
 * assets folder, packs, and re-reads the result with the daemon's own checks, so a build never
 * produces a package the daemon would refuse.
 */
import { createRequire } from 'node:module';
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import {
  PACKAGE_ASSETS_DIR,
  PACKAGE_LIMITS_DEFAULT,
  PACKAGE_MANIFEST_FILE,
  PACKAGE_WORKER_FILE,
  fail,
  ok,
  packArchive,
  parseManifestText,
  precompressAssets,
  readArchive,
  relativePathProblem,
  signingKeyFileSchema,
  type Manifest,
  type PackageErrorCode,
  type Result,
  type SigningKeyJwk,
} from '@plinth/host';

export type BuildErrorCode =
  | PackageErrorCode
  | 'build.read_failed'
  | 'build.bundle_failed'
  | 'build.assets_invalid'
  | 'build.too_large'
  | 'build.sign_key_invalid'
  | 'build.write_failed';

export interface BuildOptions {
  /** Where to write the package; default `<cwd>/<id>-<version>.plinth`. */
  outFile?: string;
  /** A key file written by `plinth keygen`; the package is unsigned without one. */
  signKeyFile?: string;
}

export interface BuiltApp {
  /** Absolute path of the written package. */
  file: string;
  manifest: Manifest;
  /** Size of the package file. */
  bytes: number;
  /** Asset paths left out: symlinks leading outside the assets folder, broken links, sockets and the like. */
  skipped: string[];
}

/** A key file holds one JWK and one public key; anything far bigger is the wrong file. */
const SIGN_KEY_FILE_BYTES_MAX = 64 * 1024;

/** Where `plinth build` writes a package unless told otherwise, relative to the working folder. */
export function packageFileName(manifest: Pick<Manifest, 'id' | 'version'>): string {
  return `${manifest.id}-${manifest.version}.plinth`;
}

export async function buildApp(appDir: string, opts: BuildOptions = {}): Promise<Result<BuiltApp, BuildErrorCode>> {
  const root = path.resolve(appDir);
  const manifest = await readManifest(root);
  if (!manifest.ok) return manifest;
  const { id, version, main, assets } = manifest.value.manifest;
  let signingKey: SigningKeyJwk | undefined;
  if (opts.signKeyFile !== undefined) {
    const key = await readSigningKey(opts.signKeyFile);
    if (!key.ok) return key;
    signingKey = key.value;
  }
  const worker = await bundleWorker(root, main);
  if (!worker.ok) return worker;
  const files = new Map<string, Uint8Array>([
    // The developer's bytes, not a re-serialisation, so the signature covers exactly what they wrote.
    [PACKAGE_MANIFEST_FILE, manifest.value.bytes],
    [PACKAGE_WORKER_FILE, worker.value],
  ]);
  const skipped: string[] = [];
  if (assets !== undefined) {
    const collected = await collectAssets(root, assets, files, skipped);
    if (!collected.ok) return collected;
  }
  const archive = await packArchive(files, signingKey);
  const checked = await readArchive(archive);
  if (!checked.ok) return checked;
  const file = path.resolve(opts.outFile ?? packageFileName(manifest.value.manifest));
  const written = await writeAtomically(file, archive);
  if (!written.ok) return written;
  return ok({ file, manifest: manifest.value.manifest, bytes: archive.byteLength, skipped });
}

async function readManifest(root: string): Promise<Result<{ manifest: Manifest; bytes: Uint8Array }, BuildErrorCode>> {
  const file = path.join(root, PACKAGE_MANIFEST_FILE);
  let bytes: Buffer;
  try {
    // parseManifestText enforces the real cap; this only avoids reading a huge file whole.
    if ((await stat(file)).size > PACKAGE_LIMITS_DEFAULT.unpackedBytesMax) return fail('build.too_large', `${file} is too large`);
    bytes = await readFile(file);
  } catch (error) {
    return fail('build.read_failed', `cannot read ${file}: ${(error as Error).message}`);
  }
  const manifest = parseManifestText(bytes.toString('utf8'));
  if (!manifest.ok) return manifest;
  return ok({ manifest: manifest.value, bytes });
}

async function readSigningKey(file: string): Promise<Result<SigningKeyJwk, BuildErrorCode>> {
  const refuse = (why: string) => fail('build.sign_key_invalid', `${file} is not a key file from \`plinth keygen\`: ${why}`);
  let json: unknown;
  try {
    if ((await stat(file)).size > SIGN_KEY_FILE_BYTES_MAX) return refuse(`it is larger than ${SIGN_KEY_FILE_BYTES_MAX} bytes`);
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    return refuse((error as Error).message);
  }
  const parsed = signingKeyFileSchema.safeParse(json);
  if (!parsed.success) return refuse(parsed.error.issues.map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; '));
  return ok(parsed.data.privateKeyJwk);
}

/** Asks esbuild to resolve a specifier normally first; this marks that nested call so it is not intercepted again. */
const PROBE = 'plinthGuestProbe';

/**
 * Apps import `@plinth/guest`, but an app folder anywhere on disk (`/tmp/x`) may have no
 * node_modules. When normal resolution from the app fails, use the copy the CLI depends on, so
 * `plinth build` works on a bare folder and an app's own pinned copy still wins.
 */
function guestFallbackPlugin(): esbuild.Plugin {
  return {
    name: 'plinth-guest-fallback',
    setup(build) {
      build.onResolve({ filter: /^@plinth\/guest$/ }, async (args) => {
        if ((args.pluginData as Record<string, unknown> | undefined)?.[PROBE] === true) return undefined;
        const normal = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { [PROBE]: true },
        });
        if (normal.errors.length === 0) return undefined;
        try {
          return { path: createRequire(import.meta.url).resolve('@plinth/guest') };
        } catch (error) {
          return { errors: [{ text: `@plinth/guest is not installed next to the plinth CLI: ${(error as Error).message}` }] };
        }
      });
    },
  };
}

async function bundleWorker(root: string, main: string): Promise<Result<Uint8Array, BuildErrorCode>> {
  try {
    const result = await esbuild.build({
      entryPoints: [path.join(root, main)],
      absWorkingDir: root,
      bundle: true,
      format: 'esm',
      // neutral: no Node or browser assumptions; the conditions below pick workerd-friendly builds.
      platform: 'neutral',
      target: 'es2022',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      loader: { '.ts': 'ts' },
      // Built into workerd, so imported at run time rather than bundled (node:* needs nodejs_compat).
      external: ['cloudflare:*', 'node:*'],
      minify: false,
      sourcemap: false,
      write: false,
      logLevel: 'silent',
      plugins: [guestFallbackPlugin()],
    });
    const output = result.outputFiles[0];
    if (result.outputFiles.length !== 1 || output === undefined) {
      return fail('build.bundle_failed', `esbuild produced ${result.outputFiles.length} files for ${main}; a worker is one file (do not import CSS or other assets from code)`);
    }
    return ok(output.contents);
  } catch (error) {
    if (!isBuildFailure(error)) throw error;
    const formatted = await esbuild.formatMessages(error.errors, { kind: 'error', color: false });
    // The first error goes on the first line, which is all a one-line CLI error shows; the rest follow.
    const first = error.errors[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : '';
    return fail('build.bundle_failed', `cannot bundle ${main}: ${where}${first?.text ?? 'unknown error'}\n${formatted.join('').trimEnd()}`);
  }
}

function isBuildFailure(error: unknown): error is esbuild.BuildFailure {
  return error instanceof Error && Array.isArray((error as Partial<esbuild.BuildFailure>).errors);
}

/**
 * Adds `<assets>/**` as `assets/**`. Symlinks are followed only while they stay inside the assets
 * folder (a link to ~/.ssh must not end up in a published package); each real folder is walked
 * once, so a link cycle ends. Caps are the daemon's, checked before reading each file.
 */
async function collectAssets(
  root: string,
  assetsDir: string,
  files: Map<string, Uint8Array>,
  skipped: string[],
): Promise<Result<void, BuildErrorCode>> {
  let assetsRoot: string;
  try {
    assetsRoot = await realpath(path.join(root, assetsDir));
    if (!(await stat(assetsRoot)).isDirectory()) return fail('build.assets_invalid', `assets "${assetsDir}" is not a folder`);
  } catch {
    return fail('build.assets_invalid', `assets folder "${assetsDir}" does not exist in ${root}`);
  }
  const budget: AssetBudget = { bytes: [...files.values()].reduce((sum, f) => sum + f.byteLength, 0), directories: new Set() };
  const visited = new Set<string>([assetsRoot]);
  const pending: { dir: string; rel: string }[] = [{ dir: assetsRoot, rel: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    let names: string[];
    try {
      names = (await readdir(next.dir)).sort();
    } catch (error) {
      return fail('build.read_failed', `cannot list assets folder ${next.dir}: ${(error as Error).message}`);
    }
    for (const name of names) {
      const rel = next.rel === '' ? name : `${next.rel}/${name}`;
      const target = await insideTarget(assetsRoot, path.join(next.dir, name));
      if (target === null) {
        skipped.push(rel);
        continue;
      }
      if (target.isDirectory) {
        if (visited.has(target.path)) skipped.push(rel);
        else pending.push({ dir: target.path, rel });
        visited.add(target.path);
        continue;
      }
      const added = await addAsset(`${PACKAGE_ASSETS_DIR}/${rel}`, target.path, files, budget);
      if (!added.ok) return added;
    }
  }
  // `x.br` / `x.gz` siblings the front door serves by Accept-Encoding; left out where the package caps leave no room.
  const { entriesMax, unpackedBytesMax } = PACKAGE_LIMITS_DEFAULT;
  const room = { bytes: unpackedBytesMax - budget.bytes, entries: entriesMax - files.size - budget.directories.size };
  await precompressAssets(files, room, `${PACKAGE_ASSETS_DIR}/`);
  return ok(undefined);
}

/** Where an entry really points, if it is a file or folder inside the assets folder; null to skip it. */
async function insideTarget(assetsRoot: string, entry: string): Promise<{ path: string; isDirectory: boolean } | null> {
  try {
    const link = await lstat(entry);
    const real = link.isSymbolicLink() ? await realpath(entry) : entry;
    if (real !== assetsRoot && !real.startsWith(assetsRoot + path.sep)) return null;
    const info = link.isSymbolicLink() ? await stat(real) : link;
    if (info.isDirectory()) return { path: real, isDirectory: true };
    return info.isFile() ? { path: real, isDirectory: false } : null;
  } catch {
    return null; // a broken link, or an entry removed while we walk
  }
}

/** What the package holds so far, to stop before reading past the daemon's caps. */
interface AssetBudget {
  bytes: number;
  /** Parent folders become tar entries too, so they count against the entry cap. */
  directories: Set<string>;
}

async function addAsset(
  packagePath: string,
  file: string,
  files: Map<string, Uint8Array>,
  budget: AssetBudget,
): Promise<Result<void, BuildErrorCode>> {
  const problem = relativePathProblem(packagePath);
  if (problem !== null) return fail('build.assets_invalid', `asset path ${JSON.stringify(packagePath)} ${problem}`);
  const { entriesMax, unpackedBytesMax } = PACKAGE_LIMITS_DEFAULT;
  const segments = packagePath.split('/');
  for (let i = 1; i < segments.length; i++) budget.directories.add(segments.slice(0, i).join('/'));
  if (files.size + 1 + budget.directories.size > entriesMax) {
    return fail('build.too_large', `assets hold too many files; a package holds at most ${entriesMax} entries`);
  }
  budget.bytes += (await stat(file)).size;
  if (budget.bytes > unpackedBytesMax) return fail('build.too_large', `the package would hold more than ${unpackedBytesMax} bytes`);
  files.set(packagePath, await readFile(file));
  return ok(undefined);
}

/** Writes beside the target and renames, so a failed build never leaves half a package behind. */
export async function writeAtomically(file: string, bytes: Uint8Array): Promise<Result<void, BuildErrorCode>> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(temporary, bytes, { mode: 0o644 });
    await rename(temporary, file);
    return ok(undefined);
  } catch (error) {
    await rm(temporary, { force: true });
    return fail('build.write_failed', `cannot write ${file}: ${(error as Error).message}`);
  }
}
