/**
 * Recurrent ops: LSTM, GRU, RNN (opsets 7 .. 22; `layout` from opset 14).
 *
 * Canonical semantics (verinfer-canonical). float32: `f` = round to float32 after
 * every multiply and add; float64: the same steps in doubles.
 *
 *   dot(a, w) = acc = 0; for k in increasing order: acc = f(acc + f(a[k] * w[k]))
 *
 * Gate pre-activation for gate row j at time t (x = X_t, h = H_{t-1}):
 *   g = dot(x, W[j, :])                  (input projection, may be precomputed)
 *   g = f(g + dot(h, R[j, :]))           (recurrent projection)
 *   g = f(g + Wb[j]); g = f(g + Rb[j])   (only when B is given)
 *   [LSTM peephole, only when P is given: g = f(g + f(p * c))]
 *   [clip, only when given: g = g < -clip ? -clip : g > clip ? clip : g  (NaN stays)]
 *   then the gate's activation.
 *
 * LSTM (gate rows in W/R/B: i, o, f, c; activations f, g, h default Sigmoid, Tanh, Tanh):
 *   i = f_act(pre_i [+ f(Pi * C_{t-1})])
 *   f = input_forget ? f(1 - i) : f_act(pre_f [+ f(Pf * C_{t-1})])
 *   c~ = g_act(pre_c)
 *   C = f(f(f * C_{t-1}) + f(i * c~))
 *   o = f_act(pre_o [+ f(Po * C)])
 *   H = f(o * h_act(C))
 * GRU (rows z, r, h; activations f, g default Sigmoid, Tanh):
 *   z = f_act(pre_z); r = f_act(pre_r)
 *   linear_before_reset = 0: g = dot(x, Wh); g = f(g + dot(rh, Rh)) with rh[k] = f(r[k] * h[k]);
 *                            g = f(g + Wbh); g = f(g + Rbh)
 *   linear_before_reset = 1: q = dot(h, Rh); q = f(q + Rbh); g = f(dot(x, Wh) + f(r * q));
 *                            g = f(g + Wbh)
 *   h~ = g_act(clip(g));  H = f(f(f(1 - z) * h~) + f(z * H_{t-1}))
 * RNN (activation default Tanh):  H = f_act(pre)
 *
 * Activations (float32 path; the float64 path uses the same steps with sigmoid64 etc.):
 *   Sigmoid sigmoidf(x); Tanh tanhf(x); Relu x > 0 || x is NaN ? x : 0;
 *   LeakyRelu x < 0 ? f(a * x) : x; ThresholdedRelu x > a ? x : 0;
 *   Elu x < 0 ? f(a * f(expm1(x))) : x; HardSigmoid t = f(f(a * x) + b), clamp to [0, 1];
 *   Affine f(f(a * x) + b); ScaledTanh f(a * tanhf(f(b * x)));
 *   Softsign f(x / f(1 + |x|)); Softplus softplusf(x).
 *   activation_alpha / activation_beta values are consumed in order, only by the
 *   activations that take them (ONNX Runtime's convention); missing ones use defaults
 *   (LeakyRelu 0.01, ThresholdedRelu 1, Elu 1, HardSigmoid 0.2 / 0.5, Affine 1 / 0,
 *   ScaledTanh 1 / 1).
 *
 * sequence_lens: batch entry b runs its first len_b steps (reverse direction: t = len_b-1
 * down to 0); Y is 0 at t >= len_b; Y_h / Y_c hold the state after the last step run
 * (the initial state when len_b = 0). Initial states default to 0.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { DType, dtypeName } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { expm1_64, sigmoid64, sigmoidf, softplus64, softplusf, tanh64, tanhf } from '../math/index.js';

type FArr = Float32Array | Float64Array;
type Act = (x: number) => number;

const fr = Math.fround;
const id = (x: number): number => x;

/** alpha / beta usage and defaults per activation (lower-case name). */
const ACT_ARGS: Record<string, [number, number, number, number]> = {
  // [uses alpha, uses beta, default alpha, default beta]
  sigmoid: [0, 0, 0, 0],
  tanh: [0, 0, 0, 0],
  relu: [0, 0, 0, 0],
  softsign: [0, 0, 0, 0],
  softplus: [0, 0, 0, 0],
  leakyrelu: [1, 0, 0.01, 0],
  thresholdedrelu: [1, 0, 1, 0],
  elu: [1, 0, 1, 0],
  hardsigmoid: [1, 1, 0.2, 0.5],
  affine: [1, 1, 1, 0],
  scaledtanh: [1, 1, 1, 1],
};

