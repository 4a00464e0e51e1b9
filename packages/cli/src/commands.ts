import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, loadConfig, startDaemon, type Daemon } from '@plinth/host';
import { buildApp, packageFileName, writeAtomically } from './build-app.js';
import { CliError } from './cli-error.js';
import { dev } from './dev.js';
import { createDaemonClient, type DaemonClient } from './daemon-client.js';

export { CliError };

export interface Flags {
  json?: boolean | undefined; url?: string | undefined; data?: string | undefined; port?: string | undefined;
  'base-url'?: string | undefined; 'sign-key'?: string | undefined; output?: string | undefined; follow?: boolean | undefined;
  lines?: string | undefined; 'keep-data'?: boolean | undefined; name?: string | undefined; admin?: boolean | undefined;
  'password-stdin'?: boolean | undefined; user?: string | undefined; app?: string | undefined; help?: boolean | undefined; version?: boolean | undefined;
  audit?: boolean | undefined; history?: string | undefined; 'allow-downgrade'?: boolean | undefined;
  rotate?: boolean | undefined; 's3-port'?: string | undefined;
}

/** Group and others get no bits on anything `serve` or `dev` creates under the data folder (app data, inline objects, keys, logs). */
const DAEMON_UMASK = 0o077;

const USAGE = `usage: plinth <command> [options]
  serve [--port N] [--data DIR] [--base-url URL] [--s3-port N]   run the daemon
  dev <dir> [--port N] [--data DIR]                run a daemon with that app; rebuild and reload on save
  build <dir> [-o file] [--sign-key file]          bundle an app into <id>-<version>.plinth
  keygen <file>                                    make a package signing key pair
  install <file|dir> [-o file]                     install a package (a folder is built first and kept as -o or <id>-<version>.plinth)
  uninstall <app> [--keep-data]                    remove an app
  update <app> <file|dir> [-o file] [--allow-downgrade]   gated update: the new version's POST /after-update decides
  rollback <app>                                   back to the version before the last update, and its data
  apps [--history <app>]                           list apps, or one app's updates
  logs <app> [-f] [--lines N] [--audit]            console output and platform events; --audit: key use
  objects credentials <app> [--rotate]             the app's S3 endpoint and key pair (for aws, rclone, SDKs)
  objects usage <app>                              the app's object count and stored bytes
  root-key rotate                                  re-wrap every app's data key under a new root key
  users add <email> [--name N] [--admin] [--password-stdin] | users list
  tokens create --user <email> --app <app>         bearer token for one app
  tokens revoke <token>                            revoke a bearer token
common: --json, --url URL (the daemon), --data DIR (where admin.token is); --help, --version`;

function print(flags: Flags, value: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`missing ${what}\n${USAGE}`);
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

interface PackageToSend {
  readonly bytes: Uint8Array;
  /** For a folder that was built: where to keep the package once the daemon has taken it. */
  readonly keepAs?: string;
}

/**
 * Reads a package file, or builds a folder into a temporary file. A built package is to be kept
 * at `outFile`, by default where `plinth build` would write it.
 */
