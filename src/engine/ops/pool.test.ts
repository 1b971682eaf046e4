import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import type { VerinferError } from '../../errors.js';
import { powf } from '../math/index.js';
import { rng } from '../../../test/fixtures/models.js';
import { attrsOf as attrMap, makeCtx, prod, ravel, sameValues, throwsCode, unravel } from '../../../test/fixtures/kernels.js';
import { ops } from './pool.js';

type Attrs = Record<string, number | number[] | string>;

function run(op: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}, outputs = ['y']): Tensor[] {
  return ops[op]!(inputs, makeCtx(op, attrMap(attrs), 19, outputs));
}

const f32 = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));

interface PoolCase {
  x: number[];
  k: number[];
  strides?: number[];
  dil?: number[];
  pads?: number[];
  ceil?: boolean;
}

/** Output extent and begin pads for explicit pads (ceil mode drops windows starting in the end padding). */
function geom(c: PoolCase): { out: number[]; pb: number[]; pe: number[]; s: number[]; d: number[] } {
  const n = c.k.length;
  const s = c.strides ?? new Array(n).fill(1);
  const d = c.dil ?? new Array(n).fill(1);
  const p = c.pads ?? new Array(2 * n).fill(0);
  const out = c.k.map((K, j) => {
    const span = c.x[j + 2]! + p[j]! + p[j + n]! - ((K - 1) * d[j]! + 1);
    let o = (c.ceil ? Math.ceil(span / s[j]!) : Math.floor(span / s[j]!)) + 1;
    if (c.ceil && (o - 1) * s[j]! >= c.x[j + 2]! + p[j]!) o--;
    return o;
  });
  return { out, pb: p.slice(0, n), pe: p.slice(n), s, d };
}

/** Reference pooling: per output element, window positions in kernel row-major order. */
function refPool(c: PoolCase, x: Float32Array, kind: 'max' | 'avg' | 'avgpad' | 'lp2' | 'lp3'): { shape: number[]; y: Float32Array; idx: number[] } {
  const { out, pb, pe, s, d } = geom(c);
  const shape = [c.x[0]!, c.x[1]!, ...out];
  const xs = c.x.slice(2);
  const y = new Float32Array(prod(shape));
  const idx: number[] = [];
  for (let e = 0; e < y.length; e++) {
    const [n, ch, ...o] = unravel(e, shape) as number[];
    let best = NaN;
    let bestAt = -1;
    let acc = 0;
    let cnt = 0;
    let cntPad = 0;
    for (let kp = 0; kp < prod(c.k); kp++) {
      const kk = unravel(kp, c.k);
      const pos = o.map((oj, j) => oj * s[j]! - pb[j]! + kk[j]! * d[j]!);
      if (pos.every((p, j) => p >= -pb[j]! && p < xs[j]! + pe[j]!)) cntPad++;
      if (pos.some((p, j) => p < 0 || p >= xs[j]!)) continue;
      const at = ravel([n!, ch!, ...pos], c.x);
      const v = x[at]!;
      cnt++;
      if (bestAt < 0 || v > best || (Number.isNaN(best) && !Number.isNaN(v))) {
        best = v;
        bestAt = at;
      }
      if (kind === 'lp2') acc = Math.fround(acc + Math.fround(v * v));
      else if (kind === 'lp3') acc = Math.fround(acc + powf(Math.abs(v), 3));
      else acc = Math.fround(acc + v);
    }
    if (kind === 'max') y[e] = best;
    else if (kind === 'avg') y[e] = Math.fround(acc / cnt);
    else if (kind === 'avgpad') y[e] = Math.fround(acc / cntPad);
    else if (kind === 'lp2') y[e] = Math.fround(Math.sqrt(acc));
    else y[e] = powf(acc, Math.fround(1 / 3));
    idx.push(bestAt);
  }
  return { shape, y, idx };
}

