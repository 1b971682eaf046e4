// Differential tests: randomly generated single-op and small multi-op models run
// on the engine and on onnxruntime-node; outputs must agree within tolerance.
// (Bit-exactness is the engine's own property; ORT is only an independent oracle
// of the math.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildModel, floatAttr, type BuildNode } from '../src/onnx/build.js';
import { createSession } from '../src/engine/session.js';
import { DType, dtypeName } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';
import { compareTensors } from '../src/cli/conformance.js';
import { rng } from './fixtures/models.js';

interface Case {
  name: string;
  inputs: Tensor[];
  nodes: BuildNode[];
  initializers?: Record<string, Tensor>;
  outputs?: number;
  outputTypes?: DType[];
  opset?: number;
}

const r = rng(12345);
const randShape = (rank: number, max = 6) => Array.from({ length: rank }, () => 1 + Math.floor(r() * max));
function randF32(shape: number[], lo = -3, hi = 3): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(DType.float32, shape, Float32Array.from({ length: n }, () => lo + r() * (hi - lo)));
}
const i64 = (v: number[]) => new Tensor(DType.int64, [v.length], BigInt64Array.from(v.map(BigInt)));

function unary(op: string, lo = -3, hi = 3, attrs?: BuildNode['attrs']): Case {
  return { name: op, inputs: [randF32(randShape(3), lo, hi)], nodes: [{ op, inputs: ['in0'], outputs: ['out0'], attrs }] };
}
function binary(op: string, lo = -3, hi = 3): Case {
  const a = randShape(3);
  const b = a.map((d) => (r() < 0.3 ? 1 : d)).slice(Math.floor(r() * 2)); // broadcast: drop a leading dim, set some dims to 1
  return { name: `${op} [${a}] x [${b}]`, inputs: [randF32(a, lo, hi), randF32(b, lo, hi)], nodes: [{ op, inputs: ['in0', 'in1'], outputs: ['out0'] }] };
}

