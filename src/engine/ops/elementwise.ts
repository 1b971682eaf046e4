/**
 * Elementwise binary / variadic / comparison / logic / bitwise ops, Where, PRelu,
 * IsNaN, IsInf (Cast and CastLike live in ./cast.ts and are re-exported here).
 *
 * Broadcasting is numpy multidirectional (ONNX opset >= 7; the opset < 7
 * `broadcast`/`axis` attributes are honoured too). The iteration collapses the
 * output shape into as few axes as possible (dropping size-1 axes, merging axes
 * that are contiguous for every operand), then runs the innermost axis as one
 * tight strided loop per row, so same-shape operands are one flat loop and a
 * scalar operand is a stride-0 loop.
 *
 * Canonical arithmetic: every output element is ONE operation on its operands.
 * - float32: x+y, x-y, x*y, x/y are computed in double and rounded once to float32
 *   by the Float32Array store. That is the IEEE float32 result exactly: for one
 *   +,-,*,/ of two float32 values the double result is correctly rounded with
 *   53 >= 2*24+2 bits, and rounding it again to float32 is innocuous (no double
 *   rounding error), so the stored value equals the correctly rounded float32 op.
 * - float64: plain JS double arithmetic.
 * - integers wrap per type: <= 32-bit results are exact in a double before the
 *   typed-array store wraps them (int32/uint32 multiplication uses Math.imul);
 *   64-bit via BigInt, wrapped by the BigInt64Array/BigUint64Array store.
 * - float16 is accepted only where the result is exact (Min, Max, comparisons,
 *   Mod, IsNaN, IsInf, Where); arithmetic on float16 is unsupported.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { broadcastStrides, tryBroadcastShapes } from '../broadcast.js';
import { DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import { float16ToNumber } from '../../tensor/float16.js';
import { Tensor } from '../../tensor/tensor.js';
import { castOps, floatToI32, floatToI64, floatToU32, floatToU64, toF16 } from './cast.js';
import { pow64, powf } from '../math/index.js';
import { need } from './util.js';
import { binaryF32Wasm, type BinaryOpF32 } from '../wasm/elementwise.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyArr = any;

// ---------------------------------------------------------------------------
// Broadcast iteration
// ---------------------------------------------------------------------------

/** A collapsed iteration space: dims (outermost first) and per-operand strides. */
interface Plan {
  dims: number[];
  strides: number[][];
  n: number;
}

function makePlan(outShape: readonly number[], inShapes: readonly (readonly number[])[]): Plan {
  const full = inShapes.map((s) => broadcastStrides(s, outShape));
  const dims: number[] = [];
  const strides: number[][] = inShapes.map(() => []);
  let n = 1;
  for (let ax = 0; ax < outShape.length; ax++) {
    const d = outShape[ax]!;
    n *= d;
    if (d === 1) continue;
    const last = dims.length - 1;
    let merge = last >= 0;
    for (let j = 0; merge && j < full.length; j++) if (strides[j]![last] !== full[j]![ax]! * d) merge = false;
    if (merge) {
      dims[last] = dims[last]! * d;
      for (let j = 0; j < full.length; j++) strides[j]![last] = full[j]![ax]!;
    } else {
      dims.push(d);
      for (let j = 0; j < full.length; j++) strides[j]!.push(full[j]![ax]!);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of strides) s.push(0);
  }
  return { dims, strides, n };
}

const NO_STRIDES: number[] = [];

/**
 * Calls `row(io, len, o0, o1, o2)` for every innermost row of the plan in output
 * order: `io` is the flat output offset, `oj` operand j's offset (stride along the
 * row is plan.strides[j][last]). Requires plan.n > 0.
 */
function forEachRow(plan: Plan, row: (io: number, len: number, o0: number, o1: number, o2: number) => void): void {
  const { dims, strides, n } = plan;
  const r = dims.length;
  const len = dims[r - 1]!;
  if (r === 1) {
    row(0, len, 0, 0, 0);
    return;
  }
  const s0 = strides[0] ?? NO_STRIDES;
  const s1 = strides[1] ?? NO_STRIDES;
  const s2 = strides[2] ?? NO_STRIDES;
  const k = strides.length;
  const cnt = new Array<number>(r - 1).fill(0);
  let o0 = 0;
  let o1 = 0;
  let o2 = 0;
  for (let io = 0; io < n; io += len) {
    row(io, len, o0, o1, o2);
    for (let ax = r - 2; ax >= 0; ax--) {
      o0 += s0[ax]!;
      if (k > 1) o1 += s1[ax]!;
      if (k > 2) o2 += s2[ax]!;
      if (++cnt[ax]! < dims[ax]!) break;
      const d = dims[ax]!;
      o0 -= s0[ax]! * d;
      if (k > 1) o1 -= s1[ax]! * d;
      if (k > 2) o2 -= s2[ax]! * d;
      cnt[ax] = 0;
    }
  }
}

