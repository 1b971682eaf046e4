/**
 * Linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * QLinearMatMul.
 *
 * Conversions from a float to an integer type follow one rule everywhere: round half
 * to even, then saturate to the target range; NaN gives the range's minimum. (The ONNX
 * reference does `np.rint(v).astype(...)`, whose NaN/overflow result numpy leaves
 * undefined; on x86-64 its NaN result and ONNX Runtime's (MLAS clamps with maxps/minps)
 * both end at the range minimum, and ONNX Runtime saturates ±Inf as done here.)
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { roundHalfEven } from '../math/index.js';
import { tryBroadcastShapes } from '../broadcast.js';
import { DType, dtypeName } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import { broadcastIndex, int32Matmul, subtractZeroPoint } from './matmul.js';
import { need } from './util.js';

/** Integer output types and their ranges. */
const RANGE: Partial<Record<number, [number, number]>> = {
  [DType.uint8]: [0, 255],
  [DType.int8]: [-128, 127],
  [DType.uint16]: [0, 65535],
  [DType.int16]: [-32768, 32767],
};

/** ONNX float8 / 4-bit / 2-bit codes: valid quantized types this engine does not implement. */
const EXOTIC_QUANT = new Set([16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);

/** An integer-valued number (possibly NaN/±Inf) saturated to [lo, hi]; NaN -> lo. */
function saturate(r: number, lo: number, hi: number): number {
  if (r !== r) return lo;
  return r < lo ? lo : r > hi ? hi : r;
}

/**
 * How scale / zero point map onto x, as a function of x's flat index decomposed as
 * (outer o, axis index d, inner i): sIdx = o*outerStride + floor(d/div)*axisStride + i*innerStride.
 */
interface QuantLayout {
  outer: number;
  axisLen: number;
  inner: number;
  outerStride: number;
  div: number;
  axisStride: number;
  innerStride: number;
}

/**
 * Per-tensor (scale has one element), per-axis (1-D scale of length x.shape[axis]) or
 * blocked (opset 21+, block_size > 0: scale has x's shape except
 * scale.shape[axis] = ceil(x.shape[axis] / block_size)). The zero point, when given,
 * must have the scale's shape.
 */
function quantLayout(ctx: KernelContext, x: Tensor, scale: Tensor, zp: Tensor | undefined, what: string): QuantLayout {
  const n = x.size;
  if (zp && (zp.size !== scale.size || (scale.size !== 1 && zp.shape.join(',') !== scale.shape.join(',')))) {
    throw ctx.error(`${what}: zero point shape [${zp.shape.join(',')}] differs from scale shape [${scale.shape.join(',')}]`);
  }
  const blockSize = ctx.opset >= 21 ? ctx.int('block_size', 0) : 0;
  if (blockSize < 0) throw ctx.error(`${what}: block_size must be positive, got ${blockSize}`);
  if (scale.size === 1) {
    return { outer: 1, axisLen: 1, inner: n, outerStride: 0, div: 1, axisStride: 0, innerStride: 0 };
  }
  const r = x.rank;
  const axisAttr = ctx.int('axis', 1);
  const axis = axisAttr < 0 ? axisAttr + r : axisAttr;
  if (!Number.isInteger(axis) || axis < 0 || axis >= r) {
    throw ctx.error(`${what}: axis ${axisAttr} is out of range for input rank ${r}`, { axis: axisAttr, rank: r });
  }
  const D = x.shape[axis]!;
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= x.shape[i]!;
  let inner = 1;
  for (let i = axis + 1; i < r; i++) inner *= x.shape[i]!;
  if (blockSize === 0) {
    if (scale.rank !== 1 || scale.shape[0] !== D) {
      throw ctx.error(`${what}: per-axis scale must be 1-D of length ${D} (axis ${axis} of [${x.shape.join(',')}]), got [${scale.shape.join(',')}]`);
    }
    return { outer, axisLen: D, inner, outerStride: 0, div: 1, axisStride: 1, innerStride: 0 };
  }
  const S = Math.ceil(D / blockSize);
  const ok = scale.rank === r && scale.shape.every((s, i) => (i === axis ? s === S : s === x.shape[i]));
  if (!ok) {
    throw ctx.error(
      `${what}: blocked scale of shape [${scale.shape.join(',')}] does not match input [${x.shape.join(',')}] with axis ${axis} and block_size ${blockSize}`,
    );
  }
  return { outer, axisLen: D, inner, outerStride: S * inner, div: blockSize, axisStride: inner, innerStride: 1 };
}

// ---------------------------------------------------------------------------
// QuantizeLinear
// ---------------------------------------------------------------------------

/**
 * QuantizeLinear (opset 10..23). Per element, with s/zp the element's scale and zero point:
 *   v = f32(f32(x) / s)          (float32 division; int32 x is first rounded to float32 —
 *                                 the spec makes the scale's type the division precision)
 *   y = saturate(roundHalfEven(v) + zp)   to the output type's range (NaN -> minimum).
 * Output type: y_zero_point's type, else output_dtype (opset 21+), else uint8. uint8,
 * int8, uint16, int16 supported; float8/int4/uint4/... throw UNSUPPORTED_FEATURE.
 * `saturate` only concerns float8 outputs, so it has no effect here.
 */
const QuantizeLinear: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'x');
  const scale = need(inputs, 1, ctx, 'y_scale');
  const zp = inputs[2];
  const outAttr = ctx.opset >= 21 ? ctx.int('output_dtype', 0) : 0;
  let outType: number = zp ? zp.dtype : outAttr || DType.uint8;
  if (zp && outAttr && outAttr !== zp.dtype) {
    throw ctx.error(`output_dtype ${dtypeName(outAttr)} differs from y_zero_point type ${dtypeName(zp.dtype)}`);
  }
  if (EXOTIC_QUANT.has(outType)) throw ctx.unsupported(`quantization to ${dtypeName(outType)} is not supported`);
  const range = RANGE[outType];
  if (!range) throw ctx.error(`output type ${dtypeName(outType)} is not a quantized integer type`);
  if (x.dtype === DType.float16 || scale.dtype === DType.float16) {
    throw ctx.unsupported('float16 quantization is not supported');
  }
  if (x.dtype !== DType.float32 && x.dtype !== DType.int32) {
    throw ctx.error(`x must be float32 or int32, got ${dtypeName(x.dtype)}`);
  }
  if (scale.dtype === DType.int32) throw ctx.unsupported('int32 y_scale is not supported');
  if (scale.dtype !== DType.float32) throw ctx.error(`y_scale must be float32, got ${dtypeName(scale.dtype)}`);
  const precision = ctx.opset >= 23 ? ctx.int('precision', 0) : 0;
  if (precision !== 0 && precision !== DType.float32) {
    throw ctx.unsupported(`precision ${dtypeName(precision)} is not supported (only float32)`);
  }
  const L = quantLayout(ctx, x, scale, zp, 'QuantizeLinear');
  const y = ctx.alloc(outType as typeof DType.uint8, x.shape);
  const X = x.data as Float32Array | Int32Array;
  const S = scale.data as Float32Array;
  const Z = zp?.data as Uint8Array | Int8Array | Uint16Array | Int16Array | undefined;
  const Y = y.data as Uint8Array | Int8Array | Uint16Array | Int16Array;
  const [lo, hi] = range;
  let p = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let d = 0; d < L.axisLen; d++) {
      const sb = o * L.outerStride + Math.floor(d / L.div) * L.axisStride;
      for (let i = 0; i < L.inner; i++, p++) {
        const si = sb + i * L.innerStride;
        const v = Math.fround(Math.fround(X[p]!) / S[si]!);
        const r = roundHalfEven(v);
        Y[p] = saturate(r + (Z ? Z[si]! : 0), lo, hi);
      }
    }
  }
  return [y];
};

