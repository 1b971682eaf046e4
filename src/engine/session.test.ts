import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession } from './session.js';
import { traceLeaf } from './trace.js';
import { buildModel } from '../onnx/build.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorDigest } from '../tensor/canonical.js';
import { merkleRoot } from '../hash/merkle.js';
import { VerinferError } from '../errors.js';

const code = (c: string) => (e: unknown) => e instanceof VerinferError && e.code === c;
const f32 = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));

// y = Relu(x + b) - x ; z = Neg(y): intermediate values die at their last use.
const model = buildModel({
  inputs: [{ name: 'x', dtype: DType.float32, shape: ['n', 3] }],
  outputs: [
    { name: 'y', dtype: DType.float32 },
    { name: 'z', dtype: DType.float32 },
  ],
  initializers: { b: f32([3], [1, -2, 0.5]) },
  nodes: [
    { op: 'Add', inputs: ['x', 'b'], outputs: ['s'] },
    { op: 'Relu', inputs: ['s'], outputs: ['r'] },
    { op: 'Sub', inputs: ['r', 'x'], outputs: ['y'] },
    { op: 'Neg', inputs: ['y'], outputs: ['z'] },
  ],
});

test('runs a graph and returns outputs by name and in order', () => {
  const s = createSession(model);
  const { outputs, outputList } = s.run({ x: f32([2, 3], [1, 1, 1, -5, 0, 3]) });
  assert.deepEqual([...outputs.y!.data], [1, -1, 0.5, 5, 0, 0.5]);
  assert.deepEqual([...outputList[1]!.data], [-1, 1, -0.5, -5, -0, -0.5]);
  assert.deepEqual(s.inputs.map((i) => i.name), ['x']);
});

test('the trace has one leaf per node, in node order, with the output digests; its root is MTH over the leaves', () => {
  const s = createSession(model);
  const x = f32([2, 3], [1, 1, 1, -5, 0, 3]);
  const { trace, outputs } = s.run({ x }, { trace: true });
  assert.ok(trace);
  assert.equal(trace.leaves.length, 4);
  assert.deepEqual(trace.outputDigests[2]![0], tensorDigest(outputs.y!));
  assert.deepEqual(trace.leaves[3], traceLeaf(3, { domain: '', opType: 'Neg' }, [tensorDigest(outputs.z!)]));
  assert.deepEqual(trace.root, merkleRoot(trace.leaves));
  // leaf layout: u32le index, u8 len, op, u8 outputs, digests
  const leaf = trace.leaves[1]!;
  assert.deepEqual([...leaf.subarray(0, 5)], [1, 0, 0, 0, 4]);
  assert.equal(new TextDecoder().decode(leaf.subarray(5, 9)), 'Relu');
  assert.equal(leaf[9], 1);
  assert.equal(leaf.length, 10 + 32);
  // deterministic across runs and sessions
  assert.deepEqual(createSession(model).run({ x }, { trace: true }).trace!.root, trace.root);
  // and sensitive to the input
  assert.notDeepEqual(s.run({ x: f32([2, 3], [1, 1, 1, -5, 0, 2]) }, { trace: true }).trace!.root, trace.root);
});

test('feeds are validated with typed errors', () => {
  const s = createSession(model);
  assert.throws(() => s.run({}), (e: unknown) => code('MISSING_INPUT')(e) && (e as VerinferError).details.input === 'x');
  assert.throws(() => s.run({ x: f32([1, 3], [1, 2, 3]), w: f32([1], [1]) }), code('UNKNOWN_INPUT'));
  assert.throws(() => s.run({ x: new Tensor(DType.int32, [1, 3], Int32Array.from([1, 2, 3])) }), code('INPUT_DTYPE_MISMATCH'));
  assert.throws(() => s.run({ x: f32([3], [1, 2, 3]) }), code('INPUT_SHAPE_MISMATCH'));
  assert.throws(() => s.run({ x: f32([1, 2], [1, 2]) }), code('INPUT_SHAPE_MISMATCH'));
});

test('an unsupported op is named with its node at session creation', () => {
  const m = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [1] }],
    outputs: [{ name: 'y', dtype: DType.float32 }],
    nodes: [{ op: 'FancyOp', name: 'mystery', inputs: ['x'], outputs: ['y'] }],
  });
  assert.throws(
    () => createSession(m),
    (e: unknown) => code('UNSUPPORTED_OP')(e) && (e as VerinferError).details.opType === 'FancyOp' && (e as VerinferError).details.nodeName === 'mystery',
  );
  const custom = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [1] }],
    outputs: [{ name: 'y', dtype: DType.float32 }],
    nodes: [{ op: 'Relu', domain: 'com.example', inputs: ['x'], outputs: ['y'] }],
  });
  assert.throws(() => createSession(custom), code('MODEL_INVALID')); // domain not imported
});

test('an intermediate tensor over the memory cap fails cleanly with TENSOR_TOO_LARGE', () => {
  const m = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [1, 1] }],
    outputs: [{ name: 'y', dtype: DType.float32 }],
    initializers: { shape: new Tensor(DType.int64, [2], BigInt64Array.from([100000n, 100000n])) },
    nodes: [{ op: 'Expand', inputs: ['x', 'shape'], outputs: ['y'] }],
  });
  const s = createSession(m, { maxTensorBytes: 1 << 20 });
  assert.throws(() => s.run({ x: f32([1, 1], [1]) }), (e: unknown) => code('TENSOR_TOO_LARGE')(e) && (e as VerinferError).details.node === 0);
});

test('graph inputs that have an initializer default to it and may be overridden', () => {
  const m = buildModel({
    inputs: [
      { name: 'x', dtype: DType.float32, shape: [2] },
      { name: 'b', dtype: DType.float32, shape: [2] },
    ],
    outputs: [{ name: 'y', dtype: DType.float32 }],
    initializers: { b: f32([2], [10, 20]) },
    nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
  });
  const s = createSession(m);
  assert.deepEqual(s.inputs.map((i) => i.name), ['x']);
  assert.deepEqual([...s.run({ x: f32([2], [1, 2]) }).outputs.y!.data], [11, 22]);
  assert.deepEqual([...s.run({ x: f32([2], [1, 2]), b: f32([2], [0, 0]) }).outputs.y!.data], [1, 2]);
});
