// Normalization ops: BatchNormalization, LayerNormalization, InstanceNormalization,
// GroupNormalization, RMSNormalization, LpNormalization, MeanVarianceNormalization, LRN.
//
// Shared canonical "standardize" sequence (float32; every step rounded to float32,
// R = Math.fround; float64 uses the same steps in doubles, R = identity). For one
// group of n elements x_0..x_{n-1} in increasing flat index order:
//   S1 = 0; S1 = R(S1 + x_i);          mean = R(S1 / n)
//   d_i = R(x_i - mean)
//   S2 = 0; S2 = R(S2 + R(d_i * d_i)); var  = R(S2 / n)      (two-pass, population variance)
//   inv = R(1 / R(sqrt(R(var + eps))))
//   y_i = R(R(R(d_i * inv) * scale_i) + bias_i)
// epsilon attributes are float32 values. Op-specific differences are stated per kernel.
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import type { Tensor } from '../../tensor/tensor.js';
import { broadcastStrides } from '../broadcast.js';
import { DType, dtypeName } from '../../tensor/dtype.js';
import { pow64, powf } from '../math/index.js';
import { axisOf, needNamed, prod } from './util.js';
import { layerNormRowsF32Wasm } from '../wasm/math.js';

type Round = (v: number) => number;
type FArr = Float32Array | Float64Array;

const R32: Round = Math.fround;
const R64: Round = (v) => v;