// ---------------------------------------------------------------------------
// DequantizeLinear
// ---------------------------------------------------------------------------

/**
 * DequantizeLinear (opset 10..23). Per element: y = f32(f32(x - zp) * s)
 * (x - zp is exact in double; for 8/16-bit x it is also exact in float32, as in the
 * ONNX reference's float32 subtraction). x: uint8, int8, uint16, int16, int32; scale and
 * output float32 (float16/bfloat16 and float8/4-bit inputs throw UNSUPPORTED_FEATURE).
 */
const DequantizeLinear: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'x');
  const scale = need(inputs, 1, ctx, 'x_scale');
  const zp = inputs[2];
  if (EXOTIC_QUANT.has(x.dtype)) throw ctx.unsupported(`dequantization of ${dtypeName(x.dtype)} is not supported`);
  if (!RANGE[x.dtype] && x.dtype !== DType.int32) throw ctx.error(`x has unsupported type ${dtypeName(x.dtype)}`);
  if (zp && zp.dtype !== x.dtype) throw ctx.error(`x_zero_point type ${dtypeName(zp.dtype)} differs from x type ${dtypeName(x.dtype)}`);
  if (scale.dtype === DType.float16) throw ctx.unsupported('float16 dequantization is not supported');
  if (scale.dtype !== DType.float32) throw ctx.error(`x_scale must be float32, got ${dtypeName(scale.dtype)}`);
  const outAttr = ctx.opset >= 23 ? ctx.int('output_dtype', 0) : 0;
  if (outAttr !== 0 && outAttr !== DType.float32) {
    if (outAttr === DType.float16 || outAttr === 16) throw ctx.unsupported(`output_dtype ${dtypeName(outAttr)} is not supported`);
    throw ctx.error(`output_dtype ${dtypeName(outAttr)} is not a float type`);
  }
  const L = quantLayout(ctx, x, scale, zp, 'DequantizeLinear');
  const y = ctx.alloc(DType.float32, x.shape);
  const X = x.data as Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array;
  const S = scale.data as Float32Array;
  const Z = zp?.data as typeof X | undefined;
  const Y = y.data as Float32Array;
  let p = 0;
  for (let o = 0; o < L.outer; o++) {
    for (let d = 0; d < L.axisLen; d++) {
      const sb = o * L.outerStride + Math.floor(d / L.div) * L.axisStride;
      for (let i = 0; i < L.inner; i++, p++) {
        const si = sb + i * L.innerStride;
        Y[p] = Math.fround(X[p]! - (Z ? Z[si]! : 0)) * S[si]!; // store rounds the product
      }
    }
  }
  return [y];
};