function makeAct(name: string, alpha: number, beta: number, f32: boolean): Act {
  const a = f32 ? fr(alpha) : alpha;
  const b = f32 ? fr(beta) : beta;
  if (f32) {
    switch (name) {
      case 'sigmoid':
        return sigmoidf;
      case 'tanh':
        return tanhf;
      case 'relu':
        return (x) => (x > 0 || x !== x ? x : 0);
      case 'leakyrelu':
        return (x) => (x < 0 ? fr(a * x) : x);
      case 'thresholdedrelu':
        return (x) => (x > a ? x : 0);
      case 'elu':
        return (x) => (x < 0 ? fr(a * fr(expm1_64(x))) : x);
      case 'hardsigmoid':
        return (x) => {
          const t = fr(fr(a * x) + b);
          return t < 0 ? 0 : t > 1 ? 1 : t;
        };
      case 'affine':
        return (x) => fr(fr(a * x) + b);
      case 'scaledtanh':
        return (x) => fr(a * tanhf(fr(b * x)));
      case 'softsign':
        return (x) => fr(x / fr(1 + Math.abs(x)));
      case 'softplus':
        return softplusf;
    }
  } else {
    switch (name) {
      case 'sigmoid':
        return sigmoid64;
      case 'tanh':
        return tanh64;
      case 'relu':
        return (x) => (x > 0 || x !== x ? x : 0);
      case 'leakyrelu':
        return (x) => (x < 0 ? a * x : x);
      case 'thresholdedrelu':
        return (x) => (x > a ? x : 0);
      case 'elu':
        return (x) => (x < 0 ? a * expm1_64(x) : x);
      case 'hardsigmoid':
        return (x) => {
          const t = a * x + b;
          return t < 0 ? 0 : t > 1 ? 1 : t;
        };
      case 'affine':
        return (x) => a * x + b;
      case 'scaledtanh':
        return (x) => a * tanh64(b * x);
      case 'softsign':
        return (x) => x / (1 + Math.abs(x));
      case 'softplus':
        return softplus64;
    }
  }
  throw new Error(`unreachable activation ${name}`);
}

/** The activations of every direction: result[d][k]. */
function parseActivations(ctx: KernelContext, defaults: string[], numDir: number, f32: boolean): Act[][] {
  const per = defaults.length;
  let names = ctx.strings('activations');
  if (!names || names.length === 0) names = defaults;
  if (names.length === per && numDir === 2) names = [...names, ...names];
  if (names.length !== per * numDir) {
    throw ctx.error(`activations must list ${per * numDir} functions, got ${names.length}`, { attribute: 'activations' });
  }
  const alphas = ctx.floats('activation_alpha', []);
  const betas = ctx.floats('activation_beta', []);
  let ai = 0;
  let bi = 0;
  const out: Act[][] = [];
  for (let d = 0; d < numDir; d++) {
    const row: Act[] = [];
    for (let k = 0; k < per; k++) {
      const raw = names[d * per + k]!;
      const name = raw.toLowerCase();
      const spec = ACT_ARGS[name];
      if (!spec) throw ctx.error(`unknown activation "${raw}"`, { attribute: 'activations', activation: raw });
      let alpha = spec[2];
      let beta = spec[3];
      if (spec[0] && ai < alphas.length) alpha = alphas[ai++]!;
      if (spec[1] && bi < betas.length) beta = betas[bi++]!;
      row.push(makeAct(name, alpha, beta, f32));
    }
    out.push(row);
  }
  return out;
}

