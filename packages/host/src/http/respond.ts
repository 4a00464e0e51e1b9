import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PlinthError } from '../support/result.js';

/**
 * The one table from error codes to HTTP statuses (STYLE §6). Codes not listed
 * here fall back by their suffix, then to 400.
 */
const STATUS_BY_CODE: Record<string, number> = {
  'auth.required': 401,
  'auth.invalid_token': 401,
  'auth.wrong_app': 403,
  'auth.forbidden': 403,
  'auth.bad_credentials': 401,
  'auth.csrf_rejected': 403,
  'auth.too_many_attempts': 429,
  'auth.state_mismatch': 400,
  'admin.unauthorized': 401,
  'app.not_found': 404,
  'app.exists': 409,
  'app.busy': 409,
  'app.unavailable': 503,
  'app.overloaded': 503,
  'app.timeout': 504,
  'app.bad_gateway': 502,
  'http.not_found': 404,
  'http.method_not_allowed': 405,
  'http.body_too_large': 413,
  'http.bad_request': 400,
  'package.too_large': 413,
  'package.signer_mismatch': 409,
  'manifest.above_ceiling': 400,
  'users.exists': 409,
  'users.not_found': 404,
  'platform.internal': 500,
  'assets.bad_path': 400,
  'assets.precondition_failed': 412,
  'assets.range_not_satisfiable': 416,
  'egress.host_not_allowed': 403,
  'egress.private_address': 403,
  'egress.platform_port': 403,
  'egress.dns_failed': 502,
  'egress.upstream_failed': 502,
  'egress.response_too_large': 502,
  'egress.timeout': 504,
  'egress.busy': 503,
  'platform.bad_request': 400,
  'secrets.too_many': 409,
  'keys.exists': 409,
  'keys.too_many': 409,
  'keys.too_many_versions': 409,
  'keyring.rotation_unavailable': 409,
  'sql.exists': 409,
  'sql.too_many': 409,
  'sql.storage_full': 507,
  'sql.constraint_violation': 409,
  'sql.not_authorized': 403,
  'sql.timeout': 408,
  'sql.busy': 503,
  'sql.overloaded': 503,
  'sql.unavailable': 503,
  'sql.too_many_transactions': 409,
  'sql.too_many_transfers': 409,
  'sql.transfer_offset_mismatch': 409,
  'sockets.limit': 503,
  'sockets.bad_open_reply': 502,
  'sockets.not_found': 404,
  'alarm.out_of_range': 400,
  'platform.update_in_progress': 503,
  'platform.too_many_calls': 429,
  'update.wrong_app': 400,
  'update.not_newer': 409,
  'update.same_version': 409,
  'update.too_old': 409,
  'update.in_progress': 409,
  'update.after_update_failed': 409,
  'update.snapshot_failed': 500,
  'update.nothing_to_roll_back': 409,
  'objects.no_such_bucket': 404,
  'objects.no_such_key': 404,
  'objects.no_such_upload': 404,
  'objects.bucket_not_empty': 409,
  'objects.bucket_already_owned_by_you': 409,
  'objects.precondition_failed': 412,
  'objects.invalid_range': 416,
  'objects.invalid_part_number': 416,
  'objects.not_implemented': 501,
  'objects.internal_error': 500,
};

export function statusFor(code: string): number {
  const exact = STATUS_BY_CODE[code];
  if (exact) return exact;
  if (code.endsWith('not_found')) return 404;
  if (code.endsWith('too_large')) return 413;
  return 400;
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
