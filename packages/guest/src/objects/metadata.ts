import { fromBase64, toBase64 } from '../bytes.js';
import { ObjectsError } from './errors.js';

/** S3's prefix for user metadata headers; the rest of the header name is the metadata name. */
export const METADATA_HEADER_PREFIX = 'x-amz-meta-';

/** An HTTP token (RFC 9110 §5.6.2): the characters a header name may hold. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Values a header carries unchanged: printable ASCII without leading or trailing whitespace, which fetch would trim. */
const PLAIN_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;
/** One RFC 2047 encoded word in UTF-8 and base64, the form S3 documents for metadata that is not US-ASCII. */
const ENCODED_WORD = /^=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=$/i;

/**
 * Metadata travels as `x-amz-meta-<name>` headers, as in S3. Names are lowercased (header names
 * are case-insensitive, and S3 lowercases them too). A value that a header cannot carry as is (not
 * printable ASCII, or with whitespace at either end) is sent as an RFC 2047 encoded word and
 * decoded on the way back, so any string round-trips.
 */
export function writeMetadataHeaders(headers: Headers, metadata: Record<string, string>): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (!TOKEN.test(name)) throw new ObjectsError('objects.invalid_metadata', `metadata name ${JSON.stringify(name)} must be an HTTP token (letters, digits and !#$%&'*+.^_\`|~-)`, 400);
    if (typeof value !== 'string') throw new ObjectsError('objects.invalid_metadata', `metadata ${name} must be a string`, 400);
    headers.set(`${METADATA_HEADER_PREFIX}${name.toLowerCase()}`, encodeValue(value));
  }
}

export function readMetadataHeaders(headers: Headers): Record<string, string> {
  const metadata: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name.startsWith(METADATA_HEADER_PREFIX)) metadata[name.slice(METADATA_HEADER_PREFIX.length)] = decodeValue(value);
  });
  return metadata;
}

/** Decodes the values of metadata that the platform listed as JSON, where they are stored as the headers carried them. */
export function decodeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) decoded[name] = decodeValue(value);
  return decoded;
}

function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !ENCODED_WORD.test(value)) return value;
  return `=?UTF-8?B?${toBase64(value)}?=`;
}

function decodeValue(value: string): string {
  const word = ENCODED_WORD.exec(value);
  return word ? new TextDecoder().decode(fromBase64(word[1]!)) : value;
}
