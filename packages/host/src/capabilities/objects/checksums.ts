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
