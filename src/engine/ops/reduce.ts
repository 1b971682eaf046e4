// Reductions (Reduce*), ArgMax/ArgMin, CumSum, TopK and the softmax family.
//
// Canonical semantics shared by every reduction here (README.md, DESIGN.md):
// - Each output element reduces its input elements in increasing flat index
//   order of the input, starting from the op's identity. The implementation
//   walks the input once in flat order and accumulates into the output buffer,
//   which keeps that order for every output while reading memory contiguously.
// - float32: every add/multiply is rounded to float32 before it is used again;
//   float64 uses plain doubles in the same order; integer types wrap around in
//   their own width (32-bit products via Math.imul, 64-bit via BigInt stores).
// - max/min: `if (x > acc || x is NaN) acc = x` starting from -inf / +inf, which
//   is the same as starting from the first element; NaN propagates, and among
//   equal values (+0 / -0) the first one is kept.
// - Fast paths (float32 Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax) run WebAssembly
//   SIMD kernels (../wasm/reduce.wat, ../wasm/math.wat) whose lanes are independent
//   outputs, each in exactly the order above; jobs that would produce NaN bits are
//   handed back to the plain loops here, which stay the reference.
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType, dtypeKind, dtypeName, type TensorData } from '../../tensor/dtype.js';
import { expf, logf, exp64, log64 } from '../math/index.js';
import { axisOf, prod } from './util.js';
import { softmaxColsF32Wasm, softmaxRowsF32Wasm } from '../wasm/math.js';
import { argF32Wasm, reduceF32Wasm } from '../wasm/reduction.js';

// ---------------------------------------------------------------------------
// small private helpers

const fr = Math.fround;

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyArr = any;

/** Like util.need, but worded "missing required <what>" (kept so this file's error messages do not change). */
function need(inputs: (Tensor | undefined)[], i: number, ctx: KernelContext, what = `input ${i}`): Tensor {
  const t = inputs[i];
  if (!t) throw ctx.error(`missing required ${what}`);
  return t;
}

/** Reads a tensor of integers (int32/int64/uint*) as numbers, validating safety. */
function intList(t: Tensor, ctx: KernelContext, what: string): number[] {
  const k = dtypeKind(t.dtype);
  if (k !== 'int' && k !== 'bigint') throw ctx.error(`${what} must be an integer tensor, got ${dtypeName(t.dtype)}`);
  const out: number[] = [];
  for (let i = 0; i < t.data.length; i++) {
    const v = Number(t.data[i]!);
    if (!Number.isSafeInteger(v)) throw ctx.error(`${what} value ${String(t.data[i])} is out of range`);
    out.push(v);
  }
  return out;
}

function isFloatCompute(d: DType): boolean {
  return d === DType.float32 || d === DType.float64;
}

function isIntegerType(d: DType): boolean {
  const k = dtypeKind(d);
  return k === 'int' || k === 'bigint';
}

/** Smallest / largest value of an integer (or bool) dtype, in its storage representation. */
function intLimits(d: DType): [number | bigint, number | bigint] {
  switch (d) {
    case DType.int8: return [-128, 127];
    case DType.uint8: return [0, 255];
    case DType.int16: return [-32768, 32767];
    case DType.uint16: return [0, 65535];
    case DType.int32: return [-2147483648, 2147483647];
    case DType.uint32: return [0, 4294967295];
    case DType.int64: return [-(1n << 63n), (1n << 63n) - 1n];
    case DType.uint64: return [0n, (1n << 64n) - 1n];
    case DType.bool: return [0, 1];
    default: return [-Infinity, Infinity];
  }
}

// ---------------------------------------------------------------------------
// reduction driver

const SUM = 0, SUMSQ = 1, L1 = 2, PROD = 3, MAX = 4, MIN = 5, LSE = 6;

/**
 * Walks `shape` in flat order as runs of contiguous input, reporting for each run
 * its input offset `xo`, the output offset `oo` of its first element, the output
 * stride inside the run `os` (0: the run reduces into one output; 1: the run maps
 * to consecutive outputs) and the run length. Axes of size 1 are dropped and
 * adjacent axes of the same kind merged. Nothing is reported for an empty input.
 */
