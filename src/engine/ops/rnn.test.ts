import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './rnn.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { sigmoidf, tanhf, tanh64, sigmoid64 } from '../math/index.js';
import { makeCtx, str, int, flt, floats, strs, throwsCode, sameBits32 } from '../../../test/fixtures/kernels.js';

type Attr = AttrValue;
const f = Math.fround;

function run(
  opType: string,
  inputs: (Tensor | undefined)[],
  attrs: Record<string, Attr> = {},
  outputs = ['y', 'yh', 'yc'],
  opset = 22,
): Tensor[] {
  return ops[opType]!(inputs, makeCtx(opType, attrs, opset, outputs));
}

const arr = (t: Tensor): number[] => Array.from(t.data as ArrayLike<number>);
const t32 = (vals: number[], shape: number[]): Tensor => new Tensor(DType.float32, shape, Float32Array.from(vals));

function rand(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(f(((s / 2 ** 32) * 2 - 1) * scale));
  }
  return out;
}

const dot = (a: number[], w: ArrayLike<number>, wo: number): number => {
  let acc = 0;
  for (let k = 0; k < a.length; k++) acc = f(acc + f(a[k]! * w[wo + k]!));
  return acc;
};

test('LSTM float32 bidirectional with bias, peepholes, sequence_lens, initial states: bit-identical to a plain recomputation', () => {
  const [S, B, I, H, D] = [4, 3, 5, 3, 2];
  const X = rand(S * B * I, 1, 2);
  const W = rand(D * 4 * H * I, 2);
  const R = rand(D * 4 * H * H, 3);
  const Bias = rand(D * 8 * H, 4);
  const P = rand(D * 3 * H, 5);
  const h0 = rand(D * B * H, 6);
  const c0 = rand(D * B * H, 7);
  const lens = [4, 2, 0];
  const [Y, Yh, Yc] = run(
    'LSTM',
    [
      t32(X, [S, B, I]),
      t32(W, [D, 4 * H, I]),
      t32(R, [D, 4 * H, H]),
      t32(Bias, [D, 8 * H]),
      new Tensor(DType.int32, [B], Int32Array.from(lens)),
      t32(h0, [D, B, H]),
      t32(c0, [D, B, H]),
      t32(P, [D, 3 * H]),
    ],
    { hidden_size: int(H), direction: str('bidirectional') },
  );
  assert.deepEqual(Y!.shape, [S, D, B, H]);
  const wantY = new Array<number>(S * D * B * H).fill(0);
  const wantH = new Array<number>(D * B * H).fill(0);
  const wantC = new Array<number>(D * B * H).fill(0);
  for (let d = 0; d < D; d++) {
    for (let b = 0; b < B; b++) {
      let h = h0.slice((d * B + b) * H, (d * B + b + 1) * H);
      let c = c0.slice((d * B + b) * H, (d * B + b + 1) * H);
      for (let step = 0; step < lens[b]!; step++) {
        const t = d === 1 ? lens[b]! - 1 - step : step;
        const x = X.slice((t * B + b) * I, (t * B + b + 1) * I);
        const pre = (row: number): number => {
          let g = dot(x, W, (d * 4 * H + row) * I);
          g = f(g + dot(h, R, (d * 4 * H + row) * H));
          g = f(g + Bias[d * 8 * H + row]!);
          return f(g + Bias[d * 8 * H + 4 * H + row]!);
        };
        const nh: number[] = [];
        const nc: number[] = [];
        for (let j = 0; j < H; j++) {
          const i = sigmoidf(f(pre(j) + f(P[d * 3 * H + j]! * c[j]!)));
          const fg = sigmoidf(f(pre(2 * H + j) + f(P[d * 3 * H + 2 * H + j]! * c[j]!)));
          const cc = tanhf(pre(3 * H + j));
          const cn = f(f(fg * c[j]!) + f(i * cc));
          const o = sigmoidf(f(pre(H + j) + f(P[d * 3 * H + H + j]! * cn)));
          nc.push(cn);
          nh.push(f(o * tanhf(cn)));
        }
        h = nh;
        c = nc;
        for (let j = 0; j < H; j++) wantY[((t * D + d) * B + b) * H + j] = h[j]!;
      }
      for (let j = 0; j < H; j++) {
        wantH[(d * B + b) * H + j] = h[j]!;
        wantC[(d * B + b) * H + j] = c[j]!;
      }
    }
  }
  sameBits32(Y!.data as Float32Array, wantY, 'Y');
  sameBits32(Yh!.data as Float32Array, wantH, 'Y_h');
  sameBits32(Yc!.data as Float32Array, wantC, 'Y_c');
  // batch 2 has length 0: its state is the initial state and its Y rows are 0
  assert.deepEqual(arr(Yh!).slice(2 * H, 3 * H), h0.slice(2 * H, 3 * H));
});

