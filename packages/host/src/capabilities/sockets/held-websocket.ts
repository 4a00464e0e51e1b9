import { WebSocket } from 'ws';

/**
 * ws answers a peer's close frame, or a protocol error, by calling `close()` at once. The
 * messages that arrived just before are then still on their way through the app, and
 * their replies would be lost (issue 14 §21; Autobahn 3.2–3.4, 4.x, 5.15, 7.1.6). This
 * class hands those calls to `onPeerClose`, which runs `finish` (the close ws wanted) once
 * the app has answered. ws calls `close()` only for the peer, so the platform's own closes
 * use `closeAtOnce`, which is never held back.
 */
export class HeldWebSocket extends WebSocket {
  onPeerClose: ((finish: () => void) => void) | undefined;

  override close(code?: number, data?: string | Buffer): void {
    const hold = this.onPeerClose;
    if (!hold || this.readyState !== this.OPEN) return super.close(code, data);
    this.onPeerClose = undefined;
    hold(() => {
      if (this.readyState === this.OPEN) super.close(code, data);
    });
  }

  closeAtOnce(code?: number, reason?: string): void {
    super.close(code, reason);
  }
}