const cases: PoolCase[] = [
  { x: [2, 3, 9, 10], k: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1] },
  { x: [1, 2, 11, 7], k: [3, 3], strides: [2, 2], ceil: true },
  { x: [1, 1, 12, 12], k: [2, 3], strides: [3, 2], dil: [2, 2], pads: [1, 1, 0, 2], ceil: true },
  { x: [2, 2, 15], k: [4], strides: [3], pads: [2, 1], ceil: true },
  { x: [1, 2, 5, 6, 7], k: [2, 3, 2], strides: [1, 2, 2], dil: [2, 1, 1], pads: [1, 0, 1, 0, 1, 1] },
  { x: [1, 1, 2, 2], k: [3, 3], strides: [3, 3], pads: [1, 1, 1, 1], ceil: true },
];

function attrsOf(c: PoolCase): Attrs {
  const a: Attrs = { kernel_shape: c.k };
  if (c.strides) a.strides = c.strides;
  if (c.dil) a.dilations = c.dil;
  if (c.pads) a.pads = c.pads;
  if (c.ceil) a.ceil_mode = 1;
  return a;
}

function randX(r: () => number, shape: number[]): Float32Array {
  return Float32Array.from({ length: prod(shape) }, () => Math.fround(r() * 4 - 2));
}

test('MaxPool / AveragePool / LpPool match plain references bit-exactly (1-D/2-D/3-D, strides, dilations, pads, ceil_mode)', () => {
  cases.forEach((c, i) => {
    const r = rng(10 + i);
    const x = randX(r, c.x);
    const X = new Tensor(DType.float32, c.x, x);
    const a = attrsOf(c);
    const mx = refPool(c, x, 'max');
    const [Y, I] = run('MaxPool', [X], a, ['y', 'i']);
    assert.deepEqual([...Y!.shape], mx.shape);
    sameValues(Y!.data as Float32Array, mx.y, `MaxPool ${i}`);
    assert.deepEqual(Array.from(I!.data as BigInt64Array, Number), mx.idx, `MaxPool indices ${i}`);
    sameValues(run('AveragePool', [X], a)[0]!.data as Float32Array, refPool(c, x, 'avg').y, `AveragePool ${i}`);
    sameValues(run('AveragePool', [X], { ...a, count_include_pad: 1 })[0]!.data as Float32Array, refPool(c, x, 'avgpad').y, `AveragePool cip ${i}`);
    sameValues(run('LpPool', [X], { ...a, p: 2 })[0]!.data as Float32Array, refPool(c, x, 'lp2').y, `LpPool p=2 ${i}`);
    sameValues(run('LpPool', [X], { ...a, p: 3 })[0]!.data as Float32Array, refPool(c, x, 'lp3').y, `LpPool p=3 ${i}`);
  });
});

test('MaxPool NaN handling follows the ONNX reference: NaN dropped unless every valid element is NaN', () => {
  const a = { kernel_shape: [2], strides: [2] };
  const X = f32([1, 1, 8], [NaN, 1, 1, NaN, NaN, NaN, -Infinity, NaN]);
  const [Y, I] = run('MaxPool', [X], a, ['y', 'i']);
  sameValues(Y!.data as Float32Array, [1, 1, NaN, -Infinity], 'values');
  assert.deepEqual(Array.from(I!.data as BigInt64Array, Number), [1, 2, 4, 6]);
  const [G] = run('GlobalMaxPool', [f32([1, 2, 3], [NaN, 2, 1, NaN, NaN, NaN])]);
  sameValues(G!.data as Float32Array, [2, NaN], 'GlobalMaxPool');
});

test('MaxPool ties keep the earliest element (-0 before +0 stays -0) and report its index', () => {
  const [Y, I] = run('MaxPool', [f32([1, 1, 4], [-0, 0, 0, -0])], { kernel_shape: [2], strides: [2] }, ['y', 'i']);
  assert.ok(Object.is(Y!.data[0], -0));
  assert.ok(Object.is(Y!.data[1], 0));
  assert.deepEqual(Array.from(I!.data as BigInt64Array, Number), [0, 2]);
});

