import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { watch } from 'chokidar';
import { loadConfig, startDaemon, type Daemon } from '@plinth/host';
import { buildApp } from './build-app.js';
import { CliError } from './cli-error.js';

/** Saves come in bursts (editors write temp files, formatters rewrite); wait for quiet before rebuilding. */
const REBUILD_DEBOUNCE_MS = 150;

async function buildBytes(appDir: string, outFile: string): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; message: string }> {
  const built = await buildApp(appDir, { outFile });
  return built.ok ? { ok: true, bytes: readFileSync(built.value.file) } : { ok: false, message: built.error.message };
}

/** What a save there does not rebuild: the dev daemon's own data, dependencies, git, and built packages. */
function ignoredByDev(appDir: string, dataDir: string, path: string): boolean {
  if (path === dataDir || path.startsWith(`${dataDir}${sep}`)) return true;
  const parts = relative(appDir, path).split(sep);
  return parts.includes('node_modules') || parts.includes('.git') || basename(path).endsWith('.plinth');
}

/**
 * `plinth dev <dir>`: a daemon with its own data folder (`<dir>/.plinth-dev`
 * unless --data is given) and the app installed from source; every save
 * rebuilds, and a good build replaces the running code, keeping data and sign-ins.
 */
export async function dev(appDir: string, flags: { port?: string | undefined; data?: string | undefined; 'base-url'?: string | undefined }): Promise<Daemon> {
  const dir = resolve(appDir);
  if (!existsSync(join(dir, 'plinth.json'))) throw new CliError(`${dir} has no plinth.json`);
  const config = loadConfig({ port: flags.port, data: flags.data ?? join(dir, '.plinth-dev'), baseUrl: flags['base-url'], installExamples: 'false' }, process.env);
  const daemon = await startDaemon(config, process.env);
  const outFile = join(config.dataDir, 'dev-build.plinth');
  const first = await buildBytes(dir, outFile);
  if (!first.ok) throw new CliError(`build failed: ${first.message}`);
  const manifestId = (JSON.parse(readFileSync(join(dir, 'plinth.json'), 'utf8')) as { id: string }).id;
  const installed = daemon.registry.get(manifestId) ? await daemon.installer.reload(first.bytes) : await daemon.installer.install(first.bytes);
  if (!installed.ok) throw new CliError(installed.error.message);
  const url = `${config.baseUrl.protocol}//${installed.value.id}.${config.baseHost}/`;

  let timer: NodeJS.Timeout | undefined;
  let building = Promise.resolve();
  const rebuild = async () => {
    const built = await buildBytes(dir, outFile);
    if (!built.ok) return void process.stdout.write(`plinth dev: build failed, still serving the last good build:\n${built.message}\n`);
    const reloaded = await daemon.installer.reload(built.bytes);
    process.stdout.write(reloaded.ok ? `plinth dev: reloaded ${reloaded.value.id} ${reloaded.value.version}\n` : `plinth dev: reload failed: ${reloaded.error.message}\n`);
  };
  // chokidar, not fs.watch: Node's recursive watch on Linux follows the file it first saw, so after
  // an atomic save (a temporary file renamed over it, as sed -i and many editors do) it missed
  // every later save of that file, silently. chokidar watches folders and picks the new file up.
  const watcher = watch(dir, { ignoreInitial: true, ignored: (path) => ignoredByDev(dir, config.dataDir, path) });
  watcher.on('all', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { building = building.then(rebuild, rebuild); }, REBUILD_DEBOUNCE_MS);
  });
  watcher.on('error', (error) => process.stdout.write(`plinth dev: watching ${dir} failed, saves may not reload: ${(error as Error).message}\n`));
  await new Promise<void>((ready) => watcher.once('ready', ready));
  process.stdout.write(`\nplinth dev: ${installed.value.id} ${installed.value.version} at ${url}\nSign in (one-time link): ${await daemon.adminSignInLink()}\nWatching ${dir} for changes.\n`);
  return daemon;
}
