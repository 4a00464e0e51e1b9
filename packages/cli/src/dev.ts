import { existsSync, readFileSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, startDaemon, type Daemon } from '@plinth/host';
import { buildApp } from './build-app.js';
import { CliError } from './cli-error.js';

/** Saves come in bursts (editors write temp files, formatters rewrite); wait for quiet before rebuilding. */
const REBUILD_DEBOUNCE_MS = 150;

async function buildBytes(appDir: string, outFile: string): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; message: string }> {
  const built = await buildApp(appDir, { outFile });
  return built.ok ? { ok: true, bytes: readFileSync(built.value.file) } : { ok: false, message: built.error.message };
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
  process.stdout.write(`\nplinth dev: ${installed.value.id} ${installed.value.version} at ${url}\nSign in (one-time link): ${await daemon.adminSignInLink()}\nWatching ${dir} for changes.\n`);

  let timer: NodeJS.Timeout | undefined;
  let building = Promise.resolve();
  const rebuild = async () => {
    const built = await buildBytes(dir, outFile);
    if (!built.ok) return void process.stdout.write(`plinth dev: build failed, still serving the last good build:\n${built.message}\n`);
    const reloaded = await daemon.installer.reload(built.bytes);
    process.stdout.write(reloaded.ok ? `plinth dev: reloaded ${reloaded.value.id} ${reloaded.value.version}\n` : `plinth dev: reload failed: ${reloaded.error.message}\n`);
  };
  watch(dir, { recursive: true }, (_event, file) => {
    const name = String(file ?? '');
    if (name.startsWith('.plinth-dev') || name.startsWith('node_modules') || name.endsWith('.plinth')) return;
    clearTimeout(timer);
    timer = setTimeout(() => { building = building.then(rebuild, rebuild); }, REBUILD_DEBOUNCE_MS);
  });
  return daemon;
}
