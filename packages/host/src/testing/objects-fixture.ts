import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import { NodeSha256 } from '../capabilities/objects/sigv4.js';
import { TEST_APPS, freePort, installApp, startTestDaemon, type TestDaemon, type TestDaemonOptions } from './daemon-harness.js';

export interface ObjectCredentials {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface ObjectsFixture {
  readonly daemon: TestDaemon;
  readonly s3Port: number;
  /** `http://127.0.0.1:<s3 port>`: path-style, as tools that address by IP use it. */
  readonly endpoint: string;
  credentials(appId: string): ObjectCredentials;
  /** An AWS SDK v3 client with its default settings, signed as the app. */
  client(appId: string, config?: Partial<S3ClientConfig>): S3Client;
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Installs a copy of a test app under another id. */
export function installCopy(daemon: TestDaemon, source: string, appId: string): void {
  const work = mkdtempSync(join(tmpdir(), 'plinth-app-'));
  try {
    const dir = join(work, appId);
    cpSync(join(TEST_APPS, source), dir, { recursive: true });
    cpSync(join(TEST_APPS, 'shared'), join(work, 'shared'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'plinth.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'plinth.json'), JSON.stringify({ ...manifest, id: appId }));
    installApp(daemon, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A daemon with the S3 port open and the given apps installed (copies of the echo app). */
export async function startObjectsDaemon(appIds: readonly string[], options: TestDaemonOptions & { s3Port?: number } = {}): Promise<ObjectsFixture> {
  const s3Port = options.s3Port ?? (await freePort());
  const daemon = await startTestDaemon({ ...options, env: { PLINTH_S3_PORT: String(s3Port), ...options.env } });
  for (const appId of appIds) installCopy(daemon, 'echo', appId);
  const endpoint = `http://127.0.0.1:${s3Port}`;
  const cache = new Map<string, ObjectCredentials>();
  const clients: S3Client[] = [];
  const fixture: ObjectsFixture = {
    daemon, s3Port, endpoint,
    credentials(appId) {
      let found = cache.get(appId);
      if (!found) {
        const run = daemon.cli(['objects', 'credentials', appId, '--json']);
        if (run.status !== 0) throw new Error(`objects credentials ${appId} failed: ${run.stderr}`);
        found = JSON.parse(run.stdout) as ObjectCredentials;
        cache.set(appId, found);
      }
      return found;
    },
    client(appId, config = {}) {
      const c = fixture.credentials(appId);
      const client = new S3Client({ endpoint, region: c.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, ...config });
      clients.push(client);
      return client;
    },
    async stop(stopOptions) {
      for (const client of clients) client.destroy();
      await daemon.stop(stopOptions);
    },
  };
  return fixture;
}

/** The S3 error a command failed with: its code and HTTP status; fails the test if it succeeded. */
export async function s3Failure(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof S3ServiceException, `expected an S3 error, got ${String(error)}`);
    return { code: error.name, status: error.$metadata.httpStatusCode, message: error.message };
  }
  assert.fail('the call succeeded but should have failed');
}

/** A request signed by hand (smithy's signer), for what the SDK never sends: bad hashes, chunked bodies, odd headers. */
export async function signedRequest(f: ObjectsFixture, appId: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string, options: { secret?: string; unsigned?: Record<string, string> } = {}) {
  const c = f.credentials(appId);
  const signer = new SignatureV4({ credentials: { accessKeyId: c.accessKeyId, secretAccessKey: options.secret ?? c.secretAccessKey }, region: c.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const url = new URL(f.endpoint);
  const [pathname = '', search = ''] = path.split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  const signed = await signer.sign({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: pathname, query, headers: { host: url.host, ...headers } });
  const response = await request(`${f.endpoint}${path}`, { method: method as 'PUT', headers: { ...signed.headers, ...options.unsigned }, ...(body !== undefined ? { body } : {}) });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}
