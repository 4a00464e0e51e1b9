import { SignatureV4 } from '@smithy/signature-v4';
import type { ObjectCredentials } from './credentials.js';
import { NodeSha256 } from './sigv4.js';

export interface PresignRequest {
  readonly endpoint: URL;
  readonly region: string;
  readonly credentials: ObjectCredentials;
  readonly method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  readonly bucket: string;
  readonly key: string;
  readonly expiresIn: number;
  /** Signed into the URL: a PUT must then send exactly this Content-Type / Content-Length. */
  readonly contentType?: string;
  readonly contentLength?: number;
  readonly signingDate: Date;
}

/** A SigV4 presigned URL, path-style on the endpoint, made by the AWS SDK's own signer. */
export async function presignUrl(request: PresignRequest): Promise<string> {
  const signer = new SignatureV4({ credentials: request.credentials, region: request.region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const path = `/${encodeURIComponent(request.bucket)}/${request.key.split('/').map(encodeURIComponent).join('/')}`;
  const headers: Record<string, string> = { host: request.endpoint.host };
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  if (request.contentLength !== undefined) headers['content-length'] = String(request.contentLength);
  const signed = await signer.presign(
    { method: request.method, protocol: request.endpoint.protocol, hostname: request.endpoint.hostname, port: request.endpoint.port ? Number(request.endpoint.port) : undefined, path, query: {}, headers, body: { streamed: true } },
    { expiresIn: request.expiresIn, signingDate: request.signingDate, unhoistableHeaders: new Set(Object.keys(headers)) },
  );
  const query = Object.entries(signed.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
  return `${request.endpoint.origin}${path}?${query}`;
}