/** dot(a[ao..ao+n), w[wo..wo+n)) in canonical order. */
function dot32(a: FArr, ao: number, w: FArr, wo: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc = fr(acc + fr(a[ao + k]! * w[wo + k]!));
  return acc;
}
function dot64(a: FArr, ao: number, w: FArr, wo: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += a[ao + k]! * w[wo + k]!;
  return acc;
}

/**
 * out[oo + j] = dot(a[ao..ao+n), w[wo + j*n ..]) for j < rows, each in canonical order.
 * Four rows are interleaved for instruction-level parallelism; every row keeps its own
 * accumulation order.
 */
function matvec32(a: FArr, ao: number, w: FArr, wo: number, n: number, rows: number, out: FArr, oo: number): void {
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    const w0 = wo + j * n;
    const w1 = w0 + n;
    const w2 = w1 + n;
    const w3 = w2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < n; k++) {
      const v = a[ao + k]!;
      s0 = fr(s0 + fr(v * w[w0 + k]!));
      s1 = fr(s1 + fr(v * w[w1 + k]!));
      s2 = fr(s2 + fr(v * w[w2 + k]!));
      s3 = fr(s3 + fr(v * w[w3 + k]!));
    }
    out[oo + j] = s0;
    out[oo + j + 1] = s1;
    out[oo + j + 2] = s2;
    out[oo + j + 3] = s3;
  }
  for (; j < rows; j++) out[oo + j] = dot32(a, ao, w, wo + j * n, n);
}
function matvec64(a: FArr, ao: number, w: FArr, wo: number, n: number, rows: number, out: FArr, oo: number): void {
  let j = 0;
  for (; j + 4 <= rows; j += 4) {
    const w0 = wo + j * n;
    const w1 = w0 + n;
    const w2 = w1 + n;
    const w3 = w2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < n; k++) {
      const v = a[ao + k]!;
      s0 += v * w[w0 + k]!;
      s1 += v * w[w1 + k]!;
      s2 += v * w[w2 + k]!;
      s3 += v * w[w3 + k]!;
    }
    out[oo + j] = s0;
    out[oo + j + 1] = s1;
    out[oo + j + 2] = s2;
    out[oo + j + 3] = s3;
  }
  for (; j < rows; j++) out[oo + j] = dot64(a, ao, w, wo + j * n, n);
}

interface Common {
  f32: boolean;
  dtype: DType;
  S: number;
  Bn: number;
  I: number;
  H: number;
  D: number;
  layout: number;
  reverse: boolean[];
  x: FArr;
  w: FArr;
  r: FArr;
  bias: FArr | null;
  lens: Int32Array;
  h0: FArr | null;
  clip: number;
  acts: Act[][];
  wantY: boolean;
}

