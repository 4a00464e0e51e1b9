// Headers the front door puts on every kind of response, read off the wire with a raw socket.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TEST_APPS, installApp, startTestDaemon, type TestDaemon } from '../testing/daemon-harness.js';

/** One keep-alive HTTP/1.1 GET; the head of the response, up to its blank line. */
function responseHead(port: number, host: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer for ${host}${path}`)));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\naccept: */*\r\n\r\n`);
  });
}

describe('response headers on the wire', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
    installApp(daemon, join(TEST_APPS, 'echo'));
    installApp(daemon, join(TEST_APPS, 'assets'));
  });
  after(async () => daemon?.stop());

  test('no response carries the Keep-Alive header HTTP/1.1 does not define; connections stay open', async () => {
    const base = new URL(daemon.baseUrl).host;
    const cases: [string, string][] = [
      [base, '/'], [base, '/.well-known/jwks.json'], [base, '/api/admin/apps'], [`echo.${base}`, '/public/hello'],
      ['assets.' + base, '/static/site.css'], ['assets.' + base, '/static/missing.js'], [`nosuch.${base}`, '/'], [`s3.${base}`, '/'],
    ];
    for (const [host, path] of cases) {
      const head = await responseHead(daemon.port, host, path);
      assert.match(head, /^HTTP\/1\.1 \d{3} /, `${host}${path}`);
      assert.doesNotMatch(head, /^keep-alive:/im, `${host}${path}:\n${head}`);
      assert.match(head, /^connection: keep-alive$/im, `${host}${path}:\n${head}`);
    }
  });

  test('an app\'s error response gets nosniff unless it set the header; its other responses are left alone', async () => {
    const base = new URL(daemon.baseUrl).host;
    const missing = await responseHead(daemon.port, `assets.${base}`, '/static/missing.js');
    assert.match(missing, /^HTTP\/1\.1 404 /);
    assert.match(missing, /^x-from: fetch$/im, 'the app answered, not the asset layer');
    assert.match(missing, /^x-content-type-options: nosniff$/im);
    const found = await responseHead(daemon.port, `assets.${base}`, '/api/anything');
    assert.match(found, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(found, /^x-content-type-options:/im, 'a 200 from the app is as the app sent it');
  });
});