function walkReduce(
  shape: readonly number[],
  isRed: readonly boolean[],
  run: (xo: number, oo: number, os: number, len: number) => void,
): void {
  const dims: number[] = [];
  const red: boolean[] = [];
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 0) return;
    if (d === 1) continue;
    if (dims.length > 0 && red[red.length - 1] === isRed[i]) dims[dims.length - 1]! *= d;
    else {
      dims.push(d);
      red.push(isRed[i]!);
    }
  }
  if (dims.length === 0) {
    run(0, 0, 0, 1);
    return;
  }
  const r = dims.length;
  const ost = new Array<number>(r).fill(0);
  let a = 1;
  for (let i = r - 1; i >= 0; i--) {
    if (!red[i]) {
      ost[i] = a;
      a *= dims[i]!;
    }
  }
  const L = dims[r - 1]!;
  const os = red[r - 1] ? 0 : 1;
  const runs = prod(dims, 0, r - 1);
  const cnt = new Array<number>(r).fill(0);
  let oo = 0;
  for (let k = 0, xo = 0; k < runs; k++, xo += L) {
    run(xo, oo, os, L);
    for (let d = r - 2; d >= 0; d--) {
      cnt[d]!++;
      oo += ost[d]!;
      if (cnt[d]! < dims[d]!) break;
      oo -= ost[d]! * dims[d]!;
      cnt[d] = 0;
    }
  }
}

/** One run of a float32 reduction. `aux` holds the per-output max for LSE. */
function runF32(mode: number, x: Float32Array, xo: number, acc: Float32Array, ao: number, os: number, L: number, aux: Float32Array | null): void {
  const end = xo + L;
  if (os === 0) {
    let a = acc[ao]!;
    switch (mode) {
      case SUM:
        for (let i = xo; i < end; i++) a = fr(a + x[i]!);
        break;
      case SUMSQ:
        for (let i = xo; i < end; i++) {
          const v = x[i]!;
          a = fr(a + fr(v * v));
        }
        break;
      case L1:
        for (let i = xo; i < end; i++) a = fr(a + Math.abs(x[i]!));
        break;
      case PROD:
        for (let i = xo; i < end; i++) a = fr(a * x[i]!);
        break;
      case MAX:
        for (let i = xo; i < end; i++) {
          const v = x[i]!;
          if (v > a || v !== v) a = v;
        }
        break;
      case MIN:
        for (let i = xo; i < end; i++) {
          const v = x[i]!;
          if (v < a || v !== v) a = v;
        }
        break;
      case LSE: {
        const m = aux![ao]!;
        for (let i = xo; i < end; i++) a = fr(a + expf(fr(x[i]! - m)));
        break;
      }
    }
    acc[ao] = a;
    return;
  }
  // os === 1: consecutive outputs; each store into the Float32Array rounds.
  switch (mode) {
    case SUM:
      for (let i = 0; i < L; i++) acc[ao + i] += x[xo + i]!;
      break;
    case SUMSQ:
      for (let i = 0; i < L; i++) {
        const v = x[xo + i]!;
        acc[ao + i] += fr(v * v);
      }
      break;
    case L1:
      for (let i = 0; i < L; i++) acc[ao + i] += Math.abs(x[xo + i]!);
      break;
    case PROD:
      for (let i = 0; i < L; i++) acc[ao + i] *= x[xo + i]!;
      break;
    case MAX:
      for (let i = 0; i < L; i++) {
        const v = x[xo + i]!;
        if (v > acc[ao + i]! || v !== v) acc[ao + i] = v;
      }
      break;
    case MIN:
      for (let i = 0; i < L; i++) {
        const v = x[xo + i]!;
        if (v < acc[ao + i]! || v !== v) acc[ao + i] = v;
      }
      break;
    case LSE:
      for (let i = 0; i < L; i++) acc[ao + i] += expf(fr(x[xo + i]! - aux![ao + i]!));
      break;
  }
}

/** float64 twin of runF32 (no float32 rounding). */
function runF64(mode: number, x: Float64Array, xo: number, acc: Float64Array, ao: number, os: number, L: number, aux: Float64Array | null): void {
  const end = xo + L;
  if (os === 0) {
    let a = acc[ao]!;
    switch (mode) {
      case SUM:
        for (let i = xo; i < end; i++) a = a + x[i]!;
        break;
      case SUMSQ:
        for (let i = xo; i < end; i++) {
          const v = x[i]!;
          a = a + v * v;
        }
        break;
      case L1:
        for (let i = xo; i < end; i++) a = a + Math.abs(x[i]!);
        break;
      case PROD:
        for (let i = xo; i < end; i++) a = a * x[i]!;
        break;
      case MAX:
        for (let i = xo; i < end; i++) {
          const v = x[i]!;
          if (v > a || v !== v) a = v;
        }
        break;
      case MIN:
        for (let i = xo; i < end; i++) {
          const v = x[i]!;
          if (v < a || v !== v) a = v;
        }
        break;
      case LSE: {
        const m = aux![ao]!;
        for (let i = xo; i < end; i++) a = a + exp64(x[i]! - m);
        break;
      }
    }
    acc[ao] = a;
    return;
  }
  switch (mode) {
    case SUM:
      for (let i = 0; i < L; i++) acc[ao + i] += x[xo + i]!;
      break;
    case SUMSQ:
      for (let i = 0; i < L; i++) {
        const v = x[xo + i]!;
        acc[ao + i] += v * v;
      }
      break;
    case L1:
      for (let i = 0; i < L; i++) acc[ao + i] += Math.abs(x[xo + i]!);
      break;
    case PROD:
      for (let i = 0; i < L; i++) acc[ao + i] *= x[xo + i]!;
      break;
    case MAX:
      for (let i = 0; i < L; i++) {
        const v = x[xo + i]!;
        if (v > acc[ao + i]! || v !== v) acc[ao + i] = v;
      }
      break;
    case MIN:
      for (let i = 0; i < L; i++) {
        const v = x[xo + i]!;
        if (v < acc[ao + i]! || v !== v) acc[ao + i] = v;
      }
      break;
    case LSE:
      for (let i = 0; i < L; i++) acc[ao + i] += exp64(x[xo + i]! - aux![ao + i]!);
      break;
  }
}