/** One strided row of a binary op: o[io+t] = f(a[ia + t*sa], b[ib + t*sb]) for t < n. */
type Run2 = (a: AnyArr, ia: number, sa: number, b: AnyArr, ib: number, sb: number, o: AnyArr, io: number, n: number) => void;

/** Applies `run` over the broadcast of a (shape aShape) and b (shape bShape) into o (outShape). */
function apply2(a: AnyArr, aShape: readonly number[], b: AnyArr, bShape: readonly number[], o: AnyArr, outShape: readonly number[], run: Run2): void {
  const plan = makePlan(outShape, [aShape, bShape]);
  if (plan.n === 0) return;
  const last = plan.dims.length - 1;
  const sa = plan.strides[0]![last]!;
  const sb = plan.strides[1]![last]!;
  forEachRow(plan, (io, len, ia, ib) => run(a, ia, sa, b, ib, sb, o, io, len));
}

/** Broadcast output shape, reported as this node's INVALID_ARGUMENT on mismatch. */
function outShapeOf(ctx: KernelContext, shapes: (readonly number[])[]): number[] {
  const out = tryBroadcastShapes(shapes);
  if (!out) {
    throw ctx.error(`shapes ${shapes.map((x) => `[${x.join(',')}]`).join(', ')} cannot be broadcast`, {
      shapes: shapes.map((x) => [...x]),
    });
  }
  return out;
}

function sameDType(ctx: KernelContext, ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== ts[0]!.dtype) {
      throw ctx.error(`inputs must share one type, got ${ts.map((x) => dtypeName(x.dtype)).join(', ')}`);
    }
  }
}

/**
 * Opset < 7 binary ops: `broadcast` (default 0: shapes must be equal) and `axis`
 * (where B's dims align in A; default: trailing). Returns B viewed at A's rank.
 */
function legacyB(ctx: KernelContext, a: Tensor, b: Tensor): Tensor {
  if (ctx.opset >= 7) return b;
  if (ctx.int('broadcast', 0) === 0) {
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
      throw ctx.error(`shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] differ and broadcast=0`);
    }
    return b;
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  let axis = ctx.int('axis', ra - rb);
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra) throw ctx.error(`axis ${ctx.int('axis')} does not fit B of rank ${rb} in A of rank ${ra}`);
  const shape = new Array<number>(ra).fill(1);
  for (let i = 0; i < rb; i++) {
    const d = b.shape[i]!;
    if (d !== 1 && d !== a.shape[axis + i]) {
      throw ctx.error(`B of shape [${b.shape.join(',')}] cannot broadcast to A of shape [${a.shape.join(',')}] at axis ${axis}`);
    }
    shape[axis + i] = d;
  }
  return new Tensor(b.dtype, shape, b.data);
}

/** float16 tensor -> float64 tensor (exact values), for exact comparisons/selections. */
function f16ToF64(t: Tensor): Tensor {
  const s = t.data;
  const d = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) d[i] = float16ToNumber(s[i] as number);
  return new Tensor(DType.float64, t.shape, d);
}

/** float64 values that are all exactly representable in float16 (or NaN) -> float16 tensor. */
function f64ToF16Tensor(t: Tensor, ctx: KernelContext): Tensor {
  const out = ctx.alloc(DType.float16, t.shape);
  const o = out.data as Uint16Array;
  const s = t.data as Float64Array;
  for (let i = 0; i < s.length; i++) o[i] = toF16(s[i]!);
  return out;
}

const isF16 = (t: Tensor): boolean => t.dtype === DType.float16;
const isBig = (t: Tensor): boolean => t.dtype === DType.int64 || t.dtype === DType.uint64;
const isFlt = (t: Tensor): boolean => t.dtype === DType.float32 || t.dtype === DType.float64;

// ---------------------------------------------------------------------------
// Row kernels
// ---------------------------------------------------------------------------

// Add/Sub/Mul/Div on float32 get monomorphic fast loops; the generic versions below
// handle every other storage type (the typed-array store does rounding/wrapping).
const addF32: Run2 = (a: Float32Array, ia, sa, b: Float32Array, ib, sb, o: Float32Array, io, n) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < n; t++) o[io + t] = a[ia + t]! + b[ib + t]!;
  else for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia]! + b[ib]!;
};
const subF32: Run2 = (a: Float32Array, ia, sa, b: Float32Array, ib, sb, o: Float32Array, io, n) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < n; t++) o[io + t] = a[ia + t]! - b[ib + t]!;
  else for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia]! - b[ib]!;
};
const mulF32: Run2 = (a: Float32Array, ia, sa, b: Float32Array, ib, sb, o: Float32Array, io, n) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < n; t++) o[io + t] = a[ia + t]! * b[ib + t]!;
  else for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia]! * b[ib]!;
};
const divF32: Run2 = (a: Float32Array, ia, sa, b: Float32Array, ib, sb, o: Float32Array, io, n) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < n; t++) o[io + t] = a[ia + t]! / b[ib + t]!;
  else for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia]! / b[ib]!;
};

