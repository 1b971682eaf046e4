// Convolution family: Conv, ConvTranspose, ConvInteger, QLinearConv, Col2Im.
//
// Canonical order (all of them): each output element is its own accumulation,
// acc = +0, then one f32(acc + f32(x * w)) step per contributing term, terms in
// increasing (input channel c, kernel position in row-major order); terms whose
// input position falls in the padding / outside the input are skipped entirely
// (no `+ 0` is performed for them), then + bias. Each kernel below states its
// exact variant.
//
// Schedules (none changes any element's order of operations):
// - float32 1-D/2-D Conv with all-finite weights (`convWasmF32`): one WebAssembly SIMD
//   call per node (../wasm/conv.wat: padded-image or im2col taps, 4x8 register tiles,
//   bias in place), the same steps per element as the GEMM schedule below.
// - float32 Conv with all-finite weights otherwise (`convGemmF32`): im2col + gemmF32
//   (WebAssembly SIMD when available); padded taps become explicit +0 columns,
//   which is bit-identical for finite weights (proof at `convGemmF32`'s section).
// - Conv otherwise (float64, a non-finite weight, tiny shapes) / ConvInteger /
//   QLinearConv (`runForward`): output-stationary; eight
//   outputs accumulate at once in registers, walking the same tap list.
// - float32 1-D/2-D ConvTranspose with all-finite weights: one WebAssembly call, a
//   gather over x scattered into a +0 plane (../wasm/convolution.ts states why that is
//   the canonical order exactly).
// - ConvTranspose otherwise / Col2Im (`accumulatePlane` / `accumulateKernelPos`): for one
//   (n, m), loop c then kernel position; for a fixed (c, kernel position) every
//   output element receives at most one term, so each output sees its terms in
//   increasing (c, kernel position) order. The inner loop runs over the last
//   spatial axis with valid ranges precomputed per kernel index.

import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { roundHalfEven } from '../math/index.js';
import { gemmF32 } from './matmul.js';
import { conv2dF32Wasm, convTranspose2dF32Wasm, type Conv2dGeometry } from '../wasm/convolution.js';
import { DType, dtypeName } from '../../tensor/dtype.js';
import { stridesOf, type Tensor } from '../../tensor/tensor.js';
import { prod } from './util.js';

type FloatArray = Float32Array | Float64Array;

// ---------------------------------------------------------------------------
// Shared geometry helpers (also used by pool.ts)
// ---------------------------------------------------------------------------

export const floorDiv = (a: number, b: number): number => Math.floor(a / b);
export const ceilDiv = (a: number, b: number): number => -Math.floor(-a / b);

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

export function readAutoPad(ctx: KernelContext): AutoPad {
  const a = ctx.string('auto_pad', 'NOTSET');
  if (a === 'NOTSET' || a === 'SAME_UPPER' || a === 'SAME_LOWER' || a === 'VALID') return a;
  throw ctx.error(`invalid auto_pad '${a}'`, { attribute: 'auto_pad' });
}

/** Reads an ints attribute of exactly `k` positive entries (default all `dflt`). */
export function readPerAxis(ctx: KernelContext, name: string, k: number, dflt: number, min: number): number[] {
  const v = ctx.ints(name);
  if (v === undefined || v.length === 0) return new Array<number>(k).fill(dflt);
  if (v.length !== k) throw ctx.error(`attribute ${name} must have ${k} entries (one per spatial axis), got ${v.length}`, { attribute: name });
  for (const e of v) {
    if (!Number.isSafeInteger(e) || e < min) throw ctx.error(`attribute ${name} has invalid entry ${e} (must be >= ${min})`, { attribute: name });
  }
  return v.slice();
}

/** Explicit pads attribute [b0..bk-1, e0..ek-1] (non-negative). */
export function readPads(ctx: KernelContext, k: number): { begin: number[]; end: number[] } {
  const p = ctx.ints('pads');
  if (p === undefined || p.length === 0) return { begin: new Array<number>(k).fill(0), end: new Array<number>(k).fill(0) };
  if (p.length !== 2 * k) throw ctx.error(`attribute pads must have ${2 * k} entries, got ${p.length}`, { attribute: 'pads' });
  for (const e of p) {
    if (!Number.isSafeInteger(e) || e < 0) throw ctx.error(`attribute pads has invalid entry ${e} (must be >= 0)`, { attribute: 'pads' });
  }
  return { begin: p.slice(0, k), end: p.slice(k) };
}

export interface Geometry {
  strides: number[];
  dilations: number[];
  padBegin: number[];
  padEnd: number[];
  out: number[];
}

/**
 * Output extent and effective pads of a forward sliding window (Conv, pools).
 * NOTSET: out = floor((in + pb + pe - eff) / s) + 1 (ceil in ceil_mode, dropping
 * a last window that would start past in + pb). VALID: same with zero pads.
 * SAME_*: out = ceil(in / s), total = max(0, (out-1)*s + eff - in), split
 * floor(total/2) at the begin for SAME_UPPER (extra at the end), at the end for SAME_LOWER.
 */
export function slidingGeometry(
  ctx: KernelContext,
  inSpatial: readonly number[],
  kernel: readonly number[],
  ceilMode = false,
): Geometry {
  const k = inSpatial.length;
  const strides = readPerAxis(ctx, 'strides', k, 1, 1);
  const dilations = readPerAxis(ctx, 'dilations', k, 1, 1);
  const autoPad = readAutoPad(ctx);
  let padBegin: number[];
  let padEnd: number[];
  if (autoPad === 'NOTSET') ({ begin: padBegin, end: padEnd } = readPads(ctx, k));
  else {
    padBegin = new Array<number>(k).fill(0);
    padEnd = new Array<number>(k).fill(0);
  }
  const out = new Array<number>(k);
  for (let j = 0; j < k; j++) {
    const inj = inSpatial[j]!;
    const s = strides[j]!;
    const eff = (kernel[j]! - 1) * dilations[j]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = ceilDiv(inj, s);
      const total = Math.max(0, (o - 1) * s + eff - inj);
      const small = floorDiv(total, 2);
      padBegin[j] = autoPad === 'SAME_UPPER' ? small : total - small;
      padEnd[j] = total - padBegin[j]!;
      out[j] = o;
    } else {
      const span = inj + padBegin[j]! + padEnd[j]! - eff;
      if (span < 0) {
        throw ctx.error(
          `kernel extent ${eff} on spatial axis ${j} is larger than the padded input extent ${inj + padBegin[j]! + padEnd[j]!}`,
          { axis: j },
        );
      }
      let o = (ceilMode ? ceilDiv(span, s) : floorDiv(span, s)) + 1;
      if (ceilMode && (o - 1) * s >= inj + padBegin[j]!) o--; // last window must start inside input or left pad
      out[j] = o;
    }
  }
  return { strides, dilations, padBegin, padEnd, out };
}


// ---------------------------------------------------------------------------
// Direct engine
// ---------------------------------------------------------------------------

/**
 * For one spatial axis and each kernel index kj: the arithmetic progression of
 * (x index, out index) pairs it connects. Pair t is (x0 + t*xs, o0 + t*os), t < cnt.
 */
interface AxisMap {
  x0: Int32Array;
  o0: Int32Array;
  cnt: Int32Array;
  xs: number;
  os: number;
}

/** ConvTranspose: x i feeds out o = i*s + kj*d - pb; valid for 0 <= i < inLen, 0 <= o < outLen. */
function transposeAxisMap(inLen: number, outLen: number, K: number, s: number, d: number, pb: number): AxisMap {
  const x0 = new Int32Array(K);
  const o0 = new Int32Array(K);
  const cnt = new Int32Array(K);
  for (let kj = 0; kj < K; kj++) {
    const off = kj * d - pb;
    const lo = Math.max(0, ceilDiv(-off, s));
    const hi = Math.min(inLen, floorDiv(outLen - 1 - off, s) + 1);
    x0[kj] = lo;
    o0[kj] = lo * s + off;
    cnt[kj] = Math.max(0, hi - lo);
  }
  return { x0, o0, cnt, xs: 1, os: s };
}

/** out[o + t*os] = f32(out[o + t*os] + f32(x[xi + t*xs] * w)) for t < n (Float32Array store rounds the add). */
function rowF32(out: Float32Array, o: number, os: number, x: Float32Array, xi: number, xs: number, w: number, n: number): void {
  if (os === 1 && xs === 1) {
    const d = xi - o;
    const end = o + n;
    for (let i = o; i < end; i++) out[i] += Math.fround(x[i + d]! * w);
    return;
  }
  for (let t = 0; t < n; t++) {
    out[o] += Math.fround(x[xi]! * w);
    o += os;
    xi += xs;
  }
}

