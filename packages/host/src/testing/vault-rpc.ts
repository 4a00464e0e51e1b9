import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_APPS, installApp, type TestDaemon } from './daemon-harness.js';

export type RpcAnswer = { result: unknown; error?: undefined } | { result?: undefined; error: { code: string; message: string; status: number } };

/** Installs the vault test app under `appId` (a copy with that id in its manifest). */
export function installVault(daemon: TestDaemon, workDir: string, appId: string): void {
  const dir = join(workDir, appId);
  cpSync(join(TEST_APPS, 'vault'), dir, { recursive: true });
  // The vault imports ../../shared/rpc.ts; keep that relative path valid in the copy.
  cpSync(join(TEST_APPS, 'shared'), join(workDir, 'shared'), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'plinth.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ ...manifest, id: appId }));
  installApp(daemon, dir);
}

/** Calls `plinth(env)[client][method](...args)` inside the app; Uint8Array values travel as `{ b64 }`. */
export async function rpc(daemon: TestDaemon, appId: string, client: string, method: string, ...args: unknown[]): Promise<RpcAnswer> {
  const encoded = args.map((a) => (a instanceof Uint8Array ? { b64: Buffer.from(a).toString('base64') } : a));
  const response = await daemon.fetch(daemon.appUrl(appId, '/rpc'), { method: 'POST', body: JSON.stringify({ client, method, args: encoded }), headers: { 'content-type': 'application/json' } });
  if (response.status !== 200) throw new Error(`rpc ${client}.${method} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as RpcAnswer;
}

/** The result of an rpc that must succeed. */
export async function call<T>(daemon: TestDaemon, appId: string, client: string, method: string, ...args: unknown[]): Promise<T> {
  const answer = await rpc(daemon, appId, client, method, ...args);
  if (answer.error) throw new Error(`${client}.${method} failed: ${answer.error.code}: ${answer.error.message}`);
  return answer.result as T;
}

export function bytesOf(result: unknown): Buffer {
  return Buffer.from((result as { b64: string }).b64, 'base64');
}

/** Sends a raw ABI call from inside the app, to test what the platform socket accepts. */
export async function raw(daemon: TestDaemon, appId: string, spec: { method: string; path: string; headers?: Record<string, string>; body?: string }) {
  const response = await daemon.fetch(daemon.appUrl(appId, '/raw'), { method: 'POST', body: JSON.stringify(spec), headers: { 'content-type': 'application/json' } });
  return { status: response.status, body: await response.text() };
}
