import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBatch, splitRanges } from './batch.js';
import { loadModel } from '../../onnx/load.js';
import { buildModel, type BuildNode } from '../../onnx/build.js';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { cnnModel, matmulModel, mlpModel, randomTensor, transformerModel } from '../../../test/fixtures/models.js';

const F = DType.float32;
const i64 = (v: number[]) => new Tensor(DType.int64, [v.length], BigInt64Array.from(v.map(BigInt)));

/** A one-input model x:[4,3,8] -> nodes -> y, with the given initializers. */
function plan(nodes: BuildNode[], inits: Record<string, Tensor> = {}, xShape = [4, 3, 8], extraFeeds: Record<string, Tensor> = {}) {
  const extra = Object.entries(extraFeeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] }));
  const model = loadModel(
    buildModel({
      inputs: [{ name: 'x', dtype: F, shape: xShape }, ...extra],
      outputs: [{ name: 'y', dtype: F }],
      initializers: inits,
      nodes,
    }),
  );
  return planBatch(model, { x: randomTensor(xShape, 1), ...extraFeeds });
}

test('the bench models: CNN, MLP and matmul512 split their batch input; the transformer is refused', () => {
  for (const [m, split, batch] of [
    [cnnModel(), ['x'], 8],
    [mlpModel(8), ['x'], 8],
    [matmulModel(16), ['a'], 16],
  ] as const) {
    assert.deepEqual(planBatch(loadModel(m.bytes), m.feeds).plan, { splitInputs: split, batch });
  }
  const t = transformerModel(8, 16, 2, 32);
  const r = planBatch(loadModel(t.bytes), t.feeds);
  assert.equal(r.plan, undefined);
  assert.match(r.reason!, /Reshape|MatMul|Transpose/);
});

test('two fed matrices: both share axis-0 extent, only A can be split', () => {
  const model = loadModel(
    buildModel({
      inputs: [
        { name: 'a', dtype: F, shape: [6, 6] },
        { name: 'b', dtype: F, shape: [6, 6] },
      ],
      outputs: [{ name: 'c', dtype: F }],
      nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
    }),
  );
  assert.deepEqual(planBatch(model, { a: randomTensor([6, 6], 1), b: randomTensor([6, 6], 2) }).plan, { splitInputs: ['a'], batch: 6 });
  // B @ A: splitting A (the first feed) moves it to the right operand: refused
  const swapped = loadModel(
    buildModel({
      inputs: [
        { name: 'a', dtype: F, shape: [6, 6] },
        { name: 'b', dtype: F, shape: [6, 6] },
      ],
      outputs: [{ name: 'c', dtype: F }],
      nodes: [{ op: 'MatMul', inputs: ['b', 'a'], outputs: ['c'] }],
    }),
  );
  assert.equal(planBatch(swapped, { a: randomTensor([6, 6], 1), b: randomTensor([6, 6], 2) }).plan, undefined);
});

test('both feeds split when every node keeps samples apart', () => {
  const r = plan([{ op: 'Add', inputs: ['x', 'z'], outputs: ['y'] }], {}, [4, 3, 8], { z: randomTensor([4, 3, 8], 2) });
  assert.deepEqual(r.plan, { splitInputs: ['x', 'z'], batch: 4 });
});

test('accepted: elementwise, broadcast constants without the batch axis, axis-keeping reshapes', () => {
  const ok: [BuildNode[], Record<string, Tensor>][] = [
    [[{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], {}],
    [[{ op: 'Mul', inputs: ['x', 'c'], outputs: ['y'] }], { c: randomTensor([3, 8], 2) }],
    [[{ op: 'Mul', inputs: ['c', 'x'], outputs: ['y'] }], { c: randomTensor([1, 3, 1], 2) }],
    [[{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], { s: i64([0, -1]) }],
    [[{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], { s: i64([-1, 24]) }],
    [[{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }], {}],
    [[{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm: [0, 2, 1] } }], {}],
    [[{ op: 'Concat', inputs: ['x', 'x'], outputs: ['y'], attrs: { axis: -1 } }], {}],
    [[{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }], { w: randomTensor([8, 5], 3) }],
    [
      [
        { op: 'Flatten', inputs: ['x'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['f', 'w', 'b'], outputs: ['y'], attrs: { transB: 1 } },
      ],
      { w: randomTensor([5, 24], 3), b: randomTensor([1, 5], 4) },
    ],
  ];
  for (const [nodes, inits] of ok) assert.deepEqual(plan(nodes, inits).plan, { splitInputs: ['x'], batch: 4 }, nodes.map((n) => n.op).join(','));
});

test('refused: anything that mixes samples or moves the batch axis', () => {
  const bad: [BuildNode[], Record<string, Tensor>, RegExp][] = [
    [[{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }], { c: randomTensor([4, 3, 8], 2) }, /varies along the batch axis/],
    [[{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], { s: i64([4, -1]) }, /Reshape/],
    [[{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }], { s: i64([-1, 8]) }, /Reshape/],
    [[{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 0 } }], {}, /batch axis/],
    [[{ op: 'Flatten', inputs: ['x'], outputs: ['y'], attrs: { axis: 2 } }], {}, /Flatten/],
    [[{ op: 'Flatten', inputs: ['x'], outputs: ['y'], attrs: { axis: 0 } }], {}, /Flatten/],
    [[{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm: [1, 0, 2] } }], {}, /Transpose/],
    [[{ op: 'Transpose', inputs: ['x'], outputs: ['y'] }], {}, /Transpose/],
    [[{ op: 'Concat', inputs: ['x', 'x'], outputs: ['y'], attrs: { axis: 0 } }], {}, /Concat/],
    [[{ op: 'ReduceSum', inputs: ['x'], outputs: ['y'] }], {}, /not known/],
    [[{ op: 'Shape', inputs: ['x'], outputs: ['y'] }], {}, /not known/],
    [[{ op: 'MatMul', inputs: ['w', 'x'], outputs: ['y'] }], { w: randomTensor([3, 4], 3) }, /MatMul/],
    [[{ op: 'MaxPool', inputs: ['x'], outputs: ['y', 'i'], attrs: { kernel_shape: [2] } }], {}, /more than one output/],
    [[{ op: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], attrs: { transA: 1 } }], { w: randomTensor([4, 4], 3) }, /Gemm/],
    [[{ op: 'Identity', inputs: ['c'], outputs: ['y'] }], { c: randomTensor([4], 2) }, /does not carry the batch axis/],
  ];
  for (const [nodes, inits, why] of bad) {
    const xShape = nodes[0]!.op === 'Gemm' ? [4, 4] : [4, 3, 8];
    const r = plan(nodes, inits, xShape);
    assert.equal(r.plan, undefined, nodes.map((n) => n.op).join(','));
    assert.match(r.reason!, why);
  }
});

test('no plan without a batch of at least 2', () => {
  const r = plan([{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], {}, [1, 3]);
  assert.equal(r.plan, undefined);
});

test('split ranges: contiguous, as equal as possible, larger first', () => {
  assert.deepEqual(splitRanges(8, 2), [[0, 4], [4, 8]]);
  assert.deepEqual(splitRanges(7, 2), [[0, 4], [4, 7]]);
  assert.deepEqual(splitRanges(8, 3), [[0, 3], [3, 6], [6, 8]]);
  assert.deepEqual(splitRanges(3, 4), [[0, 1], [1, 2], [2, 3]]);
  assert.deepEqual(splitRanges(1, 4), [[0, 1]]);
});
