import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { S3Error } from './errors.js';
import { EMPTY_SHA256, hmacHex, sha256Hex, type ChunkChain } from './sigv4.js';

/** Feeds `body` in pieces of `step` bytes, so every framing boundary falls inside some piece. */
async function decode(body: string, step: number): Promise<{ data: string; trailers: Record<string, string> }> {
  const decoder = new AwsChunkedDecoder(undefined, false);
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += step) pieces.push(Buffer.from(body.slice(i, i + step), 'latin1'));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, new Writable({ write(chunk: Buffer, _e, done) { out.push(chunk); done(); } }));
  return { data: Buffer.concat(out).toString('latin1'), trailers: decoder.trailers };
}

test('aws-chunked: chunks and trailers decode whatever the read boundaries', async () => {
  const body = 'a\r\n0123456789\r\n3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n';
  for (const step of [1, 2, 3, 5, 7, body.length]) {
    assert.deepEqual(await decode(body, step), { data: '0123456789abc', trailers: { 'x-amz-checksum-crc32': 'AAAAAA==' } }, `step ${step}`);
  }
  // Without trailers, and with the final blank line omitted by some clients.
  assert.deepEqual(await decode('2\r\nhi\r\n0\r\n\r\n', 1), { data: 'hi', trailers: {} });
  assert.deepEqual(await decode('2\r\nhi\r\n0\r\n', 4), { data: 'hi', trailers: {} });
});

test('aws-chunked: malformed framing is refused with S3 codes, never passed through', async () => {
  const failures: [string, string][] = [
    ['zz\r\nhi\r\n0\r\n\r\n', 'InvalidRequest'], // not hex
    ['2\r\nhello\r\n0\r\n\r\n', 'InvalidRequest'], // longer than declared
    ['5\r\nhi', 'IncompleteBody'], // ends early
    ['2\r\nhi\r\n', 'IncompleteBody'], // no final chunk
    ['2\r\nhi\r\n0\r\n\r\nextra', 'InvalidRequest'], // bytes after the end
    [`${'1'.repeat(5000)}`, 'InvalidRequest'], // a header line without end
    [`2\r\nhi\r\n0\r\n${Array.from({ length: 9 }, (_, i) => `x-amz-meta-${i}:v\r\n`).join('')}\r\n`, 'InvalidRequest'], // trailers are held in memory: at most 8
  ];
  for (const [body, code] of failures) {
    await assert.rejects(decode(body, 3), (error: unknown) => error instanceof S3Error && error.code === code, JSON.stringify(body.slice(0, 30)));
  }
});

test('aws-chunked: a signed body takes trailers only when it announced them, and nothing after their signature', async () => {
  const chain: ChunkChain = { signingKey: Buffer.alloc(32, 7), longDate: '20261207T000000Z', scope: '20261207/us-east-1/s3/aws4_request', seedSignature: 'a'.repeat(64) };
  const next = (previous: string, data: string) => hmacHex(chain.signingKey, ['AWS4-HMAC-SHA256-PAYLOAD', chain.longDate, chain.scope, previous, EMPTY_SHA256, sha256Hex(data)].join('\n'));
  const first = next(chain.seedSignature, 'hi');
  const last = next(first, '');
  const trailerSignature = hmacHex(chain.signingKey, ['AWS4-HMAC-SHA256-TRAILER', chain.longDate, chain.scope, last, sha256Hex('x-amz-checksum-crc32:AAAAAA==\n')].join('\n'));
  const chunks = `2;chunk-signature=${first}\r\nhi\r\n0;chunk-signature=${last}\r\n`;
  const run = async (body: string, signedTrailer: boolean) => {
    const out: Buffer[] = [];
    await pipeline(Readable.from([Buffer.from(body, 'latin1')]), new AwsChunkedDecoder(chain, signedTrailer), new Writable({ write(chunk: Buffer, _e, done) { out.push(chunk); done(); } }));
    return Buffer.concat(out).toString();
  };
  const signedTrailers = `x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:${trailerSignature}\r\n`;
  assert.equal(await run(`${chunks}\r\n`, false), 'hi');
  assert.equal(await run(`${chunks}${signedTrailers}\r\n`, true), 'hi');
  const refused = (code: string) => (error: unknown) => error instanceof S3Error && error.code === code;
  await assert.rejects(run(`${chunks}x-amz-checksum-crc32:AAAAAA==\r\n\r\n`, false), refused('InvalidRequest'), 'trailers on a body signed without -TRAILER');
  await assert.rejects(run(`${chunks}${signedTrailers}x-amz-checksum-crc32:BBBBBB==\r\n\r\n`, true), refused('InvalidRequest'), 'a trailer after the signature');
  await assert.rejects(run(`${chunks}x-amz-checksum-crc32:AAAAAA==\r\n\r\n`, true), refused('SignatureDoesNotMatch'), 'announced trailers without their signature');
});
