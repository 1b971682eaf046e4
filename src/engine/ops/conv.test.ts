import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { roundHalfEven } from '../math/index.js';
import { rng } from '../../../test/fixtures/models.js';
import { attrsOf, makeCtx, prod, ravel, sameTensor, throwsCode, unravel } from '../../../test/fixtures/kernels.js';
import { ops, setConvColumnBudget, setConvSchedule, type ConvSchedule } from './conv.js';
import { setConvWasmIm2col } from '../wasm/convolution.js';

// ---------------------------------------------------------------------------
// helpers

type Attrs = Record<string, number | number[] | string>;

function run(op: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}): Tensor[] {
  return ops[op]!(inputs, makeCtx(op, attrsOf(attrs)));
}

function randTensor(r: () => number, dtype: 1 | 11, shape: number[]): Tensor {
  const n = prod(shape);
  const a = dtype === DType.float32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = dtype === DType.float32 ? Math.fround(r() * 4 - 2) : r() * 4 - 2;
  return new Tensor(dtype, shape, a);
}

interface ConvCase {
  x: number[];
  w: number[];
  group?: number;
  strides?: number[];
  dilations?: number[];
  pads?: number[];
  autoPad?: string;
  bias?: boolean;
}

/**
 * Plain per-output reference: straight from the canonical definition, with
 * explicit (already resolved) pads.
 */
function refConv(
  X: Tensor, W: Tensor, B: Tensor | undefined, group: number, strides: number[], dil: number[], pb: number[], out: number[],
): { shape: number[]; data: Float32Array | Float64Array } {
  const f32 = X.dtype === DType.float32;
  const r = f32 ? Math.fround : (v: number) => v;
  const [N, C] = X.shape as number[];
  const M = W.shape[0]!;
  const Cg = C! / group;
  const Mg = M / group;
  const ks = W.shape.slice(2);
  const xs = X.shape.slice(2);
  const shape = [N!, M, ...out];
  const y = f32 ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
  const x = X.data as Float32Array;
  const w = W.data as Float32Array;
  for (let e = 0; e < y.length; e++) {
    const [n, m, ...o] = unravel(e, shape) as number[];
    const g = Math.floor(m! / Mg);
    let acc = 0;
    for (let cl = 0; cl < Cg; cl++) {
      const c = g * Cg + cl;
      for (let kp = 0; kp < prod(ks); kp++) {
        const kk = unravel(kp, ks);
        const pos = o.map((oj, j) => oj * strides[j]! + kk[j]! * dil[j]! - pb[j]!);
        if (pos.some((p, j) => p < 0 || p >= xs[j]!)) continue;
        const xv = x[ravel([n!, c, ...pos], X.shape)]!;
        const wv = w[ravel([m!, cl, ...kk], W.shape)]!;
        acc = r(acc + r(xv * wv));
      }
    }
    if (B) acc = r(acc + (B.data as Float32Array)[m!]!);
    y[e] = acc;
  }
  return { shape, data: y };
}

function resolvePads(c: ConvCase, xs: number[], ks: number[]): { pb: number[]; out: number[]; strides: number[]; dil: number[] } {
  const k = xs.length;
  const strides = c.strides ?? new Array(k).fill(1);
  const dil = c.dilations ?? new Array(k).fill(1);
  const pads = c.pads ?? new Array(2 * k).fill(0);
  const pb: number[] = [];
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    const eff = (ks[j]! - 1) * dil[j]! + 1;
    if (c.autoPad === 'SAME_UPPER' || c.autoPad === 'SAME_LOWER') {
      const o = Math.ceil(xs[j]! / strides[j]!);
      const total = Math.max(0, (o - 1) * strides[j]! + eff - xs[j]!);
      pb.push(c.autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2));
      out.push(o);
    } else if (c.autoPad === 'VALID') {
      pb.push(0);
      out.push(Math.floor((xs[j]! - eff) / strides[j]!) + 1);
    } else {
      pb.push(pads[j]!);
      out.push(Math.floor((xs[j]! + pads[j]! + pads[j + k]! - eff) / strides[j]!) + 1);
    }
  }
  return { pb, out, strides, dil };
}

function convAttrs(c: ConvCase): Attrs {
  const a: Attrs = {};
  if (c.group) a.group = c.group;
  if (c.strides) a.strides = c.strides;
  if (c.dilations) a.dilations = c.dilations;
  if (c.pads) a.pads = c.pads;
  if (c.autoPad) a.auto_pad = c.autoPad;
  return a;
}

function checkConvCase(c: ConvCase, dtype: 1 | 11, seed: number): void {
  const r = rng(seed);
  const X = randTensor(r, dtype, c.x);
  const W = randTensor(r, dtype, c.w);
  const B = c.bias ? randTensor(r, dtype, [c.w[0]!]) : undefined;
  const [Y] = run('Conv', [X, W, B], convAttrs(c));
  const { pb, out, strides, dil } = resolvePads(c, c.x.slice(2), c.w.slice(2));
  sameTensor(Y!, refConv(X, W, B, c.group ?? 1, strides, dil, pb, out), JSON.stringify(c));
}

// ---------------------------------------------------------------------------
// Conv

