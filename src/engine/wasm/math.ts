/**
 * WebAssembly SIMD float32 transcendental and Softmax kernels (math.wat). Each function
 * returns false when WebAssembly SIMD is unavailable or the job is too large; the caller
 * then runs its plain TypeScript loop (the reference), which gives the same bits.
 */
import { wasmBytes } from './math.wasm.js';
import { PIECE_BYTES, SCRATCH_BASE, WasmKernelModule, align16, type KernelExports } from './runtime.js';

type UnaryFn = (x: number, y: number, n: number) => void;

interface MathExports extends KernelExports {
  exp_f32: UnaryFn;
  erf_f32: UnaryFn;
  sigmoid_f32: UnaryFn;
  tanh_f32: UnaryFn;
  layernorm_f32: (x: number, y: number, rows: number, n: number, eps: number, sc: number, bi: number, hasBias: number, mo: number, io: number, fl: number) => void;
  softmax_rows_f32: (x: number, y: number, st: number, tmp: number, rows: number, N: number, log: number) => void;
  rows_sub_f32: (y: number, c: number, rows: number, N: number) => void;
  gelu_f32: (x: number, y: number, n: number, tanh: number) => void;
  softmax_cols_f32: (x: number, y: number, mo: number, so: number, outer: number, N: number, inner: number, log: number) => void;
  cols_sub_f32: (y: number, l: number, outer: number, N: number, inner: number) => void;
}

const mod = new WasmKernelModule<MathExports>(wasmBytes, { shared: true });

/**
 * Bytes [0, TABLE_END) of the module memory hold its constant tables (math.wat $init).
 * The memory is the scratch memory shared by the kernel modules, whose jobs all start at
 * SCRATCH_BASE, so the tables written once at instantiation are never overwritten.
 */
export const TABLE_END = SCRATCH_BASE;

/** The float32 unary functions with a SIMD kernel: y = f32(<fn>64(x)) from ../math. */
export type UnaryOpF32 = 'exp' | 'erf' | 'sigmoid' | 'tanh';

/**
 * y[i] = Math.fround(fn64(x[i])) for i < min(x.length, y.length), fn64 = exp64,
 * erf64, sigmoid64 or tanh64: the same float64 operations in the same order (see math.wat), so
 * the same bits, NaNs included (a NaN input comes out quieted, sign and payload kept).
 */
export function unaryF32Wasm(op: UnaryOpF32, x: Float32Array, y: Float32Array): boolean {
  const n = Math.min(x.length, y.length);
  // in pieces of PIECE_BYTES, in place: each kernel loads a vector of x before it stores that vector of y
  const step = Math.min(n, PIECE_BYTES >> 2);
  const w = mod.memory(TABLE_END + align16(step * 4));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  const o = TABLE_END >> 2;
  const fn = op === 'exp' ? w.exp_f32 : op === 'erf' ? w.erf_f32 : op === 'sigmoid' ? w.sigmoid_f32 : w.tanh_f32;
  for (let i = 0; i < n; i += step) {
    const k = Math.min(step, n - i);
    v.set(x.subarray(i, i + k), o);
    fn(TABLE_END, TABLE_END, k);
    y.set(v.subarray(o, o + k), i);
  }
  return true;
}

/**
 * Gelu on float32: y[i] = f32(x[i] * c(x[i])) with c the float64 expression of unary.ts
 * Gelu ('none': erf64, tanh = true: tanh64), the same operations in the same order (see
 * math.wat gelu_f32). Every output that comes out NaN is left to `fallback(i)`, which
 * must compute element i with the reference (NaN bits are the reference's business).
 * Returns false (nothing written) when WebAssembly SIMD is unavailable or the job is too large.
 */
export function geluF32Wasm(x: Float32Array, y: Float32Array, tanh: boolean, fallback: (i: number) => void): boolean {
  const n = Math.min(x.length, y.length);
  // in pieces of PIECE_BYTES, in place: gelu_f32 loads a vector of x before it stores that vector of y
  const step = Math.min(n, PIECE_BYTES >> 2);
  const w = mod.memory(TABLE_END + align16(step * 4));
  if (!w) return false;
  const o = TABLE_END >> 2;
  for (let i = 0; i < n; i += step) {
    const k = Math.min(step, n - i);
    const v = new Float32Array(w.mem.buffer); // per piece: the fallbacks are caller code
    v.set(x.subarray(i, i + k), o);
    w.gelu_f32(TABLE_END, TABLE_END, k, tanh ? 1 : 0);
    y.set(v.subarray(o, o + k), i);
    for (let j = i; j < i + k; j++) if (y[j] !== y[j]) fallback(j);
  }
  return true;
}

