/**
 * WebAssembly SIMD float32 reductions (reduce.wat), the fast path of reduce.ts reduceInto.
 * Returns false (nothing written) when WebAssembly SIMD is unavailable, the job is too
 * large or too small, its axes do not form one reduced block [O, R, C], or any output is
 * NaN; the caller then runs its plain TypeScript loop (the reference), which gives the
 * same bits for every other output.
 */
import { wasmBytes } from './reduce.wasm.js';
import { PIECE_BYTES, SCRATCH_BASE, WasmKernelModule, align16, type KernelExports } from './runtime.js';

type ReduceFn = (mode: number, x: number, y: number, O: number, R: number, C: number) => void;

interface ReduceExports extends KernelExports {
  reduce_cols_f32: ReduceFn;
  reduce_lanes_f32: ReduceFn;
  arg_f32: (x: number, y: number, O: number, R: number, C: number, isMax: number, last: number) => void;
}

const mod = new WasmKernelModule<ReduceExports>(wasmBytes, { shared: true });

/** Modes of reduce.wat, the same numbers as reduce.ts (SUM, SUMSQ, L1, PROD, MAX, MIN). */
export const REDUCE_MODES = 6;

/** Below this many input elements the JS loop wins (copying into wasm memory costs more). */
const MIN_ELEMENTS = 256;

/**
 * [O, R, C] for `shape` reduced over the flagged axes, when the reduced axes form one
 * contiguous block once axes of size 1 are dropped (O: kept axes before, C: kept axes
 * after); undefined otherwise (several reduced blocks, nothing reduced, or empty).
 */
export function reduceLayout(shape: readonly number[], isRed: readonly boolean[]): [number, number, number] | undefined {
  let O = 1, R = 1, C = 1;
  let phase = 0; // 0: before the reduced block, 1: inside it, 2: after it
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 0) return undefined;
    if (d === 1) continue;
    if (isRed[i]) {
      if (phase === 2) return undefined;
      phase = 1;
      R *= d;
    } else if (phase === 0) O *= d;
    else {
      phase = 2;
      C *= d;
    }
  }
  return phase === 0 ? undefined : [O, R, C];
}

/**
 * y[o*C + c] = reduction `mode` of x[o, r, c] over r = 0..R-1 in increasing r, from the
 * identity, with the float32 steps of reduce.ts runF32 (see reduce.wat), for x of
 * `shape` reduced over the flagged axes. `y` holds the O*C outputs. Returns false
 * (nothing written) when the fast path does not apply (see the module comment).
 */
export function reduceF32Wasm(mode: number, x: Float32Array, shape: readonly number[], isRed: readonly boolean[], y: Float32Array): boolean {
  if (mode < 0 || mode >= REDUCE_MODES || x.length < MIN_ELEMENTS) return false;
  const lay = reduceLayout(shape, isRed);
  if (!lay) return false;
  const [O, R, C] = lay;
  const n = O * C;
  // one output (a full reduction) is a single sequential chain: nothing to vectorise
  if (n < 4 || O * R * C !== x.length || y.length !== n) return false;
  // outer blocks are independent: x goes in pieces of whole blocks [R, C] of about
  // PIECE_BYTES while every output stays in wasm memory until all are checked
  const step = Math.max(1, Math.min(O, Math.floor(PIECE_BYTES / (4 * R * C))));
  const yAt = SCRATCH_BASE;
  const xAt = yAt + align16(n * 4);
  const w = mod.memory(xAt + align16(step * R * C * 4));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  const fn = C >= 4 ? w.reduce_cols_f32 : w.reduce_lanes_f32;
  for (let o = 0; o < O; o += step) {
    const k = Math.min(step, O - o);
    v.set(x.subarray(o * R * C, (o + k) * R * C), xAt >> 2);
    fn(mode, xAt, yAt + o * C * 4, k, R, C);
  }
  const out = v.subarray(yAt >> 2, (yAt >> 2) + n);
  // NaN outputs' bit patterns are the reference's business: hand the whole job back
  for (let i = 0; i < n; i++) if (out[i] !== out[i]) return false;
  y.set(out);
  return true;
}

/**
 * ArgMax (isMax) / ArgMin of float32 x [outer, N, inner] along N, select_last_index =
 * `last`: y[o*inner + k] = the index reduce.ts argKernel's scan picks (see reduce.wat
 * arg_f32; an index, so NaN inputs need no fallback). Returns false (nothing written)
 * when WebAssembly SIMD is unavailable, the job is too large or too small, or N = 0.
 */
export function argF32Wasm(x: Float32Array, outer: number, N: number, inner: number, isMax: boolean, last: boolean, y: BigInt64Array): boolean {
  const n = outer * inner;
  if (N < 1 || n < 4 || x.length < MIN_ELEMENTS || outer * N * inner !== x.length || y.length !== n) return false;
  // outer slices are independent: x goes in pieces of whole slices [N, inner] of about PIECE_BYTES
  const step = Math.max(1, Math.min(outer, Math.floor(PIECE_BYTES / (4 * N * inner))));
  const yAt = SCRATCH_BASE;
  const xAt = yAt + align16(n * 4);
  const w = mod.memory(xAt + align16(step * N * inner * 4));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  for (let o = 0; o < outer; o += step) {
    const k = Math.min(step, outer - o);
    v.set(x.subarray(o * N * inner, (o + k) * N * inner), xAt >> 2);
    w.arg_f32(xAt, yAt + o * inner * 4, k, N, inner, isMax ? 1 : 0, last ? 1 : 0);
  }
  const idx = new Int32Array(w.mem.buffer, yAt, n);
  for (let i = 0; i < n; i++) y[i] = BigInt(idx[i]!);
  return true;
}
