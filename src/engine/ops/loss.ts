/**
 * NegativeLogLikelihoodLoss (opset 12, 13, 22) and SoftmaxCrossEntropyLoss (opset 12, 13).
 *
 * Layout: input [N, C, d1..dk], target [N, d1..dk] (int32/int64); the loss element
 * for (n, d) reads input[n, target[n, d], d]. Elements are visited in increasing
 * flat index order of target. "round" = Math.fround for float32, identity for float64.
 *
 * Canonical order (mirrors the ops' ONNX function bodies):
 *   ignored = (ignore_index given and t == ignore_index); otherwise t must be in [0, C).
 *   w      = ignored ? 0 : (weight ? weight[t] : 1)
 *   l      = -(ignored ? 0 : x[n, t, d])            (negation is exact; an ignored element gives -0)
 *   weighted (weight input given): l = round(l * w)
 *   reduction 'none': output l (shape of target)
 *   reduction 'sum':  acc = +0; acc = round(acc + l) in order
 *   reduction 'mean': if a weight or ignore_index is given:
 *                       num = sum of l, den = sum of w (both in order, from +0), out = round(num / den)
 *                       (all elements ignored gives 0/0 = NaN, as the reference)
 *                     else out = round(sum of l / count)
 * SoftmaxCrossEntropyLoss first computes log_prob = LogSoftmax over axis 1 with the
 * engine's LogSoftmax order (per (n, d), classes c = 0..C-1):
 *   m = max_c x (NaN propagates); z_c = round(x_c - m); s = +0; s = round(s + exp(z_c));
 *   lse = log(s); log_prob_c = round(z_c - lse)   (expf/logf, or exp64/log64 for float64)
 * and then applies the NLL above to log_prob. The optional second output is log_prob.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType, dtypeName } from '../../tensor/dtype.js';
import { expf, logf, exp64, log64 } from '../math/index.js';
import { needNamed, shapeStr } from './util.js';

const fr = Math.fround;
type FArr = Float32Array | Float64Array;

interface Geometry {
  N: number;
  C: number;
  inner: number; // prod(d1..dk)
}

function checkInputs(x: Tensor, target: Tensor, weight: Tensor | undefined, ctx: KernelContext): Geometry {
  if (x.dtype === DType.float16) throw ctx.unsupported(`${ctx.node.opType} on float16 is not supported (compute in float32)`);
  if (x.dtype !== DType.float32 && x.dtype !== DType.float64) throw ctx.error(`input must be float32 or float64, got ${dtypeName(x.dtype)}`);
  if (target.dtype !== DType.int32 && target.dtype !== DType.int64) throw ctx.error(`target must be int32 or int64, got ${dtypeName(target.dtype)}`);
  if (x.rank < 2) throw ctx.error(`input must have rank >= 2 ([N, C, d1..dk]), got ${shapeStr(x.shape)}`);
  const N = x.shape[0]!;
  const C = x.shape[1]!;
  const ok = target.rank === x.rank - 1 && target.shape[0] === N && target.shape.every((d, i) => i === 0 || d === x.shape[i + 1]);
  if (!ok) throw ctx.error(`target shape ${shapeStr(target.shape)} does not match input ${shapeStr(x.shape)} (expected [N, d1..dk])`);
  if (weight) {
    if (weight.dtype !== x.dtype) throw ctx.error(`weight must have the input's type ${dtypeName(x.dtype)}, got ${dtypeName(weight.dtype)}`);
    if (weight.rank !== 1 || weight.shape[0] !== C) throw ctx.error(`weight must have shape [${C}], got ${shapeStr(weight.shape)}`);
  }
  let inner = 1;
  for (let i = 2; i < x.rank; i++) inner *= x.shape[i]!;
  return { N, C, inner };
}

function readReduction(ctx: KernelContext): 'none' | 'sum' | 'mean' {
  const r = ctx.string('reduction', 'mean');
  if (r !== 'none' && r !== 'sum' && r !== 'mean') throw ctx.error(`reduction must be none, sum or mean, got ${r}`);
  return r;
}

/** The NLL part over an already log-probability-like tensor `lp` laid out [N, C, inner]. */
function nll(
  lp: FArr,
  dt: DType,
  g: Geometry,
  target: Tensor,
  weight: Tensor | undefined,
  ctx: KernelContext,
  targetShape: readonly number[],
): Tensor {
  const { N, C, inner } = g;
  const f32 = dt === DType.float32;
  const r = f32 ? fr : (v: number) => v;
  const reduction = readReduction(ctx);
  const ii = ctx.int('ignore_index');
  const hasIi = ii !== undefined;
  const tg = target.data;
  const wd = weight?.data as FArr | undefined;
  const M = N * inner;
  const out = reduction === 'none' ? ctx.alloc(dt, targetShape) : ctx.alloc(dt, []);
  const od = out.data as FArr;
  let num = 0;
  let den = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < inner; d++) {
      const e = n * inner + d;
      const t = Number(tg[e]!);
      const ignored = hasIi && t === ii;
      if (!ignored && !(t >= 0 && t < C)) {
        throw ctx.error(`target value ${String(tg[e])} is out of range [0, ${C})`, { index: e });
      }
      let l = -(ignored ? 0 : lp[(n * C + t) * inner + d]!);
      let w = 1;
      if (wd) {
        w = ignored ? 0 : wd[t]!;
        l = r(l * w);
      } else if (ignored) w = 0;
      if (reduction === 'none') od[e] = l;
      else {
        num = r(num + l);
        den = r(den + w);
      }
    }
  }
  if (reduction === 'sum') od[0] = num;
  else if (reduction === 'mean') od[0] = wd || hasIi ? r(num / den) : r(num / M);
  return out;
}