const runAdd: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] + b[ib];
};
const runSub: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] - b[ib];
};
/** Exact for floats (one rounding in the store), <= 16-bit ints and BigInt. */
const runMul: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] * b[ib];
};
/** int32/uint32: low 32 bits of the product. */
const runMulImul: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = Math.imul(a[ia], b[ib]);
};
/** Floats (IEEE division) and BigInt (truncating division). */
const runDiv: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] / b[ib];
};
/**
 * <= 32-bit ints: trunc(a/b) of the double quotient is the exact truncated quotient:
 * a non-integer a/b is at least 1/|b| away from the next integer, more than half an ulp
 * of a/b whenever |a| < 2^52 (here |a|, |b| < 2^32).
 */
const runDivInt: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = Math.trunc(a[ia] / b[ib]);
};
/** C fmod / truncated remainder: JS % is exact for doubles (and integers, and BigInt). */
const runFmod: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] % b[ib];
};
/** Python-style integer mod: the remainder takes the divisor's sign. */
const runPyMod: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) {
    const y = b[ib];
    let r = a[ia] % y;
    if (r !== 0 && r < 0 !== y < 0) r += y;
    o[io + t] = r;
  }
};
const runPyModBig: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) {
    const y: bigint = b[ib];
    let r: bigint = a[ia] % y;
    if (r !== 0n && r < 0n !== y < 0n) r += y;
    o[io + t] = r;
  }
};
/** numpy maximum: (x >= y || isnan(x)) ? x : y — NaN propagates; max(-0, +0) = -0, max(+0, -0) = +0. */
const runMax: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) {
    const x = a[ia];
    const y = b[ib];
    o[io + t] = x >= y || x !== x ? x : y;
  }
};
/** numpy minimum: (x <= y || isnan(x)) ? x : y. */
const runMin: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) {
    const x = a[ia];
    const y = b[ib];
    o[io + t] = x <= y || x !== x ? x : y;
  }
};
/** float16 Max/Min on raw bits: same rule on the decoded values, the selected operand's bits are copied. */
const runMaxF16: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) {
    const x = float16ToNumber(a[ia]);
    const y = float16ToNumber(b[ib]);
    o[io + t] = x >= y || x !== x ? a[ia] : b[ib];
  }
};
const runMinF16: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) {
    const x = float16ToNumber(a[ia]);
    const y = float16ToNumber(b[ib]);
    o[io + t] = x <= y || x !== x ? a[ia] : b[ib];
  }
};
const runEq: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] === b[ib] ? 1 : 0;
};
const runLt: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] < b[ib] ? 1 : 0;
};
const runGt: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] > b[ib] ? 1 : 0;
};
const runLe: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] <= b[ib] ? 1 : 0;
};
const runGe: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] >= b[ib] ? 1 : 0;
};
/** bool logic: any non-zero byte is true. */
const runAnd: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] !== 0 && b[ib] !== 0 ? 1 : 0;
};
const runOr: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] !== 0 || b[ib] !== 0 ? 1 : 0;
};
const runXor: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = (a[ia] !== 0) !== (b[ib] !== 0) ? 1 : 0;
};
/** Bitwise: number operands give the int32 bit pattern, which the store wraps to the type; BigInt is exact. */
const runBitAnd: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] & b[ib];
};
const runBitOr: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] | b[ib];
};
const runBitXor: Run2 = (a, ia, sa, b, ib, sb, o, io, n) => {
  for (let t = 0; t < n; t++, ia += sa, ib += sb) o[io + t] = a[ia] ^ b[ib];
};
/** Copy a (broadcast) into o; b unused. */
const runCopy: Run2 = (a, ia, sa, _b, _ib, _sb, o, io, n) => {
  if (sa === 1) for (let t = 0; t < n; t++) o[io + t] = a[ia + t];
  else for (let t = 0; t < n; t++, ia += sa) o[io + t] = a[ia];
};

// ---------------------------------------------------------------------------
// Binary arithmetic
// ---------------------------------------------------------------------------

/** Broadcast a op b into a new tensor of `outDtype`. */
function binary(ctx: KernelContext, a: Tensor, b: Tensor, outDtype: DType, run: Run2): Tensor {
  const outShape = outShapeOf(ctx, [a.shape, b.shape]);
  const out = ctx.alloc(outDtype, outShape);
  apply2(a.data, a.shape, b.data, b.shape, out.data, outShape, run);
  return out;
}

