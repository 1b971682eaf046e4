import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** Computes SHA-256 over the concatenation of `parts`. */
export type Sha256Implementation = (parts: readonly Uint8Array[]) => Uint8Array;

/** The portable implementation (pure JS, runs everywhere). */
export const portableSha256: Sha256Implementation = (parts) => {
  if (parts.length === 1) return nobleSha256(parts[0]!);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
};

let implementation: Sha256Implementation = portableSha256;

/**
 * Installs a faster SHA-256 for this platform (Node's native one is installed
 * by src/platform/node.ts). Every implementation computes the same function, so
 * digests never depend on which one ran.
 */
export function setSha256Implementation(f: Sha256Implementation): void {
  implementation = f;
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  return implementation(parts);
}

export function toHex(bytes: Uint8Array): string {
  let s = '0x';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
