import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrValue } from '../../onnx/model.js';
import { DType } from '../../tensor/dtype.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import { Tensor } from '../../tensor/tensor.js';
import { ops } from './quantize.js';
import { makeCtx, int, throwsCode } from '../../../test/fixtures/kernels.js';

const run = (op: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 21): Tensor[] =>
  ops[op]!(inputs, makeCtx(op, attrs, opset));
const f32 = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));
const u8 = (shape: number[], v: number[]) => new Tensor(DType.uint8, shape, Uint8Array.from(v));
const i8 = (shape: number[], v: number[]) => new Tensor(DType.int8, shape, Int8Array.from(v));
const arr = (t: Tensor) => Array.from(t.data as ArrayLike<number>);

describe('QuantizeLinear', () => {
  it('rounds half to even, then adds the zero point', () => {
    const x = f32([8], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, f32([], [1]), i8([], [0])])[0]!), [0, 2, 2, 0, -2, -2, 0, 4]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, f32([], [1]), u8([], [10])])[0]!), [10, 12, 12, 10, 8, 8, 10, 14]);
  });
  it('divides in float32: f32(x / s) decides the tie, not the exact quotient', () => {
    // search for x, s whose exact quotient is just above/below k + 0.5 but rounds to the tie in float32
    let found = 0;
    for (let s = 3; s < 200 && found < 3; s++) {
      const sf = Math.fround(1 / s);
      for (let k = 0; k < 60 && found < 3; k++) {
        const x = Math.fround((k + 0.5) * sf);
        const q32 = Math.fround(x / sf);
        const q64 = x / sf;
        if (q32 === k + 0.5 && q64 !== k + 0.5) {
          const y = run('QuantizeLinear', [f32([1], [x]), f32([], [sf]), new Tensor(DType.int16, [], Int16Array.from([0]))])[0]!;
          assert.equal(y.data[0], k % 2 === 0 ? k : k + 1, `x=${x} s=${sf}`);
          found++;
        }
      }
    }
    assert.ok(found > 0, 'found a float32-tie example');
  });
  it('saturates per output type; NaN -> minimum; +-Inf saturate', () => {
    const x = f32([6], [1e6, -1e6, NaN, Infinity, -Infinity, 3e9]);
    const one = f32([], [1]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, one])[0]!), [255, 0, 0, 255, 0, 255]); // default uint8
    assert.deepEqual(arr(run('QuantizeLinear', [x, one, i8([], [0])])[0]!), [127, -128, -128, 127, -128, 127]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, one, new Tensor(DType.uint16, [], Uint16Array.from([7]))])[0]!), [65535, 0, 0, 65535, 0, 65535]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, one, new Tensor(DType.int16, [], Int16Array.from([7]))])[0]!), [32767, -32768, -32768, 32767, -32768, 32767]);
    // zero point pushes past the range
    assert.deepEqual(arr(run('QuantizeLinear', [f32([2], [200, -200]), f32([], [1]), u8([], [100])])[0]!), [255, 0]);
  });
  it('output_dtype without zero point (opset 21); mismatch is an error', () => {
    const y = run('QuantizeLinear', [f32([2], [-3, 4]), f32([], [2])], { output_dtype: int(DType.int16) })[0]!;
    assert.equal(y.dtype, DType.int16);
    assert.deepEqual(arr(y), [-2, 2]);
    throwsCode(() => run('QuantizeLinear', [f32([1], [1]), f32([], [1]), u8([], [0])], { output_dtype: int(DType.int8) }), 'INVALID_ARGUMENT');
    throwsCode(() => run('QuantizeLinear', [f32([1], [1]), f32([], [1])], { output_dtype: int(17) }), 'UNSUPPORTED_FEATURE'); // float8e4m3fn
    throwsCode(() => run('QuantizeLinear', [f32([1], [1]), f32([], [1])], { output_dtype: int(22) }), 'UNSUPPORTED_FEATURE'); // int4
    throwsCode(() => run('QuantizeLinear', [f32([1], [1]), f32([], [1])], { output_dtype: int(DType.int32) }), 'INVALID_ARGUMENT');
  });
  it('per-axis, default axis 1 and negative axis', () => {
    const x = f32([2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const s = f32([3], [1, 2, 4]);
    const z = u8([3], [0, 10, 20]);
    const want = [1, 2, 12, 12, 21, 22, 7, 8, 14, 15, 23, 23];
    assert.deepEqual(arr(run('QuantizeLinear', [x, s, z])[0]!), want);
    assert.deepEqual(arr(run('QuantizeLinear', [x, s, z], { axis: int(-2) })[0]!), want);
    const s0 = f32([2], [1, 10]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, s0], { axis: int(0) })[0]!), [1, 2, 3, 4, 5, 6, 1, 1, 1, 1, 1, 1]);
  });
  it('blocked (opset 21), including a remainder block', () => {
    // x [2, 5], axis 1, block 2 -> scale [2, 3]
    const x = f32([2, 5], [1, 2, 3, 4, 5, 10, 20, 30, 40, 50]);
    const s = f32([2, 3], [1, 2, 5, 10, 20, 50]);
    const z = i8([2, 3], [0, 1, -1, 0, 0, 1]);
    assert.deepEqual(arr(run('QuantizeLinear', [x, s, z], { axis: int(1), block_size: int(2) })[0]!), [1, 2, 3, 3, 0, 1, 2, 2, 2, 2]);
    throwsCode(() => run('QuantizeLinear', [x, f32([2, 2], [1, 1, 1, 1]), undefined], { axis: int(1), block_size: int(2) }), 'INVALID_ARGUMENT');
    throwsCode(() => run('QuantizeLinear', [x, s, i8([3, 2], [0, 0, 0, 0, 0, 0])], { axis: int(1), block_size: int(2) }), 'INVALID_ARGUMENT');
    throwsCode(() => run('QuantizeLinear', [x, s], { axis: int(1), block_size: int(-1) }), 'INVALID_ARGUMENT');
  });
  it('shape errors and types', () => {
    const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
    throwsCode(() => run('QuantizeLinear', [x, f32([2], [1, 1])]), 'INVALID_ARGUMENT'); // axis 1 has 3
    throwsCode(() => run('QuantizeLinear', [x, f32([3], [1, 1, 1])], { axis: int(2) }), 'INVALID_ARGUMENT');
    throwsCode(() => run('QuantizeLinear', [x, f32([2, 3], [1, 1, 1, 1, 1, 1])]), 'INVALID_ARGUMENT'); // N-D scale w/o block_size
    throwsCode(() => run('QuantizeLinear', [x, f32([3], [1, 1, 1]), u8([2], [0, 0])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('QuantizeLinear', [new Tensor(DType.float16, [1], Uint16Array.from([0x3c00])), f32([], [1])]), 'UNSUPPORTED_FEATURE');
    throwsCode(() => run('QuantizeLinear', [new Tensor(DType.float64, [1], Float64Array.from([1])), f32([], [1])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('QuantizeLinear', [x, f32([], [1])], { precision: int(DType.float16) }, 23), 'UNSUPPORTED_FEATURE');
  });
  it('int32 input is converted to float32 first; empty and scalar inputs', () => {
    const x = new Tensor(DType.int32, [3], Int32Array.from([16777217, 5, -5]));
    assert.deepEqual(arr(run('QuantizeLinear', [x, f32([], [2]), new Tensor(DType.int16, [], Int16Array.from([0]))])[0]!), [32767, 2, -2]);
    assert.deepEqual([...run('QuantizeLinear', [f32([0, 3], []), f32([3], [1, 1, 1])])[0]!.shape], [0, 3]);
    assert.deepEqual(arr(run('QuantizeLinear', [f32([], [7.5]), f32([1], [1])])[0]!), [8]);
  });
});

describe('DequantizeLinear', () => {
  it('y = f32(f32(x - zp) * s), per tensor', () => {
    const y = run('DequantizeLinear', [u8([4], [0, 3, 128, 255]), f32([], [0.1]), u8([], [128])])[0]!;
    const s = Math.fround(0.1);
    assert.equal(y.dtype, DType.float32);
    assert.deepEqual(arr(y), [-128, -125, 0, 127].map((d) => Math.fround(d * s)));
  });
  it('per axis and blocked', () => {
    const x = i8([2, 2, 2], [1, 2, 3, 4, -1, -2, -3, -4]);
    assert.deepEqual(arr(run('DequantizeLinear', [x, f32([2], [1, 10]), i8([2], [0, 1])])[0]!), [1, 2, 20, 30, -1, -2, -40, -50]);
    assert.deepEqual(arr(run('DequantizeLinear', [x, f32([2], [1, 10])], { axis: int(-1) })[0]!), [1, 20, 3, 40, -1, -20, -3, -40]);
    const xb = u8([1, 5], [1, 2, 3, 4, 5]);
    assert.deepEqual(arr(run('DequantizeLinear', [xb, f32([1, 3], [1, 2, 4]), u8([1, 3], [1, 1, 1])], { axis: int(1), block_size: int(2) })[0]!), [0, 1, 4, 6, 16]);
  });
  it('16-bit and int32 inputs', () => {
    const x = new Tensor(DType.uint16, [2], Uint16Array.from([0, 65535]));
    assert.deepEqual(arr(run('DequantizeLinear', [x, f32([], [2]), new Tensor(DType.uint16, [], Uint16Array.from([32768]))])[0]!), [-65536, 65534]);
    const xi = new Tensor(DType.int32, [2], Int32Array.from([16777217, -3]));
    assert.deepEqual(arr(run('DequantizeLinear', [xi, f32([], [1])])[0]!), [16777216, -3]);
  });
  it('errors and unsupported', () => {
    throwsCode(() => run('DequantizeLinear', [u8([1], [1]), f32([], [1]), i8([], [0])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('DequantizeLinear', [f32([1], [1]), f32([], [1])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('DequantizeLinear', [u8([1], [1]), new Tensor(DType.float16, [], Uint16Array.from([0x3c00]))]), 'UNSUPPORTED_FEATURE');
    throwsCode(() => run('DequantizeLinear', [u8([1], [1]), f32([], [1])], { output_dtype: int(DType.float16) }, 23), 'UNSUPPORTED_FEATURE');
    throwsCode(() => run('DequantizeLinear', [u8([2, 3], [1, 2, 3, 4, 5, 6]), f32([2], [1, 1])]), 'INVALID_ARGUMENT');
  });
});

describe('DynamicQuantizeLinear', () => {
  const dql = (v: number[]) => {
    const [y, s, z] = run('DynamicQuantizeLinear', [f32([v.length], v)], {}, 11);
    return { y: arr(y!), s: s!.data[0] as number, z: z!.data[0] as number, shapes: [s!.shape.length, z!.shape.length] };
  };
  it('the ONNX example', () => {
    const r = dql([0, 2, -3, -2.5, 1.34, 0.5]);
    const s = Math.fround(Math.fround(2 - -3) / 255);
    assert.equal(r.s, s);
    assert.equal(r.z, 153);
    assert.deepEqual(r.y, [153, 255, 0, 26, 221, 179]);
    assert.deepEqual(r.shapes, [0, 0]);
  });
  it('all-positive and all-negative ranges include 0', () => {
    const p = dql([1, 2, 3]);
    assert.equal(p.z, 0);
    assert.equal(p.s, Math.fround(3 / 255));
    assert.deepEqual(p.y, [85, 170, 255]);
    const n = dql([-1, -2, -3]);
    assert.equal(n.z, 255);
    assert.deepEqual(n.y, [170, 85, 0]);
  });
  it('all zeros and empty: scale 1, zero point 0', () => {
    assert.deepEqual(dql([0, -0, 0]), { y: [0, 0, 0], s: 1, z: 0, shapes: [0, 0] });
    assert.deepEqual(dql([]), { y: [], s: 1, z: 0, shapes: [0, 0] });
  });
  it('NaN input: scale NaN, zero point 255 (Python min/max), y = 0', () => {
    const r = dql([1, NaN, -1]);
    assert.ok(Number.isNaN(r.s));
    assert.equal(r.z, 255);
    assert.deepEqual(r.y, [0, 0, 0]);
  });
  it('rejects non-float32', () => {
    throwsCode(() => run('DynamicQuantizeLinear', [u8([1], [1])]), 'INVALID_ARGUMENT');
  });
});

describe('QLinearMatMul', () => {
  /** Literal transcription of the ONNX reference with per-tensor parameters. */
  function ref(a: number[], b: number[], M: number, K: number, N: number, as: number, az: number, bs: number[], bz: number[], ys: number, yz: number, lo: number, hi: number) {
    const out: number[] = [];
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let c = 0;
      for (let k = 0; k < K; k++) c += (a[i * K + k]! - az) * (b[k * N + j]! - bz[j % bz.length]!);
      const m = Math.fround(Math.fround(as * bs[j % bs.length]!) / ys);
      const d = c * m + yz;
      let r = Math.round(d);
      if (Math.abs(d - Math.trunc(d)) === 0.5) r = 2 * Math.round(d / 2); // half to even
      out.push(Math.min(hi, Math.max(lo, r)));
    }
    return out;
  }
  const M = 3, K = 6, N = 4;
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const A = Array.from({ length: M * K }, () => Math.floor(rnd() * 256));
  const B = Array.from({ length: K * N }, () => Math.floor(rnd() * 256) - 128);
  const a = u8([M, K], A), b = i8([K, N], B);
  it('per tensor, uint8 x int8 -> uint8', () => {
    const as = Math.fround(0.02), bs = Math.fround(0.005), ys = Math.fround(0.03);
    const y = run('QLinearMatMul', [a, f32([], [as]), u8([], [120]), b, f32([], [bs]), i8([], [3]), f32([], [ys]), u8([], [128])])[0]!;
    assert.equal(y.dtype, DType.uint8);
    assert.deepEqual(arr(y), ref(A, B, M, K, N, as, 120, [bs], [3], ys, 128, 0, 255));
  });
  it('per-column b scale and zero point, int8 output', () => {
    const bsV = [0.01, 0.02, 0.03, 0.04].map(Math.fround), bzV = [0, 1, -1, 5];
    const y = run('QLinearMatMul', [a, f32([1], [0.02]), u8([1], [100]), b, f32([N], bsV), i8([N], bzV), f32([], [0.05]), i8([], [-10])])[0]!;
    assert.equal(y.dtype, DType.int8);
    assert.deepEqual(arr(y), ref(A, B, M, K, N, Math.fround(0.02), 100, bsV, bzV, Math.fround(0.05), -10, -128, 127));
  });
  it('float16 scales: multiplier computed in float16', () => {
    const h = (v: number) => new Tensor(DType.float16, [], Uint16Array.from([numberToFloat16(v)]));
    const as = float16ToNumber(numberToFloat16(0.02)), bs = float16ToNumber(numberToFloat16(0.005)), ys = float16ToNumber(numberToFloat16(0.03));
    const m = float16ToNumber(numberToFloat16(float16ToNumber(numberToFloat16(as * bs)) / ys));
    const y = run('QLinearMatMul', [a, h(0.02), u8([], [120]), b, h(0.005), i8([], [3]), h(0.03), u8([], [128])])[0]!;
    const want: number[] = [];
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let c = 0;
      for (let k = 0; k < K; k++) c += (A[i * K + k]! - 120) * (B[k * N + j]! - 3);
      const d = c * m + 128;
      const fl = Math.floor(d);
      const r = d - fl > 0.5 || (d - fl === 0.5 && fl % 2 !== 0) ? fl + 1 : fl;
      want.push(Math.min(255, Math.max(0, r)));
    }
    assert.deepEqual(arr(y), want);
  });
  it('saturation and y_scale 0 (Inf multiplier / NaN)', () => {
    const one = u8([1, 1], [255]);
    const y = run('QLinearMatMul', [one, f32([], [1]), u8([], [0]), one, f32([], [1]), u8([], [0]), f32([], [1]), u8([], [0])])[0]!;
    assert.deepEqual(arr(y), [255]);
    const zero = u8([1, 1], [0]);
    // C = 0, m = Inf: 0 * Inf = NaN -> minimum
    const y2 = run('QLinearMatMul', [zero, f32([], [1]), u8([], [0]), zero, f32([], [1]), u8([], [0]), f32([], [0]), i8([], [5])])[0]!;
    assert.deepEqual(arr(y2), [-128]);
  });
  it('errors', () => {
    const s = f32([], [1]);
    throwsCode(() => run('QLinearMatMul', [a, s, u8([], [0]), b, s, u8([], [0]), s, u8([], [0])]), 'INVALID_ARGUMENT'); // b zp type
    throwsCode(() => run('QLinearMatMul', [a, s, u8([], [0]), u8([5, 1], [1, 2, 3, 4, 5]), s, u8([], [0]), s, u8([], [0])]), 'INVALID_ARGUMENT'); // K mismatch
    throwsCode(() => run('QLinearMatMul', [a, s, u8([], [0]), b, s, i8([], [0]), new Tensor(DType.float64, [], Float64Array.from([1])), u8([], [0])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('QLinearMatMul', [a, s, u8([], [0]), b, f32([5], [1, 1, 1, 1, 1]), i8([], [0]), s, u8([], [0])]), 'INVALID_ARGUMENT');
  });
});