/**
 * Outputs from which float32 Add/Sub/Mul/Div run in WebAssembly SIMD (../wasm/elementwise.wat).
 * Below it the copies in and out of the wasm memory and the call cost more than the JS loop
 * saves. Exported for tests (sizes either side of it).
 */
export const BINARY_F32_WASM_MIN = 256;

/**
 * float32 Add/Sub/Mul/Div. When the collapsed iteration space has at most two axes (same
 * shape, a scalar operand, a trailing row [M,N] op [N], a leading column [M,N] op [M,1],
 * and their mirror images) and the output is large enough, the WebAssembly SIMD kernel
 * computes it: one f32x4 operation per 4 outputs, the same IEEE float32 operation per
 * element as `run`, so the same bits (NaN results may differ in payload only, which the
 * canonical encoding collapses). Everything else, and no WebAssembly, runs `run`.
 */
function binaryF32(ctx: KernelContext, a: Tensor, b: Tensor, op: BinaryOpF32, run: Run2): Tensor {
  const outShape = outShapeOf(ctx, [a.shape, b.shape]);
  const out = ctx.alloc(DType.float32, outShape);
  const plan = makePlan(outShape, [a.shape, b.shape]);
  if (plan.n === 0) return out;
  const r = plan.dims.length;
  if (plan.n >= BINARY_F32_WASM_MIN && r <= 2) {
    const sa = plan.strides[0]!;
    const sb = plan.strides[1]!;
    const ea = sa[r - 1]!;
    const eb = sb[r - 1]!;
    // innermost strides are always 0 or 1 (row-major operands); checked anyway
    if ((ea === 0 || ea === 1) && (eb === 0 || eb === 1)) {
      const m = r === 2 ? plan.dims[0]! : 1;
      const n = plan.dims[r - 1]!;
      const ra = r === 2 ? sa[0]! : 0;
      const rb = r === 2 ? sb[0]! : 0;
      if (binaryF32Wasm(op, a.data as Float32Array, ra, ea, b.data as Float32Array, rb, eb, out.data as Float32Array, m, n)) return out;
    }
  }
  const last = r - 1;
  const sa = plan.strides[0]![last]!;
  const sb = plan.strides[1]![last]!;
  const x = a.data;
  const y = b.data;
  const o = out.data;
  forEachRow(plan, (io, len, ia, ib) => run(x, ia, sa, y, ib, sb, o, io, len));
  return out;
}

