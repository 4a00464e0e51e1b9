import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PlinthError } from '../support/result.js';
import { mergeErrorTables, type ErrorTable } from '../support/error-table.js';
import { APPS_ERRORS } from '../apps/errors.js';
import { ALARMS_ERRORS } from '../capabilities/alarms/errors.js';
import { ASSETS_ERRORS } from '../capabilities/assets/errors.js';
import { EGRESS_ERRORS } from '../capabilities/egress/errors.js';
import { KEYS_ERRORS } from '../capabilities/keys/errors.js';
import { OBJECTS_ERRORS } from '../capabilities/objects/errors.js';
import { SECRETS_ERRORS } from '../capabilities/secrets/errors.js';
import { SOCKETS_ERRORS } from '../capabilities/sockets/errors.js';
import { SQL_ERRORS } from '../capabilities/sql/errors.js';
import { IDENTITY_ERRORS } from '../identity/errors.js';
import { PLATFORM_ERRORS } from '../platform/errors.js';
import { RUNTIME_ERRORS } from '../runtime/errors.js';

/** The edge's own codes: HTTP parsing, the admin API's token, and root-key rotation it offers. */
type EdgeErrorCode = 'http.not_found' | 'http.method_not_allowed' | 'http.body_too_large' | 'http.bad_request' | 'admin.unauthorized' | 'keyring.rotation_unavailable';

const EDGE_ERRORS = {
  'http.not_found': { status: 404 },
  'http.method_not_allowed': { status: 405 },
  'http.body_too_large': { status: 413 },
  'http.bad_request': { status: 400 },
  'admin.unauthorized': { status: 401, fix: 'send the admin token from <data>/admin.token as `Authorization: Bearer <token>`' },
  'keyring.rotation_unavailable': { status: 409 },
} as const satisfies ErrorTable<EdgeErrorCode>;

/**
 * The one map from error codes to HTTP statuses (STYLE §6), merged from each owner's errors.ts.
 * Those files are imported directly, not through their folder's index.ts: none imports this module,
 * so the edge reads them while the capabilities that answer through it are still loading.
 */
const ERRORS_BY_CODE = mergeErrorTables([
  EDGE_ERRORS, PLATFORM_ERRORS, IDENTITY_ERRORS, APPS_ERRORS, RUNTIME_ERRORS,
  SECRETS_ERRORS, KEYS_ERRORS, SQL_ERRORS, OBJECTS_ERRORS, SOCKETS_ERRORS, ALARMS_ERRORS, EGRESS_ERRORS, ASSETS_ERRORS,
]);

/** A code no table lists is a bug in its owner; it answers 400 rather than taking the request down. */
const UNLISTED_CODE_STATUS = 400;

export function statusFor(code: string): number {
  return ERRORS_BY_CODE.get(code)?.status ?? UNLISTED_CODE_STATUS;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Every API error has the shape `{ error: { code, message } }`, never a stack trace. */
export function sendError(res: ServerResponse, error: PlinthError, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = { error: error.details ? { code: error.code, message: error.message, details: error.details } : { code: error.code, message: error.message } };
  sendJson(res, statusFor(error.code), body, headers);
}

/**
 * Platform pages run no script. `formAction` lists where a form may go,
 * including every redirect after the submit: browsers check the whole chain.
 */
export function sendHtml(res: ServerResponse, status: number, html: string, formAction = "'self'"): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'`,
  });
  res.end(html);
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0, ...headers });
  res.end();
}

/** Browsers get pages and redirects; API clients get JSON. Decided by what the client accepts. */
export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return req.method === 'GET' && accept.includes('text/html');
}

/** Reads a whole body up to `bytesMax`; returns null and stops reading once the cap is passed. */
export async function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > bytesMax) return null;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > bytesMax) {
      req.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An error answered on a raw socket, where an upgrade was refused before any HTTP response object exists. */
export function writeRawError(socket: Duplex, error: PlinthError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: error.code, message: error.message } });
  const status = statusFor(error.code);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`);
}

/**
 * The request target as a URL. Origin-form targets are prefixed rather than
 * resolved, so `//after-update` stays a path instead of becoming a host.
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return target.startsWith('/') ? new URL(`http://request${target}`) : new URL(target);
  } catch {
    return new URL('http://request/');
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
