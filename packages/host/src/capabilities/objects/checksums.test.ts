import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullObjectCrc } from './checksums.js';

const MiB = 1024 * 1024;

// Ceph's s3-tests (test_multipart_use_cksum_helper_crc32/crc32c): three parts of 5 MiB of 'A', 'B'
// and 'C', each part's checksum, and the FULL_OBJECT checksum S3 gives the whole object.
test('a FULL_OBJECT CRC combined from the parts\' CRCs and sizes is the CRC of all the bytes (s3-tests\' vectors)', () => {
  const sizes = [5 * MiB, 5 * MiB, 5 * MiB];
  const crc32 = ['JRTCyQ==', 'QoZTGg==', 'YAgjqw=='].map((checksum, i) => ({ checksum, size: sizes[i]! }));
  const crc32c = ['MDaLrw==', 'TH4EZg==', 'Z7mBIQ=='].map((checksum, i) => ({ checksum, size: sizes[i]! }));
  assert.equal(fullObjectCrc('crc32', crc32), 'WgDhBQ==');
  assert.equal(fullObjectCrc('crc32c', crc32c), 'xU+Krw==');
  // One part is its own CRC; an empty part changes nothing.
  assert.equal(fullObjectCrc('crc32', crc32.slice(0, 1)), 'JRTCyQ==');
  assert.equal(fullObjectCrc('crc32', [crc32[0]!, { checksum: 'AAAAAA==', size: 0 }]), 'JRTCyQ==');
});
