/**
 * Resize (opsets 10, 11, 13, 18, 19) and the deprecated Upsample (opsets 7, 9).
 *
 * Canonical semantics (verinfer-canonical):
 *
 * 1. Output shape and per-axis scale, all in float64:
 *    - `scales` given: scale = the float32 scale value (widened exactly to float64);
 *      out = floor(scale * in) (the product is exact in float64);
 *      lengthResized = scale * in.
 *    - `sizes` given (keep_aspect_ratio_policy = stretch): out = sizes[i];
 *      scale = out / in; lengthResized = out.
 *    - `sizes` with not_larger / not_smaller: s = min / max over the resized axes of
 *      (sizes[i] / in[i]); out = floor(s * in + 0.5); scale = s; lengthResized = s * in.
 *    Axes outside `axes` keep their size and are not touched (identity).
 *
 * 2. Source coordinate of output index x (float64, exactly these operations in this
 *    order; L = input length, O = output length, LR = lengthResized):
 *      half_pixel            (x + 0.5) / scale - 0.5
 *      half_pixel_symmetric  adj = O / LR; off = (L / 2) * (1 - adj);
 *                            (off + (x + 0.5) / scale) - 0.5
 *      pytorch_half_pixel    O > 1 ? (x + 0.5) / scale - 0.5 : 0
 *      align_corners         LR == 1 ? 0 : x * (L - 1) / (LR - 1)
 *      asymmetric            x / scale
 *      tf_half_pixel_for_nn  (x + 0.5) / scale
 *      tf_crop_and_resize    LR == 1 ? (e - s) * (L - 1) / 2 : x * (e - s) * (L - 1) / (LR - 1),
 *                            then + s * (L - 1)    (s, e = roi start/end of the axis);
 *                            a coordinate < 0 or > L - 1 on ANY resized axis makes the
 *                            whole output element extrapolation_value.
 *    Resize-10 and Upsample use asymmetric.
 *
 * 3. Taps per axis: a list of (input index, coefficient) pairs for each output index,
 *    coefficients in float64, indices clamped to [0, L-1] (edge replication).
 *    With f = floor(c), r = c - f (exact):
 *      nearest  one tap, weight 1, at: round_prefer_floor r <= 0.5 ? f : f + 1;
 *               round_prefer_ceil r < 0.5 ? f : f + 1; floor f; ceil r == 0 ? f : f + 1.
 *               Resize-10 / Upsample: scale < 1 ? ceil(c) : floor(c).
 *      linear   c clamped to [0, L-1] first; taps (f, 1 - r), (f + 1, r).
 *      cubic    taps f-1 .. f+2 with A = cubic_coeff_a and
 *               c0 = ((A*(r+1) - 5A)*(r+1) + 8A)*(r+1) - 4A
 *               c1 = ((A+2)*r - (A+3))*r*r + 1
 *               c2 = ((A+2)*(1-r) - (A+3))*(1-r)*(1-r) + 1
 *               c3 = ((A*((1-r)+1) - 5A)*((1-r)+1) + 8A)*((1-r)+1) - 4A
 *               (5A = 5*A, 8A = 8*A, 4A = 4*A, products left to right).
 *      antialias (opset 18+, linear/cubic): sa = min(scale, 1);
 *               linear: j from floor(-1/sa)+1 over 2 - 2*start taps,
 *                 coefficient clamp(1 - |(j - r) * sa|, 0, 1);
 *               cubic: j from floor(-2/sa)+1 to 1 - start, t = |sa * (j - r)|,
 *                 t <= 1: ((A+2)*t3 - (A+3)*t2) + 1; t < 2: ((A*t3 - 5A*t2) + 8A*t) - 4A;
 *                 else 0, with t2 = t*t, t3 = t*t2; tap index f + j;
 *               then every coefficient is divided by their sum (summed in tap order).
 *      exclude_outside=1 (cubic / antialias): taps whose unclamped index is outside
 *               [0, L-1] get coefficient 0, then all are divided by their sum.
 *    For float32 data each coefficient is then rounded to float32; taps whose (rounded)
 *    coefficient is exactly 0 are dropped.
 *
 * 4. Interpolation is separable, one axis at a time from the innermost resized axis
 *    outwards (the last axis first). Along one axis each value is
 *      acc = -0; for each kept tap in order: acc = f32(acc + f32(w * v))
 *    (so a 2-tap lerp is f32(f32(a*w0) + f32(b*w1)) and a single weight-1 tap copies v
 *    exactly); intermediates are stored as float32 (float64 for float64 / integer data).
 *    Integer tensors interpolate in float64 and the result is rounded half to even and
 *    saturated to the type's range (NaN -> 0). nearest is a pure gather for any dtype.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { DType, dtypeKind, dtypeName, type TensorData } from '../../tensor/dtype.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import { Tensor } from '../../tensor/tensor.js';

type Mode = 'nearest' | 'linear' | 'cubic';
type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'legacy';
const CTMS = new Set([
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'tf_crop_and_resize',
]);

interface Params {
  mode: Mode;
  ctm: string;
  nearestMode: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  /** Per axis of X: whether the axis is resized at all (false = identity). */
  resized: boolean[];
  scale: number[];
  outShape: number[];
  lenResized: number[];
  roi: number[] | null;
}