/**
 * One run of an integer reduction (8/16/32-bit types and bool, number storage).
 * Every step is stored back into the typed accumulator, whose store wraps the
 * exact double result to the type's width; products use Math.imul (low 32 bits).
 */
function runInt(mode: number, x: AnyArr, xo: number, acc: AnyArr, ao: number, os: number, L: number): void {
  for (let i = 0; i < L; i++) {
    const v: number = x[xo + i];
    const o = ao + i * os;
    switch (mode) {
      case SUM: acc[o] += v; break;
      case SUMSQ: acc[o] += Math.imul(v, v); break;
      case L1: acc[o] += Math.abs(v); break;
      case PROD: acc[o] = Math.imul(acc[o], v); break;
      case MAX: if (v > acc[o]) acc[o] = v; break;
      case MIN: if (v < acc[o]) acc[o] = v; break;
    }
  }
}

/** One run of a 64-bit integer reduction (BigInt storage; stores wrap to 64 bits). */
function runBig(mode: number, x: AnyArr, xo: number, acc: AnyArr, ao: number, os: number, L: number): void {
  for (let i = 0; i < L; i++) {
    const v: bigint = x[xo + i];
    const o = ao + i * os;
    switch (mode) {
      case SUM: acc[o] += v; break;
      case SUMSQ: acc[o] += v * v; break;
      case L1: acc[o] += v < 0n ? -v : v; break;
      case PROD: acc[o] *= v; break;
      case MAX: if (v > acc[o]) acc[o] = v; break;
      case MIN: if (v < acc[o]) acc[o] = v; break;
    }
  }
}

/**
 * The plain TypeScript float32 reduction (the reference of ../wasm/reduce.wat): mode
 * 0..5 = sum, sumsquare, l1, prod, max, min of x (of `shape`) over the flagged axes into
 * `acc`, which must hold the identity (0, 0, 0, 1, -inf, +inf).
 */
export function reduceF32Reference(mode: number, x: Float32Array, shape: readonly number[], isRed: readonly boolean[], acc: Float32Array): void {
  walkReduce(shape, isRed, (xo, oo, os, L) => runF32(mode, x, xo, acc, oo, os, L, null));
}

/** Runs reduction `mode` of x over the flagged axes into `acc` (pre-filled with the identity). */
function reduceInto(mode: number, x: Tensor, isRed: boolean[], acc: TensorData, aux: TensorData | null): void {
  const xd = x.data;
  if (x.dtype === DType.float32) {
    // WebAssembly SIMD: lanes are independent outputs, each in this same order (../wasm/reduce.wat)
    if (mode !== LSE && reduceF32Wasm(mode, xd as Float32Array, x.shape, isRed, acc as Float32Array)) return;
    walkReduce(x.shape, isRed, (xo, oo, os, L) => runF32(mode, xd as Float32Array, xo, acc as Float32Array, oo, os, L, aux as Float32Array | null));
  } else if (x.dtype === DType.float64) {
    walkReduce(x.shape, isRed, (xo, oo, os, L) => runF64(mode, xd as Float64Array, xo, acc as Float64Array, oo, os, L, aux as Float64Array | null));
  } else if (dtypeKind(x.dtype) === 'bigint') {
    walkReduce(x.shape, isRed, (xo, oo, os, L) => runBig(mode, xd, xo, acc, oo, os, L));
  } else {
    walkReduce(x.shape, isRed, (xo, oo, os, L) => runInt(mode, xd, xo, acc, oo, os, L));
  }
}

// ---------------------------------------------------------------------------
// Reduce* kernels

type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsquare';

/**
 * Resolves the reduced axes. Returns null for "no-op" (noop_with_empty_axes=1 and
 * no axes), else a per-axis flag. axes come from the attribute before
 * `inputSince` and from the optional second input from then on (an attribute is
 * still honoured if the input is absent).
 */
