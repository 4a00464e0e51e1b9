import type { HeldWebSocket } from './held-websocket.js';
import { SOCKET_EARLY_SENDS_MAX, SOCKET_SEND_BUFFER_BYTES_MAX } from './limits.js';
import type { OutboundAction } from './wire.js';

export interface SocketUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

/**
 * A WebSocket held by the platform on behalf of an app. It is held from the moment the app
 * is asked to accept it, so the app's `open` handler can already address it by id.
 */
export interface HeldSocket {
  readonly id: string;
  readonly appId: string;
  /** Unset while the app's `open` runs: the handshake has not completed. */
  ws: HeldWebSocket | undefined;
  /** While opening: what the app sent (and a close) through the API, run once the handshake completes. */
  readonly early: OutboundAction[];
  earlyBytes: number;
  readonly user: SocketUser | null;
  readonly openedAt: number;
  tags: readonly string[];
  attachment: unknown;
  lastActivity: number;
  bytesIn: number;
  bytesOut: number;
}

export interface SocketView {
  readonly id: string;
  readonly tags: readonly string[];
  readonly attachment: unknown;
  readonly user: SocketUser | null;
  readonly openedAt: string;
}

export type SendOutcome = 'sent' | 'closed' | 'too_slow';

/** Every open socket, indexed by id and, per app, by tag for `publish`. */
export function createSocketRegistry(now: () => number, onTooSlow: (socket: HeldSocket) => void) {
  const byId = new Map<string, HeldSocket>();
  const byApp = new Map<string, Set<HeldSocket>>();
  const byTag = new Map<string, Set<HeldSocket>>();
  const tagKey = (appId: string, tag: string) => `${appId}\n${tag}`;

  function index(socket: HeldSocket, add: boolean): void {
    for (const tag of socket.tags) {
      const key = tagKey(socket.appId, tag);
      const set = byTag.get(key) ?? new Set();
      if (add) byTag.set(key, set.add(socket));
      else if (set.delete(socket) && set.size === 0) byTag.delete(key);
    }
  }

  return {
    /** A socket whose handshake waits for the app; it counts against `limits.sockets` from now on. */
    add(id: string, appId: string, user: SocketUser | null): HeldSocket {
      const socket: HeldSocket = { id, appId, ws: undefined, early: [], earlyBytes: 0, user, openedAt: now(), tags: [], attachment: null, lastActivity: now(), bytesIn: 0, bytesOut: 0 };
      byId.set(socket.id, socket);
      byApp.set(appId, (byApp.get(appId) ?? new Set()).add(socket));
      index(socket, true);
      return socket;
    },
    remove(socket: HeldSocket): void {
      if (!byId.delete(socket.id)) return;
      byApp.get(socket.appId)?.delete(socket);
      index(socket, false);
    },
    /** Only the owning app sees a socket: another app's id answers as unknown. */
    get(appId: string, id: string): HeldSocket | undefined {
      const socket = byId.get(id);
      return socket?.appId === appId ? socket : undefined;
    },
    retag(socket: HeldSocket, tags: readonly string[]): void {
      index(socket, false);
      socket.tags = tags;
      index(socket, true);
    },
    ofApp(appId: string, tag?: string): HeldSocket[] {
      return [...((tag === undefined ? byApp.get(appId) : byTag.get(tagKey(appId, tag))) ?? [])];
    },
    count(appId: string): number {
      return byApp.get(appId)?.size ?? 0;
    },
    all(): HeldSocket[] {
      return [...byId.values()];
    },
    /**
     * Sends unless the client has fallen too far behind, in which case it is closed with 1013.
     * Before the handshake completes, the message waits in `early`, within the same byte bound.
     */
    send(socket: HeldSocket, data: string | Buffer, binary = typeof data !== 'string'): SendOutcome {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      const { ws } = socket;
      if (!ws) {
        if (socket.early.some((action) => action.type === 'close')) return 'closed';
        if (socket.early.length >= SOCKET_EARLY_SENDS_MAX || socket.earlyBytes + bytes > SOCKET_SEND_BUFFER_BYTES_MAX) {
          onTooSlow(socket);
          return 'too_slow';
        }
        socket.early.push({ type: 'send', data, binary });
        socket.earlyBytes += bytes;
        return 'sent';
      }
      if (ws.readyState !== ws.OPEN) return 'closed';
      if (ws.bufferedAmount > SOCKET_SEND_BUFFER_BYTES_MAX) {
        onTooSlow(socket);
        return 'too_slow';
      }
      ws.send(data, { binary });
      socket.bytesOut += bytes;
      socket.lastActivity = now();
      return 'sent';
    },
    /** The actions that waited for the handshake, in order; the queue is empty afterwards. */
    takeEarly(socket: HeldSocket): OutboundAction[] {
      socket.earlyBytes = 0;
      return socket.early.splice(0);
    },
    view(socket: HeldSocket): SocketView {
      return { id: socket.id, tags: socket.tags, attachment: socket.attachment, user: socket.user, openedAt: new Date(socket.openedAt).toISOString() };
    },
  };
}
export type SocketRegistry = ReturnType<typeof createSocketRegistry>;
