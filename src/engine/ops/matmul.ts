/**
 * Matrix products: MatMul, Gemm, Einsum, MatMulInteger.
 *
 * Canonical dot product (DESIGN.md), for every output element:
 *   acc = +0; for k = 0 .. K-1 (increasing): acc = f32(acc + f32(a[k] * b[k]))
 * float64 tensors use the same order in plain doubles; integer tensors use the
 * type's wrap-around arithmetic (int32/uint32 modulo 2^32, int64/uint64 modulo 2^64),
 * where the order does not matter.
 *
 * Schedule of the float32 kernel (does not change any element's order): i-k-j.
 * For a group of output rows, the rows of C live in the output Float32Array and
 * are updated for k = 0, 1, 2, ... in turn:
 *     C[i,j] = Math.fround(C[i,j] + Math.fround(a[i,k] * b[k,j]))
 * Why this is exactly the canonical step f32(acc + f32(a*b)):
 *  - a[i,k] and b[k,j] are float32 values, so their double product is exact
 *    (24+24 <= 53 bits) and Math.fround rounds it once: f32(a*b).
 *  - C[i,j] + x adds two float32 values in double; that double sum rounded to
 *    float32 (by Math.fround, or equally by the store into the Float32Array) equals
 *    the float32-rounded exact sum, because double rounding is innocuous for
 *    + - * / when 53 >= 2*24 + 2 (Figueroa 1995).
 *  - C starts zero-filled (+0), so every element starts from acc = +0: a dot product
 *    whose products are all -0 gives +0.
 * The explicit Math.fround on the add is redundant with the store but lets V8 select
 * float32 instructions (~1.7x faster).
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { broadcastStrides } from '../broadcast.js';
import { DType, dtypeName, type TensorData } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { gemmF32BatchWasm, gemmF32WasmOnce, isConstant, packedWeights, type GemmScale } from '../wasm/gemm.js';
import { prod } from './util.js';

// ---------------------------------------------------------------------------
// Core kernels: C[cOff + i*N + j] (+)= sum_k A[aOff + i*K + k] * B[bOff + k*N + j]
// C must be zero on entry (fresh ctx.alloc buffers are).
// ---------------------------------------------------------------------------

const f32 = Math.fround;

/**
 * float32 i-k-j product, register-blocked 4 rows x 4 k: for each j the four partial
 * sums of a 4x4 block go k, k+1, k+2, k+3 in order, each step
 * f32(acc + f32(a*b)) — exactly the canonical sequence for every element. Writing
 * Math.fround around every add (not only relying on the store) lets V8 use float32
 * arithmetic; it is the same value (see the file comment). C must be zero-filled.
 */
export function gemmF32Js(
  A: Float32Array, aOff: number,
  B: Float32Array, bOff: number,
  C: Float32Array, cOff: number,
  M: number, K: number, N: number,
): void {
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = aOff + i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    const c0 = cOff + i * N;
    const c1 = c0 + N;
    const c2 = c1 + N;
    const c3 = c2 + N;
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const b0 = bOff + k * N;
      const b1 = b0 + N;
      const b2 = b1 + N;
      const b3 = b2 + N;
      const x00 = A[a0 + k]!, x01 = A[a0 + k + 1]!, x02 = A[a0 + k + 2]!, x03 = A[a0 + k + 3]!;
      const x10 = A[a1 + k]!, x11 = A[a1 + k + 1]!, x12 = A[a1 + k + 2]!, x13 = A[a1 + k + 3]!;
      const x20 = A[a2 + k]!, x21 = A[a2 + k + 1]!, x22 = A[a2 + k + 2]!, x23 = A[a2 + k + 3]!;
      const x30 = A[a3 + k]!, x31 = A[a3 + k + 1]!, x32 = A[a3 + k + 2]!, x33 = A[a3 + k + 3]!;
      for (let j = 0; j < N; j++) {
        const y0 = B[b0 + j]!, y1 = B[b1 + j]!, y2 = B[b2 + j]!, y3 = B[b3 + j]!;
        C[c0 + j] = f32(f32(f32(f32(C[c0 + j]! + f32(x00 * y0)) + f32(x01 * y1)) + f32(x02 * y2)) + f32(x03 * y3));
        C[c1 + j] = f32(f32(f32(f32(C[c1 + j]! + f32(x10 * y0)) + f32(x11 * y1)) + f32(x12 * y2)) + f32(x13 * y3));
        C[c2 + j] = f32(f32(f32(f32(C[c2 + j]! + f32(x20 * y0)) + f32(x21 * y1)) + f32(x22 * y2)) + f32(x23 * y3));
        C[c3 + j] = f32(f32(f32(f32(C[c3 + j]! + f32(x30 * y0)) + f32(x31 * y1)) + f32(x32 * y2)) + f32(x33 * y3));
      }
    }
    for (; k < K; k++) {
      const x0 = A[a0 + k]!, x1 = A[a1 + k]!, x2 = A[a2 + k]!, x3 = A[a3 + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) {
        const y = B[bk + j]!;
        C[c0 + j] = f32(C[c0 + j]! + f32(x0 * y));
        C[c1 + j] = f32(C[c1 + j]! + f32(x1 * y));
        C[c2 + j] = f32(C[c2 + j]! + f32(x2 * y));
        C[c3 + j] = f32(C[c3 + j]! + f32(x3 * y));
      }
    }
  }
  for (; i < M; i++) {
    const a0 = aOff + i * K;
    const c0 = cOff + i * N;
    let k = 0;
    for (; k + 4 <= K; k += 4) {
      const b0 = bOff + k * N;
      const b1 = b0 + N;
      const b2 = b1 + N;
      const b3 = b2 + N;
      const x0 = A[a0 + k]!, x1 = A[a0 + k + 1]!, x2 = A[a0 + k + 2]!, x3 = A[a0 + k + 3]!;
      for (let j = 0; j < N; j++) {
        C[c0 + j] = f32(f32(f32(f32(C[c0 + j]! + f32(x0 * B[b0 + j]!)) + f32(x1 * B[b1 + j]!)) + f32(x2 * B[b2 + j]!)) + f32(x3 * B[b3 + j]!));
      }
    }
    for (; k < K; k++) {
      const x0 = A[a0 + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] = f32(C[c0 + j]! + f32(x0 * B[bk + j]!));
    }
  }
}

