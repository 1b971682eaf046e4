// A tiny, readable neural-network training library for the sample models.
//
// Dense layers, ReLU/tanh, softmax cross-entropy / sigmoid cross-entropy / MSE
// losses, manual backprop, Adam, a seeded PRNG and deterministic data handling.
// Training runs in plain float64 JavaScript (it is not the verified engine).
//
// Reproducibility: every step of training uses only IEEE-754 basic operations
// (+ - * /, sqrt, Math.round/floor/abs/max), which ECMAScript engines compute
// exactly the same way on every machine. `Math.exp` / `Math.log` / `Math.tanh`
// are NOT used (their last bits are engine-specific); `exp`, `log` and `tanh`
// below are built from basic operations. So the same script gives the same
// weights, and thus the same .onnx bytes, on any machine and any Node version.

// ---------------------------------------------------------------- randomness

/** mulberry32: a tiny seeded PRNG returning uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of 0..n-1 driven by `rand`. */
export function permutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** A fixed train/test split of n rows by seeded shuffle; both index lists are sorted. */
export function shuffleSplit(n: number, testFraction: number, seed: number): { train: number[]; test: number[] } {
  const p = permutation(n, mulberry32(seed));
  const nTest = Math.round(n * testFraction);
  return {
    test: p.slice(0, nTest).sort((a, b) => a - b),
    train: p.slice(nTest).sort((a, b) => a - b),
  };
}

// ------------------------------------------------- deterministic exp / log

const LN2_HI = 6.93147180369123816490e-1; // fdlibm's split of ln 2: LN2_HI has trailing zero bits
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700;
const bits = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [-1022, 1023], built from its bit pattern (exact). */
function pow2(k: number): number {
  bits.setUint32(0, (k + 1023) << 20);
  bits.setUint32(4, 0);
  return bits.getFloat64(0);
}

/** e^x from basic operations only (range reduction by ln 2, Taylor series to degree 14). */
export function exp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.7) return Infinity;
  if (x < -745) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= 0.35
  let s = 1;
  for (let i = 14; i >= 1; i--) s = 1 + (s * r) / i;
  return k < -1000 ? s * pow2(k + 1000) * pow2(-1000) : k > 1000 ? s * pow2(k - 1000) * pow2(1000) : s * pow2(k);
}

/** Natural log of a positive normal number from basic operations only. */
export function log(x: number): number {
  if (!(x > 0) || x === Infinity || x < 2.2250738585072014e-308) {
    if (x === 0) return -Infinity;
    if (x === Infinity) return Infinity;
    if (!(x > 0)) return NaN;
    throw new Error('log: subnormal input not supported');
  }
  bits.setFloat64(0, x);
  const hi = bits.getUint32(0);
  let e = ((hi >>> 20) & 0x7ff) - 1023;
  bits.setUint32(0, (hi & 0x800fffff) | (1023 << 20)); // mantissa m in [1, 2)
  let m = bits.getFloat64(0);
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  // log m = 2 atanh(f) = 2 (f + f^3/3 + f^5/5 + ...), f = (m-1)/(m+1), |f| <= 0.1716
  const f = (m - 1) / (m + 1);
  const f2 = f * f;
  let s = 0;
  for (let i = 25; i >= 3; i -= 2) s = (s + 1 / i) * f2;
  return e * LN2_HI + (2 * f * (1 + s) + e * LN2_LO);
}

