// `plinth objects credentials` prints an endpoint that awscli reaches: with --s3-port, the S3
// port, since tools outside a browser do not resolve `s3.localhost`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startObjectsDaemon, type ObjectsFixture } from '../../testing/objects-fixture.js';
import { call, installVault } from '../../testing/vault-rpc.js';
import { s3PortEndpoint } from './index.js';

/** Debian's awscli v2, by absolute path: an `aws` on PATH may be some other install. */
const AWS = '/usr/bin/aws';

/** `KEY=value` lines, as a shell's `eval` would load them. */
function parseEnvLines(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe('objects credentials from the CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-credentials-'));
  let fixture: ObjectsFixture;

  before(async () => {
    fixture = await startObjectsDaemon(['tools']);
    installVault(fixture.daemon, work, 'vault');
  });
  after(async () => {
    await fixture?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('with --s3-port the printed endpoint is the S3 port, and awscli works with exactly what was printed', () => {
    const printed = fixture.daemon.cli(['objects', 'credentials', 'tools']);
    assert.equal(printed.status, 0, printed.stderr);
    const vars = parseEnvLines(printed.stdout);
    assert.equal(vars.AWS_ENDPOINT_URL, `http://127.0.0.1:${fixture.s3Port}`);
    const config = join(work, 'aws-config');
    writeFileSync(config, '');
    // Built from nothing but the printed lines, so no AWS_* of the machine leaks in.
    const env = { PATH: '/usr/bin:/bin', HOME: work, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: config, AWS_EC2_METADATA_DISABLED: 'true', AWS_PAGER: '', ...vars };
    // awscli before 2.13 ignores AWS_ENDPOINT_URL, so the guide passes it as --endpoint-url.
    const aws = (...args: string[]) => spawnSync(AWS, ['--endpoint-url', vars.AWS_ENDPOINT_URL!, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    const made = aws('s3', 'mb', 's3://from-cli');
    assert.equal(made.status, 0, made.stderr);
    const listed = aws('s3', 'ls');
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /from-cli/);
  });

  test('--json and --rotate give the same endpoint; the app is still given s3.<base host>', async () => {
    const json = fixture.daemon.cli(['objects', 'credentials', 'tools', '--json']);
    assert.equal(json.status, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { endpoint: string }).endpoint, fixture.endpoint);
    const rotated = fixture.daemon.cli(['objects', 'credentials', 'tools', '--rotate', '--json']);
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.equal((JSON.parse(rotated.stdout) as { endpoint: string }).endpoint, fixture.endpoint);
    const own = await call<{ endpoint: string }>(fixture.daemon, 'vault', 'objects', 'credentials');
    assert.equal(own.endpoint, `http://s3.localhost:${fixture.daemon.port}`);
  });

  test('the S3 port is named by the address it listens on, or by the base URL when it listens on every interface', () => {
    const base = new URL('https://apps.example.com');
    assert.equal(s3PortEndpoint('127.0.0.1', base, 9000).origin, 'http://127.0.0.1:9000');
    assert.equal(s3PortEndpoint('::1', base, 9000).origin, 'http://[::1]:9000');
    assert.equal(s3PortEndpoint('0.0.0.0', base, 9000).origin, 'http://apps.example.com:9000');
    assert.equal(s3PortEndpoint('::', new URL('http://[fd00::1]:8080'), 9000).origin, 'http://[fd00::1]:9000');
  });
});