/** Two same-typed operands (legacy broadcast applied); float16 compute is unsupported. */
function twoArith(inputs: (Tensor | undefined)[], ctx: KernelContext): [Tensor, Tensor] {
  const a = need(inputs, 0, ctx);
  const b = legacyB(ctx, a, need(inputs, 1, ctx));
  sameDType(ctx, [a, b]);
  if (isF16(a)) throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported`);
  if (a.dtype === DType.bool) throw ctx.error(`${ctx.node.opType} does not accept bool`);
  return [a, b];
}

function hasZero(t: Tensor): boolean {
  const d = t.data as AnyArr;
  if (isBig(t)) {
    for (let i = 0; i < d.length; i++) if (d[i] === 0n) return true;
  } else for (let i = 0; i < d.length; i++) if (d[i] === 0) return true;
  return false;
}

const is32 = (d: DType): boolean => d === DType.int32 || d === DType.uint32;

/** Add: f32(a + b) per element (int: wrap). */
const Add: Kernel = (inputs, ctx) => {
  const [a, b] = twoArith(inputs, ctx);
  return [a.dtype === DType.float32 ? binaryF32(ctx, a, b, 'add', addF32) : binary(ctx, a, b, a.dtype, runAdd)];
};
/** Sub: f32(a - b) per element (int: wrap). */
const Sub: Kernel = (inputs, ctx) => {
  const [a, b] = twoArith(inputs, ctx);
  return [a.dtype === DType.float32 ? binaryF32(ctx, a, b, 'sub', subF32) : binary(ctx, a, b, a.dtype, runSub)];
};
/** Mul: f32(a * b) per element (int: low bits of the product). */
const Mul: Kernel = (inputs, ctx) => {
  const [a, b] = twoArith(inputs, ctx);
  if (a.dtype === DType.float32) return [binaryF32(ctx, a, b, 'mul', mulF32)];
  return [binary(ctx, a, b, a.dtype, is32(a.dtype) ? runMulImul : runMul)];
};
/** Div: f32(a / b) per element; integers truncate toward zero (MIN / -1 wraps to MIN); int division by zero is an error. */
const Div: Kernel = (inputs, ctx) => {
  const [a, b] = twoArith(inputs, ctx);
  if (a.dtype === DType.float32) return [binaryF32(ctx, a, b, 'div', divF32)];
  if (isFlt(a)) return [binary(ctx, a, b, a.dtype, runDiv)];
  if (hasZero(b) && outShapeOf(ctx, [a.shape, b.shape]).every((d) => d > 0)) throw ctx.error('integer division by zero');
  return [binary(ctx, a, b, a.dtype, isBig(a) ? runDiv : runDivInt)];
};

/**
 * Mod: fmod=1 is C fmod (result has the dividend's sign), computed with JS `%`,
 * which ECMAScript defines as the exact remainder; the exact fmod of two
 * float32/float16 values is representable in their format, so the store is exact.
 * fmod=0 (integers only) gives the divisor's sign, as Python. Integer mod by zero is
 * an error; float fmod by zero is NaN.
 */
const Mod: Kernel = (inputs, ctx) => {
  const a = need(inputs, 0, ctx);
  const b = need(inputs, 1, ctx);
  sameDType(ctx, [a, b]);
  const fmod = ctx.int('fmod', 0);
  if (fmod !== 0 && fmod !== 1) throw ctx.error(`fmod must be 0 or 1, got ${fmod}`);
  if (a.dtype === DType.bool) throw ctx.error('Mod does not accept bool');
  if (isF16(a) || isFlt(a)) {
    if (fmod !== 1) throw ctx.error('Mod on floating-point inputs requires fmod=1');
    if (isF16(a)) return [f64ToF16Tensor(binary(ctx, f16ToF64(a), f16ToF64(b), DType.float64, runFmod), ctx)];
    return [binary(ctx, a, b, a.dtype, runFmod)];
  }
  if (hasZero(b) && outShapeOf(ctx, [a.shape, b.shape]).every((d) => d > 0)) throw ctx.error('integer modulo by zero');
  return [binary(ctx, a, b, a.dtype, fmod === 1 ? runFmod : isBig(a) ? runPyModBig : runPyMod)];
};

// ---------------------------------------------------------------------------
// Pow
// ---------------------------------------------------------------------------

/** Exact integer power base^e with wrap-around at 32 bits (repeated squaring, exponent bits low to high). */
function ipow32(base: number, e: number): number {
  let r = 1;
  let x = base | 0;
  while (e > 0) {
    if (e % 2 === 1) r = Math.imul(r, x);
    x = Math.imul(x, x);
    e = Math.floor(e / 2);
  }
  return r;
}
function ipow64(base: bigint, e: bigint, bits: 64, signed: boolean): bigint {
  const wrap = signed ? (v: bigint): bigint => BigInt.asIntN(bits, v) : (v: bigint): bigint => BigInt.asUintN(bits, v);
  let r = 1n;
  let x = base;
  while (e > 0n) {
    if (e & 1n) r = wrap(r * x);
    x = wrap(x * x);
    e >>= 1n;
  }
  return r;
}

/**
 * Pow (T base, T1 exponent; output type T).
 * - float32^float32: powf(x, y). float64^float64: pow64(x, y).
 * - float base with any other exponent type: the exponent converted to a double
 *   (Number(), round-to-nearest for 64-bit ints), pow64 in double, then one rounding
 *   to the base type (what numpy's promotion and C++ std::pow(float, int) do).
 * - integer base, float exponent: pow64(Number(x), y) converted to the base type by
 *   Cast's float -> int rule (truncation; out of range/NaN per cast.ts).
 * - integer base, integer exponent: exact by repeated squaring, wrapping to the base
 *   type. A negative exponent gives the truncated real result: 1^-n = 1,
 *   (-1)^-n = ±1, 0^-n is an error (division by zero), otherwise 0.
 */
const Pow: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const y = legacyB(ctx, x, need(inputs, 1, ctx));
  if (isF16(x) || isF16(y)) throw ctx.unsupported('Pow on float16 is not supported');
  if (x.dtype === DType.bool || y.dtype === DType.bool) throw ctx.error('Pow does not accept bool');
  const outShape = outShapeOf(ctx, [x.shape, y.shape]);
  const out = ctx.alloc(x.dtype, outShape);
  const plan = makePlan(outShape, [x.shape, y.shape]);
  if (plan.n === 0) return [out];
  const last = plan.dims.length - 1;
  const sa = plan.strides[0]![last]!;
  const sb = plan.strides[1]![last]!;
  const a: AnyArr = x.data;
  const b: AnyArr = y.data;
  const o: AnyArr = out.data;
  const yBig = isBig(y);
  if (isFlt(x)) {
    const f = x.dtype === DType.float32 && y.dtype === DType.float32 ? powf : pow64;
    // Float32Array store rounds the double pow64 result once for float32 bases.
    forEachRow(plan, (io, len, ia, ib) => {
      for (let t = 0; t < len; t++, ia += sa, ib += sb) o[io + t] = f(a[ia], yBig ? Number(b[ib]) : b[ib]);
    });
    return [out];
  }
  if (isFlt(y)) {
    const conv = x.dtype === DType.int64 ? floatToI64 : x.dtype === DType.uint64 ? floatToU64 : x.dtype === DType.uint32 ? floatToU32 : floatToI32;
    const xBig = isBig(x);
    forEachRow(plan, (io, len, ia, ib) => {
      for (let t = 0; t < len; t++, ia += sa, ib += sb) o[io + t] = conv(pow64(xBig ? Number(a[ia]) : a[ia], b[ib]));
    });
    return [out];
  }
  // integer ^ integer
  const xBig = isBig(x);
  const signedX = x.dtype !== DType.uint64;
  let zeroNeg = false;
  forEachRow(plan, (io, len, ia, ib) => {
    for (let t = 0; t < len; t++, ia += sa, ib += sb) {
      const e = b[ib];
      if (e < 0) {
        const v = a[ia];
        // truncated real result of v^e for e < 0
        if (xBig) {
          if (v === 1n) o[io + t] = 1n;
          else if (v === -1n && signedX) o[io + t] = (yBig ? (e & 1n) === 0n : e % 2 === 0) ? 1n : -1n;
          else if (v === 0n) zeroNeg = true;
          else o[io + t] = 0n;
        } else {
          if (v === 1) o[io + t] = 1;
          else if (v === -1) o[io + t] = (yBig ? (e & 1n) === 0n : e % 2 === 0) ? 1 : -1;
          else if (v === 0) zeroNeg = true;
          else o[io + t] = 0;
        }
      } else if (xBig) {
        o[io + t] = ipow64(a[ia], yBig ? e : BigInt(e), 64, signedX);
      } else {
        // low 32 bits of the exact power; the store narrows further for 8/16-bit types
        o[io + t] = yBig ? Number(BigInt.asIntN(32, ipow64(BigInt(a[ia]), e, 64, true))) : ipow32(a[ia], e);
      }
    }
  });
  if (zeroNeg) throw ctx.error('integer Pow: 0 raised to a negative power (division by zero)');
  return [out];
};

// ---------------------------------------------------------------------------
// Variadic: Sum Mean Max Min
// ---------------------------------------------------------------------------

/**
 * Left-to-right over the inputs, broadcast: acc = in0; acc = op(acc, in1); ... .
 * Sum: acc = f32(acc + in_i). Mean: f32(sum / n). Max/Min: numpy maximum/minimum
 * (NaN propagates).
 */
function variadic(inputs: (Tensor | undefined)[], ctx: KernelContext, kind: 'sum' | 'mean' | 'max' | 'min'): Tensor {
  const ts: Tensor[] = [];
  for (let i = 0; i < inputs.length; i++) ts.push(need(inputs, i, ctx));
  if (ts.length === 0) throw ctx.error(`${ctx.node.opType} needs at least one input`);
  sameDType(ctx, ts);
  const dt = ts[0]!.dtype;
  if (dt === DType.bool) throw ctx.error(`${ctx.node.opType} does not accept bool`);
  if (dt === DType.float16) {
    if (kind === 'sum' || kind === 'mean') throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported`);
    // Max/Min select one operand's bits (NaN payloads kept), comparing decoded values.
  }
  if (kind === 'mean' && !isFlt(ts[0]!)) throw ctx.error(`Mean requires float inputs, got ${dtypeName(dt)}`);
  const outShape = outShapeOf(ctx, ts.map((t) => t.shape));
  const out = ctx.alloc(dt, outShape);
  const o: AnyArr = out.data;
  apply2(ts[0]!.data, ts[0]!.shape, o, outShape, o, outShape, runCopy);
  const f16 = dt === DType.float16;
  const run =
    kind === 'max' ? (f16 ? runMaxF16 : runMax) : kind === 'min' ? (f16 ? runMinF16 : runMin) : dt === DType.float32 ? addF32 : runAdd;
  for (let i = 1; i < ts.length; i++) apply2(o, outShape, ts[i]!.data, ts[i]!.shape, o, outShape, run);
  if (kind === 'mean') {
    const n = ts.length;
    for (let i = 0; i < o.length; i++) o[i] = o[i] / n; // store rounds: f32(sum / n)
  }
  return out;
}

