import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../tensor/dtype.js';
import { stridesOf, Tensor } from '../../tensor/tensor.js';
import { ops } from './indexing.js';
import { makeCtx, attrsOf, type PlainAttrs, i64, i32, throwsCode } from '../../../test/fixtures/kernels.js';

function run(op: string, inputs: (Tensor | undefined)[], attrs: PlainAttrs = {}, opset = 18, nOut = 1): Tensor[] {
  const outputs = Array.from({ length: nOut }, (_, i) => `y${i}`);
  return ops[op]!(inputs, makeCtx(op, attrsOf(attrs), opset, outputs));
}
const f32 = (shape: number[], v?: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i)));
const arr = (t: Tensor) => Array.from(t.data as ArrayLike<number>, Number);

test('Gather: axes, negative and int32 indices, scalar index, errors', () => {
  const x = f32([3, 4]);
  assert.deepEqual(arr(run('Gather', [x, i64([-1, 0])])[0]!), [8, 9, 10, 11, 0, 1, 2, 3]);
  const y = run('Gather', [x, i32([3, 1], [1, 2])], { axis: -1 })[0]!;
  assert.deepEqual(y.shape, [3, 1, 2]);
  assert.deepEqual(arr(y), [3, 1, 7, 5, 11, 9]);
  const s = run('Gather', [x, i64([2], [])])[0]!;
  assert.deepEqual(s.shape, [4]);
  throwsCode(() => run('Gather', [x, i64([3])]), 'INVALID_ARGUMENT', (d) => d.index === '3');
  throwsCode(() => run('Gather', [x, i64([-4])]), 'INVALID_ARGUMENT', (d) => d.index === '-4');
  throwsCode(() => run('Gather', [x, f32([1], [0])]), 'INVALID_ARGUMENT');
  // float16 and int64 data move as raw values
  const h = new Tensor(DType.float16, [2], Uint16Array.of(0x7c00, 0xfc00));
  assert.deepEqual(Array.from(run('Gather', [h, i64([1, 1, 0])])[0]!.data as Uint16Array), [0xfc00, 0xfc00, 0x7c00]);
  const big = i64([0, 0]);
  (big.data as BigInt64Array)[1] = -(2n ** 63n);
  assert.equal((run('Gather', [big, i64([1])])[0]!.data as BigInt64Array)[0], -(2n ** 63n));
  // empty indices
  assert.deepEqual(run('Gather', [x, i64([], [0, 2])], { axis: 1 })[0]!.shape, [3, 0, 2]);
});

