import { sha256, sha256Runs, runCount } from './sha256.js';

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
  if (leafHashes.length === 1) return leafHashes[0]!;
  const flat = new Uint8Array(32 * leafHashes.length);
  leafHashes.forEach((h, i) => flat.set(h, 32 * i));
  return merkleRootOfFlatLeafHashes(flat);
}

/**
 * MTH over leaf hashes stored back to back (32 bytes each). Same pairing as above;
 * each level is one batched call: the pairs of a level are adjacent 64-byte runs.
 */
export function merkleRootOfFlatLeafHashes(flat: Uint8Array): Uint8Array {
  let n = flat.length >> 5;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return flat.slice(0, 32);
  let level: Uint8Array = flat;
  let next: Uint8Array = new Uint8Array(32 * Math.ceil(n / 2));
  while (n > 1) {
    const pairs = n >> 1;
    sha256Runs(0x01, level.subarray(0, 64 * pairs), 64, next);
    if (n & 1) next.set(level.subarray(32 * (n - 1), 32 * n), 32 * pairs); // odd last carried up
    const m = pairs + (n & 1);
    // ping-pong between two buffers (a batched hash never reads and writes the same bytes)
    [level, next] = level === flat ? [next, new Uint8Array(32 * Math.ceil(m / 2))] : [next, level];
    n = m;
  }
  return level.slice(0, 32);
}

/**
 * MTH of `data` cut into `chunkBytes` pieces (the last may be shorter; empty data has
 * no chunks), i.e. merkleRoot(chunks) without materialising the chunk list: leaf hashes
 * land in one flat buffer, one batched call per level.
 */
export function merkleRootOfChunks(data: Uint8Array, chunkBytes: number): Uint8Array {
  const n = runCount(data.length, chunkBytes);
  if (n === 0) return sha256(new Uint8Array(0));
  const flat = new Uint8Array(32 * n);
  sha256Runs(0x00, data, chunkBytes, flat);
  return merkleRootOfFlatLeafHashes(flat);
}

export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  return merkleRootOfLeafHashes(items.map(leafHash));
}

/** Largest power of two strictly below n (n > 1): where RFC 6962 splits a list of n. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH of leaves [lo, hi) given their leaf hashes. */
export function subtreeRoot(leafHashes: readonly Uint8Array[], lo = 0, hi = leafHashes.length): Uint8Array {
  if (hi - lo <= 0) return sha256(new Uint8Array(0));
  if (hi - lo === 1) return leafHashes[lo]!;
  return merkleRootOfLeafHashes(leafHashes.slice(lo, hi));
}

/** Audit path PATH(m, D[n]) of RFC 6962 §2.1.1 for leaf `index` (leaf-side sibling first). */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, lo = 0, hi = leafHashes.length): Uint8Array[] {
  if (index < lo || index >= hi) throw new RangeError(`leaf ${index} is outside [${lo}, ${hi})`);
  if (hi - lo === 1) return [];
  const k = splitPoint(hi - lo);
  return index < lo + k
    ? [...inclusionProof(leafHashes, index, lo, lo + k), subtreeRoot(leafHashes, lo + k, hi)]
    : [...inclusionProof(leafHashes, index, lo + k, hi), subtreeRoot(leafHashes, lo, lo + k)];
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The root an audit path implies (RFC 9162 §2.1.3.2), or undefined if the path cannot fit a tree of `size`. */
export function rootFromInclusionProof(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromInclusionProof(leafHash, index, size, proof);
  return r !== undefined && equal(r, root);
}

/**
 * Consistency proof PROOF(m, D[n]) of RFC 6962 §2.1.2: shows that the first `m`
 * leaves form a prefix of the tree of all n leaves (0 < m <= n).
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], m: number): Uint8Array[] {
  const n = leafHashes.length;
  if (!(m > 0 && m <= n)) throw new RangeError(`prefix size ${m} must be in 1..${n}`);
  const sub = (m: number, lo: number, hi: number, complete: boolean): Uint8Array[] => {
    if (m === hi - lo) return complete ? [] : [subtreeRoot(leafHashes, lo, hi)];
    const k = splitPoint(hi - lo);
    return m <= k
      ? [...sub(m, lo, lo + k, complete), subtreeRoot(leafHashes, lo + k, hi)]
      : [...sub(m - k, lo + k, hi, false), subtreeRoot(leafHashes, lo, lo + k)];
  };
  return sub(m, 0, n, true);
}

/** Verifies a consistency proof between a tree of m leaves and one of n leaves (RFC 9162 §2.1.4.2). */
export function verifyConsistency(m: number, n: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m <= 0 || m > n) return false;
  if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
  const path = (m & (m - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}