/** float64 (and exact integer) version of rowF32. */
function rowF64(out: Float64Array, o: number, os: number, x: Float64Array, xi: number, xs: number, w: number, n: number): void {
  if (os === 1 && xs === 1) {
    const d = xi - o;
    const end = o + n;
    for (let i = o; i < end; i++) out[i] += x[i + d]! * w;
    return;
  }
  for (let t = 0; t < n; t++) {
    out[o] += x[xi]! * w;
    o += os;
    xi += xs;
  }
}

/**
 * Scratch state of the engine for one op invocation: the per-axis maps and
 * the plane strides of x and out.
 */
interface Engine {
  k: number;
  maps: AxisMap[];
  kernel: number[];
  kSize: number;
  xStr: number[];
  oStr: number[];
  // scratch
  kd: Int32Array;
  t: Int32Array;
  cnt: Int32Array;
}

function makeEngine(maps: AxisMap[], kernel: number[], xSpatial: number[], oSpatial: number[]): Engine {
  const k = maps.length;
  return {
    k,
    maps,
    kernel,
    kSize: prod(kernel),
    xStr: stridesOf(xSpatial),
    oStr: stridesOf(oSpatial),
    kd: new Int32Array(k),
    t: new Int32Array(k),
    cnt: new Int32Array(k),
  };
}

/**
 * Adds, for one input plane (x at xPlane) and one weight plane (w at wPlane,
 * kSize weights in row-major kernel order), every term f32(x * w) into the
 * output plane at oPlane, visiting kernel positions in increasing order.
 */
function accumulatePlane(
  e: Engine,
  out: FloatArray,
  oPlane: number,
  x: FloatArray,
  xPlane: number,
  w: FloatArray,
  wPlane: number,
  f32: boolean,
): void {
  const { k, kernel, kSize, kd } = e;
  const r = k - 1;
  kd.fill(0);
  for (let kp = 0; kp < kSize; kp++) {
    if (kp > 0) {
      // advance the kernel odometer (row-major)
      let j = r;
      while (++kd[j]! === kernel[j]!) {
        kd[j] = 0;
        j--;
      }
    }
    accumulateKernelPos(e, out, oPlane, x, xPlane, w[wPlane + kp]!, f32);
  }
}

/**
 * Adds f32(x * wv) for the single kernel position e.kd into every output
 * element it touches (at most one term per output element).
 */
function accumulateKernelPos(e: Engine, out: FloatArray, oPlane: number, x: FloatArray, xPlane: number, wv: number, f32: boolean): void {
  const { k, maps, xStr, oStr, t, cnt, kd } = e;
  const r = k - 1;
  const mr = maps[r]!;
  const nInner = mr.cnt[kd[r]!]!;
  if (nInner === 0) return;
  let xb = xPlane + mr.x0[kd[r]!]! * xStr[r]!;
  let ob = oPlane + mr.o0[kd[r]!]! * oStr[r]!;
  for (let j = 0; j < r; j++) {
    const m = maps[j]!;
    const c = m.cnt[kd[j]!]!;
    if (c === 0) return;
    cnt[j] = c;
    t[j] = 0;
    xb += m.x0[kd[j]!]! * xStr[j]!;
    ob += m.o0[kd[j]!]! * oStr[j]!;
  }
  const xsR = mr.xs * xStr[r]!;
  const osR = mr.os * oStr[r]!;
  // odometer over the outer axes' pairs; the inner axis is one row loop
  for (;;) {
    if (f32) rowF32(out as Float32Array, ob, osR, x as Float32Array, xb, xsR, wv, nInner);
    else rowF64(out as Float64Array, ob, osR, x as Float64Array, xb, xsR, wv, nInner);
    let j = r - 1;
    while (j >= 0) {
      const m = maps[j]!;
      const xstep = m.xs * xStr[j]!;
      const ostep = m.os * oStr[j]!;
      if (++t[j]! < cnt[j]!) {
        xb += xstep;
        ob += ostep;
        break;
      }
      xb -= (cnt[j]! - 1) * xstep;
      ob -= (cnt[j]! - 1) * ostep;
      t[j] = 0;
      j--;
    }
    if (j < 0) break;
  }
}

// ---------------------------------------------------------------------------
// Shared validation
// ---------------------------------------------------------------------------

function requireInput(ctx: KernelContext, t: Tensor | undefined, what: string): Tensor {
  if (!t) throw ctx.error(`missing required input ${what}`);
  return t;
}

function floatKind(ctx: KernelContext, t: Tensor, what: string): boolean {
  if (t.dtype === DType.float32) return true;
  if (t.dtype === DType.float64) return false;
  if (t.dtype === DType.float16) throw ctx.unsupported(`float16 compute is not supported (${what})`, { dtype: 'float16' });
  throw ctx.error(`${what} must be a float tensor, got ${dtypeName(t.dtype)}`);
}

interface ConvShapes {
  N: number;
  C: number;
  M: number;
  group: number;
  Cg: number; // input channels per group
  Mg: number; // output channels per group
  xSpatial: number[];
  kernel: number[];
}

/** Validates X [N, C, ...] and W [M, C/group, k...] for Conv-like ops. */
function convShapes(ctx: KernelContext, X: Tensor, W: Tensor): ConvShapes {
  if (X.rank < 3) throw ctx.error(`input X must have rank >= 3 ([N, C, spatial...]), got [${X.shape.join(',')}]`);
  if (W.rank !== X.rank) throw ctx.error(`weight W rank ${W.rank} does not match input rank ${X.rank}`, { x: [...X.shape], w: [...W.shape] });
  const group = ctx.int('group', 1);
  if (!Number.isSafeInteger(group) || group < 1) throw ctx.error(`invalid group ${group}`, { attribute: 'group' });
  const [N, C] = X.shape as [number, number];
  const M = W.shape[0]!;
  const Cg = W.shape[1]!;
  if (C % group !== 0) throw ctx.error(`group ${group} does not divide the ${C} input channels`, { group, channels: C });
  if (M % group !== 0) throw ctx.error(`group ${group} does not divide the ${M} output channels`, { group, channels: M });
  if (Cg * group !== C) {
    throw ctx.error(`channel mismatch: X has ${C} channels but W expects ${Cg} per group x ${group} groups`, {
      x: [...X.shape],
      w: [...W.shape],
    });
  }
  const kernel = W.shape.slice(2);
  checkKernelShape(ctx, kernel);
  return { N, C, M, group, Cg, Mg: M / group, xSpatial: X.shape.slice(2), kernel };
}

function checkKernelShape(ctx: KernelContext, kernel: number[]): void {
  const ks = ctx.ints('kernel_shape');
  if (ks !== undefined && ks.length > 0) {
    if (ks.length !== kernel.length || ks.some((v, i) => v !== kernel[i])) {
      throw ctx.error(`kernel_shape [${ks.join(',')}] does not match the weight's spatial shape [${kernel.join(',')}]`, {
        attribute: 'kernel_shape',
      });
    }
  }
  if (kernel.some((v) => v < 1)) throw ctx.error(`kernel spatial shape [${kernel.join(',')}] has an empty axis`);
}

function checkBias(ctx: KernelContext, B: Tensor | undefined, M: number, dtype: number): void {
  if (!B) return;
  if (B.dtype !== dtype) throw ctx.error(`bias B dtype ${dtypeName(B.dtype)} does not match ${dtypeName(dtype)}`);
  if (B.rank !== 1 || B.shape[0] !== M) throw ctx.error(`bias B must have shape [${M}], got [${B.shape.join(',')}]`, { b: [...B.shape] });
}

/** y = f32(acc + b) per element of the plane (float64: plain double add). */
function addBiasPlane(out: FloatArray, off: number, n: number, b: number): void {
  for (let i = off, end = off + n; i < end; i++) out[i] += b;
}

// ---------------------------------------------------------------------------
// Conv
// ---------------------------------------------------------------------------

/**
 * Conv (opset 1..22), any spatial rank.
 * Canonical order for output element (n, m, o): acc = +0; for c in the input
 * channels of m's group, increasing; for each kernel position (k1..kr)
 * row-major: i = o*s + k*d - pb per axis; if i lies inside the (unpadded) input,
 * acc = f32(acc + f32(x[n,c,i] * w[m,c,k])) — positions in the padding are
 * skipped entirely (no `+ 0` add, so e.g. a window of only -0 products stays
 * +0 only through the initial acc). Finally y = f32(acc + b[m]) if B is given.
 * float64: same order in doubles.
 */