// ---------------------------------------------------------------------------
// WebAssembly SIMD float32 kernel (same canonical order, 8 output columns x 4 rows per tile)
// ---------------------------------------------------------------------------
//
// Source: ../wasm/gemm.wat (assembled by scripts/build-wasm.mjs into ../wasm/gemm.wasm.ts),
// called through ../wasm/gemm.ts. B is packed into 8-column panels (once per call, or
// once per constant weight, kept resident: see gemmF32Fused), then the kernel computes
// 4x8 register tiles of C with k increasing: every lane does acc = f32x4.add(acc,
// f32x4.mul(splat(A[i,k]), B[k, j..])) starting from +0. WebAssembly f32x4.mul and
// f32x4.add are IEEE-754 binary32 operations with round-to-nearest-even per lane
// (subnormals kept; no fused multiply-add), so each lane performs exactly the canonical
// steps acc = f32(acc + f32(a*b)) of its own output element. Only NaN bit patterns are
// nondeterministic in WebAssembly, and canonical tensor encoding collapses every NaN to one.
// Paths: gemmF32 (one product; conv.ts too), gemmF32Fused (Gemm's transB and alpha/beta/C
// step done in wasm memory; constant B resident), and batched MatMul (all batches in one
// call, gemmF32BatchWasm). All run the same tiles, so they give the same bits.

/**
 * The WebAssembly SIMD float32 kernel: copies A and B into wasm memory, packs B, runs,
 * and copies C back over C[cOff .. cOff + M*N) in one copy (C's previous contents are
 * ignored; callers pass it zero-filled, as for the JS kernel). Returns false when
 * WebAssembly SIMD is unavailable or the job is too large.
 */
export function gemmF32Wasm(
  A: Float32Array, aOff: number,
  B: Float32Array, bOff: number,
  C: Float32Array, cOff: number,
  M: number, K: number, N: number,
): boolean {
  return gemmF32WasmOnce(A, aOff, B, bOff, false, C, cOff, M, K, N);
}

/** Below this many multiply-adds the JS kernel is used (both give identical bits). */
const WASM_MIN_WORK = 512;

/**
 * An injected parallel float32 GEMM (e.g. src/platform/pool.ts: worker threads that each
 * compute a range of output rows with the same kernel). Splitting rows does not change
 * any element's arithmetic, so the bits are those of the single-thread path for any
 * worker count. `gemm` computes C = A·B like `gemmF32` (C zero-filled on entry) and
 * returns false to decline (then the single-thread path runs); it is only offered jobs
 * of at least `minWork` multiply-adds. Browser-safe: the engine only sees this interface.
 */
export interface GemmParallelism {
  readonly minWork: number;
  gemm(
    A: Float32Array, aOff: number,
    B: Float32Array, bOff: number,
    C: Float32Array, cOff: number,
    M: number, K: number, N: number,
  ): boolean;
}

let parallelGemm: GemmParallelism | undefined;

/** Installs (or, with undefined, removes) the parallel float32 GEMM; default: none (one thread). */
export function setGemmParallelism(p: GemmParallelism | undefined): void {
  parallelGemm = p;
}

/** The installed parallel float32 GEMM, if any. */
export function getGemmParallelism(): GemmParallelism | undefined {
  return parallelGemm;
}

/** float32 product C = A·B (C zero-filled on entry), canonical order; WebAssembly SIMD when available. */
export function gemmF32(
  A: Float32Array, aOff: number,
  B: Float32Array, bOff: number,
  C: Float32Array, cOff: number,
  M: number, K: number, N: number,
): void {
  const par = parallelGemm;
  if (par && M * K * N >= par.minWork && par.gemm(A, aOff, B, bOff, C, cOff, M, K, N)) return;
  if (M * K * N >= WASM_MIN_WORK && gemmF32Wasm(A, aOff, B, bOff, C, cOff, M, K, N)) return;
  gemmF32Js(A, aOff, B, bOff, C, cOff, M, K, N);
}

/**
 * float32 C = A·B' (C[cOff ..], overwritten) in WebAssembly with Gemm's scaling fused
 * (see GemmScale; undefined: the plain product), B' = B or, with `trans`, B's transpose
 * (B then [N, K] at bOff). A B marked constant (markConstant in ../wasm/gemm.ts: session
 * initializers) is packed once and stays resident in wasm memory, so a call copies only
 * A in and C out. Same bits as gemmF32 followed by Gemm's scaling loop. Returns false to
 * decline (small job, an installed parallel GEMM takes jobs this size, or no
 * WebAssembly / too large); the caller then runs its usual path.
 */
export function gemmF32Fused(
  A: Float32Array, aOff: number,
  B: Float32Array, bOff: number, trans: boolean,
  C: Float32Array, cOff: number,
  M: number, K: number, N: number,
  scale?: GemmScale,
): boolean {
  const work = M * K * N;
  if (work < WASM_MIN_WORK) return false;
  const par = parallelGemm;
  if (par && work >= par.minWork) return false;
  if (isConstant(B) && packedWeights.gemm(A, aOff, B, bOff, trans, C, cOff, M, K, N, scale)) return true;
  return gemmF32WasmOnce(A, aOff, B, bOff, trans, C, cOff, M, K, N, scale);
}