/** Per-axis taps in CSR form. */
interface AxisPlan {
  outLen: number;
  start: Int32Array;
  idx: Int32Array;
  w: Float64Array;
  extrap: Uint8Array | null;
  identity: boolean;
}

function numbersOf(t: Tensor): number[] {
  const out = new Array<number>(t.size);
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i]!;
    out[i] = t.dtype === DType.float16 ? float16ToNumber(v as number) : Number(v);
  }
  return out;
}

function present(t: Tensor | undefined): t is Tensor {
  return t !== undefined && t.size > 0;
}

function parseMode(ctx: KernelContext, allowCubic: boolean): Mode {
  const m = ctx.string('mode', 'nearest');
  if (m === 'nearest' || m === 'linear') return m;
  if (m === 'bilinear' && ctx.node.opType === 'Upsample') return 'linear';
  if (m === 'cubic' && allowCubic) return m;
  throw ctx.error(`unknown mode "${m}"`, { attribute: 'mode', value: m });
}

function resolveParams(inputs: (Tensor | undefined)[], ctx: KernelContext): Params {
  const x = inputs[0]!;
  const rank = x.rank;
  const isUpsample = ctx.node.opType === 'Upsample';
  const legacy = isUpsample || ctx.opset < 11;
  let mode: Mode;
  let ctm = 'asymmetric';
  let nearestMode: NearestMode = 'legacy';
  let cubicA = -0.75;
  let excludeOutside = false;
  let extrapolation = 0;
  let antialias = false;
  let axes: number[] | null = null;
  let policy = 'stretch';
  let scalesIn: number[] | null = null;
  let sizesIn: number[] | null = null;
  let roiIn: number[] | null = null;

  if (legacy) {
    mode = parseMode(ctx, false);
    const st = inputs[1];
    if (present(st)) scalesIn = numbersOf(st);
    else if (isUpsample && ctx.has('scales')) scalesIn = ctx.floats('scales', []);
    if (!scalesIn) throw ctx.error('scales are required');
    if (isUpsample) {
      for (const s of scalesIn) {
        if (!(s >= 1)) throw ctx.error(`Upsample scales must be >= 1, got ${s}`, { scales: scalesIn });
      }
    }
  } else {
    mode = parseMode(ctx, true);
    ctm = ctx.string('coordinate_transformation_mode', 'half_pixel');
    if (!CTMS.has(ctm)) throw ctx.error(`unknown coordinate_transformation_mode "${ctm}"`, { attribute: 'coordinate_transformation_mode' });
    const nm = ctx.string('nearest_mode', 'round_prefer_floor');
    if (nm !== 'round_prefer_floor' && nm !== 'round_prefer_ceil' && nm !== 'floor' && nm !== 'ceil') {
      throw ctx.error(`unknown nearest_mode "${nm}"`, { attribute: 'nearest_mode' });
    }
    nearestMode = nm;
    cubicA = Math.fround(ctx.float('cubic_coeff_a', -0.75));
    excludeOutside = ctx.int('exclude_outside', 0) !== 0;
    extrapolation = Math.fround(ctx.float('extrapolation_value', 0));
    if (ctx.opset >= 18) {
      antialias = ctx.int('antialias', 0) !== 0;
      policy = ctx.string('keep_aspect_ratio_policy', 'stretch');
      if (policy !== 'stretch' && policy !== 'not_larger' && policy !== 'not_smaller') {
        throw ctx.error(`unknown keep_aspect_ratio_policy "${policy}"`, { attribute: 'keep_aspect_ratio_policy' });
      }
      const ax = ctx.ints('axes');
      if (ax) {
        axes = ax.map((a) => {
          const n = a < 0 ? a + rank : a;
          if (!(n >= 0 && n < rank)) throw ctx.error(`axis ${a} out of range for rank ${rank}`, { attribute: 'axes' });
          return n;
        });
        if (new Set(axes).size !== axes.length) throw ctx.error('axes must be unique', { attribute: 'axes' });
      }
    }
    const roiT = inputs[1];
    const scalesT = inputs[2];
    const sizesT = inputs[3];
    if (present(scalesT)) {
      if (scalesT.dtype !== DType.float32 && scalesT.dtype !== DType.float64) {
        throw ctx.error(`scales must be float, got ${dtypeName(scalesT.dtype)}`);
      }
      scalesIn = numbersOf(scalesT);
    }
    if (present(sizesT)) {
      if (sizesT.dtype !== DType.int64 && sizesT.dtype !== DType.int32) throw ctx.error(`sizes must be int64, got ${dtypeName(sizesT.dtype)}`);
      sizesIn = numbersOf(sizesT);
    }
    if (scalesIn && sizesIn) throw ctx.error('only one of scales and sizes may be given');
    if (!scalesIn && !sizesIn) throw ctx.error('one of scales and sizes is required');
    if (present(roiT) && ctm === 'tf_crop_and_resize') {
      if (dtypeKind(roiT.dtype) !== 'float') throw ctx.error(`roi must be float, got ${dtypeName(roiT.dtype)}`);
      roiIn = numbersOf(roiT);
    }
    if (ctm === 'tf_crop_and_resize' && !roiIn) throw ctx.error('roi is required for tf_crop_and_resize');
    if (antialias && mode === 'nearest') antialias = false; // antialias only affects linear / cubic
  }

  const nAx = axes ? axes.length : rank;
  const axisList = axes ?? Array.from({ length: rank }, (_, i) => i);
  const given = (scalesIn ?? sizesIn)!;
  if (given.length !== nAx) {
    throw ctx.error(`${scalesIn ? 'scales' : 'sizes'} has ${given.length} elements, expected ${nAx}`, { expected: nAx, got: given.length });
  }
  if (roiIn && roiIn.length !== 2 * nAx) throw ctx.error(`roi has ${roiIn.length} elements, expected ${2 * nAx}`);

  const resized = new Array<boolean>(rank).fill(false);
  const scale = new Array<number>(rank).fill(1);
  const outShape = [...x.shape];
  const lenResized = x.shape.map((d) => d);
  let roi: number[] | null = null;
  if (roiIn) {
    roi = new Array<number>(2 * rank);
    for (let d = 0; d < rank; d++) {
      roi[d] = 0;
      roi[rank + d] = 1;
    }
    axisList.forEach((d, i) => {
      roi![d] = roiIn![i]!;
      roi![rank + d] = roiIn![nAx + i]!;
    });
  }

  if (scalesIn) {
    axisList.forEach((d, i) => {
      const s = scalesIn![i]!;
      if (!(s > 0) || s === Infinity) throw ctx.error(`scale ${s} for axis ${d} must be positive and finite`, { axis: d, scale: s });
      const L = x.shape[d]!;
      const o = Math.floor(s * L);
      if (!Number.isSafeInteger(o)) throw ctx.error(`output size along axis ${d} is too large`, { axis: d });
      resized[d] = true;
      scale[d] = s;
      outShape[d] = o;
      lenResized[d] = s * L;
    });
  } else {
    for (const v of sizesIn!) {
      if (!Number.isSafeInteger(v) || v < 0) throw ctx.error(`sizes must be non-negative integers, got ${v}`, { sizes: sizesIn });
    }
    if (policy === 'stretch') {
      axisList.forEach((d, i) => {
        const o = sizesIn![i]!;
        const L = x.shape[d]!;
        if (L === 0 && o > 0) throw ctx.error(`cannot resize the empty axis ${d} to ${o}`, { axis: d });
        resized[d] = true;
        outShape[d] = o;
        scale[d] = L === 0 ? 1 : o / L;
        lenResized[d] = o;
      });
    } else {
      let s = policy === 'not_larger' ? Infinity : -Infinity;
      axisList.forEach((d, i) => {
        const L = x.shape[d]!;
        if (L === 0) throw ctx.error(`keep_aspect_ratio_policy cannot resize the empty axis ${d}`, { axis: d });
        const r = sizesIn![i]! / L;
        s = policy === 'not_larger' ? Math.min(s, r) : Math.max(s, r);
      });
      for (const d of axisList) {
        const L = x.shape[d]!;
        const o = Math.floor(s * L + 0.5);
        if (!Number.isSafeInteger(o)) throw ctx.error(`output size along axis ${d} is too large`, { axis: d });
        resized[d] = true;
        scale[d] = s;
        outShape[d] = o;
        lenResized[d] = s * L;
      }
      if (!(s > 0)) throw ctx.error(`keep_aspect_ratio_policy gives scale ${s}`);
    }
  }
  return { mode, ctm, nearestMode, cubicA, excludeOutside, extrapolation, antialias, resized, scale, outShape, lenResized, roi };
}