const convCases: ConvCase[] = [
  // 2-D: tiles along the last axis, row lanes on borders, corners
  { x: [2, 3, 14, 14], w: [5, 3, 3, 3], pads: [1, 1, 1, 1], bias: true },
  { x: [1, 2, 21, 19], w: [4, 2, 3, 5], pads: [2, 0, 1, 3], strides: [2, 1], bias: true },
  { x: [1, 4, 17, 23], w: [6, 2, 3, 3], group: 2, dilations: [2, 3], pads: [1, 2, 3, 1] },
  { x: [2, 6, 12, 11], w: [6, 1, 3, 3], group: 6, strides: [2, 3], pads: [1, 1, 1, 1], bias: true }, // depthwise
  { x: [1, 3, 9, 30], w: [2, 3, 1, 1] },
  { x: [1, 1, 5, 5], w: [1, 1, 3, 3], autoPad: 'SAME_LOWER', strides: [2, 2] },
  { x: [1, 2, 13, 16], w: [3, 2, 4, 4], autoPad: 'SAME_UPPER', bias: true },
  { x: [1, 2, 13, 16], w: [3, 2, 4, 4], autoPad: 'SAME_LOWER', strides: [3, 2] },
  { x: [1, 2, 13, 16], w: [3, 2, 4, 2], autoPad: 'VALID', strides: [2, 2] },
  { x: [1, 1, 4, 4], w: [1, 1, 3, 3], pads: [3, 3, 3, 3] }, // windows entirely in the padding
  { x: [1, 2, 3, 40], w: [2, 2, 3, 7], pads: [0, 5, 0, 6], strides: [1, 3], dilations: [1, 2] },
  // 1-D
  { x: [3, 2, 37], w: [4, 2, 5], pads: [2, 3], strides: [2], bias: true },
  { x: [1, 4, 9], w: [4, 2, 3], group: 2, dilations: [3], pads: [4, 0] },
  { x: [1, 1, 50], w: [1, 1, 1] },
  // 3-D
  { x: [1, 2, 5, 6, 11], w: [3, 2, 3, 2, 3], pads: [1, 0, 1, 1, 1, 2], bias: true },
  { x: [2, 2, 10, 9, 12], w: [2, 1, 2, 3, 3], group: 2, strides: [2, 1, 2], dilations: [1, 2, 1], pads: [1, 1, 1, 0, 2, 1] },
  // 4-D spatial
  { x: [1, 2, 3, 4, 3, 10], w: [2, 2, 2, 2, 2, 3], pads: [1, 0, 1, 1, 0, 1, 0, 1], bias: true },
];

test('Conv float32 fast path is bit-identical to the plain canonical loop (1-D/2-D/3-D/4-D, groups, dilation, strides, pads)', () => {
  convCases.forEach((c, i) => checkConvCase(c, DType.float32, 100 + i));
});

test('Conv float64 fast path matches the plain canonical loop', () => {
  convCases.forEach((c, i) => checkConvCase(c, DType.float64, 200 + i));
});

test('Conv random shapes fuzz (float32, bit-exact)', () => {
  const r = rng(7);
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let it = 0; it < 60; it++) {
    const k = ri(1, 3);
    const group = ri(1, 3);
    const Cg = ri(1, 3);
    const Mg = ri(1, 3);
    const ks: number[] = [];
    const xs: number[] = [];
    const strides: number[] = [];
    const dil: number[] = [];
    const pads: number[] = new Array(2 * k).fill(0);
    for (let j = 0; j < k; j++) {
      ks.push(ri(1, 4));
      strides.push(ri(1, 3));
      dil.push(ri(1, 2));
      xs.push(ri(1, k === 1 ? 40 : 18));
      pads[j] = ri(0, 3);
      pads[j + k] = ri(0, 3);
      const eff = (ks[j]! - 1) * dil[j]! + 1;
      if (xs[j]! + pads[j]! + pads[j + k]! < eff) xs[j] = eff;
    }
    const c: ConvCase = { x: [ri(1, 2), Cg * group, ...xs], w: [Mg * group, Cg, ...ks], group, strides, dilations: dil, pads, bias: r() < 0.5 };
    checkConvCase(c, DType.float32, 1000 + it);
  }
});

test('Conv: padded positions contribute nothing (an infinite weight on a padded tap does not give NaN)', () => {
  const X = new Tensor(DType.float32, [1, 1, 1, 1], Float32Array.from([2]));
  const w = new Float32Array(9).fill(1);
  w[0] = Infinity;
  const W = new Tensor(DType.float32, [1, 1, 3, 3], w);
  const [Y] = run('Conv', [X, W], { pads: [1, 1, 1, 1] });
  assert.deepEqual([...Y!.data], [2]);
});

test('Conv: -0 behaviour (acc starts at +0; bias -0 keeps +0; all-padding window gives +0 + bias)', () => {
  const X = new Tensor(DType.float32, [1, 1, 2, 2], Float32Array.from([1, 1, 1, 1]));
  const W = new Tensor(DType.float32, [1, 1, 2, 2], Float32Array.from([-0, -0, -0, -0]));
  const [Y] = run('Conv', [X, W]);
  assert.ok(Object.is(Y!.data[0], 0), 'sum of -0 products from +0 is +0');
  const Bn = new Tensor(DType.float32, [1], Float32Array.from([-0]));
  const [Y2] = run('Conv', [X, W, Bn]);
  assert.ok(Object.is(Y2!.data[0], 0), '+0 + -0 = +0');
  // window entirely in padding: acc = +0, then + bias
  const B = new Tensor(DType.float32, [1], Float32Array.from([1.5]));
  const [Y3] = run('Conv', [X, W, B], { pads: [2, 2, 2, 2] });
  assert.equal(Y3!.data[0], 1.5);
});

