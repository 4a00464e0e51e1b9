import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startTestDaemon } from '../testing/daemon-harness.js';
import { call, installVault } from '../testing/vault-rpc.js';
import { open, seal } from './keyring.js';

test('a sealed value opens only with the same key and context', () => {
  const key = randomBytes(32);
  const sealed = seal(key, Buffer.from('value'), 'alpha:secret:X');
  assert.equal(open(key, sealed, 'alpha:secret:X').toString(), 'value');
  assert.throws(() => open(key, sealed, 'beta:secret:X'));
  assert.throws(() => open(randomBytes(32), sealed, 'alpha:secret:X'));
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(() => open(key, tampered, 'alpha:secret:X'));
});

describe('the root key', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-keyring-'));
  const dataDir = join(work, 'data');
  after(() => rmSync(work, { recursive: true, force: true }));

  test('is created 0600 on first start; rotation re-wraps in place and survives a restart', async () => {
    let daemon = await startTestDaemon({ dataDir });
    const rootFile = join(dataDir, 'root.key');
    assert.equal(statSync(rootFile).mode & 0o777, 0o600);
    installVault(daemon, work, 'alpha');
    await call(daemon, 'alpha', 'secrets', 'set', 'S', 'survives rotation');
    await call(daemon, 'alpha', 'keys', 'create', 'k');
    const before = readFileSync(rootFile, 'utf8');
    const rotated = daemon.cli(['root-key', 'rotate', '--json']);
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.deepEqual(JSON.parse(rotated.stdout), { dataKeys: 1 });
    assert.notEqual(readFileSync(rootFile, 'utf8'), before);
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'S'), 'survives rotation');
    await daemon.stop();
    daemon = await startTestDaemon({ dataDir });
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'S'), 'survives rotation');
    assert.equal(((await call(daemon, 'alpha', 'keys', 'sign', 'k', 'x')) as { b64: string }).b64.length > 0, true);
    await daemon.stop();
  });

  test('a leftover key from an interrupted rotation that does not match is discarded', async () => {
    writeFileSync(join(dataDir, 'root.key.next'), `${randomBytes(32).toString('base64')}\n`);
    const daemon = await startTestDaemon({ dataDir });
    assert.equal(existsSync(join(dataDir, 'root.key.next')), false);
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'S'), 'survives rotation');
    await daemon.stop();
  });

  test('a wrong or missing root key stops the start with a clear message', async () => {
    const rootFile = join(dataDir, 'root.key');
    const good = readFileSync(rootFile, 'utf8');
    writeFileSync(rootFile, `${randomBytes(32).toString('base64')}\n`);
    await assert.rejects(startTestDaemon({ dataDir }), /root\.key does not match this data folder/);
    await assert.rejects(startTestDaemon({ dataDir, env: { PLINTH_ROOT_KEY: randomBytes(32).toString('base64') } }), /PLINTH_ROOT_KEY does not match/);
    await assert.rejects(startTestDaemon({ dataDir, env: { PLINTH_ROOT_KEY: 'c2hvcnQ=' } }), /PLINTH_ROOT_KEY must hold 32 bytes/);
    rmSync(rootFile);
    await assert.rejects(startTestDaemon({ dataDir }), /root\.key is missing/);
    writeFileSync(rootFile, good, { mode: 0o600 });
    const daemon = await startTestDaemon({ dataDir, env: { PLINTH_ROOT_KEY: good.trim() } });
    assert.equal(await call(daemon, 'alpha', 'secrets', 'get', 'S'), 'survives rotation');
    await daemon.stop();
  });
});