// ---------------------------------------------------------------------------
// Comparisons and logic
// ---------------------------------------------------------------------------

/** Comparison: bool output, exact (IEEE comparisons: NaN compares false, -0 == +0). */
function compare(run: Run2): Kernel {
  return (inputs, ctx) => {
    let a = need(inputs, 0, ctx);
    let b = legacyB(ctx, a, need(inputs, 1, ctx));
    sameDType(ctx, [a, b]);
    if (isF16(a)) {
      a = f16ToF64(a);
      b = f16ToF64(b);
    }
    return [binary(ctx, a, b, DType.bool, run)];
  };
}

function logic(run: Run2): Kernel {
  return (inputs, ctx) => {
    const a = need(inputs, 0, ctx);
    const b = legacyB(ctx, a, need(inputs, 1, ctx));
    if (a.dtype !== DType.bool || b.dtype !== DType.bool) throw ctx.error(`${ctx.node.opType} requires bool inputs`);
    return [binary(ctx, a, b, DType.bool, run)];
  };
}

const Not: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  if (x.dtype !== DType.bool) throw ctx.error('Not requires a bool input');
  const out = ctx.alloc(DType.bool, x.shape);
  const s = x.data as Uint8Array;
  const o = out.data as Uint8Array;
  for (let i = 0; i < s.length; i++) o[i] = s[i] === 0 ? 1 : 0;
  return [out];
};