function resolveAxes(inputs: (Tensor | undefined)[], ctx: KernelContext, rank: number, inputSince: number): boolean[] | null {
  let axes: number[] | undefined;
  const ai = ctx.opset >= inputSince ? inputs[1] : undefined;
  if (ai) {
    if (ai.rank > 1) throw ctx.error(`axes must be a 1-D tensor, got shape [${ai.shape.join(',')}]`);
    axes = intList(ai, ctx, 'axes');
  } else {
    axes = ctx.ints('axes');
  }
  const isRed = new Array<boolean>(rank).fill(false);
  if (!axes || axes.length === 0) {
    if (ctx.opset >= inputSince && ctx.int('noop_with_empty_axes', 0) !== 0) return null;
    isRed.fill(true);
    return isRed;
  }
  for (const a of axes) {
    const n = axisOf(ctx, a, rank, 'axes entry');
    if (isRed[n]) throw ctx.error(`axes contains axis ${n} more than once`, { axes });
    isRed[n] = true;
  }
  return isRed;
}

/**
 * Reduce* over the resolved axes; output shape keeps reduced axes as 1 when
 * keepdims=1 (default) and drops them otherwise. An empty reduced set yields the
 * identity: sum/l1/l2/sumsquare 0, prod 1, max -inf (integer: the type minimum),
 * min +inf (the type maximum), logsum / logsumexp -inf, mean NaN (integer: 0).
 * With noop_with_empty_axes=1 and no axes the output is the input unchanged (as
 * the ONNX spec words it), for every Reduce* op.
 *
 * Per output, with x_0..x_{n-1} its inputs in increasing flat index order:
 *  sum:       acc = 0; acc = f32(acc + x_i)
 *  sumsquare: acc = 0; acc = f32(acc + f32(x_i * x_i))
 *  l1:        acc = 0; acc = f32(acc + |x_i|)
 *  l2:        sumsquare, then f32(sqrt(acc))
 *  prod:      acc = 1; acc = f32(acc * x_i)
 *  max/min:   acc = -inf/+inf; if (x_i > acc (or <) || x_i is NaN) acc = x_i
 *  mean:      f32(sum / n)   (integers: wrapped sum, then division truncated toward 0)
 *  logsum:    logf(sum)
 *  logsumexp: m = max; if m is not finite the result is m; else
 *             s = 0; s = f32(s + expf(f32(x_i - m))); result = f32(logf(s) + m)
 * float64 performs the same steps in doubles (exp64/log64).
 */