const Conv: Kernel = (inputs, ctx) => {
  const X = requireInput(ctx, inputs[0], 'X');
  const W = requireInput(ctx, inputs[1], 'W');
  const B = inputs[2];
  const f32 = floatKind(ctx, X, 'X');
  if (W.dtype !== X.dtype) throw ctx.error(`W dtype ${dtypeName(W.dtype)} does not match X dtype ${dtypeName(X.dtype)}`);
  const sh = convShapes(ctx, X, W);
  checkBias(ctx, B, sh.M, X.dtype);
  const geo = slidingGeometry(ctx, sh.xSpatial, sh.kernel);
  const Y = ctx.alloc(X.dtype, [sh.N, sh.M, ...geo.out]);
  const bias = B ? (B.data as FloatArray) : undefined;
  if (f32 && convSchedule !== 'gemm' && convSchedule !== 'direct' && convWasmF32(sh, geo, X, W, Y, bias as Float32Array | undefined)) return [Y];
  if (f32 && useGemm(sh, geo, W)) convGemmF32(sh, geo, X.data as Float32Array, W.data as Float32Array, Y.data as Float32Array, bias as Float32Array | undefined);
  else runForward(sh, geo, X.data as FloatArray, W.data as FloatArray, Y.data as FloatArray, f32, bias);
  return [Y];
};

// ---------------------------------------------------------------------------
// Conv float32 as im2col + GEMM (bit-identical to the canonical order)
// ---------------------------------------------------------------------------
//
// Schedule: for each image n and group g, a column matrix B [Cg*kSize, P]
// (P = output positions of one plane, row-major) is built with
// B[c*kSize + kp, p] = x[n, g*Cg + c, i(p, kp)] when that input position is
// inside the input and +0 when it falls in the padding; the group's weights
// are already the row-major matrix A = W[g*Mg .. (g+1)*Mg) of shape
// [Mg, Cg*kSize] with the same (c, kernel position) column order. Then
// Y[n, g*Mg.., :] = gemmF32(A, B), whose canonical per-element order is
// acc = +0; for q = 0 .. Cg*kSize-1: acc = f32(acc + f32(A[m,q] * B[q,p])),
// i.e. exactly Conv's (c, kernel position row-major) order, except that a
// padded tap performs acc = f32(acc + f32(w * +0)) instead of nothing.
// Finally y = f32(acc + b[m]), as in Conv.
//
// Why the extra padded-tap steps change no bit when every weight is finite:
//  1. w finite => f32(w * +0) is +0 or -0 (exact; no NaN, which only 0 * ±Inf
//     or NaN operands give). Multiplication is commutative in IEEE-754, so
//     f32(w * x) = f32(x * w) for the real taps too.
//  2. acc is never -0, in either sequence: it starts at +0, and under
//     round-to-nearest-even a sum a + t is -0 only when a = -0 and t = -0
//     (x + (-x) = +0; a nonzero exact sum never rounds to zero, because float
//     addition cannot underflow: subnormals are exact multiples of 2^-149, and
//     the double-then-f32 rounding used by JS and the exact f32 add of
//     WebAssembly agree — see matmul.ts). By induction acc is +0, nonzero,
//     ±Inf or NaN after every step.
//  3. For such acc and t = ±0: acc + t = acc exactly (nonzero + zero is exact;
//     +0 + +0 = +0 + -0 = +0; ±Inf and NaN are unchanged (NaN stays NaN —
//     canonical encoding does not distinguish NaN payloads)).
// So every padded-tap step maps acc to itself, and the GEMM visits the
// remaining (real) terms in the canonical order: the results are identical
// bit for bit. With a non-finite weight a padded tap would add NaN (0 * Inf),
// so such weights (checked per call) take the direct engine `runForward`,
// as do float64 convolutions and shapes too small for the GEMM to pay off.

/** Column-buffer budget in float32 elements (16 MiB); larger planes are processed in row chunks. */
let COL_LIMIT = 1 << 22;
/** Below this many multiply-adds per (image, group) GEMM the direct engine is used. */
const GEMM_MIN_WORK = 4096;

/**
 * Test hook: force one float32 Conv schedule ('auto' picks per shape: the WebAssembly
 * kernel when it takes the job, else GEMM or direct). All give identical bits. 'wasm'
 * behaves as 'auto' (the WebAssembly kernel first); 'gemm' and 'direct' skip it.
 */
export type ConvSchedule = 'auto' | 'wasm' | 'gemm' | 'direct';
let convSchedule: ConvSchedule = 'auto';
export function setConvSchedule(s: ConvSchedule): ConvSchedule {
  const prev = convSchedule;
  convSchedule = s;
  return prev;
}

/** Test hook: set the column-buffer budget (elements) to exercise the chunked schedule; returns the previous one. */
export function setConvColumnBudget(n: number): number {
  const prev = COL_LIMIT;
  COL_LIMIT = n;
  return prev;
}

/** True when every element is finite (no ±Inf, no NaN). */
function allFiniteF32(w: Float32Array): boolean {
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    if (v - v !== 0) return false; // Inf - Inf and NaN - NaN are NaN
  }
  return true;
}

/**
 * Conv float32, 1-D or 2-D, in one WebAssembly call (../wasm/conv.wat): padded-image
 * (or im2col) taps and 4x8 register tiles inside WebAssembly, the same canonical steps
 * per element as the GEMM schedule (finite weights required — checked by the wrapper —
 * for the reason given in the section comment above). False when it does not take the
 * job (y untouched).
 */
function convWasmF32(sh: ConvShapes, geo: Geometry, X: Tensor, W: Tensor, Y: Tensor, bias?: Float32Array): boolean {
  const k = sh.kernel.length;
  if (k < 1 || k > 2) return false;
  const g = geometry2d(sh.N, sh.C, sh.M, sh.group, sh.xSpatial, sh.kernel, geo.out, geo.strides, geo.dilations, geo.padBegin);
  return conv2dF32Wasm(X.data as Float32Array, W.data as Float32Array, bias, Y.data as Float32Array, g);
}

/** The wasm kernels' 2-D geometry of a 1-D or 2-D convolution (1-D: height 1, no top padding). */
function geometry2d(
  N: number, C: number, M: number, group: number,
  x: readonly number[], kernel: readonly number[], out: readonly number[],
  strides: readonly number[], dilations: readonly number[], padBegin: readonly number[],
): Conv2dGeometry {
  const last = kernel.length - 1;
  const h = (a: readonly number[], dflt: number) => (last === 1 ? a[0]! : dflt);
  return {
    N, C, M, group,
    H: h(x, 1), W: x[last]!,
    KH: h(kernel, 1), KW: kernel[last]!,
    OH: h(out, 1), OW: out[last]!,
    sH: h(strides, 1), sW: strides[last]!,
    dH: h(dilations, 1), dW: dilations[last]!,
    pT: h(padBegin, 0), pL: padBegin[last]!,
  };
}

function useGemm(sh: ConvShapes, geo: Geometry, W: Tensor): boolean {
  if (convSchedule === 'direct') return false;
  const oPlane = prod(geo.out);
  const Kd = sh.Cg * prod(sh.kernel);
  if (oPlane === 0 || sh.N === 0 || sh.M === 0 || Kd === 0) return false;
  const outR = geo.out[geo.out.length - 1]!;
  if (Kd * outR > COL_LIMIT) return false; // one output row of columns would exceed the budget
  if (convSchedule === 'auto' && (sh.Mg * Kd * oPlane < GEMM_MIN_WORK)) return false;
  return allFiniteF32(W.data as Float32Array);
}

let colScratch = new Float32Array(0);
let tmpScratch = new Float32Array(0);

function scratch(which: 'col' | 'tmp', n: number): Float32Array {
  if (which === 'col') {
    if (colScratch.length < n) colScratch = new Float32Array(n);
    return colScratch;
  }
  if (tmpScratch.length < n) tmpScratch = new Float32Array(n);
  return tmpScratch;
}

/** Per axis and kernel index kj: the output indices [lo, hi) whose input o*s + kj*d - pb is inside the input. */
function validOutRanges(inLen: number, outLen: number, K: number, s: number, d: number, pb: number): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(K);
  const hi = new Int32Array(K);
  for (let kj = 0; kj < K; kj++) {
    const off = kj * d - pb;
    const l = Math.min(outLen, Math.max(0, ceilDiv(-off, s)));
    lo[kj] = l;
    hi[kj] = Math.max(l, Math.min(outLen, floorDiv(inLen - 1 - off, s) + 1));
  }
  return { lo, hi };
}

/**
 * Conv float32 via im2col + gemmF32 (see the section comment for why this is
 * bit-identical to the canonical order). Requires finite weights; y zero-filled.
 */
