import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ControlPlane } from '../store/control-plane.js';
import type { Supervisor } from '../runtime/supervisor.js';
import { fail, ok, type PlinthError, type Result } from '../support/result.js';
import type { AppRegistry, InstalledApp } from './app-registry.js';
import { checkCeilings, type AppCeilings } from './ceilings.js';
import { appPaths, checkSigner, deploymentFor, pinnedSigner } from './installer.js';
import { compareSemver, parseManifest } from './manifest.js';
import { readArchive, writeUnpacked } from './package-archive.js';

/** Longest part of a failed /after-update answer kept in the history and shown by the CLI. */
const ANSWER_CHARS_MAX = 2_000;

export type UpdateState = 'snapshotting' | 'staged' | 'gating' | 'switched' | 'done' | 'failed' | 'rolled_back';

export interface UpdateRecord {
  readonly id: string;
  readonly kind: 'update' | 'rollback';
  readonly from: string;
  readonly to: string;
  readonly state: UpdateState;
  readonly detail: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
}

/** What the updater needs of the sql capability: whole-app snapshots. */
export interface Snapshots {
  snapshotAll(appId: string, dir: string): Promise<Result<unknown>>;
  restoreAll(appId: string, dir: string): Promise<Result<unknown>>;
}

export interface UpdaterDeps {
  readonly db: ControlPlane;
  readonly dataDir: string;
  readonly registry: AppRegistry;
  readonly supervisor: Supervisor;
  readonly snapshots: Snapshots;
  readonly afterUpdateTimeoutMs: number;
  /** The operator's ceilings on a manifest's limits; a new version above one is refused before anything runs. */
  readonly ceilings: AppCeilings;
  readonly event: (appId: string, text: string) => void;
  /** Whether a reload or uninstall is changing the app: an update or rollback then does not start (409). */
  readonly changing: (appId: string) => boolean;
  readonly now: () => number;
  /** Test-only: `update:<state>` kills the daemon right after that state is stored (docs/status.md). */
  readonly failpoint?: string | undefined;
}

export type UpdateErrorCode =
  | 'app.not_found' | 'update.wrong_app' | 'update.not_newer' | 'update.same_version' | 'update.too_old'
  | 'update.in_progress' | 'app.busy' | 'update.after_update_failed' | 'update.snapshot_failed' | 'update.nothing_to_roll_back'
  | 'package.signer_mismatch' | 'package.too_large' | 'package.malformed' | 'package.unsafe_entry' | 'package.unsafe_path'
  | 'package.bad_signature' | 'manifest.invalid' | 'manifest.above_ceiling';

interface UpdateRow { id: string; app_id: string; kind: 'update' | 'rollback'; from_version: string; to_version: string; state: UpdateState; detail: string | null; started_at: number; finished_at: number | null }

const FINAL: readonly UpdateState[] = ['done', 'failed', 'rolled_back'];

/**
 * Gated version upgrades (CONTRACT §7). An update is a small state machine
 * stored in `app_updates`, so a daemon crash at any point leaves exactly one
 * version active on restart, with databases consistent with it:
 *
 *   snapshotting → staged → gating → switched → done
 *        ↘           ↘        ↘ failed (databases restored from the snapshot)
 *
 * The switch commits in one transaction with the app's row; before it the old
 * version is active, after it the new one.
 */