function reduceKernel(kind: ReduceKind, inputSince: number): Kernel {
  return (inputs, ctx) => {
    const x = need(inputs, 0, ctx, 'data');
    const dt = x.dtype;
    const floatOnly = kind === 'l2' || kind === 'logsum' || kind === 'logsumexp';
    const minMax = kind === 'max' || kind === 'min';
    if (!isFloatCompute(dt)) {
      if (dt === DType.float16) throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported (compute in float32)`);
      const ok = (isIntegerType(dt) && !floatOnly) || (dt === DType.bool && minMax);
      if (!ok) throw ctx.unsupported(`${ctx.node.opType} on ${dtypeName(dt)} is not supported`);
    }
    const rank = x.rank;
    const isRed = resolveAxes(inputs, ctx, rank, inputSince);
    if (isRed === null) return [new Tensor(dt, x.shape, x.data)];
    const keepdims = ctx.int('keepdims', 1) !== 0;
    const outShape: number[] = [];
    let count = 1;
    for (let i = 0; i < rank; i++) {
      if (isRed[i]) {
        count *= x.shape[i]!;
        if (keepdims) outShape.push(1);
      } else outShape.push(x.shape[i]!);
    }
    const out = ctx.alloc(dt, outShape);
    const y = out.data as AnyArr;
    const big = dtypeKind(dt) === 'bigint';
    const isF = isFloatCompute(dt);
    const F32 = dt === DType.float32;
    switch (kind) {
      case 'sum':
      case 'mean':
      case 'logsum':
        reduceInto(SUM, x, isRed, y, null);
        break;
      case 'sumsquare':
      case 'l2':
        reduceInto(SUMSQ, x, isRed, y, null);
        break;
      case 'l1':
        reduceInto(L1, x, isRed, y, null);
        break;
      case 'prod':
        y.fill(big ? 1n : 1);
        reduceInto(PROD, x, isRed, y, null);
        break;
      case 'max':
        y.fill(isF ? -Infinity : intLimits(dt)[0]);
        reduceInto(MAX, x, isRed, y, null);
        break;
      case 'min':
        y.fill(isF ? Infinity : intLimits(dt)[1]);
        reduceInto(MIN, x, isRed, y, null);
        break;
      case 'logsumexp': {
        const m = ctx.alloc(dt, outShape).data as Float32Array | Float64Array;
        m.fill(-Infinity);
        reduceInto(MAX, x, isRed, m, null);
        reduceInto(LSE, x, isRed, y, m);
        for (let o = 0; o < y.length; o++) {
          const mo = m[o]!;
          if (mo === Infinity || mo === -Infinity || mo !== mo) y[o] = mo;
          else y[o] = F32 ? fr(logf(y[o]) + mo) : log64(y[o]) + mo;
        }
        break;
      }
    }
    if (kind === 'mean') {
      if (isF) for (let o = 0; o < y.length; o++) y[o] = y[o] / count; // store rounds to f32
      else if (big) {
        const c = BigInt(count);
        for (let o = 0; o < y.length; o++) y[o] = count === 0 ? 0n : y[o] / c;
      } else for (let o = 0; o < y.length; o++) y[o] = count === 0 ? 0 : Math.trunc(y[o] / count);
    } else if (kind === 'l2') {
      for (let o = 0; o < y.length; o++) y[o] = Math.sqrt(y[o]); // correctly rounded; store rounds to f32
    } else if (kind === 'logsum') {
      if (F32) for (let o = 0; o < y.length; o++) y[o] = logf(y[o]);
      else for (let o = 0; o < y.length; o++) y[o] = log64(y[o]);
    }
    return [out];
  };
}

// ---------------------------------------------------------------------------
// ArgMax / ArgMin

/**
 * ArgMax/ArgMin along `axis` (default 0), keepdims (default 1), select_last_index
 * (default 0). int64 output. Scans the axis in increasing index order keeping the
 * best value; ties keep the first index (or the last with select_last_index).
 * NaN counts as the extreme value in both ops (as numpy): the first NaN wins (the
 * last one with select_last_index). -0 and +0 are equal.
 */
function argKernel(isMax: boolean): Kernel {
  return (inputs, ctx) => {
    const x = need(inputs, 0, ctx, 'data');
    const dt = x.dtype;
    if (!(isFloatCompute(dt) || isIntegerType(dt))) {
      throw ctx.unsupported(`${ctx.node.opType} on ${dtypeName(dt)} is not supported`);
    }
    if (x.rank === 0) throw ctx.error(`${ctx.node.opType} needs an input of rank >= 1`);
    const axis = axisOf(ctx, ctx.int('axis', 0), x.rank);
    const keepdims = ctx.int('keepdims', 1) !== 0;
    const last = ctx.int('select_last_index', 0) !== 0;
    const outer = prod(x.shape, 0, axis);
    const N = x.shape[axis]!;
    const inner = prod(x.shape, axis + 1);
    const outShape = x.shape.filter((_, i) => i !== axis || keepdims).map((d, i) => (keepdims && i === axis ? 1 : d));
    const out = ctx.alloc(DType.int64, outShape);
    const y = out.data as BigInt64Array;
    if (outer * inner === 0) return [out];
    if (N === 0) throw ctx.error(`${ctx.node.opType} over an empty axis ${axis}`);
    // float32: WebAssembly SIMD, four outputs side by side, each with this same scan (../wasm/reduce.wat arg_f32)
    if (dt === DType.float32 && argF32Wasm(x.data as Float32Array, outer, N, inner, isMax, last, y)) return [out];
    argScan(x.data, outer, N, inner, isMax, last, y);
    return [out];
  };
}

/** The plain TypeScript ArgMax/ArgMin scan of x [outer, N, inner] along N (N >= 1) into y [outer*inner]. */
export function argScan(xd: AnyArr, outer: number, N: number, inner: number, isMax: boolean, last: boolean, y: BigInt64Array): void {
  const best = new Int32Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * N * inner;
    best.fill(0);
    for (let r = 1; r < N; r++) {
      const row = base + r * inner;
      for (let k = 0; k < inner; k++) {
        const v = xd[row + k];
        const b = xd[base + best[k]! * inner + k];
        let take: boolean;
        if (b !== b) take = last && v !== v;
        else if (v !== v) take = true;
        else if (isMax) take = last ? v >= b : v > b;
        else take = last ? v <= b : v < b;
        if (take) best[k] = r;
      }
    }
    for (let k = 0; k < inner; k++) y[o * inner + k] = BigInt(best[k]!);
  }
}

// ---------------------------------------------------------------------------
// CumSum

/**
 * CumSum(x, axis): running sum along axis. Forward: acc = 0; for j = 0..N-1:
 * acc = f32(acc + x_j); y_j = acc (exclusive: y_j is acc before adding x_j).
 * reverse=1 runs the same from j = N-1 down to 0 (the running-sum order).
 * Integers wrap in their width (int64/uint64 via BigInt).
 */
const cumSum: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'x');
  const at = need(inputs, 1, ctx, 'axis');
  const dt = x.dtype;
  if (!(isFloatCompute(dt) || isIntegerType(dt))) throw ctx.unsupported(`CumSum on ${dtypeName(dt)} is not supported`);
  if (at.size !== 1 || at.rank > 1) throw ctx.error(`axis must be a scalar, got shape [${at.shape.join(',')}]`);
  if (x.rank === 0) throw ctx.error('CumSum needs an input of rank >= 1');
  const axis = axisOf(ctx, intList(at, ctx, 'axis')[0]!, x.rank);
  const exclusive = ctx.int('exclusive', 0) !== 0;
  const reverse = ctx.int('reverse', 0) !== 0;
  const out = ctx.alloc(dt, x.shape);
  const y = out.data as AnyArr;
  const xd = x.data as AnyArr;
  const zero = dtypeKind(dt) === 'bigint' ? 0n : 0;
  const outer = prod(x.shape, 0, axis);
  const N = x.shape[axis]!;
  const inner = prod(x.shape, axis + 1);
  const step = reverse ? -inner : inner;
  for (let o = 0; o < outer; o++) {
    const base = o * N * inner;
    for (let s = 0; s < N; s++) {
      const r = reverse ? N - 1 - s : s;
      const row = base + r * inner;
      if (s === 0) {
        if (exclusive) for (let k = 0; k < inner; k++) y[row + k] = zero;
        else for (let k = 0; k < inner; k++) y[row + k] = zero + xd[row + k];
      } else {
        const prev = row - step; // previous row in scan order
        const xr = exclusive ? prev : row;
        for (let k = 0; k < inner; k++) y[row + k] = y[prev + k] + xd[xr + k];
      }
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// TopK

/**
 * TopK(X, K) along axis (default -1); K from the input (opset >= 10) or the `k`
 * attribute (opset < 10); largest (default 1), sorted (default 1). Outputs
 * Values (X's dtype) and Indices (int64). The order is total and deterministic:
 * NaN ranks above +inf (so largest=1 lists NaNs first and largest=0 lists them
 * last), equal values (including -0 / +0) are ordered by lower index first.
 * Outputs are always sorted, also when sorted=0 (the spec leaves that order open).
 */
function topBefore(va: number | bigint, ia: number, vb: number | bigint, ib: number, largest: boolean): boolean {
  const an = va !== va;
  const bn = vb !== vb;
  if (an || bn) {
    if (an && bn) return ia < ib;
    return largest ? an : bn;
  }
  if (va == vb) return ia < ib; // == so that -0 == +0
  return largest ? va > vb : va < vb;
}

const topK: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const dt = x.dtype;
  if (!(isFloatCompute(dt) || isIntegerType(dt))) throw ctx.unsupported(`TopK on ${dtypeName(dt)} is not supported`);
  if (x.rank === 0) throw ctx.error('TopK needs an input of rank >= 1');
  let k: number;
  if (ctx.opset >= 10) {
    const kt = need(inputs, 1, ctx, 'K');
    if (kt.size !== 1 || kt.rank > 1) throw ctx.error(`K must be a 1-D tensor with one element, got shape [${kt.shape.join(',')}]`);
    k = intList(kt, ctx, 'K')[0]!;
  } else {
    const ka = ctx.int('k');
    if (ka === undefined) throw ctx.error('missing required attribute k');
    k = ka;
  }
  const axis = axisOf(ctx, ctx.int('axis', -1), x.rank);
  const largest = ctx.opset < 11 || ctx.int('largest', 1) !== 0;
  const N = x.shape[axis]!;
  if (k < 0 || k > N) throw ctx.error(`K = ${k} is out of range for axis ${axis} of size ${N}`, { k, size: N });
  const outShape = x.shape.map((d, i) => (i === axis ? k : d));
  const vals = ctx.alloc(dt, outShape);
  const idxs = ctx.alloc(DType.int64, outShape);
  const outer = prod(x.shape, 0, axis);
  const inner = prod(x.shape, axis + 1);
  const xd = x.data as AnyArr;
  const vd = vals.data as AnyArr;
  const id = idxs.data as BigInt64Array;
  if (k === 0 || outer * inner === 0) return [vals, idxs];
  const useInsertion = k <= 16 && k < N;
  const sel = new Int32Array(useInsertion ? k : N);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < inner; c++) {
      const base = o * N * inner + c;
      if (useInsertion) {
        // keep the best k seen so far, sorted; a later index only enters if strictly better
        let n = 0;
        for (let j = 0; j < N; j++) {
          const v = xd[base + j * inner];
          if (n === k) {
            const w = sel[k - 1]!;
            if (!topBefore(v, j, xd[base + w * inner], w, largest)) continue;
            n--;
          }
          let p = n;
          while (p > 0) {
            const w = sel[p - 1]!;
            if (!topBefore(v, j, xd[base + w * inner], w, largest)) break;
            sel[p] = w;
            p--;
          }
          sel[p] = j;
          n++;
        }
      } else {
        for (let j = 0; j < N; j++) sel[j] = j;
        sel.sort((a, b) => (topBefore(xd[base + a * inner], a, xd[base + b * inner], b, largest) ? -1 : 1));
      }
      const ob = o * k * inner + c;
      for (let j = 0; j < k; j++) {
        const s = sel[j]!;
        vd[ob + j * inner] = xd[base + s * inner];
        id[ob + j * inner] = BigInt(s);
      }
    }
  }
  return [vals, idxs];
};

// ---------------------------------------------------------------------------
// Softmax / LogSoftmax / Hardmax

/**
 * Layout [outer, N, inner] of the normalised block. opset < 13: the input is
 * coerced to 2-D at `axis` (default 1), so the block is every trailing element
 * (N = prod(shape[axis:]), inner = 1). opset >= 13: a single axis (default -1).
 */
function softmaxLayout(x: Tensor, ctx: KernelContext): [number, number, number] {
  const rank = x.rank;
  if (ctx.opset < 13) {
    // coerced 2-D: axis may be in [-r, r] (axis = r gives one-element rows, like Flatten)
    const a = ctx.int('axis', 1);
    const axis = a < 0 ? a + rank : a;
    if (!Number.isInteger(axis) || axis < 0 || axis > rank) throw ctx.error(`axis ${a} is out of range for rank ${rank}`, { axis: a, rank });
    return [prod(x.shape, 0, axis), prod(x.shape, axis), 1];
  }
  if (rank === 0) return [1, 1, 1];
  const axis = axisOf(ctx, ctx.int('axis', -1), rank);
  return [prod(x.shape, 0, axis), x.shape[axis]!, prod(x.shape, axis + 1)];
}

function softmaxKernel(kind: 'softmax' | 'logsoftmax'): Kernel {
  return (inputs, ctx) => {
    const x = need(inputs, 0, ctx, 'input');
    const dt = x.dtype;
    if (!isFloatCompute(dt)) {
      if (dt === DType.float16) throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported (compute in float32)`);
      throw ctx.error(`${ctx.node.opType} needs a float input, got ${dtypeName(dt)}`);
    }
    const [outer, N, inner] = softmaxLayout(x, ctx);
    const out = ctx.alloc(dt, x.shape);
    if (outer * N * inner === 0) return [out];
    if (dt === DType.float32) softmaxF32Fast(x.data as Float32Array, out.data as Float32Array, outer, N, inner, kind === 'logsoftmax');
    else softmaxF64(x.data as Float64Array, out.data as Float64Array, outer, N, inner, kind === 'logsoftmax');
    return [out];
  };
}

