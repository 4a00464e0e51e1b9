import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit, type Response as UndiciResponse } from 'undici';

/** The repository root, from packages/host/dist/testing. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const CLI = join(REPO_ROOT, 'packages/cli/dist/main.js');
/** Apps written for the tests, each a folder with plinth.json. */
export const TEST_APPS = join(REPO_ROOT, 'packages/host/test-apps');

/** Node does not resolve `*.localhost` (curl and browsers do), so tests map every name to loopback. */
export const loopbackAgent = new Agent({
  // No keep-alive: tests block their event loop in spawnSync (the CLI) for seconds, after which a pooled
  // connection the daemon has since closed would be reused before the client's own timer could retire it.
  pipelining: 0,
  connect: { lookup: (_host, _opts, callback) => callback(null, [{ address: '127.0.0.1', family: 4 }]) },
});

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestDaemon {
  readonly port: number;
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly adminToken: string;
  /** The CLI's working folder (temporary): `install <dir>` and `update <app> <dir>` keep their packages here. */
  readonly cliDir: string;
  readonly process: ChildProcess;
  readonly output: () => string;
  /** `http://<app>.localhost:<port><path>`. */
  appUrl(appId: string, path?: string): string;
  /** fetch that resolves *.localhost to loopback and never follows redirects. */
  fetch(url: string, init?: UndiciRequestInit): Promise<UndiciResponse>;
  /** Runs the real `plinth` CLI against this daemon (blocking: the test's event loop waits). */
  cli(args: string[], input?: string): { status: number; stdout: string; stderr: string };
  /** Resolves once the daemon process has ended (by exit or by signal), even if it already has. */
  exited(): Promise<void>;
  /** The same, without blocking, so the test can keep traffic flowing while it runs. */
  cliAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }>;
  /** Stops the daemon (SIGTERM, then SIGKILL) and removes its data folder unless told to keep it. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface TestDaemonOptions {
  readonly env?: Record<string, string>;
  /** Reuse a data folder (to test restarts); it is then not removed by stop(). */
  readonly dataDir?: string;
  /** A port chosen beforehand (to name it in settings); a free one otherwise. */
  readonly port?: number;
}

export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'plinth-test-'));
  const baseUrl = `http://localhost:${port}`;
  const env = {
    ...process.env, PLINTH_PORT: String(port), PLINTH_DATA: dataDir, PLINTH_BASE_URL: baseUrl,
    PLINTH_INSTALL_EXAMPLES: 'false', PLINTH_LOG_LEVEL: 'warn', ...options.env,
  };
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  await waitForListening(baseUrl, child, () => output);
  const cliDir = mkdtempSync(join(tmpdir(), 'plinth-cli-'));

  const daemon: TestDaemon = {
    port, baseUrl, dataDir, cliDir, process: child, output: () => output,
    adminToken: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(),
    appUrl: (appId, path = '/') => `http://${appId}.localhost:${port}${path}`,
    fetch: (url, init = {}) => undiciFetch(url, { redirect: 'manual', dispatcher: loopbackAgent, ...init }),
    cli(args, input) {
      const run = spawnSync(process.execPath, [CLI, ...args], { env: { ...env, PLINTH_ADMIN_TOKEN: '' }, cwd: cliDir, input, encoding: 'utf8', timeout: 60_000 });
      return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
    },
    exited() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => child.once('exit', () => resolve()));
    },
    cliAsync(args) {
      const run = spawn(process.execPath, [CLI, ...args], { env: { ...env, PLINTH_ADMIN_TOKEN: '' }, cwd: cliDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      run.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      return new Promise((resolve) => run.once('close', (code) => resolve({ status: code ?? -1, stdout, stderr })));
    },
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.kill('SIGTERM');
        await daemon.exited();
        clearTimeout(timer);
      }
      if (!options.dataDir && !keepData) rmSync(dataDir, { recursive: true, force: true });
      rmSync(cliDir, { recursive: true, force: true });
    },
  };
  return daemon;
}