/** Source coordinate (float64) of output index x along one axis; see header, step 2. */
function sourceCoord(p: Params, d: number, x: number, L: number, O: number, rank: number): number {
  const s = p.scale[d]!;
  const LR = p.lenResized[d]!;
  switch (p.ctm) {
    case 'half_pixel':
      return (x + 0.5) / s - 0.5;
    case 'half_pixel_symmetric': {
      const adj = O / LR;
      const off = (L / 2) * (1 - adj);
      return off + (x + 0.5) / s - 0.5;
    }
    case 'pytorch_half_pixel':
      return O > 1 ? (x + 0.5) / s - 0.5 : 0;
    case 'align_corners':
      return LR === 1 ? 0 : (x * (L - 1)) / (LR - 1);
    case 'asymmetric':
      return x / s;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / s;
    case 'tf_crop_and_resize': {
      const r0 = p.roi![d]!;
      const r1 = p.roi![rank + d]!;
      const c = LR === 1 ? ((r1 - r0) * (L - 1)) / 2 : (x * (r1 - r0) * (L - 1)) / (LR - 1);
      return c + r0 * (L - 1);
    }
  }
  throw new Error(`unreachable ctm ${p.ctm}`);
}

function cubicCoeffs(r: number, A: number, out: Float64Array): void {
  const A5 = 5 * A;
  const A8 = 8 * A;
  const A4 = 4 * A;
  const r1 = r + 1;
  const q = 1 - r;
  const q1 = q + 1;
  out[0] = ((A * r1 - A5) * r1 + A8) * r1 - A4;
  out[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  out[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
  out[3] = ((A * q1 - A5) * q1 + A8) * q1 - A4;
}

function cubicKernelAA(t: number, A: number): number {
  const t2 = t * t;
  const t3 = t * t2;
  if (t <= 1) return (A + 2) * t3 - (A + 3) * t2 + 1;
  if (t < 2) return A * t3 - 5 * A * t2 + 8 * A * t - 4 * A;
  return 0;
}

/** Number of taps per output index along an axis (before zero taps are dropped). */
function tapCount(p: Params, s: number): number {
  if (p.mode === 'nearest') return 1;
  if (p.antialias) {
    const sa = Math.min(s, 1);
    const j0 = Math.floor((p.mode === 'linear' ? -1 : -2) / sa) + 1;
    return 2 - 2 * j0;
  }
  return p.mode === 'linear' ? 2 : 4;
}

/** Builds the taps of one axis (header, step 3). `f32w`: round coefficients to float32. */
function planAxis(ctx: KernelContext, p: Params, d: number, L: number, O: number, rank: number, f32w: boolean): AxisPlan {
  if (!p.resized[d]) {
    return { outLen: O, start: new Int32Array(0), idx: new Int32Array(0), w: new Float64Array(0), extrap: null, identity: true };
  }
  const s = p.scale[d]!;
  const nt = tapCount(p, s);
  // Tap tables live outside the output tensor: bound them by the same size cap.
  const cap = ctx.checkSize(DType.float64, [O, nt]);
  const start = new Int32Array(O + 1);
  const idx = new Int32Array(cap);
  const w = new Float64Array(cap);
  const extrap = p.ctm === 'tf_crop_and_resize' ? new Uint8Array(O) : null;
  const last = L - 1;
  const cs = new Float64Array(nt);
  const ts = new Float64Array(nt);
  let m = 0; // taps written
  let identity = O === L;
  for (let o = 0; o < O; o++) {
    start[o] = m;
    let c = sourceCoord(p, d, o, L, O, rank);
    let n = nt;
    if (extrap && (c < 0 || c > last)) {
      extrap[o] = 1;
      identity = false;
      n = 1;
      cs[0] = 1;
      ts[0] = 0;
    } else if (p.mode === 'nearest') {
      const f = Math.floor(c);
      const r = c - f;
      let i: number;
      switch (p.nearestMode) {
        case 'round_prefer_floor':
          i = r <= 0.5 ? f : f + 1;
          break;
        case 'round_prefer_ceil':
          i = r < 0.5 ? f : f + 1;
          break;
        case 'floor':
          i = f;
          break;
        case 'ceil':
          i = r === 0 ? f : f + 1;
          break;
        default:
          i = s < 1 ? Math.ceil(c) : f;
      }
      cs[0] = 1;
      ts[0] = i;
    } else if (p.antialias) {
      const sa = Math.min(s, 1);
      const f = Math.floor(c);
      const r = c - f;
      const j0 = 1 - nt / 2;
      if (p.mode === 'linear') {
        for (let k = 0; k < nt; k++) {
          const v = 1 - Math.abs((j0 + k - r) * sa);
          cs[k] = v < 0 ? 0 : v > 1 ? 1 : v;
          ts[k] = f + j0 + k;
        }
      } else {
        for (let k = 0; k < nt; k++) {
          cs[k] = cubicKernelAA(Math.abs(sa * (j0 + k - r)), p.cubicA);
          ts[k] = f + j0 + k;
        }
      }
      normalize(cs, ts, nt, L, p.excludeOutside);
    } else if (p.mode === 'linear') {
      if (c < 0) c = 0;
      else if (c > last) c = last;
      const f = Math.floor(c);
      const r = c - f;
      cs[0] = 1 - r;
      cs[1] = r;
      ts[0] = f;
      ts[1] = f + 1;
    } else {
      const f = Math.floor(c);
      const r = c - f;
      cubicCoeffs(r, p.cubicA, cs);
      ts[0] = f - 1;
      ts[1] = f;
      ts[2] = f + 1;
      ts[3] = f + 2;
      if (p.excludeOutside) normalize(cs, ts, 4, L, true);
    }
    for (let k = 0; k < n; k++) {
      const wk = f32w ? Math.fround(cs[k]!) : cs[k]!;
      if (wk === 0) continue;
      const t = ts[k]!;
      idx[m] = t < 0 ? 0 : t > last ? last : t;
      w[m] = wk;
      m++;
    }
    if (!(m - start[o]! === 1 && idx[m - 1] === o && w[m - 1] === 1)) identity = false;
  }
  start[O] = m;
  return { outLen: O, start, idx, w, extrap, identity };
}

/** exclude_outside (optional) then divide every coefficient by the sum (in tap order). */
function normalize(cs: Float64Array, ts: Float64Array, n: number, L: number, exclude: boolean): void {
  if (exclude) for (let k = 0; k < n; k++) if (ts[k]! < 0 || ts[k]! >= L) cs[k] = 0;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += cs[k]!;
  for (let k = 0; k < n; k++) cs[k] = cs[k]! / sum;
}

/** One separable pass along `axis` (header, step 4). */
function resampleAxis(
  src: Float32Array | Float64Array,
  shape: number[],
  axis: number,
  plan: AxisPlan,
  dst: Float32Array | Float64Array,
): void {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  const L = shape[axis]!;
  const O = plan.outLen;
  const { start, idx, w } = plan;
  const isF32 = dst instanceof Float32Array;
  for (let ob = 0; ob < outer; ob++) {
    const sBase = ob * L * inner;
    const dBase = ob * O * inner;
    for (let o = 0; o < O; o++) {
      const t0 = start[o]!;
      const t1 = start[o + 1]!;
      const d0 = dBase + o * inner;
      if (t0 === t1) {
        dst.fill(-0, d0, d0 + inner);
        continue;
      }
      if (inner === 1) {
        let acc = -0;
        if (isF32) for (let t = t0; t < t1; t++) acc = Math.fround(acc + Math.fround(w[t]! * src[sBase + idx[t]!]!));
        else for (let t = t0; t < t1; t++) acc = acc + w[t]! * src[sBase + idx[t]!]!;
        dst[d0] = acc;
        continue;
      }
      // First tap: -0 + f32(w*v) == f32(w*v); the store into dst rounds.
      let wt = w[t0]!;
      let s0 = sBase + idx[t0]! * inner;
      for (let j = 0; j < inner; j++) dst[d0 + j] = wt * src[s0 + j]!;
      for (let t = t0 + 1; t < t1; t++) {
        wt = w[t]!;
        s0 = sBase + idx[t]! * inner;
        if (isF32) for (let j = 0; j < inner; j++) dst[d0 + j] = dst[d0 + j]! + Math.fround(wt * src[s0 + j]!);
        else for (let j = 0; j < inner; j++) dst[d0 + j] = dst[d0 + j]! + wt * src[s0 + j]!;
      }
    }
  }
}

/** Gather for nearest (any dtype): out[o] = in[sum_d idx_d[o_d] * stride_d]. */
function gather(src: TensorData, inShape: readonly number[], plans: AxisPlan[], out: TensorData, outShape: number[]): void {
  const rank = inShape.length;
  const total = out.length;
  if (total === 0) return;
  if (rank === 0) {
    out[0] = src[0]!;
    return;
  }
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= inShape[d]!;
  }
  // Per-axis offset tables.
  const offs: Int32Array[] | Float64Array[] = [];
  for (let d = 0; d < rank; d++) {
    const O = outShape[d]!;
    const t = new Float64Array(O);
    const pl = plans[d]!;
    for (let o = 0; o < O; o++) t[o] = (pl.identity ? o : pl.idx[pl.start[o]!]!) * strides[d]!;
    (offs as Float64Array[]).push(t);
  }
  const lastOff = offs[rank - 1]!;
  const Olast = outShape[rank - 1]!;
  const counter = new Array<number>(rank - 1).fill(0);
  let p = 0;
  const isBig = typeof src[0] === 'bigint';
  while (p < total) {
    let base = 0;
    for (let d = 0; d < rank - 1; d++) base += offs[d]![counter[d]!]!;
    if (isBig) for (let o = 0; o < Olast; o++) (out as BigInt64Array)[p++] = (src as BigInt64Array)[base + lastOff[o]!]!;
    else for (let o = 0; o < Olast; o++) (out as Float64Array)[p++] = (src as Float64Array)[base + lastOff[o]!]!;
    for (let d = rank - 2; d >= 0; d--) {
      if (++counter[d]! < outShape[d]!) break;
      counter[d] = 0;
    }
  }
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  [DType.int8]: [-128, 127],
  [DType.uint8]: [0, 255],
  [DType.int16]: [-32768, 32767],
  [DType.uint16]: [0, 65535],
  [DType.int32]: [-2147483648, 2147483647],
  [DType.uint32]: [0, 4294967295],
};

/** Exact round-half-to-even of a float64, then saturation to [lo, hi]; NaN -> 0. */
function toIntSat(v: number, lo: number, hi: number): number {
  if (v !== v) return 0;
  if (v <= lo) return lo;
  if (v >= hi) return hi;
  const f = Math.floor(v);
  const diff = v - f;
  let r = diff > 0.5 ? f + 1 : diff < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  if (r === 0) r = 0; // no -0 in integers
  return r;
}

function fillExtrapolation(plans: AxisPlan[], out: TensorData, outShape: number[], value: number | bigint): void {
  const rank = outShape.length;
  if (!plans.some((pl) => pl.extrap)) return;
  const total = out.length;
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < total; i++) {
    let ex = false;
    for (let d = 0; d < rank && !ex; d++) {
      const e = plans[d]!.extrap;
      if (e && e[counter[d]!]) ex = true;
    }
    if (ex) (out as Float64Array)[i] = value as number;
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d]! < outShape[d]!) break;
      counter[d] = 0;
    }
  }
}