test('GRU linear_before_reset 0 and 1: bit-identical to a plain recomputation', () => {
  const [S, B, I, H] = [3, 2, 4, 3];
  const X = rand(S * B * I, 11, 2);
  const W = rand(3 * H * I, 12);
  const R = rand(3 * H * H, 13);
  const Bias = rand(6 * H, 14);
  for (const lbr of [0, 1]) {
    const [Y, Yh] = run('GRU', [t32(X, [S, B, I]), t32(W, [1, 3 * H, I]), t32(R, [1, 3 * H, H]), t32(Bias, [1, 6 * H])], {
      hidden_size: int(H),
      linear_before_reset: int(lbr),
    }, ['y', 'yh']);
    const wantY: number[] = new Array<number>(S * B * H).fill(0);
    for (let b = 0; b < B; b++) {
      let h = new Array<number>(H).fill(0);
      for (let t = 0; t < S; t++) {
        const x = X.slice((t * B + b) * I, (t * B + b + 1) * I);
        const zr = (row: number): number => {
          let g = dot(x, W, row * I);
          g = f(g + dot(h, R, row * H));
          g = f(g + Bias[row]!);
          return sigmoidf(f(g + Bias[3 * H + row]!));
        };
        const z = Array.from({ length: H }, (_, j) => zr(j));
        const r = Array.from({ length: H }, (_, j) => zr(H + j));
        const nh: number[] = [];
        for (let j = 0; j < H; j++) {
          const row = 2 * H + j;
          let g: number;
          if (lbr === 0) {
            const rh = h.map((v, k) => f(r[k]! * v));
            g = f(dot(x, W, row * I) + dot(rh, R, row * H));
            g = f(g + Bias[row]!);
            g = f(g + Bias[3 * H + row]!);
          } else {
            const q = f(dot(h, R, row * H) + Bias[3 * H + row]!);
            g = f(dot(x, W, row * I) + f(r[j]! * q));
            g = f(g + Bias[row]!);
          }
          const hh = tanhf(g);
          nh.push(f(f(f(1 - z[j]!) * hh) + f(z[j]! * h[j]!)));
        }
        h = nh;
        for (let j = 0; j < H; j++) wantY[(t * B + b) * H + j] = h[j]!;
      }
    }
    sameBits32(Y!.data as Float32Array, wantY, `Y lbr=${lbr}`);
    sameBits32(Yh!.data as Float32Array, wantY.slice((S - 1) * B * H), `Y_h lbr=${lbr}`);
  }
});

test('layout=1 is the batch-major transpose of layout=0', () => {
  const [S, B, I, H] = [3, 2, 2, 2];
  const X = rand(S * B * I, 21, 2);
  const W = rand(H * I, 22);
  const R = rand(H * H, 23);
  const h0 = rand(B * H, 24);
  const [Y0, H0] = run('RNN', [t32(X, [S, B, I]), t32(W, [1, H, I]), t32(R, [1, H, H]), undefined, undefined, t32(h0, [1, B, H])], {}, ['y', 'yh']);
  const Xt: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t < S; t++) Xt.push(...X.slice((t * B + b) * I, (t * B + b + 1) * I));
  const [Y1, H1] = run(
    'RNN',
    [t32(Xt, [B, S, I]), t32(W, [1, H, I]), t32(R, [1, H, H]), undefined, undefined, t32(h0, [B, 1, H])],
    { layout: int(1) },
    ['y', 'yh'],
  );
  assert.deepEqual(Y1!.shape, [B, S, 1, H]);
  assert.deepEqual(H1!.shape, [B, 1, H]);
  for (let t = 0; t < S; t++)
    for (let b = 0; b < B; b++)
      for (let j = 0; j < H; j++) assert.equal(Y1!.data[(b * S + t) * H + j], Y0!.data[(t * B + b) * H + j]);
  assert.deepEqual(arr(H1!), arr(H0!));
});

