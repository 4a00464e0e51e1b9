import type { Logger } from 'pino';
import type { AppBytesAnswer, CallBody, CallErrorCode } from '../../runtime/supervisor.js';
import type { Result } from '../../support/result.js';
import {
  EVENT_BATCH_BYTES_MAX, EVENT_BATCH_EVENTS_MAX, EVENT_CALL_MS_MAX, EVENT_OVERLOAD_RETRY_MS, EVENT_OVERLOAD_WAIT_MS_MAX, EVENT_REPLY_BYTES_MAX, EVENT_RETRY_DELAYS_MS,
  SOCKET_PENDING_EVENTS_MAX,
} from './limits.js';
import type { HeldSocket, SocketRegistry } from './registry.js';
import { decodeFramed, EVENTS_PATH, eventReplySchema, framedEvents, payloadSize, type OutboundAction, type SocketEvent } from './wire.js';

export type CallApp = (appId: string, path: string, body: CallBody, timeoutMs: number, answerBytesMax: number) => Promise<Result<AppBytesAnswer, CallErrorCode>>;

export interface DeliveryDeps {
  readonly registry: SocketRegistry;
  readonly callApp: CallApp;
  readonly apply: (socket: HeldSocket, actions: readonly OutboundAction[]) => void;
  readonly close: (socket: HeldSocket, code: number, reason: string) => void;
  readonly event: (appId: string, text: string) => void;
  readonly log: Logger;
}

interface Queue {
  readonly events: SocketEvent[];
  running: boolean;
  /** Runs once every queued event has been answered (or given up on). */
  idle: (() => void) | undefined;
}

/**
 * Delivers a socket's events to its app in order, one batch in flight per
 * socket. Events that arrive while a batch is in flight join the next batch,
 * so a slow app sees batches, never reordering. A batch that still fails after
 * the retries closes the socket with 1011, and the app's log says why.
 */
export function createDelivery(deps: DeliveryDeps) {
  const queues = new Map<HeldSocket, Queue>();

  function enqueue(socket: HeldSocket, event: SocketEvent): void {
    let queue = queues.get(socket);
    if (!queue) queues.set(socket, (queue = { events: [], running: false, idle: undefined }));
    if (queue.events.length >= SOCKET_PENDING_EVENTS_MAX && event.type === 'message') {
      deps.event(socket.appId, `sockets.too_slow socket=${socket.id}: ${SOCKET_PENDING_EVENTS_MAX} events wait for the app; closed with 1013`);
      deps.close(socket, 1013, 'app is not keeping up');
      return;
    }
    queue.events.push(event);
    if (!queue.running) void drain(socket, queue);
  }

  function takeBatch(queue: Queue): SocketEvent[] {
    let bytes = 0;
    let count = 0;
    while (count < queue.events.length && count < EVENT_BATCH_EVENTS_MAX) {
      bytes += payloadSize(queue.events[count]!);
      if (count > 0 && bytes > EVENT_BATCH_BYTES_MAX) break;
      count++;
    }
    return queue.events.splice(0, count);
  }

  async function drain(socket: HeldSocket, queue: Queue): Promise<void> {
    queue.running = true;
    while (queue.events.length) {
      const batch = takeBatch(queue);
      const delivered = await deliver(socket, batch);
      if (!delivered) {
        queue.events.length = 0;
        break;
      }
    }
    queue.running = false;
    if (!deps.registry.get(socket.appId, socket.id)) queues.delete(socket);
    const idle = queue.idle;
    queue.idle = undefined;
    idle?.();
  }

  /** Calls back when the socket has no event waiting for the app or in flight: at once if so now. */
  function whenIdle(socket: HeldSocket, callback: () => void): void {
    const queue = queues.get(socket);
    if (!queue || (!queue.running && queue.events.length === 0)) return callback();
    queue.idle = callback;
  }

  async function deliver(socket: HeldSocket, events: SocketEvent[]): Promise<boolean> {
    let lastError = '';
    // A full concurrency queue is back-pressure, not a failure: it waits without using up an attempt, within a bound.
    const overloadDeadline = Date.now() + EVENT_OVERLOAD_WAIT_MS_MAX;
    for (let attempt = 0; attempt <= EVENT_RETRY_DELAYS_MS.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, EVENT_RETRY_DELAYS_MS[attempt - 1]));
      const answer = await deps.callApp(socket.appId, EVENTS_PATH, framedEvents(deps.registry.view(socket), events), EVENT_CALL_MS_MAX, EVENT_REPLY_BYTES_MAX);
      if (!answer.ok && answer.error.code === 'app.overloaded' && Date.now() < overloadDeadline) {
        attempt--;
        await new Promise((r) => setTimeout(r, EVENT_OVERLOAD_RETRY_MS));
        continue;
      }
      if (!answer.ok) {
        lastError = answer.error.message;
        continue;
      }
      const reply = decodeFramed(answer.value.body, eventReplySchema, (r) => r.actions);
      if (answer.value.status < 200 || answer.value.status > 299 || !reply.ok) {
        lastError = `answered ${answer.value.status}${reply.ok ? '' : ` with an invalid reply: ${reply.problem}`}`;
        continue;
      }
      if (reply.value.tags) deps.registry.retag(socket, reply.value.tags);
      if (reply.value.attachment !== undefined) socket.attachment = reply.value.attachment;
      deps.apply(socket, reply.actions);
      return true;
    }
    deps.event(socket.appId, `sockets.delivery_failed socket=${socket.id} events=${events.length} after ${EVENT_RETRY_DELAYS_MS.length + 1} attempts: ${lastError}; closed with 1011`);
    deps.log.warn({ appId: socket.appId, socket: socket.id, error: lastError }, 'socket events could not be delivered; socket closed');
    deps.close(socket, 1011, 'the app failed to handle events');
    return false;
  }

  return { enqueue, whenIdle };
}
export type Delivery = ReturnType<typeof createDelivery>;
