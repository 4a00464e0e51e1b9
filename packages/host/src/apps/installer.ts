import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from '../store/control-plane.js';
import type { Deployment, Supervisor } from '../runtime/supervisor.js';
import { fail, ok, type Result } from '../support/result.js';
import type { AppRegistry, InstalledApp } from './app-registry.js';
import { checkCeilings, type AppCeilings, type CeilingErrorCode } from './ceilings.js';
import { readArchive, writeUnpacked, type PackageErrorCode, type UnpackedPackage } from './package-archive.js';

export type InstallErrorCode = PackageErrorCode | CeilingErrorCode | 'app.exists' | 'package.signer_mismatch';
export type UninstallErrorCode = 'app.not_found' | 'update.in_progress';
type ReloadErrorCode = PackageErrorCode | CeilingErrorCode | UninstallErrorCode;

/** Where an app's files live: `<data>/apps/<id>/{versions/<version>, data, logs}`. */
export function appPaths(dataDir: string, appId: string) {
  const root = join(dataDir, 'apps', appId);
  return { root, versions: join(root, 'versions'), data: join(root, 'data'), logs: join(root, 'logs', 'console.log') };
}

export function deploymentFor(dataDir: string, app: Pick<InstalledApp, 'id' | 'version' | 'manifest'>): Deployment {
  return { appId: app.id, version: app.version, manifest: app.manifest, versionDir: join(appPaths(dataDir, app.id).versions, app.version) };
}

/** The key an app id was first installed signed with, if any. */
export function pinnedSigner(db: ControlPlane, appId: string): { public_key: string } | undefined {
  return db.prepare<[string], { public_key: string }>('SELECT public_key FROM app_signers WHERE app_id = ?').get(appId);
}

/** A package for a pinned app id must be signed by the pinned key. */
export function checkSigner(appId: string, pinned: { public_key: string } | undefined, signer: string | null): Result<void, 'package.signer_mismatch'> {
  if (!pinned || pinned.public_key === signer) return ok(undefined);
  return fail('package.signer_mismatch', `app ${appId} was installed signed by ${pinned.public_key}; this package is ${signer ? `signed by ${signer}` : 'unsigned'}`);
}

export interface InstallerDeps {
  readonly db: ControlPlane;
  readonly registry: AppRegistry;
  readonly dataDir: string;
  readonly supervisor: Supervisor;
  /** The operator's ceilings on a manifest's limits, checked before anything is written. */
  readonly ceilings: AppCeilings;
  /** Removes what other parts hold for the app; with `keepData`, only what is not the app's data. */
  readonly onUninstall: (appId: string, keepData: boolean) => void;
  /** Whether an update or rollback of the app is running: a reload or uninstall is then refused (409). */
  readonly updating: (appId: string) => boolean;
  readonly now: () => number;
}

/**
 * Installs and removes packages. An install either completes (files in place,
 * row written, runtime loaded) or leaves nothing behind.
 */