/** The rounding of a float compute dtype; float16 and non-floats are refused. */
function floatRound(t: Tensor, ctx: KernelContext, what: string): Round {
  if (t.dtype === DType.float32) return R32;
  if (t.dtype === DType.float64) return R64;
  if (t.dtype === DType.float16) throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported (compute in float32)`);
  throw ctx.error(`${what} must be a float tensor, got ${dtypeName(t.dtype)}`);
}

/** Parameter values as numbers rounded to the compute type. */
function params(t: Tensor, R: Round, ctx: KernelContext, what: string): Float64Array {
  if (t.dtype !== DType.float32 && t.dtype !== DType.float64) {
    if (t.dtype === DType.float16) throw ctx.unsupported(`${what} of type float16 is not supported`);
    throw ctx.error(`${what} must be a float tensor, got ${dtypeName(t.dtype)}`);
  }
  const out = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) out[i] = R(t.data[i] as number);
  return out;
}

function needSize(t: Tensor, n: number, ctx: KernelContext, what: string): void {
  if (t.size !== n) throw ctx.error(`${what} must have ${n} elements, got shape [${t.shape.join(',')}]`, { shape: [...t.shape], expected: n });
}

/**
 * Index map from a position in the normalized block (shape `normShape`, row-major)
 * to the element of a parameter tensor broadcast to it (numpy rules, right-aligned;
 * leading size-1 dims beyond the block's rank are ignored). null means identity.
 */
function paramMap(t: Tensor, normShape: readonly number[], ctx: KernelContext, what: string): Int32Array | null {
  let shape = [...t.shape];
  while (shape.length > normShape.length && shape[0] === 1) shape = shape.slice(1);
  const off = normShape.length - shape.length;
  let same = off === 0;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    const nd = off + i >= 0 ? normShape[off + i] : undefined;
    if (nd === undefined || (d !== nd && d !== 1)) {
      throw ctx.error(`${what} of shape [${t.shape.join(',')}] does not broadcast to the normalized shape [${normShape.join(',')}]`);
    }
    if (d !== nd) same = false;
  }
  if (same) return null;
  const n = prod(normShape);
  const strides = broadcastStrides(shape, normShape);
  const map = new Int32Array(n);
  const r = normShape.length;
  const cnt = new Array<number>(r).fill(0);
  let idx = 0;
  for (let j = 0; j < n; j++) {
    map[j] = idx;
    for (let d = r - 1; d >= 0; d--) {
      cnt[d]!++;
      idx += strides[d]!;
      if (cnt[d]! < normShape[d]!) break;
      idx -= strides[d]! * normShape[d]!;
      cnt[d] = 0;
    }
  }
  return map;
}

/**
 * The shared standardize kernel over `rows` contiguous groups of `n` elements.
 * Statistics use rounding RU (the stash type), the result of d_i * inv is cast to
 * the output type (RT) and the affine step R(R(v * scale) + bias) uses RT. The
 * parameter index of element j of row r is base(r) + map[j] (map null: 0 when
 * perRowParams, else j), with base(r) = (r % period) * mult.
 * If meanOut/invOut are given, the row statistics are stored there.
 */
function standardizeRows(
  x: FArr,
  y: FArr,
  rows: number,
  n: number,
  eps: number,
  RU: Round,
  RT: Round,
  scale: Float64Array | null,
  bias: Float64Array | null,
  scaleMap: Int32Array | null,
  biasMap: Int32Array | null,
  perRowParams: boolean,
  period: number,
  mult: number,
  meanOut: FArr | null,
  invOut: FArr | null,
): void {
  if (RU === R32 && RT === R32 && x instanceof Float32Array && y instanceof Float32Array) {
    standardizeRowsF32(x, y, rows, n, eps, scale, bias, scaleMap, biasMap, perRowParams, period, mult, meanOut, invOut);
    return;
  }
  const d = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const b = r * n;
    let s1 = 0;
    for (let j = 0; j < n; j++) s1 = RU(s1 + RU(x[b + j]!));
    const mean = RU(s1 / n);
    let s2 = 0;
    for (let j = 0; j < n; j++) {
      const dj = RU(RU(x[b + j]!) - mean);
      d[j] = dj;
      s2 = RU(s2 + RU(dj * dj));
    }
    const variance = RU(s2 / n);
    const inv = RU(1 / RU(Math.sqrt(RU(variance + eps))));
    if (meanOut) meanOut[r] = mean;
    if (invOut) invOut[r] = inv;
    const pb = (r % period) * mult;
    for (let j = 0; j < n; j++) {
      let v = RT(RU(d[j]! * inv));
      if (scale) v = RT(v * scale[pb + (scaleMap ? scaleMap[j]! : perRowParams ? 0 : j)]!);
      if (bias) v = RT(v + bias[pb + (biasMap ? biasMap[j]! : perRowParams ? 0 : j)]!);
      y[b + j] = v;
    }
  }
}

/** standardizeRows for float32 data with float32 statistics (the common case), same steps. */
function standardizeRowsF32(
  x: Float32Array,
  y: Float32Array,
  rows: number,
  n: number,
  eps: number,
  scale: Float64Array | null,
  bias: Float64Array | null,
  scaleMap: Int32Array | null,
  biasMap: Int32Array | null,
  perRowParams: boolean,
  period: number,
  mult: number,
  meanOut: FArr | null,
  invOut: FArr | null,
): void {
  const fr = Math.fround;
  for (let r = 0; r < rows; r++) {
    const b = r * n;
    const e = b + n;
    let s1 = 0;
    for (let i = b; i < e; i++) s1 = fr(s1 + x[i]!);
    const mean = fr(s1 / n);
    let s2 = 0;
    for (let i = b; i < e; i++) {
      const dj = fr(x[i]! - mean);
      y[i] = dj; // d_i kept in y (exact: already float32)
      s2 = fr(s2 + fr(dj * dj));
    }
    const inv = fr(1 / fr(Math.sqrt(fr(fr(s2 / n) + eps))));
    if (meanOut) meanOut[r] = mean;
    if (invOut) invOut[r] = inv;
    const pb = (r % period) * mult;
    if (perRowParams && !scaleMap && !biasMap) {
      const sc = scale ? scale[pb]! : 1;
      const bi = bias ? bias[pb]! : 0;
      if (scale && bias) for (let i = b; i < e; i++) y[i] = fr(fr(y[i]! * inv) * sc) + bi;
      else for (let i = b; i < e; i++) {
        let v = fr(y[i]! * inv);
        if (scale) v = fr(v * sc);
        if (bias) v = fr(v + bi);
        y[i] = v;
      }
    } else if (!perRowParams && !scaleMap && !biasMap && scale && bias) {
      for (let j = 0; j < n; j++) y[b + j] = fr(fr(y[b + j]! * inv) * scale[pb + j]!) + bias[pb + j]!;
    } else {
      for (let j = 0; j < n; j++) {
        let v = fr(y[b + j]! * inv);
        if (scale) v = fr(v * scale[pb + (scaleMap ? scaleMap[j]! : perRowParams ? 0 : j)]!);
        if (bias) v = fr(v + bias[pb + (biasMap ? biasMap[j]! : perRowParams ? 0 : j)]!);
        y[b + j] = v;
      }
    }
  }
}

/** stash_type attribute (1 float32 default, 11 float64) as a rounding; others unsupported. */
function stashRound(ctx: KernelContext): Round {
  const st = ctx.int('stash_type', 1);
  if (st === DType.float32) return R32;
  if (st === DType.float64) return R64;
  throw ctx.unsupported(`stash_type ${dtypeName(st)} is not supported`);
}

// ---------------------------------------------------------------------------

/** Below this many elements LayerNormalization runs in JS (copying into wasm memory costs more). */
const LAYERNORM_WASM_MIN = 256;

function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]! - a[i]! !== 0) return false;
  return true;
}

/**
 * LayerNormalization(X, Scale, B?) -> Y, Mean?, InvStdDev? over the axes
 * [axis, rank) (axis default -1), epsilon default 1e-5. The standardize sequence
 * above with the statistics in the stash type U (stash_type, default float32, as
 * the ONNX function body casts X to U), y_i = RT(RT(RT(d_i * inv) * scale_i) + bias_i)
 * in X's type T. Scale and B broadcast to the normalized shape. Mean and
 * InvStdDev have shape X.shape[:axis] + [1]*(rank-axis) and type U.
 */
const layerNorm: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  const scaleT = needNamed(inputs, 1, ctx, 'Scale');
  const biasT = inputs[2];
  const RT = floatRound(x, ctx, 'X');
  const RU = stashRound(ctx);
  const rank = x.rank;
  if (rank === 0) throw ctx.error('LayerNormalization needs an input of rank >= 1');
  const axis = axisOf(ctx, ctx.int('axis', -1), rank);
  const eps = Math.fround(ctx.float('epsilon', 1e-5));
  const normShape = x.shape.slice(axis);
  const n = prod(normShape);
  const rows = prod(x.shape, 0, axis);
  const scale = params(scaleT, RT, ctx, 'Scale');
  const bias = biasT ? params(biasT, RT, ctx, 'B') : null;
  const scaleMap = paramMap(scaleT, normShape, ctx, 'Scale');
  const biasMap = biasT ? paramMap(biasT, normShape, ctx, 'B') : null;
  const out = ctx.alloc(x.dtype, x.shape);
  const statShape = x.shape.map((dim, i) => (i < axis ? dim : 1));
  const U = RU === R32 ? DType.float32 : DType.float64;
  const meanT = ctx.alloc(U, statShape);
  const invT = ctx.alloc(U, statShape);
  if (RT === R32 && RU === R32 && !scaleMap && !biasMap && rows * n >= LAYERNORM_WASM_MIN && allFinite(scale) && (!bias || allFinite(bias))) {
    // WebAssembly SIMD fast path (../wasm/math.wat layernorm_f32): the same float32 steps
    // per row as standardizeRowsF32 (four rows side by side, one per lane, each summing
    // in index order); rows with a non-finite statistic or output are redone here.
    const xs = x.data as Float32Array, ys = out.data as Float32Array;
    const ms = meanT.data as Float32Array, is = invT.data as Float32Array;
    const row = (r: number): void =>
      standardizeRowsF32(
        xs.subarray(r * n, (r + 1) * n), ys.subarray(r * n, (r + 1) * n), 1, n, eps,
        scale, bias, null, null, false, 1, 0, ms.subarray(r, r + 1), is.subarray(r, r + 1),
      );
    if (layerNormRowsF32Wasm(xs, ys, rows, n, eps, scale, bias, ms, is, row)) return [out, meanT, invT];
  }
  standardizeRows(
    x.data as FArr, out.data as FArr, rows, n, eps, RU, RT,
    scale, bias, scaleMap, biasMap, false, 1, 0,
    meanT.data as FArr, invT.data as FArr,
  );
  return [out, meanT, invT];
};

/**
 * InstanceNormalization(input [N,C,...], scale [C], B [C]), epsilon default 1e-5:
 * the standardize sequence over each (n, c) slice of the spatial dims, with
 * scale[c] and B[c].
 */
const instanceNorm: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'input');
  const scaleT = needNamed(inputs, 1, ctx, 'scale');
  const biasT = needNamed(inputs, 2, ctx, 'B');
  const R = floatRound(x, ctx, 'input');
  if (x.rank < 2) throw ctx.error('InstanceNormalization needs an input of rank >= 2');
  const C = x.shape[1]!;
  needSize(scaleT, C, ctx, 'scale');
  needSize(biasT, C, ctx, 'B');
  const eps = Math.fround(ctx.float('epsilon', 1e-5));
  const out = ctx.alloc(x.dtype, x.shape);
  const S = prod(x.shape, 2);
  standardizeRows(
    x.data as FArr, out.data as FArr, x.shape[0]! * C, S, eps, R, R,
    params(scaleT, R, ctx, 'scale'), params(biasT, R, ctx, 'B'), null, null, true, C, 1,
    null, null,
  );
  return [out];
};

/**
 * GroupNormalization(X [N,C,...], scale, bias), num_groups G, epsilon 1e-5:
 * the standardize sequence over each (n, g) group of C/G channels x spatial
 * (contiguous in memory). opset 18: scale/bias have G elements (per group);
 * opset 21: C elements (per channel) and stash_type (statistics in U, as
 * LayerNormalization).
 */
const groupNorm: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  const scaleT = needNamed(inputs, 1, ctx, 'scale');
  const biasT = needNamed(inputs, 2, ctx, 'bias');
  const RT = floatRound(x, ctx, 'X');
  const RU = ctx.opset >= 21 ? stashRound(ctx) : RT;
  if (x.rank < 2) throw ctx.error('GroupNormalization needs an input of rank >= 2');
  const G = ctx.int('num_groups');
  if (G === undefined) throw ctx.error('missing required attribute num_groups');
  const C = x.shape[1]!;
  if (G <= 0 || C % G !== 0) throw ctx.error(`num_groups ${G} must be positive and divide the channel count ${C}`, { num_groups: G, channels: C });
  const perChannel = ctx.opset >= 21;
  needSize(scaleT, perChannel ? C : G, ctx, 'scale');
  needSize(biasT, perChannel ? C : G, ctx, 'bias');
  const eps = Math.fround(ctx.float('epsilon', 1e-5));
  const S = prod(x.shape, 2);
  const cg = C / G;
  const n = cg * S;
  const out = ctx.alloc(x.dtype, x.shape);
  let map: Int32Array | null = null;
  if (perChannel) {
    map = new Int32Array(n);
    for (let j = 0; j < n; j++) map[j] = Math.floor(j / S);
  }
  standardizeRows(
    x.data as FArr, out.data as FArr, x.shape[0]! * G, n, eps, RU, RT,
    params(scaleT, RT, ctx, 'scale'), params(biasT, RT, ctx, 'bias'), map, map, true, G, perChannel ? cg : 1,
    null, null,
  );
  return [out];
};

/**
 * BatchNormalization(X [N,C,...], scale, B, input_mean, input_var), epsilon 1e-5.
 * Inference: per element of channel c,
 *   inv_c = R(1 / R(sqrt(R(var_c + eps)))); y = R(R(R(R(x - mean_c) * inv_c) * scale_c) + B_c).
 * opset 7 spatial=0: the parameters have C x D1 x ... elements, indexed per (c, spatial).
 * training_mode=1 (opset >= 14): the batch statistics of each channel (over N and
 * the spatial dims in increasing flat index order) replace mean_c/var_c: the
 * standardize sequence's mean and population variance; outputs also
 * running_mean = R(R(input_mean * momentum) + R(mean_c * R(1 - momentum))) and
 * running_var likewise with the batch variance (momentum default 0.9).
 */
const batchNorm: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  const R = floatRound(x, ctx, 'X');
  const scaleT = needNamed(inputs, 1, ctx, 'scale');
  const biasT = needNamed(inputs, 2, ctx, 'B');
  const meanT = needNamed(inputs, 3, ctx, 'input_mean');
  const varT = needNamed(inputs, 4, ctx, 'input_var');
  if (x.rank < 2) throw ctx.error('BatchNormalization needs an input of rank >= 2 (N x C x ...)');
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const S = prod(x.shape, 2);
  const eps = Math.fround(ctx.float('epsilon', 1e-5));
  const training = ctx.opset >= 14 ? ctx.int('training_mode', 0) !== 0 : false;
  if (ctx.opset < 14 && ctx.node.outputs.filter((o) => o !== '').length > 1) {
    throw ctx.unsupported('BatchNormalization training outputs (opset < 14) are not supported');
  }
  const spatial = ctx.opset < 9 ? ctx.int('spatial', 1) !== 0 : true;
  if (!spatial && training) throw ctx.unsupported('spatial=0 with training');
  const P = spatial ? C : C * S;
  needSize(scaleT, P, ctx, 'scale');
  needSize(biasT, P, ctx, 'B');
  needSize(meanT, P, ctx, 'input_mean');
  needSize(varT, P, ctx, 'input_var');
  const scale = params(scaleT, R, ctx, 'scale');
  const bias = params(biasT, R, ctx, 'B');
  const mean = params(meanT, R, ctx, 'input_mean');
  const variance = params(varT, R, ctx, 'input_var');
  const xd = x.data as FArr;
  const out = ctx.alloc(x.dtype, x.shape);
  const y = out.data as FArr;
  if (!spatial) {
    const inv = new Float64Array(P);
    for (let p = 0; p < P; p++) inv[p] = R(1 / R(Math.sqrt(R(variance[p]! + eps))));
    for (let nn = 0; nn < N; nn++) {
      const b = nn * P;
      for (let p = 0; p < P; p++) y[b + p] = R(R(R(R(xd[b + p]! - mean[p]!) * inv[p]!) * scale[p]!) + bias[p]!);
    }
    return [out];
  }
  let useMean = mean;
  let useVar = variance;
  const outs = [out];
  if (training) {
    const cnt = N * S;
    const bm = new Float64Array(C);
    const bv = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let s1 = 0;
      for (let nn = 0; nn < N; nn++) {
        const b = (nn * C + c) * S;
        for (let s = 0; s < S; s++) s1 = R(s1 + xd[b + s]!);
      }
      const m = R(s1 / cnt);
      let s2 = 0;
      for (let nn = 0; nn < N; nn++) {
        const b = (nn * C + c) * S;
        for (let s = 0; s < S; s++) {
          const d = R(xd[b + s]! - m);
          s2 = R(s2 + R(d * d));
        }
      }
      bm[c] = m;
      bv[c] = R(s2 / cnt);
    }
    const mom = R(ctx.float('momentum', 0.9));
    const om = R(1 - mom);
    const statType = (t: Tensor): DType => (t.dtype === DType.float64 ? DType.float64 : DType.float32);
    const rm = ctx.alloc(statType(meanT), [C]);
    const rv = ctx.alloc(statType(varT), [C]);
    for (let c = 0; c < C; c++) {
      rm.data[c] = R(R(mean[c]! * mom) + R(bm[c]! * om));
      rv.data[c] = R(R(variance[c]! * mom) + R(bv[c]! * om));
    }
    useMean = bm;
    useVar = bv;
    outs.push(rm, rv);
  }
  for (let c = 0; c < C; c++) {
    const m = useMean[c]!;
    const inv = R(1 / R(Math.sqrt(R(useVar[c]! + eps))));
    const sc = scale[c]!;
    const bi = bias[c]!;
    for (let nn = 0; nn < N; nn++) {
      const b = (nn * C + c) * S;
      for (let s = 0; s < S; s++) y[b + s] = R(R(R(R(xd[b + s]! - m) * inv) * sc) + bi);
    }
  }
  return outs;
};

/**
 * RMSNormalization(X, scale) over the axes [axis, rank) (axis default -1),
 * epsilon 1e-5, stash_type U (default float32). Per row of n elements:
 *   xu_i = RU(x_i); S = 0; S = RU(S + RU(xu_i * xu_i)); ms = RU(S / n);
 *   inv = RU(1 / RU(sqrt(RU(ms + eps)))); y_i = RT(RT(RU(xu_i * inv)) * scale_i).
 * scale broadcasts to the normalized shape.
 */
const rmsNorm: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  const scaleT = needNamed(inputs, 1, ctx, 'scale');
  const RT = floatRound(x, ctx, 'X');
  const RU = stashRound(ctx);
  const rank = x.rank;
  if (rank === 0) throw ctx.error('RMSNormalization needs an input of rank >= 1');
  const axis = axisOf(ctx, ctx.int('axis', -1), rank);
  const eps = Math.fround(ctx.float('epsilon', 1e-5));
  const normShape = x.shape.slice(axis);
  const n = prod(normShape);
  const rows = prod(x.shape, 0, axis);
  const scale = params(scaleT, RT, ctx, 'scale');
  const map = paramMap(scaleT, normShape, ctx, 'scale');
  const out = ctx.alloc(x.dtype, x.shape);
  const xd = x.data as FArr;
  const y = out.data as FArr;
  for (let r = 0; r < rows; r++) {
    const b = r * n;
    let s = 0;
    for (let j = 0; j < n; j++) {
      const v = RU(xd[b + j]!);
      s = RU(s + RU(v * v));
    }
    const inv = RU(1 / RU(Math.sqrt(RU(RU(s / n) + eps))));
    for (let j = 0; j < n; j++) y[b + j] = RT(RT(RU(RU(xd[b + j]!) * inv)) * scale[map ? map[j]! : j]!);
  }
  return [out];
};

/**
 * LpNormalization(input), axis default -1, p default 2 (1 or 2). Per slice along
 * the axis, in increasing index order: p=1: S = 0; S = R(S + |x_i|); norm = S.
 * p=2: S = 0; S = R(S + R(x_i * x_i)); norm = R(sqrt(S)). y_i = R(x_i / norm),
 * except that a zero norm is replaced by 1 (y_i = x_i) instead of dividing by 0.
 */
const lpNorm: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'input');
  const R = floatRound(x, ctx, 'input');
  const p = ctx.int('p', 2);
  if (p !== 1 && p !== 2) throw ctx.error(`p must be 1 or 2, got ${p}`, { p });
  const out = ctx.alloc(x.dtype, x.shape);
  if (x.rank === 0) {
    // one element: its own norm
    const v = x.data[0] as number;
    const norm = Math.abs(v);
    out.data[0] = norm === 0 ? v : R(v / norm);
    return [out];
  }
  const axis = axisOf(ctx, ctx.int('axis', -1), x.rank);
  const outer = prod(x.shape, 0, axis);
  const N = x.shape[axis]!;
  const inner = prod(x.shape, axis + 1);
  const xd = x.data as FArr;
  const y = out.data as FArr;
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const b = o * N * inner;
    acc.fill(0);
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      if (p === 1) for (let k = 0; k < inner; k++) acc[k] = R(acc[k]! + Math.abs(xd[row + k]!));
      else
        for (let k = 0; k < inner; k++) {
          const v = xd[row + k]!;
          acc[k] = R(acc[k]! + R(v * v));
        }
    }
    if (p === 2) for (let k = 0; k < inner; k++) acc[k] = R(Math.sqrt(acc[k]!));
    for (let k = 0; k < inner; k++) if (acc[k] === 0) acc[k] = 1;
    for (let r = 0; r < N; r++) {
      const row = b + r * inner;
      for (let k = 0; k < inner; k++) y[row + k] = R(xd[row + k]! / acc[k]!);
    }
  }
  return [out];
};

/**
 * MeanVarianceNormalization(X), axes default [0, 2, 3]. For each group of
 * elements sharing the non-reduced coordinates (x_i in increasing flat index
 * order): mean and var as the standardize sequence (two-pass, population), then
 * den = R(R(sqrt(var)) + R(1e-9)); y_i = R(d_i / den)
 * (the ONNX function body adds its 1e-9 epsilon to the standard deviation).
 */
const mvn: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  const R = floatRound(x, ctx, 'X');
  const rank = x.rank;
  const axes = ctx.ints('axes', [0, 2, 3]);
  const isRed = new Array<boolean>(rank).fill(false);
  for (const a of axes) {
    const n = axisOf(ctx, a, rank, 'axes entry');
    if (isRed[n]) throw ctx.error(`axes contains axis ${n} more than once`, { axes });
    isRed[n] = true;
  }
  const out = ctx.alloc(x.dtype, x.shape);
  const total = x.size;
  if (total === 0) return [out];
  // statistic index of every input element (kept coordinates, row-major)
  const ost = new Array<number>(rank).fill(0);
  let G = 1;
  let cnt = 1;
  for (let i = rank - 1; i >= 0; i--) {
    if (isRed[i]) cnt *= x.shape[i]!;
    else {
      ost[i] = G;
      G *= x.shape[i]!;
    }
  }
  const map = new Int32Array(total);
  const c = new Array<number>(rank).fill(0);
  let si = 0;
  for (let i = 0; i < total; i++) {
    map[i] = si;
    for (let d = rank - 1; d >= 0; d--) {
      c[d]!++;
      si += ost[d]!;
      if (c[d]! < x.shape[d]!) break;
      si -= ost[d]! * x.shape[d]!;
      c[d] = 0;
    }
  }
  const xd = x.data as FArr;
  const y = out.data as FArr;
  const s1 = new Float64Array(G);
  for (let i = 0; i < total; i++) s1[map[i]!] = R(s1[map[i]!]! + xd[i]!);
  for (let g = 0; g < G; g++) s1[g] = R(s1[g]! / cnt);
  const s2 = new Float64Array(G);
  for (let i = 0; i < total; i++) {
    const g = map[i]!;
    const d = R(xd[i]! - s1[g]!);
    s2[g] = R(s2[g]! + R(d * d));
  }
  const e = R(1e-9);
  for (let g = 0; g < G; g++) s2[g] = R(R(Math.sqrt(R(s2[g]! / cnt))) + e);
  for (let i = 0; i < total; i++) {
    const g = map[i]!;
    y[i] = R(R(xd[i]! - s1[g]!) / s2[g]!);
  }
  return [out];
};

/**
 * LRN(X [N,C,...]), size (required), alpha 1e-4, beta 0.75, bias 1.0. For element
 * (n, c, s): the window is channels max(0, c - floor((size-1)/2)) ..
 * min(C-1, c + ceil((size-1)/2)) in increasing order:
 *   ss = 0; ss = R(ss + R(x_c'^2)); a = R(alpha / size);
 *   den = powf(R(bias + R(a * ss)), beta); y = R(x / den).
 */
const lrn: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'X');
  const R = floatRound(x, ctx, 'X');
  if (x.rank < 2) throw ctx.error('LRN needs an input of rank >= 2 (N x C x ...)');
  const size = ctx.int('size');
  if (size === undefined) throw ctx.error('missing required attribute size');
  if (size <= 0) throw ctx.error(`size must be positive, got ${size}`, { size });
  const alpha = R(ctx.float('alpha', 1e-4));
  const beta = R(ctx.float('beta', 0.75));
  const bias = R(ctx.float('bias', 1.0));
  const pw = R === R32 ? powf : pow64;
  const a = R(alpha / size);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const S = prod(x.shape, 2);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const out = ctx.alloc(x.dtype, x.shape);
  const xd = x.data as FArr;
  const y = out.data as FArr;
  const ss = new Float64Array(S);
  for (let nn = 0; nn < N; nn++) {
    for (let c = 0; c < C; c++) {
      ss.fill(0);
      const c0 = Math.max(0, c - lo);
      const c1 = Math.min(C - 1, c + hi);
      for (let cc = c0; cc <= c1; cc++) {
        const b = (nn * C + cc) * S;
        for (let s = 0; s < S; s++) {
          const v = xd[b + s]!;
          ss[s] = R(ss[s]! + R(v * v));
        }
      }
      const b = (nn * C + c) * S;
      for (let s = 0; s < S; s++) y[b + s] = R(xd[b + s]! / pw(R(bias + R(a * ss[s]!)), beta));
    }
  }
  return [out];
};

export const ops: KernelTable = {
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  InstanceNormalization: instanceNorm,
  GroupNormalization: groupNorm,
  RMSNormalization: rmsNorm,
  LpNormalization: lpNorm,
  MeanVarianceNormalization: mvn,
  LRN: lrn,
};