test('GatherElements and GatherND (batch_dims)', () => {
  const x = f32([3, 3]);
  const y = run('GatherElements', [x, i64([1, -1, 0, 2], [2, 2])], { axis: 1 })[0]!;
  assert.deepEqual(arr(y), [1, 2, 3, 5]);
  const z = run('GatherElements', [x, i64([2, 0], [1, 2])], { axis: 0 })[0]!;
  assert.deepEqual(arr(z), [6, 1]);
  throwsCode(() => run('GatherElements', [x, i64([3], [1, 1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('GatherElements', [x, i64([0, 0, 0, 0], [1, 4])]), 'INVALID_ARGUMENT');
  const d = f32([2, 2, 3]);
  const g = run('GatherND', [d, i64([1, 0, 0, -1], [2, 2])])[0]!;
  assert.deepEqual(g.shape, [2, 3]);
  assert.deepEqual(arr(g), [6, 7, 8, 3, 4, 5]);
  const gb = run('GatherND', [d, i64([1, 2, 0, 0], [2, 1, 2])], { batch_dims: 1 })[0]!;
  assert.deepEqual(gb.shape, [2, 1]);
  assert.deepEqual(arr(gb), [5, 6]);
  throwsCode(() => run('GatherND', [d, i64([2, 0], [1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('GatherND', [d, i64([0, 0, 0, 0], [1, 4])]), 'INVALID_ARGUMENT');
});

test('ScatterElements: reductions applied in increasing update order, float32 rounding', () => {
  // non-associative float32 sums: order matters and is fixed
  const data = f32([1], [1e8]);
  const upd = f32([3], [1, 1, -1e8]);
  const y = run('ScatterElements', [data, i64([0, 0, 0]), upd], { reduction: 'add' })[0]!;
  let acc = Math.fround(1e8);
  for (const u of [1, 1, -1e8]) acc = Math.fround(acc + u);
  assert.equal(y.data[0], acc);
  // mul / max / min / none with duplicates
  const d = f32([2, 2], [1, 2, 3, 4]);
  const ind = i64([1, 1, 0, 1], [2, 2]);
  const u = f32([2, 2], [5, 6, 7, 8]);
  assert.deepEqual(arr(run('ScatterElements', [d, ind, u], { axis: 1, reduction: 'none' })[0]!), [1, 6, 7, 8]);
  assert.deepEqual(arr(run('ScatterElements', [d, ind, u], { axis: 1, reduction: 'mul' })[0]!), [1, 60, 21, 32]);
  assert.deepEqual(arr(run('ScatterElements', [d, ind, u], { axis: 1, reduction: 'max' })[0]!), [1, 6, 7, 8]);
  assert.deepEqual(arr(run('ScatterElements', [d, ind, u], { axis: 1, reduction: 'min' })[0]!), [1, 2, 3, 4]);
  // NaN propagates from either side for max/min
  const nanU = f32([1, 1], [NaN]);
  assert.ok(Number.isNaN(run('ScatterElements', [d, i64([0], [1, 1]), nanU], { reduction: 'max' })[0]!.data[0] as number));
  const nanD = f32([1], [NaN]);
  assert.ok(Number.isNaN(run('ScatterElements', [nanD, i64([0]), f32([1], [3])], { reduction: 'min' })[0]!.data[0] as number));
  // integer wrap-around
  const a = i32([0x7fffffff]);
  assert.deepEqual(arr(run('ScatterElements', [a, i64([0]), i32([1])], { reduction: 'add' })[0]!), [-0x80000000]);
  assert.deepEqual(arr(run('ScatterElements', [a, i64([0]), i32([3])], { reduction: 'mul' })[0]!), [Math.imul(0x7fffffff, 3)]);
  const b = i64([0]);
  (b.data as BigInt64Array)[0] = 2n ** 63n - 1n;
  assert.equal((run('ScatterElements', [b, i64([0]), i64([1])], { reduction: 'add' })[0]!.data as BigInt64Array)[0], -(2n ** 63n));
  // inputs not mutated
  assert.deepEqual(arr(d), [1, 2, 3, 4]);
  // deprecated Scatter alias (opset 9), errors
  assert.deepEqual(arr(run('Scatter', [d, ind, u], { axis: 1 }, 9)[0]!), [1, 6, 7, 8]);
  throwsCode(() => run('ScatterElements', [d, i64([2], [1, 1]), f32([1, 1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ScatterElements', [d, ind, u], { reduction: 'max' }, 16), 'INVALID_ARGUMENT');
  const h = new Tensor(DType.float16, [1], Uint16Array.of(0));
  throwsCode(() => run('ScatterElements', [h, i64([0]), h], { reduction: 'add' }), 'UNSUPPORTED_FEATURE');
  assert.deepEqual(Array.from(run('ScatterElements', [h, i64([0]), new Tensor(DType.float16, [1], Uint16Array.of(0x3c00))])[0]!.data as Uint16Array), [0x3c00]);
});

test('ScatterND: slices and elements, reductions, errors', () => {
  const d = f32([3, 2]);
  const y = run('ScatterND', [d, i64([2, 0], [2, 1]), f32([2, 2], [10, 11, 12, 13])])[0]!;
  assert.deepEqual(arr(y), [12, 13, 2, 3, 10, 11]);
  const z = run('ScatterND', [d, i64([1, 1, 1, 1], [2, 2]), f32([2], [5, 7])], { reduction: 'add' })[0]!;
  assert.deepEqual(arr(z), [0, 1, 2, 15, 4, 5]);
  throwsCode(() => run('ScatterND', [d, i64([3], [1, 1]), f32([1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('ScatterND', [d, i64([0], [1, 1]), f32([1, 3])]), 'INVALID_ARGUMENT');
});

test('OneHot: axis, negative / out-of-range / float indices', () => {
  const y = run('OneHot', [i64([0, -1, 5, 2]), f32([], [3]), f32([2], [-1, 9])])[0]!;
  assert.deepEqual(y.shape, [4, 3]);
  assert.deepEqual(arr(y), [9, -1, -1, -1, -1, 9, -1, -1, -1, -1, -1, 9]);
  const z = run('OneHot', [f32([2], [1.7, -0.5]), i64([2], []), i64([0, 1])], { axis: 0 })[0]!;
  assert.deepEqual(z.shape, [2, 2]);
  assert.deepEqual(arr(z), [0, 1, 1, 0]); // trunc(1.7) = 1, trunc(-0.5) = 0
  throwsCode(() => run('OneHot', [i64([0]), i64([0], []), f32([2])]), 'INVALID_ARGUMENT');
});

/** Naive slice reference over explicit index lists. */
function refSlice(x: Tensor, idx: number[][]): number[] {
  const xs = stridesOf(x.shape);
  const out: number[] = [];
  const rec = (a: number, off: number) => {
    if (a === idx.length) return void out.push(Number(x.data[off]));
    for (const i of idx[a]!) rec(a + 1, off + i * xs[a]!);
  };
  rec(0, 0);
  return out;
}

test('Slice: negative steps, clamping, int64 extremes, attribute form', () => {
  const x = f32([5, 6]);
  const ends = new Tensor(DType.int64, [2], BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n)); // INT64_MIN / INT64_MAX
  const y = run('Slice', [x, i64([-1, 1]), ends, i64([0, 1]), i64([-2, 2])])[0]!;
  assert.deepEqual(y.shape, [3, 3]);
  assert.deepEqual(arr(y), refSlice(x, [[4, 2, 0], [1, 3, 5]]));
  const z = run('Slice', [x, i64([10]), i64([-10]), i64([-1]), i64([-1])])[0]!;
  assert.deepEqual(arr(z), refSlice(x, [[0, 1, 2, 3, 4], [5, 4, 3, 2, 1, 0]]));
  assert.deepEqual(run('Slice', [x, i64([3]), i64([1])])[0]!.shape, [0, 6]);
  assert.deepEqual(arr(run('Slice', [x], { starts: [1], ends: [3], axes: [1] }, 9)[0]!), refSlice(x, [[0, 1, 2, 3, 4], [1, 2]]));
  throwsCode(() => run('Slice', [x, i64([0]), i64([1]), i64([0]), i64([0])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Slice', [x, i64([0, 0]), i64([1, 1]), i64([0, -2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Slice', [x, i64([0]), i64([1]), i64([2])]), 'INVALID_ARGUMENT');
});

test('Unique: sorted, unsorted, axis', () => {
  const x = f32([7], [2, 1, 1, 3, -0, 0, 2]);
  const [y, idx, inv, cnt] = run('Unique', [x], {}, 11, 4);
  assert.deepEqual(arr(y!).map((v) => v + 0), [0, 1, 2, 3]);
  assert.ok(Object.is(y!.data[0], -0)); // first occurrence represents the group
  assert.deepEqual(arr(idx!), [4, 1, 0, 3]);
  assert.deepEqual(arr(inv!), [2, 1, 1, 3, 0, 0, 2]);
  assert.deepEqual(arr(cnt!), [2, 2, 2, 1]);
  const [u] = run('Unique', [x], { sorted: 0 }, 11, 4);
  assert.deepEqual(arr(u!).map((v) => v + 0), [2, 1, 3, 0]);
  const m = f32([3, 2], [1, 0, 0, 1, 1, 0]);
  const [ya, ia, iva, ca] = run('Unique', [m], { axis: 0 }, 11, 4);
  assert.deepEqual(ya!.shape, [2, 2]);
  assert.deepEqual(arr(ya!), [0, 1, 1, 0]);
  assert.deepEqual(arr(ia!), [1, 0]);
  assert.deepEqual(arr(iva!), [1, 0, 1]);
  assert.deepEqual(arr(ca!), [1, 2]);
});
