import { z } from 'zod';
import { fail, ok, type Result } from '../../support/result.js';
import type { Capability, PlatformCall } from '../capability.js';
import { parseBody } from '../parse-body.js';
import type { HeldSocket } from './registry.js';
import { SOCKETS_ERRORS } from './errors.js';
import { createSocketsService, type SocketsService, type SocketsDeps } from './service.js';
import { attachmentSchema, autoResponseSchema, closeCodeSchema, closeReasonSchema, payloadBytes, tagsSchema } from './wire.js';

export { createSocketsService, type SocketsService, type UpgradeRequest } from './service.js';
export { SOCKETS_ERRORS, type SocketsErrorCode } from './errors.js';

const payload = z.union([z.object({ data: z.string() }).strict(), z.object({ binary: z.base64() }).strict()]);
const closeSchema = z.object({ code: closeCodeSchema.optional(), reason: closeReasonSchema.optional() }).strict();
const updateSchema = z.object({ tags: tagsSchema.optional(), attachment: attachmentSchema.optional() }).strict();
const publishSchema = z.object({ tag: z.string().min(1) }).and(payload);

/** `sockets`: the app's view of the WebSockets the platform holds for it (CONTRACT §5, §6). */
export function createSocketsCapability(service: SocketsService) {
  const { registry } = service;
  function socketOf(call: PlatformCall): Result<HeldSocket, 'sockets.not_found'> {
    const socket = registry.get(call.appId, call.params.id ?? '');
    return socket ? ok(socket) : fail('sockets.not_found', `no open socket ${call.params.id} belongs to this app`);
  }

  return {
    name: 'sockets',
    routes: {
      'GET /v1/sockets': (call) => {
        const tag = call.url.searchParams.get('tag') ?? undefined;
        return ok({ sockets: registry.ofApp(call.appId, tag).map(registry.view) });
      },
      'GET /v1/sockets/:id': (call) => {
        const socket = socketOf(call);
        return socket.ok ? ok(registry.view(socket.value)) : socket;
      },
      'POST /v1/sockets/:id/send': (call) => {
        const socket = socketOf(call);
        if (!socket.ok) return socket;
        const body = parseBody(call, payload);
        if (!body.ok) return body;
        return ok({ outcome: registry.send(socket.value, payloadBytes(body.value)) });
      },
      'POST /v1/sockets/:id/close': (call) => {
        const socket = socketOf(call);
        if (!socket.ok) return socket;
        const body = parseBody(call, closeSchema);
        if (!body.ok) return body;
        service.close(socket.value, body.value.code ?? 1000, body.value.reason ?? '');
        return ok({ closed: true });
      },
      'PATCH /v1/sockets/:id': (call) => {
        const socket = socketOf(call);
        if (!socket.ok) return socket;
        const body = parseBody(call, updateSchema);
        if (!body.ok) return body;
        if (body.value.tags) registry.retag(socket.value, body.value.tags);
        if (body.value.attachment !== undefined) socket.value.attachment = body.value.attachment;
        return ok(registry.view(socket.value));
      },
      'POST /v1/sockets/publish': (call) => {
        const body = parseBody(call, publishSchema);
        if (!body.ok) return body;
        const data = payloadBytes(body.value);
        let sent = 0;
        for (const socket of registry.ofApp(call.appId, body.value.tag)) if (registry.send(socket, data) === 'sent') sent++;
        return ok({ sent });
      },
      'PUT /v1/sockets/auto-response': (call) => {
        const body = parseBody(call, autoResponseSchema);
        if (!body.ok) return body;
        service.setAutoResponse(call.appId, body.value);
        return ok({ autoResponse: body.value });
      },
    },
  } satisfies Capability;
}

/** The whole vertical: the held sockets, their routes, and what uninstall and shutdown end. */
export function createSockets(deps: SocketsDeps) {
  const service = createSocketsService(deps);
  const capability = {
    ...createSocketsCapability(service),
    errors: SOCKETS_ERRORS,
    // 1001 Going Away: the app's sockets end with it, data kept or not.
    removeApp: (appId) => service.closeApp(appId, 1001, 'app uninstalled'),
    beforeDrain: () => service.closeAll(),
  } satisfies Capability;
  return { capability, service };
}