/** float64: same order, plain doubles. */
function gemmF64(
  A: Float64Array, aOff: number,
  B: Float64Array, bOff: number,
  C: Float64Array, cOff: number,
  M: number, K: number, N: number,
): void {
  for (let i = 0; i < M; i++) {
    const ar = aOff + i * K;
    const c0 = cOff + i * N;
    for (let k = 0; k < K; k++) {
      const x0 = A[ar + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] = C[c0 + j]! + x0 * B[bk + j]!;
    }
  }
}

/**
 * int32 / uint32 (also used for the zero-point-adjusted MatMulInteger operands):
 * Math.imul gives the low 32 bits of the product; the typed-array store wraps the
 * (exact, < 2^33) double sum modulo 2^32.
 */
function gemmI32(
  A: Int32Array | Uint32Array, aOff: number,
  B: Int32Array | Uint32Array, bOff: number,
  C: Int32Array | Uint32Array, cOff: number,
  M: number, K: number, N: number,
): void {
  for (let i = 0; i < M; i++) {
    const ar = aOff + i * K;
    const c0 = cOff + i * N;
    for (let k = 0; k < K; k++) {
      const x0 = A[ar + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] = C[c0 + j]! + Math.imul(x0, B[bk + j]!);
    }
  }
}

/** int64 / uint64: BigInt products; the BigInt64Array/BigUint64Array store wraps modulo 2^64. */
function gemmBig(
  A: BigInt64Array | BigUint64Array, aOff: number,
  B: BigInt64Array | BigUint64Array, bOff: number,
  C: BigInt64Array | BigUint64Array, cOff: number,
  M: number, K: number, N: number,
): void {
  for (let i = 0; i < M; i++) {
    const ar = aOff + i * K;
    const c0 = cOff + i * N;
    for (let k = 0; k < K; k++) {
      const x0 = A[ar + k]!;
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] = C[c0 + j]! + x0 * B[bk + j]!;
    }
  }
}

type GemmCore = (A: TensorData, aOff: number, B: TensorData, bOff: number, C: TensorData, cOff: number, M: number, K: number, N: number) => void;

function coreFor(dtype: number): GemmCore | undefined {
  switch (dtype) {
    case DType.float32:
      return gemmF32 as GemmCore;
    case DType.float64:
      return gemmF64 as GemmCore;
    case DType.int32:
    case DType.uint32:
      return gemmI32 as GemmCore;
    case DType.int64:
    case DType.uint64:
      return gemmBig as GemmCore;
    default:
      return undefined;
  }
}

function checkNumericType(ctx: KernelContext, dtype: number, what: string): GemmCore {
  if (dtype === DType.float16) throw ctx.unsupported(`${what}: float16 compute is not supported`, { dtype: 'float16' });
  const core = coreFor(dtype);
  if (!core) throw ctx.error(`${what}: data type ${dtypeName(dtype)} is not allowed`, { dtype: dtypeName(dtype) });
  return core;
}

function required(ctx: KernelContext, t: Tensor | undefined, i: number, name: string): Tensor {
  if (!t) throw ctx.error(`missing required input ${i} (${name})`, { input: i });
  return t;
}

/** numpy broadcast of two batch shapes, or a KernelError naming the node. */
function broadcastBatch(ctx: KernelContext, a: readonly number[], b: readonly number[], what: string): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = i - (r - a.length) >= 0 ? a[i - (r - a.length)]! : 1;
    const db = i - (r - b.length) >= 0 ? b[i - (r - b.length)]! : 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw ctx.error(`${what}: batch dimensions [${a.join(',')}] and [${b.join(',')}] cannot be broadcast`, { a: [...a], b: [...b] });
  }
  return out;
}

/**
 * numpy.matmul on raw data: a [...batchA, M, K] (or [K]), b [...batchB, K, N] (or [K]).
 * Returns the output shape and fills `out` (zero-filled, allocated by the caller via `alloc`).
 */
function matmulShapes(
  ctx: KernelContext,
  aShape: readonly number[],
  bShape: readonly number[],
  what: string,
): { outShape: number[]; M: number; K: number; N: number; outBatch: number[]; aB: number[]; bB: number[] } {
  if (aShape.length === 0 || bShape.length === 0) {
    throw ctx.error(`${what}: inputs must be at least 1-D, got [${aShape.join(',')}] and [${bShape.join(',')}]`);
  }
  const a2 = aShape.length === 1 ? [1, aShape[0]!] : aShape;
  const b2 = bShape.length === 1 ? [bShape[0]!, 1] : bShape;
  const M = a2[a2.length - 2]!;
  const K = a2[a2.length - 1]!;
  const K2 = b2[b2.length - 2]!;
  const N = b2[b2.length - 1]!;
  if (K !== K2) {
    throw ctx.error(`${what}: inner dimensions do not match: [${aShape.join(',')}] x [${bShape.join(',')}]`, {
      a: [...aShape],
      b: [...bShape],
    });
  }
  const aB = a2.slice(0, -2);
  const bB = b2.slice(0, -2);
  const outBatch = broadcastBatch(ctx, aB, bB, what);
  const outShape = [...outBatch];
  if (aShape.length > 1) outShape.push(M);
  if (bShape.length > 1) outShape.push(N);
  return { outShape, M, K, N, outBatch, aB, bB };
}

