import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_APPS, installApp, type TestDaemon } from './daemon-harness.js';

export type SqlAppAnswer = { result: unknown; error?: undefined } | { result?: undefined; error: { code: string; message: string; status: number; name: string } };

/** Installs the `sql` test app under `appId` (a copy with that id in its manifest). */
export function installSqlApp(daemon: TestDaemon, workDir: string, appId: string): void {
  const dir = join(workDir, appId);
  cpSync(join(TEST_APPS, 'sql'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'plinth.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ ...manifest, id: appId }));
  installApp(daemon, dir);
}

/** POSTs `body` to a route of the sql test app; values tagged as in test-apps/sql/src/index.ts. */
export async function sqlApp(daemon: TestDaemon, appId: string, route: string, body: unknown): Promise<SqlAppAnswer> {
  const response = await daemon.fetch(daemon.appUrl(appId, route), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (response.status !== 200) throw new Error(`${route} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SqlAppAnswer;
}

/** The result of a call that must succeed. */
export async function sqlOk<T>(daemon: TestDaemon, appId: string, route: string, body: unknown): Promise<T> {
  const answer = await sqlApp(daemon, appId, route, body);
  if (answer.error) throw new Error(`${route} ${JSON.stringify(body).slice(0, 200)} failed: ${answer.error.code}: ${answer.error.message}`);
  return answer.result as T;
}

/** The error code of a call that must fail. */
export async function sqlErr(daemon: TestDaemon, appId: string, route: string, body: unknown): Promise<{ code: string; message: string; status: number }> {
  const answer = await sqlApp(daemon, appId, route, body);
  if (!answer.error) throw new Error(`${route} ${JSON.stringify(body).slice(0, 200)} succeeded: ${JSON.stringify(answer.result).slice(0, 200)}`);
  return answer.error;
}