test('MaxPool Indices include the batch/channel offset; storage_order = 1 is column-major over spatial axes', () => {
  const x = Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => (i * 7) % 11);
  const X = new Tensor(DType.float32, [2, 2, 3, 4], x);
  const a = { kernel_shape: [2, 2], strides: [1, 2] };
  const [, I0] = run('MaxPool', [X], a, ['y', 'i']);
  const [, I1] = run('MaxPool', [X], { ...a, storage_order: 1 }, ['y', 'i']);
  const i0 = Array.from(I0!.data as BigInt64Array, Number);
  const i1 = Array.from(I1!.data as BigInt64Array, Number);
  for (let e = 0; e < i0.length; e++) {
    const plane = Math.floor(i0[e]! / 12);
    const off = i0[e]! % 12;
    const h = Math.floor(off / 4);
    const w = off % 4;
    assert.equal(i1[e], plane * 12 + h + w * 3);
    assert.equal(plane, Math.floor(e / 4)); // each output plane (2x2) comes from its own (n, c) plane
  }
});

test('MaxPool on int8 / uint8', () => {
  const [Y] = run('MaxPool', [new Tensor(DType.int8, [1, 1, 4], Int8Array.from([-128, -5, 127, 3]))], { kernel_shape: [2] });
  assert.deepEqual([...Y!.data], [-5, 127, 127]);
  const [U] = run('MaxPool', [new Tensor(DType.uint8, [1, 1, 3], Uint8Array.from([0, 255, 7]))], { kernel_shape: [2], pads: [1, 1] });
  assert.deepEqual([...U!.data], [0, 255, 255, 7]);
});

test('AveragePool sums in kernel order with float32 rounding at each step; count_include_pad counts only the declared padding', () => {
  const big = Math.fround(2 ** 24);
  const [Y] = run('AveragePool', [f32([1, 1, 3], [big, 1, 1])], { kernel_shape: [3] });
  // (2^24 + 1) rounds back to 2^24, twice: 2^24 / 3
  assert.equal(Y!.data[0], Math.fround(big / 3));
  // ceil_mode overhang beyond the padding is never counted
  const [Z] = run('AveragePool', [f32([1, 1, 5], [1, 2, 3, 4, 5])], { kernel_shape: [3], strides: [2], ceil_mode: 1, count_include_pad: 1, pads: [1, 0] });
  // windows: [-1,0,1] -> (1+2)/3 (left pad counted), [1,2,3] -> 9/3, [3,4,5] -> 9/2 (position 5 is beyond the padding)
  sameValues(Z!.data as Float32Array, [1, 3, 4.5], 'ceil overhang');
});

test('AveragePool -0: a sum of -0 values starts from +0 and gives +0', () => {
  const [Y] = run('AveragePool', [f32([1, 1, 2], [-0, -0])], { kernel_shape: [2] });
  assert.ok(Object.is(Y!.data[0], 0));
});

test('Global pools reduce in row-major order', () => {
  const r = rng(3);
  const x = randX(r, [2, 3, 4, 5]);
  const X = new Tensor(DType.float32, [2, 3, 4, 5], x);
  const [A] = run('GlobalAveragePool', [X]);
  const [M] = run('GlobalMaxPool', [X]);
  const [L] = run('GlobalLpPool', [X]);
  assert.deepEqual([...A!.shape], [2, 3, 1, 1]);
  for (let p = 0; p < 6; p++) {
    let acc = 0;
    let sq = 0;
    let mx = -Infinity;
    for (let i = 0; i < 20; i++) {
      const v = x[p * 20 + i]!;
      acc = Math.fround(acc + v);
      sq = Math.fround(sq + Math.fround(v * v));
      mx = Math.max(mx, v);
    }
    assert.equal(A!.data[p], Math.fround(acc / 20));
    assert.equal(M!.data[p], mx);
    assert.equal(L!.data[p], Math.fround(Math.sqrt(sq)));
  }
  const [D] = run('GlobalAveragePool', [new Tensor(DType.float64, [1, 1, 3], Float64Array.from([0.1, 0.2, 0.3]))]);
  assert.equal(D!.data[0], (0.1 + 0.2 + 0.3) / 3);
});

