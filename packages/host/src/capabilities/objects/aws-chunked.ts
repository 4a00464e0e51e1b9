import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './errors.js';
import { CHUNK_LINE_BYTES_MAX, CHUNK_TRAILERS_MAX } from './limits.js';
import { EMPTY_SHA256, hmacHex, sameHex, sha256Hex, type ChunkChain } from './sigv4.js';

const CRLF = Buffer.from('\r\n');
const CHUNK_HEADER = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/;

/**
 * Decodes `Content-Encoding: aws-chunked` bodies: `<hex size>[;chunk-signature=…]\r\n<data>\r\n`…,
 * a zero-size chunk, then optional trailers (`x-amz-checksum-crc32:…`, `x-amz-trailer-signature:…`).
 * With a chain, every chunk signature (and the trailer signature) is verified against the
 * previous one, starting from the request's own signature.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  private state: 'header' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'header';
  private pending = Buffer.alloc(0);
  private remaining = 0;
  private chunkSignature: string | undefined;
  private chunkHash: Hash | undefined;
  private previousSignature: string;
  private trailerSigned = false;

  constructor(private readonly chain: ChunkChain | undefined, private readonly signedTrailer: boolean) {
    super();
    this.previousSignature = chain?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    const complete = this.state === 'done' || (this.state === 'trailer' && this.pending.length === 0);
    if (!complete) return callback(new S3Error('IncompleteBody', 'the aws-chunked body ended before its final chunk'));
    if (this.chain && this.signedTrailer && !this.trailerSigned) return callback(new S3Error('SignatureDoesNotMatch', 'the aws-chunked body lacks its x-amz-trailer-signature'));
    callback();
  }

  private consume(input: Buffer): void {
    let buffer = this.pending.length ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    while (buffer.length > 0) {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, buffer.length);
        const data = buffer.subarray(0, take);
        this.chunkHash?.update(data);
        this.push(data);
        this.remaining -= take;
        buffer = buffer.subarray(take);
        if (this.remaining === 0) {
          this.verifyChunk();
          this.state = 'data-crlf';
        }
        continue;
      }
      if (this.state === 'done') throw new S3Error('InvalidRequest', 'the aws-chunked body continues after its final chunk');
      if (this.state === 'data-crlf') {
        if (buffer.length < 2) break;
        if (!buffer.subarray(0, 2).equals(CRLF)) throw new S3Error('InvalidRequest', 'an aws-chunked chunk is longer than its declared size');
        buffer = buffer.subarray(2);
        this.state = 'header';
        continue;
      }
      const end = buffer.indexOf(CRLF);
      if (end < 0) {
        if (buffer.length > CHUNK_LINE_BYTES_MAX) throw new S3Error('InvalidRequest', 'an aws-chunked header line is too long');
        break;
      }
      const line = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 2);
      if (this.state === 'header') this.chunkHeader(line);
      else this.trailerLine(line);
    }
    if (buffer.length) this.pending = Buffer.from(buffer);
  }

  private chunkHeader(line: string): void {
    const m = CHUNK_HEADER.exec(line);
    if (!m) throw new S3Error('InvalidRequest', `malformed aws-chunked chunk header ${JSON.stringify(line.slice(0, 100))}`);
    if (this.chain && !m[2]) throw new S3Error('SignatureDoesNotMatch', 'a signed aws-chunked body has a chunk without a chunk-signature');
    this.remaining = parseInt(m[1]!, 16);
    this.chunkSignature = m[2];
    this.chunkHash = this.chain ? createHash('sha256') : undefined;
    if (this.remaining === 0) {
      this.verifyChunk();
      this.state = 'trailer';
    } else {
      this.state = 'data';
    }
  }

  private verifyChunk(): void {
    if (!this.chain) return;
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', this.chain.longDate, this.chain.scope, this.previousSignature, EMPTY_SHA256, this.chunkHash!.digest('hex')].join('\n');
    const expected = hmacHex(this.chain.signingKey, stringToSign);
    if (!sameHex(expected, this.chunkSignature ?? '')) throw new S3Error('SignatureDoesNotMatch', 'an aws-chunked chunk signature does not match');
    this.previousSignature = expected;
  }

  private trailerLine(line: string): void {
    if (line === '') {
      this.state = 'done';
      return;
    }
    const at = line.indexOf(':');
    if (at <= 0) throw new S3Error('InvalidRequest', `malformed aws-chunked trailer ${JSON.stringify(line.slice(0, 100))}`);
    const name = line.slice(0, at).trim().toLowerCase();
    const value = line.slice(at + 1).trim();
    if (this.chain && !this.signedTrailer) throw new S3Error('InvalidRequest', 'trailers need a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body');
    if (this.trailerSigned) throw new S3Error('InvalidRequest', 'the aws-chunked body continues after its x-amz-trailer-signature');
    if (name !== 'x-amz-trailer-signature') {
      // Trailers are held in memory until the body ends, so there may be only a few.
      if (Object.keys(this.trailers).length >= CHUNK_TRAILERS_MAX) throw new S3Error('InvalidRequest', `an aws-chunked body has at most ${CHUNK_TRAILERS_MAX} trailers`);
      this.trailers[name] = value;
      return;
    }
    if (!this.chain || !this.signedTrailer) return;
    const canonical = Object.entries(this.trailers).map(([n, v]) => `${n}:${v}\n`).join('');
    const stringToSign = ['AWS4-HMAC-SHA256-TRAILER', this.chain.longDate, this.chain.scope, this.previousSignature, sha256Hex(canonical)].join('\n');
    if (!sameHex(hmacHex(this.chain.signingKey, stringToSign), value)) throw new S3Error('SignatureDoesNotMatch', 'the aws-chunked trailer signature does not match');
    this.trailerSigned = true;
  }
}
