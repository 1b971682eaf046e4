import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './reduce.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { expf, logf } from '../math/index.js';
import { makeCtx, f32, f64, i32, i64, int, ints, vals, throwsCode, sameValues, ansiLcgFloat32, unravel } from '../../../test/fixtures/kernels.js';

const fr = Math.fround;

function runAll(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 18): Tensor[] {
  const k = ops[opType];
  assert.ok(k, `kernel ${opType} registered`);
  return k(inputs, makeCtx(opType, attrs, opset, ['y', 'z']));
}
const run = (opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 18): Tensor =>
  runAll(opType, inputs, attrs, opset)[0]!;
const rand = (n: number, seed: number, scale: number): Float32Array => ansiLcgFloat32(n, seed, scale);

// --- independent reference: enumerate each output's inputs by coordinates ---------------


/** Groups input flat indices (increasing) by output index (keepdims layout). */
function groups(shape: readonly number[], axes: number[]): number[][] {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const nOut = outShape.reduce((a, b) => a * b, 1);
  const g: number[][] = Array.from({ length: nOut }, () => []);
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    const c = unravel(i, shape).map((v, k) => (axes.includes(k) ? 0 : v));
    let o = 0;
    for (let k = 0; k < c.length; k++) o = o * outShape[k]! + c[k]!;
    g[o]!.push(i);
  }
  return g;
}

function refReduce(kind: string, x: Float32Array, idx: number[]): number {
  const xs = idx.map((i) => x[i]!);
  switch (kind) {
    case 'ReduceSum': return xs.reduce((a, v) => fr(a + v), 0);
    case 'ReduceMean': return fr(xs.reduce((a, v) => fr(a + v), 0) / xs.length);
    case 'ReduceSumSquare': return xs.reduce((a, v) => fr(a + fr(v * v)), 0);
    case 'ReduceL1': return xs.reduce((a, v) => fr(a + Math.abs(v)), 0);
    case 'ReduceL2': return fr(Math.sqrt(xs.reduce((a, v) => fr(a + fr(v * v)), 0)));
    case 'ReduceProd': return xs.reduce((a, v) => fr(a * v), 1);
    case 'ReduceMax': return xs.reduce((a, v) => (Number.isNaN(a) || v <= a ? a : v), xs[0]!);
    case 'ReduceMin': return xs.reduce((a, v) => (Number.isNaN(a) || v >= a ? a : v), xs[0]!);
    case 'ReduceLogSum': return logf(xs.reduce((a, v) => fr(a + v), 0));
    case 'ReduceLogSumExp': {
      const m = xs.reduce((a, v) => (v > a ? v : a), -Infinity);
      const s = xs.reduce((a, v) => fr(a + expf(fr(v - m))), 0);
      return fr(logf(s) + m);
    }
  }
  throw new Error(kind);
}

const KINDS = ['ReduceSum', 'ReduceMean', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceProd', 'ReduceMax', 'ReduceMin', 'ReduceLogSumExp'];

test('float32 reductions over every axis subset are bit-identical to a per-output recomputation', () => {
  const shape = [3, 4, 5, 6];
  const x = rand(360, 7, 1.5);
  for (let mask = 0; mask < 16; mask++) {
    const axes = [0, 1, 2, 3].filter((a) => mask & (1 << a));
    if (axes.length === 0) continue;
    const g = groups(shape, axes);
    for (const kind of KINDS) {
      const y = run(kind, [new Tensor(DType.float32, shape, x), i64(axes)]);
      sameValues(y.data as Float32Array, g.map((idx) => refReduce(kind, x, idx)), `${kind} axes ${axes}`);
    }
  }
  // LogSum needs positive sums
  const xp = x.map((v) => Math.abs(v));
  const y = run('ReduceLogSum', [new Tensor(DType.float32, shape, xp), i64([1, 3])]);
  sameValues(y.data as Float32Array, groups(shape, [1, 3]).map((idx) => refReduce('ReduceLogSum', xp, idx)));
});

test('reduce: keepdims, negative axes, default axes, noop_with_empty_axes', () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  let y = run('ReduceSum', [x, i64([-1])], { keepdims: int(0) });
  assert.deepEqual(y.shape, [2]);
  assert.deepEqual(vals(y), [6, 15]);
  y = run('ReduceSum', [x]);
  assert.deepEqual(y.shape, [1, 1]);
  assert.deepEqual(vals(y), [21]);
  y = run('ReduceSum', [x, i64([])], { keepdims: int(0) });
  assert.deepEqual(y.shape, []);
  y = run('ReduceSum', [x, i64([])], { noop_with_empty_axes: int(1) });
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual(vals(y), [1, 2, 3, 4, 5, 6]);
  y = run('ReduceMax', [x], { noop_with_empty_axes: int(1) });
  assert.deepEqual(vals(y), [1, 2, 3, 4, 5, 6]);
  // attribute forms: ReduceSum before 13, the others before 18
  assert.deepEqual(vals(run('ReduceSum', [x], { axes: ints([0]) }, 12)), [5, 7, 9]);
  assert.deepEqual(vals(run('ReduceMean', [x], { axes: ints([1]), keepdims: int(0) }, 17)), [2, 5]);
  // axes input ignored before the input form existed: reduce all
  assert.deepEqual(vals(run('ReduceMax', [x, i64([0])], {}, 11)), [6]);
  // scalar input
  assert.deepEqual(vals(run('ReduceSum', [f32([-0], [])])), [0]);
  assert.ok(Object.is(run('ReduceSum', [f32([-0], [])]).data[0], 0)); // 0 + -0 = +0
});