/**
 * Softmax, per slice x_0..x_{N-1} (increasing index along the axis):
 *   m = max (from -inf; NaN propagates); e_i = expf(f32(x_i - m));
 *   s = 0; s = f32(s + e_i); y_i = f32(e_i / s).
 * LogSoftmax: d_i = f32(x_i - m); s as above from expf(d_i); l = logf(s);
 *   y_i = f32(d_i - l).
 * With inner > 1 the slices are processed side by side (row buffers of size
 * inner) so memory is read contiguously; each slice keeps its own order.
 */
export function softmaxF32(x: Float32Array, y: Float32Array, outer: number, N: number, inner: number, log: boolean): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const b = o * N;
      const end = b + N;
      let m = -Infinity;
      for (let i = b; i < end; i++) {
        const v = x[i]!;
        if (v > m || v !== v) m = v;
      }
      let s = 0;
      if (log) {
        for (let i = b; i < end; i++) {
          const d = fr(x[i]! - m);
          y[i] = d;
          s = fr(s + expf(d));
        }
        const l = logf(s);
        for (let i = b; i < end; i++) y[i] = y[i]! - l;
      } else {
        for (let i = b; i < end; i++) {
          const e = expf(fr(x[i]! - m));
          y[i] = e;
          s = fr(s + e);
        }
        for (let i = b; i < end; i++) y[i] = y[i]! / s;
      }
    }
    return;
  }
  const m = new Float32Array(inner);
  const s = new Float32Array(inner);
  for (let o = 0; o < outer; o++) {
    const b = o * N * inner;
    m.fill(-Infinity);
    s.fill(0);
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      for (let k = 0; k < inner; k++) {
        const v = x[row + k]!;
        if (v > m[k]! || v !== v) m[k] = v;
      }
    }
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      for (let k = 0; k < inner; k++) {
        const d = fr(x[row + k]! - m[k]!);
        const e = expf(d);
        y[row + k] = log ? d : e;
        s[k] += e;
      }
    }
    if (log) for (let k = 0; k < inner; k++) s[k] = logf(s[k]!);
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      if (log) for (let k = 0; k < inner; k++) y[row + k] = y[row + k]! - s[k]!;
      else for (let k = 0; k < inner; k++) y[row + k] = y[row + k]! / s[k]!;
    }
  }
}

