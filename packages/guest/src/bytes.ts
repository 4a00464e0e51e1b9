/** Data the SDK accepts wherever bytes are expected; strings are UTF-8. */
export type BytesLike = string | Uint8Array | ArrayBuffer;

export function toBytes(data: BytesLike): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return data instanceof Uint8Array ? data : new Uint8Array(data);
}

/** base64 via btoa, which every runtime has; chunked so large inputs do not overflow the argument list. */
export function toBase64(data: BytesLike): string {
  const bytes = toBytes(data);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