function setup(inputs: (Tensor | undefined)[], ctx: KernelContext, gates: number, defaults: string[]): Common {
  const [X, W, R, B, L, H0] = inputs;
  if (!X || !W || !R) throw ctx.error('inputs X, W and R are required');
  if (X.dtype !== DType.float32 && X.dtype !== DType.float64) {
    if (X.dtype === DType.float16) throw ctx.unsupported('float16 compute is not supported');
    throw ctx.error(`X must be float, got ${dtypeName(X.dtype)}`);
  }
  const named: [string, Tensor | undefined][] = [['W', W], ['R', R], ['B', B], ['initial_h', H0]];
  if (ctx.node.opType === 'LSTM') named.push(['initial_c', inputs[6]], ['P', inputs[7]]);
  for (const [nm, t] of named) {
    if (t && t.dtype !== X.dtype) {
      throw ctx.error(`${nm} must have the dtype of X (${dtypeName(X.dtype)}), got ${dtypeName(t.dtype)}`);
    }
  }
  const f32 = X.dtype === DType.float32;
  const layout = ctx.opset >= 14 ? ctx.int('layout', 0) : 0;
  if (layout !== 0 && layout !== 1) throw ctx.error(`layout must be 0 or 1, got ${layout}`, { attribute: 'layout' });
  const dir = ctx.string('direction', 'forward');
  let D: number;
  let reverse: boolean[];
  if (dir === 'forward') (D = 1), (reverse = [false]);
  else if (dir === 'reverse') (D = 1), (reverse = [true]);
  else if (dir === 'bidirectional') (D = 2), (reverse = [false, true]);
  else throw ctx.error(`unknown direction "${dir}"`, { attribute: 'direction' });
  if (X.rank !== 3) throw ctx.error(`X must have rank 3, got [${X.shape.join(',')}]`);
  const S = layout === 0 ? X.shape[0]! : X.shape[1]!;
  const Bn = layout === 0 ? X.shape[1]! : X.shape[0]!;
  const I = X.shape[2]!;
  if (R.rank !== 3) throw ctx.error(`R must have rank 3, got [${R.shape.join(',')}]`);
  const H = ctx.int('hidden_size') ?? R.shape[2]!;
  if (!(H >= 0)) throw ctx.error(`hidden_size must be non-negative, got ${H}`);
  const G = gates * H;
  const same = (t: Tensor, shape: number[]): boolean => t.rank === shape.length && t.shape.every((v, i) => v === shape[i]);
  if (!same(W, [D, G, I])) throw ctx.error(`W must have shape [${D},${G},${I}], got [${W.shape.join(',')}]`);
  if (!same(R, [D, G, H])) throw ctx.error(`R must have shape [${D},${G},${H}], got [${R.shape.join(',')}]`);
  if (B && !same(B, [D, 2 * G])) throw ctx.error(`B must have shape [${D},${2 * G}], got [${B.shape.join(',')}]`);
  const stateShape = layout === 0 ? [D, Bn, H] : [Bn, D, H];
  if (H0 && !same(H0, stateShape)) throw ctx.error(`initial_h must have shape [${stateShape.join(',')}], got [${H0.shape.join(',')}]`);
  const lens = new Int32Array(Bn).fill(S);
  if (L) {
    if (L.dtype !== DType.int32 && L.dtype !== DType.int64) throw ctx.error(`sequence_lens must be int32, got ${dtypeName(L.dtype)}`);
    if (!same(L, [Bn])) throw ctx.error(`sequence_lens must have shape [${Bn}], got [${L.shape.join(',')}]`);
    for (let b = 0; b < Bn; b++) {
      const v = Number(L.data[b]!);
      if (!(v >= 0 && v <= S)) throw ctx.error(`sequence_lens[${b}] = ${v} is outside [0, ${S}]`, { batch: b, value: v });
      lens[b] = v;
    }
  }
  let clip = Infinity;
  if (ctx.has('clip')) {
    clip = ctx.float('clip', 0);
    if (f32) clip = fr(clip);
    if (!(clip >= 0)) throw ctx.error(`clip must be non-negative, got ${clip}`, { attribute: 'clip' });
  }
  const acts = parseActivations(ctx, defaults, D, f32);
  const outs = ctx.node.outputs;
  return {
    f32,
    dtype: X.dtype,
    S,
    Bn,
    I,
    H,
    D,
    layout,
    reverse,
    x: X.data as FArr,
    w: W.data as FArr,
    r: R.data as FArr,
    bias: B ? (B.data as FArr) : null,
    lens,
    h0: H0 ? (H0.data as FArr) : null,
    clip,
    acts,
    wantY: outs.length > 0 && outs[0] !== '',
  };
}

/** Offsets into the state tensors ([D,B,H] or [B,D,H]) and Y ([S,D,B,H] or [B,S,D,H]). */
function stateOff(c: Common, d: number, b: number): number {
  return (c.layout === 0 ? d * c.Bn + b : b * c.D + d) * c.H;
}
function yOff(c: Common, t: number, d: number, b: number): number {
  return (c.layout === 0 ? (t * c.D + d) * c.Bn + b : (b * c.S + t) * c.D + d) * c.H;
}
function xOff(c: Common, t: number, b: number): number {
  return (c.layout === 0 ? t * c.Bn + b : b * c.S + t) * c.I;
}