test('RNN activations with alpha/beta consumed in order, clip, reverse, Y padding with sequence_lens', () => {
  const [S, B, I, H] = [3, 2, 1, 1];
  const X = [1, -1, 2, -2, 3, -3];
  const W = [1];
  const R = [0.5];
  const [Y, Yh] = run(
    'RNN',
    [t32(X, [S, B, I]), t32(W, [1, H, I]), t32(R, [1, H, H]), undefined, new Tensor(DType.int32, [B], Int32Array.from([3, 2]))],
    { activations: strs(['LeakyRelu']), activation_alpha: floats([0.25]), clip: flt(2.5), direction: str('reverse') },
    ['y', 'yh'],
  );
  const lr = (x: number): number => (x < 0 ? f(f(0.25) * x) : x);
  const cl = (x: number): number => (x < -2.5 ? -2.5 : x > 2.5 ? 2.5 : x);
  // batch 0, reverse over t = 2, 1, 0
  let h = 0;
  const y0: number[] = [];
  for (const t of [2, 1, 0]) {
    h = lr(cl(f(X[t * 2]! + f(h * 0.5))));
    y0[t] = h;
  }
  let g = 0;
  const y1: number[] = [];
  for (const t of [1, 0]) {
    g = lr(cl(f(X[t * 2 + 1]! + f(g * 0.5))));
    y1[t] = g;
  }
  assert.deepEqual(arr(Y!), [y0[0], y1[0], y0[1], y1[1], y0[2], 0]);
  assert.deepEqual(arr(Yh!), [y0[0], y1[0]]);
});

test('LSTM input_forget, omitted outputs, float64, HardSigmoid defaults', () => {
  const [S, B, I, H] = [2, 1, 2, 2];
  const X = rand(S * B * I, 31);
  const W = rand(4 * H * I, 32);
  const R = rand(4 * H * H, 33);
  // Only Y_h requested: Y comes back empty.
  const outs = run('LSTM', [t32(X, [S, B, I]), t32(W, [1, 4 * H, I]), t32(R, [1, 4 * H, H])], { input_forget: int(1) }, ['', 'yh']);
  assert.equal(outs[0]!.size, 0);
  assert.deepEqual(outs[1]!.shape, [1, B, H]);
  // float64 path: same step sequence in doubles
  const d = (v: number[], shape: number[]): Tensor => new Tensor(DType.float64, shape, Float64Array.from(v));
  const [Y] = run('LSTM', [d(X, [S, B, I]), d(W, [1, 4 * H, I]), d(R, [1, 4 * H, H])], { activations: strs(['HardSigmoid', 'Tanh', 'Tanh']) });
  assert.equal(Y!.dtype, DType.float64);
  // recompute the first step
  const hs = (x: number): number => Math.min(1, Math.max(0, 0.2 * x + 0.5));
  const dot64 = (a: number[], wo: number): number => a.reduce((acc, v, k) => acc + v * W[wo + k]!, 0);
  const x0 = X.slice(0, I);
  const h1: number[] = [];
  for (let j = 0; j < H; j++) {
    const i = hs(dot64(x0, j * I) + 0);
    const fg = hs(dot64(x0, (2 * H + j) * I) + 0);
    const cc = tanh64(dot64(x0, (3 * H + j) * I) + 0);
    const c = fg * 0 + i * cc;
    const o = hs(dot64(x0, (H + j) * I) + 0);
    h1.push(o * tanh64(c));
  }
  assert.deepEqual(arr(Y!).slice(0, H), h1);
  void sigmoid64;
});

test('invalid inputs give INVALID_ARGUMENT; float16 is unsupported', () => {
  const X = t32([1, 2], [1, 1, 2]);
  const W = t32(rand(2, 1), [1, 1, 2]);
  const R = t32([0.5], [1, 1, 1]);
  throwsCode(() => run('RNN', [X, t32([1, 2], [1, 2, 1]), R], {}, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R], { hidden_size: int(2) }, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R, undefined, new Tensor(DType.int32, [1], Int32Array.from([2]))], {}, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R, undefined, new Tensor(DType.int32, [1], Int32Array.from([-1]))], {}, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R], { activations: strs(['Gelu']) }, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R], { activations: strs(['Tanh', 'Tanh', 'Tanh']) }, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R], { direction: str('sideways') }, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R], { layout: int(2) }, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('RNN', [X, W, R, t32([0], [1, 1])], {}, ['y']), 'INVALID_ARGUMENT');
  throwsCode(() => run('LSTM', [X, t32(rand(8, 2), [1, 4, 2]), t32(rand(4, 3), [1, 4, 1]), undefined, undefined, undefined, undefined, t32([1], [1, 1])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('GRU', [X, W, R], {}, ['y']), 'INVALID_ARGUMENT');
  const h = new Tensor(DType.float16, [1, 1, 2], Uint16Array.from([0, 0]));
  throwsCode(() => run('RNN', [h, W, R], {}, ['y']), 'UNSUPPORTED_FEATURE');
  // an empty sequence: Y is [0, D, B, H], Y_h the initial state (zeros)
  const [Y, Yh] = run('RNN', [t32([], [0, 1, 2]), W, R], {}, ['y', 'yh']);
  assert.deepEqual(Y!.shape, [0, 1, 1, 1]);
  assert.deepEqual(arr(Yh!), [0]);
  void sigmoidf;
});
