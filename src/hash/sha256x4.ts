// Batched SHA-256 in WebAssembly SIMD: four independent messages per i32x4 lane group
// (sha256x4.wat, assembled into sha256x4.wasm.ts). It serves the Sha256Runs shape of
// every Merkle level (all leaves of a tensor, all pairs of a level) in one call into
// WebAssembly; single messages go to another implementation (`single`).
// Browser-safe: WebAssembly and typed arrays only.
import { runCount, type Sha256Implementation, type Sha256Runs } from './sha256.js';
import { wasmBytes } from './sha256x4.wasm.js';

interface Exports {
  mem: WebAssembly.Memory;
  hash_many: (msg: number, stride: number, count: number, blocks: number, out: number) => void;
}

/** FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const MSG = 4096; // first byte of the message area (below: K and the W scratch)

/** The batched implementation, or undefined where WebAssembly SIMD is missing. */
export function createSha256x4Runs(): Sha256Runs | undefined {
  let w: Exports;
  try {
    w = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes() as BufferSource), {}).exports as unknown as Exports;
  } catch {
    return undefined;
  }
  const writeK = () => {
    const k = new Uint32Array(w.mem.buffer, 0, 256);
    for (let t = 0; t < 64; t++) k.fill(K[t]!, 4 * t, 4 * t + 4);
  };
  writeK();

  /**
   * Lays out `count` padded messages prefix || data[lo + i*len, +len) at `at` (stride
   * bytes apart) and hashes them; digests land at `out`.
   */
  const hashEqual = (prefix: number, data: Uint8Array, lo: number, len: number, count: number, out: Uint8Array, outOff: number) => {
    const blocks = Math.ceil((len + 1 + 9) / 64); // prefix, data, 0x80, 64-bit length
    const stride = 64 * blocks;
    const digestsAt = MSG + stride * count;
    const need = digestsAt + 32 * 4 * Math.ceil(count / 4);
    if (w.mem.buffer.byteLength < need) w.mem.grow(Math.ceil((need - w.mem.buffer.byteLength) / 65536));
    const mem = new Uint8Array(w.mem.buffer);
    const bits = (len + 1) * 8;
    for (let i = 0; i < count; i++) {
      const m = MSG + stride * i;
      mem[m] = prefix;
      mem.set(data.subarray(lo + len * i, lo + len * (i + 1)), m + 1);
      mem[m + 1 + len] = 0x80;
      mem.fill(0, m + 2 + len, m + stride - 4);
      // bit length, big-endian (messages here are far below 2^29 bytes: the high word is 0)
      mem[m + stride - 4] = bits >>> 24;
      mem[m + stride - 3] = (bits >>> 16) & 0xff;
      mem[m + stride - 2] = (bits >>> 8) & 0xff;
      mem[m + stride - 1] = bits & 0xff;
    }
    w.hash_many(MSG, stride, count, blocks, digestsAt);
    out.set(mem.subarray(digestsAt, digestsAt + 32 * count), outOff);
  };

  return (prefix, data, runBytes, out) => {
    const n = runCount(data.length, runBytes);
    if (n === 0) return;
    if (data.length >= 2 ** 28) throw new RangeError('sha256x4: input too large');
    const full = Math.floor(data.length / runBytes);
    // bounded batches keep the wasm memory small (it never shrinks)
    const batch = Math.max(4, 4 * Math.floor((1 << 20) / (4 * (runBytes + 73))));
    for (let i = 0; i < full; i += batch) hashEqual(prefix, data, i * runBytes, runBytes, Math.min(batch, full - i), out, 32 * i);
    if (full < n) hashEqual(prefix, data, full * runBytes, data.length - full * runBytes, 1, out, 32 * full);
  };
}

/** A Sha256Implementation pair: `single` for one message, the SIMD batch for runs. */
export function sha256x4(single: Sha256Implementation): { sha256: Sha256Implementation; runs: Sha256Runs } | undefined {
  const runs = createSha256x4Runs();
  return runs && { sha256: single, runs };
}