function convGemmF32(sh: ConvShapes, geo: Geometry, x: Float32Array, w: Float32Array, y: Float32Array, bias?: Float32Array): void {
  const k = sh.kernel.length;
  const r = k - 1;
  const kSize = prod(sh.kernel);
  const { N, C, M, Cg, Mg, group } = sh;
  const Kd = Cg * kSize;
  const xPlane = prod(sh.xSpatial);
  const oPlane = prod(geo.out);
  const outR = geo.out[r]!;
  const nOuter = oPlane / outR;
  // 1x1 kernel, unit strides, no padding: the input planes are the column matrix.
  let identity = kSize === 1;
  for (let j = 0; j < k && identity; j++) {
    if (geo.strides[j] !== 1 || geo.padBegin[j] !== 0 || geo.out[j] !== sh.xSpatial[j]) identity = false;
  }
  const rowsPerChunk = identity ? nOuter : Math.max(1, Math.min(nOuter, Math.floor(COL_LIMIT / (Kd * outR))));
  const chunked = rowsPerChunk < nOuter;
  const col = identity ? x : scratch('col', Kd * rowsPerChunk * outR);
  const tmp = chunked ? scratch('tmp', Mg * rowsPerChunk * outR) : y;
  const ranges = identity ? [] : sh.kernel.map((K, j) => validOutRanges(sh.xSpatial[j]!, geo.out[j]!, K, geo.strides[j]!, geo.dilations[j]!, geo.padBegin[j]!));
  const xStr = stridesOf(sh.xSpatial);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const xg = (n * C + g * Cg) * xPlane;
      const wg = g * Mg * Kd;
      const yg = (n * M + g * Mg) * oPlane;
      if (identity) {
        gemmF32(w, wg, x, xg, y, yg, Mg, Kd, oPlane);
        continue;
      }
      for (let P0 = 0; P0 < nOuter; P0 += rowsPerChunk) {
        const P1 = Math.min(nOuter, P0 + rowsPerChunk);
        const cols = (P1 - P0) * outR;
        if (k === 2) im2col2dF32(sh, geo, ranges, x, xg, col, P0, P1);
        else im2colF32(sh, geo, ranges, xStr, x, xg, col, P0, P1);
        if (!chunked) {
          gemmF32(w, wg, col, 0, y, yg, Mg, Kd, cols);
          continue;
        }
        tmp.fill(0, 0, Mg * cols);
        gemmF32(w, wg, col, 0, tmp, 0, Mg, Kd, cols);
        for (let m = 0; m < Mg; m++) y.set(tmp.subarray(m * cols, (m + 1) * cols), yg + m * oPlane + P0 * outR);
      }
    }
  }
  if (bias) {
    // y = f32(acc + b[m]): the double sum of two float32 values, rounded by the Float32Array store
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const b = bias[m]!;
        for (let i = (n * M + m) * oPlane, end = i + oPlane; i < end; i++) y[i] = y[i]! + b;
      }
    }
  }
}

/** im2colF32 for two spatial axes (rows P0..P1 of the output plane). */
function im2col2dF32(
  sh: ConvShapes,
  geo: Geometry,
  ranges: { lo: Int32Array; hi: Int32Array }[],
  x: Float32Array,
  xg: number,
  col: Float32Array,
  P0: number,
  P1: number,
): void {
  const [KH, KW] = sh.kernel as [number, number];
  const [H, W] = sh.xSpatial as [number, number];
  const OW = geo.out[1]!;
  const [sH, sW] = geo.strides as [number, number];
  const [dH, dW] = geo.dilations as [number, number];
  const [pH, pW] = geo.padBegin as [number, number];
  const loHa = ranges[0]!.lo;
  const hiHa = ranges[0]!.hi;
  const loWa = ranges[1]!.lo;
  const hiWa = ranges[1]!.hi;
  const xPlane = H * W;
  let dst = 0;
  for (let c = 0; c < sh.Cg; c++) {
    const xc = xg + c * xPlane;
    for (let kh = 0; kh < KH; kh++) {
      const ohLo = Math.max(P0, loHa[kh]!);
      const ohHi = Math.min(P1, hiHa[kh]!);
      const offH = kh * dH - pH;
      for (let kw = 0; kw < KW; kw++) {
        const lo = loWa[kw]!;
        const hi = hiWa[kw]!;
        const offW = kw * dW - pW;
        for (let oh = P0; oh < P1; oh++) {
          const end = dst + OW;
          if (oh < ohLo || oh >= ohHi) {
            col.fill(0, dst, end);
            dst = end;
            continue;
          }
          const a = dst + lo;
          const b = dst + hi;
          for (; dst < a; dst++) col[dst] = 0;
          let xi = xc + (oh * sH + offH) * W + lo * sW + offW;
          if (sW === 1) for (; dst < b; dst++, xi++) col[dst] = x[xi]!;
          else for (; dst < b; dst++, xi += sW) col[dst] = x[xi]!;
          for (; dst < end; dst++) col[dst] = 0;
        }
      }
    }
  }
}

/**
 * Fills col[q * cols + (P - P0) * outR + o] (q = c*kSize + kernel position,
 * P an outer output position in [P0, P1), o the last-axis output index) with
 * the input value that tap q reads for that output, or +0 when it falls in
 * the padding. cols = (P1 - P0) * outR.
 */
function im2colF32(
  sh: ConvShapes,
  geo: Geometry,
  ranges: { lo: Int32Array; hi: Int32Array }[],
  xStr: number[],
  x: Float32Array,
  xg: number,
  col: Float32Array,
  P0: number,
  P1: number,
): void {
  const k = sh.kernel.length;
  const r = k - 1;
  const kernel = sh.kernel;
  const kSize = prod(kernel);
  const xPlane = prod(sh.xSpatial);
  const outR = geo.out[r]!;
  const cols = (P1 - P0) * outR;
  const sR = geo.strides[r]!;
  const loRa = ranges[r]!.lo;
  const hiRa = ranges[r]!.hi;
  const kd = new Int32Array(k);
  const oIdx = new Int32Array(Math.max(1, r));
  // per outer axis j, the x offset contributed by (o, kj) is (o*s + kj*d - pb) * xStr
  let q = 0;
  for (let c = 0; c < sh.Cg; c++) {
    const xc = xg + c * xPlane;
    kd.fill(0);
    for (let kp = 0; kp < kSize; kp++, q++) {
      if (kp > 0) {
        let j = r;
        while (++kd[j]! === kernel[j]!) {
          kd[j] = 0;
          j--;
        }
      }
      const kR = kd[r]!;
      const loR = loRa[kR]!;
      const hiR = hiRa[kR]!;
      const offR = kR * geo.dilations[r]! - geo.padBegin[r]!;
      // outer odometer at P0
      let rem = P0;
      for (let j = r - 1; j >= 0; j--) {
        const e = geo.out[j]!;
        oIdx[j] = rem % e;
        rem = (rem - oIdx[j]!) / e;
      }
      let dst = q * cols;
      for (let P = P0; P < P1; P++, dst += outR) {
        if (P > P0) {
          let j = r - 1;
          while (++oIdx[j]! === geo.out[j]!) {
            oIdx[j] = 0;
            j--;
          }
        }
        let xo = xc;
        let valid = true;
        for (let j = 0; j < r; j++) {
          const o = oIdx[j]!;
          const kj = kd[j]!;
          if (o < ranges[j]!.lo[kj]! || o >= ranges[j]!.hi[kj]!) {
            valid = false;
            break;
          }
          xo += (o * geo.strides[j]! + kj * geo.dilations[j]! - geo.padBegin[j]!) * xStr[j]!;
        }
        const end = dst + outR;
        if (!valid) {
          col.fill(0, dst, end);
          continue;
        }
        let o = dst;
        const a = dst + loR;
        const b = dst + hiR;
        for (; o < a; o++) col[o] = 0;
        let xi = xo + loR * sR + offR;
        if (sR === 1) for (; o < b; o++, xi++) col[o] = x[xi]!;
        else for (; o < b; o++, xi += sR) col[o] = x[xi]!;
        for (; o < end; o++) col[o] = 0;
      }
    }
  }
}

/**
 * Forward convolution, output-stationary schedule. Every output element keeps
 * its own accumulator (a register) and walks (c, kernel position) in the
 * canonical increasing order, skipping kernel positions whose input position is
 * outside the input (so padding contributes nothing). For each outer output
 * position P (all axes but the last) the valid taps are a list of "rows"
 * (c, outer kernel position) in increasing order, each row a contiguous range
 * of last-axis kernel indices (the range valid for that output column).
 * Eight outputs are computed at once (independent accumulators): eight
 * consecutive outputs along the last axis where all last-axis taps are valid
 * (the last tile of a run shifted back to end at the run's end: recomputed
 * outputs get the same bits), and for the remaining columns eight consecutive
 * rows along the second-to-last axis whose outer taps are all valid; what is
 * left uses a one-output loop. Finally y = f32(acc + b[m]) when a bias is given.
 */
