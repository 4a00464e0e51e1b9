/**
 * Framed bodies (docs/abi.md, "WebSocket events"): one line of JSON, the header, then the
 * bytes of each message it announces, back to back. Messages thus reach the handlers, and
 * leave them, without a copy in JSON or base64.
 */
export const FRAMED_CONTENT_TYPE = 'application/vnd.plinth.frames';

/** The header line's bound: it holds a socket view (≤ ~20 KiB) and at most 100 events. */
const HEADER_BYTES_MAX = 1024 * 1024;
/** Reads of the header, and writes of the answer, go in pieces of this size, so workerd never buffers a whole message. */
const PIECE_BYTES = 64 * 1024;

type ByobReader = ReadableStreamBYOBReader;
/** workerd's stream of a declared length (its runtime has it; the DOM types do not). */
declare const FixedLengthStream: new (length: number) => TransformStream<Uint8Array, Uint8Array>;

/**
 * Reads into `view` until it is full (a read may return less). Each BYOB read detaches the
 * buffer it filled and hands it back, so the answer is a view on the buffer as it is now;
 * shorter than `view` only when the body ended first.
 */
async function readFully(reader: ByobReader, view: Uint8Array): Promise<Uint8Array> {
  let { buffer } = view;
  const { byteOffset: start, length } = view;
  let filled = 0;
  while (filled < length) {
    const next = await reader.read(new Uint8Array(buffer, start + filled, length - filled));
    if (next.value) buffer = next.value.buffer;
    if (next.done || !next.value) break;
    filled += next.value.length;
  }
  return new Uint8Array(buffer, start, filled);
}

/**
 * Reads a framed body as it streams in: the header, then each message straight into its
 * own buffer of the length `sizesOf(header)` announces (a BYOB read), so a message is
 * held once, with no chunks left over for the collector.
 */
export async function readFramed<H>(body: ReadableStream<Uint8Array> | null, sizesOf: (header: H) => number[]): Promise<{ header: H; payloads: Uint8Array[] }> {
  const reader = (body ?? new Blob([]).stream()).getReader({ mode: 'byob' });
  const headerParts: Uint8Array[] = [];
  let headerBytes = 0;
  let rest = new Uint8Array(0);
  for (;;) {
    const next = await reader.read(new Uint8Array(PIECE_BYTES));
    if (next.done || !next.value) break;
    const piece = next.value;
    const newline = piece.indexOf(10);
    headerBytes += newline < 0 ? piece.length : newline;
    if (headerBytes > HEADER_BYTES_MAX) throw new Error(`the header of a framed body is longer than ${HEADER_BYTES_MAX} bytes`);
    if (newline < 0) {
      headerParts.push(piece);
      continue;
    }
    headerParts.push(piece.subarray(0, newline));
    rest = piece.subarray(newline + 1);
    break;
  }
  const header = JSON.parse(new TextDecoder().decode(join(headerParts, headerBytes))) as H;
  const payloads: Uint8Array[] = [];
  for (const size of sizesOf(header)) {
    const payload = new Uint8Array(size);
    const early = Math.min(rest.length, size);
    payload.set(rest.subarray(0, early));
    rest = rest.subarray(early);
    const filled = early < size ? await readFully(reader, payload.subarray(early)) : payload.subarray(size);
    if (early + filled.length < size) throw new Error('a framed body has fewer bytes than its header announces');
    // The BYOB reads moved the bytes' buffer; this view is the payload, whole.
    payloads.push(new Uint8Array(filled.buffer, 0, size));
  }
  if (rest.length > 0 || !(await reader.read(new Uint8Array(1))).done) throw new Error('a framed body has more bytes than its header announces');
  return { header, payloads };
}

function join(parts: Uint8Array[], bytes: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/**
 * Frees a large buffer the SDK made, once it is no longer needed, instead of whenever V8
 * next collects: V8 lets ~64 MiB of such garbage wait, which is half of the default
 * `memoryMb`. Only a buffer the view spans whole is freed, never a shared one.
 */
export function release(bytes: Uint8Array): void {
  const buffer = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (bytes.byteLength >= PIECE_BYTES && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) buffer.transfer?.(0);
}

/**
 * A framed answer: the header line, then the payloads, written in pieces to a fixed-length
 * stream. A whole message handed to workerd at once is copied whole; in pieces it is not.
 * The payloads must be the SDK's own copies: each is released once written.
 */
export function framedResponse(header: unknown, payloads: readonly Uint8Array[]): Response {
  const chunks = [new TextEncoder().encode(`${JSON.stringify(header)}\n`), ...payloads];
  const length = chunks.reduce((n, chunk) => n + chunk.length, 0);
  const { readable, writable } = new FixedLengthStream(length);
  const writer = writable.getWriter();
  void (async () => {
    for (const chunk of chunks) {
      for (let at = 0; at < chunk.length; at += PIECE_BYTES) await writer.write(chunk.subarray(at, at + PIECE_BYTES));
      release(chunk);
    }
    await writer.close();
  })().catch((error: unknown) => writer.abort(error));
  return new Response(readable, { headers: { 'content-type': FRAMED_CONTENT_TYPE } });
}