const negativeLogLikelihoodLoss: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'input');
  const target = needNamed(inputs, 1, ctx, 'target');
  const weight = inputs[2];
  const g = checkInputs(x, target, weight, ctx);
  return [nll(x.data as FArr, x.dtype, g, target, weight, ctx, target.shape)];
};

const softmaxCrossEntropyLoss: Kernel = (inputs, ctx) => {
  const x = needNamed(inputs, 0, ctx, 'scores');
  const target = needNamed(inputs, 1, ctx, 'labels');
  const weight = inputs[2];
  const g = checkInputs(x, target, weight, ctx);
  const { N, C, inner } = g;
  const f32 = x.dtype === DType.float32;
  const lpT = ctx.alloc(x.dtype, x.shape);
  const xd = x.data as FArr;
  const lp = lpT.data as FArr;
  // LogSoftmax over axis 1, slice by slice; each (n, d) keeps its own order.
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < inner; d++) {
      const b = n * C * inner + d;
      let m = -Infinity;
      for (let c = 0; c < C; c++) {
        const v = xd[b + c * inner]!;
        if (v > m || v !== v) m = v;
      }
      let s = 0;
      if (f32) {
        for (let c = 0; c < C; c++) {
          const z = fr(xd[b + c * inner]! - m);
          lp[b + c * inner] = z;
          s = fr(s + expf(z));
        }
        const l = logf(s);
        for (let c = 0; c < C; c++) lp[b + c * inner] = lp[b + c * inner]! - l;
      } else {
        for (let c = 0; c < C; c++) {
          const z = xd[b + c * inner]! - m;
          lp[b + c * inner] = z;
          s = s + exp64(z);
        }
        const l = log64(s);
        for (let c = 0; c < C; c++) lp[b + c * inner] = lp[b + c * inner]! - l;
      }
    }
  }
  const loss = nll(lp, x.dtype, g, target, weight, ctx, target.shape);
  return ctx.node.outputs.length > 1 ? [loss, lpT] : [loss];
};

export const ops: KernelTable = {
  NegativeLogLikelihoodLoss: negativeLogLikelihoodLoss,
  SoftmaxCrossEntropyLoss: softmaxCrossEntropyLoss,
};