/**
 * Softmax / LogSoftmax over `rows` contiguous rows of N float32 values (inner = 1),
 * the canonical order of reduce.ts softmaxF32 (see math.wat softmax_rows_f32). Rows
 * whose maximum is not finite (NaN, ±Inf) are left to `fallback(r)`, which must compute
 * row r with the reference; `logf` is the reference float32 log (LogSoftmax: l = logf(s)).
 * Returns false (nothing written) when WebAssembly SIMD is unavailable or the job is too large.
 */
export function softmaxRowsF32Wasm(
  x: Float32Array,
  y: Float32Array,
  rows: number,
  N: number,
  log: boolean,
  logf: (v: number) => number,
  fallback: (r: number) => void,
): boolean {
  // rows are independent: pieces of whole rows of about PIECE_BYTES (x and y)
  const step = Math.max(1, Math.min(rows, Math.floor(PIECE_BYTES / (8 * N))));
  // x and y (and tmp) get 16 spare bytes: a row's last vector reads/writes up to 12 bytes past it
  const xBytes = align16(step * N * 4) + 16;
  const tBytes = log ? align16(N * 4) + 16 : 0;
  const xAt = TABLE_END;
  const yAt = xAt + xBytes;
  const tAt = yAt + xBytes;
  const sAt = tAt + tBytes;
  const w = mod.memory(sAt + align16(step * 8));
  if (!w) return false;
  const st = sAt >> 2;
  for (let r0 = 0; r0 < rows; r0 += step) {
    const k = Math.min(step, rows - r0);
    const v = new Float32Array(w.mem.buffer); // per piece: logf and the fallbacks are caller code
    v.set(x.subarray(r0 * N, (r0 + k) * N), xAt >> 2);
    w.softmax_rows_f32(xAt, yAt, sAt, tAt, k, N, log ? 1 : 0);
    let bad: number[] | undefined;
    for (let r = 0; r < k; r++) {
      const m = v[st + 2 * r]!;
      if (m - m !== 0) (bad ??= []).push(r0 + r); // NaN or ±Inf
      else if (log) v[st + r] = logf(v[st + 2 * r + 1]!); // l in place, row r's slot is read already
    }
    if (log) w.rows_sub_f32(yAt, sAt, k, N);
    y.set(v.subarray(yAt >> 2, (yAt >> 2) + k * N), r0 * N);
    if (bad) for (const r of bad) fallback(r);
  }
  return true;
}

/**
 * Softmax / LogSoftmax over the columns of `outer` slices [N, inner] of float32 values,
 * inner >= 4 (a softmax axis that is not the last one): the canonical order of reduce.ts
 * softmaxF32 per column (see math.wat softmax_cols_f32; lanes are 4 adjacent columns).
 * Slices with a column whose maximum is not finite (NaN, ±Inf) are left to
 * `fallback(o)`, which must compute slice o with the reference; `logf` is the reference
 * float32 log (LogSoftmax: l = logf(s)). Returns false (nothing written) when WebAssembly
 * SIMD is unavailable, inner < 4 or the job is too large.
 */