test('reduce: empty reduced set gives the identity', () => {
  const e = new Tensor(DType.float32, [2, 0, 3], new Float32Array(0));
  const by = (op: string) => vals(run(op, [e, i64([1])]));
  assert.deepEqual(by('ReduceSum'), [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(by('ReduceProd'), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(by('ReduceMax'), Array(6).fill(-Infinity));
  assert.deepEqual(by('ReduceMin'), Array(6).fill(Infinity));
  assert.deepEqual(by('ReduceLogSum'), Array(6).fill(-Infinity));
  assert.deepEqual(by('ReduceLogSumExp'), Array(6).fill(-Infinity));
  assert.deepEqual(by('ReduceL2'), Array(6).fill(0));
  const ei = new Tensor(DType.int32, [2, 0], new Int32Array(0));
  assert.deepEqual(vals(run('ReduceMax', [ei, i64([1])])), [-2147483648, -2147483648]);
  assert.deepEqual(vals(run('ReduceMin', [ei, i64([1])])), [2147483647, 2147483647]);
  assert.deepEqual(vals(run('ReduceMean', [ei, i64([1])])), [0, 0]);
  // non-reduced axis of size zero: empty output
  assert.deepEqual(run('ReduceSum', [e, i64([2])]).shape, [2, 0, 1]);
});

test('reduce: NaN propagates through max/min; -0/+0 keeps the first; infinities in logsumexp', () => {
  assert.ok(Number.isNaN(vals(run('ReduceMax', [f32([1, NaN, 3])]))[0] as number));
  assert.ok(Number.isNaN(vals(run('ReduceMin', [f32([NaN, -1, 3])]))[0] as number));
  assert.ok(Object.is(run('ReduceMax', [f32([-0, 0])]).data[0], -0));
  assert.ok(Object.is(run('ReduceMin', [f32([0, -0])]).data[0], 0));
  assert.deepEqual(vals(run('ReduceLogSumExp', [f32([1, Infinity])])), [Infinity]);
  assert.deepEqual(vals(run('ReduceLogSumExp', [f32([-Infinity, -Infinity])])), [-Infinity]);
  // large values do not overflow (max-shifted form)
  const y = vals(run('ReduceLogSumExp', [f32([1000, 1000])]))[0] as number;
  assert.ok(Math.abs(y - 1000.6931) < 1e-3);
  // float64 path
  assert.deepEqual(vals(run('ReduceSum', [f64([0.1, 0.2], [2])])), [0.1 + 0.2]);
  assert.deepEqual(vals(run('ReduceL2', [f64([3, 4])])), [5]);
});

test('reduce: integer types wrap around', () => {
  assert.deepEqual(vals(run('ReduceSum', [i32([2147483647, 1])])), [-2147483648]);
  assert.deepEqual(vals(run('ReduceProd', [i32([65536, 65536, 3])])), [0]);
  assert.deepEqual(vals(run('ReduceProd', [i32([46341, 46341])])), [Math.imul(46341, 46341)]);
  assert.deepEqual(vals(run('ReduceSumSquare', [i32([65536])])), [0]);
  assert.deepEqual(vals(run('ReduceMean', [i32([-7, 0])])), [-3]); // truncation toward 0
  assert.deepEqual(vals(run('ReduceSum', [i64([2n ** 63n - 1n, 1n])])), [-(2n ** 63n)]);
  assert.deepEqual(vals(run('ReduceProd', [i64([2n ** 32n, 2n ** 32n])])), [0n]);
  assert.deepEqual(vals(run('ReduceL1', [i64([-3, 4])])), [7n]);
  const u8 = new Tensor(DType.uint8, [2], Uint8Array.from([200, 100]));
  assert.deepEqual(vals(run('ReduceSum', [u8])), [44]);
  const b = new Tensor(DType.bool, [2, 2], Uint8Array.from([0, 1, 0, 0]));
  assert.deepEqual(vals(run('ReduceMax', [b, i64([1])], {}, 20)), [1, 0]);
  assert.deepEqual(vals(run('ReduceMin', [b, i64([0])], {}, 20)), [0, 0]);
});

test('reduce: invalid inputs and unsupported types', () => {
  const x = f32([1, 2, 3, 4], [2, 2]);
  throwsCode(() => run('ReduceSum', [x, i64([2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ReduceSum', [x, i64([-3])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ReduceSum', [x, i64([1, -1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ReduceSum', [x, f32([1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ReduceSum', [undefined]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ReduceSum', [new Tensor(DType.float16, [1], new Uint16Array(1))]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('ReduceL2', [i32([1])]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('ReduceSum', [new Tensor(DType.bool, [1], new Uint8Array(1))]), 'UNSUPPORTED_FEATURE');
});

test('ArgMax/ArgMin: ties, select_last_index, NaN, keepdims, axes', () => {
  const x = f32([1, 3, 3, 2, 5, 5, 0, 5], [2, 4]);
  let y = run('ArgMax', [x], { axis: int(1) });
  assert.equal(y.dtype, DType.int64);
  assert.deepEqual(y.shape, [2, 1]);
  assert.deepEqual(vals(y), [1n, 0n]);
  y = run('ArgMax', [x], { axis: int(-1), select_last_index: int(1), keepdims: int(0) });
  assert.deepEqual(y.shape, [2]);
  assert.deepEqual(vals(y), [2n, 3n]);
  assert.deepEqual(vals(run('ArgMin', [x], { axis: int(0), keepdims: int(0) })), [0n, 0n, 1n, 0n]);
  assert.deepEqual(vals(run('ArgMin', [x], { axis: int(1), keepdims: int(0), select_last_index: int(1) })), [0n, 2n]);
  // NaN is the extreme value of both: first (or last) NaN wins
  const n = f32([1, NaN, 7, NaN]);
  assert.deepEqual(vals(run('ArgMax', [n])), [1n]);
  assert.deepEqual(vals(run('ArgMin', [n])), [1n]);
  assert.deepEqual(vals(run('ArgMax', [n], { select_last_index: int(1) })), [3n]);
  // -0 and +0 are equal
  assert.deepEqual(vals(run('ArgMax', [f32([-0, 0])])), [0n]);
  assert.deepEqual(vals(run('ArgMax', [i64([5, 9, 9])])), [1n]);
  throwsCode(() => run('ArgMax', [x], { axis: int(2) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('ArgMax', [new Tensor(DType.float32, [0, 2], new Float32Array(0))], { axis: int(0) }), 'INVALID_ARGUMENT');
  assert.deepEqual(run('ArgMax', [new Tensor(DType.float32, [0, 2], new Float32Array(0))], { axis: int(1) }).shape, [0, 1]);
});

test('CumSum: exclusive / reverse, axes, integer wrap, -0', () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const ax = (a: number) => i32([a], []);
  assert.deepEqual(vals(run('CumSum', [x, ax(1)])), [1, 3, 6, 4, 9, 15]);
  assert.deepEqual(vals(run('CumSum', [x, ax(0)])), [1, 2, 3, 5, 7, 9]);
  assert.deepEqual(vals(run('CumSum', [x, ax(-1)], { exclusive: int(1) })), [0, 1, 3, 0, 4, 9]);
  assert.deepEqual(vals(run('CumSum', [x, ax(1)], { reverse: int(1) })), [6, 5, 3, 15, 11, 6]);
  assert.deepEqual(vals(run('CumSum', [x, ax(1)], { reverse: int(1), exclusive: int(1) })), [5, 3, 0, 11, 6, 0]);
  assert.ok(Object.is(run('CumSum', [f32([-0]), ax(0)]).data[0], 0)); // starts from +0
  assert.deepEqual(vals(run('CumSum', [i32([2147483647, 1]), i64([0])])), [2147483647, -2147483648]);
  assert.deepEqual(vals(run('CumSum', [i64([1, 2]), i64([0])])), [1n, 3n]);
  // float32 rounding at every step
  const big = f32([16777216, 1, 1]);
  assert.deepEqual(vals(run('CumSum', [big, ax(0)])), [16777216, 16777216, 16777216]);
  throwsCode(() => run('CumSum', [x, ax(2)]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumSum', [x, i32([0, 1])]), 'INVALID_ARGUMENT');
});

test('TopK: largest/smallest, ties by lower index, NaN order, k forms', () => {
  const x = f32([3, 1, 3, 2, NaN, 1], [6]);
  const [v, i] = runAll('TopK', [x, i64([3])], {}, 11);
  assert.deepEqual(vals(i), [4n, 0n, 2n]);
  assert.ok(Number.isNaN(v!.data[0] as number));
  assert.deepEqual(vals(v!).slice(1), [3, 3]);
  const [v2, i2] = runAll('TopK', [x, i64([4])], { largest: int(0) }, 11);
  assert.deepEqual(vals(v2!), [1, 1, 2, 3]);
  assert.deepEqual(vals(i2!), [1n, 5n, 3n, 0n]);
  // full sort path (k > 16) agrees with the insertion path
  const r = rand(200, 3, 2).map((q) => Math.round(q * 2) / 2); // many ties
  const rt = new Tensor(DType.float32, [200], r);
  const [, ia] = runAll('TopK', [rt, i64([16])], {}, 11);
  const [, ib] = runAll('TopK', [rt, i64([40])], {}, 11);
  assert.deepEqual(vals(ia!), vals(ib!).slice(0, 16));
  const order = Array.from({ length: 200 }, (_, j) => j).sort((a, b) => r[b]! - r[a]! || a - b);
  assert.deepEqual(vals(ib!), order.slice(0, 40).map(BigInt));
  // axis 0 of a 2-D input, opset 9 attribute k
  const m = f32([1, 9, 5, 2, 7, 3], [3, 2]);
  const [vm, im] = runAll('TopK', [m], { k: int(2), axis: int(0) }, 9);
  assert.deepEqual(vm!.shape, [2, 2]);
  assert.deepEqual(vals(vm!), [7, 9, 5, 3]);
  assert.deepEqual(vals(im!), [2n, 0n, 1n, 2n]);
  // k = 0 and integer input
  assert.deepEqual(runAll('TopK', [m, i64([0])], {}, 11)[0]!.shape, [3, 0]);
  assert.deepEqual(vals(runAll('TopK', [i64([5, -2, 7]), i64([2])], {}, 11)[0]!), [7n, 5n]);
  throwsCode(() => runAll('TopK', [x, i64([7])], {}, 11), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('TopK', [x, i64([-1])], {}, 11), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('TopK', [x], {}, 11), 'INVALID_ARGUMENT');
});

// --- softmax family -------------------------------------------------------------------

function refSoftmax(x: Float32Array, outer: number, N: number, inner: number, log: boolean): Float32Array {
  const y = new Float32Array(x.length);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < inner; k++) {
      const at = (r: number) => o * N * inner + r * inner + k;
      let m = x[at(0)]!;
      for (let r = 1; r < N; r++) if (x[at(r)]! > m || Number.isNaN(x[at(r)]!)) m = x[at(r)]!;
      let s = 0;
      for (let r = 0; r < N; r++) s = fr(s + expf(fr(x[at(r)]! - m)));
      for (let r = 0; r < N; r++) y[at(r)] = log ? fr(fr(x[at(r)]! - m) - logf(s)) : fr(expf(fr(x[at(r)]! - m)) / s);
    }
  return y;
}

test('Softmax / LogSoftmax are bit-identical to the canonical recomputation (every axis, both opset forms)', () => {
  const shape = [3, 4, 5];
  const x = rand(60, 99, 8);
  const t = new Tensor(DType.float32, shape, x);
  for (const [op, log] of [['Softmax', false], ['LogSoftmax', true]] as const) {
    sameValues(run(op, [t], { axis: int(0) }, 13).data as Float32Array, refSoftmax(x, 1, 3, 20, log), `${op} axis 0`);
    sameValues(run(op, [t], { axis: int(1) }, 13).data as Float32Array, refSoftmax(x, 3, 4, 5, log), `${op} axis 1`);
    sameValues(run(op, [t], {}, 13).data as Float32Array, refSoftmax(x, 12, 5, 1, log), `${op} default`);
    // opset < 13: coerced to 2-D at axis (default 1)
    sameValues(run(op, [t], {}, 11).data as Float32Array, refSoftmax(x, 3, 20, 1, log), `${op} opset 11 default`);
    sameValues(run(op, [t], { axis: int(0) }, 11).data as Float32Array, refSoftmax(x, 1, 60, 1, log), `${op} opset 11 axis 0`);
    sameValues(run(op, [t], { axis: int(-1) }, 11).data as Float32Array, refSoftmax(x, 12, 5, 1, log), `${op} opset 11 axis -1`);
  }
});

test('Softmax edge cases: large values, -inf, NaN, float64, empty, invalid', () => {
  assert.deepEqual(vals(run('Softmax', [f32([1000, 1000])], {}, 13)), [0.5, 0.5]);
  assert.deepEqual(vals(run('Softmax', [f32([-Infinity, 0])], {}, 13)), [0, 1]);
  assert.ok(vals(run('Softmax', [f32([-Infinity, -Infinity])], {}, 13)).every((v) => Number.isNaN(v)));
  assert.ok(vals(run('Softmax', [f32([1, NaN])], {}, 13)).every((v) => Number.isNaN(v)));
  assert.deepEqual(vals(run('LogSoftmax', [f32([0, 0])], {}, 13)), [fr(-logf(2)), fr(-logf(2))]);
  const d = vals(run('Softmax', [f64([0, Math.log(3)])], {}, 13)) as number[];
  assert.ok(Math.abs(d[0]! - 0.25) < 1e-15 && Math.abs(d[1]! - 0.75) < 1e-15);
  assert.deepEqual(run('Softmax', [new Tensor(DType.float32, [0, 3], new Float32Array(0))], {}, 13).shape, [0, 3]);
  throwsCode(() => run('Softmax', [f32([1, 2])], { axis: int(1) }, 13), 'INVALID_ARGUMENT');
  throwsCode(() => run('Softmax', [i32([1, 2])], {}, 13), 'INVALID_ARGUMENT');
  throwsCode(() => run('Softmax', [new Tensor(DType.float16, [1], new Uint16Array(1))], {}, 13), 'UNSUPPORTED_FEATURE');
});

test('Hardmax: first maximum, NaN, axis forms', () => {
  const x = f32([1, 3, 3, 2, 0, 5, NaN, 5], [2, 4]);
  assert.deepEqual(vals(run('Hardmax', [x], {}, 13)), [0, 1, 0, 0, 0, 0, 1, 0]);
  assert.deepEqual(vals(run('Hardmax', [x], { axis: int(0) }, 13)), [1, 0, 0, 0, 0, 1, 1, 1]);
  assert.deepEqual(vals(run('Hardmax', [x], { axis: int(0) }, 11)), [0, 0, 0, 0, 0, 0, 1, 0]);
});

test('Softmax/LogSoftmax float32: the WebAssembly fast path (whole tensor) gives the bits of the JS path (one small row at a time)', () => {
  // outer * N >= 256 (inner = 1) takes the WebAssembly kernel; one row of N < 256 runs softmaxF32
  const specials = [NaN, Infinity, -Infinity, 0, -0, -1e30, 88, -104];
  for (const [rows, N] of [[4 * 128, 128], [300, 1], [37, 7], [5, 255]] as const) {
    const xs = ansiLcgFloat32(rows * N, 50 + N, 8, 0);
    for (let i = 0; i < xs.length; i += 13) xs[i] = specials[i % specials.length]!;
    xs.fill(-0, 0, N); // a row of -0: the max's sign decides LogSoftmax's zeros
    for (const op of ['Softmax', 'LogSoftmax']) {
      const y = run(op, [f32(xs, [rows, N])], {}, 13).data as Float32Array;
      for (let r = 0; r < rows; r++) {
        const yr = run(op, [f32(xs.subarray(r * N, (r + 1) * N), [1, N])], {}, 13).data as Float32Array;
        const got = Array.from(new Uint32Array(Float32Array.from(y.subarray(r * N, (r + 1) * N)).buffer));
        assert.deepEqual(got, Array.from(new Uint32Array(Float32Array.from(yr).buffer)), `${op} row ${r} (${rows}x${N})`);
      }
    }
  }
});

// --- the WebAssembly SIMD fast paths (float32 jobs of >= 256 elements) ------------------

/** Random values with ±0, ±Inf (optional), subnormals and huge values mixed in. */
function mixed(n: number, seed: number, inf: boolean): Float32Array {
  const x = rand(n, seed, 3);
  let s = seed >>> 0;
  const next = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    const t = next();
    if (t < 0.05) x[i] = next() < 0.5 ? 0 : -0;
    else if (t < 0.07) x[i] = (next() - 0.5) * 1e-40;
    else if (t < 0.08) x[i] = (next() - 0.5) * 1e38;
    else if (inf && t < 0.085) x[i] = next() < 0.5 ? Infinity : -Infinity;
  }
  return x;
}

test('float32 reductions (fast path sizes): every axis subset, keepdims 0/1, specials, bit-identical', () => {
  const shape = [5, 7, 9, 11];
  for (const inf of [false, true]) {
    const x = mixed(5 * 7 * 9 * 11, inf ? 5 : 9, inf);
    const t = new Tensor(DType.float32, shape, x);
    for (let mask = 1; mask < 16; mask++) {
      const axes = [0, 1, 2, 3].filter((a) => mask & (1 << a));
      const g = groups(shape, axes);
      // (refReduce's logsumexp does not model the kernel's non-finite-max rule)
      for (const kind of inf ? KINDS.filter((k) => k !== 'ReduceLogSumExp') : KINDS) {
        const want = g.map((idx) => refReduce(kind, x, idx));
        for (const keepdims of [0, 1]) {
          const y = run(kind, [t, i64(axes)], { keepdims: int(keepdims) });
          assert.equal(y.size, want.length);
          sameValues(y.data as Float32Array, want, `${kind} axes ${axes} keepdims ${keepdims} inf ${inf}`);
        }
      }
    }
    // noop_with_empty_axes: the input unchanged
    assert.equal(run('ReduceSum', [t, i64([])], { noop_with_empty_axes: int(1) }).data, x);
  }
  // a NaN: the whole job goes back to the JS loop; NaN outputs where their slices hold it
  const x = mixed(5 * 7 * 9 * 11, 3, false);
  x[100] = NaN;
  const t = new Tensor(DType.float32, shape, x);
  for (const kind of ['ReduceSum', 'ReduceMax', 'ReduceMin']) {
    const y = run(kind, [t, i64([1])]).data as Float32Array;
    const want = groups(shape, [1]).map((idx) => refReduce(kind, x, idx));
    sameValues(y, want, `${kind} with a NaN`);
  }
});

test('Softmax / LogSoftmax (fast path sizes): every axis of [6, 7, 9, 11] with specials, bit-identical', () => {
  const shape = [6, 7, 9, 11];
  for (const inf of [false, true]) {
    const x = mixed(6 * 7 * 9 * 11, inf ? 15 : 19, inf);
    if (inf) x[7 * 9 * 11 + 5] = NaN; // slice 1 of axis 0 gets a NaN column
    const t = new Tensor(DType.float32, shape, x);
    for (let axis = 0; axis < 4; axis++) {
      const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
      const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      for (const [op, log] of [['Softmax', false], ['LogSoftmax', true]] as const) {
        const want = refSoftmax(x, outer, shape[axis]!, inner, log);
        const got = run(op, [t], { axis: int(axis) }, 13).data as Float32Array;
        sameValues(got, want, `${op} axis ${axis} inf ${inf}`);
      }
    }
  }
});
