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

/**
 * Many independent hashes in one call, the shape of every Merkle level:
 * for i = 0 .. ceil(data.length / runBytes) - 1,
 *   out[32i, 32i + 32) = SHA-256(u8(prefix) || data[i * runBytes, min((i + 1) * runBytes, data.length)))
 * (leaves: prefix 0x00 and 1,024-byte chunks; interior nodes: prefix 0x01 and 64-byte
 * pairs of child hashes). `out` does not overlap `data`. A platform can hash the runs
 * several at a time (SIMD lanes, one call into WebAssembly) instead of one call each.
 */
export type Sha256Runs = (prefix: number, data: Uint8Array, runBytes: number, out: Uint8Array) => void;

/** Number of runs `data` is cut into (the last may be shorter; none when empty). */
export const runCount = (length: number, runBytes: number): number => Math.ceil(length / runBytes);

/**
 * Sha256Runs from a one-message hash `into(msg, out, at)` that writes SHA-256(msg) to
 * out[at, at + 32): each run is joined to its prefix in one scratch buffer (no
 * allocation per run) and hashed with one call.
 */
export function runsInto(into: (msg: Uint8Array, out: Uint8Array, at: number) => void): Sha256Runs {
  let scratch = new Uint8Array(0);
  return (prefix, data, runBytes, out) => {
    if (scratch.length < runBytes + 1) scratch = new Uint8Array(runBytes + 1);
    scratch[0] = prefix;
    const n = runCount(data.length, runBytes);
    for (let i = 0; i < n; i++) {
      const run = data.subarray(i * runBytes, Math.min((i + 1) * runBytes, data.length));
      scratch.set(run, 1);
      into(scratch.subarray(0, run.length + 1), out, 32 * i);
    }
  };
}

/** Sha256Runs on top of any one-at-a-time implementation. */
export function runsFrom(f: Sha256Implementation): Sha256Runs {
  const parts: Uint8Array[] = [new Uint8Array(0)];
  return runsInto((msg, out, at) => {
    parts[0] = msg;
    out.set(f(parts), at);
  });
}

let implementation: Sha256Implementation = portableSha256;
let runsImplementation: Sha256Runs = runsFrom(portableSha256);

/**
 * Installs a faster SHA-256 for this platform (Node's native one is installed
 * by src/platform/node.ts; a WebAssembly one by src/hash/wasm.ts), optionally with
 * its batched form (default: `runsFrom(f)`). Every implementation computes the same
 * function, so digests never depend on which one ran.
 */
export function setSha256Implementation(f: Sha256Implementation, runs: Sha256Runs = runsFrom(f)): void {
  implementation = f;
  runsImplementation = runs;
}

/** The installed implementation (to restore it after a benchmark or test swaps in another). */
export function getSha256Implementation(): { f: Sha256Implementation; runs: Sha256Runs } {
  return { f: implementation, runs: runsImplementation };
}

/** Hashes `prefix || run` for each `runBytes` run of `data` into `out` (see Sha256Runs). */
export function sha256Runs(prefix: number, data: Uint8Array, runBytes: number, out: Uint8Array): void {
  if (out.length < 32 * runCount(data.length, runBytes)) throw new RangeError('sha256Runs: output too short');
  runsImplementation(prefix, data, runBytes, out);
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
