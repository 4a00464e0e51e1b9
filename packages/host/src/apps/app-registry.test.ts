import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openControlPlane } from '../store/control-plane.js';
import { createAppRegistry, type InstalledApp } from './app-registry.js';
import { parseManifest } from './manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'plinth-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function manifest(version: string) {
  const parsed = parseManifest({ id: 'notes', name: 'Notes', version, main: 'worker.js' });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value;
}

test('get answers the stored row: a parsed app is reused only while its row is unchanged', () => {
  const db = openControlPlane(join(dir, 'control.db'));
  try {
    const registry = createAppRegistry(db, () => 1_000);
    const installed: InstalledApp = { id: 'notes', name: 'Notes', version: '1.0.0', installationId: 'first', signer: null, installedAt: 1_000, manifest: manifest('1.0.0') };
    assert.equal(registry.get('notes'), undefined);
    registry.insert(installed);
    const first = registry.get('notes');
    assert.equal(first?.version, '1.0.0');
    assert.equal(registry.get('notes'), first, 'an unchanged row is not parsed again');

    registry.update({ ...installed, version: '1.1.0', manifest: manifest('1.1.0') });
    assert.deepEqual([registry.get('notes')?.version, registry.get('notes')?.manifest.version], ['1.1.0', '1.1.0']);

    // A row changed behind the registry's back (another writer, a reinstall) is seen too.
    db.prepare("UPDATE apps SET installation_id = 'second' WHERE id = 'notes'").run();
    assert.equal(registry.get('notes')?.installationId, 'second');
    db.prepare("DELETE FROM apps WHERE id = 'notes'").run();
    assert.equal(registry.get('notes'), undefined);
  } finally {
    db.close();
  }
});