// ---------------------------------------------------------------------------
// DynamicQuantizeLinear
// ---------------------------------------------------------------------------

/**
 * DynamicQuantizeLinear (opset 11+), uint8, float32 arithmetic as the ONNX reference:
 *   maxx = max(0, x...), minx = min(0, x...)   (both NaN if any x is NaN)
 *   y_scale = (maxx == minx) ? 1 : f32(f32(maxx - minx) / 255)
 *   z = f32(0 - f32(minx / y_scale)); z = (z < 255 ? z : 255); z = (z > 0 ? z : 0)
 *       (Python's min/max, so a NaN z becomes 255); zpi = roundHalfEven(z)
 *   y = saturate(roundHalfEven(f32(x / y_scale)) + zpi) to [0, 255] (NaN -> 0)
 * Outputs y (uint8, x's shape), y_scale (float32 scalar), y_zero_point (uint8 scalar).
 * An empty x gives y_scale = 1, y_zero_point = 0.
 */
const DynamicQuantizeLinear: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'x');
  if (x.dtype === DType.float16) throw ctx.unsupported('float16 DynamicQuantizeLinear is not supported');
  if (x.dtype !== DType.float32) throw ctx.error(`x must be float32, got ${dtypeName(x.dtype)}`);
  const X = x.data as Float32Array;
  let maxx = 0;
  let minx = 0;
  for (let i = 0; i < X.length; i++) {
    const v = X[i]!;
    if (v !== v) {
      maxx = NaN;
      minx = NaN;
      break;
    }
    if (v > maxx) maxx = v;
    if (v < minx) minx = v;
  }
  const scale = maxx === minx ? 1 : Math.fround(Math.fround(maxx - minx) / 255);
  const initialZp = Math.fround(0 - Math.fround(minx / scale));
  // Python: zp = max(qmin, min(qmax, initial)); min(255, NaN) is 255 (NaN < 255 is false).
  let zp = initialZp < 255 ? initialZp : 255;
  zp = zp > 0 ? zp : 0;
  const zpi = roundHalfEven(zp);
  const y = ctx.alloc(DType.uint8, x.shape);
  const Y = y.data as Uint8Array;
  for (let i = 0; i < X.length; i++) {
    Y[i] = saturate(roundHalfEven(Math.fround(X[i]! / scale)) + zpi, 0, 255);
  }
  const ys = ctx.alloc(DType.float32, []);
  (ys.data as Float32Array)[0] = scale;
  const yz = ctx.alloc(DType.uint8, []);
  (yz.data as Uint8Array)[0] = zpi;
  return [y, ys, yz];
};