export function createUpdater(deps: UpdaterDeps) {
  const { db } = deps;
  /** Apps with an update or rollback running; `holds` is narrower: the SQL hold ends at the switch. */
  const running = new Set<string>();
  const holds = new Map<string, Promise<void>>();
  const paths = (appId: string) => appPaths(deps.dataDir, appId);
  const snapshotDir = (appId: string, updateId: string) => join(paths(appId).root, 'updates', updateId);

  function setState(id: string, state: UpdateState, detail: string | null = null): void {
    const finished = FINAL.includes(state) ? deps.now() : null;
    // coalesce: an update later rolled back keeps the time it finished, so its duration stays true.
    db.prepare('UPDATE app_updates SET state = ?, detail = coalesce(?, detail), finished_at = coalesce(finished_at, ?) WHERE id = ?').run(state, detail, finished, id);
  }

  /** Test-only crash right after a state is committed, to prove recovery from each state. */
  function reached(state: UpdateState): void {
    if (deps.failpoint === `update:${state}`) process.kill(process.pid, 'SIGKILL');
  }

  function toRecord(row: UpdateRow): UpdateRecord {
    return {
      id: row.id, kind: row.kind, from: row.from_version, to: row.to_version, state: row.state, detail: row.detail,
      startedAt: new Date(row.started_at).toISOString(), finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
      durationMs: row.finished_at === null ? null : row.finished_at - row.started_at,
    };
  }
  const record = (id: string) => toRecord(db.prepare<[string], UpdateRow>('SELECT * FROM app_updates WHERE id = ?').get(id)!);

  /** Checks before anything runs (ISSUE: valid, signed by the pin, newer, above minUpgradableVersion). */
  async function check(current: InstalledApp, bytes: Uint8Array, allowDowngrade: boolean) {
    const archive = await readArchive(bytes);
    if (!archive.ok) return archive;
    const { manifest, signer } = archive.value;
    if (manifest.id !== current.id) return fail('update.wrong_app', `this package is app ${manifest.id}, not ${current.id}`);
    const signed = checkSigner(current.id, pinnedSigner(db, current.id), signer);
    if (!signed.ok) return signed;
    const capped = checkCeilings(manifest, deps.ceilings);
    if (!capped.ok) return capped;
    const order = compareSemver(manifest.version, current.version);
    if (order === 0) return fail('update.same_version', `${current.id} ${current.version} is already installed`);
    if (order < 0 && !allowDowngrade) return fail('update.not_newer', `${manifest.version} is older than the installed ${current.version}; pass --allow-downgrade to go back`);
    if (manifest.minUpgradableVersion && compareSemver(current.version, manifest.minUpgradableVersion) < 0) {
      return fail('update.too_old', `${manifest.version} upgrades from ${manifest.minUpgradableVersion} or later; ${current.version} is installed, so update to an intermediate version first`);
    }
    return ok(archive.value);
  }

  /** Refuses an update or rollback while another one, or a reload or uninstall, is changing the app. */
  function busyWith(appId: string) {
    if (running.has(appId)) return fail('update.in_progress', `an update or rollback of ${appId} is already running`);
    if (deps.changing(appId)) return fail('app.busy', `${appId} is being reloaded or uninstalled; try again when that has ended`);
    return undefined;
  }

  /**
   * Marks the app as changing and holds the old version's SQL calls while the gate runs, so the
   * snapshot and the migration see the same data. Returns the two ends: `releaseSql` lets the held
   * calls go (at the switch, so the old version's requests can finish and its drain can end), and
   * `finish` ends the whole update. Both are idempotent.
   */
  function begin(appId: string): { releaseSql: () => void; finish: () => void } {
    let resolve!: () => void;
    const held = new Promise<void>((r) => { resolve = r; });
    running.add(appId);
    holds.set(appId, held);
    const releaseSql = () => {
      if (holds.get(appId) === held) holds.delete(appId);
      resolve();
    };
    return { releaseSql, finish: () => { releaseSql(); running.delete(appId); } };
  }

  async function gate(current: InstalledApp, next: InstalledApp, id: string): Promise<Result<void, UpdateErrorCode>> {
    const dir = snapshotDir(current.id, id);
    const snapshot = await deps.snapshots.snapshotAll(current.id, join(dir, 'sql'));
    if (!snapshot.ok) return fail('update.snapshot_failed', `the databases could not be snapshotted: ${snapshot.error.message}`);
    setState(id, 'staged');
    reached('staged');
    await deps.supervisor.load(deploymentFor(deps.dataDir, next), 'next');
    setState(id, 'gating');
    reached('gating');
    const body = { previous: { version: current.version }, current: { version: next.version } };
    const answer = await deps.supervisor.call(current.id, '/after-update', body, deps.afterUpdateTimeoutMs, 'next');
    if (answer.ok && answer.value.status >= 200 && answer.value.status < 300) return ok(undefined);
    const why = answer.ok
      ? `/after-update answered ${answer.value.status}: ${(typeof answer.value.body === 'string' ? answer.value.body : JSON.stringify(answer.value.body)).slice(0, ANSWER_CHARS_MAX)}`
      : `/after-update failed: ${answer.error.message}`;
    return fail('update.after_update_failed', why);
  }

  /** Undoes a gate that did not switch: the new process goes, the databases come back from the snapshot. */
  async function abandon(current: InstalledApp, nextVersion: string, id: string, error: PlinthError): Promise<void> {
    await deps.supervisor.unload(current.id, 'next');
    const dir = join(snapshotDir(current.id, id), 'sql');
    if (existsSync(join(dir, 'databases.json'))) {
      const restored = await deps.snapshots.restoreAll(current.id, dir);
      if (!restored.ok) deps.event(current.id, `update.restore_failed ${id}: ${restored.error.message}`);
    }
    if (nextVersion !== current.version) rmSync(join(paths(current.id).versions, nextVersion), { recursive: true, force: true });
    rmSync(snapshotDir(current.id, id), { recursive: true, force: true });
    setState(id, 'failed', error.message);
    deps.event(current.id, `update.failed ${current.version} → ${nextVersion}: ${error.message}`);
  }

  /** Keeps the previous version's files and this update's snapshot, for one rollback; removes older ones. */
  function prune(appId: string, keep: { versions: string[]; update: string }): void {
    // Asynchronous: deleting a large old snapshot synchronously stalled every request for ~100 ms (bench/update).
    for (const version of readdirSync(paths(appId).versions)) {
      if (!keep.versions.includes(version)) void rm(join(paths(appId).versions, version), { recursive: true, force: true });
    }
    const updates = join(paths(appId).root, 'updates');
    for (const id of existsSync(updates) ? readdirSync(updates) : []) if (id !== keep.update) void rm(join(updates, id), { recursive: true, force: true });
  }

  async function update(appId: string, bytes: Uint8Array, allowDowngrade: boolean): Promise<Result<UpdateRecord, UpdateErrorCode>> {
    const current = deps.registry.get(appId);
    if (!current) return fail('app.not_found', `no app ${appId} is installed`);
    const busy = busyWith(appId);
    if (busy) return busy;
    // Held before the first await, so a second update or rollback cannot slip past the check above.
    const { releaseSql, finish } = begin(appId);
    try {
      const checked = await check(current, bytes, allowDowngrade);
      if (!checked.ok) return checked;
      const { manifest } = checked.value;
      const next: InstalledApp = { ...current, name: manifest.name, version: manifest.version, manifest };
      const id = randomUUID();
      const staging = join(paths(appId).root, `.staging-${id}`);
      await writeUnpacked(checked.value, staging);
      rmSync(join(paths(appId).versions, manifest.version), { recursive: true, force: true });
      renameSync(staging, join(paths(appId).versions, manifest.version));
      db.prepare("INSERT INTO app_updates (id, app_id, kind, from_version, to_version, state, started_at) VALUES (?, ?, 'update', ?, ?, 'snapshotting', ?)").run(id, appId, current.version, manifest.version, deps.now());
      reached('snapshotting');
      const gated = await gate(current, next, id);
      if (!gated.ok) {
        await abandon(current, manifest.version, id, gated.error);
        return gated;
      }
      db.transaction(() => {
        deps.registry.update(next);
        setState(id, 'switched');
      })();
      reached('switched');
      // The held calls go once new requests reach the new version; the old version's requests then
      // finish and its drain ends (released only after the drain, they waited for each other).
      await deps.supervisor.promote(appId, releaseSql);
      setState(id, 'done');
      prune(appId, { versions: [current.version, manifest.version], update: id });
      deps.event(appId, `update.done ${current.version} → ${manifest.version}`);
      return ok(record(id));
    } finally {
      finish();
    }
  }

  /** The last update, if its previous version's files and its snapshot are still kept. */
  function rollbackTarget(current: InstalledApp): Result<{ update: UpdateRow; sqlDir: string; previousDir: string }, UpdateErrorCode> {
    const last = db.prepare<[string], UpdateRow>("SELECT * FROM app_updates WHERE app_id = ? AND kind = 'update' AND state = 'done' ORDER BY started_at DESC LIMIT 1").get(current.id);
    const sqlDir = last ? join(snapshotDir(current.id, last.id), 'sql') : '';
    const previousDir = last ? join(paths(current.id).versions, last.from_version) : '';
    if (!last || last.to_version !== current.version || !existsSync(join(sqlDir, 'databases.json')) || !existsSync(previousDir)) {
      return fail('update.nothing_to_roll_back', `${current.id} has no update with a kept previous version to roll back`);
    }
    return ok({ update: last, sqlDir, previousDir });
  }

  /**
   * Restores the pre-update snapshot and switches the app row back, in that
   * order; run again after a crash, it ends in the same place (the restore is
   * idempotent and the switch is one transaction).
   */
  async function finishRollback(current: InstalledApp, target: { update: UpdateRow; sqlDir: string; previousDir: string }, id: string): Promise<void> {
    const manifest = parseManifest(JSON.parse(readFileSync(join(target.previousDir, 'plinth.json'), 'utf8')));
    if (!manifest.ok) {
      setState(id, 'failed', `the kept previous version no longer validates: ${manifest.error.message}`);
      return;
    }
    const previous: InstalledApp = { ...current, name: manifest.value.name, version: target.update.from_version, manifest: manifest.value };
    await deps.supervisor.unload(current.id);
    const restored = await deps.snapshots.restoreAll(current.id, target.sqlDir);
    db.transaction(() => {
      deps.registry.update(previous);
      setState(target.update.id, 'rolled_back');
      setState(id, 'done', restored.ok ? null : `databases not fully restored: ${restored.error.message}`);
    })();
    await deps.supervisor.load(deploymentFor(deps.dataDir, previous));
    deps.event(current.id, `rollback.done ${current.version} → ${previous.version}; writes made since the update are gone`);
  }

  return {
    update,
    /** Awaited by the platform API before a `live` SQL call while an update of the app is gated. */
    heldUntil: (appId: string): Promise<void> | undefined => holds.get(appId),
    /** Whether an update or rollback of the app is running (an uninstall or reload then waits its turn). */
    isRunning: (appId: string): boolean => running.has(appId),
    history(appId: string): UpdateRecord[] {
      return db.prepare<[string], UpdateRow>('SELECT * FROM app_updates WHERE app_id = ? ORDER BY started_at, rowid').all(appId).map(toRecord);
    },
    async rollback(appId: string): Promise<Result<UpdateRecord, UpdateErrorCode>> {
      const current = deps.registry.get(appId);
      if (!current) return fail('app.not_found', `no app ${appId} is installed`);
      const busy = busyWith(appId);
      if (busy) return busy;
      const target = rollbackTarget(current);
      if (!target.ok) return target;
      const id = randomUUID();
      const { finish } = begin(appId);
      try {
        db.prepare("INSERT INTO app_updates (id, app_id, kind, from_version, to_version, state, started_at) VALUES (?, ?, 'rollback', ?, ?, 'gating', ?)").run(id, appId, current.version, target.value.update.from_version, deps.now());
        await finishRollback(current, target.value, id);
        return ok(record(id));
      } finally {
        finish();
      }
    },
    /**
     * At start, before apps load: an update the daemon died in is finished
     * one way or the other. Not switched: the databases come back from the
     * snapshot and the old version stays. Switched: the new version stays.
     */
    async recover(): Promise<void> {
      const open = db.prepare<[], UpdateRow>("SELECT * FROM app_updates WHERE state IN ('snapshotting', 'staged', 'gating', 'switched')").all();
      for (const row of open) {
        const app = deps.registry.get(row.app_id);
        if (row.kind === 'rollback') {
          const target = app && rollbackTarget(app);
          if (app && target?.ok) await finishRollback(app, target.value, row.id);
          else setState(row.id, 'failed', 'interrupted, and there is nothing left to roll back to');
          continue;
        }
        if (row.state === 'switched') {
          setState(row.id, 'done');
          continue;
        }
        if (!app) {
          setState(row.id, 'failed', 'the app was removed');
          continue;
        }
        await abandon(app, row.to_version, row.id, { code: 'update.interrupted', message: `the daemon stopped during the update (state ${row.state})` });
      }
    },
  };
}
export type Updater = ReturnType<typeof createUpdater>;