/** Below this many elements softmaxF32 runs in JS (copying into wasm memory costs more). */
const SOFTMAX_WASM_MIN = 256;

/**
 * softmaxF32 with the WebAssembly SIMD fast paths for inner = 1 (../wasm/math.wat
 * softmax_rows_f32: the same canonical order per row, max, d_i, e_i = expf(d_i), the
 * sum in index order and the division or subtraction, all identical float32/float64
 * operations) and for inner >= 4 (softmax_cols_f32: four columns side by side, each in
 * that order). Rows / slices whose max is not finite are recomputed here by softmaxF32.
 */
export function softmaxF32Fast(x: Float32Array, y: Float32Array, outer: number, N: number, inner: number, log: boolean): void {
  if (inner === 1 && outer * N >= SOFTMAX_WASM_MIN) {
    const row = (r: number): void =>
      softmaxF32(x.subarray(r * N, (r + 1) * N), y.subarray(r * N, (r + 1) * N), 1, N, 1, log);
    if (softmaxRowsF32Wasm(x, y, outer, N, log, logf, row)) return;
  }
  if (inner >= 4 && outer * N * inner >= SOFTMAX_WASM_MIN) {
    // columns side by side (../wasm/math.wat softmax_cols_f32), the same order per column;
    // slices with a non-finite column maximum are recomputed here by softmaxF32 itself
    const S = N * inner;
    const slice = (o: number): void =>
      softmaxF32(x.subarray(o * S, (o + 1) * S), y.subarray(o * S, (o + 1) * S), 1, N, inner, log);
    if (softmaxColsF32Wasm(x, y, outer, N, inner, log, logf, slice)) return;
  }
  softmaxF32(x, y, outer, N, inner, log);
}