const resize: Kernel = (inputs, ctx) => {
  const x = inputs[0];
  if (!x) throw ctx.error('input X is required');
  const p = resolveParams(inputs, ctx);
  const rank = x.rank;
  const kind = dtypeKind(x.dtype);
  const y = ctx.alloc(x.dtype, p.outShape);
  if (y.size === 0) return [y];
  if (x.size === 0) throw ctx.error('cannot resize an empty tensor to a non-empty one');

  if (p.mode !== 'nearest') {
    if (x.dtype === DType.float16) throw ctx.unsupported('float16 interpolation (linear/cubic) is not supported');
    if (kind === 'bigint' || kind === 'bool') {
      throw ctx.unsupported(`${p.mode} interpolation of ${dtypeName(x.dtype)} is not supported`);
    }
  }
  const f32w = x.dtype === DType.float32;
  const plans: AxisPlan[] = [];
  for (let d = 0; d < rank; d++) plans.push(planAxis(ctx, p, d, x.shape[d]!, p.outShape[d]!, rank, f32w));

  if (p.mode === 'nearest') {
    gather(x.data, x.shape, plans, y.data, p.outShape);
    if (plans.some((pl) => pl.extrap)) {
      let e: number | bigint;
      if (x.dtype === DType.float16) e = numberToFloat16(p.extrapolation);
      else if (kind === 'float') e = p.extrapolation;
      else if (kind === 'bool') e = p.extrapolation !== 0 ? 1 : 0;
      else if (kind === 'bigint') {
        const r =
          x.dtype === DType.uint64
            ? toIntSat(p.extrapolation, 0, 18446744073709549568)
            : toIntSat(p.extrapolation, -9223372036854775808, 9223372036854774784);
        e = BigInt(r);
      } else {
        const [lo, hi] = INT_RANGE[x.dtype]!;
        e = toIntSat(p.extrapolation, lo, hi);
      }
      fillExtrapolation(plans, y.data, p.outShape, e);
    }
    return [y];
  }

  // Separable interpolation, innermost axis first.
  let cur: Float32Array | Float64Array;
  if (x.dtype === DType.float32 || x.dtype === DType.float64) cur = x.data as Float32Array | Float64Array;
  else cur = Float64Array.from(x.data as ArrayLike<number>);
  const shape = [...x.shape];
  const Ctor = f32w ? Float32Array : Float64Array;
  for (let d = rank - 1; d >= 0; d--) {
    const pl = plans[d]!;
    if (pl.identity) continue;
    const nshape = [...shape];
    nshape[d] = pl.outLen;
    const n = ctx.checkSize(f32w ? DType.float32 : DType.float64, nshape);
    const next = new Ctor(n);
    resampleAxis(cur, shape, d, pl, next);
    cur = next;
    shape[d] = pl.outLen;
  }
  if (kind === 'float') {
    (y.data as Float32Array | Float64Array).set(cur);
    fillExtrapolation(plans, y.data, p.outShape, p.extrapolation);
  } else {
    const [lo, hi] = INT_RANGE[x.dtype]!;
    const out = y.data as Int32Array;
    for (let i = 0; i < out.length; i++) out[i] = toIntSat(cur[i]!, lo, hi);
    fillExtrapolation(plans, y.data, p.outShape, toIntSat(p.extrapolation, lo, hi));
  }
  return [y];
};

export const ops: KernelTable = {
  Resize: resize,
  Upsample: resize,
};