function intOnly(ctx: KernelContext, t: Tensor): void {
  const k = dtypeKind(t.dtype);
  if (k !== 'int' && k !== 'bigint') throw ctx.error(`${ctx.node.opType} requires integer inputs, got ${dtypeName(t.dtype)}`);
}

function bitwise(run: Run2): Kernel {
  return (inputs, ctx) => {
    const a = need(inputs, 0, ctx);
    const b = need(inputs, 1, ctx);
    sameDType(ctx, [a, b]);
    intOnly(ctx, a);
    return [binary(ctx, a, b, a.dtype, run)];
  };
}

/** BitwiseNot: ~x, wrapped to the type by the store. */
const BitwiseNot: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  intOnly(ctx, x);
  const out = ctx.alloc(x.dtype, x.shape);
  const s: AnyArr = x.data;
  const o: AnyArr = out.data;
  for (let i = 0; i < s.length; i++) o[i] = ~s[i];
  return [out];
};

const BITS: Partial<Record<DType, number>> = { [DType.uint8]: 8, [DType.uint16]: 16, [DType.uint32]: 32 };

/** BitShift (unsigned types): x << s or x >> s (logical); a shift of >= the bit width gives 0. */
const BitShift: Kernel = (inputs, ctx) => {
  const a = need(inputs, 0, ctx);
  const b = need(inputs, 1, ctx);
  sameDType(ctx, [a, b]);
  const dir = ctx.string('direction');
  if (dir !== 'LEFT' && dir !== 'RIGHT') throw ctx.error(`direction must be LEFT or RIGHT, got ${dir}`);
  const left = dir === 'LEFT';
  if (a.dtype === DType.uint64) {
    const run: Run2 = (x, ia, sa, y, ib, sb, o, io, n) => {
      for (let t = 0; t < n; t++, ia += sa, ib += sb) {
        const s: bigint = y[ib];
        o[io + t] = s >= 64n ? 0n : left ? x[ia] << s : x[ia] >> s; // store wraps the left shift to 64 bits
      }
    };
    return [binary(ctx, a, b, a.dtype, run)];
  }
  const w = BITS[a.dtype];
  if (w === undefined) throw ctx.error(`BitShift requires an unsigned integer type, got ${dtypeName(a.dtype)}`);
  const run: Run2 = (x, ia, sa, y, ib, sb, o, io, n) => {
    for (let t = 0; t < n; t++, ia += sa, ib += sb) {
      const s: number = y[ib];
      o[io + t] = s >= w ? 0 : left ? x[ia] << s : x[ia] >>> s; // store wraps the left shift to the width
    }
  };
  return [binary(ctx, a, b, a.dtype, run)];
};

// ---------------------------------------------------------------------------
// Where, PRelu, IsNaN, IsInf
// ---------------------------------------------------------------------------

/** Where(cond, X, Y): out = cond ? X : Y with 3-way broadcasting (pure selection, any dtype). */
const Where: Kernel = (inputs, ctx) => {
  const c = need(inputs, 0, ctx);
  const x = need(inputs, 1, ctx);
  const y = need(inputs, 2, ctx);
  if (c.dtype !== DType.bool) throw ctx.error(`Where condition must be bool, got ${dtypeName(c.dtype)}`);
  sameDType(ctx, [x, y]);
  const outShape = outShapeOf(ctx, [c.shape, x.shape, y.shape]);
  const out = ctx.alloc(x.dtype, outShape);
  const plan = makePlan(outShape, [c.shape, x.shape, y.shape]);
  if (plan.n === 0) return [out];
  const last = plan.dims.length - 1;
  const sc = plan.strides[0]![last]!;
  const sx = plan.strides[1]![last]!;
  const sy = plan.strides[2]![last]!;
  const cd = c.data as Uint8Array;
  const xd: AnyArr = x.data;
  const yd: AnyArr = y.data;
  const o: AnyArr = out.data;
  forEachRow(plan, (io, len, ic, ix, iy) => {
    for (let t = 0; t < len; t++, ic += sc, ix += sx, iy += sy) o[io + t] = cd[ic] !== 0 ? xd[ix] : yd[iy];
  });
  return [out];
};

