import type { ErrorTable } from '../../support/error-table.js';

/** Every expected failure of the `sockets` capability (STYLE §6); each has a row in README.md. */
export type SocketsErrorCode = 'sockets.not_found' | 'sockets.limit' | 'sockets.bad_open_reply';

export const SOCKETS_ERRORS = {
  'sockets.not_found': { status: 404, fix: 'the socket closed; drop the id' },
  'sockets.limit': { status: 503, fix: 'raise the limit or close idle sockets' },
  'sockets.bad_open_reply': { status: 502, fix: 'use `defineApp({ websocket })`' },
} as const satisfies ErrorTable<SocketsErrorCode>;
