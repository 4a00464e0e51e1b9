/** Hand-written tar archives, so hostile entries do not depend on a tar library agreeing to write them. */
export interface RawEntry {
  name: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory. */
  type: string;
  body?: Uint8Array;
  linkname?: string;
  /** Octal size field as written, to lie about the size. */
  sizeField?: string;
}

/** A ustar header written by hand, so hostile entries do not depend on a tar library agreeing to write them. */
function rawHeader(entry: RawEntry): Buffer {
  const header = Buffer.alloc(512);
  header.write(entry.name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  const size = entry.sizeField ?? (entry.body?.byteLength ?? 0).toString(8).padStart(11, '0');
  header.write(`${size}\0`, 124);
  header.write('00000000000\0', 136);
  header.write(' '.repeat(8), 148); // the checksum is computed with its own field as spaces
  header.write(entry.type, 156);
  if (entry.linkname) header.write(entry.linkname, 157, 100, 'utf8');
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

export function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    blocks.push(rawHeader(entry));
    if (entry.body && entry.body.byteLength > 0) {
      blocks.push(Buffer.from(entry.body), Buffer.alloc((512 - (entry.body.byteLength % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