/**
 * Input projections of direction d for every (t, b): xw[(t*B + b)*G + j] = dot(X[t,b,:], W[d,j,:]).
 */
function projectInputs(c: Common, d: number, G: number): FArr {
  const { S, Bn, I } = c;
  const out = c.f32 ? new Float32Array(S * Bn * G) : new Float64Array(S * Bn * G);
  const mv = c.f32 ? matvec32 : matvec64;
  const wBase = d * G * I;
  for (let t = 0; t < S; t++) {
    for (let b = 0; b < Bn; b++) mv(c.x, xOff(c, t, b), c.w, wBase, I, G, out, (t * Bn + b) * G);
  }
  return out;
}

function alloc(c: Common, ctx: KernelContext, shape: number[], want: boolean): Tensor {
  if (!want) return new Tensor(c.dtype, [0], c.f32 ? new Float32Array(0) : new Float64Array(0));
  return ctx.alloc(c.dtype, shape);
}

function outShapes(c: Common): { y: number[]; st: number[] } {
  return c.layout === 0
    ? { y: [c.S, c.D, c.Bn, c.H], st: [c.D, c.Bn, c.H] }
    : { y: [c.Bn, c.S, c.D, c.H], st: [c.Bn, c.D, c.H] };
}

const clipTo = (g: number, cl: number): number => (g < -cl ? -cl : g > cl ? cl : g);

const lstm: Kernel = (inputs, ctx) => {
  const c = setup(inputs, ctx, 4, ['Sigmoid', 'Tanh', 'Tanh']);
  const { S, Bn, H, D, f32 } = c;
  const G = 4 * H;
  const C0 = inputs[6];
  const P = inputs[7];
  const { y: yShape, st } = outShapes(c);
  if (C0 && !(C0.rank === 3 && C0.shape.every((v, i) => v === st[i]))) {
    throw ctx.error(`initial_c must have shape [${st.join(',')}], got [${C0.shape.join(',')}]`);
  }
  if (P && !(P.rank === 2 && P.shape[0] === D && P.shape[1] === 3 * H)) {
    throw ctx.error(`P must have shape [${D},${3 * H}], got [${P.shape.join(',')}]`);
  }
  const inputForget = ctx.int('input_forget', 0) !== 0;
  const outs = ctx.node.outputs;
  const Y = alloc(c, ctx, yShape, c.wantY);
  const Yh = ctx.alloc(c.dtype, st);
  const Yc = alloc(c, ctx, st, outs.length > 2 && outs[2] !== '');
  const rnd = f32 ? fr : id;
  const yd = Y.data as FArr;
  const hd = Yh.data as FArr;
  const cdAll = f32 ? new Float32Array(D * Bn * H) : new Float64Array(D * Bn * H);
  const pd = P ? (P.data as FArr) : null;
  const c0 = C0 ? (C0.data as FArr) : null;
  const cl = c.clip;
  const hasClip = cl !== Infinity;
  const pre = f32 ? new Float32Array(G) : new Float64Array(G);
  const rec = f32 ? new Float32Array(G) : new Float64Array(G);
  const mv = f32 ? matvec32 : matvec64;
  for (let d = 0; d < D; d++) {
    const [fA, gA, hA] = c.acts[d] as [Act, Act, Act];
    const xw = projectInputs(c, d, G);
    const rBase = d * G * H;
    const bBase = d * 2 * G;
    const pBase = d * 3 * H;
    for (let b = 0; b < Bn; b++) {
      const so = stateOff(c, d, b);
      // state lives in hd (Y_h) / cdAll, updated in place
      const co = (d * Bn + b) * H;
      for (let j = 0; j < H; j++) {
        hd[so + j] = c.h0 ? c.h0[so + j]! : 0;
        cdAll[co + j] = c0 ? c0[so + j]! : 0;
      }
      const len = c.lens[b]!;
      const hPrev = f32 ? new Float32Array(H) : new Float64Array(H);
      for (let step = 0; step < len; step++) {
        const t = c.reverse[d] ? len - 1 - step : step;
        hPrev.set(hd.subarray(so, so + H));
        const xo = (t * Bn + b) * G;
        mv(hPrev, 0, c.r, rBase, H, G, rec, 0);
        for (let j = 0; j < G; j++) {
          let g = rnd(xw[xo + j]! + rec[j]!);
          if (c.bias) {
            g = rnd(g + c.bias[bBase + j]!);
            g = rnd(g + c.bias[bBase + G + j]!);
          }
          pre[j] = g;
        }
        for (let j = 0; j < H; j++) {
          const cPrev = cdAll[co + j]!;
          let gi = pre[j]!;
          if (pd) gi = rnd(gi + rnd(pd[pBase + j]! * cPrev));
          if (hasClip) gi = clipTo(gi, cl);
          const i = fA(gi);
          let f: number;
          if (inputForget) f = rnd(1 - i);
          else {
            let gf = pre[2 * H + j]!;
            if (pd) gf = rnd(gf + rnd(pd[pBase + 2 * H + j]! * cPrev));
            if (hasClip) gf = clipTo(gf, cl);
            f = fA(gf);
          }
          let gc = pre[3 * H + j]!;
          if (hasClip) gc = clipTo(gc, cl);
          const cc = gA(gc);
          const cNew = rnd(rnd(f * cPrev) + rnd(i * cc));
          let go = pre[H + j]!;
          if (pd) go = rnd(go + rnd(pd[pBase + H + j]! * cNew));
          if (hasClip) go = clipTo(go, cl);
          const o = fA(go);
          const h = rnd(o * hA(cNew));
          cdAll[co + j] = cNew;
          hd[so + j] = h;
          if (c.wantY) yd[yOff(c, t, d, b) + j] = h;
        }
      }
      if (Yc.size) for (let j = 0; j < H; j++) (Yc.data as FArr)[so + j] = cdAll[co + j]!;
    }
  }
  return [Y, Yh, Yc];
};