test('Conv: every multiply and add rounds to float32 (no fused multiply-add, no double accumulation)', () => {
  // x*w is not representable in f32; a double accumulation would differ.
  const a = Math.fround(1 + 2 ** -12);
  const X = new Tensor(DType.float32, [1, 1, 3], Float32Array.from([a, a, 1]));
  const W = new Tensor(DType.float32, [1, 1, 3], Float32Array.from([a, -a, 2 ** -30]));
  const [Y] = run('Conv', [X, W]);
  let acc = 0;
  acc = Math.fround(acc + Math.fround(a * a));
  acc = Math.fround(acc + Math.fround(a * -a));
  acc = Math.fround(acc + Math.fround(1 * 2 ** -30));
  assert.equal(Y!.data[0], acc);
});

test('Conv kernel_shape attribute: inferred from W, checked when given', () => {
  const X = new Tensor(DType.float32, [1, 1, 4, 4], new Float32Array(16).fill(1));
  const W = new Tensor(DType.float32, [1, 1, 3, 3], new Float32Array(9).fill(1));
  assert.equal(run('Conv', [X, W], { kernel_shape: [3, 3] })[0]!.data[0], 9);
  throwsCode(() => run('Conv', [X, W], { kernel_shape: [2, 2] }), 'INVALID_ARGUMENT');
});

