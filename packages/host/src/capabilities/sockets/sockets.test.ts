import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, TEST_APPS, addUser, installApp, startTestDaemon, type TestDaemon } from '../../testing/daemon-harness.js';
import WebSocket from 'ws';
import { openSocket } from '../../testing/socket-client.js';
import { waitUntil } from '../../testing/eventually.js';
import { EVENT_REPLY_BYTES_MAX, SOCKET_CLOSE_DRAIN_MS_MAX } from './limits.js';

interface AppView { runtime: { state: string; pid: number | null }; sockets: { open: number; bytesIn: number; bytesOut: number } }

describe('WebSockets held by the platform', () => {
  const work = mkdtempSync(join(tmpdir(), 'plinth-sockets-'));
  let daemon: TestDaemon;
  const view = async (appId = 'sockets') => (await (await daemon.fetch(`${daemon.baseUrl}/api/admin/apps/${appId}`, { headers: { authorization: `Bearer ${daemon.adminToken}` } })).json()) as AppView;

  before(async () => {
    daemon = await startTestDaemon({ env: { PLINTH_IDLE_STOP_MS: '1000', PLINTH_SOCKET_MESSAGE_BYTES_MAX: String(64 * 1024) } });
    installApp(daemon, join(TEST_APPS, 'sockets'));
    installApp(daemon, join(TEST_APPS, 'echo'));
    installApp(daemon, join(REPO_ROOT, 'examples/chat'));
    const tight = join(work, 'tight');
    cpSync(join(TEST_APPS, 'sockets'), tight, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(tight, 'plinth.json'), 'utf8')) as { limits: Record<string, number> };
    writeFileSync(join(tight, 'plinth.json'), JSON.stringify({ ...manifest, id: 'tight', limits: { ...manifest.limits, sockets: 2 } }));
    installApp(daemon, tight);
    addUser(daemon, 'grace@example.com', 'a long enough password');
  });
  after(async () => {
    await daemon?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('the chat example: join, broadcast to the room by tag, leave', async () => {
    const ann = await openSocket(daemon, 'chat', '/ws?room=lobby&name=ann');
    assert.match(String(await ann.next()), /welcome ann/i);
    const bob = await openSocket(daemon, 'chat', '/ws?room=lobby&name=bob');
    await bob.next();
    assert.equal(await ann.next(), 'bob joined');
    const other = await openSocket(daemon, 'chat', '/ws?room=elsewhere&name=eve');
    await other.next();
    bob.ws.send('hi all');
    assert.equal(await ann.next(), 'bob: hi all');
    assert.equal(await bob.next(), 'bob: hi all');
    bob.ws.close(1000, 'done');
    assert.equal(await ann.next(), 'bob left');
    await assert.rejects(other.next(300), /no message/);
    ann.ws.close();
    other.ws.close();
  });

  test('open sees the original request with identity and client IP; the app may refuse', async () => {
    const token = daemon.cli(['tokens', 'create', '--user', 'grace@example.com', '--app', 'sockets']).stdout.trim();
    const signedIn = await openSocket(daemon, 'sockets', '/ws', { authorization: `Bearer ${token}` });
    assert.equal(await signedIn.next(), 'welcome grace@example.com from 127.0.0.1');
    signedIn.ws.close();
    await assert.rejects(openSocket(daemon, 'sockets', '/ws?refuse=1'), (e: Error & { status?: number }) => e.status === 403);
    await assert.rejects(openSocket(daemon, 'sockets', '/ws?status=401'), (e: Error & { status?: number; body?: string }) => e.status === 401 && e.body === 'not you');
    await assert.rejects(openSocket(daemon, 'echo', '/public/ws'), (e: Error & { status?: number }) => e.status === 426);
    await assert.rejects(openSocket(daemon, 'echo', '/private'), (e: Error & { status?: number }) => e.status === 401);
    await assert.rejects(openSocket(daemon, 'sockets', '/.plinth/websocket/open'), (e: Error & { status?: number }) => e.status === 404);
  });

  test('inside open, the sockets API reaches the opening socket: update, send, publish, close; a refusal drops what it queued', async () => {
    const updated = await openSocket(daemon, 'sockets', '/ws?early=update');
    assert.equal(await updated.next(), 'tags early');
    updated.ws.send('count');
    assert.equal(await updated.next(), 'count 42', 'the attachment set in open was kept');
    updated.ws.send('whoami');
    const id = String(await updated.next());
    updated.ws.send('list:early');
    assert.deepEqual(JSON.parse(String(await updated.next())), [id], 'the tags set in open were kept');

    const sent = await openSocket(daemon, 'sockets', '/ws?early=send');
    assert.equal(await sent.next(), 'sent early', 'a send made during open goes first, before the open reply\'s own sends');
    assert.equal(await sent.next(), 'welcome');

    const published = await openSocket(daemon, 'sockets', '/ws?early=publish');
    assert.equal(await published.next(), 'published early');
    assert.equal(await published.next(), 'reached 1');

    const closed = await openSocket(daemon, 'sockets', '/ws?early=close');
    assert.equal(await closed.next(), 'before the close');
    assert.deepEqual(await closed.closed, { code: 4002, reason: 'closed early' });

    await assert.rejects(openSocket(daemon, 'sockets', '/ws?early=refuse'), (e: Error & { status?: number }) => e.status === 403);
    updated.ws.send('list:early-refused');
    assert.equal(await updated.next(), '[]', 'a refused socket is gone, with what it had queued');
    for (const socket of [updated, sent, published]) socket.ws.close();
  });

  test('a socket the app accepted after its client left still gets a close event', async () => {
    const watcher = await openSocket(daemon, 'sockets', '/ws?tags=watchers');
    await watcher.next();
    const leaving = new WebSocket(`ws://127.0.0.1:${daemon.port}/ws?early=slow`, { headers: { host: `sockets.localhost:${daemon.port}` } });
    leaving.on('error', () => undefined);
    // Watchers hear every close in the app, earlier tests' too: wait for the lines about this socket.
    let heard = String(await watcher.next());
    while (!heard.startsWith('opening ')) heard = String(await watcher.next());
    const id = heard.slice('opening '.length);
    leaving.terminate();
    while (!heard.includes(`closed ${id}`)) heard = String(await watcher.next());
    assert.equal(heard, `closed ${id} 1006  clean=false`);
    watcher.ws.close();
  });

  test('what open queues for its socket is bounded by the send buffer: past it, the socket closes with 1013 after the handshake', async () => {
    const flooded = await openSocket(daemon, 'sockets', '/ws?early=flood');
    assert.equal((await flooded.closed).code, 1013);
    assert.deepEqual(flooded.pending.map((m) => [(m as Buffer).length, (m as Buffer)[0]]), [1, 2, 3, 4].map((i) => [1024 * 1024, i]));
    assert.match(daemon.cli(['logs', 'sockets']).stdout, /sockets\.too_slow/);
  });

  test('messages that arrive just before a close frame or a protocol error are answered before the close', async () => {
    const closing = await openSocket(daemon, 'sockets', '/ws');
    await closing.next();
    closing.ws.send('echo:one');
    closing.ws.send('echo:two');
    closing.ws.close(4003, 'done');
    assert.deepEqual(await closing.closed, { code: 4003, reason: 'done' });
    assert.deepEqual(closing.pending, ['one', 'two'], 'both echoes came before the close frame');

    const broken = await openSocket(daemon, 'sockets', '/ws');
    await broken.next();
    broken.ws.send('echo:three');
    // FIN, reserved opcode 0x3, masked, empty: a protocol error (RFC 6455 §5.2), as in Autobahn 4.1.x.
    (broken.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
    assert.equal((await broken.closed).code, 1002);
    assert.deepEqual(broken.pending, ['three']);
  });

  test('a close waits for the app at most SOCKET_CLOSE_DRAIN_MS_MAX', async () => {
    // Another app (a copy), so the sleeping handler does not keep the sockets app from its idle stops.
    const socket = await openSocket(daemon, 'tight', '/ws');
    await socket.next();
    socket.ws.send('sleep:12000');
    socket.ws.send('echo:too late');
    const begun = Date.now();
    socket.ws.close(1000);
    assert.equal((await socket.closed).code, 1000);
    const waited = Date.now() - begun;
    assert.ok(waited >= SOCKET_CLOSE_DRAIN_MS_MAX - 50 && waited < 12_000, `the close was answered after ${waited} ms`);
    assert.deepEqual(socket.pending, []);
  });

  test('a burst of 1000 messages arrives at the app, and back, in order', async () => {
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    for (let i = 0; i < 1000; i++) socket.ws.send(`echo:${i}`);
    for (let i = 0; i < 1000; i++) assert.equal(await socket.next(), String(i));
    socket.ws.close();
  });

  test('text and binary both round-trip', async () => {
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    const binary = Buffer.from([0, 1, 2, 253, 254, 255]);
    socket.ws.send(binary);
    assert.deepEqual(await socket.next(), binary);
    socket.ws.send('echo:ünïcödé ✓');
    assert.equal(await socket.next(), 'ünïcödé ✓');
    socket.ws.send('');
    assert.equal(await socket.next(), '', 'an empty text message');
    socket.ws.send(Buffer.alloc(0));
    assert.deepEqual(await socket.next(), Buffer.alloc(0), 'an empty binary message');
    socket.ws.close();
  });

  test('the socket survives the app being killed and stopped; the next message wakes the app', async () => {
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    socket.ws.send('count');
    assert.equal(await socket.next(), 'count 1');
    const pid = (await view()).runtime.pid!;
    process.kill(pid, 'SIGKILL');
    await waitUntil(async () => (await view()).runtime.state === 'stopped');
    socket.ws.send('count');
    assert.equal(await socket.next(), 'count 2', 'the attachment survived in the platform');
    await waitUntil(async () => (await view()).runtime.state === 'stopped');
    socket.ws.send('count');
    assert.equal(await socket.next(), 'count 3');
    socket.ws.close();
  });

  test('the app may choose a subprotocol among those offered; unset, the first offered is used', async () => {
    const opened = async (path: string, protocols: string[]) => {
      const socket = await openSocket(daemon, 'sockets', path, {}, protocols);
      socket.ws.close();
      return socket.ws.protocol;
    };
    assert.equal(await opened('/ws?protocol=b.v2', ['a.v1', 'b.v2']), 'b.v2');
    assert.equal(await opened('/ws', ['a.v1', 'b.v2']), 'a.v1');
    assert.equal(await opened('/ws', []), '');
    // A choice the client did not offer would make a conforming client fail the connection: refused here instead.
    await assert.rejects(openSocket(daemon, 'sockets', '/ws?protocol=c.v3', {}, ['a.v1']), (e: Error & { status?: number; body?: string }) => e.status === 502 && /sockets\.bad_open_reply.*did not offer/.test(e.body ?? ''));
    await assert.rejects(openSocket(daemon, 'sockets', '/ws?protocol=c.v3'), (e: Error & { status?: number }) => e.status === 502);
  });

  test('auto-response and protocol pings are answered without starting a stopped app', async () => {
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    socket.ws.send('auto');
    await sleep(200);
    await waitUntil(async () => (await view()).runtime.state === 'stopped');
    socket.ws.send('ping');
    assert.equal(await socket.next(), 'pong');
    const pong = new Promise((resolve) => socket.ws.once('pong', resolve));
    socket.ws.ping('are you there');
    await pong;
    assert.equal((await view()).runtime.state, 'stopped');
    socket.ws.close();
  });

  test('limits.sockets is enforced', async () => {
    const first = await openSocket(daemon, 'tight', '/ws');
    const second = await openSocket(daemon, 'tight', '/ws');
    await assert.rejects(openSocket(daemon, 'tight', '/ws'), (e: Error & { status?: number; body?: string }) => e.status === 503 && /sockets\.limit/.test(e.body ?? ''));
    first.ws.close();
    await first.closed;
    await waitUntil(async () => (await view('tight')).sockets.open === 1);
    (await openSocket(daemon, 'tight', '/ws')).ws.close();
    second.ws.close();
  });

  test('an oversized message gets 1009 and invalid UTF-8 gets 1007, without harming other sockets', async () => {
    const bystander = await openSocket(daemon, 'sockets', '/ws');
    await bystander.next();
    const big = await openSocket(daemon, 'sockets', '/ws');
    big.ws.send('x'.repeat(64 * 1024 + 1));
    assert.equal((await big.closed).code, 1009);
    const invalid = await openSocket(daemon, 'sockets', '/ws');
    invalid.ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
    assert.equal((await invalid.closed).code, 1007);
    bystander.ws.send('echo:still here');
    assert.equal(await bystander.next(), 'still here');
    bystander.ws.close();
  });

  test('a slow consumer is closed at the send buffer cap while daemon memory stays bounded', async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.process.pid}/status`, 'utf8'))![1]) * 1024;
    const slow = await openSocket(daemon, 'sockets', '/ws?tags=flood');
    await slow.next();
    const before = rss();
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const driver = await openSocket(daemon, 'sockets', '/ws');
    await driver.next();
    driver.ws.send('flood:200');
    await waitUntil(async () => (await view()).sockets.open === 1, 30_000);
    assert.ok(rss() - before < 100 * 1024 * 1024, `daemon grew by ${rss() - before} bytes for a 200 MiB flood`);
    const logs = daemon.cli(['logs', 'sockets']).stdout;
    assert.match(logs, /sockets\.too_slow/);
    driver.ws.close();
  });

  test('an app cannot reach another app\'s sockets', async () => {
    const mine = await openSocket(daemon, 'sockets', '/ws');
    await mine.next();
    mine.ws.send('whoami');
    const id = String(await mine.next());
    const tight = await openSocket(daemon, 'tight', '/ws');
    await tight.next();
    tight.ws.send(`send-to:${id}:hijack`);
    assert.equal(await tight.next(), 'refused sockets.not_found');
    tight.ws.send('list');
    assert.equal(JSON.parse(String(await tight.next())).includes(id), false);
    await assert.rejects(mine.next(300), /no message/);
    mine.ws.close();
    tight.ws.close();
  });

  test('close events reach the app with code, reason and cleanliness; failing events close with 1011', async () => {
    const watcher = await openSocket(daemon, 'sockets', '/ws?tags=watchers');
    await watcher.next();
    const leaver = await openSocket(daemon, 'sockets', '/ws');
    await leaver.next();
    leaver.ws.send('whoami');
    const id = String(await leaver.next());
    leaver.ws.close(4001, 'going away now');
    // Watchers hear every close in the app, earlier tests' too; wait for this one.
    let heard = String(await watcher.next());
    while (!heard.includes(id)) heard = String(await watcher.next());
    assert.equal(heard, `closed ${id} 4001 going away now clean=true`);
    const failing = await openSocket(daemon, 'sockets', '/ws');
    await failing.next();
    failing.ws.send('fail');
    assert.equal((await failing.closed).code, 1011);
    const badClose = await openSocket(daemon, 'sockets', '/ws');
    await badClose.next();
    badClose.ws.send('badclose');
    assert.equal((await badClose.closed).code, 1011, 'an invalid close code from the app is refused, not thrown into the daemon');
    assert.equal(daemon.process.exitCode, null, 'the daemon is still running');
    assert.match(daemon.cli(['logs', 'sockets']).stdout, /sockets\.delivery_failed/);
    watcher.ws.close();
  });

  test('an answer longer than EVENT_REPLY_BYTES_MAX fails unread: the socket closes with 1011', async () => {
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    socket.ws.send(`huge:${EVENT_REPLY_BYTES_MAX / (1024 * 1024) + 1}`);
    assert.equal((await socket.closed).code, 1011);
    assert.deepEqual(socket.pending, []);
    assert.match(daemon.cli(['logs', 'sockets']).stdout, new RegExp(`sockets\\.delivery_failed .*more than ${EVENT_REPLY_BYTES_MAX} bytes`));
  });

  test('plinth apps shows open sockets and bytes are counted', async () => {
    // Earlier tests' sockets finish closing first, so the count below is exact.
    await waitUntil(async () => (await view()).sockets.open === 0);
    const before = (await view()).sockets;
    const socket = await openSocket(daemon, 'sockets', '/ws');
    await socket.next();
    socket.ws.send('echo:12345');
    await socket.next();
    const stats = (await view()).sockets;
    assert.equal(stats.open, before.open + 1);
    assert.ok(stats.bytesIn - before.bytesIn >= 10, 'echo:12345 counted in');
    assert.ok(stats.bytesOut - before.bytesOut >= 5, '12345 counted out');
    assert.match(daemon.cli(['apps']).stdout, new RegExp(`^sockets\t1[.]0[.]0\t(running|stopped|starting)\t${stats.open} sockets\t`, "m"));
    socket.ws.close();
  });
});
