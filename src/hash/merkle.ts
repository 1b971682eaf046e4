import { sha256 } from './sha256.js';

/**
 * Merkle Tree Hash of RFC 6962 §2.1, the one Merkle construction of the
 * project (DESIGN.md): leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r),
 * n > 1 items split at the largest power of two below n, empty = SHA-256("").
 */
const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(LEAF, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right);
}

/**
 * MTH over already-computed leaf hashes. Pairing adjacent hashes level by
 * level and carrying an odd last one up unchanged yields exactly the RFC 6962
 * split-at-largest-power-of-two tree.
 */
export function merkleRootOfLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return sha256(new Uint8Array(0));
  let level = leafHashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  return merkleRootOfLeafHashes(items.map(leafHash));
}