function runForward(sh: ConvShapes, geo: Geometry, x: FloatArray, w: FloatArray, y: FloatArray, f32: boolean, bias?: FloatArray): void {
  const k = sh.kernel.length;
  const r = k - 1;
  const xPlane = prod(sh.xSpatial);
  const oPlane = prod(geo.out);
  if (oPlane === 0 || sh.N === 0 || sh.M === 0) return;
  const kSize = prod(sh.kernel);
  const Kr = sh.kernel[r]!;
  const sR = geo.strides[r]!;
  const dR = geo.dilations[r]!;
  const pR = geo.padBegin[r]!;
  const inR = sh.xSpatial[r]!;
  const outR = geo.out[r]!;
  const xStr = stridesOf(sh.xSpatial);
  const Cg = sh.Cg;
  // last axis: valid kernel index range per output index
  const kLoR = new Int32Array(outR);
  const kHiR = new Int32Array(outR);
  for (let o = 0; o < outR; o++) {
    const st = o * sR - pR;
    kLoR[o] = Math.min(Kr, Math.max(0, ceilDiv(-st, dR)));
    kHiR[o] = Math.max(kLoR[o]!, Math.min(Kr, floorDiv(inR - 1 - st, dR) + 1));
  }
  // interior [oA, oB): every kernel index of the last axis is valid
  let oA = 0;
  while (oA < outR && !(kLoR[oA] === 0 && kHiR[oA] === Kr)) oA++;
  let oB = oA;
  while (oB < outR && kLoR[oB] === 0 && kHiR[oB] === Kr) oB++;
  const colTiles = oB - oA >= 8;
  // columns not covered by last-axis tiles
  const cols: number[] = [];
  for (let o = 0; o < outR; o++) if (!(colTiles && o >= oA && o < oB)) cols.push(o);
  // outer axes
  const outerOut = geo.out.slice(0, r);
  const nOuter = prod(outerOut);
  const outerK = sh.kernel.slice(0, r);
  const nOuterK = prod(outerK);
  const outQ = r > 0 ? geo.out[r - 1]! : 1;
  const rowLaneX = r > 0 ? geo.strides[r - 1]! * xStr[r - 1]! : 0;
  // per P: number of valid outer kernel positions, and the row lists
  const Lp = new Int32Array(nOuter);
  const oIdx = new Int32Array(r);
  const kIdx = new Int32Array(r);
  const xOuter = new Int32Array(Math.max(1, nOuterK));
  const kOuter = new Int32Array(Math.max(1, nOuterK));
  const rowX = new Int32Array(Math.max(1, Cg * nOuterK));
  const rowW = new Int32Array(Math.max(1, Cg * nOuterK));
  /** Fills rowX/rowW for outer position P (odometer oIdx already set); returns the row count. */
  const buildRows = (): number => {
    let L = 0;
    kIdx.fill(0);
    for (let q = 0; q < nOuterK; q++) {
      if (q > 0) {
        let j = r - 1;
        while (++kIdx[j]! === outerK[j]!) {
          kIdx[j] = 0;
          j--;
        }
      }
      let off = 0;
      let ok = true;
      for (let j = 0; j < r; j++) {
        const i = oIdx[j]! * geo.strides[j]! + kIdx[j]! * geo.dilations[j]! - geo.padBegin[j]!;
        if (i < 0 || i >= sh.xSpatial[j]!) {
          ok = false;
          break;
        }
        off += i * xStr[j]!;
      }
      if (!ok) continue;
      kOuter[L] = q * Kr;
      xOuter[L] = off;
      L++;
    }
    let R = 0;
    for (let c = 0; c < Cg; c++) {
      for (let l = 0; l < L; l++, R++) {
        rowX[R] = c * xPlane + xOuter[l]!;
        rowW[R] = c * kSize + kOuter[l]!;
      }
    }
    return L;
  };
  // first pass: L per P (for the lane runs)
  for (let P = 0; P < nOuter; P++) {
    if (P > 0) {
      let j = r - 1;
      while (++oIdx[j]! === outerOut[j]!) {
        oIdx[j] = 0;
        j--;
      }
    }
    let L = 1;
    for (let j = 0; j < r; j++) {
      let cnt = 0;
      for (let kj = 0; kj < outerK[j]!; kj++) {
        const i = oIdx[j]! * geo.strides[j]! + kj * geo.dilations[j]! - geo.padBegin[j]!;
        if (i >= 0 && i < sh.xSpatial[j]!) cnt++;
      }
      L *= cnt;
    }
    Lp[P] = L;
  }
  // lane plan along the second-to-last axis: laneStart[P] = 1 if an 8-row lane tile starts at P;
  // covered[P] = 1 if P's remaining columns are handled by some lane tile
  const laneStart = new Uint8Array(nOuter);
  const covered = new Uint8Array(nOuter);
  if (r > 0 && cols.length > 0) {
    for (let P0 = 0; P0 < nOuter; P0 += outQ) {
      let p = 0;
      while (p < outQ) {
        let q = p;
        while (q < outQ && Lp[P0 + q] === nOuterK) q++;
        if (q - p >= 8) {
          for (let t = p; ; t += 8) {
            if (t + 8 > q) t = q - 8;
            laneStart[P0 + t] = 1;
            if (t + 8 >= q) break;
          }
          for (let t = p; t < q; t++) covered[P0 + t] = 1;
        }
        p = Math.max(q, p + 1);
      }
    }
  }
  oIdx.fill(0);
  for (let P = 0; P < nOuter; P++) {
    if (P > 0) {
      let j = r - 1;
      while (++oIdx[j]! === outerOut[j]!) {
        oIdx[j] = 0;
        j--;
      }
    }
    const needCols = cols.length > 0 && (laneStart[P] === 1 || covered[P] === 0);
    if (!colTiles && !needCols) continue;
    const L = buildRows();
    const R = Cg * L;
    for (let n = 0; n < sh.N; n++) {
      for (let m = 0; m < sh.M; m++) {
        const g = Math.floor(m / sh.Mg);
        const xg = (n * sh.C + g * Cg) * xPlane; // first input channel of m's group
        const wm = m * Cg * kSize;
        const yo = (n * sh.M + m) * oPlane + P * outR;
        const b = bias ? bias[m]! : undefined;
        if (colTiles) {
          for (let o = oA; ; o += 8) {
            if (o + 8 > oB) o = oB - 8;
            if (f32) tile8F32(x, w, y, yo + o, 1, xg + o * sR - pR, wm, R, rowX, rowW, Kr, dR, sR, b);
            else tile8F64(x, w, y, yo + o, 1, xg + o * sR - pR, wm, R, rowX, rowW, Kr, dR, sR, b);
            if (o + 8 >= oB) break;
          }
        }
        if (!needCols) continue;
        if (laneStart[P] === 1) {
          for (const o of cols) {
            const klo = kLoR[o]!;
            const xb = xg + o * sR - pR + klo * dR;
            if (f32) tile8F32(x, w, y, yo + o, outR, xb, wm + klo, R, rowX, rowW, kHiR[o]! - klo, dR, rowLaneX, b);
            else tile8F64(x, w, y, yo + o, outR, xb, wm + klo, R, rowX, rowW, kHiR[o]! - klo, dR, rowLaneX, b);
          }
        }
        if (covered[P] === 0) {
          for (const o of cols) {
            const klo = kLoR[o]!;
            const xb = xg + o * sR - pR + klo * dR;
            const v = f32
              ? pointF32(x, w, xb, wm + klo, R, rowX, rowW, kHiR[o]! - klo, dR)
              : pointF64(x, w, xb, wm + klo, R, rowX, rowW, kHiR[o]! - klo, dR);
            y[yo + o] = b === undefined ? v : v + b;
          }
        }
      }
    }
  }
}

/**
 * One output: acc = +0; for each row (c, outer kernel position) in order, for
 * the nk valid last-axis taps in increasing order: acc = f32(acc + f32(x * w)).
 */
function pointF32(x: FloatArray, w: FloatArray, xb: number, wb: number, R: number, rowX: Int32Array, rowW: Int32Array, nk: number, d: number): number {
  let acc = 0;
  for (let row = 0; row < R; row++) {
    let xi = xb + rowX[row]!;
    let wi = wb + rowW[row]!;
    const wEnd = wi + nk;
    for (; wi < wEnd; wi++, xi += d) acc = Math.fround(acc + Math.fround(x[xi]! * w[wi]!));
  }
  return acc;
}

