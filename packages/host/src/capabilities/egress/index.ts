import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../../http/respond.js';

/**
 * The egress proxy on each app's `egress.sock` (workerd's `globalOutbound`).
 * Until the guarded proxy lands (docs/status.md), it refuses every request with
 * an error naming the host, so no app reaches the network by accident.
 */
export function createEgressProxy() {
  return function handleEgress(appId: string, req: IncomingMessage, res: ServerResponse): void {
    let host = req.headers.host ?? '';
    try {
      host = new URL(req.url ?? '').host || host;
    } catch {
      // Not an absolute URL; the Host header (if any) names the target.
    }
    req.resume();
    sendError(res, {
      code: 'egress.not_allowed',
      message: `app ${appId} may not reach ${host || 'that host'}: outbound HTTP is not yet available on this platform (manifest field "outbound")`,
    });
  };
}
