import type { ErrorTable } from '../../support/error-table.js';

/**
 * Codes the assets capability returns (STYLE §6); each has a row in README.md. The HTTP status of
 * each is in ASSETS_ERRORS below, which http/respond.ts merges with the other owners' tables.
 */
export type AssetsErrorCode =
  /** The request path has a dot segment, a backslash, an encoded slash or a control character (raw or percent-encoded). */
  | 'assets.bad_path'
  /** A single byte range starts at or past the end of the file. */
  | 'assets.range_not_satisfiable'
  /** If-Match or If-Unmodified-Since did not hold. */
  | 'assets.precondition_failed'
  /** The assets folder could not be indexed; logged to the app's platform log, and requests fall through to `fetch`. */
  | 'assets.index_failed';

/** Statuses and fixes of every `assets.*` code; README.md's table says what each means. */
export const ASSETS_ERRORS = {
  'assets.bad_path': { status: 400, fix: 'request the asset by its plain path' },
  'assets.range_not_satisfiable': { status: 416, fix: 'ask for a range inside the file' },
  'assets.precondition_failed': { status: 412, fix: 'fetch the current version and retry' },
  // Only logged, never answered; 400 should it ever reach the edge.
  'assets.index_failed': { status: 400, fix: 'keep assets within the package limits; reinstall' },
} as const satisfies ErrorTable<AssetsErrorCode>;
