import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { loadModel } from './load.js';
import { buildModel } from './build.js';
import { decodeTensorProtoBytes, encodeTensorProto } from './tensorProto.js';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProtoSchema } from './proto/onnx_pb.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { VerinferError } from '../errors.js';

const X = { name: 'x', dtype: DType.float32, shape: [2] };
const Y = { name: 'y', dtype: DType.float32, shape: [2] };
const relu = buildModel({ inputs: [X], outputs: [Y], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });

function code(c: string) {
  return (e: unknown) => e instanceof VerinferError && e.code === c;
}

test('a valid model decodes into the IR', () => {
  const m = loadModel(relu);
  assert.equal(m.opsets.get(''), 17);
  assert.equal(m.graph.nodes[0]!.opType, 'Relu');
  assert.deepEqual(m.graph.inputs[0], { name: 'x', dtype: DType.float32, shape: [2] });
});

test('empty, garbage and truncated files are MODEL_DECODE_FAILED', () => {
  assert.throws(() => loadModel(new Uint8Array(0)), code('MODEL_DECODE_FAILED'));
  assert.throws(() => loadModel(new TextEncoder().encode('this is not an onnx file at all')), code('MODEL_DECODE_FAILED'));
  assert.throws(() => loadModel(relu.subarray(0, relu.length - 7)), code('MODEL_DECODE_FAILED'));
  assert.throws(() => loadModel(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff])), code('MODEL_DECODE_FAILED'));
});

test('opsets outside the supported range are UNSUPPORTED_OPSET', () => {
  const m = buildModel({ opset: 99, inputs: [X], outputs: [Y], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
  assert.throws(() => loadModel(m), (e: unknown) => code('UNSUPPORTED_OPSET')(e) && (e as VerinferError).details.opset === 99);
});

test('nodes out of topological order are GRAPH_NOT_TOPOLOGICAL', () => {
  const m = buildModel({
    inputs: [X],
    outputs: [Y],
    nodes: [
      { op: 'Relu', inputs: ['t'], outputs: ['y'] },
      { op: 'Neg', inputs: ['x'], outputs: ['t'] },
    ],
  });
  assert.throws(() => loadModel(m), (e: unknown) => code('GRAPH_NOT_TOPOLOGICAL')(e) && (e as VerinferError).details.value === 't');
});

test('undefined values, double definitions and unproduced outputs are MODEL_INVALID', () => {
  const undef = buildModel({ inputs: [X], outputs: [Y], nodes: [{ op: 'Add', inputs: ['x', 'nope'], outputs: ['y'] }] });
  assert.throws(() => loadModel(undef), code('MODEL_INVALID'));
  const twice = buildModel({
    inputs: [X],
    outputs: [Y],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['y'] },
      { op: 'Neg', inputs: ['x'], outputs: ['y'] },
    ],
  });
  assert.throws(() => loadModel(twice), code('MODEL_INVALID'));
  const unproduced = buildModel({ inputs: [X], outputs: [Y, { name: 'z', dtype: DType.float32 }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
  assert.throws(() => loadModel(unproduced), code('MODEL_INVALID'));
});

test('initializers larger than the memory cap are TENSOR_TOO_LARGE, before allocation', () => {
  const w = new Tensor(DType.float32, [1024], new Float32Array(1024));
  const m = buildModel({ inputs: [X], outputs: [Y], initializers: { w }, nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
  assert.throws(() => loadModel(m, { maxTensorBytes: 1000 }), code('TENSOR_TOO_LARGE'));
  assert.doesNotThrow(() => loadModel(m, { maxTensorBytes: 4096 }));
});

test('external-data tensors are EXTERNAL_DATA_UNSUPPORTED', () => {
  const proto = create(TensorProtoSchema, {
    name: 'w',
    dataType: 1,
    dims: [4n],
    dataLocation: 1,
    externalData: [create(StringStringEntryProtoSchema, { key: 'location', value: 'weights.bin' })],
  });
  const base = buildModel({ inputs: [X], outputs: [Y], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
  const model = fromBinary(ModelProtoSchema, base);
  model.graph!.initializer.push(proto);
  assert.throws(() => loadModel(toBinary(ModelProtoSchema, model)), (e: unknown) => code('EXTERNAL_DATA_UNSUPPORTED')(e) && (e as VerinferError).details.location === 'weights.bin');
});

test('unsupported dtypes are UNSUPPORTED_DTYPE with the type name', () => {
  const s = create(TensorProtoSchema, { dataType: 8, dims: [1n], stringData: [new Uint8Array([65])] });
  assert.throws(() => decodeTensorProtoBytes(toBinary(TensorProtoSchema, s)), (e: unknown) => code('UNSUPPORTED_DTYPE')(e) && (e as VerinferError).details.dtypeName === 'string');
});

test('TensorProto round trip and element-count validation', () => {
  const t = new Tensor(DType.int64, [3], BigInt64Array.from([1n, -2n, 2n ** 62n]));
  assert.deepEqual(decodeTensorProtoBytes(encodeTensorProto(t, 'a')), t);
  const bad = create(TensorProtoSchema, { dataType: 1, dims: [3n], floatData: [1, 2] });
  assert.throws(() => decodeTensorProtoBytes(toBinary(TensorProtoSchema, bad)), code('MODEL_INVALID'));
  const badRaw = create(TensorProtoSchema, { dataType: 1, dims: [3n], rawData: new Uint8Array(10) });
  assert.throws(() => decodeTensorProtoBytes(toBinary(TensorProtoSchema, badRaw)), code('MODEL_INVALID'));
});


test('bool raw_data bytes other than 0 are read as 1 (the engine keeps bools as 0/1)', () => {
  const p = create(TensorProtoSchema, { dataType: DType.bool, dims: [3n], rawData: Uint8Array.from([0, 2, 255]) });
  assert.deepEqual([...decodeTensorProtoBytes(toBinary(TensorProtoSchema, p)).data], [0, 1, 1]);
});