const cases: Case[] = [
  ...['Add', 'Sub', 'Mul', 'Max', 'Min'].map((op) => binary(op)),
  binary('Div', 0.5, 3),
  binary('Pow', 0.1, 2),
  ...['Neg', 'Abs', 'Relu', 'Tanh', 'Sigmoid', 'Erf', 'Exp', 'Floor', 'Ceil', 'Sin', 'Cos', 'Softplus', 'Softsign', 'Elu', 'Selu', 'HardSigmoid', 'HardSwish'].map(
    (op) => unary(op),
  ),
  unary('Log', 0.01, 10),
  unary('Sqrt', 0, 10),
  unary('Reciprocal', 0.1, 5),
  unary('LeakyRelu', -3, 3, { alpha: floatAttr(0.07) }),
  ...['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'].map((op) => ({
    name: op,
    inputs: [randF32([3, 4, 5], op === 'ReduceProd' ? 0.5 : -3, op === 'ReduceProd' ? 1.5 : 3)],
    nodes: [{ op, inputs: ['in0'], outputs: ['out0'], attrs: { axes: [1], keepdims: 0 } }],
    opset: 11,
  })),
  { name: 'ArgMax', inputs: [randF32([4, 7])], nodes: [{ op: 'ArgMax', inputs: ['in0'], outputs: ['out0'], attrs: { axis: 1 } }], outputTypes: [DType.int64] },
  ...[-1, 0, 1].map((axis) => ({ name: `Softmax axis ${axis}`, inputs: [randF32([3, 5, 7], -8, 8)], nodes: [{ op: 'Softmax', inputs: ['in0'], outputs: ['out0'], attrs: { axis } }] })),
  { name: 'LogSoftmax', inputs: [randF32([4, 9], -8, 8)], nodes: [{ op: 'LogSoftmax', inputs: ['in0'], outputs: ['out0'], attrs: { axis: -1 } }] },
  ...[[1, 1, 1], [7, 13, 5], [16, 33, 17], [2, 5, 9, 3]].map((s) => {
    const [b, m, k, n] = s.length === 4 ? s : [0, ...s];
    const a = b ? [b, m!, k!] : [m!, k!];
    return { name: `MatMul ${s}`, inputs: [randF32(a), randF32([k!, n!])], nodes: [{ op: 'MatMul', inputs: ['in0', 'in1'], outputs: ['out0'] }] };
  }),
  {
    name: 'Gemm transB alpha beta',
    inputs: [randF32([5, 7]), randF32([3, 7]), randF32([3])],
    nodes: [{ op: 'Gemm', inputs: ['in0', 'in1', 'in2'], outputs: ['out0'], attrs: { transB: 1, alpha: floatAttr(0.5), beta: floatAttr(2) } }],
  },
  ...[
    { x: [2, 3, 9, 8], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { x: [1, 4, 10, 7], w: [6, 2, 3, 2], attrs: { group: 2, strides: [2, 1], dilations: [1, 2] } },
    { x: [2, 3, 11], w: [5, 3, 4], attrs: { auto_pad: 'SAME_UPPER' } },
    { x: [1, 2, 5, 6, 4], w: [3, 2, 2, 3, 2], attrs: {} },
  ].map((c) => ({
    name: `Conv x[${c.x}] w[${c.w}]`,
    inputs: [randF32(c.x), randF32(c.w), randF32([c.w[0]!])],
    nodes: [{ op: 'Conv', inputs: ['in0', 'in1', 'in2'], outputs: ['out0'], attrs: c.attrs as BuildNode['attrs'] }],
  })),
  {
    name: 'ConvTranspose',
    inputs: [randF32([1, 3, 5, 4]), randF32([3, 2, 3, 3])],
    nodes: [{ op: 'ConvTranspose', inputs: ['in0', 'in1'], outputs: ['out0'], attrs: { strides: [2, 2], pads: [1, 0, 1, 0] } }],
  },
  { name: 'MaxPool', inputs: [randF32([2, 3, 9, 9])], nodes: [{ op: 'MaxPool', inputs: ['in0'], outputs: ['out0'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }] },
  { name: 'AveragePool', inputs: [randF32([2, 3, 8, 7])], nodes: [{ op: 'AveragePool', inputs: ['in0'], outputs: ['out0'], attrs: { kernel_shape: [2, 3], count_include_pad: 1, pads: [0, 1, 0, 1] } }] },
  { name: 'GlobalAveragePool', inputs: [randF32([2, 5, 6, 6])], nodes: [{ op: 'GlobalAveragePool', inputs: ['in0'], outputs: ['out0'] }] },
  {
    name: 'BatchNormalization',
    inputs: [randF32([2, 3, 4, 4]), randF32([3]), randF32([3]), randF32([3]), randF32([3], 0.5, 2)],
    nodes: [{ op: 'BatchNormalization', inputs: ['in0', 'in1', 'in2', 'in3', 'in4'], outputs: ['out0'] }],
  },
  {
    name: 'LayerNormalization',
    inputs: [randF32([3, 4, 16]), randF32([16]), randF32([16])],
    nodes: [{ op: 'LayerNormalization', inputs: ['in0', 'in1', 'in2'], outputs: ['out0'], attrs: { axis: -1 } }],
  },
  {
    name: 'InstanceNormalization',
    inputs: [randF32([2, 3, 5, 5]), randF32([3]), randF32([3])],
    nodes: [{ op: 'InstanceNormalization', inputs: ['in0', 'in1', 'in2'], outputs: ['out0'] }],
  },
  { name: 'Transpose', inputs: [randF32([2, 3, 4, 5])], nodes: [{ op: 'Transpose', inputs: ['in0'], outputs: ['out0'], attrs: { perm: [3, 1, 0, 2] } }] },
  { name: 'Concat', inputs: [randF32([2, 3, 4]), randF32([2, 5, 4])], nodes: [{ op: 'Concat', inputs: ['in0', 'in1'], outputs: ['out0'], attrs: { axis: 1 } }] },
  {
    name: 'Slice',
    inputs: [randF32([6, 7, 8])],
    initializers: { s: i64([1, -1, 0]), e: i64([5, -8, 8]), a: i64([0, 1, 2]), st: i64([2, -2, 3]) },
    nodes: [{ op: 'Slice', inputs: ['in0', 's', 'e', 'a', 'st'], outputs: ['out0'] }],
  },
  {
    name: 'Gather',
    inputs: [randF32([5, 4, 3])],
    initializers: { idx: new Tensor(DType.int64, [2, 3], BigInt64Array.from([0n, -1n, 2n, 4n, 1n, 1n])) },
    nodes: [{ op: 'Gather', inputs: ['in0', 'idx'], outputs: ['out0'], attrs: { axis: 1 - 1 } }],
  },
  {
    name: 'Pad reflect',
    inputs: [randF32([3, 4, 5])],
    initializers: { p: i64([0, 2, 1, 0, 1, 3]) },
    nodes: [{ op: 'Pad', inputs: ['in0', 'p'], outputs: ['out0'], attrs: { mode: 'reflect' } }],
  },
  {
    name: 'Resize linear',
    inputs: [randF32([1, 2, 4, 5])],
    initializers: { roi: new Tensor(DType.float32, [0], new Float32Array(0)), scales: new Tensor(DType.float32, [4], Float32Array.from([1, 1, 2, 1.5])) },
    nodes: [{ op: 'Resize', inputs: ['in0', 'roi', 'scales'], outputs: ['out0'], attrs: { mode: 'linear' } }],
  },
  {
    name: 'CumSum',
    inputs: [randF32([4, 6])],
    initializers: { ax: new Tensor(DType.int64, [], BigInt64Array.from([1n])) },
    nodes: [{ op: 'CumSum', inputs: ['in0', 'ax'], outputs: ['out0'] }],
  },
  {
    name: 'Einsum bij,bjk->bik',
    inputs: [randF32([2, 3, 4]), randF32([2, 4, 5])],
    nodes: [{ op: 'Einsum', inputs: ['in0', 'in1'], outputs: ['out0'], attrs: { equation: 'bij,bjk->bik' } }],
  },
  {
    name: 'LSTM',
    inputs: [randF32([5, 2, 3]), randF32([1, 16, 3], -0.5, 0.5), randF32([1, 16, 4], -0.5, 0.5), randF32([1, 32], -0.5, 0.5)],
    nodes: [{ op: 'LSTM', inputs: ['in0', 'in1', 'in2', 'in3'], outputs: ['out0', 'out1'], attrs: { hidden_size: 4 } }],
    outputs: 2,
  },
  {
    name: 'GRU',
    inputs: [randF32([4, 3, 2]), randF32([1, 9, 2], -0.5, 0.5), randF32([1, 9, 3], -0.5, 0.5), randF32([1, 18], -0.5, 0.5)],
    nodes: [{ op: 'GRU', inputs: ['in0', 'in1', 'in2', 'in3'], outputs: ['out0', 'out1'], attrs: { hidden_size: 3, linear_before_reset: 1 } }],
    outputs: 2,
  },
];

for (const c of cases) {
  test(`engine agrees with onnxruntime: ${c.name}`, async () => {
    const nOut = c.outputs ?? 1;
    const bytes = buildModel({
      opset: c.opset ?? 17,
      inputs: c.inputs.map((t, i) => ({ name: `in${i}`, dtype: t.dtype, shape: [...t.shape] })),
      outputs: Array.from({ length: nOut }, (_, i) => ({ name: `out${i}`, dtype: c.outputTypes?.[i] ?? DType.float32 })),
      initializers: c.initializers,
      nodes: c.nodes,
    });
    const feeds = Object.fromEntries(c.inputs.map((t, i) => [`in${i}`, t]));
    const ours = createSession(bytes).run(feeds).outputList;
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const res = await s.run(Object.fromEntries(c.inputs.map((t, i) => [`in${i}`, new ort.Tensor(dtypeName(t.dtype) as 'float32', t.data as Float32Array, [...t.shape])])));
    for (let i = 0; i < nOut; i++) {
      const o = res[`out${i}`]!;
      const theirs = new Tensor(o.type === 'int64' ? DType.int64 : DType.float32, [...o.dims], o.data as Float32Array | BigInt64Array);
      const why = compareTensors(ours[i], theirs, 1e-4, 1e-5);
      assert.equal(why, undefined, `output ${i}: ${why}`);
    }
  });
}
