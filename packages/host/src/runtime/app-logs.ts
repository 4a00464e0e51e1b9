import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import { LOG_FILE_BYTES_MAX } from './limits.js';

export interface LogLine {
  readonly time: string;
  /** `stdout`/`stderr` for the app's console, `platform` for supervisor events. */
  readonly stream: 'stdout' | 'stderr' | 'platform';
  readonly text: string;
}

/**
 * Console output and platform events per app, as JSON lines in
 * `<data>/apps/<id>/logs/console.log`, rotated once at LOG_FILE_BYTES_MAX.
 * Writes are synchronous so a line is on disk before the event is emitted.
 */
export function createAppLogs(pathFor: (appId: string) => string, now: () => number) {
  const follow = new EventEmitter();
  follow.setMaxListeners(0);

  return {
    append(appId: string, stream: LogLine['stream'], text: string): void {
      const path = pathFor(appId);
      const line: LogLine = { time: new Date(now()).toISOString(), stream, text };
      try {
        mkdirSync(dirname(path), { recursive: true });
        if (existsSync(path) && statSync(path).size > LOG_FILE_BYTES_MAX) renameSync(path, `${path}.1`);
        appendFileSync(path, `${JSON.stringify(line)}\n`);
      } catch {
        // The app's folder is gone (uninstalled while its process printed); nothing to keep.
        return;
      }
      follow.emit(appId, line);
    },
    /** The last `count` lines, oldest first. */
    tail(appId: string, count: number): LogLine[] {
      const path = pathFor(appId);
      const lines: string[] = [];
      for (const file of [`${path}.1`, path]) {
        if (existsSync(file)) lines.push(...readFileSync(file, 'utf8').split('\n').filter(Boolean));
      }
      return lines.slice(-count).map((l) => JSON.parse(l) as LogLine);
    },
    subscribe(appId: string, listener: (line: LogLine) => void): () => void {
      follow.on(appId, listener);
      return () => follow.off(appId, listener);
    },
  };
}
export type AppLogs = ReturnType<typeof createAppLogs>;
