/**
 * WebAssembly SIMD float32 transcendental and Softmax kernels (math.wat). Each function
 * returns false when WebAssembly SIMD is unavailable or the job is too large; the caller
 * then runs its plain TypeScript loop (the reference), which gives the same bits.
 */
import { wasmBytes } from './math.wasm.js';
import { WasmKernelModule, align16, type KernelExports } from './runtime.js';

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

const mod = new WasmKernelModule<MathExports>(wasmBytes);

/** Bytes [0, TABLE_END) of the module memory hold its constant tables (math.wat $init). */
export const TABLE_END = 1024;

/** The float32 unary functions with a SIMD kernel: y = f32(<fn>64(x)) from ../math. */
export type UnaryOpF32 = 'exp' | 'erf' | 'sigmoid' | 'tanh';

/**
 * y[i] = Math.fround(fn64(x[i])) for i < min(x.length, y.length), fn64 = exp64,
 * erf64, sigmoid64 or tanh64: the same float64 operations in the same order (see math.wat), so
 * the same bits, NaNs included (a NaN input comes out quieted, sign and payload kept).
 */
export function unaryF32Wasm(op: UnaryOpF32, x: Float32Array, y: Float32Array): boolean {
  const n = Math.min(x.length, y.length);
  const bytes = align16(n * 4);
  const w = mod.memory(TABLE_END + 2 * bytes);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(x.subarray(0, n), TABLE_END >> 2);
  const fn = op === 'exp' ? w.exp_f32 : op === 'erf' ? w.erf_f32 : op === 'sigmoid' ? w.sigmoid_f32 : w.tanh_f32;
  fn(TABLE_END, TABLE_END + bytes, n);
  const o = (TABLE_END + bytes) >> 2;
  y.set(v.subarray(o, o + n));
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
  const bytes = align16(n * 4);
  const w = mod.memory(TABLE_END + 2 * bytes);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(x.subarray(0, n), TABLE_END >> 2);
  w.gelu_f32(TABLE_END, TABLE_END + bytes, n, tanh ? 1 : 0);
  const o = (TABLE_END + bytes) >> 2;
  const out = v.subarray(o, o + n);
  y.set(out);
  for (let i = 0; i < n; i++) if (out[i] !== out[i]) fallback(i);
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
  const total = rows * N;
  // x and y (and tmp) get 16 spare bytes: a row's last vector reads/writes up to 12 bytes past it
  const xBytes = align16(total * 4) + 16;
  const tBytes = log ? align16(N * 4) + 16 : 0;
  const sBytes = align16(rows * 8);
  const w = mod.memory(TABLE_END + 2 * xBytes + tBytes + sBytes);
  if (!w) return false;
  const xAt = TABLE_END;
  const yAt = xAt + xBytes;
  const tAt = yAt + xBytes;
  const sAt = tAt + tBytes;
  const v = new Float32Array(w.mem.buffer);
  v.set(x.subarray(0, total), xAt >> 2);
  w.softmax_rows_f32(xAt, yAt, sAt, tAt, rows, N, log ? 1 : 0);
  const st = sAt >> 2;
  let bad: number[] | undefined;
  for (let r = 0; r < rows; r++) {
    const m = v[st + 2 * r]!;
    if (m - m !== 0) (bad ??= []).push(r); // NaN or ±Inf
    else if (log) v[st + r] = logf(v[st + 2 * r + 1]!); // l in place, row r's slot is read already
  }
  if (log) w.rows_sub_f32(yAt, sAt, rows, N);
  y.set(v.subarray(yAt >> 2, (yAt >> 2) + total));
  if (bad) for (const r of bad) fallback(r);
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
  const total = outer * N * inner;
  const cols = outer * inner;
  const xBytes = align16(total * 4);
  const cBytes = align16(cols * 4);
  const w = mod.memory(TABLE_END + 2 * xBytes + 2 * cBytes);
  if (!w) return false;
  const xAt = TABLE_END;
  const yAt = xAt + xBytes;
  const mAt = yAt + xBytes;
  const sAt = mAt + cBytes;
  const v = new Float32Array(w.mem.buffer);
  v.set(x.subarray(0, total), xAt >> 2);
  w.softmax_cols_f32(xAt, yAt, mAt, sAt, outer, N, inner, log ? 1 : 0);
  const mo = mAt >> 2;
  const so = sAt >> 2;
  let bad: number[] | undefined;
  for (let o = 0; o < outer; o++) {
    const b = o * inner;
    let ok = true;
    for (let c = 0; c < inner; c++) {
      const m = v[mo + b + c]!;
      if (m - m !== 0) ok = false; // NaN or ±Inf
    }
    if (!ok) (bad ??= []).push(o);
    else if (log) for (let c = 0; c < inner; c++) v[so + b + c] = logf(v[so + b + c]!); // l in place of s
  }
  if (log) w.cols_sub_f32(yAt, sAt, outer, N, inner);
  y.set(v.subarray(yAt >> 2, (yAt >> 2) + total));
  if (bad) for (const o of bad) fallback(o);
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
  const total = rows * n;
  const xBytes = align16(total * 4);
  const pBytes = align16(n * 4);
  const rBytes = align16(rows * 4);
  const w = mod.memory(TABLE_END + 2 * xBytes + 2 * pBytes + 3 * rBytes);
  if (!w) return false;
  const xAt = TABLE_END;
  const yAt = xAt + xBytes;
  const sAt = yAt + xBytes;
  const bAt = sAt + pBytes;
  const mAt = bAt + pBytes;
  const iAt = mAt + rBytes;
  const fAt = iAt + rBytes;
  const v = new Float32Array(w.mem.buffer);
  v.set(x.subarray(0, total), xAt >> 2);
  v.set(scale, sAt >> 2);
  if (bias) v.set(bias, bAt >> 2);
  w.layernorm_f32(xAt, yAt, rows, n, eps, sAt, bAt, bias ? 1 : 0, mAt, iAt, fAt);
  y.set(v.subarray(yAt >> 2, (yAt >> 2) + total));
  mean.set(v.subarray(mAt >> 2, (mAt >> 2) + rows));
  inv.set(v.subarray(iAt >> 2, (iAt >> 2) + rows));
  const fl = new Int32Array(w.mem.buffer, fAt, rows).slice();
  for (let r = 0; r < rows; r++) if (fl[r]) fallback(r);
  return true;
}