// ---------------------------------------------------------------------------
// QLinearMatMul
// ---------------------------------------------------------------------------

/** Reads a float32 or float16 scale tensor as numbers. */
function scaleValues(ctx: KernelContext, t: Tensor, name: string): Float64Array {
  const out = new Float64Array(t.size);
  if (t.dtype === DType.float32) out.set(t.data as Float32Array);
  else if (t.dtype === DType.float16) {
    const d = t.data as Uint16Array;
    for (let i = 0; i < d.length; i++) out[i] = float16ToNumber(d[i]!);
  } else throw ctx.error(`${name} must be float32 or float16, got ${dtypeName(t.dtype)}`);
  return out;
}

/**
 * 1-D per-row vectors on the left operand (length M != 1) are [M, 1], as in the spec;
 * everything else broadcasts numpy-style.
 */
function leftShape(t: Tensor, a: Tensor): readonly number[] {
  if (a.rank >= 2 && t.rank === 1 && t.shape[0] === a.shape[a.rank - 2] && t.shape[0] !== 1) return [t.shape[0]!, 1];
  return t.shape;
}

function broadcast2(ctx: KernelContext, x: readonly number[], y: readonly number[], what: string): number[] {
  const out = tryBroadcastShapes([x, y]);
  if (!out) throw ctx.error(`${what}: shapes [${x.join(',')}] and [${y.join(',')}] cannot be broadcast`);
  return out;
}

/**
 * QLinearMatMul (opset 10, 21), following the ONNX reference step by step:
 *   C = (a - a_zero_point) @ (b - b_zero_point)     exact int32 (wrap-around) accumulation
 *   m = f(f(a_scale * b_scale) / y_scale)           in the scales' type: f = f32 (float32
 *                                                    scales) or f16 (float16 scales)
 *   D = double(C * m) + y_zero_point                 float64 (numpy promotes int32 x float to float64)
 *   y = saturate(roundHalfEven(D)) to y_zero_point's type range (NaN -> minimum)
 * Scales/zero points: scalars, per-row on a ([M] or [..., M, 1]), per-column on b
 * ([N] or [..., 1, N]), y's broadcast against the output.
 */