/** float64 twin of softmaxF32 (exp64/log64, no float32 rounding). */
function softmaxF64(x: Float64Array, y: Float64Array, outer: number, N: number, inner: number, log: boolean): void {
  const m = new Float64Array(inner);
  const s = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const b = o * N * inner;
    m.fill(-Infinity);
    s.fill(0);
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      for (let k = 0; k < inner; k++) {
        const v = x[row + k]!;
        if (v > m[k]! || v !== v) m[k] = v;
      }
    }
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      for (let k = 0; k < inner; k++) {
        const d = x[row + k]! - m[k]!;
        const e = exp64(d);
        y[row + k] = log ? d : e;
        s[k] = s[k]! + e;
      }
    }
    if (log) for (let k = 0; k < inner; k++) s[k] = log64(s[k]!);
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      if (log) for (let k = 0; k < inner; k++) y[row + k] = y[row + k]! - s[k]!;
      else for (let k = 0; k < inner; k++) y[row + k] = y[row + k]! / s[k]!;
    }
  }
}

/**
 * Hardmax: 1 at the first maximal element of each slice (same layout rules as
 * Softmax), 0 elsewhere. A NaN counts as maximal (the first NaN wins, as ArgMax).
 */
const hardmax: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const dt = x.dtype;
  if (!isFloatCompute(dt)) {
    if (dt === DType.float16) throw ctx.unsupported('Hardmax on float16 is not supported');
    throw ctx.error(`Hardmax needs a float input, got ${dtypeName(dt)}`);
  }
  const [outer, N, inner] = softmaxLayout(x, ctx);
  const out = ctx.alloc(dt, x.shape);
  if (outer * N * inner === 0) return [out];
  const xd = x.data as Float32Array | Float64Array;
  const y = out.data as Float32Array | Float64Array;
  const best = new Int32Array(inner);
  for (let o = 0; o < outer; o++) {
    const b = o * N * inner;
    best.fill(0);
    for (let r = 1; r < N; r++) {
      const row = b + r * inner;
      for (let k = 0; k < inner; k++) {
        const bv = xd[b + best[k]! * inner + k]!;
        const v = xd[row + k]!;
        if (bv === bv && (v > bv || v !== v)) best[k] = r;
      }
    }
    for (let k = 0; k < inner; k++) y[b + best[k]! * inner + k] = 1;
  }
  return [out];
};

export const ops: KernelTable = {
  ReduceSum: reduceKernel('sum', 13),
  ReduceMean: reduceKernel('mean', 18),
  ReduceMax: reduceKernel('max', 18),
  ReduceMin: reduceKernel('min', 18),
  ReduceProd: reduceKernel('prod', 18),
  ReduceL1: reduceKernel('l1', 18),
  ReduceL2: reduceKernel('l2', 18),
  ReduceLogSum: reduceKernel('logsum', 18),
  ReduceLogSumExp: reduceKernel('logsumexp', 18),
  ReduceSumSquare: reduceKernel('sumsquare', 18),
  ArgMax: argKernel(true),
  ArgMin: argKernel(false),
  CumSum: cumSum,
  TopK: topK,
  Softmax: softmaxKernel('softmax'),
  LogSoftmax: softmaxKernel('logsoftmax'),
  Hardmax: hardmax,
};