export function tanh(x: number): number {
  const a = Math.abs(x);
  const t = a > 20 ? 1 : 1 - 2 / (exp(2 * a) + 1);
  return x < 0 ? -t : t;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

// ------------------------------------------------------------- standardising

export interface Standardizer {
  mean: number[];
  std: number[];
}

/** Per-column mean and (population) standard deviation; fit on the train split only. */
export function fitStandardizer(rows: readonly (readonly number[])[]): Standardizer {
  const F = rows[0]!.length;
  const mean = new Array<number>(F).fill(0);
  const std = new Array<number>(F).fill(0);
  for (const r of rows) for (let j = 0; j < F; j++) mean[j]! += r[j]!;
  for (let j = 0; j < F; j++) mean[j]! /= rows.length;
  for (const r of rows) for (let j = 0; j < F; j++) std[j]! += (r[j]! - mean[j]!) * (r[j]! - mean[j]!);
  for (let j = 0; j < F; j++) std[j] = Math.max(Math.sqrt(std[j]! / rows.length), 1e-12);
  return { mean, std };
}

/**
 * Rounds a standardizer to float32, as it is stored in the ONNX file. Training
 * uses the rounded constants so that training and the exported graph agree.
 */
export function roundStandardizer(s: Standardizer): Standardizer {
  return { mean: s.mean.map(Math.fround), std: s.std.map(Math.fround) };
}

export function standardize(row: readonly number[], s: Standardizer): Float64Array {
  return Float64Array.from(row, (v, j) => (v - s.mean[j]!) / s.std[j]!);
}

// ---------------------------------------------------------------- the network

export type Activation = 'relu' | 'tanh';

/** y = x W + b with W stored [in][out] row-major (the layout of ONNX Gemm's B). */
export class Dense {
  readonly W: Float64Array;
  readonly b: Float64Array;
  readonly gW: Float64Array;
  readonly gb: Float64Array;

  constructor(
    readonly inputs: number,
    readonly outputs: number,
    rand: () => number,
    activation: Activation | 'linear',
  ) {
    // He-uniform for ReLU layers, Glorot-uniform otherwise; zero biases.
    const limit = activation === 'relu' ? Math.sqrt(6 / inputs) : Math.sqrt(6 / (inputs + outputs));
    this.W = Float64Array.from({ length: inputs * outputs }, () => (rand() * 2 - 1) * limit);
    this.b = new Float64Array(outputs);
    this.gW = new Float64Array(inputs * outputs);
    this.gb = new Float64Array(outputs);
  }

  forward(x: Float64Array, y: Float64Array): void {
    const { inputs: I, outputs: O, W, b } = this;
    for (let o = 0; o < O; o++) y[o] = b[o]!;
    for (let i = 0; i < I; i++) {
      const xi = x[i]!;
      for (let o = 0; o < O; o++) y[o]! += xi * W[i * O + o]!;
    }
  }

  /** Accumulates dL/dW, dL/db for one sample and writes dL/dx into gx (if given). */
  backward(x: Float64Array, gy: Float64Array, gx?: Float64Array): void {
    const { inputs: I, outputs: O, W, gW, gb } = this;
    for (let o = 0; o < O; o++) gb[o]! += gy[o]!;
    for (let i = 0; i < I; i++) {
      const xi = x[i]!;
      let s = 0;
      for (let o = 0; o < O; o++) {
        gW[i * O + o]! += xi * gy[o]!;
        s += W[i * O + o]! * gy[o]!;
      }
      if (gx) gx[i] = s;
    }
  }

  /** Rounds the parameters to float32 (what the ONNX file stores). */
  roundToFloat32(): void {
    for (let i = 0; i < this.W.length; i++) this.W[i] = Math.fround(this.W[i]!);
    for (let i = 0; i < this.b.length; i++) this.b[i] = Math.fround(this.b[i]!);
  }
}

/** A multilayer perceptron: Dense + activation for every hidden layer, a linear last layer. */
export class MLP {
  readonly layers: Dense[];
  /** Per-sample caches: the input of layer l is acts[l]; pre[l] is its output before activation. */
  private readonly acts: Float64Array[];
  private readonly pre: Float64Array[];
  private readonly grads: Float64Array[];

  constructor(
    readonly sizes: readonly number[],
    readonly activation: Activation,
    rand: () => number,
  ) {
    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const last = l + 2 === sizes.length;
      this.layers.push(new Dense(sizes[l]!, sizes[l + 1]!, rand, last ? 'linear' : activation));
    }
    this.acts = sizes.map((n) => new Float64Array(n));
    this.pre = sizes.slice(1).map((n) => new Float64Array(n));
    this.grads = sizes.map((n) => new Float64Array(n));
  }

  /** The network's raw (linear) outputs for one sample. The returned array is reused by the next call. */
  forward(x: ArrayLike<number>): Float64Array {
    this.acts[0]!.set(x);
    this.layers.forEach((layer, l) => {
      const z = this.pre[l]!;
      layer.forward(this.acts[l]!, z);
      const a = this.acts[l + 1]!;
      if (l + 1 === this.layers.length) a.set(z);
      else if (this.activation === 'relu') for (let i = 0; i < z.length; i++) a[i] = z[i]! > 0 ? z[i]! : 0;
      else for (let i = 0; i < z.length; i++) a[i] = tanh(z[i]!);
    });
    return this.acts[this.layers.length]!;
  }

  /** Backpropagates dL/d(output) of the last `forward` and accumulates parameter gradients. */
  backward(gradOut: Float64Array): void {
    let g = gradOut;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      if (l + 1 < this.layers.length) {
        // through the activation of layer l's output
        const z = this.pre[l]!;
        const a = this.acts[l + 1]!;
        for (let i = 0; i < g.length; i++) g[i] = this.activation === 'relu' ? (z[i]! > 0 ? g[i]! : 0) : g[i]! * (1 - a[i]! * a[i]!);
      }
      const gx = l > 0 ? this.grads[l]! : undefined;
      this.layers[l]!.backward(this.acts[l]!, g, gx);
      if (gx) g = gx;
    }
  }

  zeroGrad(): void {
    for (const layer of this.layers) {
      layer.gW.fill(0);
      layer.gb.fill(0);
    }
  }

  roundToFloat32(): void {
    for (const layer of this.layers) layer.roundToFloat32();
  }
}