async function packageToSend(target: string, signKey: string | undefined, outFile: string | undefined): Promise<PackageToSend> {
  if (!existsSync(target)) throw new CliError(`${target} does not exist`);
  if (!statSync(target).isDirectory()) {
    if (outFile !== undefined) throw new CliError(`-o names where a built folder is kept; ${target} is a package file already`);
    return { bytes: readFileSync(target) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'plinth-build-'));
  try {
    const built = await buildApp(target, { outFile: join(dir, 'app.plinth'), signKeyFile: signKey });
    if (!built.ok) throw new CliError(`build failed: ${built.error.message}`);
    return { bytes: readFileSync(built.value.file), keepAs: resolve(outFile ?? packageFileName(built.value.manifest)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Keeps a built package only after the daemon took it, so the file beside the app is always a
 * package that was installed and can be installed again; a refused build is not kept.
 */
async function keepPackage(sent: PackageToSend): Promise<string | undefined> {
  if (sent.keepAs === undefined) return undefined;
  const written = await writeAtomically(sent.keepAs, sent.bytes);
  if (written.ok) return sent.keepAs;
  // The install or update itself succeeded: say so with the exit status, and warn about the file.
  process.stderr.write(`plinth: warning: the package was not kept: ${written.error.message}\n`);
  return undefined;
}

/** The command's result, with where its package was kept. */
function printWithPackage(flags: Flags, value: object, text: string, kept: string | undefined): void {
  print(flags, kept === undefined ? value : { ...value, package: kept }, kept === undefined ? text : `${text}\npackage kept at ${kept}`);
}

interface AppView { id: string; version: string; url: string; runtime: { state: string } | null; sockets?: { open: number }; nextAlarm?: string | null }

async function serve(flags: Flags): Promise<void> {
  const config = loadConfig({ port: flags.port, data: flags.data, baseUrl: flags['base-url'], s3Port: flags['s3-port'] }, process.env);
  const daemon = await startDaemon(config, process.env);
  if (daemon.firstStart) {
    if (config.installExamples) await installExamples(daemon);
    process.stdout.write(`\nPlinth is running at ${config.baseUrl.origin}\nSign in as admin (one-time link): ${await daemon.adminSignInLink()}\n\n`);
  }
  stopOnSignals(daemon);
}

function stopOnSignals(daemon: Daemon): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    daemon.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The repo's examples/ folder, when running from a checkout. */
async function installExamples(daemon: Daemon): Promise<void> {
  const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');
  if (!existsSync(examples)) return;
  for (const name of readdirSync(examples)) {
    const dir = join(examples, name);
    if (!existsSync(join(dir, 'plinth.json'))) continue;
    const result = await daemon.installer.install((await packageToSend(dir, undefined, undefined)).bytes);
    process.stdout.write(result.ok ? `installed example ${result.value.id}\n` : `example ${name} not installed: ${result.error.message}\n`);
  }
}

async function logs(client: DaemonClient, flags: Flags, appId: string): Promise<void> {
  const lines = flags.lines ?? '200';
  if (!flags.follow) {
    const { lines: entries } = await client.call<{ lines: { time: string; stream: string; text: string }[] }>('GET', `/api/admin/apps/${encodeURIComponent(appId)}/logs?lines=${encodeURIComponent(lines)}`);
    for (const e of entries) print(flags, e, `${e.time} ${e.stream} ${e.text}`);
    return;
  }
  const response = await client.request('GET', `/api/admin/apps/${encodeURIComponent(appId)}/logs?follow=true&lines=${encodeURIComponent(lines)}`);
  if (!response.ok || !response.body) throw new CliError(`cannot follow logs: the daemon answered ${response.status}`);
  let buffered = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += Buffer.from(chunk).toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const e = JSON.parse(buffered.slice(0, nl)) as { time: string; stream: string; text: string };
      buffered = buffered.slice(nl + 1);
      print(flags, e, `${e.time} ${e.stream} ${e.text}`);
    }
  }
}

export async function runCommand(args: string[], flags: Flags): Promise<void> {
  const [command, ...rest] = args;
  if (flags.version) {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return print(flags, { version }, `plinth ${version}`);
  }
  if (!command || flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // Whatever the shell's umask, what the daemon creates is its own: files 0600, folders 0700, and
  // sockets no one else can connect to. One setting covers every writer, SQLite's -wal and -shm
  // files included, where a mode per call site would miss the next new file.
  if (command === 'serve' || command === 'dev') process.umask(DAEMON_UMASK);
  if (command === 'serve') return serve(flags);
  if (command === 'dev') return stopOnSignals(await dev(need(rest[0], 'app folder'), flags));
  if (command === 'build') {
    const built = await buildApp(need(rest[0], 'app folder'), { outFile: flags.output, signKeyFile: flags['sign-key'] });
    if (!built.ok) throw new CliError(`build failed: ${built.error.message}`);
    return print(flags, built.value, `built ${built.value.file} (${built.value.bytes} bytes)`);
  }
  if (command === 'keygen') {
    const file = need(rest[0], 'key file');
    const key = generateSigningKey();
    if (existsSync(file)) throw new CliError(`${file} already exists; keygen never overwrites a key`);
    writeFileSync(file, JSON.stringify(key, null, 2), { mode: 0o600, flag: 'wx' });
    return print(flags, { file, publicKey: key.publicKey }, `wrote ${file}; public key ${key.publicKey}`);
  }
  const client = createDaemonClient(flags, process.env);
  switch (command) {
    case 'install': {
      const sent = await packageToSend(need(rest[0], 'package file or folder'), flags['sign-key'], flags.output);
      const app = await client.call<AppView>('POST', '/api/admin/apps', sent.bytes, 'application/gzip');
      return printWithPackage(flags, app, `installed ${app.id} ${app.version} at ${app.url}`, await keepPackage(sent));
    }
    case 'uninstall': {
      const id = need(rest[0], 'app id');
      const result = await client.call<unknown>('DELETE', `/api/admin/apps/${encodeURIComponent(id)}${flags['keep-data'] ? '?keepData=true' : ''}`);
      return print(flags, result, `uninstalled ${id}${flags['keep-data'] ? ' (data kept)' : ''}`);
    }
    case 'update': {
      const id = need(rest[0], 'app id');
      const sent = await packageToSend(need(rest[1], 'package file or folder'), flags['sign-key'], flags.output);
      const result = await client.call<{ from: string; to: string; durationMs: number }>('POST', `/api/admin/apps/${encodeURIComponent(id)}/updates${flags['allow-downgrade'] ? '?allowDowngrade=true' : ''}`, sent.bytes, 'application/gzip');
      return printWithPackage(flags, result, `updated ${id} ${result.from} → ${result.to} in ${result.durationMs} ms`, await keepPackage(sent));
    }
    case 'rollback': {
      const id = need(rest[0], 'app id');
      const result = await client.call<{ from: string; to: string }>('POST', `/api/admin/apps/${encodeURIComponent(id)}/rollbacks`);
      process.stderr.write(`warning: ${id}'s databases are back as they were before the update; writes made since then are gone\n`);
      return print(flags, result, `rolled ${id} back ${result.from} → ${result.to}`);
    }
    case 'apps': {
      if (flags.history) {
        const { history } = await client.call<{ history: { kind: string; from: string; to: string; state: string; startedAt: string; durationMs: number | null; detail: string | null }[] }>('GET', `/api/admin/apps/${encodeURIComponent(flags.history)}/updates`);
        return print(flags, history, history.map((h) => `${h.startedAt}\t${h.kind}\t${h.from} → ${h.to}\t${h.state}\t${h.durationMs ?? '-'} ms${h.detail ? `\t${h.detail}` : ''}`).join('\n') || 'no updates');
      }
      const { apps } = await client.call<{ apps: AppView[] }>('GET', '/api/admin/apps');
      return print(flags, apps, apps.map((a) => `${a.id}\t${a.version}\t${a.runtime?.state ?? 'unknown'}\t${a.sockets?.open ?? 0} sockets\t${a.url}\tnext alarm ${a.nextAlarm ?? 'none'}`).join('\n') || 'no apps installed');
    }
    case 'logs': {
      const appId = need(rest[0], 'app id');
      if (!flags.audit) return logs(client, flags, appId);
      const { audit } = await client.call<{ audit: { at: string; key: string; version: number | null; operation: string }[] }>('GET', `/api/admin/apps/${encodeURIComponent(appId)}/audit`);
      for (const a of audit.reverse()) print(flags, a, `${a.at} key ${a.key}${a.version ? `.${a.version}` : ''} ${a.operation}`);
      return;
    }
    case 'objects': {
      const appId = encodeURIComponent(need(rest[1], 'app id'));
      if (rest[0] === 'usage') {
        const usage = await client.call<{ objects: number; bytes: number }>('GET', `/api/admin/apps/${appId}/objects`);
        return print(flags, usage, `${usage.objects} objects, ${usage.bytes} bytes`);
      }
      if (rest[0] !== 'credentials') throw new CliError(`unknown objects command ${rest[0] ?? ''}\n${USAGE}`);
      const c = await client.call<{ endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }>(flags.rotate ? 'POST' : 'GET', `/api/admin/apps/${appId}/objects-credentials`);
      return print(flags, c, `AWS_ENDPOINT_URL=${c.endpoint}\nAWS_REGION=${c.region}\nAWS_ACCESS_KEY_ID=${c.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`);
    }
    case 'root-key': {
      if (rest[0] !== 'rotate') throw new CliError(`unknown root-key command ${rest[0] ?? ''}\n${USAGE}`);
      const result = await client.call<{ dataKeys: number }>('POST', '/api/admin/root-key-rotations');
      return print(flags, result, `root key rotated; ${result.dataKeys} app data keys re-wrapped`);
    }
    case 'users':
      return users(client, flags, rest);
    case 'tokens': {
      if (rest[0] === 'revoke') {
        const result = await client.call<{ revoked: boolean }>('DELETE', '/api/admin/tokens', JSON.stringify({ token: need(rest[1], 'token') }));
        return print(flags, result, 'token revoked');
      }
      if (rest[0] !== 'create') throw new CliError(`unknown tokens command ${rest[0] ?? ''}\n${USAGE}`);
      const body = JSON.stringify({ user: need(flags.user, '--user'), app: need(flags.app, '--app') });
      const token = await client.call<{ token: string }>('POST', '/api/admin/tokens', body);
      return print(flags, token, token.token);
    }
    default:
      throw new CliError(`unknown command ${command}\n${USAGE}`);
  }
}

async function users(client: DaemonClient, flags: Flags, rest: string[]): Promise<void> {
  if (rest[0] === 'list') {
    const { users: list } = await client.call<{ users: { email: string; name: string; isAdmin: boolean }[] }>('GET', '/api/admin/users');
    return print(flags, list, list.map((u) => `${u.email}\t${u.name}${u.isAdmin ? '\tadmin' : ''}`).join('\n'));
  }
  if (rest[0] !== 'add') throw new CliError(`unknown users command ${rest[0] ?? ''}\n${USAGE}`);
  const body: Record<string, unknown> = { email: need(rest[1], 'email'), admin: flags.admin ?? false };
  if (flags.name) body.name = flags.name;
  if (flags['password-stdin']) body.password = await readStdin();
  const user = await client.call<{ email: string }>('POST', '/api/admin/users', JSON.stringify(body));
  return print(flags, user, `added ${user.email}`);
}