function pointF64(x: FloatArray, w: FloatArray, xb: number, wb: number, R: number, rowX: Int32Array, rowW: Int32Array, nk: number, d: number): number {
  let acc = 0;
  for (let row = 0; row < R; row++) {
    let xi = xb + rowX[row]!;
    let wi = wb + rowW[row]!;
    const wEnd = wi + nk;
    for (; wi < wEnd; wi++, xi += d) acc += x[xi]! * w[wi]!;
  }
  return acc;
}

/**
 * Eight outputs at once: lane t reads x at offset t*s and writes y[yi + t*yLane];
 * each lane follows exactly pointF32's order.
 */
function tile8F32(
  x: FloatArray, w: FloatArray, y: FloatArray, yi: number, yLane: number, xb: number, wb: number,
  R: number, rowX: Int32Array, rowW: Int32Array, nk: number, d: number, s: number, b: number | undefined,
): void {
  if (s !== 1) {
    tile8F32s(x, w, y, yi, yLane, xb, wb, R, rowX, rowW, nk, d, s, b);
    return;
  }
  const f = Math.fround;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (let row = 0; row < R; row++) {
    let xi = xb + rowX[row]!;
    let wi = wb + rowW[row]!;
    const wEnd = wi + nk;
    for (; wi < wEnd; wi++, xi += d) {
      const wv = w[wi]!;
      a0 = f(a0 + f(x[xi]! * wv));
      a1 = f(a1 + f(x[xi + 1]! * wv));
      a2 = f(a2 + f(x[xi + 2]! * wv));
      a3 = f(a3 + f(x[xi + 3]! * wv));
      a4 = f(a4 + f(x[xi + 4]! * wv));
      a5 = f(a5 + f(x[xi + 5]! * wv));
      a6 = f(a6 + f(x[xi + 6]! * wv));
      a7 = f(a7 + f(x[xi + 7]! * wv));
    }
  }
  if (b !== undefined) {
    a0 += b; a1 += b; a2 += b; a3 += b; a4 += b; a5 += b; a6 += b; a7 += b; // rounded by the Float32Array stores
  }
  y[yi] = a0; y[yi + yLane] = a1; y[yi + 2 * yLane] = a2; y[yi + 3 * yLane] = a3;
  y[yi + 4 * yLane] = a4; y[yi + 5 * yLane] = a5; y[yi + 6 * yLane] = a6; y[yi + 7 * yLane] = a7;
}

/** tile8F32 for a general lane stride s. */
function tile8F32s(
  x: FloatArray, w: FloatArray, y: FloatArray, yi: number, yLane: number, xb: number, wb: number,
  R: number, rowX: Int32Array, rowW: Int32Array, nk: number, d: number, s: number, b: number | undefined,
): void {
  const f = Math.fround;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (let row = 0; row < R; row++) {
    let xi = xb + rowX[row]!;
    let wi = wb + rowW[row]!;
    const wEnd = wi + nk;
    for (; wi < wEnd; wi++, xi += d) {
      const wv = w[wi]!;
      let xj = xi;
      a0 = f(a0 + f(x[xj]! * wv));
      a1 = f(a1 + f(x[(xj += s)]! * wv));
      a2 = f(a2 + f(x[(xj += s)]! * wv));
      a3 = f(a3 + f(x[(xj += s)]! * wv));
      a4 = f(a4 + f(x[(xj += s)]! * wv));
      a5 = f(a5 + f(x[(xj += s)]! * wv));
      a6 = f(a6 + f(x[(xj += s)]! * wv));
      a7 = f(a7 + f(x[(xj += s)]! * wv));
    }
  }
  if (b !== undefined) {
    a0 += b; a1 += b; a2 += b; a3 += b; a4 += b; a5 += b; a6 += b; a7 += b;
  }
  y[yi] = a0; y[yi + yLane] = a1; y[yi + 2 * yLane] = a2; y[yi + 3 * yLane] = a3;
  y[yi + 4 * yLane] = a4; y[yi + 5 * yLane] = a5; y[yi + 6 * yLane] = a6; y[yi + 7 * yLane] = a7;
}

/** float64 / exact-integer version of tile8F32 (plain double arithmetic). */
function tile8F64(
  x: FloatArray, w: FloatArray, y: FloatArray, yi: number, yLane: number, xb: number, wb: number,
  R: number, rowX: Int32Array, rowW: Int32Array, nk: number, d: number, s: number, b: number | undefined,
): void {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (let row = 0; row < R; row++) {
    let xi = xb + rowX[row]!;
    let wi = wb + rowW[row]!;
    const wEnd = wi + nk;
    for (; wi < wEnd; wi++, xi += d) {
      const wv = w[wi]!;
      let xj = xi;
      a0 += x[xj]! * wv;
      a1 += x[(xj += s)]! * wv;
      a2 += x[(xj += s)]! * wv;
      a3 += x[(xj += s)]! * wv;
      a4 += x[(xj += s)]! * wv;
      a5 += x[(xj += s)]! * wv;
      a6 += x[(xj += s)]! * wv;
      a7 += x[(xj += s)]! * wv;
    }
  }
  if (b !== undefined) {
    a0 += b; a1 += b; a2 += b; a3 += b; a4 += b; a5 += b; a6 += b; a7 += b;
  }
  y[yi] = a0; y[yi + yLane] = a1; y[yi + 2 * yLane] = a2; y[yi + 3 * yLane] = a3;
  y[yi + 4 * yLane] = a4; y[yi + 5 * yLane] = a5; y[yi + 6 * yLane] = a6; y[yi + 7 * yLane] = a7;
}

// ---------------------------------------------------------------------------
// ConvTranspose
// ---------------------------------------------------------------------------

/**
 * ConvTranspose (opset 1..22), any spatial rank. W is [C, M/group, k...].
 * Geometry per axis: o = i*s + k*d - pb. Output extent: output_shape if given
 * (then total pad = s*(in-1) + output_padding + eff - out, split
 * begin = floor(total/2) for SAME_UPPER, else begin = total - floor(total/2)),
 * otherwise s*(in-1) + output_padding + eff - pb - pe (SAME_*: out = in*s with
 * the same split as above, SAME_UPPER putting the odd unit at the end).
 * Canonical order (gather form) for output element (n, m, o): acc = +0; for c in
 * m's group's input channels increasing, for each kernel position k row-major:
 * if some input position i (inside the input) satisfies i*s + k*d - pb = o per
 * axis (at most one does), acc = f32(acc + f32(x[n,c,i] * w[c,m',k])); other
 * kernel positions add nothing. Finally y = f32(acc + b[m]) if B is given.
 * (The implementation scatters per (c, k), which visits each output element's
 * terms in exactly this order.)
 */
