import assert from 'node:assert/strict';
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { S3Error } from './errors.js';

/** The additional checksums S3 accepts (`x-amz-checksum-<algorithm>`). */
export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export function checksumAlgorithm(name: string | undefined): ChecksumAlgorithm | undefined {
  if (name === undefined || name === '') return undefined;
  const lower = name.toLowerCase();
  if ((CHECKSUM_ALGORITHMS as readonly string[]).includes(lower)) return lower as ChecksumAlgorithm;
  throw new S3Error(lower === 'crc64nvme' ? 'NotImplemented' : 'InvalidRequest', `checksum algorithm ${JSON.stringify(name)} is not supported; use one of ${CHECKSUM_ALGORITHMS.join(', ')}`);
}

/** The checksum types of a multipart object (S3): a checksum of the parts' checksums, or of all the bytes. */
export const CHECKSUM_TYPES = ['COMPOSITE', 'FULL_OBJECT'] as const;
export type ChecksumType = (typeof CHECKSUM_TYPES)[number];

/** Algorithms a FULL_OBJECT checksum may use: CRCs combine from the parts' values without rereading bytes (SHA digests do not). */
export const FULL_OBJECT_ALGORITHMS: readonly ChecksumAlgorithm[] = ['crc32', 'crc32c'];

/** The reflected polynomials of zlib's CRC-32 and of CRC-32C (Castagnoli). */
const CRC_POLYNOMIAL = { crc32: 0xedb88320, crc32c: 0x82f63b78 } as const;

const CRC32C_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32c(data: Uint8Array, previous = 0): number {
  let crc = ~previous;
  for (let i = 0; i < data.length; i++) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** One running checksum, base64 of its big-endian digest as S3 prints it. */
export interface RunningChecksum {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

export function runningChecksum(algorithm: ChecksumAlgorithm): RunningChecksum {
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    const hash = createHash(algorithm);
    return { update: (data) => void hash.update(data), digest: () => hash.digest() };
  }
  const step = algorithm === 'crc32' ? crc32 : crc32c;
  let value = 0;
  return {
    update: (data) => { value = step(data, value); },
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out;
    },
  };
}

/** a·b modulo the CRC polynomial, in the reflected bit order CRCs use (zlib's multmodp). */
function multiplyModP(a: number, b: number, polynomial: number): number {
  let product = 0;
  for (let bit = 0x80000000; bit !== 0; bit >>>= 1) {
    if (a & bit) product ^= b;
    b = b & 1 ? (b >>> 1) ^ polynomial : b >>> 1;
  }
  return product >>> 0;
}

/** x^(8·bytes) modulo the polynomial: the operator that shifts a CRC past `bytes` zero bytes (zlib's x2nmodp). */
function shiftOperator(bytes: number, polynomial: number): number {
  let power = 0x40000000; // x^1
  let result = 0x80000000; // x^0
  // bytes·8 bits, squared up bit by bit; bytes may exceed 2^32 (a 5 TiB object), so no 32-bit shifts.
  for (let n = bytes * 8; n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) result = multiplyModP(power, result, polynomial);
    power = multiplyModP(power, power, polynomial);
  }
  return result;
}

/** The CRC of a followed by b, from CRC(a), CRC(b) and b's length (zlib's crc32_combine). */
function combineCrc(first: number, second: number, secondBytes: number, polynomial: number): number {
  return (multiplyModP(shiftOperator(secondBytes, polynomial), first, polynomial) ^ second) >>> 0;
}

/** A FULL_OBJECT checksum: the CRC of the parts' bytes end to end, combined from each part's CRC (base64) and size. */
export function fullObjectCrc(algorithm: ChecksumAlgorithm, parts: readonly { readonly checksum: string; readonly size: number }[]): string {
  assert.ok(algorithm === 'crc32' || algorithm === 'crc32c', `no FULL_OBJECT checksum with ${algorithm}`);
  let crc = 0;
  for (const part of parts) crc = combineCrc(crc, Buffer.from(part.checksum, 'base64').readUInt32BE(0), part.size, CRC_POLYNOMIAL[algorithm]);
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc);
  return out.toString('base64');
}

export interface Digests {
  readonly size: number;
  readonly md5: Buffer;
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
  readonly sha256Hex?: string;
}

/** Passes bytes through while counting them and computing MD5 (the ETag) and any requested checksums. */
export class Digester extends Transform {
  private size = 0;
  private readonly md5: Hash = createHash('md5');
  private readonly checksum: RunningChecksum | undefined;
  private readonly sha256: Hash | undefined;

  constructor(private readonly options: { algorithm?: ChecksumAlgorithm; sha256?: boolean; sizeMax: number }) {
    super();
    this.checksum = options.algorithm ? runningChecksum(options.algorithm) : undefined;
    this.sha256 = options.sha256 && options.algorithm !== 'sha256' ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.options.sizeMax) return callback(new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size of ${this.options.sizeMax} bytes`));
    this.md5.update(chunk);
    this.checksum?.update(chunk);
    this.sha256?.update(chunk);
    callback(null, chunk);
  }

  digests(): Digests {
    const checksumBytes = this.checksum?.digest();
    return {
      size: this.size,
      md5: this.md5.digest(),
      ...(checksumBytes && this.options.algorithm ? { checksum: { algorithm: this.options.algorithm, value: checksumBytes.toString('base64') } } : {}),
      ...(this.options.sha256 ? { sha256Hex: this.sha256 ? this.sha256.digest('hex') : checksumBytes!.toString('hex') } : {}),
    };
  }
}