export function softmaxColsF32Wasm(
  x: Float32Array,
  y: Float32Array,
  outer: number,
  N: number,
  inner: number,
  log: boolean,
  logf: (v: number) => number,
  fallback: (o: number) => void,
): boolean {
  if (inner < 4) return false;
  // slices are independent: pieces of whole slices [N, inner] of about PIECE_BYTES (x and y)
  const S = N * inner;
  const step = Math.max(1, Math.min(outer, Math.floor(PIECE_BYTES / (8 * S))));
  const xBytes = align16(step * S * 4);
  const cBytes = align16(step * inner * 4);
  const xAt = TABLE_END;
  const yAt = xAt + xBytes;
  const mAt = yAt + xBytes;
  const sAt = mAt + cBytes;
  const w = mod.memory(sAt + cBytes);
  if (!w) return false;
  const mo = mAt >> 2;
  const so = sAt >> 2;
  for (let o0 = 0; o0 < outer; o0 += step) {
    const k = Math.min(step, outer - o0);
    const v = new Float32Array(w.mem.buffer); // per piece: logf and the fallbacks are caller code
    v.set(x.subarray(o0 * S, (o0 + k) * S), xAt >> 2);
    w.softmax_cols_f32(xAt, yAt, mAt, sAt, k, N, inner, log ? 1 : 0);
    let bad: number[] | undefined;
    for (let o = 0; o < k; o++) {
      const b = o * inner;
      let ok = true;
      for (let c = 0; c < inner; c++) {
        const m = v[mo + b + c]!;
        if (m - m !== 0) ok = false; // NaN or ±Inf
      }
      if (!ok) (bad ??= []).push(o0 + o);
      else if (log) for (let c = 0; c < inner; c++) v[so + b + c] = logf(v[so + b + c]!); // l in place of s
    }
    if (log) w.cols_sub_f32(yAt, sAt, k, N, inner);
    y.set(v.subarray(yAt >> 2, (yAt >> 2) + k * S), o0 * S);
    if (bad) for (const o of bad) fallback(o);
  }
  return true;
}

/**
 * LayerNormalization over `rows` contiguous rows of n float32 values with float32
 * statistics and per-position scale / optional bias (normalization.ts standardizeRowsF32
 * with no broadcast map; order in math.wat layernorm_f32). mean[r] and inv[r] receive
 * the row statistics. Rows with a non-finite statistic or output are left to
 * `fallback(r)`, which must compute row r (y and statistics) with the reference.
 * scale and bias hold n float32-exact values. Returns false (nothing written) when
 * WebAssembly SIMD is unavailable, the job is too large or n > 2^24.
 */
export function layerNormRowsF32Wasm(
  x: Float32Array,
  y: Float32Array,
  rows: number,
  n: number,
  eps: number,
  scale: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  mean: Float32Array,
  inv: Float32Array,
  fallback: (r: number) => void,
): boolean {
  if (n > 2 ** 24) return false;
  // rows are independent: pieces of whole rows of about PIECE_BYTES (x and y); scale and bias copied once
  const step = Math.max(1, Math.min(rows, Math.floor(PIECE_BYTES / (8 * n))));
  const xBytes = align16(step * n * 4);
  const pBytes = align16(n * 4);
  const rBytes = align16(step * 4);
  const sAt = TABLE_END;
  const bAt = sAt + pBytes;
  const xAt = bAt + pBytes;
  const yAt = xAt + xBytes;
  const mAt = yAt + xBytes;
  const iAt = mAt + rBytes;
  const fAt = iAt + rBytes;
  const w = mod.memory(fAt + rBytes);
  if (!w) return false;
  const v0 = new Float32Array(w.mem.buffer);
  v0.set(scale, sAt >> 2);
  if (bias) v0.set(bias, bAt >> 2);
  for (let r0 = 0; r0 < rows; r0 += step) {
    const k = Math.min(step, rows - r0);
    // views per piece: the fallbacks of the previous piece ran caller code
    const v = new Float32Array(w.mem.buffer);
    v.set(x.subarray(r0 * n, (r0 + k) * n), xAt >> 2);
    w.layernorm_f32(xAt, yAt, k, n, eps, sAt, bAt, bias ? 1 : 0, mAt, iAt, fAt);
    y.set(v.subarray(yAt >> 2, (yAt >> 2) + k * n), r0 * n);
    mean.set(v.subarray(mAt >> 2, (mAt >> 2) + k), r0);
    inv.set(v.subarray(iAt >> 2, (iAt >> 2) + k), r0);
    const fl = new Int32Array(w.mem.buffer, fAt, k);
    let bad: number[] | undefined;
    for (let r = 0; r < k; r++) if (fl[r]) (bad ??= []).push(r0 + r);
    if (bad) for (const r of bad) fallback(r);
  }
  return true;
}