/** Runs `core` over every (broadcast) batch. `C` is the zero-filled output data. */
function batchedMatmul(
  core: GemmCore,
  A: TensorData, B: TensorData, C: TensorData,
  s: { M: number; K: number; N: number; outBatch: number[]; aB: number[]; bB: number[] },
): void {
  const { M, K, N, outBatch, aB, bB } = s;
  const nBatch = prod(outBatch);
  if (nBatch === 0 || M === 0 || N === 0) return;
  const aBatch = prod(aB);
  const bBatch = prod(bB);
  // Fast path: B is a single matrix shared by every batch and A's batches are all
  // distinct: A is one contiguous [nBatch*M, K] matrix.
  if (bBatch === 1 && aBatch === nBatch) {
    if (core === gemmF32 && isConstant(B) && gemmF32Fused(A as Float32Array, 0, B, 0, false, C as Float32Array, 0, nBatch * M, K, N)) return;
    core(A, 0, B, 0, C, 0, nBatch * M, K, N);
    return;
  }
  const r = outBatch.length;
  const aStr = broadcastStrides(aB, outBatch);
  const bStr = broadcastStrides(bB, outBatch);
  const cnt = new Array<number>(r).fill(0);
  const aOffs = new Array<number>(nBatch);
  const bOffs = new Array<number>(nBatch);
  let aIdx = 0;
  let bIdx = 0;
  for (let t = 0; t < nBatch; t++) {
    aOffs[t] = aIdx * M * K;
    bOffs[t] = bIdx * K * N;
    for (let ax = r - 1; ax >= 0; ax--) {
      cnt[ax]!++;
      aIdx += aStr[ax]!;
      bIdx += bStr[ax]!;
      if (cnt[ax]! < outBatch[ax]!) break;
      aIdx -= aStr[ax]! * outBatch[ax]!;
      bIdx -= bStr[ax]! * outBatch[ax]!;
      cnt[ax] = 0;
    }
  }
  // float32: all batches in one WebAssembly call (each product exactly as gemmF32's),
  // unless an installed parallel GEMM takes products this size.
  const work = M * K * N;
  const par = parallelGemm;
  if (
    core === gemmF32 &&
    work * nBatch >= WASM_MIN_WORK &&
    !(par && work >= par.minWork) &&
    gemmF32BatchWasm(A as Float32Array, aOffs, B as Float32Array, bOffs, C as Float32Array, nBatch, M, K, N)
  ) {
    return;
  }
  for (let t = 0; t < nBatch; t++) core(A, aOffs[t]!, B, bOffs[t]!, C, t * M * N, M, K, N);
}

// ---------------------------------------------------------------------------
// MatMul
// ---------------------------------------------------------------------------

/**
 * MatMul (opset 1..13+): numpy.matmul semantics. 1-D a is promoted to [1,K] and
 * 1-D b to [K,1] (the added dim is removed from the output); batch dims
 * broadcast. Each output element is the canonical dot product over k increasing.
 */
const MatMul: Kernel = (inputs, ctx) => {
  const a = required(ctx, inputs[0], 0, 'A');
  const b = required(ctx, inputs[1], 1, 'B');
  if (a.dtype !== b.dtype) {
    throw ctx.error(`input types differ: ${dtypeName(a.dtype)} and ${dtypeName(b.dtype)}`);
  }
  const core = checkNumericType(ctx, a.dtype, 'MatMul');
  const s = matmulShapes(ctx, a.shape, b.shape, 'MatMul');
  const out = ctx.alloc(a.dtype, s.outShape);
  batchedMatmul(core, a.data, b.data, out.data, s);
  return [out];
};

// ---------------------------------------------------------------------------
// Gemm
// ---------------------------------------------------------------------------

/** Row-major transpose of a [R, C] matrix into a new [C, R] array. */
function transpose2d(src: TensorData, R: number, Cn: number): TensorData {
  const dst = new (src.constructor as new (n: number) => TensorData)(R * Cn);
  // Tiled so both reads and writes stay cache-friendly.
  const T = 32;
  for (let r0 = 0; r0 < R; r0 += T) {
    const r1 = Math.min(R, r0 + T);
    for (let c0 = 0; c0 < Cn; c0 += T) {
      const c1 = Math.min(Cn, c0 + T);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) (dst as Float64Array)[c * R + r] = (src as Float64Array)[r * Cn + c]!;
      }
    }
  }
  return dst;
}

/**
 * Gemm (opset 1..13+): Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (M x K),
 * B' = transB ? B^T : B (K x N), C unidirectionally broadcast to [M, N]
 * (opset < 7: only when broadcast=1, else C must be [M, N]; opset < 11: C required).
 * float32, per element: acc = canonical dot product of row i of A' and column j of B';
 *   with C:    y = f32(f32(alpha * acc) + f32(beta * c[i,j]))
 *   without C: y = f32(alpha * acc)
 * alpha and beta are always applied (x*1 is exact; beta = 0 still multiplies c, so a
 * NaN/Inf in C gives NaN). float64: same steps in doubles. Integer types (opset 9+):
 * alpha and beta must be integers; y = alpha*acc + beta*c with the type's wrap-around.
 * Transposed operands are packed once per call into row-major order (float32 B: once per
 * constant weight, see gemmF32Fused). The float32 WebAssembly path runs the scaling step
 * in wasm (gemm_scale in ../wasm/gemm.wat: the same binary32 mul, mul, add per element)
 * and skips it when alpha = 1 and there is no C: f32(1 * acc) = acc.
 */
