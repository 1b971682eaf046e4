import { merkleRootOfChunks } from '../hash/merkle.js';
import { runCount, sha256, sha256Runs } from '../hash/sha256.js';
import { DType } from './dtype.js';
import type { Tensor } from './tensor.js';

/**
 * Canonical encoding (DESIGN.md, "Objects that cross the wire"):
 * data = elements row-major, little-endian, bool as one byte 0/1, every NaN
 * replaced by the one quiet NaN of its type; header = u8 dtype, u8 rank, each
 * dim as u64le; digest = SHA-256(header || MTH(1,024-byte chunks of data)).
 */
export const CHUNK_BYTES = 1024;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('verinfer requires a little-endian platform');
}

export function canonicalHeader(t: Tensor): Uint8Array {
  const h = new Uint8Array(2 + 8 * t.shape.length);
  const v = new DataView(h.buffer);
  h[0] = t.dtype;
  h[1] = t.shape.length;
  t.shape.forEach((d, i) => v.setBigUint64(2 + 8 * i, BigInt(d), true));
  return h;
}

/**
 * Index of the first NaN in `f`, or -1. Four compares per step: the scan runs over every
 * traced float tensor, and this form is ~1.5x the plain loop in V8 (x !== x is the NaN
 * test, exact for every payload and sign).
 */
function firstNaN(f: Float32Array | Float64Array): number {
  const n = f.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    if (f[i] !== f[i] || f[i + 1] !== f[i + 1] || f[i + 2] !== f[i + 2] || f[i + 3] !== f[i + 3]) break;
  }
  for (; i < n; i++) if (f[i] !== f[i]) return i;
  return -1;
}

/** Canonical data bytes. Shares the tensor's memory when no rewrite is needed (hashed in place). */
export function canonicalData(t: Tensor): Uint8Array {
  const d = t.data;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  switch (t.dtype) {
    case DType.float32: {
      const f = d as Float32Array;
      const first = firstNaN(f);
      if (first < 0) return bytes;
      const out = bytes.slice();
      const u = new Uint32Array(out.buffer);
      for (let i = first; i < f.length; i++) if (f[i] !== f[i]) u[i] = 0x7fc00000;
      return out;
    }
    case DType.float64: {
      const f = d as Float64Array;
      const first = firstNaN(f);
      if (first < 0) return bytes;
      const out = bytes.slice();
      const u = new Uint32Array(out.buffer);
      for (let i = first; i < f.length; i++) if (f[i] !== f[i]) { u[2 * i] = 0; u[2 * i + 1] = 0x7ff80000; }
      return out;
    }
    case DType.float16: {
      const h = d as Uint16Array;
      const isNaN16 = (v: number) => (v & 0x7c00) === 0x7c00 && (v & 0x3ff) !== 0;
      let firstNaN = -1;
      for (let i = 0; i < h.length; i++) if (isNaN16(h[i]!)) { firstNaN = i; break; }
      if (firstNaN < 0) return bytes;
      const out = bytes.slice();
      const u = new Uint16Array(out.buffer);
      for (let i = firstNaN; i < h.length; i++) if (isNaN16(h[i]!)) u[i] = 0x7e00;
      return out;
    }
    case DType.bool: {
      const b = d as Uint8Array;
      for (let i = 0; i < b.length; i++) if (b[i]! > 1) return b.map((x) => (x ? 1 : 0));
      return bytes;
    }
    default:
      return bytes;
  }
}

/** Leaf hashes of the canonical data's 1,024-byte chunks (one batched call). */
export function chunkLeafHashes(data: Uint8Array): Uint8Array[] {
  const n = runCount(data.length, CHUNK_BYTES);
  const flat = new Uint8Array(32 * n);
  sha256Runs(0x00, data, CHUNK_BYTES, flat);
  return Array.from({ length: n }, (_, i) => flat.slice(32 * i, 32 * i + 32));
}

/**
 * Digest of the canonical encoding. The data is hashed in place unless a NaN (or a
 * bool byte > 1) must be rewritten; the chunk leaves and each Merkle level are one
 * batched call each (sha256Runs), so a platform can hash many chunks at once.
 */
export function tensorDigest(t: Tensor): Uint8Array {
  return sha256(canonicalHeader(t), merkleRootOfChunks(canonicalData(t), CHUNK_BYTES));
}

/** A list of tensors (a request's inputs, a result's outputs) is committed by SHA-256 over their digests. */
export function tensorListDigest(ts: readonly Tensor[]): Uint8Array {
  return sha256(...ts.map(tensorDigest));
}