/**
 * PRelu: y = x < 0 ? f32(slope * x) : x (slope broadcast unidirectionally to x;
 * NaN and -0 pass through). Integer types: product wrapped to the type.
 */
const PRelu: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  let s = need(inputs, 1, ctx);
  sameDType(ctx, [x, s]);
  if (isF16(x)) throw ctx.unsupported('PRelu on float16 is not supported');
  if (x.dtype === DType.bool) throw ctx.error('PRelu does not accept bool');
  // opset < 7: a 1-D slope of length C applies per channel (axis 1).
  if (ctx.opset < 7 && s.shape.length === 1 && x.shape.length > 2 && s.shape[0] === x.shape[1] && s.shape[0] !== 1) {
    s = new Tensor(s.dtype, [s.shape[0]!, ...new Array<number>(x.shape.length - 2).fill(1)], s.data);
  }
  const outShape = outShapeOf(ctx, [x.shape, s.shape]);
  if (outShape.length !== x.shape.length || outShape.some((d, i) => d !== x.shape[i])) {
    throw ctx.error(`slope of shape [${s.shape.join(',')}] does not broadcast to X of shape [${x.shape.join(',')}]`);
  }
  let run: Run2;
  if (is32(x.dtype)) {
    run = (a, ia, sa, b, ib, sb, o, io, n) => {
      for (let t = 0; t < n; t++, ia += sa, ib += sb) {
        const v = a[ia];
        o[io + t] = v < 0 ? Math.imul(b[ib], v) : v;
      }
    };
  } else if (isBig(x)) {
    run = (a, ia, sa, b, ib, sb, o, io, n) => {
      for (let t = 0; t < n; t++, ia += sa, ib += sb) {
        const v: bigint = a[ia];
        o[io + t] = v < 0n ? b[ib] * v : v;
      }
    };
  } else {
    run = (a, ia, sa, b, ib, sb, o, io, n) => {
      for (let t = 0; t < n; t++, ia += sa, ib += sb) {
        const v = a[ia];
        o[io + t] = v < 0 ? b[ib] * v : v;
      }
    };
  }
  return [binary(ctx, x, s, x.dtype, run)];
};

function floatOnly(ctx: KernelContext, t: Tensor): void {
  if (!isFlt(t) && !isF16(t)) throw ctx.error(`${ctx.node.opType} requires a float input, got ${dtypeName(t.dtype)}`);
}

const IsNaN: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  floatOnly(ctx, x);
  const out = ctx.alloc(DType.bool, x.shape);
  const o = out.data as Uint8Array;
  const s: AnyArr = x.data;
  if (isF16(x)) for (let i = 0; i < s.length; i++) o[i] = (s[i] & 0x7fff) > 0x7c00 ? 1 : 0;
  else for (let i = 0; i < s.length; i++) o[i] = s[i] !== s[i] ? 1 : 0;
  return [out];
};

const IsInf: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  floatOnly(ctx, x);
  const neg = ctx.int('detect_negative', 1) !== 0;
  const pos = ctx.int('detect_positive', 1) !== 0;
  const out = ctx.alloc(DType.bool, x.shape);
  const o = out.data as Uint8Array;
  const s: AnyArr = x.data;
  if (isF16(x)) {
    for (let i = 0; i < s.length; i++) o[i] = (pos && s[i] === 0x7c00) || (neg && s[i] === 0xfc00) ? 1 : 0;
  } else {
    for (let i = 0; i < s.length; i++) o[i] = (pos && s[i] === Infinity) || (neg && s[i] === -Infinity) ? 1 : 0;
  }
  return [out];
};

export const ops: KernelTable = {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Mod,
  Sum: (inputs, ctx) => [variadic(inputs, ctx, 'sum')],
  Mean: (inputs, ctx) => [variadic(inputs, ctx, 'mean')],
  Max: (inputs, ctx) => [variadic(inputs, ctx, 'max')],
  Min: (inputs, ctx) => [variadic(inputs, ctx, 'min')],
  Equal: compare(runEq),
  Less: compare(runLt),
  Greater: compare(runGt),
  LessOrEqual: compare(runLe),
  GreaterOrEqual: compare(runGe),
  And: logic(runAnd),
  Or: logic(runOr),
  Xor: logic(runXor),
  Not,
  BitShift,
  BitwiseAnd: bitwise(runBitAnd),
  BitwiseOr: bitwise(runBitOr),
  BitwiseXor: bitwise(runBitXor),
  BitwiseNot,
  Where,
  PRelu,
  IsNaN,
  IsInf,
  ...castOps,
};