const ConvTranspose: Kernel = (inputs, ctx) => {
  const X = requireInput(ctx, inputs[0], 'X');
  const W = requireInput(ctx, inputs[1], 'W');
  const B = inputs[2];
  const f32 = floatKind(ctx, X, 'X');
  if (W.dtype !== X.dtype) throw ctx.error(`W dtype ${dtypeName(W.dtype)} does not match X dtype ${dtypeName(X.dtype)}`);
  if (X.rank < 3) throw ctx.error(`input X must have rank >= 3 ([N, C, spatial...]), got [${X.shape.join(',')}]`);
  if (W.rank !== X.rank) throw ctx.error(`weight W rank ${W.rank} does not match input rank ${X.rank}`);
  const group = ctx.int('group', 1);
  if (!Number.isSafeInteger(group) || group < 1) throw ctx.error(`invalid group ${group}`, { attribute: 'group' });
  const [N, C] = X.shape as [number, number];
  if (W.shape[0] !== C) throw ctx.error(`channel mismatch: X has ${C} channels but W has ${W.shape[0]} input channels`, { x: [...X.shape], w: [...W.shape] });
  if (C % group !== 0) throw ctx.error(`group ${group} does not divide the ${C} input channels`, { group, channels: C });
  const Mg = W.shape[1]!;
  const M = Mg * group;
  const Cg = C / group;
  const kernel = W.shape.slice(2);
  checkKernelShape(ctx, kernel);
  checkBias(ctx, B, M, X.dtype);
  const k = kernel.length;
  const xSpatial = X.shape.slice(2);
  const strides = readPerAxis(ctx, 'strides', k, 1, 1);
  const dilations = readPerAxis(ctx, 'dilations', k, 1, 1);
  const outPad = readPerAxis(ctx, 'output_padding', k, 0, 0);
  for (let j = 0; j < k; j++) {
    if (outPad[j]! >= Math.max(strides[j]!, dilations[j]!)) {
      throw ctx.error(`output_padding ${outPad[j]} on axis ${j} must be smaller than the stride or the dilation`, { attribute: 'output_padding' });
    }
  }
  const autoPad = readAutoPad(ctx);
  let outShapeAttr = ctx.ints('output_shape');
  if (outShapeAttr !== undefined && outShapeAttr.length === 0) outShapeAttr = undefined;
  if (outShapeAttr !== undefined) {
    if (outShapeAttr.length === k + 2) outShapeAttr = outShapeAttr.slice(2);
    if (outShapeAttr.length !== k) throw ctx.error(`output_shape must have ${k} spatial entries, got ${outShapeAttr.length}`, { attribute: 'output_shape' });
    for (const v of outShapeAttr) if (!Number.isSafeInteger(v) || v < 0) throw ctx.error(`invalid output_shape entry ${v}`, { attribute: 'output_shape' });
  }
  const padBegin = new Array<number>(k);
  const out = new Array<number>(k);
  const explicit = autoPad === 'NOTSET' && outShapeAttr === undefined ? readPads(ctx, k) : undefined;
  for (let j = 0; j < k; j++) {
    const eff = (kernel[j]! - 1) * dilations[j]! + 1;
    const full = strides[j]! * (xSpatial[j]! - 1) + outPad[j]! + eff;
    if (explicit) {
      padBegin[j] = explicit.begin[j]!;
      out[j] = full - explicit.begin[j]! - explicit.end[j]!;
      if (out[j]! < 0) throw ctx.error(`pads exceed the transposed convolution output on axis ${j}`, { attribute: 'pads' });
    } else if (outShapeAttr === undefined && autoPad === 'VALID') {
      padBegin[j] = 0;
      out[j] = full;
    } else {
      const o = outShapeAttr !== undefined ? outShapeAttr[j]! : xSpatial[j]! * strides[j]!;
      const total = full - o;
      const half = floorDiv(total, 2);
      padBegin[j] = autoPad === 'SAME_UPPER' ? half : total - half;
      out[j] = o;
    }
  }
  const Y = ctx.alloc(X.dtype, [N, M, ...out]);
  if (f32 && (k === 1 || k === 2) && convSchedule !== 'gemm' && convSchedule !== 'direct') {
    // one WebAssembly call (../wasm/convolution.ts): the same gather order per element,
    // for finite weights (it declines otherwise, and the scatter below runs)
    const g = geometry2d(N, C, M, group, xSpatial, kernel, out, strides, dilations, padBegin);
    const done = convTranspose2dF32Wasm(X.data as Float32Array, W.data as Float32Array, B?.data as Float32Array | undefined, Y.data as Float32Array, g);
    if (done) return [Y];
  }
  const maps: AxisMap[] = [];
  for (let j = 0; j < k; j++) maps.push(transposeAxisMap(xSpatial[j]!, out[j]!, kernel[j]!, strides[j]!, dilations[j]!, padBegin[j]!));
  const e = makeEngine(maps, kernel, xSpatial, out);
  const xPlane = prod(xSpatial);
  const oPlane = prod(out);
  const kSize = e.kSize;
  const x = X.data as FloatArray;
  const w = W.data as FloatArray;
  const y = Y.data as FloatArray;
  if (oPlane > 0 && xPlane > 0) {
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const g = Math.floor(m / Mg);
        const ml = m - g * Mg;
        const oOff = (n * M + m) * oPlane;
        for (let cl = 0; cl < Cg; cl++) {
          const c = g * Cg + cl;
          accumulatePlane(e, y, oOff, x, (n * C + c) * xPlane, w, (c * Mg + ml) * kSize, f32);
        }
      }
    }
  }
  if (B && oPlane > 0) {
    const b = B.data as FloatArray;
    for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) addBiasPlane(y, (n * M + m) * oPlane, oPlane, b[m]!);
  }
  return [Y];
};

// ---------------------------------------------------------------------------
// ConvInteger / QLinearConv
// ---------------------------------------------------------------------------

function isInt8Like(d: number): boolean {
  return d === DType.uint8 || d === DType.int8;
}

/** A scalar (or one-element) zero point of the given data dtype; 0 when omitted. */
function scalarZeroPoint(ctx: KernelContext, zp: Tensor | undefined, dtype: number, what: string): number {
  if (!zp) return 0;
  if (zp.dtype !== dtype) throw ctx.error(`${what} dtype ${dtypeName(zp.dtype)} does not match ${dtypeName(dtype)}`);
  if (zp.size !== 1 || zp.rank > 1) throw ctx.error(`${what} must be a scalar, got shape [${zp.shape.join(',')}]`);
  return Number(zp.data[0]);
}

/** Per-output-channel (or scalar) values as numbers, length M. */
function perChannel(ctx: KernelContext, t: Tensor | undefined, M: number, dflt: number, what: string): Float64Array {
  const r = new Float64Array(M);
  if (!t) return r.fill(dflt);
  if (t.size === 1 && t.rank <= 1) return r.fill(Number(t.data[0]));
  if (t.rank === 1 && t.shape[0] === M) {
    for (let i = 0; i < M; i++) r[i] = Number(t.data[i]);
    return r;
  }
  throw ctx.error(`${what} must be a scalar or have shape [${M}], got [${t.shape.join(',')}]`);
}

/**
 * Exact integer convolution: acc[n,m,o] = sum over (c, kernel position), in
 * the canonical Conv order, of (x - x_zp) * (w - w_zp[m]) over in-bounds input
 * positions (padded positions contribute nothing — equivalent to padding with
 * x_zp). Terms and partial sums are exact in doubles (|term| <= 2^16); the
 * result is returned in a Float64Array, exact.
 */
function integerConv(ctx: KernelContext, X: Tensor, W: Tensor, xzp: number, wzp: Float64Array): { acc: Float64Array; sh: ConvShapes; geo: Geometry } {
  const sh = convShapes(ctx, X, W);
  const geo = slidingGeometry(ctx, sh.xSpatial, sh.kernel);
  const xs = new Float64Array(X.size);
  const xd = X.data;
  for (let i = 0; i < xs.length; i++) xs[i] = (xd[i] as number) - xzp;
  const ws = new Float64Array(W.size);
  const wd = W.data;
  const per = W.size / Math.max(1, sh.M);
  for (let m = 0; m < sh.M; m++) {
    const z = wzp[m]!;
    for (let i = m * per, end = i + per; i < end; i++) ws[i] = (wd[i] as number) - z;
  }
  const outN = sh.N * sh.M * prod(geo.out);
  ctx.checkSize(DType.float64, [outN]);
  const acc = new Float64Array(outN);
  runForward(sh, geo, xs, ws, acc, false);
  return { acc, sh, geo };
}

/**
 * ConvInteger (opset 10): int32 y = sum (x - x_zero_point) * (w - w_zero_point)
 * over the Conv window (exact; the int32 result wraps modulo 2^32 — equivalent
 * to wrapping after every add). w_zero_point may be a scalar or per output channel [M].
 */
const ConvInteger: Kernel = (inputs, ctx) => {
  const X = requireInput(ctx, inputs[0], 'x');
  const W = requireInput(ctx, inputs[1], 'w');
  if (!isInt8Like(X.dtype)) throw ctx.error(`x must be uint8 or int8, got ${dtypeName(X.dtype)}`);
  if (!isInt8Like(W.dtype)) throw ctx.error(`w must be uint8 or int8, got ${dtypeName(W.dtype)}`);
  const xzp = scalarZeroPoint(ctx, inputs[2], X.dtype, 'x_zero_point');
  const wzpT = inputs[3];
  if (wzpT && wzpT.dtype !== W.dtype) throw ctx.error(`w_zero_point dtype ${dtypeName(wzpT.dtype)} does not match w dtype ${dtypeName(W.dtype)}`);
  if (W.rank < 1) throw ctx.error('w must have rank >= 3');
  const wzp = perChannel(ctx, wzpT, W.shape[0]!, 0, 'w_zero_point');
  const { acc, sh, geo } = integerConv(ctx, X, W, xzp, wzp);
  const Y = ctx.alloc(DType.int32, [sh.N, sh.M, ...geo.out]);
  const y = Y.data as Int32Array;
  for (let i = 0; i < acc.length; i++) y[i] = acc[i]! | 0;
  return [Y];
};