const gru: Kernel = (inputs, ctx) => {
  const c = setup(inputs, ctx, 3, ['Sigmoid', 'Tanh']);
  const { Bn, H, D, f32 } = c;
  const G = 3 * H;
  const lbr = ctx.int('linear_before_reset', 0) !== 0;
  const { y: yShape, st } = outShapes(c);
  const Y = alloc(c, ctx, yShape, c.wantY);
  const Yh = ctx.alloc(c.dtype, st);
  const rnd = f32 ? fr : id;
  const yd = Y.data as FArr;
  const hd = Yh.data as FArr;
  const cl = c.clip;
  const hasClip = cl !== Infinity;
  const zr = f32 ? new Float32Array(2 * H) : new Float64Array(2 * H);
  const rec = f32 ? new Float32Array(G) : new Float64Array(G);
  const mv = f32 ? matvec32 : matvec64;
  const rh = f32 ? new Float32Array(H) : new Float64Array(H);
  const hPrev = f32 ? new Float32Array(H) : new Float64Array(H);
  for (let d = 0; d < D; d++) {
    const [fA, gA] = c.acts[d] as [Act, Act];
    const xw = projectInputs(c, d, G);
    const rBase = d * G * H;
    const bBase = d * 2 * G;
    for (let b = 0; b < Bn; b++) {
      const so = stateOff(c, d, b);
      for (let j = 0; j < H; j++) hd[so + j] = c.h0 ? c.h0[so + j]! : 0;
      const len = c.lens[b]!;
      for (let step = 0; step < len; step++) {
        const t = c.reverse[d] ? len - 1 - step : step;
        hPrev.set(hd.subarray(so, so + H));
        const xo = (t * Bn + b) * G;
        // z and r gates (lbr = 1 also needs dot(h, Rh): project all 3H rows at once)
        mv(hPrev, 0, c.r, rBase, H, lbr ? G : 2 * H, rec, 0);
        for (let j = 0; j < 2 * H; j++) {
          let g = rnd(xw[xo + j]! + rec[j]!);
          if (c.bias) {
            g = rnd(g + c.bias[bBase + j]!);
            g = rnd(g + c.bias[bBase + G + j]!);
          }
          if (hasClip) g = clipTo(g, cl);
          zr[j] = fA(g);
        }
        if (!lbr) {
          for (let k = 0; k < H; k++) rh[k] = rnd(zr[H + k]! * hPrev[k]!);
          mv(rh, 0, c.r, rBase + 2 * H * H, H, H, rec, 2 * H);
        }
        for (let j = 0; j < H; j++) {
          let g: number;
          if (!lbr) {
            g = rnd(xw[xo + 2 * H + j]! + rec[2 * H + j]!);
            if (c.bias) {
              g = rnd(g + c.bias[bBase + 2 * H + j]!);
              g = rnd(g + c.bias[bBase + G + 2 * H + j]!);
            }
          } else {
            let q = rec[2 * H + j]!;
            if (c.bias) q = rnd(q + c.bias[bBase + G + 2 * H + j]!);
            g = rnd(xw[xo + 2 * H + j]! + rnd(zr[H + j]! * q));
            if (c.bias) g = rnd(g + c.bias[bBase + 2 * H + j]!);
          }
          if (hasClip) g = clipTo(g, cl);
          const hh = gA(g);
          const z = zr[j]!;
          const h = rnd(rnd(rnd(1 - z) * hh) + rnd(z * hPrev[j]!));
          hd[so + j] = h;
          if (c.wantY) yd[yOff(c, t, d, b) + j] = h;
        }
      }
    }
  }
  return [Y, Yh];
};

