import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { newBlobId, type BlobStore } from './blob-store.js';
import { NodeSha256 } from './sigv4.js';

/** `PLINTH_S3_BACKEND`: where blobs go instead of local files. */
export interface S3Backend {
  readonly endpoint: URL;
  readonly bucket: string;
  /** Blobs live under `<prefix><appId>/<blob id>`. */
  readonly prefix: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const backendSchema = z.url().transform((text, ctx) => {
  const url = new URL(text);
  const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
  const prefix = rest.filter(Boolean).join('/');
  const region = url.searchParams.get('region') ?? 'us-east-1';
  // An empty or misspelt region (`?region=`, `?regoin=`) would only show as refused writes later.
  const onlyRegion = [...url.searchParams.keys()].every((name) => name === 'region');
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.username || !url.password || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || !/^[A-Za-z0-9/_.-]*$/.test(prefix) || !/^[A-Za-z0-9_-]{1,64}$/.test(region) || !onlyRegion) {
    ctx.addIssue({ code: 'custom', message: 'expected http(s)://<access key id>:<secret>@<host>[:port]/<bucket>[/<prefix>][?region=<region>]' });
    return z.NEVER;
  }
  return {
    endpoint: new URL(url.origin), bucket, prefix: prefix ? `${prefix}/` : '', region,
    accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password),
  } satisfies S3Backend;
});

export function parseS3Backend(text: string): S3Backend {
  const parsed = backendSchema.safeParse(text);
  if (!parsed.success) throw new Error(`PLINTH_S3_BACKEND: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

const SWEEP_MARGIN_MS = 5 * 60_000;
const listParser = new XMLParser({ isArray: (name) => name === 'Contents', parseTagValue: false });

/**
 * Blobs in an external S3 (MinIO, Garage, Ceph RGW, AWS…). A blob is spooled to a local file
 * first, so the upload has a known length and the caller's stream never waits on the network;
 * it counts as durable once the backend answers 200 to the PUT.
 */
export function createRemoteBlobStore(backend: S3Backend, spoolDir: string): BlobStore {
  const agent = new Agent({ connections: 64 });
  const signer = new SignatureV4({ credentials: { accessKeyId: backend.accessKeyId, secretAccessKey: backend.secretAccessKey }, region: backend.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  // Spool files are only ever in flight; whatever is there at start was left by a crash.
  rmSync(spoolDir, { recursive: true, force: true });
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const objectPath = (appId: string, id: string) => `/${backend.bucket}/${backend.prefix}${appId}/${id}`;

  async function send(method: string, path: string, query: Record<string, string>, headers: Record<string, string>, body?: Readable) {
    const signed = await signer.sign({
      method, protocol: backend.endpoint.protocol, hostname: backend.endpoint.hostname, path, query,
      headers: { host: backend.endpoint.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
      ...(backend.endpoint.port ? { port: Number(backend.endpoint.port) } : {}),
    });
    const search = new URLSearchParams(query).toString();
    const response = await request(`${backend.endpoint.origin}${path}${search ? `?${search}` : ''}`, {
      method: method as 'GET', headers: signed.headers, dispatcher: agent, ...(body ? { body } : {}),
    });
    if (response.statusCode >= 300 && !(method === 'DELETE' && response.statusCode === 404)) {
      const text = (await response.body.text()).slice(0, 300);
      throw new Error(`S3 backend ${method} ${path}: ${response.statusCode} ${text}`);
    }
    return response;
  }

  async function listIds(appId: string, olderThan = Number.POSITIVE_INFINITY): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    const prefix = `${backend.prefix}${appId}/`;
    do {
      const response = await send('GET', `/${backend.bucket}`, { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) }, {});
      const page = listParser.parse(await response.body.text()) as { ListBucketResult?: { Contents?: { Key: string; LastModified: string }[]; NextContinuationToken?: string; IsTruncated?: string } };
      for (const item of page.ListBucketResult?.Contents ?? []) if (Date.parse(item.LastModified) < olderThan) ids.push(item.Key.slice(prefix.length));
      token = page.ListBucketResult?.IsTruncated === 'true' ? page.ListBucketResult.NextContinuationToken : undefined;
    } while (token);
    return ids;
  }

  async function remove(appId: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) await (await send('DELETE', objectPath(appId, id), {}, {})).body.dump();
  }

  return {
    // The operator chose the back end to hold the bytes; none stay in the local index.
    inlineBytesMax: 0,
    async write(appId, fill) {
      const id = newBlobId();
      const spool = join(spoolDir, `${appId}-${id}`);
      try {
        await fill(createWriteStream(spool, { flags: 'wx', mode: 0o600 }));
        const { size } = await stat(spool);
        await (await send('PUT', objectPath(appId, id), {}, { 'content-length': String(size) }, createReadStream(spool))).body.dump();
        return id;
      } finally {
        await rm(spool, { force: true });
      }
    },
    async read(appId, id, start, end) {
      const response = await send('GET', objectPath(appId, id), {}, end >= start ? { range: `bytes=${start}-${end}` } : {});
      return response.body;
    },
    remove,
    async sweep(appId, isReferenced) {
      // Only blobs from before this sweep began (with a margin for clock skew): newer ones may be writes about to commit.
      const leftovers = (await listIds(appId, Date.now() - SWEEP_MARGIN_MS)).filter((id) => !isReferenced(id));
      await remove(appId, leftovers);
      return leftovers.length;
    },
    async removeApp(appId) {
      await remove(appId, await listIds(appId));
    },
  };
}