/**
 * QLinearConv (opset 10): acc = int32 wrap of (exact integer conv of
 * (x - x_zp) * (w - w_zp[m])) + B[m] (exact, then wrapped to int32).
 * Requantization in float32: scale[m] = f32(f32(x_scale * w_scale[m]) / y_scale);
 * r = f32(f32(acc) * scale[m]) (f32(acc) rounds |acc| > 2^24 to nearest even);
 * q = roundHalfEven(r) + y_zp (exact integer add), saturated to the output
 * type's range (uint8 [0,255] / int8 [-128,127]). A non-finite scale[m] is
 * INVALID_ARGUMENT (so r is always finite).
 */
const QLinearConv: Kernel = (inputs, ctx) => {
  const X = requireInput(ctx, inputs[0], 'x');
  const xScale = requireInput(ctx, inputs[1], 'x_scale');
  const xZp = inputs[2];
  const W = requireInput(ctx, inputs[3], 'w');
  const wScale = requireInput(ctx, inputs[4], 'w_scale');
  const wZpT = inputs[5];
  const yScale = requireInput(ctx, inputs[6], 'y_scale');
  const yZp = inputs[7];
  const B = inputs[8];
  if (!isInt8Like(X.dtype)) throw ctx.error(`x must be uint8 or int8, got ${dtypeName(X.dtype)}`);
  if (!isInt8Like(W.dtype)) throw ctx.error(`w must be uint8 or int8, got ${dtypeName(W.dtype)}`);
  for (const [t, nm] of [[xScale, 'x_scale'], [wScale, 'w_scale'], [yScale, 'y_scale']] as const) {
    if (t.dtype !== DType.float32) throw ctx.error(`${nm} must be float32, got ${dtypeName(t.dtype)}`);
  }
  if (xScale.size !== 1 || xScale.rank > 1) throw ctx.error('x_scale must be a scalar');
  if (yScale.size !== 1 || yScale.rank > 1) throw ctx.error('y_scale must be a scalar');
  const yType = yZp ? yZp.dtype : X.dtype;
  if (!isInt8Like(yType)) throw ctx.error(`y_zero_point must be uint8 or int8, got ${dtypeName(yType)}`);
  const xzp = scalarZeroPoint(ctx, xZp, X.dtype, 'x_zero_point');
  const yzp = scalarZeroPoint(ctx, yZp, yType, 'y_zero_point');
  if (W.rank < 1) throw ctx.error('w must have rank >= 3');
  const M = W.shape[0]!;
  if (wZpT && wZpT.dtype !== W.dtype) throw ctx.error(`w_zero_point dtype ${dtypeName(wZpT.dtype)} does not match w dtype ${dtypeName(W.dtype)}`);
  const wzp = perChannel(ctx, wZpT, M, 0, 'w_zero_point');
  const ws = perChannel(ctx, wScale, M, 1, 'w_scale');
  const xs = (xScale.data as Float32Array)[0]!;
  const ys = (yScale.data as Float32Array)[0]!;
  if (B) {
    if (B.dtype !== DType.int32) throw ctx.error(`B must be int32, got ${dtypeName(B.dtype)}`);
    if (B.rank !== 1 || B.shape[0] !== M) throw ctx.error(`B must have shape [${M}], got [${B.shape.join(',')}]`);
  }
  const { acc, sh, geo } = integerConv(ctx, X, W, xzp, wzp);
  const Y = ctx.alloc(yType, [sh.N, sh.M, ...geo.out]);
  const y = Y.data as Uint8Array | Int8Array;
  const lo = yType === DType.uint8 ? 0 : -128;
  const hi = yType === DType.uint8 ? 255 : 127;
  const plane = prod(geo.out);
  const bias = B ? (B.data as Int32Array) : undefined;
  for (let m = 0; m < M; m++) {
    const scale = Math.fround(Math.fround(xs * ws[m]!) / ys);
    if (!Number.isFinite(scale)) throw ctx.error(`requantization scale for output channel ${m} is not finite`, { channel: m });
  }
  for (let n = 0; n < sh.N; n++) {
    for (let m = 0; m < M; m++) {
      const scale = Math.fround(Math.fround(xs * ws[m]!) / ys);
      const b = bias ? bias[m]! : 0;
      for (let i = (n * M + m) * plane, end = i + plane; i < end; i++) {
        const a = (acc[i]! + b) | 0;
        const r = Math.fround(Math.fround(a) * scale);
        let q = roundHalfEven(r) + yzp;
        if (q < lo) q = lo;
        else if (q > hi) q = hi;
        y[i] = q;
      }
    }
  }
  return [Y];
};

// ---------------------------------------------------------------------------
// Col2Im
// ---------------------------------------------------------------------------

function readInt64Vector(ctx: KernelContext, t: Tensor | undefined, what: string): number[] {
  if (!t) throw ctx.error(`missing required input ${what}`);
  if (t.dtype !== DType.int64) throw ctx.error(`${what} must be int64, got ${dtypeName(t.dtype)}`);
  if (t.rank !== 1) throw ctx.error(`${what} must be 1-D, got shape [${t.shape.join(',')}]`);
  const r: number[] = [];
  for (const v of t.data as BigInt64Array) {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw ctx.error(`${what} has invalid entry ${v}`);
    r.push(n);
  }
  return r;
}

/**
 * Col2Im (opset 18): input [N, C*prod(block), L] -> [N, C, image...].
 * Blocks slide like a Conv window over the padded image: per axis
 * nb = floor((img + pb + pe - eff) / s) + 1, L = prod(nb), and block l at
 * kernel offset k covers pixel p = l*s + k*d - pb.
 * Canonical order for pixel (n, c, p): acc = +0; for each kernel offset k in
 * row-major order, if some block position l (at most one per k) covers p,
 * acc = f32(acc + input[n, c*prod(block) + k, l]); positions covered only by
 * padding are dropped.
 */
const Col2Im: Kernel = (inputs, ctx) => {
  const X = requireInput(ctx, inputs[0], 'input');
  const f32 = floatKind(ctx, X, 'input');
  const image = readInt64Vector(ctx, inputs[1], 'image_shape');
  const block = readInt64Vector(ctx, inputs[2], 'block_shape');
  const k = image.length;
  if (block.length !== k) throw ctx.error(`block_shape has ${block.length} entries but image_shape has ${k}`);
  if (X.rank !== 3) throw ctx.error(`input must have rank 3 [N, C*prod(block), L], got [${X.shape.join(',')}]`);
  const strides = readPerAxis(ctx, 'strides', k, 1, 1);
  const dilations = readPerAxis(ctx, 'dilations', k, 1, 1);
  const { begin, end } = readPads(ctx, k);
  const kSize = prod(block);
  const [N, CK, L] = X.shape as [number, number, number];
  if (CK % kSize !== 0) throw ctx.error(`input dim 1 (${CK}) is not a multiple of prod(block_shape) = ${kSize}`);
  const C = CK / kSize;
  const nb: number[] = [];
  for (let j = 0; j < k; j++) {
    const eff = (block[j]! - 1) * dilations[j]! + 1;
    const span = image[j]! + begin[j]! + end[j]! - eff;
    if (span < 0) throw ctx.error(`block extent ${eff} exceeds the padded image on axis ${j}`);
    nb.push(floorDiv(span, strides[j]!) + 1);
  }
  if (prod(nb) !== L) throw ctx.error(`input dim 2 (${L}) does not match the number of blocks ${prod(nb)} = [${nb.join(',')}]`);
  const Y = ctx.alloc(X.dtype, [N, C, ...image]);
  // Blocks act as the "input" plane and pixels as the "output" of a transposed map.
  const maps: AxisMap[] = [];
  for (let j = 0; j < k; j++) maps.push(transposeAxisMap(nb[j]!, image[j]!, block[j]!, strides[j]!, dilations[j]!, begin[j]!));
  const e = makeEngine(maps, block, nb, image);
  const plane = prod(image);
  const x = X.data as FloatArray;
  const y = Y.data as FloatArray;
  if (plane === 0 || L === 0) return [Y];
  // Kernel offsets outermost, increasing: each pixel sees its terms in increasing k.
  // The "weight" is 1 and f32(v * 1) = v exactly, so each step is acc = f32(acc + v).
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const oOff = (n * C + c) * plane;
      e.kd.fill(0);
      for (let kp = 0; kp < kSize; kp++) {
        if (kp > 0) {
          let j = k - 1;
          while (++e.kd[j]! === block[j]!) {
            e.kd[j] = 0;
            j--;
          }
        }
        accumulateKernelPos(e, y, oOff, x, (n * CK + c * kSize + kp) * L, 1, f32);
      }
    }
  }
  return [Y];
};

export const ops: KernelTable = { Conv, ConvTranspose, ConvInteger, QLinearConv, Col2Im };