export function createInstaller(deps: InstallerDeps) {
  const { db, registry } = deps;
  // Installs, reloads and uninstalls run one at a time: two installs of one id
  // racing past the "already installed" check would otherwise undo each other.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  /** Apps a reload or uninstall is changing, so an update does not start under it (see UpdaterDeps.changing). */
  const changing = new Set<string>();
  const changingApp = <T>(appId: string, work: () => Promise<Result<T, ReloadErrorCode>>) => serialized(async () => {
    if (deps.updating(appId)) return fail('update.in_progress', `an update or rollback of ${appId} is running; try again when it has ended`);
    changing.add(appId);
    try {
      return await work();
    } finally {
      changing.delete(appId);
    }
  });

  const deploymentOf = (app: InstalledApp) => deploymentFor(deps.dataDir, app);

  async function install(bytes: Uint8Array): Promise<Result<InstalledApp, InstallErrorCode>> {
    const archive = await readArchive(bytes);
    if (!archive.ok) return archive;
    const { manifest, signer } = archive.value;
    if (registry.get(manifest.id)) {
      return fail('app.exists', `app ${manifest.id} is already installed; use \`plinth update ${manifest.id}\` to change its version`);
    }
    const pinned = pinnedSigner(db, manifest.id);
    const signed = checkSigner(manifest.id, pinned, signer);
    if (!signed.ok) return signed;
    const capped = checkCeilings(manifest, deps.ceilings);
    if (!capped.ok) return capped;
    const paths = appPaths(deps.dataDir, manifest.id);
    const versionDir = join(paths.versions, manifest.version);
    const staging = join(paths.root, `.staging-${randomUUID()}`);
    // Data kept by an earlier `uninstall --keep-data` must survive a failed install.
    const hadRoot = existsSync(paths.root);
    mkdirSync(paths.root, { recursive: true });
    const app: InstalledApp = { id: manifest.id, name: manifest.name, version: manifest.version, installationId: randomUUID(), signer, installedAt: deps.now(), manifest };
    try {
      await writeUnpacked(archive.value, staging);
      mkdirSync(paths.versions, { recursive: true });
      rmSync(versionDir, { recursive: true, force: true });
      renameSync(staging, versionDir);
      mkdirSync(paths.data, { recursive: true });
      db.transaction(() => {
        registry.insert(app);
        if (signer && !pinned) db.prepare('INSERT INTO app_signers (app_id, public_key) VALUES (?, ?)').run(manifest.id, signer);
      })();
      await deps.supervisor.load(deploymentOf(app));
    } catch (error) {
      await deps.supervisor.unload(manifest.id);
      db.prepare('DELETE FROM apps WHERE id = ?').run(manifest.id);
      if (!pinned) db.prepare('DELETE FROM app_signers WHERE app_id = ?').run(manifest.id);
      rmSync(hadRoot ? versionDir : paths.root, { recursive: true, force: true });
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    return ok(app);
  }

  /**
   * `plinth dev`: swaps an installed app's code for a new build in place,
   * keeping its data, sessions and installation id. Ungated and unsigned, so
   * only the dev server calls it; operators use the gated update.
   */
  async function reload(unpacked: UnpackedPackage): Promise<Result<InstalledApp, ReloadErrorCode>> {
    const { manifest } = unpacked;
    const current = registry.get(manifest.id);
    if (!current) return fail('app.not_found', `no app ${manifest.id} is installed`);
    const capped = checkCeilings(manifest, deps.ceilings);
    if (!capped.ok) return capped;
    const paths = appPaths(deps.dataDir, manifest.id);
    const staging = join(paths.root, `.staging-${randomUUID()}`);
    await writeUnpacked(unpacked, staging);
    await deps.supervisor.unload(manifest.id);
    rmSync(paths.versions, { recursive: true, force: true });
    mkdirSync(paths.versions, { recursive: true });
    renameSync(staging, join(paths.versions, manifest.version));
    const app: InstalledApp = { ...current, name: manifest.name, version: manifest.version, manifest };
    registry.update(app);
    await deps.supervisor.load(deploymentOf(app));
    return ok(app);
  }

  async function uninstall(appId: string, keepData: boolean): Promise<Result<{ id: string; keptData: boolean }, UninstallErrorCode>> {
    if (!registry.get(appId)) return fail('app.not_found', `no app ${appId} is installed`);
    await deps.supervisor.unload(appId);
    deps.onUninstall(appId, keepData);
    db.transaction(() => {
      db.prepare('DELETE FROM apps WHERE id = ?').run(appId);
      if (!keepData) db.prepare('DELETE FROM app_signers WHERE app_id = ?').run(appId);
    })();
    const paths = appPaths(deps.dataDir, appId);
    if (keepData) rmSync(paths.versions, { recursive: true, force: true });
    else rmSync(paths.root, { recursive: true, force: true });
    return ok({ id: appId, keptData: keepData });
  }

  return {
    install: (bytes: Uint8Array) => serialized(() => install(bytes)),
    reload: async (bytes: Uint8Array) => {
      const archive = await readArchive(bytes);
      if (!archive.ok) return archive;
      return changingApp(archive.value.manifest.id, () => reload(archive.value));
    },
    uninstall: (appId: string, keepData: boolean) => changingApp(appId, () => uninstall(appId, keepData)),
    changing: (appId: string) => changing.has(appId),
    /**
     * Loads every installed app into the supervisor at start; processes start
     * on first request. An app that cannot be loaded (its files were lost, say)
     * is reported and skipped, so one broken app does not keep the rest down.
     */
    async loadAll(): Promise<{ appId: string; reason: string }[]> {
      const failures: { appId: string; reason: string }[] = [];
      for (const app of registry.list()) {
        try {
          await deps.supervisor.load(deploymentOf(app));
        } catch (error) {
          failures.push({ appId: app.id, reason: (error as Error).message });
        }
      }
      return failures;
    },
  };
}
export type Installer = ReturnType<typeof createInstaller>;