const QLinearMatMul: Kernel = (inputs, ctx) => {
  const a = need(inputs, 0, ctx, 'a');
  const aScale = need(inputs, 1, ctx, 'a_scale');
  const b = need(inputs, 3, ctx, 'b');
  const bScale = need(inputs, 4, ctx, 'b_scale');
  const yScale = need(inputs, 6, ctx, 'y_scale');
  const yZp = inputs[7];
  for (const [t, n] of [[a, 'a'], [b, 'b']] as const) {
    if (t.dtype !== DType.uint8 && t.dtype !== DType.int8) throw ctx.error(`${n} must be uint8 or int8, got ${dtypeName(t.dtype)}`);
  }
  const outType = yZp ? yZp.dtype : a.dtype;
  const range = RANGE[outType];
  if (!range || (outType !== DType.uint8 && outType !== DType.int8)) {
    throw ctx.error(`y_zero_point must be uint8 or int8, got ${dtypeName(outType)}`);
  }
  const sType = aScale.dtype;
  if (bScale.dtype !== sType || yScale.dtype !== sType) {
    throw ctx.error(`scale types differ: ${[aScale, bScale, yScale].map((t) => dtypeName(t.dtype)).join(', ')}`);
  }
  const A = subtractZeroPoint(ctx, a, inputs[2], true, 'a_zero_point');
  const B = subtractZeroPoint(ctx, b, inputs[5], false, 'b_zero_point');
  const C = int32Matmul(ctx, A, a.shape, B, b.shape, 'QLinearMatMul');
  // multiplier m, broadcast over the three scale shapes
  const as = scaleValues(ctx, aScale, 'a_scale');
  const bs = scaleValues(ctx, bScale, 'b_scale');
  const ys = scaleValues(ctx, yScale, 'y_scale');
  const asShape = a.rank >= 2 ? leftShape(aScale, a) : aScale.shape;
  const mShape = broadcast2(ctx, broadcast2(ctx, asShape, bScale.shape, 'scales'), yScale.shape, 'scales');
  const ia = broadcastIndex(ctx, asShape, mShape, 'a_scale');
  const ib = broadcastIndex(ctx, bScale.shape, mShape, 'b_scale');
  const iy = broadcastIndex(ctx, yScale.shape, mShape, 'y_scale');
  const m = new Float64Array(ia.length);
  for (let i = 0; i < m.length; i++) {
    if (sType === DType.float16) {
      // f16(a*b): the double product of two binary16 values is exact; numberToFloat16
      // rounds through float32, innocuous here (products exact in f32; quotient: 53 >= 2*24+2
      // then 24 >= 2*11+2).
      const ab = float16ToNumber(numberToFloat16(as[ia[i]!]! * bs[ib[i]!]!));
      m[i] = float16ToNumber(numberToFloat16(ab / ys[iy[i]!]!));
    } else {
      m[i] = Math.fround(Math.fround(as[ia[i]!]! * bs[ib[i]!]!) / ys[iy[i]!]!);
    }
  }
  const im = broadcastIndex(ctx, mShape, C.shape, 'the scale product');
  let iz: Int32Array | undefined;
  if (yZp) {
    if (yZp.shape.join(',') !== yScale.shape.join(',') && yZp.size !== yScale.size) {
      throw ctx.error(`y_zero_point shape [${yZp.shape.join(',')}] differs from y_scale shape [${yScale.shape.join(',')}]`);
    }
    iz = broadcastIndex(ctx, yZp.shape, C.shape, 'y_zero_point');
  }
  const y = ctx.alloc(outType, C.shape);
  const Y = y.data as Uint8Array | Int8Array;
  const Cd = C.data as Int32Array;
  const Z = yZp?.data as Uint8Array | Int8Array | undefined;
  const [lo, hi] = range;
  for (let i = 0; i < Y.length; i++) {
    const D = Cd[i]! * m[im[i]!]! + (Z ? Z[iz![i]!]! : 0);
    Y[i] = saturate(roundHalfEven(D), lo, hi);
  }
  return [y];
};

export const ops: KernelTable = { QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinearMatMul };

