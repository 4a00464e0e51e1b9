import type { ControlPlane } from '../store/control-plane.js';
import { parseManifest, type Manifest } from './manifest.js';

export interface InstalledApp {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly installationId: string;
  /** base64url Ed25519 public key the package was signed with, or null for unsigned. */
  readonly signer: string | null;
  readonly installedAt: number;
  readonly manifest: Manifest;
}

interface AppRow { id: string; version: string; installation_id: string; manifest_json: string; signer_public_key: string | null; installed_at: number }

function toInstalled(row: AppRow): InstalledApp {
  const manifest = parseManifest(JSON.parse(row.manifest_json));
  // The manifest was validated on install; failing now means the stored row was edited or the schema regressed.
  if (!manifest.ok) throw new Error(`stored manifest of ${row.id} no longer validates: ${manifest.error.message}`);
  return {
    id: row.id, name: manifest.value.name, version: row.version, installationId: row.installation_id,
    signer: row.signer_public_key, installedAt: row.installed_at, manifest: manifest.value,
  };
}

/** The installed apps as recorded in the control plane. */
export function createAppRegistry(db: ControlPlane, now: () => number) {
  const byId = db.prepare<[string], AppRow>('SELECT * FROM apps WHERE id = ?');
  // Request paths look apps up on every call; re-validating an unchanged manifest each time was a measurable share of a small request.
  const parsed = new Map<string, { row: AppRow; app: InstalledApp }>();
  const sameRow = (a: AppRow, b: AppRow) => (Object.keys(a) as (keyof AppRow)[]).every((column) => a[column] === b[column]);
  return {
    get(appId: string): InstalledApp | undefined {
      const row = byId.get(appId);
      if (!row) return undefined;
      const cached = parsed.get(appId);
      if (cached && sameRow(cached.row, row)) return cached.app;
      const app = toInstalled(row);
      parsed.set(appId, { row, app });
      return app;
    },
    list(): InstalledApp[] {
      return db.prepare<[], AppRow>('SELECT * FROM apps ORDER BY id').all().map(toInstalled);
    },
    insert(app: InstalledApp): void {
      db.prepare('INSERT INTO apps (id, version, installation_id, manifest_json, signer_public_key, installed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(app.id, app.version, app.installationId, JSON.stringify(app.manifest), app.signer, app.installedAt, app.installedAt);
    },
    update(app: InstalledApp): void {
      db.prepare('UPDATE apps SET version = ?, manifest_json = ?, updated_at = ? WHERE id = ?').run(app.version, JSON.stringify(app.manifest), now(), app.id);
    },
  };
}
export type AppRegistry = ReturnType<typeof createAppRegistry>;