test('Conv invalid inputs give INVALID_ARGUMENT; float16 gives UNSUPPORTED_FEATURE', () => {
  const X = new Tensor(DType.float32, [1, 4, 5, 5], new Float32Array(100));
  const W3 = new Tensor(DType.float32, [2, 3, 3, 3], new Float32Array(54));
  throwsCode(() => run('Conv', [X, W3]), 'INVALID_ARGUMENT'); // channel mismatch
  const W2 = new Tensor(DType.float32, [3, 2, 3, 3], new Float32Array(54));
  throwsCode(() => run('Conv', [X, W2], { group: 2 }), 'INVALID_ARGUMENT'); // group does not divide M
  const W1 = new Tensor(DType.float32, [3, 1, 3, 3], new Float32Array(27));
  throwsCode(() => run('Conv', [X, W1], { group: 3 }), 'INVALID_ARGUMENT'); // group does not divide C
  const W = new Tensor(DType.float32, [2, 4, 3, 3], new Float32Array(72));
  throwsCode(() => run('Conv', [X, W, new Tensor(DType.float32, [3], new Float32Array(3))]), 'INVALID_ARGUMENT'); // bias shape
  throwsCode(() => run('Conv', [X, W], { strides: [0, 1] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Conv', [X, W], { pads: [1, 1] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Conv', [X, W], { pads: [-1, 0, 0, 0] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Conv', [X, W], { auto_pad: 'BOGUS' }), 'INVALID_ARGUMENT');
  const Wbig = new Tensor(DType.float32, [1, 4, 7, 7], new Float32Array(196));
  throwsCode(() => run('Conv', [X, Wbig]), 'INVALID_ARGUMENT'); // kernel larger than input
  throwsCode(() => run('Conv', [X, new Tensor(DType.float64, [2, 4, 3, 3], new Float64Array(72))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Conv', [new Tensor(DType.float32, [4, 5], new Float32Array(20)), W]), 'INVALID_ARGUMENT');
  const H = new Tensor(DType.float16, [1, 4, 5, 5], new Uint16Array(100));
  throwsCode(() => run('Conv', [H, new Tensor(DType.float16, [2, 4, 3, 3], new Uint16Array(72))]), 'UNSUPPORTED_FEATURE');
});

test('Conv with an empty batch gives an empty output', () => {
  const X = new Tensor(DType.float32, [0, 2, 5, 5], new Float32Array(0));
  const W = new Tensor(DType.float32, [3, 2, 3, 3], new Float32Array(54));
  assert.deepEqual([...run('Conv', [X, W])[0]!.shape], [0, 3, 3, 3]);
});

// ---------------------------------------------------------------------------
// Conv float32 im2col + GEMM schedule (finite weights) vs the direct engine

/** Runs Conv under a forced schedule (and column budget), restoring the defaults after. */
function runConvWith(schedule: ConvSchedule, inputs: (Tensor | undefined)[], attrs: Attrs, budget?: number): Tensor {
  const prevS = setConvSchedule(schedule);
  const prevB = budget === undefined ? undefined : setConvColumnBudget(budget);
  try {
    return run('Conv', inputs, attrs)[0]!;
  } finally {
    setConvSchedule(prevS);
    if (prevB !== undefined) setConvColumnBudget(prevB);
  }
}

/** Both schedules (and auto, and a chunked GEMM) must give the reference's bits. */
function checkAllSchedules(c: ConvCase, X: Tensor, W: Tensor, B: Tensor | undefined, msg: string, chunkRows = 0): void {
  const { pb, out, strides, dil } = resolvePads(c, c.x.slice(2), c.w.slice(2));
  const want = refConv(X, W, B, c.group ?? 1, strides, dil, pb, out);
  const a = convAttrs(c);
  for (const s of ['auto', 'wasm', 'gemm', 'direct'] as const) sameTensor(runConvWith(s, [X, W, B], a), want, `${msg} [${s}]`);
  const prevIm2col = setConvWasmIm2col(true); // the WebAssembly kernel's column-matrix mode on every shape
  try {
    sameTensor(runConvWith('wasm', [X, W, B], a), want, `${msg} [wasm im2col]`);
  } finally {
    setConvWasmIm2col(prevIm2col);
  }
  if (chunkRows > 0) {
    const Kd = prod(c.w.slice(1));
    const outR = out[out.length - 1]!;
    sameTensor(runConvWith('gemm', [X, W, B], a, Kd * outR * chunkRows), want, `${msg} [gemm, ${chunkRows}-row chunks]`);
  }
}

/** Random float32 values with a share of specials: -0, +0, subnormals, tiny/huge magnitudes. */
function specialF32(r: () => number, n: number, allowNonFinite: boolean): Float32Array {
  const a = new Float32Array(n);
  const sub = [2 ** -149, -(2 ** -149), 3 * 2 ** -140, -(2 ** -127), 2 ** -126 - 2 ** -149];
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.1) a[i] = -0;
    else if (u < 0.2) a[i] = 0;
    else if (u < 0.3) a[i] = sub[Math.floor(r() * sub.length)]!;
    else if (u < 0.35) a[i] = (r() < 0.5 ? -1 : 1) * 2 ** -70; // products underflow to ±0 or subnormals
    else if (u < 0.4) a[i] = (r() < 0.5 ? -1 : 1) * 2 ** 70; // products overflow to ±Inf
    else if (allowNonFinite && u < 0.45) a[i] = [Infinity, -Infinity, NaN][Math.floor(r() * 3)]!;
    else a[i] = Math.fround(r() * 4 - 2);
  }
  return a;
}

const gemmCases: ConvCase[] = [
  // the bench CNN's layers (large enough for the WebAssembly GEMM)
  { x: [2, 1, 28, 28], w: [16, 1, 3, 3], pads: [1, 1, 1, 1], bias: true },
  { x: [2, 16, 14, 14], w: [32, 16, 3, 3], pads: [1, 1, 1, 1], bias: true },
  // 1x1: identity columns (unit strides, no pads), strided, padded
  { x: [2, 8, 7, 9], w: [12, 8, 1, 1], bias: true },
  { x: [1, 8, 7, 9], w: [12, 8, 1, 1], strides: [2, 2] },
  { x: [1, 8, 7, 9], w: [12, 4, 1, 1], group: 2, pads: [1, 0, 0, 2] },
  // groups, depthwise, depthwise with multiplier
  { x: [2, 6, 12, 11], w: [12, 3, 3, 3], group: 2, strides: [2, 1], pads: [1, 2, 0, 1], bias: true },
  { x: [2, 8, 10, 10], w: [8, 1, 3, 3], group: 8, pads: [1, 1, 1, 1], bias: true },
  { x: [1, 4, 9, 13], w: [8, 1, 5, 3], group: 4, dilations: [2, 3], pads: [3, 1, 2, 4] },
  // asymmetric pads, dilation, strides, windows entirely in padding
  { x: [1, 3, 6, 20], w: [7, 3, 3, 5], pads: [4, 0, 4, 6], strides: [3, 2], dilations: [1, 2], bias: true },
  { x: [1, 2, 4, 4], w: [5, 2, 3, 3], pads: [3, 3, 3, 3] },
  { x: [1, 2, 13, 16], w: [6, 2, 4, 4], autoPad: 'SAME_UPPER', bias: true },
  { x: [1, 2, 13, 16], w: [6, 2, 4, 4], autoPad: 'SAME_LOWER', strides: [3, 2] },
  // 1-D and 3-D
  { x: [3, 4, 57], w: [9, 4, 5], pads: [2, 3], strides: [2], bias: true },
  { x: [1, 6, 40], w: [6, 2, 3], group: 3, dilations: [3], pads: [4, 0] },
  { x: [1, 3, 5, 6, 11], w: [5, 3, 3, 2, 3], pads: [1, 0, 1, 1, 1, 2], bias: true },
  { x: [2, 4, 6, 9, 8], w: [6, 2, 2, 3, 3], group: 2, strides: [2, 1, 2], dilations: [1, 2, 1], pads: [1, 1, 1, 0, 2, 1] },
];

test('Conv im2col + GEMM schedule is bit-identical to the canonical loop and to the direct engine (finite weights)', () => {
  gemmCases.forEach((c, i) => {
    const r = rng(300 + i);
    const X = randTensor(r, DType.float32, c.x);
    const W = randTensor(r, DType.float32, c.w);
    const B = c.bias ? randTensor(r, DType.float32, [c.w[0]!]) : undefined;
    checkAllSchedules(c, X, W, B, `case ${i} ${JSON.stringify(c)}`, 1 + (i % 3));
  });
});

test('Conv GEMM schedule: weights and inputs with -0, +0, subnormals, underflow and overflow keep every bit', () => {
  gemmCases.forEach((c, i) => {
    const r = rng(400 + i);
    // finite weights (GEMM path) with signed zeros and subnormals; inputs may hold Inf/NaN (real taps)
    const X = new Tensor(DType.float32, c.x, specialF32(r, prod(c.x), true));
    const W = new Tensor(DType.float32, c.w, specialF32(r, prod(c.w), false));
    const B = c.bias ? new Tensor(DType.float32, [c.w[0]!], specialF32(r, c.w[0]!, false)) : undefined;
    checkAllSchedules(c, X, W, B, `special case ${i}`, 2);
    // all-(-0) weights: every output is +0 (+ bias) on both paths
    const Wz = new Tensor(DType.float32, c.w, new Float32Array(prod(c.w)).fill(-0));
    const Xp = randTensor(r, DType.float32, c.x);
    checkAllSchedules(c, Xp, Wz, B, `-0 weights case ${i}`);
  });
});

test('Conv with non-finite weights takes the direct engine (0 * Inf on a padded tap must not appear) and still matches', () => {
  gemmCases.forEach((c, i) => {
    const r = rng(500 + i);
    const X = randTensor(r, DType.float32, c.x);
    const W = new Tensor(DType.float32, c.w, specialF32(r, prod(c.w), true));
    const w = W.data as Float32Array;
    w[Math.floor(r() * w.length)] = [Infinity, -Infinity, NaN][i % 3]!; // at least one non-finite weight
    const B = c.bias ? randTensor(r, DType.float32, [c.w[0]!]) : undefined;
    checkAllSchedules(c, X, W, B, `non-finite case ${i}`, 1);
  });
  // the corner tap of a padded 3x3 conv is Inf: the canonical result is finite
  const X = new Tensor(DType.float32, [1, 1, 5, 5], new Float32Array(25).fill(1));
  const w = new Float32Array(9).fill(0.5);
  w[0] = Infinity;
  const W = new Tensor(DType.float32, [1, 1, 3, 3], w);
  const y = runConvWith('gemm', [X, W], { pads: [1, 1, 1, 1] }).data as Float32Array;
  assert.equal(y[0], 2); // top-left output: the Inf tap reads padding and is skipped
  assert.equal(y[6], Infinity);
});

test('Conv GEMM schedule random shapes fuzz (groups, depthwise, strides, dilations, asymmetric pads, 1-D/2-D/3-D; bit-exact)', () => {
  const r = rng(17);
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let it = 0; it < 80; it++) {
    const k = ri(1, 3);
    const group = ri(1, 4);
    const Cg = r() < 0.3 ? 1 : ri(1, 6);
    const Mg = r() < 0.3 ? 1 : ri(1, 9);
    const ks: number[] = [];
    const xs: number[] = [];
    const strides: number[] = [];
    const dil: number[] = [];
    const pads: number[] = new Array(2 * k).fill(0);
    for (let j = 0; j < k; j++) {
      ks.push(ri(1, k === 3 ? 3 : 5));
      strides.push(ri(1, 3));
      dil.push(ri(1, 3));
      xs.push(ri(1, k === 1 ? 60 : k === 2 ? 20 : 8));
      pads[j] = ri(0, 4);
      pads[j + k] = ri(0, 4);
      const eff = (ks[j]! - 1) * dil[j]! + 1;
      if (xs[j]! + pads[j]! + pads[j + k]! < eff) xs[j] = eff;
    }
    const c: ConvCase = { x: [ri(1, 3), Cg * group, ...xs], w: [Mg * group, Cg, ...ks], group, strides, dilations: dil, pads, bias: r() < 0.5 };
    const rr = rng(2000 + it);
    const X = randTensor(rr, DType.float32, c.x);
    const W = new Tensor(DType.float32, c.w, r() < 0.5 ? specialF32(rr, prod(c.w), false) : (randTensor(rr, DType.float32, c.w).data as Float32Array));
    const B = c.bias ? randTensor(rr, DType.float32, [c.w[0]!]) : undefined;
    checkAllSchedules(c, X, W, B, `fuzz ${it} ${JSON.stringify(c)}`, ri(1, 3));
  }
});

test('Conv GEMM schedule: the same weight tensor is reused across calls and inputs (scratch buffers carry no state)', () => {
  const c: ConvCase = { x: [2, 16, 14, 14], w: [32, 16, 3, 3], pads: [1, 1, 1, 1], bias: true };
  const r = rng(77);
  const W = randTensor(r, DType.float32, c.w);
  const B = randTensor(r, DType.float32, [32]);
  const other: ConvCase = { x: [1, 3, 9, 7], w: [4, 3, 2, 2], strides: [2, 1] };
  for (let it = 0; it < 3; it++) {
    checkAllSchedules(c, randTensor(r, DType.float32, c.x), W, B, `reuse ${it}`);
    checkAllSchedules(other, randTensor(r, DType.float32, other.x), randTensor(r, DType.float32, other.w), undefined, `interleaved ${it}`);
  }
});

// ---------------------------------------------------------------------------
// ConvTranspose

/** Gather-form reference with explicit begin pads and output extent. */
function refConvT(
  X: Tensor, W: Tensor, B: Tensor | undefined, group: number, strides: number[], dil: number[], pb: number[], out: number[],
): { shape: number[]; data: Float32Array | Float64Array } {
  const f32 = X.dtype === DType.float32;
  const r = f32 ? Math.fround : (v: number) => v;
  const [N, C] = X.shape as number[];
  const Mg = W.shape[1]!;
  const M = Mg * group;
  const Cg = C! / group;
  const ks = W.shape.slice(2);
  const xs = X.shape.slice(2);
  const shape = [N!, M, ...out];
  const y = f32 ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
  for (let e = 0; e < y.length; e++) {
    const [n, m, ...o] = unravel(e, shape) as number[];
    const g = Math.floor(m! / Mg);
    let acc = 0;
    for (let cl = 0; cl < Cg; cl++) {
      const c = g * Cg + cl;
      for (let kp = 0; kp < prod(ks); kp++) {
        const kk = unravel(kp, ks);
        const pos: number[] = [];
        let ok = true;
        for (let j = 0; j < xs.length; j++) {
          const t = o[j]! + pb[j]! - kk[j]! * dil[j]!;
          if (t % strides[j]! !== 0 || t < 0 || t / strides[j]! >= xs[j]!) ok = false;
          pos.push(t / strides[j]!);
        }
        if (!ok) continue;
        const xv = (X.data as Float32Array)[ravel([n!, c, ...pos], X.shape)]!;
        const wv = (W.data as Float32Array)[ravel([c, m! - g * Mg, ...kk], W.shape)]!;
        acc = r(acc + r(xv * wv));
      }
    }
    if (B) acc = r(acc + (B.data as Float32Array)[m!]!);
    y[e] = acc;
  }
  return { shape, data: y };
}

test('ConvTranspose matches the gather-form reference bit-exactly (1-D/2-D/3-D, groups, strides, dilations, pads, output_padding)', () => {
  const cases: { x: number[]; w: number[]; group?: number; strides?: number[]; dil?: number[]; pads?: number[]; op?: number[]; bias?: boolean }[] = [
    { x: [2, 3, 5, 4], w: [3, 2, 3, 3], strides: [2, 3], pads: [1, 0, 2, 1], bias: true },
    { x: [1, 4, 6, 5], w: [4, 3, 2, 3], group: 2, strides: [3, 2], dil: [2, 1], op: [1, 1], bias: true },
    { x: [1, 2, 9], w: [2, 3, 4], strides: [2], pads: [1, 2] },
    { x: [1, 2, 3, 4, 3], w: [2, 2, 2, 3, 2], strides: [2, 1, 2], dil: [1, 2, 1], pads: [0, 1, 1, 1, 0, 0], op: [1, 0, 0] },
    { x: [1, 1, 12, 13], w: [1, 2, 3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
  ];
  cases.forEach((c, i) => {
    const r = rng(300 + i);
    const X = randTensor(r, DType.float32, c.x);
    const W = randTensor(r, DType.float32, c.w);
    const g = c.group ?? 1;
    const B = c.bias ? randTensor(r, DType.float32, [c.w[1]! * g]) : undefined;
    const k = c.x.length - 2;
    const strides = c.strides ?? new Array(k).fill(1);
    const dil = c.dil ?? new Array(k).fill(1);
    const pads = c.pads ?? new Array(2 * k).fill(0);
    const op = c.op ?? new Array(k).fill(0);
    const attrs: Attrs = { strides, dilations: dil, pads, output_padding: op };
    if (c.group) attrs.group = c.group;
    const out = c.x.slice(2).map((xs, j) => strides[j]! * (xs - 1) + op[j]! + (c.w[j + 2]! - 1) * dil[j]! + 1 - pads[j]! - pads[j + k]!);
    const want = refConvT(X, W, B, g, strides, dil, pads.slice(0, k), out);
    // 'auto': the WebAssembly gather (1-D/2-D); 'direct': the JS scatter
    for (const s of ['auto', 'direct'] as const) sameTensor(runConvTWith(s, [X, W, B], attrs), want, `ConvTranspose case ${i} [${s}]`);
    // specials in x and w (finite weights: WebAssembly; one non-finite weight: the scatter)
    const Xs = new Tensor(DType.float32, c.x, specialF32(r, prod(c.x), true));
    const Ws = new Tensor(DType.float32, c.w, specialF32(r, prod(c.w), false));
    for (const s of ['auto', 'direct'] as const) {
      sameTensor(runConvTWith(s, [Xs, Ws, B], attrs), refConvT(Xs, Ws, B, g, strides, dil, pads.slice(0, k), out), `ConvTranspose special ${i} [${s}]`);
    }
    const Wn = new Tensor(DType.float32, c.w, specialF32(r, prod(c.w), true));
    (Wn.data as Float32Array)[i % prod(c.w)] = [Infinity, -Infinity, NaN][i % 3]!;
    sameTensor(runConvTWith('auto', [Xs, Wn, B], attrs), refConvT(Xs, Wn, B, g, strides, dil, pads.slice(0, k), out), `ConvTranspose non-finite ${i}`);
  });
});

function runConvTWith(schedule: ConvSchedule, inputs: (Tensor | undefined)[], attrs: Attrs): Tensor {
  const prev = setConvSchedule(schedule);
  try {
    return run('ConvTranspose', inputs, attrs)[0]!;
  } finally {
    setConvSchedule(prev);
  }
}

test('ConvTranspose output_shape and auto_pad split the total padding as the spec says', () => {
  const r = rng(9);
  const X = randTensor(r, DType.float32, [1, 1, 3, 3]);
  const W = randTensor(r, DType.float32, [1, 2, 3, 3]);
  // output_shape larger than the full output: negative total padding, extra at the end
  const [Y] = run('ConvTranspose', [X, W], { output_shape: [10, 8], strides: [3, 2] });
  sameTensor(Y!, refConvT(X, W, undefined, 1, [3, 2], [1, 1], [0, 0], [10, 8]), 'output_shape');
  // SAME_UPPER: out = in * s, odd total padding goes to the end
  const [Y2] = run('ConvTranspose', [X, W], { auto_pad: 'SAME_UPPER', strides: [2, 2] });
  sameTensor(Y2!, refConvT(X, W, undefined, 1, [2, 2], [1, 1], [0, 0], [6, 6]), 'SAME_UPPER');
  const [Y3] = run('ConvTranspose', [X, W], { auto_pad: 'SAME_LOWER', strides: [2, 2] });
  sameTensor(Y3!, refConvT(X, W, undefined, 1, [2, 2], [1, 1], [1, 1], [6, 6]), 'SAME_LOWER');
});

test('ConvTranspose invalid inputs', () => {
  const X = new Tensor(DType.float32, [1, 4, 3, 3], new Float32Array(36));
  throwsCode(() => run('ConvTranspose', [X, new Tensor(DType.float32, [3, 2, 3, 3], new Float32Array(54))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ConvTranspose', [X, new Tensor(DType.float32, [4, 2, 3, 3], new Float32Array(72))], { group: 3 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('ConvTranspose', [X, new Tensor(DType.float32, [4, 2, 3, 3], new Float32Array(72))], { output_padding: [2, 0] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('ConvTranspose', [X, new Tensor(DType.float32, [4, 2, 3, 3], new Float32Array(72))], { pads: [3, 3, 3, 3] }), 'INVALID_ARGUMENT');
});

// ---------------------------------------------------------------------------
// ConvInteger / QLinearConv

function intConvRef(
  x: Int32Array | Uint8Array | Int8Array, xs: number[], w: Int32Array | Uint8Array | Int8Array, ws: number[], xzp: number, wzp: number[],
  pads: number[], strides: number[],
): { shape: number[]; acc: number[] } {
  const [N, C, H, Wd] = xs as [number, number, number, number];
  const [M, , KH, KW] = ws as [number, number, number, number];
  const OH = Math.floor((H + pads[0]! + pads[2]! - KH) / strides[0]!) + 1;
  const OW = Math.floor((Wd + pads[1]! + pads[3]! - KW) / strides[1]!) + 1;
  const acc: number[] = [];
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let a = 0;
          for (let c = 0; c < C; c++)
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * strides[0]! + kh - pads[0]!;
                const iw = ow * strides[1]! + kw - pads[1]!;
                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                a += (x[((n * C + c) * H + ih) * Wd + iw]! - xzp) * (w[((m * C + c) * KH + kh) * KW + kw]! - wzp[m]!);
              }
          acc.push(a);
        }
  return { shape: [N, M, OH, OW], acc };
}

test('ConvInteger: exact (x - x_zp) * (w - w_zp[m]) sums, per-channel w zero points, int8 and uint8', () => {
  const r = rng(42);
  for (const [xt, wt] of [[DType.uint8, DType.uint8], [DType.int8, DType.int8], [DType.uint8, DType.int8]] as const) {
    const xs = [2, 3, 7, 6];
    const ws = [4, 3, 3, 2];
    const mk = (t: number, n: number) => (t === DType.uint8 ? Uint8Array.from({ length: n }, () => Math.floor(r() * 256)) : Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128));
    const x = mk(xt, prod(xs));
    const w = mk(wt, prod(ws));
    const xzp = xt === DType.uint8 ? 131 : -7;
    const wzp = wt === DType.uint8 ? [3, 250, 0, 128] : [-128, 5, 0, 127];
    const X = new Tensor(xt, xs, x);
    const W = new Tensor(wt, ws, w);
    const XZ = new Tensor(xt, [], xt === DType.uint8 ? Uint8Array.from([xzp]) : Int8Array.from([xzp]));
    const WZ = new Tensor(wt, [4], wt === DType.uint8 ? Uint8Array.from(wzp) : Int8Array.from(wzp));
    const [Y] = run('ConvInteger', [X, W, XZ, WZ], { pads: [1, 2, 0, 1], strides: [2, 1] });
    const ref = intConvRef(x, xs, w, ws, xzp, wzp, [1, 2, 0, 1], [2, 1]);
    assert.equal(Y!.dtype, DType.int32);
    assert.deepEqual([...Y!.shape], ref.shape);
    assert.deepEqual([...Y!.data], ref.acc);
  }
});

test('QLinearConv: int accumulation + bias, f32 requantization, round half even, saturation', () => {
  const r = rng(5);
  const xs = [1, 2, 6, 6];
  const ws = [3, 2, 3, 3];
  const x = Uint8Array.from({ length: prod(xs) }, () => Math.floor(r() * 256));
  const w = Int8Array.from({ length: prod(ws) }, () => Math.floor(r() * 256) - 128);
  const f = (v: number) => new Tensor(DType.float32, [], Float32Array.from([v]));
  const xScale = 0.0123;
  const wScales = [0.02, 0.0031, 0.5];
  const yScale = 0.173;
  const bias = [100, -2000, 7];
  for (const yt of [DType.uint8, DType.int8] as const) {
    const yzp = yt === DType.uint8 ? 120 : -3;
    const inputs = [
      new Tensor(DType.uint8, xs, x),
      f(xScale),
      new Tensor(DType.uint8, [], Uint8Array.from([128])),
      new Tensor(DType.int8, ws, w),
      new Tensor(DType.float32, [3], Float32Array.from(wScales)),
      new Tensor(DType.int8, [3], Int8Array.from([0, 1, -1])),
      f(yScale),
      yt === DType.uint8 ? new Tensor(DType.uint8, [], Uint8Array.from([yzp])) : new Tensor(DType.int8, [], Int8Array.from([yzp])),
      new Tensor(DType.int32, [3], Int32Array.from(bias)),
    ];
    const [Y] = run('QLinearConv', inputs, { pads: [1, 1, 1, 1] });
    const ref = intConvRef(x, xs, w, ws, 128, [0, 1, -1], [1, 1, 1, 1], [1, 1]);
    const plane = prod(ref.shape.slice(2));
    const lo = yt === DType.uint8 ? 0 : -128;
    const hi = yt === DType.uint8 ? 255 : 127;
    const want = ref.acc.map((a, i) => {
      const m = Math.floor(i / plane) % 3;
      const scale = Math.fround(Math.fround(Math.fround(xScale) * Math.fround(wScales[m]!)) / Math.fround(yScale));
      const q = roundHalfEven(Math.fround(Math.fround((a + bias[m]!) | 0) * scale)) + yzp;
      return Math.min(hi, Math.max(lo, q));
    });
    assert.equal(Y!.dtype, yt);
    assert.deepEqual([...Y!.data], want);
    assert.ok(want.some((v) => v === lo) && want.some((v) => v === hi), 'test exercises saturation');
  }
});

test('QLinearConv rounds ties to even', () => {
  // x=1 (zp 0), w=1, scale 0.5 -> acc 1 * 0.5 = 0.5 -> 0 ; acc 3 -> 1.5 -> 2
  const f = (v: number) => new Tensor(DType.float32, [], Float32Array.from([v]));
  const u = (v: number) => new Tensor(DType.uint8, [], Uint8Array.from([v]));
  const X = new Tensor(DType.uint8, [1, 1, 1, 2], Uint8Array.from([1, 3]));
  const W = new Tensor(DType.uint8, [1, 1, 1, 1], Uint8Array.from([1]));
  const [Y] = run('QLinearConv', [X, f(1), u(0), W, f(0.5), u(0), f(1), u(0)]);
  assert.deepEqual([...Y!.data], [0, 2]);
});

// ---------------------------------------------------------------------------
// Col2Im

test('Col2Im matches a gather reference (increasing kernel offset per pixel)', () => {
  const r = rng(77);
  const image = [7, 8];
  const block = [3, 2];
  const strides = [2, 1];
  const dil = [1, 3];
  const pads = [1, 0, 2, 1];
  const nb = image.map((v, j) => Math.floor((v + pads[j]! + pads[j + 2]! - ((block[j]! - 1) * dil[j]! + 1)) / strides[j]!) + 1);
  const L = prod(nb);
  const C = 2;
  const X = randTensor(r, DType.float32, [2, C * prod(block), L]);
  const i64 = (a: number[]) => new Tensor(DType.int64, [a.length], BigInt64Array.from(a.map(BigInt)));
  const [Y] = run('Col2Im', [X, i64(image), i64(block)], { strides, dilations: dil, pads });
  const shape = [2, C, ...image];
  const want = new Float32Array(prod(shape));
  for (let e = 0; e < want.length; e++) {
    const [n, c, ...p] = unravel(e, shape) as number[];
    let acc = 0;
    for (let kp = 0; kp < prod(block); kp++) {
      const kk = unravel(kp, block);
      const l: number[] = [];
      let ok = true;
      for (let j = 0; j < 2; j++) {
        const t = p[j]! + pads[j]! - kk[j]! * dil[j]!;
        if (t < 0 || t % strides[j]! !== 0 || t / strides[j]! >= nb[j]!) ok = false;
        l.push(t / strides[j]!);
      }
      if (!ok) continue;
      acc = Math.fround(acc + (X.data as Float32Array)[(n! * C * prod(block) + c! * prod(block) + kp) * L + ravel(l, nb)]!);
    }
    want[e] = acc;
  }
  sameTensor(Y!, { shape, data: want }, 'Col2Im');
  throwsCode(() => run('Col2Im', [randTensor(r, DType.float32, [1, 6, L + 1]), i64(image), i64(block)], { strides, dilations: dil, pads }), 'INVALID_ARGUMENT');
});
