/**
 * Codes the assets capability returns (STYLE §6); each has a row in README.md. The HTTP status of
 * each is in the one table in http/respond.ts.
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
