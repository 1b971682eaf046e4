import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from './dtype.js';
import { tensorFromJson, tensorToJson } from './json.js';
import { Tensor } from './tensor.js';
import { VerinferError } from '../errors.js';

test('flat and nested forms give the same tensor', () => {
  const a = tensorFromJson({ dims: [2, 2], data: [1, 2, 3, 4] }, DType.float32, 'x');
  const b = tensorFromJson([[1, 2], [3, 4]], DType.float32, 'x');
  assert.deepEqual(a, b);
  assert.deepEqual(tensorToJson(a), { dtype: 'float32', dims: [2, 2], data: [1, 2, 3, 4] });
});

test('special values and 64-bit integers survive a round trip', () => {
  const t = new Tensor(DType.float32, [5], Float32Array.from([NaN, Infinity, -Infinity, -0, 0]));
  const j = tensorToJson(t);
  assert.deepEqual(j.data, ['NaN', 'Infinity', '-Infinity', '-0', 0]);
  assert.ok(Object.is((tensorFromJson(JSON.parse(JSON.stringify(j)), undefined, 'x').data as Float32Array)[3], -0));
  assert.deepEqual(tensorToJson(tensorFromJson(j, undefined, 'x')), j);
  const big = new Tensor(DType.int64, [2], BigInt64Array.from([2n ** 62n, -5n]));
  assert.deepEqual(tensorToJson(big).data, ['4611686018427387904', -5]);
  assert.deepEqual(tensorFromJson(tensorToJson(big), undefined, 'x'), big);
});

test('bad JSON tensors give typed errors naming the input', () => {
  const cases: [unknown, DType][] = [
    [{ dims: [2, 2], data: [1, 2, 3] }, DType.float32],
    [{ dims: [-1], data: [] }, DType.float32],
    [[[1, 2], [3]], DType.float32],
    [{ data: ['x'] }, DType.float32],
    [{ data: [1.5] }, DType.int32],
    [{ data: [300] }, DType.uint8],
    [{ dims: [1], data: [1], dtype: 'complex64' }, DType.float32],
    ['hello', DType.float32],
  ];
  for (const [v, dt] of cases) {
    assert.throws(() => tensorFromJson(v, dt, 'input0'), (e: unknown) => e instanceof VerinferError && e.code === 'INVALID_INPUT_FILE' && e.details.input === 'input0', JSON.stringify(v));
  }
  assert.throws(() => tensorFromJson({ dims: [1e6, 1e6], data: [] }, DType.float32, 'x', 1 << 20), (e: unknown) => e instanceof VerinferError && e.code === 'TENSOR_TOO_LARGE');
});