const Gemm: Kernel = (inputs, ctx) => {
  const a = required(ctx, inputs[0], 0, 'A');
  const b = required(ctx, inputs[1], 1, 'B');
  const c = inputs[2];
  if (!c && ctx.opset < 11) throw ctx.error(`input C is required before opset 11`);
  if (a.dtype !== b.dtype || (c && c.dtype !== a.dtype)) {
    throw ctx.error(`input types differ: ${[a, b, c].filter((t) => t).map((t) => dtypeName(t!.dtype)).join(', ')}`);
  }
  const core = checkNumericType(ctx, a.dtype, 'Gemm');
  if (a.rank !== 2 || b.rank !== 2) {
    throw ctx.error(`A and B must be 2-D, got [${a.shape.join(',')}] and [${b.shape.join(',')}]`);
  }
  const transA = ctx.int('transA', 0) !== 0;
  const transB = ctx.int('transB', 0) !== 0;
  const alpha = ctx.float('alpha', 1);
  const beta = ctx.float('beta', 1);
  const M = transA ? a.shape[1]! : a.shape[0]!;
  const K = transA ? a.shape[0]! : a.shape[1]!;
  const Kb = transB ? b.shape[1]! : b.shape[0]!;
  const N = transB ? b.shape[0]! : b.shape[1]!;
  if (K !== Kb) {
    throw ctx.error(`inner dimensions do not match: A [${a.shape.join(',')}] (transA=${+transA}) and B [${b.shape.join(',')}] (transB=${+transB})`);
  }
  // C's broadcast strides against [M, N] (unidirectional).
  let cs0 = 0;
  let cs1 = 0;
  if (c) {
    const legacyNoBroadcast = ctx.opset < 7 && ctx.int('broadcast', 0) === 0;
    const ok =
      c.rank <= 2 &&
      (legacyNoBroadcast
        ? c.rank === 2 && c.shape[0] === M && c.shape[1] === N
        : c.shape.every((d, i) => d === 1 || d === (c.rank === 2 && i === 0 ? M : N)));
    if (!ok) {
      throw ctx.error(`C of shape [${c.shape.join(',')}] cannot be broadcast to [${M},${N}]`, { c: [...c.shape], M, N });
    }
    const st = broadcastStrides(c.shape, [M, N]);
    cs0 = st[0]!;
    cs1 = st[1]!;
  }
  const out = ctx.alloc(a.dtype, [M, N]);
  if (M === 0 || N === 0) return [out];
  const A = transA ? transpose2d(a.data, K, M) : a.data;
  const Y = out.data;
  if (a.dtype === DType.float32) {
    const fa = Math.fround(alpha);
    const fb = Math.fround(beta);
    // WebAssembly: product and scaling in wasm memory, transB packed on the way in
    // (y = f32(1 * acc) = acc for every acc a sum can produce, so alpha = 1 without C
    // needs no scaling step)
    const scale: GemmScale | undefined = c || fa !== 1 ? { alpha: fa, beta: fb, c: c?.data as Float32Array | undefined, cs0, cs1 } : undefined;
    if (gemmF32Fused(A as Float32Array, 0, b.data as Float32Array, 0, transB, Y as Float32Array, 0, M, K, N, scale)) return [out];
    const B = transB ? transpose2d(b.data, N, K) : b.data;
    core(A, 0, B, 0, Y, 0, M, K, N);
    const y = Y as Float32Array;
    if (!c) {
      for (let i = 0; i < y.length; i++) y[i] = fa * y[i]!; // store rounds: f32(alpha*acc)
    } else {
      const cd = c.data as Float32Array;
      for (let i = 0; i < M; i++) {
        const row = i * N;
        let ci = i * cs0;
        for (let j = 0; j < N; j++, ci += cs1) {
          y[row + j] = Math.fround(fa * y[row + j]!) + Math.fround(fb * cd[ci]!);
        }
      }
    }
    return [out];
  }
  const B = transB ? transpose2d(b.data, N, K) : b.data;
  core(A, 0, B, 0, Y, 0, M, K, N);
  if (a.dtype === DType.float64) {
    const y = Y as Float64Array;
    if (!c) {
      for (let i = 0; i < y.length; i++) y[i] = alpha * y[i]!;
    } else {
      const cd = c.data as Float64Array;
      for (let i = 0; i < M; i++) {
        const row = i * N;
        let ci = i * cs0;
        for (let j = 0; j < N; j++, ci += cs1) y[row + j] = alpha * y[row + j]! + beta * cd[ci]!;
      }
    }
  } else {
    if (!Number.isInteger(alpha) || !Number.isInteger(beta)) {
      throw ctx.unsupported(`integer Gemm with non-integer alpha/beta (${alpha}, ${beta}) is not supported`);
    }
    if (a.dtype === DType.int32 || a.dtype === DType.uint32) {
      const y = Y as Int32Array | Uint32Array;
      const ia = alpha | 0;
      const ib = beta | 0;
      const cd = c?.data as Int32Array | Uint32Array | undefined;
      for (let i = 0; i < M; i++) {
        const row = i * N;
        let ci = i * cs0;
        for (let j = 0; j < N; j++, ci += cs1) {
          y[row + j] = Math.imul(ia, y[row + j]!) + (cd ? Math.imul(ib, cd[ci]!) : 0);
        }
      }
    } else {
      const y = Y as BigInt64Array | BigUint64Array;
      const ia = BigInt(alpha);
      const ib = BigInt(beta);
      const cd = c?.data as BigInt64Array | BigUint64Array | undefined;
      for (let i = 0; i < M; i++) {
        const row = i * N;
        let ci = i * cs0;
        for (let j = 0; j < N; j++, ci += cs1) y[row + j] = ia * y[row + j]! + (cd ? ib * cd[ci]! : 0n);
      }
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// MatMulInteger
// ---------------------------------------------------------------------------

/**
 * x - zero_point as exact int32 values. `zp` is broadcast numpy-style to x's shape,
 * except that a 1-D zero point of length M != 1 on the left operand (rank >= 2) is
 * per-row (shape [M, 1]), as the MatMulInteger/QLinearMatMul specs say.
 * Exported for QLinearMatMul.
 */
export function subtractZeroPoint(
  ctx: KernelContext,
  x: Tensor,
  zp: Tensor | undefined,
  leftOperand: boolean,
  what: string,
): Int32Array {
  const n = x.size;
  const out = new Int32Array(n);
  const xd = x.data as Uint8Array | Int8Array;
  if (!zp) {
    for (let i = 0; i < n; i++) out[i] = xd[i]!;
    return out;
  }
  if (zp.dtype !== x.dtype) {
    throw ctx.error(`${what} has type ${dtypeName(zp.dtype)}, expected ${dtypeName(x.dtype)}`);
  }
  const zd = zp.data as Uint8Array | Int8Array;
  if (zp.size === 1 && zp.rank <= x.rank) {
    const z = zd[0]!;
    for (let i = 0; i < n; i++) out[i] = xd[i]! - z;
    return out;
  }
  let zShape: readonly number[] = zp.shape;
  if (leftOperand && x.rank >= 2 && zp.rank === 1 && zp.shape[0] === x.shape[x.rank - 2] && zp.shape[0] !== 1) {
    zShape = [zp.shape[0]!, 1];
  }
  const idx = broadcastIndex(ctx, zShape, x.shape, what);
  for (let i = 0; i < n; i++) out[i] = xd[i]! - zd[idx[i]!]!;
  return out;
}

/**
 * For each element of `outShape` (row-major), the flat index into a tensor of `shape`
 * broadcast (numpy, unidirectional) to `outShape`. Errors if it does not broadcast.
 */
export function broadcastIndex(ctx: KernelContext, shape: readonly number[], outShape: readonly number[], what: string): Int32Array {
  const r = outShape.length;
  if (shape.length > r || shape.some((d, i) => d !== 1 && d !== outShape[r - shape.length + i])) {
    throw ctx.error(`${what} of shape [${shape.join(',')}] cannot be broadcast to [${outShape.join(',')}]`, {
      shape: [...shape],
      target: [...outShape],
    });
  }
  const n = prod(outShape);
  const idx = new Int32Array(n);
  if (n === 0) return idx;
  const st = broadcastStrides(shape, outShape);
  const cnt = new Array<number>(r).fill(0);
  let p = 0;
  for (let o = 0; o < n; o++) {
    idx[o] = p;
    for (let ax = r - 1; ax >= 0; ax--) {
      cnt[ax]!++;
      p += st[ax]!;
      if (cnt[ax]! < outShape[ax]!) break;
      p -= st[ax]! * outShape[ax]!;
      cnt[ax] = 0;
    }
  }
  return idx;
}

/**
 * Integer matmul of zero-point-adjusted int32 operands with numpy.matmul shapes.
 * Accumulation is int32 with wrap-around (Math.imul + store into Int32Array); for
 * 8-bit inputs it cannot overflow below K = 2^15. Exported for QLinearMatMul.
 */
export function int32Matmul(ctx: KernelContext, A: Int32Array, aShape: readonly number[], B: Int32Array, bShape: readonly number[], what: string): Tensor {
  const s = matmulShapes(ctx, aShape, bShape, what);
  const out = ctx.alloc(DType.int32, s.outShape);
  batchedMatmul(gemmI32 as GemmCore, A, B, out.data, s);
  return out;
}

const is8bit = (d: number): boolean => d === DType.uint8 || d === DType.int8;

/**
 * MatMulInteger (opset 10+): y = (A - a_zero_point) @ (B - b_zero_point) in exact
 * int32 arithmetic (numpy.matmul shapes). a_zero_point: scalar, per-row (1-D of
 * length M, or [..., M, 1]); b_zero_point: scalar or per-column ([N] or [..., 1, N]).
 */
const MatMulInteger: Kernel = (inputs, ctx) => {
  const a = required(ctx, inputs[0], 0, 'A');
  const b = required(ctx, inputs[1], 1, 'B');
  if (!is8bit(a.dtype) || !is8bit(b.dtype)) {
    throw ctx.error(`A and B must be uint8 or int8, got ${dtypeName(a.dtype)} and ${dtypeName(b.dtype)}`);
  }
  const A = subtractZeroPoint(ctx, a, inputs[2], true, 'a_zero_point');
  const B = subtractZeroPoint(ctx, b, inputs[3], false, 'b_zero_point');
  return [int32Matmul(ctx, A, a.shape, B, b.shape, 'MatMulInteger')];
};

// ---------------------------------------------------------------------------
// Einsum
// ---------------------------------------------------------------------------

interface EinsumPlan {
  /** Output dims (sizes) in output order. */
  outSizes: number[];
  /** Summed (contracted) dims, in order of first appearance in the equation. */
  sumSizes: number[];
  /** Per operand: stride for each output dim and each summed dim (0 when absent/broadcast). */
  outStrides: number[][];
  sumStrides: number[][];
}

const isLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/**
 * Parses an einsum equation against the operand shapes. Labels are letters; each
 * term may hold one "..." standing for the operand's remaining leading-or-middle dims
 * (numpy broadcasting, right-aligned, across operands). Implicit output (no "->"):
 * the ellipsis dims, then labels appearing exactly once in ASCII order (numpy).
 * Labels absent from the output are summed; a label repeated within one operand takes
 * the diagonal. Size-1 dims broadcast (numpy).
 */
function planEinsum(ctx: KernelContext, equation: string, shapes: (readonly number[])[]): EinsumPlan {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  if (arrow !== eq.lastIndexOf('->')) throw ctx.error(`einsum equation "${equation}" has more than one "->"`);
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const rhs = arrow >= 0 ? eq.slice(arrow + 2) : undefined;
  const terms = lhs.split(',');
  if (terms.length !== shapes.length) {
    throw ctx.error(`einsum equation "${equation}" has ${terms.length} input terms but the node has ${shapes.length} inputs`);
  }
  const parseTerm = (t: string, where: string): { labels: string[]; ell: number } => {
    const labels: string[] = [];
    let ell = -1;
    for (let i = 0; i < t.length; ) {
      if (t.startsWith('...', i)) {
        if (ell >= 0) throw ctx.error(`einsum term "${t}" (${where}) has more than one ellipsis`);
        ell = labels.length;
        i += 3;
      } else if (isLetter(t[i]!)) {
        labels.push(t[i]!);
        i++;
      } else {
        throw ctx.error(`einsum equation "${equation}": invalid character "${t[i]}" in ${where}`);
      }
    }
    return { labels, ell };
  };
  // Map ellipsis dims to synthetic labels "0", "1", ... (broadcast group, right-aligned).
  const parsed = terms.map((t, i) => parseTerm(t, `input ${i}`));
  let ellRank = 0;
  for (let i = 0; i < parsed.length; i++) {
    const p = parsed[i]!;
    const rank = shapes[i]!.length;
    if (p.ell < 0) {
      if (p.labels.length !== rank) {
        throw ctx.error(`einsum term "${terms[i]}" has ${p.labels.length} labels but input ${i} has rank ${rank}`);
      }
    } else {
      if (p.labels.length > rank) {
        throw ctx.error(`einsum term "${terms[i]}" has ${p.labels.length} labels but input ${i} has rank ${rank}`);
      }
      ellRank = Math.max(ellRank, rank - p.labels.length);
    }
  }
  const ellLabels = Array.from({ length: ellRank }, (_, i) => String(i));
  // Expand each operand to a per-dim label list.
  const dimLabels: string[][] = parsed.map((p, i) => {
    if (p.ell < 0) return p.labels;
    const nEll = shapes[i]!.length - p.labels.length;
    return [...p.labels.slice(0, p.ell), ...ellLabels.slice(ellRank - nEll), ...p.labels.slice(p.ell)];
  });
  // Label sizes (size-1 broadcasts).
  const size = new Map<string, number>();
  const order: string[] = [];
  const count = new Map<string, number>();
  for (let i = 0; i < dimLabels.length; i++) {
    const ls = dimLabels[i]!;
    for (let d = 0; d < ls.length; d++) {
      const l = ls[d]!;
      const s = shapes[i]![d]!;
      if (!size.has(l)) {
        size.set(l, s);
        order.push(l);
      } else if (size.get(l) !== s) {
        if (size.get(l) === 1) size.set(l, s);
        else if (s !== 1) {
          throw ctx.error(`einsum "${equation}": label ${/\d/.test(l) ? '(ellipsis dim)' : l} has sizes ${size.get(l)} and ${s}`);
        }
      }
    }
    // count occurrences across terms (a label repeated inside one term counts once per occurrence, as numpy)
    for (const l of parsed[i]!.labels) count.set(l, (count.get(l) ?? 0) + 1);
  }
  for (const l of ellLabels) if (!size.has(l)) size.set(l, 1);
  let outLabels: string[];
  if (rhs === undefined) {
    const once = [...count.entries()].filter(([, n]) => n === 1).map(([l]) => l);
    once.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    outLabels = [...ellLabels, ...once];
  } else {
    const p = parseTerm(rhs, 'the output');
    const seen = new Set<string>();
    for (const l of p.labels) {
      if (seen.has(l)) throw ctx.error(`einsum "${equation}": output label ${l} appears twice`);
      if (!size.has(l)) throw ctx.error(`einsum "${equation}": output label ${l} does not appear in any input`);
      seen.add(l);
    }
    outLabels = p.ell < 0 ? p.labels : [...p.labels.slice(0, p.ell), ...ellLabels, ...p.labels.slice(p.ell)];
  }
  const outSet = new Set(outLabels);
  // Summed labels: first appearance order over the equation's inputs (ellipsis dims
  // where the ellipsis stands), excluding output labels.
  const sumLabels = order.filter((l) => !outSet.has(l));
  for (const l of ellLabels) if (!outSet.has(l) && !sumLabels.includes(l)) sumLabels.push(l);
  const outStrides: number[][] = [];
  const sumStrides: number[][] = [];
  for (let i = 0; i < shapes.length; i++) {
    const sh = shapes[i]!;
    const ls = dimLabels[i]!;
    const st = new Map<string, number>();
    let acc = 1;
    for (let d = sh.length - 1; d >= 0; d--) {
      // a size-1 dim broadcasts: stride 0; repeated labels add their strides (diagonal)
      if (sh[d] !== 1) st.set(ls[d]!, (st.get(ls[d]!) ?? 0) + acc);
      acc *= sh[d]!;
    }
    outStrides.push(outLabels.map((l) => st.get(l) ?? 0));
    sumStrides.push(sumLabels.map((l) => st.get(l) ?? 0));
  }
  return { outSizes: outLabels.map((l) => size.get(l)!), sumSizes: sumLabels.map((l) => size.get(l)!), outStrides, sumStrides };
}

/**
 * Einsum (opset 12+). Canonical order, per output element (output labels fixed):
 *  - the summed labels (labels absent from the output, in order of first appearance
 *    in the equation's inputs, left to right; ellipsis dims in their position) are
 *    enumerated in row-major order (last summed label fastest);
 *  - for each tuple: p = x0[...]; p = f32(p * x1[...]); p = f32(p * x2[...]) ... (operands
 *    left to right);
 *  - acc = +0; acc = f32(acc + p) over the tuples. With no summed label, y = p (no
 *    accumulation, so -0 stays -0).
 * float64 in doubles; int32/uint32 with 32-bit wrap-around; int64/uint64 with 64-bit.
 */
const Einsum: Kernel = (inputs, ctx) => {
  const eqn = ctx.string('equation');
  if (eqn === undefined) throw ctx.error('attribute equation is required');
  if (inputs.length === 0) throw ctx.error('Einsum needs at least one input');
  const ts = inputs.map((t, i) => required(ctx, t, i, `Inputs[${i}]`));
  const dtype = ts[0]!.dtype;
  for (const t of ts) if (t.dtype !== dtype) throw ctx.error(`input types differ: ${ts.map((x) => dtypeName(x.dtype)).join(', ')}`);
  checkNumericType(ctx, dtype, 'Einsum');
  const plan = planEinsum(ctx, eqn, ts.map((t) => t.shape));
  const out = ctx.alloc(dtype, plan.outSizes);
  einsumRun(plan, ts.map((t) => t.data), out.data, dtype);
  return [out];
};

function einsumRun(plan: EinsumPlan, datas: TensorData[], Y: TensorData, dtype: number): void {
  const nOut = Y.length;
  if (nOut === 0) return;
  const nOps = datas.length;
  const { outSizes, sumSizes, outStrides, sumStrides } = plan;
  const ro = outSizes.length;
  const rs = sumSizes.length;
  const nSum = prod(sumSizes);
  const mode = dtype === DType.float32 ? 0 : dtype === DType.float64 ? 1 : dtype === DType.int32 || dtype === DType.uint32 ? 2 : 3;
  const base = new Array<number>(nOps).fill(0);
  const off = new Array<number>(nOps).fill(0);
  const oCnt = new Array<number>(ro).fill(0);
  const sCnt = new Array<number>(rs).fill(0);
  // innermost summed label: tight loop
  const innerN = rs > 0 ? sumSizes[rs - 1]! : 1;
  const innerSt = sumStrides.map((s) => (rs > 0 ? s[rs - 1]! : 0));
  const outerSum = rs > 0 ? nSum / Math.max(innerN, 1) : 1;
  const d0 = datas[0]!;
  for (let o = 0; o < nOut; o++) {
    if (rs === 0) {
      // no summed label: y = product of the operands, left to right
      if (mode === 3) {
        let p = (d0 as BigInt64Array)[base[0]!]!;
        for (let q = 1; q < nOps; q++) p *= (datas[q] as BigInt64Array)[base[q]!]!;
        (Y as BigInt64Array)[o] = p;
      } else {
        let p = (d0 as Float64Array)[base[0]!]!;
        for (let q = 1; q < nOps; q++) {
          const v = (datas[q] as Float64Array)[base[q]!]!;
          p = mode === 0 ? Math.fround(p * v) : mode === 1 ? p * v : Math.imul(p, v);
        }
        (Y as Float64Array)[o] = p;
      }
    } else if (nSum > 0) {
      for (let q = 0; q < nOps; q++) off[q] = base[q]!;
      sCnt.fill(0);
      if (mode === 3) {
        let acc = 0n;
        for (let t = 0; t < outerSum; t++) {
          for (let u = 0; u < innerN; u++) {
            let p = (d0 as BigInt64Array)[off[0]! + u * innerSt[0]!]!;
            for (let q = 1; q < nOps; q++) p *= (datas[q] as BigInt64Array)[off[q]! + u * innerSt[q]!]!;
            acc += p;
          }
          advance(sCnt, sumSizes, sumStrides, off, rs - 1);
        }
        (Y as BigInt64Array)[o] = acc; // store wraps modulo 2^64
      } else {
        let acc = 0;
        for (let t = 0; t < outerSum; t++) {
          if (mode === 0 && nOps === 2) {
            const da = d0 as Float32Array;
            const db = datas[1] as Float32Array;
            let ia = off[0]!;
            let ib = off[1]!;
            const sa = innerSt[0]!;
            const sb = innerSt[1]!;
            for (let u = 0; u < innerN; u++, ia += sa, ib += sb) acc = Math.fround(acc + Math.fround(da[ia]! * db[ib]!));
          } else {
            for (let u = 0; u < innerN; u++) {
              let p = (d0 as Float64Array)[off[0]! + u * innerSt[0]!]!;
              for (let q = 1; q < nOps; q++) {
                const v = (datas[q] as Float64Array)[off[q]! + u * innerSt[q]!]!;
                p = mode === 0 ? Math.fround(p * v) : mode === 1 ? p * v : Math.imul(p, v);
              }
              acc = mode === 0 ? Math.fround(acc + p) : mode === 1 ? acc + p : (acc + p) | 0;
            }
          }
          advance(sCnt, sumSizes, sumStrides, off, rs - 1);
        }
        (Y as Float64Array)[o] = acc; // typed-array store (exact for f32 acc; wraps for u32)
      }
    }
    // next output element
    for (let ax = ro - 1; ax >= 0; ax--) {
      oCnt[ax]!++;
      for (let q = 0; q < nOps; q++) base[q] += outStrides[q]![ax]!;
      if (oCnt[ax]! < outSizes[ax]!) break;
      for (let q = 0; q < nOps; q++) base[q] -= outStrides[q]![ax]! * outSizes[ax]!;
      oCnt[ax] = 0;
    }
  }
}

/** Odometer over the summed axes [0, upto) (the innermost summed axis is looped directly). */
function advance(cnt: number[], sizes: number[], strides: number[][], off: number[], upto: number): void {
  const nOps = off.length;
  for (let ax = upto - 1; ax >= 0; ax--) {
    cnt[ax]!++;
    for (let q = 0; q < nOps; q++) off[q] += strides[q]![ax]!;
    if (cnt[ax]! < sizes[ax]!) return;
    for (let q = 0; q < nOps; q++) off[q] -= strides[q]![ax]! * sizes[ax]!;
    cnt[ax] = 0;
  }
}

export const ops: KernelTable = { MatMul, Gemm, MatMulInteger, Einsum };