async function waitForListening(baseUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${output()}`);
    try {
      await undiciFetch(`${baseUrl}/.well-known/jwks.json`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`daemon did not listen within 30 s:\n${output()}`);
}

/** Installs a test app folder through the CLI and fails loudly if that did not work. */
export function installApp(daemon: TestDaemon, dir: string, extra: string[] = []): void {
  const run = daemon.cli(['install', dir, ...extra]);
  if (run.status !== 0) throw new Error(`install ${dir} failed: ${run.stderr}`);
}

/**
 * Posts the sign-in form as a browser does: first GET /login for the form's CSRF cookie and token,
 * then POST them with `fields`. `baseUrl` is the console's, for a daemon started with its own PLINTH_BASE_URL.
 */
export async function postSignIn(daemon: TestDaemon, fields: Record<string, string>, baseUrl = daemon.baseUrl): Promise<UndiciResponse> {
  const form = await daemon.fetch(`${baseUrl}/login`, { headers: { accept: 'text/html' } });
  const cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const csrf = /name="csrf" value="([^"]*)"/.exec(await form.text())?.[1];
  const body = new URLSearchParams({ ...fields, ...(csrf === undefined ? {} : { csrf }) });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) };
  return daemon.fetch(`${baseUrl}/login`, { method: 'POST', body, headers });
}

/** The `name=value` pairs a response set, as a Cookie header. */
const cookiesSet = (response: UndiciResponse) => response.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');

/** A sign-in as a browser makes it from an app's page, stopped before the handoff. */
export interface HandoffStart {
  /** `<app host>/.plinth/handoff?code=…`, not yet followed. */
  readonly handoff: string;
  /** The app host's state cookie, as a Cookie header: only a request with it can use the handoff. */
  readonly stateCookie: string;
  /** The console session the sign-in set, as a Cookie header. */
  readonly consoleCookie: string;
}

/**
 * Opens `appUrl` as a browser (the app host answers with its state cookie and a redirect to
 * `/login`), then posts the form with what that redirect carries, and stops at the handoff.
 */
export async function signInUntilHandoff(daemon: TestDaemon, appUrl: string, credentials: { email: string; password: string }, baseUrl = daemon.baseUrl): Promise<HandoffStart> {
  const start = await daemon.fetch(appUrl, { headers: { accept: 'text/html' } });
  if (start.status !== 302) throw new Error(`${appUrl} answered ${start.status}, not a redirect to sign in: ${await start.text()}`);
  const login = new URL(start.headers.get('location')!);
  const posted = await postSignIn(daemon, { ...credentials, ...Object.fromEntries(login.searchParams) }, baseUrl);
  if (posted.status !== 302) throw new Error(`sign-in answered ${posted.status}: ${await posted.text()}`);
  return { handoff: posted.headers.get('location')!, stateCookie: cookiesSet(start), consoleCookie: cookiesSet(posted) };
}

/** The whole sign-in from an app's page, handoff included; returns the app session cookie as a Cookie header. */
export async function signInThroughApp(daemon: TestDaemon, appUrl: string, credentials: { email: string; password: string }, baseUrl = daemon.baseUrl): Promise<HandoffStart & { appCookie: string }> {
  const started = await signInUntilHandoff(daemon, appUrl, credentials, baseUrl);
  const landed = await daemon.fetch(started.handoff, { headers: { cookie: started.stateCookie } });
  if (landed.status !== 302) throw new Error(`handoff answered ${landed.status}: ${await landed.text()}`);
  return { ...started, appCookie: cookiesSet(landed) };
}

/** Signs a user in to `appId` at `path` as a browser does; returns the app-origin cookie header. */
export async function signInToApp(daemon: TestDaemon, appId: string, email: string, password: string, path = '/'): Promise<string> {
  return (await signInThroughApp(daemon, daemon.appUrl(appId, path), { email, password })).appCookie;
}

export function addUser(daemon: TestDaemon, email: string, password: string, extra: string[] = []): void {
  const run = daemon.cli(['users', 'add', email, '--password-stdin', ...extra], password);
  if (run.status !== 0) throw new Error(`users add failed: ${run.stderr}`);
}
