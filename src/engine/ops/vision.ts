// Vision family: GridSample (16, 20, 22), AffineGrid (20), NonMaxSuppression
// (10, 11), RoiAlign (10, 16, 22), DeformConv (19, 22), MaxRoiPool (1, 22).
//
// Semantics follow the ONNX reference implementation (onnx/reference/ops) with
// the arithmetic pinned down below; `f` denotes rounding to float32
// (Math.fround) on the float32 path and the identity on the float64 path.
// Every kernel's comment states its canonical order of operations.

import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { roundHalfEven } from '../math/index.js';
import { DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { castTensor } from './cast.js';
import { readPads, readPerAxis } from './conv.js';
import { intsOf, need, prod, shapeStr } from './util.js';

type FloatArray = Float32Array | Float64Array;

const fr = Math.fround;
const id = (v: number): number => v;

/** true for float32, false for float64; float16 unsupported; anything else invalid. */
function floatKind(ctx: KernelContext, t: Tensor, what: string): boolean {
  if (t.dtype === DType.float32) return true;
  if (t.dtype === DType.float64) return false;
  if (t.dtype === DType.float16) throw ctx.unsupported(`float16 compute is not supported (${what})`, { dtype: 'float16' });
  throw ctx.error(`${what} must be a float tensor, got ${dtypeName(t.dtype)}`);
}

/** A scalar (or one-element) float tensor's value, undefined when the tensor is empty. */
function floatScalar(ctx: KernelContext, t: Tensor, what: string): number | undefined {
  if (t.dtype !== DType.float32 && t.dtype !== DType.float64) {
    if (t.dtype === DType.float16) throw ctx.unsupported(`float16 ${what} is not supported`);
    throw ctx.error(`${what} must be a float tensor, got ${dtypeName(t.dtype)}`);
  }
  if (t.size === 0) return undefined;
  if (t.size !== 1) throw ctx.error(`${what} must be a scalar, got shape ${shapeStr(t.shape)}`);
  return t.data[0] as number;
}

// ---------------------------------------------------------------------------
// GridSample
// ---------------------------------------------------------------------------

/**
 * Reflects `x` into [lo, hi] (ONNX reference `_gs_reflect`), in float64:
 *   x < lo: dx = lo - x; n = trunc(dx / rng); r = dx - n*rng; n even ? lo + r : hi - r
 *   x > hi: dx = x - hi; n = trunc(dx / rng); r = dx - n*rng; n even ? hi - r : lo + r
 * with rng = hi - lo; rng = 0 (a length-1 axis with align_corners) gives lo.
 * ±Inf reflects to NaN.
 */
function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (x < lo) {
    if (rng === 0) return lo;
    const dx = lo - x;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    if (rng === 0) return lo;
    const dx = x - hi;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

const PAD_ZEROS = 0;
const PAD_BORDER = 1;
const PAD_REFLECTION = 2;

/** Tap index i on an axis of length L under the padding mode, or -1 for a zero tap. */
function tapIndex(i: number, L: number, pad: number, lo: number, hi: number): number {
  if (i >= 0 && i < L) return i;
  if (pad === PAD_ZEROS) return -1;
  if (pad === PAD_BORDER) return i < 0 ? 0 : L - 1;
  if (!(i === i)) return 0;
  const j = Math.trunc(reflect(i, lo, hi));
  return j < 0 ? 0 : j >= L ? L - 1 : j; // safety net against float rounding far away
}

const CUBIC_A = -0.75;

/** Keys cubic coefficients (A = -0.75) for fractional part t in [0, 1), ONNX reference order. */
function cubicCoeffs(t: number, f: (v: number) => number, out: Float64Array, o: number): void {
  const A = CUBIC_A;
  const A5 = 5 * A; // -3.75
  const A8 = 8 * A; // -6
  const A4 = 4 * A; // -3
  const x1 = f(t + 1);
  out[o] = f(f(f(f(f(f(A * x1) - A5) * x1) + A8) * x1) - A4);
  out[o + 1] = f(f(f(f(f(f((A + 2) * t) - (A + 3)) * t) * t) + 1));
  const y = f(1 - t);
  out[o + 2] = f(f(f(f(f((A + 2) * y) - (A + 3)) * y) * y) + 1);
  const z = f(2 - t);
  out[o + 3] = f(f(f(f(f(f(A * z) - A5) * z) + A8) * z) - A4);
}

type GsMode = 'nearest' | 'linear' | 'cubic';

const STATUS_OK = 0;
const STATUS_NAN = 1;
const STATUS_ZERO = 2;

/**
 * Per output position of one batch item: the flat in-plane offsets of the
 * k^r corner taps (row-major over axes, axis 0 = outermost; -1 = zero tap),
 * the per-axis weights (k per axis, already rounded to the compute
 * precision) and a status (ok / NaN output / zero output).
 */
interface TapTable {
  k: number;
  T: number;
  offs: Int32Array;
  wts: Float64Array;
  status: Uint8Array;
}

/**
 * Builds the tap table for GridSample (and DeformConv, which passes
 * pixel-space coordinates through `coord`).
 *  - `coord(p, a)`: source coordinate on spatial axis a (already denormalised,
 *    padding-transformed, and rounded for nearest), in the coordinate precision.
 *  - `cf`: rounding of the compute precision (weights).
 */
function buildTaps(
  P: number,
  dims: readonly number[],
  mode: GsMode,
  pad: number,
  align: boolean,
  cf: (v: number) => number,
  coord: (p: number, a: number) => number,
): TapTable {
  const r = dims.length;
  const k = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
  let T = 1;
  for (let a = 0; a < r; a++) T *= k;
  const offs = new Int32Array(P * T);
  const wts = new Float64Array(P * r * k);
  const status = new Uint8Array(P);
  const idx = new Int32Array(r * k); // per-axis tap indices of the current position
  const strides = new Array<number>(r);
  let acc = 1;
  for (let a = r - 1; a >= 0; a--) {
    strides[a] = acc;
    acc *= dims[a]!;
  }
  const odo = new Int32Array(r);
  for (let p = 0; p < P; p++) {
    let st = STATUS_OK;
    for (let a = 0; a < r && st === STATUS_OK; a++) {
      const c = coord(p, a);
      const L = dims[a]!;
      if (c !== c) {
        st = STATUS_NAN;
        break;
      }
      if (c === Infinity || c === -Infinity) {
        st = STATUS_ZERO; // only reachable with zeros padding: the sample lies entirely outside
        break;
      }
      const lo = align ? 0 : -0.5;
      const hi = align ? L - 1 : L - 0.5;
      const wb = (p * r + a) * k;
      if (mode === 'nearest') {
        idx[a] = tapIndex(Math.trunc(c), L, pad, lo, hi);
        wts[wb] = 1;
      } else {
        const i0 = Math.floor(c);
        const t = cf(c - i0); // c - floor(c) is exact
        if (mode === 'linear') {
          idx[a * 2] = tapIndex(i0, L, pad, lo, hi);
          idx[a * 2 + 1] = tapIndex(i0 + 1, L, pad, lo, hi);
          wts[wb] = cf(1 - t);
          wts[wb + 1] = t;
        } else {
          for (let j = 0; j < 4; j++) idx[a * 4 + j] = tapIndex(i0 - 1 + j, L, pad, lo, hi);
          cubicCoeffs(t, cf, wts, wb);
        }
      }
    }
    status[p] = st;
    if (st !== STATUS_OK) continue;
    // corner offsets, row-major over (t_0, ..., t_{r-1})
    odo.fill(0);
    const ob = p * T;
    for (let q = 0; q < T; q++) {
      let off = 0;
      for (let a = 0; a < r; a++) {
        const i = idx[a * k + odo[a]!]!;
        if (i < 0) {
          off = -1;
          break;
        }
        off += i * strides[a]!;
      }
      offs[ob + q] = off;
      for (let a = r - 1; a >= 0; a--) {
        if (++odo[a]! < k) break;
        odo[a] = 0;
      }
    }
  }
  return { k, T, offs, wts, status };
}

/**
 * Evaluates one output value from the tap table: gathers the T corner values
 * (+0 for zero taps) into `s`, then reduces axis by axis from the innermost
 * outwards: each group of k consecutive values becomes
 *   acc = f(w[0]*v[0]); acc = f(acc + f(w[j]*v[j])) for j = 1..k-1.
 */
function evalTaps(tt: TapTable, r: number, p: number, x: ArrayLike<number>, base: number, s: Float64Array, f: (v: number) => number): number {
  const { k, T, offs, wts } = tt;
  const ob = p * T;
  for (let q = 0; q < T; q++) {
    const o = offs[ob + q]!;
    s[q] = o < 0 ? 0 : x[base + o]!;
  }
  let len = T;
  for (let a = r - 1; a >= 0; a--) {
    const wb = (p * r + a) * k;
    const groups = len / k;
    for (let g = 0; g < groups; g++) {
      const gb = g * k;
      let acc = f(wts[wb]! * s[gb]!);
      for (let j = 1; j < k; j++) acc = f(acc + f(wts[wb + j]! * s[gb + j]!));
      s[g] = acc;
    }
    len = groups;
  }
  return s[0]!;
}

/**
 * GridSample. X [N, C, D1..Dr], grid [N, O1..Or, r] (grid[..., 0] indexes the
 * innermost axis Dr), Y [N, C, O1..Or]. Any r >= 1 (the opset-16 form is r = 2).
 * Mode names: linear|bilinear, nearest, cubic|bicubic (accepted in every opset).
 *
 * Canonical order for one output element, axis a of length L with grid value g
 * (coordinate precision = the grid's float type, `fg`):
 *  1. denormalise: align_corners ? fg(fg(fg(g + 1) / 2) * (L - 1))
 *                                : fg(fg(fg(fg(g + 1) * L) - 1) / 2)
 *  2. nearest: c = roundHalfEven(c).
 *  3. bounds lo, hi = align_corners ? (0, L-1) : (-0.5, L-0.5); if c < lo or c > hi:
 *     border -> clamp(c, 0, L-1); reflection -> fg(reflect64(c, lo, hi)) (see `reflect`).
 *  4. taps (i0 = floor(c), t = fx(c - i0), fx = compute precision of X):
 *     nearest  i = trunc(c), weight 1;
 *     linear   i0, i0+1 with weights fx(1 - t), t;
 *     cubic    i0-1..i0+2 with Keys coefficients A = -0.75 (`cubicCoeffs`, reference order,
 *              each op rounded with fx).
 *     A tap index outside [0, L-1] reads +0 (zeros), is clamped (border) or is reflected in
 *     float64 about (lo, hi) then truncated (reflection).
 *  5. the k^r tap values are combined axis by axis from the innermost axis outwards, each
 *     group as acc = fx(w0*v0); acc = fx(acc + fx(wj*vj)) (see `evalTaps`), e.g. bilinear
 *     y = fx(fx(wy0 * row0) + fx(wy1 * row1)), rowi = fx(fx(wx0*v[i][0]) + fx(wx1*v[i][1])).
 *  A NaN coordinate gives NaN (0 for non-float X); an infinite one (zeros padding) gives +0.
 * X float32/float64 compute in their own precision; nearest is a pure gather for every
 * dtype (float16 included); integer/bool X with linear/cubic interpolate in float64 and
 * the result is converted with Cast semantics (truncation toward zero; bool: != 0).
 */
const GridSample: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const grid = need(inputs, 1, ctx, 'grid');
  const modeAttr = ctx.string('mode', ctx.opset >= 20 ? 'linear' : 'bilinear');
  let mode: GsMode;
  if (modeAttr === 'linear' || modeAttr === 'bilinear') mode = 'linear';
  else if (modeAttr === 'nearest') mode = 'nearest';
  else if (modeAttr === 'cubic' || modeAttr === 'bicubic') mode = 'cubic';
  else throw ctx.error(`invalid mode '${modeAttr}'`, { attribute: 'mode' });
  const padAttr = ctx.string('padding_mode', 'zeros');
  const pad = padAttr === 'zeros' ? PAD_ZEROS : padAttr === 'border' ? PAD_BORDER : padAttr === 'reflection' ? PAD_REFLECTION : -1;
  if (pad < 0) throw ctx.error(`invalid padding_mode '${padAttr}'`, { attribute: 'padding_mode' });
  const align = ctx.int('align_corners', 0) !== 0;

  if (x.rank < 3) throw ctx.error(`input X must have rank >= 3 ([N, C, spatial...]), got ${shapeStr(x.shape)}`);
  const r = x.rank - 2;
  if (grid.rank !== x.rank || grid.shape[0] !== x.shape[0] || grid.shape[r + 1] !== r) {
    throw ctx.error(`grid must have shape [N, out spatial..., ${r}] with N = ${x.shape[0]}, got ${shapeStr(grid.shape)} for X ${shapeStr(x.shape)}`);
  }
  const gf32 = floatKind(ctx, grid, 'grid');
  const fg = gf32 ? fr : id;
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const dims = x.shape.slice(2);
  const outSp = grid.shape.slice(1, r + 1);
  const yShape = [N, C, ...outSp];
  const P = prod(outSp);
  const S = prod(dims);

  // value path
  const xk = dtypeKind(x.dtype);
  const isFloatX = x.dtype === DType.float32 || x.dtype === DType.float64;
  if (mode !== 'nearest' && x.dtype === DType.float16) throw ctx.unsupported('float16 compute is not supported', { dtype: 'float16' });
  const y = ctx.alloc(x.dtype, yShape);
  if (y.size === 0) return [y];
  if (S === 0) throw ctx.error(`input X has an empty spatial axis ${shapeStr(x.shape)} but the output is not empty`);
  if (S >= 2147483648) throw ctx.unsupported('GridSample input planes of 2^31 or more elements are not supported');

  const cf32 = x.dtype === DType.float32; // compute precision of the interpolation
  const cf = cf32 ? fr : id;
  const g = grid.data as FloatArray;

  const coordsFor = (n: number) => {
    const gb = n * P * r;
    return (p: number, a: number): number => {
      const L = dims[a]!;
      const gv = g[gb + p * r + (r - 1 - a)]!;
      let c = align ? fg(fg(fg(gv + 1) / 2) * (L - 1)) : fg(fg(fg(fg(gv + 1) * L) - 1) / 2);
      if (mode === 'nearest') c = roundHalfEven(c);
      const lo = align ? 0 : -0.5;
      const hi = align ? L - 1 : L - 0.5;
      if (c < lo || c > hi) {
        if (pad === PAD_BORDER) c = c < 0 ? 0 : c > L - 1 ? L - 1 : c;
        else if (pad === PAD_REFLECTION) c = fg(reflect(c, lo, hi));
      }
      return c;
    };
  };

  if (mode === 'nearest') {
    // pure gather, any dtype
    const xd = x.data as unknown as ArrayLike<number | bigint> & { [i: number]: number | bigint };
    const yd = y.data as unknown as { [i: number]: number | bigint };
    const zero: number | bigint = xk === 'bigint' ? 0n : 0;
    const nan: number | bigint = isFloatX ? NaN : x.dtype === DType.float16 ? 0x7e00 : zero;
    for (let n = 0; n < N; n++) {
      const tt = buildTaps(P, dims, mode, pad, align, cf, coordsFor(n));
      for (let c = 0; c < C; c++) {
        const xb = (n * C + c) * S;
        const yb = (n * C + c) * P;
        for (let p = 0; p < P; p++) {
          const st = tt.status[p]!;
          if (st === STATUS_OK) {
            const o = tt.offs[p]!;
            yd[yb + p] = o < 0 ? zero : xd[xb + o]!;
          } else yd[yb + p] = st === STATUS_NAN ? nan : zero;
        }
      }
    }
    return [y];
  }

  // linear / cubic
  const xv: FloatArray = isFloatX ? (x.data as FloatArray) : (castTensor(x, DType.float64, ctx).data as Float64Array);
  const yv: FloatArray = isFloatX ? (y.data as FloatArray) : new Float64Array(y.size);
  const nanOut = isFloatX ? NaN : 0;
  for (let n = 0; n < N; n++) {
    const tt = buildTaps(P, dims, mode, pad, align, cf, coordsFor(n));
    const s = new Float64Array(tt.T);
    const fast2 = r === 2 && mode === 'linear';
    for (let c = 0; c < C; c++) {
      const xb = (n * C + c) * S;
      const yb = (n * C + c) * P;
      for (let p = 0; p < P; p++) {
        const st = tt.status[p]!;
        if (st !== STATUS_OK) {
          yv[yb + p] = st === STATUS_NAN ? nanOut : 0;
          continue;
        }
        if (fast2) {
          const ob = p * 4;
          const wb = p * 4;
          const o0 = tt.offs[ob]!, o1 = tt.offs[ob + 1]!, o2 = tt.offs[ob + 2]!, o3 = tt.offs[ob + 3]!;
          const v0 = o0 < 0 ? 0 : xv[xb + o0]!;
          const v1 = o1 < 0 ? 0 : xv[xb + o1]!;
          const v2 = o2 < 0 ? 0 : xv[xb + o2]!;
          const v3 = o3 < 0 ? 0 : xv[xb + o3]!;
          const wy0 = tt.wts[wb]!, wy1 = tt.wts[wb + 1]!, wx0 = tt.wts[wb + 2]!, wx1 = tt.wts[wb + 3]!;
          const r0 = cf(cf(wx0 * v0) + cf(wx1 * v1));
          const r1 = cf(cf(wx0 * v2) + cf(wx1 * v3));
          yv[yb + p] = cf(cf(wy0 * r0) + cf(wy1 * r1));
        } else {
          yv[yb + p] = evalTaps(tt, r, p, xv, xb, s, cf);
        }
      }
    }
  }
  if (isFloatX) return [y];
  return [castTensor(new Tensor(DType.float64, yShape, yv), x.dtype, ctx)];
};

// ---------------------------------------------------------------------------
// AffineGrid
// ---------------------------------------------------------------------------

/**
 * AffineGrid (opset 20). theta [N, 2, 3] with size [N, C, H, W] -> grid [N, H, W, 2];
 * theta [N, 3, 4] with size [N, C, D, H, W] -> grid [N, D, H, W, 3].
 *
 * Canonical order (float64 throughout, like the ONNX reference; rounded once to
 * float32 at the end for float32 theta). Base coordinate of index i on an axis of
 * length L:
 *   align_corners=1: i == 0 ? -1 : -1 + i * (2 / (L - 1))
 *   align_corners=0: step = 2 / L; (-1 + step / 2) + i * step
 * With (x, y[, z]) the base coordinates of (w, h[, d]):
 *   2-D: grid[n,h,w,j] = ((t[j,0]*x + t[j,1]*y) + t[j,2])
 *   3-D: grid[n,d,h,w,j] = (((t[j,0]*x + t[j,1]*y) + t[j,2]*z) + t[j,3])
 */
const AffineGrid: Kernel = (inputs, ctx) => {
  const theta = need(inputs, 0, ctx, 'theta');
  const sizeT = need(inputs, 1, ctx, 'size');
  const align = ctx.int('align_corners', 0) !== 0;
  const f32 = floatKind(ctx, theta, 'theta');
  if (sizeT.rank !== 1) throw ctx.error(`size must be a 1-D tensor, got shape ${shapeStr(sizeT.shape)}`);
  const size = intsOf(sizeT, ctx, 'size', false);
  if (size.length !== 4 && size.length !== 5) throw ctx.error(`size must have 4 (2-D) or 5 (3-D) entries, got ${size.length}`);
  for (const v of size) if (!Number.isSafeInteger(v) || v < 0) throw ctx.error(`size has invalid entry ${v}`);
  const is3 = size.length === 5;
  const nd = is3 ? 3 : 2;
  const N = size[0]!;
  if (theta.rank !== 3 || theta.shape[0] !== N || theta.shape[1] !== nd || theta.shape[2] !== nd + 1) {
    throw ctx.error(`theta must have shape [${N}, ${nd}, ${nd + 1}] for size ${shapeStr(size)}, got ${shapeStr(theta.shape)}`);
  }
  const sp = size.slice(2); // [H, W] or [D, H, W]
  const out = ctx.alloc(theta.dtype, [N, ...sp, nd]);
  if (out.size === 0) return [out];
  const base = (L: number): Float64Array => {
    const b = new Float64Array(L);
    if (align) {
      const step = 2 / (L - 1);
      for (let i = 0; i < L; i++) b[i] = i === 0 ? -1 : -1 + i * step;
    } else {
      const step = 2 / L;
      const start = -1 + step / 2;
      for (let i = 0; i < L; i++) b[i] = start + i * step;
    }
    return b;
  };
  const t = theta.data as FloatArray;
  const o = out.data as FloatArray;
  const f = f32 ? fr : id;
  const D = is3 ? sp[0]! : 1;
  const H = sp[is3 ? 1 : 0]!;
  const W = sp[is3 ? 2 : 1]!;
  const bz = base(D);
  const by = base(H);
  const bx = base(W);
  const tn = nd * (nd + 1);
  let q = 0;
  for (let n = 0; n < N; n++) {
    const tb = n * tn;
    for (let d = 0; d < D; d++) {
      const z = bz[d]!;
      for (let h = 0; h < H; h++) {
        const yv = by[h]!;
        for (let w = 0; w < W; w++) {
          const xv = bx[w]!;
          for (let j = 0; j < nd; j++) {
            const r = tb + j * (nd + 1);
            let acc = t[r]! * xv + t[r + 1]! * yv;
            if (is3) acc = acc + t[r + 2]! * z + t[r + 3]!;
            else acc = acc + t[r + 2]!;
            o[q++] = f(acc);
          }
        }
      }
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// NonMaxSuppression
// ---------------------------------------------------------------------------

/**
 * NonMaxSuppression (opsets 10, 11). boxes [B, S, 4], scores [B, C, S],
 * optional scalars max_output_boxes_per_class (int64, default 0, negative -> 0),
 * iou_threshold (default 0, must lie in [0, 1]) and score_threshold (default: none).
 * Output int64 [K, 3] rows (batch, class, box).
 *
 * Order: batches ascending, then classes ascending; inside a class the candidates
 * (score > score_threshold strictly, when given) are visited by score descending,
 * ties (and -0 vs +0) by lower box index first, NaN scores after every number.
 * A candidate is selected unless its IoU with an already selected box of the same
 * class is > iou_threshold; at most max_output_boxes_per_class per class.
 *
 * IoU in float32 (float64 for float64 boxes), reference order, f = rounding:
 *   corners: center_point_box=0: x_min/x_max = min/max(b[1], b[3]), y from b[0], b[2];
 *            center_point_box=1: hw = f(b[2]/2), hh = f(b[3]/2),
 *              x_min = f(b[0]-hw), x_max = f(b[0]+hw), y_min = f(b[1]-hh), y_max = f(b[1]+hh)
 *   ix_min = max(x1_min, x2_min), ix_max = min(x1_max, x2_max) (likewise y);
 *   not suppressed if ix_max <= ix_min or iy_max <= iy_min;
 *   inter = f(f(ix_max-ix_min) * f(iy_max-iy_min)); area_i = f(f(x_max-x_min) * f(y_max-y_min));
 *   union = f(f(area1 + area2) - inter); not suppressed if inter <= 0, area1 <= 0,
 *   area2 <= 0 or union <= 0; else suppressed iff f(inter / union) > iou_threshold.
 *   (max(a, b) = b > a ? b : a, min(a, b) = b < a ? b : a: a NaN box never suppresses.)
 */
const NonMaxSuppression: Kernel = (inputs, ctx) => {
  const boxesT = need(inputs, 0, ctx, 'boxes');
  const scoresT = need(inputs, 1, ctx, 'scores');
  const cpb = ctx.int('center_point_box', 0);
  if (cpb !== 0 && cpb !== 1) throw ctx.error(`center_point_box must be 0 or 1, got ${cpb}`, { attribute: 'center_point_box' });
  const f32 = floatKind(ctx, boxesT, 'boxes');
  floatKind(ctx, scoresT, 'scores');
  if (boxesT.rank !== 3 || boxesT.shape[2] !== 4) throw ctx.error(`boxes must have shape [num_batches, spatial_dimension, 4], got ${shapeStr(boxesT.shape)}`);
  if (scoresT.rank !== 3) throw ctx.error(`scores must have shape [num_batches, num_classes, spatial_dimension], got ${shapeStr(scoresT.shape)}`);
  const B = boxesT.shape[0]!;
  const S = boxesT.shape[1]!;
  const C = scoresT.shape[1]!;
  if (scoresT.shape[0] !== B || scoresT.shape[2] !== S) {
    throw ctx.error(`scores shape ${shapeStr(scoresT.shape)} does not match boxes shape ${shapeStr(boxesT.shape)}`);
  }
  let maxOut = 0;
  const mT = inputs[2];
  if (mT && mT.size > 0) {
    const v = intsOf(mT, ctx, 'max_output_boxes_per_class', false);
    if (v.length !== 1) throw ctx.error(`max_output_boxes_per_class must be a scalar, got shape ${shapeStr(mT.shape)}`);
    maxOut = Math.max(v[0]!, 0);
  }
  let iouThr = 0;
  const iT = inputs[3];
  if (iT) {
    const v = floatScalar(ctx, iT, 'iou_threshold');
    if (v !== undefined) iouThr = v;
  }
  if (!(iouThr >= 0 && iouThr <= 1)) throw ctx.error(`iou_threshold must be in [0, 1], got ${iouThr}`);
  let scoreThr: number | undefined;
  const sT = inputs[4];
  if (sT) scoreThr = floatScalar(ctx, sT, 'score_threshold');

  const f = f32 ? fr : id;
  const bd = boxesT.data as FloatArray;
  const sd = scoresT.data as FloatArray;
  // per batch: corner coordinates and areas of every box
  const xmin = new Float64Array(S);
  const xmax = new Float64Array(S);
  const ymin = new Float64Array(S);
  const ymax = new Float64Array(S);
  const area = new Float64Array(S);
  const sel: number[] = [];
  const cand = new Int32Array(S);
  const chosen = new Int32Array(Math.min(S, maxOut));
  for (let b = 0; b < B; b++) {
    if (maxOut === 0) break;
    for (let i = 0; i < S; i++) {
      const o = (b * S + i) * 4;
      const b0 = bd[o]!, b1 = bd[o + 1]!, b2 = bd[o + 2]!, b3 = bd[o + 3]!;
      if (cpb === 0) {
        // max_min(lhs, rhs): lhs >= rhs ? (rhs, lhs) : (lhs, rhs)
        if (b1 >= b3) (xmin[i] = b3), (xmax[i] = b1);
        else (xmin[i] = b1), (xmax[i] = b3);
        if (b0 >= b2) (ymin[i] = b2), (ymax[i] = b0);
        else (ymin[i] = b0), (ymax[i] = b2);
      } else {
        const hw = f(b2 / 2);
        const hh = f(b3 / 2);
        xmin[i] = f(b0 - hw);
        xmax[i] = f(b0 + hw);
        ymin[i] = f(b1 - hh);
        ymax[i] = f(b1 + hh);
      }
      area[i] = f(f(xmax[i]! - xmin[i]!) * f(ymax[i]! - ymin[i]!));
    }
    for (let c = 0; c < C; c++) {
      const sb = (b * C + c) * S;
      let nc = 0;
      for (let i = 0; i < S; i++) {
        if (scoreThr === undefined || sd[sb + i]! > scoreThr) cand[nc++] = i;
      }
      const list = cand.subarray(0, nc);
      list.sort((i, j) => {
        const si = sd[sb + i]!;
        const sj = sd[sb + j]!;
        if (si > sj) return -1;
        if (si < sj) return 1;
        const ni = si !== si;
        const nj = sj !== sj;
        if (ni !== nj) return ni ? 1 : -1;
        return i - j;
      });
      let nsel = 0;
      for (let q = 0; q < nc && nsel < maxOut; q++) {
        const i = list[q]!;
        let keep = true;
        for (let u = 0; u < nsel; u++) {
          const j = chosen[u]!;
          // intersection
          const ixmin = xmin[j]! > xmin[i]! ? xmin[j]! : xmin[i]!;
          const ixmax = xmax[j]! < xmax[i]! ? xmax[j]! : xmax[i]!;
          if (ixmax <= ixmin) continue;
          const iymin = ymin[j]! > ymin[i]! ? ymin[j]! : ymin[i]!;
          const iymax = ymax[j]! < ymax[i]! ? ymax[j]! : ymax[i]!;
          if (iymax <= iymin) continue;
          const inter = f(f(ixmax - ixmin) * f(iymax - iymin));
          if (inter <= 0) continue;
          const a1 = area[i]!;
          const a2 = area[j]!;
          const uni = f(f(a1 + a2) - inter);
          if (a1 <= 0 || a2 <= 0 || uni <= 0) continue;
          if (f(inter / uni) > iouThr) {
            keep = false;
            break;
          }
        }
        if (keep) {
          chosen[nsel++] = i;
          sel.push(b, c, i);
        }
      }
    }
  }
  const K = sel.length / 3;
  const out = ctx.alloc(DType.int64, [K, 3]);
  const od = out.data as BigInt64Array;
  for (let i = 0; i < sel.length; i++) od[i] = BigInt(sel[i]!);
  return [out];
};

// ---------------------------------------------------------------------------
// RoiAlign
// ---------------------------------------------------------------------------

const MAX_SAMPLES_PER_ROI = 67108864;

/**
 * RoiAlign (opsets 10, 16, 22). X [N, C, H, W], rois [R, 4] (x1, y1, x2, y2),
 * batch_indices [R] -> Y [R, C, output_height, output_width].
 * Opset 10 has no coordinate_transformation_mode (it behaves as output_half_pixel);
 * from opset 16 the default is half_pixel.
 *
 * Canonical order (float32 with f = fround; float64 X computes the same in doubles),
 * spatial_scale as given, off = half_pixel ? 0.5 : 0:
 *   sw = f(f(x1*scale) - off), sh = f(f(y1*scale) - off), ew = f(f(x2*scale) - off),
 *   eh = f(f(y2*scale) - off); rw = f(ew - sw), rh = f(eh - sh);
 *   output_half_pixel: rw = max(rw, 1), rh = max(rh, 1) (NaN kept);
 *   bh = f(rh / OH), bw = f(rw / OW); gh = sampling_ratio > 0 ? sampling_ratio : ceil(bh)
 *   (likewise gw; NaN or negative -> 0 samples); count = max(gh*gw, 1).
 *   sample (iy, ix) of bin (ph, pw): y = f(f(sh + f(ph*bh)) + f(f((iy + 0.5)*bh) / gh)),
 *   x likewise. A sample with y < -1, y > H, x < -1, x > W or NaN is out of range and has
 *   the value +0. Else y = max(y, 0); y_low = trunc(y); if y_low >= H-1: y_low = y_high = H-1,
 *   y = y_low, else y_high = y_low + 1 (likewise x); ly = f(y - y_low), lx = f(x - x_low),
 *   hy = f(1 - ly), hx = f(1 - lx); w1 = f(hy*hx), w2 = f(hy*lx), w3 = f(ly*hx), w4 = f(ly*lx);
 *   terms t1..t4 = f(w1*X[y_low,x_low]), f(w2*X[y_low,x_high]), f(w3*X[y_high,x_low]),
 *   f(w4*X[y_high,x_high]).
 *   avg: v = f(f(f(t1 + t2) + t3) + t4); acc = +0; acc = f(acc + v) per sample in (iy, ix)
 *        row-major order (out-of-range samples add nothing); Y = f(acc / count).
 *   max: v = max(t1, t2, t3, t4) (m = t1; m = t_k > m ? t_k : m); Y = first sample's v, then
 *        Y = v > Y ? v : Y per sample (out-of-range samples take part with v = +0); no
 *        samples -> 0.
 */
const RoiAlign: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const rois = need(inputs, 1, ctx, 'rois');
  const bi = need(inputs, 2, ctx, 'batch_indices');
  const f32 = floatKind(ctx, x, 'X');
  floatKind(ctx, rois, 'rois');
  const ctm = ctx.string('coordinate_transformation_mode', ctx.opset >= 16 ? 'half_pixel' : 'output_half_pixel');
  if (ctm !== 'half_pixel' && ctm !== 'output_half_pixel') {
    throw ctx.error(`invalid coordinate_transformation_mode '${ctm}'`, { attribute: 'coordinate_transformation_mode' });
  }
  const half = ctm === 'half_pixel';
  const mode = ctx.string('mode', 'avg');
  if (mode !== 'avg' && mode !== 'max') throw ctx.error(`invalid mode '${mode}'`, { attribute: 'mode' });
  const OH = ctx.int('output_height', 1);
  const OW = ctx.int('output_width', 1);
  if (!Number.isSafeInteger(OH) || OH < 1 || !Number.isSafeInteger(OW) || OW < 1) {
    throw ctx.error(`output_height and output_width must be >= 1, got ${OH}, ${OW}`);
  }
  const sr = ctx.int('sampling_ratio', 0);
  if (!Number.isSafeInteger(sr) || sr < 0) throw ctx.error(`sampling_ratio must be >= 0, got ${sr}`, { attribute: 'sampling_ratio' });
  const f = f32 ? fr : id;
  const scale = f(ctx.float('spatial_scale', 1));

  if (x.rank !== 4) throw ctx.error(`X must have shape [N, C, H, W], got ${shapeStr(x.shape)}`);
  if (rois.rank !== 2 || rois.shape[1] !== 4) throw ctx.error(`rois must have shape [num_rois, 4], got ${shapeStr(rois.shape)}`);
  const R = rois.shape[0]!;
  if (bi.rank !== 1 || bi.shape[0] !== R) throw ctx.error(`batch_indices must have shape [${R}], got ${shapeStr(bi.shape)}`);
  const bidx = intsOf(bi, ctx, 'batch_indices', false);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  for (let i = 0; i < R; i++) {
    const v = bidx[i]!;
    if (!(v >= 0 && v < N)) throw ctx.error(`batch_indices[${i}] = ${v} is out of range [0, ${N})`, { index: i });
  }
  const y = ctx.alloc(x.dtype, [R, C, OH, OW]);
  if (y.size === 0) return [y];
  if (H === 0 || W === 0) throw ctx.error(`X has an empty spatial axis ${shapeStr(x.shape)}`);

  const xd = x.data as FloatArray;
  const rd = rois.data as FloatArray;
  const yd = y.data as FloatArray;
  const off = half ? 0.5 : 0;
  const isMax = mode === 'max';
  const plane = H * W;
  const bins = OH * OW;

  for (let n = 0; n < R; n++) {
    const rb = n * 4;
    const sw = f(f(rd[rb]! * scale) - off);
    const sh = f(f(rd[rb + 1]! * scale) - off);
    const ew = f(f(rd[rb + 2]! * scale) - off);
    const eh = f(f(rd[rb + 3]! * scale) - off);
    let rw = f(ew - sw);
    let rh = f(eh - sh);
    if (!half) {
      rw = 1 > rw ? 1 : rw;
      rh = 1 > rh ? 1 : rh;
    }
    const bh = f(rh / OH);
    const bw = f(rw / OW);
    const gh = sr > 0 ? sr : bh > 0 ? Math.ceil(bh) : 0; // NaN / <= 0 -> 0
    const gw = sr > 0 ? sr : bw > 0 ? Math.ceil(bw) : 0;
    const count = Math.max(gh * gw, 1);
    const ns = gh * gw;
    if (bins * ns > MAX_SAMPLES_PER_ROI) {
      throw ctx.unsupported(`RoiAlign roi ${n} needs ${bins * ns} samples (more than ${MAX_SAMPLES_PER_ROI})`, { roi: n });
    }
    // precompute positions and weights: per (bin, sample); pos1 < 0 marks out of range
    const tot = bins * ns;
    const pos = new Int32Array(tot * 4);
    const wts = new Float64Array(tot * 4);
    let q = 0;
    for (let ph = 0; ph < OH; ph++) {
      for (let pw = 0; pw < OW; pw++) {
        for (let iy = 0; iy < gh; iy++) {
          const yy = f(f(sh + f(ph * bh)) + f(f((iy + 0.5) * bh) / gh));
          for (let ix = 0; ix < gw; ix++, q++) {
            const xx = f(f(sw + f(pw * bw)) + f(f((ix + 0.5) * bw) / gw));
            let yv = yy;
            let xv = xx;
            if (!(yv >= -1 && yv <= H && xv >= -1 && xv <= W)) {
              pos[q * 4] = -1;
              continue;
            }
            if (yv < 0) yv = 0;
            if (xv < 0) xv = 0;
            let yl = Math.trunc(yv);
            let xl = Math.trunc(xv);
            let yh: number;
            let xh: number;
            if (yl >= H - 1) {
              yh = yl = H - 1;
              yv = yl;
            } else yh = yl + 1;
            if (xl >= W - 1) {
              xh = xl = W - 1;
              xv = xl;
            } else xh = xl + 1;
            const ly = f(yv - yl);
            const lx = f(xv - xl);
            const hy = f(1 - ly);
            const hx = f(1 - lx);
            pos[q * 4] = yl * W + xl;
            pos[q * 4 + 1] = yl * W + xh;
            pos[q * 4 + 2] = yh * W + xl;
            pos[q * 4 + 3] = yh * W + xh;
            wts[q * 4] = f(hy * hx);
            wts[q * 4 + 1] = f(hy * lx);
            wts[q * 4 + 2] = f(ly * hx);
            wts[q * 4 + 3] = f(ly * lx);
          }
        }
      }
    }
    const xb0 = bidx[n]! * C * plane;
    for (let c = 0; c < C; c++) {
      const xb = xb0 + c * plane;
      const yb = (n * C + c) * bins;
      let s = 0;
      for (let bin = 0; bin < bins; bin++) {
        let acc = 0;
        let first = true;
        for (let k = 0; k < ns; k++, s++) {
          const p1 = pos[s * 4]!;
          let v: number;
          if (p1 < 0) {
            if (!isMax) continue;
            v = 0;
          } else {
            const t1 = f(wts[s * 4]! * xd[xb + p1]!);
            const t2 = f(wts[s * 4 + 1]! * xd[xb + pos[s * 4 + 1]!]!);
            const t3 = f(wts[s * 4 + 2]! * xd[xb + pos[s * 4 + 2]!]!);
            const t4 = f(wts[s * 4 + 3]! * xd[xb + pos[s * 4 + 3]!]!);
            if (isMax) {
              v = t1;
              if (t2 > v) v = t2;
              if (t3 > v) v = t3;
              if (t4 > v) v = t4;
            } else {
              acc = f(acc + f(f(f(t1 + t2) + t3) + t4));
              continue;
            }
          }
          if (first) {
            acc = v;
            first = false;
          } else if (v > acc) acc = v;
        }
        yd[yb + bin] = isMax ? acc : f(acc / count);
      }
    }
  }
  return [y];
};

// ---------------------------------------------------------------------------
// DeformConv
// ---------------------------------------------------------------------------

const MAX_COL_ELEMENTS = 268435456;

/**
 * DeformConv (opsets 19, 22), any number r >= 1 of spatial axes.
 * X [N, C, D1..Dr], W [oC, C/group, k1..kr], offset [N, og*K*r, o1..or]
 * (K = prod(k); channel (g*K + kpos)*r + a holds the offset along spatial axis a),
 * optional B [oC], optional mask [N, og*K, o1..or]. Output extent per axis:
 * floor((D + pb + pe - ((k-1)*d + 1)) / s) + 1, which offset/mask must match.
 *
 * Canonical order (f = fround for float32, identity for float64):
 *  1. sampling coordinate on axis a for output o, kernel index j:
 *     c = f((o*s - pb + j*d) + offset) (the integer part is exact).
 *  2. bilinear sample of channel ic at c, exactly GridSample linear with zeros padding
 *     in pixel space: per axis i0 = floor(c), t = c - i0, weights f(1 - t), t, taps
 *     outside [0, D-1] read +0, combined innermost axis first (`evalTaps`). A NaN
 *     coordinate gives NaN, an infinite one +0.
 *  3. col = mask ? f(mask * sample) : sample.
 *  4. Y[n, oc, o] : acc = +0; for ic in oc's group ascending, kernel positions row-major:
 *     acc = f(acc + f(W[oc, ic, kpos] * col)); then acc = f(acc + B[oc]) when B is given.
 */
const DeformConv: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const w = need(inputs, 1, ctx, 'W');
  const offT = need(inputs, 2, ctx, 'offset');
  const bT = inputs[3];
  const mT = inputs[4];
  const f32 = floatKind(ctx, x, 'X');
  for (const [t, nm] of [[w, 'W'], [offT, 'offset'], [bT, 'B'], [mT, 'mask']] as const) {
    if (t && t.dtype !== x.dtype) throw ctx.error(`${nm} must have the same type as X (${dtypeName(x.dtype)}), got ${dtypeName(t.dtype)}`);
  }
  if (x.rank < 3) throw ctx.error(`X must have rank >= 3 ([N, C, spatial...]), got ${shapeStr(x.shape)}`);
  const r = x.rank - 2;
  if (w.rank !== x.rank) throw ctx.error(`W must have rank ${x.rank}, got ${shapeStr(w.shape)}`);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const OC = w.shape[0]!;
  const group = ctx.int('group', 1);
  const og = ctx.int('offset_group', 1);
  if (!Number.isSafeInteger(group) || group < 1) throw ctx.error(`group must be >= 1, got ${group}`, { attribute: 'group' });
  if (!Number.isSafeInteger(og) || og < 1) throw ctx.error(`offset_group must be >= 1, got ${og}`, { attribute: 'offset_group' });
  if (w.shape[1]! * group !== C || OC % group !== 0) {
    throw ctx.error(`W shape ${shapeStr(w.shape)} is inconsistent with X shape ${shapeStr(x.shape)} and group ${group}`);
  }
  if (C % og !== 0) throw ctx.error(`input channels ${C} are not divisible by offset_group ${og}`);
  const ks = w.shape.slice(2);
  const ksAttr = ctx.ints('kernel_shape');
  if (ksAttr !== undefined && (ksAttr.length !== r || ksAttr.some((v, i) => v !== ks[i]))) {
    throw ctx.error(`kernel_shape ${shapeStr(ksAttr)} does not match W's kernel ${shapeStr(ks)}`, { attribute: 'kernel_shape' });
  }
  const strides = readPerAxis(ctx, 'strides', r, 1, 1);
  const dil = readPerAxis(ctx, 'dilations', r, 1, 1);
  const { begin: pb, end: pe } = readPads(ctx, r);
  const dims = x.shape.slice(2);
  const outSp = new Array<number>(r);
  for (let a = 0; a < r; a++) {
    const span = dims[a]! + pb[a]! + pe[a]! - ((ks[a]! - 1) * dil[a]! + 1);
    if (span < 0) throw ctx.error(`kernel extent on spatial axis ${a} is larger than the padded input`, { axis: a });
    outSp[a] = Math.floor(span / strides[a]!) + 1;
  }
  const K = prod(ks);
  if (offT.rank !== x.rank || offT.shape[0] !== N || offT.shape[1] !== og * K * r || offT.shape.slice(2).some((v, i) => v !== outSp[i])) {
    throw ctx.error(`offset must have shape ${shapeStr([N, og * K * r, ...outSp])}, got ${shapeStr(offT.shape)}`);
  }
  if (mT && (mT.rank !== x.rank || mT.shape[0] !== N || mT.shape[1] !== og * K || mT.shape.slice(2).some((v, i) => v !== outSp[i]))) {
    throw ctx.error(`mask must have shape ${shapeStr([N, og * K, ...outSp])}, got ${shapeStr(mT.shape)}`);
  }
  if (bT && (bT.rank !== 1 || bT.shape[0] !== OC)) throw ctx.error(`B must have shape [${OC}], got ${shapeStr(bT.shape)}`);

  const y = ctx.alloc(x.dtype, [N, OC, ...outSp]);
  if (y.size === 0) return [y];
  const P = prod(outSp);
  const S = prod(dims);
  if (S >= 2147483648) throw ctx.unsupported('DeformConv input planes of 2^31 or more elements are not supported');
  const cpg = C / group; // input channels per group
  const ocpg = OC / group;
  const cpog = C / og; // input channels per offset group
  if (cpg * K * P > MAX_COL_ELEMENTS) throw ctx.unsupported(`DeformConv column buffer of ${cpg * K * P} elements is too large`);
  const f = f32 ? fr : id;
  const xd = x.data as FloatArray;
  const wd = w.data as FloatArray;
  const od = offT.data as FloatArray;
  const md = mT ? (mT.data as FloatArray) : undefined;
  const bd = bT ? (bT.data as FloatArray) : undefined;
  const yd = y.data as FloatArray;
  const col: FloatArray = f32 ? new Float32Array(cpg * K * P) : new Float64Array(cpg * K * P);

  // kernel index odometer per kpos, output index per p
  const kIdx = new Int32Array(K * r);
  for (let kp = 0; kp < K; kp++) {
    let rem = kp;
    for (let a = r - 1; a >= 0; a--) {
      kIdx[kp * r + a] = rem % ks[a]!;
      rem = Math.floor(rem / ks[a]!);
    }
  }
  const oIdx = new Int32Array(P * r);
  for (let p = 0; p < P; p++) {
    let rem = p;
    for (let a = r - 1; a >= 0; a--) {
      oIdx[p * r + a] = rem % outSp[a]!;
      rem = Math.floor(rem / outSp[a]!);
    }
  }
  let T = 1;
  for (let a = 0; a < r; a++) T *= 2;
  const s = new Float64Array(T);

  for (let n = 0; n < N; n++) {
    // tap tables per (offset group, kernel position), built lazily per group of channels
    const tables = new Map<number, TapTable>();
    const tableFor = (g: number, kp: number): TapTable => {
      const key = g * K + kp;
      let tt = tables.get(key);
      if (!tt) {
        const obase = (n * og * K * r + key * r) * P;
        tt = buildTaps(P, dims, 'linear', PAD_ZEROS, true, f, (p, a) => {
          const base = oIdx[p * r + a]! * strides[a]! - pb[a]! + kIdx[kp * r + a]! * dil[a]!;
          return f(base + od[obase + a * P + p]!);
        });
        tables.set(key, tt);
      }
      return tt;
    };
    for (let gi = 0; gi < group; gi++) {
      // columns for the group's input channels
      for (let icl = 0; icl < cpg; icl++) {
        const ic = gi * cpg + icl;
        const g = Math.floor(ic / cpog);
        const xb = (n * C + ic) * S;
        for (let kp = 0; kp < K; kp++) {
          const tt = tableFor(g, kp);
          const cb = (icl * K + kp) * P;
          const mb = (n * og * K + g * K + kp) * P;
          for (let p = 0; p < P; p++) {
            const st = tt.status[p]!;
            let v = st === STATUS_OK ? evalTaps(tt, r, p, xd, xb, s, f) : st === STATUS_NAN ? NaN : 0;
            if (md) v = f(md[mb + p]! * v);
            col[cb + p] = v;
          }
        }
      }
      // accumulate
      for (let ocl = 0; ocl < ocpg; ocl++) {
        const oc = gi * ocpg + ocl;
        const yb = (n * OC + oc) * P;
        const wb = oc * cpg * K;
        if (f32) {
          const yo = yd as Float32Array;
          const cc = col as Float32Array;
          for (let q = 0; q < cpg * K; q++) {
            const wv = wd[wb + q]!;
            const cb = q * P;
            for (let p = 0; p < P; p++) yo[yb + p] += fr(wv * cc[cb + p]!);
          }
        } else {
          for (let q = 0; q < cpg * K; q++) {
            const wv = wd[wb + q]!;
            const cb = q * P;
            for (let p = 0; p < P; p++) yd[yb + p] += wv * col[cb + p]!;
          }
        }
        if (bd) {
          const bv = bd[oc]!;
          for (let p = 0; p < P; p++) yd[yb + p] += bv;
        }
      }
    }
  }
  return [y];
};

// ---------------------------------------------------------------------------
// MaxRoiPool
// ---------------------------------------------------------------------------

/** Round half away from zero (C std::round), exact for any double. */
function roundHalfAway(v: number): number {
  const t = Math.trunc(v);
  const d = v - t; // exact
  if (d >= 0.5) return t + 1;
  if (d <= -0.5) return t - 1;
  return t;
}

/**
 * MaxRoiPool (opsets 1, 22). X [N, C, H, W], rois [R, 5] (batch, x1, y1, x2, y2)
 * -> Y [R, C, PH, PW] (pooled_shape = [PH, PW]). Caffe / onnxruntime semantics,
 * f = fround for float32, identity for float64:
 *   batch = trunc(rois[0]) (must be in [0, N));
 *   sw = round(f(x1*scale)), sh = round(f(y1*scale)), ew = round(f(x2*scale)),
 *   eh = round(f(y2*scale)) with round half away from zero (rois must be finite);
 *   rh = max(eh - sh + 1, 1), rw = max(ew - sw + 1, 1); bh = f(rh / PH), bw = f(rw / PW);
 *   bin (ph, pw): hstart = clamp(floor(f(ph*bh)) + sh, 0, H), hend = clamp(ceil(f((ph+1)*bh)) + sh, 0, H)
 *   (likewise w); empty bin -> 0; else the max over the bin in row-major order with
 *   MaxPool's rule: the first element, replaced by a strictly greater one, a NaN
 *   replaced by the next element (NaN only if all are NaN).
 */
const MaxRoiPool: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const rois = need(inputs, 1, ctx, 'rois');
  const f32 = floatKind(ctx, x, 'X');
  floatKind(ctx, rois, 'rois');
  const ps = ctx.ints('pooled_shape');
  if (!ps) throw ctx.error('missing required attribute pooled_shape', { attribute: 'pooled_shape' });
  if (ps.length !== 2 || !ps.every((v) => Number.isSafeInteger(v) && v >= 1)) {
    throw ctx.error(`pooled_shape must be two positive ints, got ${shapeStr(ps)}`, { attribute: 'pooled_shape' });
  }
  const [PH, PW] = ps as [number, number];
  const f = f32 ? fr : id;
  const scale = f(ctx.float('spatial_scale', 1));
  if (x.rank !== 4) throw ctx.error(`X must have shape [N, C, H, W], got ${shapeStr(x.shape)}`);
  if (rois.rank !== 2 || rois.shape[1] !== 5) throw ctx.error(`rois must have shape [num_rois, 5], got ${shapeStr(rois.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const R = rois.shape[0]!;
  const y = ctx.alloc(x.dtype, [R, C, PH, PW]);
  const rd = rois.data as FloatArray;
  const xd = x.data as FloatArray;
  const yd = y.data as FloatArray;
  const hs = new Int32Array(PH);
  const he = new Int32Array(PH);
  const ws = new Int32Array(PW);
  const we = new Int32Array(PW);
  const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  for (let n = 0; n < R; n++) {
    const rb = n * 5;
    for (let j = 0; j < 5; j++) {
      if (!Number.isFinite(rd[rb + j]!)) throw ctx.error(`rois[${n}] has a non-finite value`, { roi: n });
    }
    const b = Math.trunc(rd[rb]!);
    if (b < 0 || b >= N) throw ctx.error(`rois[${n}] batch index ${b} is out of range [0, ${N})`, { roi: n });
    const sw = roundHalfAway(f(rd[rb + 1]! * scale));
    const sh = roundHalfAway(f(rd[rb + 2]! * scale));
    const ew = roundHalfAway(f(rd[rb + 3]! * scale));
    const eh = roundHalfAway(f(rd[rb + 4]! * scale));
    const rh = Math.max(eh - sh + 1, 1);
    const rw = Math.max(ew - sw + 1, 1);
    const bh = f(f(rh) / PH);
    const bw = f(f(rw) / PW);
    for (let ph = 0; ph < PH; ph++) {
      hs[ph] = clamp(Math.floor(f(ph * bh)) + sh, H);
      he[ph] = clamp(Math.ceil(f((ph + 1) * bh)) + sh, H);
    }
    for (let pw = 0; pw < PW; pw++) {
      ws[pw] = clamp(Math.floor(f(pw * bw)) + sw, W);
      we[pw] = clamp(Math.ceil(f((pw + 1) * bw)) + sw, W);
    }
    for (let c = 0; c < C; c++) {
      const xb = (b * C + c) * H * W;
      const yb = (n * C + c) * PH * PW;
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          let best = 0;
          let any = false;
          for (let h = hs[ph]!; h < he[ph]!; h++) {
            const rowb = xb + h * W;
            for (let w = ws[pw]!; w < we[pw]!; w++) {
              const v = xd[rowb + w]!;
              if (!any || v > best || best !== best) {
                best = v;
                any = true;
              }
            }
          }
          yd[yb + ph * PW + pw] = best;
        }
      }
    }
  }
  return [y];
};

// Re-exported for tests.
export const _internal = { reflect, cubicCoeffs, roundHalfAway };

export const ops: KernelTable = {
  GridSample,
  AffineGrid,
  NonMaxSuppression,
  RoiAlign,
  DeformConv,
  MaxRoiPool,
};