// -------------------------------------------------------------------- losses

/** Softmax cross-entropy for one sample: writes dL/dlogits into grad, returns the loss. */
export function softmaxCrossEntropy(logits: Float64Array, label: number, grad: Float64Array): number {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += grad[i] = exp(logits[i]! - max);
  for (let i = 0; i < logits.length; i++) grad[i] = grad[i]! / sum - (i === label ? 1 : 0);
  return -(logits[label]! - max - log(sum));
}

/** Sigmoid (binary) cross-entropy of one logit against y in {0, 1}; returns [loss, dL/dlogit]. */
export function sigmoidCrossEntropy(logit: number, y: number): [number, number] {
  const p = sigmoid(logit);
  // log(1 + e^-|z|) + max(z, 0) - z y, the stable form
  const loss = log(1 + exp(-Math.abs(logit))) + Math.max(logit, 0) - logit * y;
  return [loss, p - y];
}

/** Squared error (p - t)^2 / 2; returns [loss, dL/dp]. */
export function squaredError(p: number, t: number): [number, number] {
  return [((p - t) * (p - t)) / 2, p - t];
}

// ---------------------------------------------------------------- optimiser

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty added to the gradient of the weights (not the biases). */
  weightDecay?: number;
}

export class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private readonly params: { p: Float64Array; g: Float64Array; decay: boolean }[];
  private b1t = 1;
  private b2t = 1;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(net: MLP, o: AdamOptions) {
    this.lr = o.lr;
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.params = net.layers.flatMap((l) => [
      { p: l.W, g: l.gW, decay: true },
      { p: l.b, g: l.gb, decay: false },
    ]);
    this.m = this.params.map(({ p }) => new Float64Array(p.length));
    this.v = this.params.map(({ p }) => new Float64Array(p.length));
  }

  /** One update from the accumulated gradients, which are divided by `batchSize` first. */
  step(batchSize: number): void {
    const { beta1, beta2, eps, lr, weightDecay } = this;
    this.b1t *= beta1; // beta^t by repeated multiplication (no Math.pow)
    this.b2t *= beta2;
    const c1 = 1 - this.b1t;
    const c2 = 1 - this.b2t;
    this.params.forEach(({ p, g, decay }, k) => {
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! / batchSize + (decay ? weightDecay * p[i]! : 0);
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        p[i]! -= (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
      }
    });
  }
}

// ---------------------------------------------------------------- training

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Seed of the per-epoch shuffles (the epoch order is deterministic). */
  seed: number;
  /** Number of training samples. */
  n: number;
  /** The (already standardised) input of sample i. */
  input: (i: number) => ArrayLike<number>;
  /** The loss of sample i given the network outputs; writes dL/doutputs into grad. */
  loss: (out: Float64Array, i: number, grad: Float64Array) => number;
}

/** Mini-batch training; returns the mean training loss of every epoch. */
export function train(net: MLP, opt: Adam, o: TrainOptions): number[] {
  const rand = mulberry32(o.seed);
  const grad = new Float64Array(net.sizes[net.sizes.length - 1]!);
  const history: number[] = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = permutation(o.n, rand);
    let total = 0;
    for (let start = 0; start < o.n; start += o.batchSize) {
      const end = Math.min(start + o.batchSize, o.n);
      net.zeroGrad();
      for (let k = start; k < end; k++) {
        const i = order[k]!;
        const out = net.forward(o.input(i));
        grad.fill(0);
        total += o.loss(out, i, grad);
        net.backward(grad);
      }
      opt.step(end - start);
    }
    history.push(total / o.n);
  }
  return history;
}

// ---------------------------------------------------------------- metrics

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

export function accuracy(pred: readonly number[], labels: readonly number[]): number {
  let ok = 0;
  pred.forEach((p, i) => (ok += p === labels[i] ? 1 : 0));
  return ok / labels.length;
}

/** The accuracy of always predicting the most frequent class of `trainLabels`. */
export function majorityBaseline(trainLabels: readonly number[], testLabels: readonly number[]): { label: number; accuracy: number } {
  const counts = new Map<number, number>();
  for (const l of trainLabels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let label = trainLabels[0]!;
  for (const [l, c] of [...counts].sort((a, b) => a[0] - b[0])) if (c > counts.get(label)!) label = l;
  return { label, accuracy: accuracy(testLabels.map(() => label), testLabels) };
}

/** Rounds a metric for metadata/README (6 significant decimals is plenty). */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
