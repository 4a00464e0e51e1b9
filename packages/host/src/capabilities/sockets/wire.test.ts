import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { EVENT_REPLY_HEADER_BYTES_MAX } from './limits.js';
import { decodeFramed, eventReplySchema, framedEvents } from './wire.js';

const decode = (body: Buffer) => decodeFramed(body, eventReplySchema, (reply) => reply.actions);
const framed = (header: unknown, ...payloads: Buffer[]) => Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...payloads]);
const send = (bytes: number, binary = false) => ({ type: 'send', binary, bytes });

describe('framed bodies (docs/abi.md, WebSocket events)', () => {
  test('an events body is a JSON header line, then the messages\' bytes in order', () => {
    const view = { id: 's', tags: [], attachment: null, user: null, openedAt: '2026-01-01T00:00:00.000Z' };
    const body = framedEvents(view, [
      { type: 'message', binary: false, data: Buffer.from('hi') },
      { type: 'close', code: 1000, reason: '', wasClean: true },
      { type: 'message', binary: true, data: Buffer.from([1, 2, 3]) },
    ]);
    const bytes = Buffer.concat(body.chunks);
    const newline = bytes.indexOf(0x0a);
    assert.deepEqual(JSON.parse(bytes.toString('utf8', 0, newline)).events, [
      { type: 'message', binary: false, bytes: 2 }, { type: 'close', code: 1000, reason: '', wasClean: true }, { type: 'message', binary: true, bytes: 3 },
    ]);
    assert.deepEqual(bytes.subarray(newline + 1), Buffer.from([0x68, 0x69, 1, 2, 3]));
  });

  test('an answer\'s sends get their bytes, as views; a plain JSON body is an answer without messages', () => {
    const decoded = decode(framed({ actions: [send(2), { type: 'close', code: 4000 }, send(3, true)], tags: ['a'] }, Buffer.from('hi'), Buffer.from([7, 8, 9])));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.tags, ['a']);
    assert.deepEqual(decoded.actions, [
      { type: 'send', data: Buffer.from('hi'), binary: false }, { type: 'close', code: 4000 }, { type: 'send', data: Buffer.from([7, 8, 9]), binary: true },
    ]);
    const plain = decode(Buffer.from(JSON.stringify({ actions: [{ type: 'close' }] })));
    assert.ok(plain.ok);
    assert.deepEqual(plain.actions, [{ type: 'close' }]);
  });

  test('bytes that do not add up, text that is not UTF-8 and a header past its bound are refused', () => {
    const problem = (body: Buffer) => {
      const decoded = decode(body);
      return decoded.ok ? 'accepted' : decoded.problem;
    };
    assert.match(problem(framed({ actions: [send(3)] }, Buffer.from('hi'))), /announce at least 3 bytes, but 2 follow/);
    assert.match(problem(framed({ actions: [send(1)] }, Buffer.from('hi'))), /1 bytes follow its header that no send action announces/);
    assert.match(problem(framed({ actions: [send(2)] }, Buffer.from([0xc3, 0x28]))), /not UTF-8/);
    assert.equal(problem(framed({ actions: [send(2, true)] }, Buffer.from([0xc3, 0x28]))), 'accepted', 'binary may be any bytes');
    assert.match(problem(framed({ actions: [{ type: 'send', data: 'hi' }] })), /header is invalid/);
    assert.match(problem(Buffer.from('not json\n')), /not JSON/);
    // A header exactly at the bound is read; one byte more is refused before it is parsed.
    const padded = (bytes: number) => framed({ pad: 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify({ pad: '' }))) });
    const readPad = (body: Buffer) => decodeFramed(body, z.object({ pad: z.string() }), () => []);
    assert.equal(readPad(padded(EVENT_REPLY_HEADER_BYTES_MAX)).ok, true);
    const past = readPad(padded(EVENT_REPLY_HEADER_BYTES_MAX + 1));
    assert.ok(!past.ok && /header is longer than/.test(past.problem));
  });
});