test('MaxUnpool scatters into the inferred shape, output_shape pads at the end, duplicates: last wins', () => {
  const X = f32([1, 1, 2, 2], [5, 6, 7, 8]);
  const I = new Tensor(DType.int64, [1, 1, 2, 2], BigInt64Array.from([5n, 7n, 13n, 15n]));
  const [Y] = run('MaxUnpool', [X, I], { kernel_shape: [2, 2], strides: [2, 2] });
  assert.deepEqual([...Y!.shape], [1, 1, 4, 4]);
  assert.deepEqual([...Y!.data], [0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8]);
  const OS = new Tensor(DType.int64, [4], BigInt64Array.from([1n, 1n, 5n, 5n]));
  const [Z] = run('MaxUnpool', [X, I, OS], { kernel_shape: [2, 2], strides: [2, 2] });
  assert.deepEqual([...Z!.data], [0, 0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0, 0, 0, 0]);
  const Idup = new Tensor(DType.int64, [1, 1, 2, 2], BigInt64Array.from([0n, 0n, 1n, 0n]));
  assert.deepEqual([...run('MaxUnpool', [X, Idup], { kernel_shape: [2, 2], strides: [2, 2] })[0]!.data].slice(0, 2), [8, 7]);
  const Ibad = new Tensor(DType.int64, [1, 1, 2, 2], BigInt64Array.from([0n, 16n, 1n, 0n]));
  throwsCode(() => run('MaxUnpool', [X, Ibad], { kernel_shape: [2, 2], strides: [2, 2] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('MaxUnpool', [X, I, new Tensor(DType.int64, [4], BigInt64Array.from([1n, 1n, 3n, 5n]))], { kernel_shape: [2, 2], strides: [2, 2] }), 'INVALID_ARGUMENT');
});

test('pool invalid inputs', () => {
  const X = f32([1, 1, 4, 4], new Array(16).fill(1));
  throwsCode(() => run('MaxPool', [X]), 'INVALID_ARGUMENT'); // no kernel_shape
  throwsCode(() => run('MaxPool', [X], { kernel_shape: [2] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('MaxPool', [X], { kernel_shape: [2, 2], pads: [2, 0, 0, 0] }), 'INVALID_ARGUMENT'); // window only padding
  throwsCode(() => run('AveragePool', [X], { kernel_shape: [2, 2], pads: [2, 0, 0, 0] }), 'INVALID_ARGUMENT');
  assert.equal(run('AveragePool', [X], { kernel_shape: [2, 2], pads: [2, 0, 0, 0], count_include_pad: 1 })[0]!.data[0], 0);
  throwsCode(() => run('MaxPool', [X], { kernel_shape: [5, 5] }), 'INVALID_ARGUMENT'); // kernel larger than input
  throwsCode(() => run('MaxPool', [X], { kernel_shape: [2, 2], storage_order: 2 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('AveragePool', [new Tensor(DType.int32, [1, 1, 2], Int32Array.from([1, 2]))], { kernel_shape: [2] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('AveragePool', [new Tensor(DType.float16, [1, 1, 2], new Uint16Array(2))], { kernel_shape: [2] }), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('GlobalAveragePool', [f32([4], [1, 2, 3, 4])]), 'INVALID_ARGUMENT');
});

/** Float32 data with NaN, -0, +0, ±Inf and many ties mixed in. */
function specialX(r: () => number, n: number): Float32Array {
  const pick = [NaN, -0, 0, Infinity, -Infinity, 1, -1];
  return Float32Array.from({ length: n }, () => (r() < 0.4 ? pick[Math.floor(r() * pick.length)]! : Math.fround(r() * 4 - 2)));
}

test('1-D / 2-D MaxPool and AveragePool fast path: bit-exact vs the reference and vs the general N-D loop (specials, ties, pads, dilations, ceil)', () => {
  const r = rng(99);
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let it = 0; it < 150; it++) {
    const k = ri(1, 2);
    const kk: number[] = [];
    const xs: number[] = [];
    const s: number[] = [];
    const d: number[] = [];
    const pads: number[] = new Array(2 * k).fill(0);
    for (let j = 0; j < k; j++) {
      kk.push(it % 3 === 0 ? 2 : ri(1, 4));
      s.push(it % 3 === 0 ? 2 : ri(1, 3));
      d.push(it % 3 === 0 ? 1 : ri(1, 2));
      xs.push(ri(1, 13));
      const eff = (kk[j]! - 1) * d[j]! + 1;
      pads[j] = ri(0, Math.min(2, kk[j]! - 1));
      pads[j + k] = ri(0, Math.min(2, kk[j]! - 1));
      if (xs[j]! + pads[j]! + pads[j + k]! < eff) xs[j] = eff;
    }
    const c: PoolCase = { x: [ri(1, 2), ri(1, 3), ...xs], k: kk, strides: s, dil: d, pads, ceil: r() < 0.3 };
    const x = r() < 0.5 ? specialX(r, prod(c.x)) : randX(r, c.x);
    const X = new Tensor(DType.float32, c.x, x);
    const a = attrsOf(c);
    // the same pool as 3-D with a leading extent-1 axis runs the general N-D loop
    const c3: PoolCase = { x: [c.x[0]!, c.x[1]!, 1, ...xs], k: [1, ...kk], strides: [1, ...s], dil: [1, ...d], pads: [0, ...pads.slice(0, k), 0, ...pads.slice(k)], ceil: c.ceil };
    const X3 = new Tensor(DType.float32, c3.x, x);
    const a3 = attrsOf(c3);
    let mx: ReturnType<typeof refPool>;
    try {
      mx = refPool(c, x, 'max');
    } catch {
      continue;
    }
    const msg = `${it} ${JSON.stringify(c)}`;
    let windowsOk = true;
    try {
      run('MaxPool', [X], a);
    } catch (e) {
      windowsOk = false; // a window entirely in the padding (ceil mode): both paths must refuse
      throwsCode(() => run('MaxPool', [X3], a3), (e as VerinferError).code);
    }
    if (!windowsOk) continue;
    const [Y] = run('MaxPool', [X], a);
    sameValues(Y!.data as Float32Array, mx.y, `MaxPool ${msg}`);
    sameValues(run('MaxPool', [X3], a3)[0]!.data as Float32Array, mx.y, `MaxPool N-D ${msg}`);
    for (const so of [0, 1]) {
      const [Yi, I] = run('MaxPool', [X], { ...a, storage_order: so }, ['y', 'i']);
      const [, I3] = run('MaxPool', [X3], { ...a3, storage_order: so }, ['y', 'i']);
      sameValues(Yi!.data as Float32Array, mx.y, `MaxPool+Indices ${msg}`);
      assert.deepEqual(Array.from(I!.data as BigInt64Array), Array.from(I3!.data as BigInt64Array), `Indices so=${so} ${msg}`);
      if (so === 0) assert.deepEqual(Array.from(I!.data as BigInt64Array, Number), mx.idx, `Indices ${msg}`);
    }
    sameValues(run('AveragePool', [X], a)[0]!.data as Float32Array, refPool(c, x, 'avg').y, `AveragePool ${msg}`);
    sameValues(run('AveragePool', [X3], a3)[0]!.data as Float32Array, refPool(c, x, 'avg').y, `AveragePool N-D ${msg}`);
    sameValues(run('AveragePool', [X], { ...a, count_include_pad: 1 })[0]!.data as Float32Array, refPool(c, x, 'avgpad').y, `AveragePool cip ${msg}`);
    // float64 and int8 / uint8 agree with the general loop too
    const X64 = new Tensor(DType.float64, c.x, Float64Array.from(x));
    const X64_3 = new Tensor(DType.float64, c3.x, Float64Array.from(x));
    sameValues(run('MaxPool', [X64], a)[0]!.data as Float64Array, run('MaxPool', [X64_3], a3)[0]!.data as Float64Array, `MaxPool f64 ${msg}`);
    sameValues(run('AveragePool', [X64], a)[0]!.data as Float64Array, run('AveragePool', [X64_3], a3)[0]!.data as Float64Array, `AveragePool f64 ${msg}`);
    const i8 = Int8Array.from(x, (v) => (Number.isFinite(v) ? Math.round(v * 60) : 0));
    sameValues(
      run('MaxPool', [new Tensor(DType.int8, c.x, i8)], a)[0]!.data as Int8Array,
      run('MaxPool', [new Tensor(DType.int8, c3.x, i8)], a3)[0]!.data as Int8Array,
      `MaxPool int8 ${msg}`,
    );
  }
});
