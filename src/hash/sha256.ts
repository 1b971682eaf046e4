import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of the concatenation of `parts`. Portable (Node and browsers). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return nobleSha256(parts[0]!);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function toHex(bytes: Uint8Array): string {
  let s = '0x';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
