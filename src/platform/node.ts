// Node.js platform setup: installs native implementations behind the portable
// interfaces of the browser-safe layers. Import once at a Node entry point.
import * as nodeCrypto from 'node:crypto';
import { runsInto, setSha256Implementation, type Sha256Implementation, type Sha256Runs } from '../hash/sha256.js';
import { createSha256x4Runs } from '../hash/sha256x4.js';

// One-shot crypto.hash (Node >= 20.12) skips the Hash object. Digests come back as
// 'binary' strings and are copied into our own bytes: a per-call Buffer plus
// Uint8Array.set(Buffer) cost about as much as hashing a 1 KiB chunk with SHA-NI
// (measured: 1,024 leaf hashes 1.2 -> 0.88 ms, 512 interior nodes 0.35 -> 0.17 ms).
type OneShot = (alg: string, data: Uint8Array, enc: 'binary') => string;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;
const hashBinary: (data: Uint8Array) => string = oneShot
  ? (data) => oneShot('sha256', data, 'binary')
  : (data) => nodeCrypto.createHash('sha256').update(data).digest('binary');

function putDigest(s: string, out: Uint8Array, off: number): void {
  for (let j = 0; j < 32; j++) out[off + j] = s.charCodeAt(j);
}

// small multi-part inputs (a prefix byte and a 1 KiB chunk) are joined in a scratch buffer
const SCRATCH = new Uint8Array(4096);

export const nodeSha256: Sha256Implementation = (parts) => {
  const out = new Uint8Array(32);
  if (parts.length === 1) {
    putDigest(hashBinary(parts[0]!), out, 0);
    return out;
  }
  let n = 0;
  for (const p of parts) n += p.length;
  if (n <= SCRATCH.length) {
    let off = 0;
    for (const p of parts) {
      SCRATCH.set(p, off);
      off += p.length;
    }
    putDigest(hashBinary(SCRATCH.subarray(0, n)), out, 0);
    return out;
  }
  const h = nodeCrypto.createHash('sha256');
  for (const p of parts) h.update(p);
  putDigest(h.digest('binary'), out, 0);
  return out;
};

/** Batched form: one native one-shot hash per run, no allocation per run but the digest string. */
export const nodeSha256Runs: Sha256Runs = runsInto((msg, out, at) => putDigest(hashBinary(msg), out, at));

/**
 * Below this run length the WebAssembly SIMD batch (four messages per instruction, one
 * call per level) beats one native call per message, whose fixed cost then dominates
 * (measured, 1,024 runs: 64 B 0.29 vs 0.41 ms, 128 B 0.33 vs 0.42, 256 B 0.50 vs 0.49,
 * 1 KiB 1.70 vs 1.01). So interior Merkle nodes (64-byte pairs) go to SIMD, 1 KiB chunk
 * leaves to SHA-NI.
 */
export const SIMD_BELOW_BYTES = 256;

// instantiated on first use (its memory is one 64 KiB page until a batch needs more)
let x4: Sha256Runs | null | undefined;

/** Native SHA-256 per run for long runs, the SIMD batch for short ones (same digests). */
export const nodeBatchedRuns: Sha256Runs = (prefix, data, runBytes, out) => {
  if (runBytes < SIMD_BELOW_BYTES && (x4 ??= createSha256x4Runs() ?? null)) x4(prefix, data, runBytes, out);
  else nodeSha256Runs(prefix, data, runBytes, out);
};

setSha256Implementation(nodeSha256, nodeBatchedRuns);