const rnnSimple: Kernel = (inputs, ctx) => {
  const c = setup(inputs, ctx, 1, ['Tanh']);
  const { Bn, H, D, f32 } = c;
  const G = H;
  const { y: yShape, st } = outShapes(c);
  const Y = alloc(c, ctx, yShape, c.wantY);
  const Yh = ctx.alloc(c.dtype, st);
  const rnd = f32 ? fr : id;
  const yd = Y.data as FArr;
  const hd = Yh.data as FArr;
  const cl = c.clip;
  const hasClip = cl !== Infinity;
  const hPrev = f32 ? new Float32Array(H) : new Float64Array(H);
  const rec = f32 ? new Float32Array(H) : new Float64Array(H);
  const mv = f32 ? matvec32 : matvec64;
  for (let d = 0; d < D; d++) {
    const [fA] = c.acts[d] as [Act];
    const xw = projectInputs(c, d, G);
    const rBase = d * G * H;
    const bBase = d * 2 * G;
    for (let b = 0; b < Bn; b++) {
      const so = stateOff(c, d, b);
      for (let j = 0; j < H; j++) hd[so + j] = c.h0 ? c.h0[so + j]! : 0;
      const len = c.lens[b]!;
      for (let step = 0; step < len; step++) {
        const t = c.reverse[d] ? len - 1 - step : step;
        hPrev.set(hd.subarray(so, so + H));
        const xo = (t * Bn + b) * G;
        mv(hPrev, 0, c.r, rBase, H, H, rec, 0);
        for (let j = 0; j < H; j++) {
          let g = rnd(xw[xo + j]! + rec[j]!);
          if (c.bias) {
            g = rnd(g + c.bias[bBase + j]!);
            g = rnd(g + c.bias[bBase + G + j]!);
          }
          if (hasClip) g = clipTo(g, cl);
          const h = fA(g);
          hd[so + j] = h;
          if (c.wantY) yd[yOff(c, t, d, b) + j] = h;
        }
      }
    }
  }
  return [Y, Yh];
};

export const ops: KernelTable = {
  LSTM: lstm,
  GRU: gru,
  RNN: rnnSimple,
};
