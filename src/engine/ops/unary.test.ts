import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops, reluF32Js } from './unary.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { erf64, exp64, expm1_64, softplus64, tanh64 } from '../math/index.js';
import { makeCtx, f32, f64, flt, str, vals, throwsCode, sameValues } from '../../../test/fixtures/kernels.js';

type Attr = AttrValue;

function run(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, opset = 20): Tensor {
  const k = ops[opType];
  assert.ok(k, `kernel ${opType} registered`);
  const out = k(inputs, makeCtx(opType, attrs, opset));
  assert.equal(out.length, 1);
  return out[0]!;
}

// Deterministic float32 test vector with special values and a spread of magnitudes.
function testVector(): Float32Array {
  const specials = [0, -0, 1, -1, 0.5, -0.5, NaN, Infinity, -Infinity, 1e-40, -1e-40, 3.4e38, -3.4e38, 1e-8, -1e-8, 88, -88, 100, -100];
  const n = 4000;
  const v = new Float32Array(specials.length + n);
  v.set(specials);
  let s = 987654321;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    v[specials.length + i] = (u * 2 - 1) * (i % 3 === 0 ? 1 : i % 3 === 1 ? 8 : 40);
  }
  return v;
}

// A straightforward scalar re-computation through a 1-element Float32Array (the
// store is the float32 rounding), independent of the kernel's Math.fround use.
const R = new Float32Array(1);
const r32 = (v: number): number => ((R[0] = v), R[0]!);

test('float32 activations are bit-identical to a step-by-step canonical recomputation', () => {
  const xs = testVector();
  const x = new Tensor(DType.float32, [xs.length], xs);
  const cases: [string, Record<string, Attr>, (v: number) => number][] = [
    ['LeakyRelu', { alpha: flt(0.1) }, (v) => (v < 0 ? r32(r32(0.1) * v) : v)],
    ['LeakyRelu', {}, (v) => (v < 0 ? r32(r32(0.01) * v) : v)],
    ['Elu', { alpha: flt(2) }, (v) => (v < 0 ? r32(2 * r32(expm1_64(v))) : v)],
    [
      'Selu',
      {},
      (v) => {
        const a = r32(1.67326319217681884765625), g = r32(1.05070102214813232421875);
        return v > 0 ? r32(g * v) : r32(g * r32(a * r32(expm1_64(v))));
      },
    ],
    [
      'Celu',
      { alpha: flt(0.5) },
      (v) => {
        const p = v > 0 || Number.isNaN(v) ? v : 0;
        const q = r32(0.5 * r32(expm1_64(r32(v / 0.5))));
        const m = q < 0 || Number.isNaN(q) ? q : 0;
        return r32(p + m);
      },
    ],
    [
      'HardSigmoid',
      { alpha: flt(r32(0.3)), beta: flt(r32(0.4)) },
      (v) => {
        const t = r32(r32(r32(0.3) * v) + r32(0.4));
        return Math.max(0, Math.min(1, t)); // NaN propagates through Math.max/min
      },
    ],
    [
      'HardSwish',
      {},
      (v) => {
        const t = r32(r32(r32(1 / 6) * v) + 0.5);
        const c = t < 0 ? 0 : t > 1 ? 1 : t;
        return r32(v * c);
      },
    ],
    ['Softsign', {}, (v) => r32(v / r32(1 + Math.abs(v)))],
    ['Mish', {}, (v) => r32(v * r32(tanh64(softplus64(v))))],
    ['Gelu', {}, (v) => r32(v * r32(0.5 * (1 + erf64(v * Math.SQRT1_2))))],
    [
      'Gelu',
      { approximate: str('tanh') },
      (v) => r32(v * r32(0.5 * (1 + tanh64(Math.sqrt(2 / Math.PI) * (v + 0.044715 * (v * v * v)))))),
    ],
    ['ThresholdedRelu', { alpha: flt(2) }, (v) => (v > 2 ? v : 0)],
    ['Shrink', { lambd: flt(1.5), bias: flt(r32(0.1)) }, (v) => (v < -1.5 ? r32(v + r32(0.1)) : v > 1.5 ? r32(v - r32(0.1)) : 0)],
    ['Relu', {}, (v) => (Number.isNaN(v) ? v : v > 0 ? v : 0)],
  ];
  for (const [op, attrs, ref] of cases) {
    const y = run(op, [x], attrs);
    assert.equal(y.dtype, DType.float32);
    sameValues(y.data as Float32Array, Array.from(xs, ref), `${op} ${JSON.stringify(attrs)}`);
  }
});

test('float64 path: same step sequence without float32 rounding', () => {
  const vals = [-3.25, -1e-300, -0, 0, 0.75, 12.5, NaN];
  const x = f64(vals);
  sameValues(run('LeakyRelu', [x], { alpha: flt(0.25) }).data as Float64Array, vals.map((v) => (v < 0 ? 0.25 * v : v)));
  sameValues(run('Elu', [x]).data as Float64Array, vals.map((v) => (v < 0 ? expm1_64(v) : v)));
  sameValues(run('Gelu', [x]).data as Float64Array, vals.map((v) => v * (0.5 * (1 + erf64(v * Math.SQRT1_2)))));
  const y = run('Exp', [f64([1])]);
  assert.equal(y.dtype, DType.float64);
  assert.equal((y.data as Float64Array)[0], exp64(1)); // float64 result is exp64 itself, no extra rounding
});

test('transcendentals are correctly rounded on simple points and handle specials', () => {
  sameValues(run('Exp', [f32([0, -Infinity, Infinity, NaN, 1])]).data as Float32Array, [1, 0, Infinity, NaN, Math.fround(Math.E)]);
  sameValues(run('Log', [f32([1, 0, -1, Infinity])]).data as Float32Array, [0, -Infinity, NaN, Infinity]);
  sameValues(run('Sigmoid', [f32([0, Infinity, -Infinity, -0])]).data as Float32Array, [0.5, 1, 0, 0.5]);
  sameValues(run('Tanh', [f32([-0, Infinity, -Infinity])]).data as Float32Array, [-0, 1, -1]);
  sameValues(run('Sqrt', [f32([4, -0, -1, 2])]).data as Float32Array, [2, -0, NaN, Math.fround(Math.SQRT2)]);
  sameValues(run('Reciprocal', [f32([0, -0, 4, 3])]).data as Float32Array, [Infinity, -Infinity, 0.25, Math.fround(1 / 3)]);
  sameValues(run('Softplus', [f32([Infinity, -Infinity, 0])]).data as Float32Array, [Infinity, 0, Math.fround(Math.LN2)]);
  sameValues(run('Acosh', [f32([1, 0.5])]).data as Float32Array, [0, NaN]);
  sameValues(run('Atanh', [f32([1, -1, 2])]).data as Float32Array, [Infinity, -Infinity, NaN]);
  sameValues(run('Asin', [f32([1, -0])]).data as Float32Array, [Math.fround(Math.PI / 2), -0]);
  sameValues(run('Acos', [f32([-1, 1])]).data as Float32Array, [Math.fround(Math.PI), 0]);
});

test('Relu: -0 -> +0, NaN propagates, signed integers, float16 bits', () => {
  sameValues(run('Relu', [f32([-0, 0, -1, NaN, 2, -Infinity])]).data as Float32Array, [0, 0, 0, NaN, 2, 0]);
  const i8 = run('Relu', [new Tensor(DType.int8, [3], Int8Array.from([-128, 0, 127]))]);
  assert.deepEqual(Array.from(i8.data as Int8Array), [0, 0, 127]);
  const i64 = run('Relu', [new Tensor(DType.int64, [2], BigInt64Array.from([-5n, 2n ** 62n]))]);
  assert.deepEqual(Array.from(i64.data as BigInt64Array), [0n, 2n ** 62n]);
  // float16 bits: +1 (0x3c00), -1 (0xbc00), -0 (0x8000), NaN (0x7e00), -NaN (0xfe00), -Inf (0xfc00)
  const h = run('Relu', [new Tensor(DType.float16, [6], Uint16Array.from([0x3c00, 0xbc00, 0x8000, 0x7e00, 0xfe00, 0xfc00]))]);
  assert.deepEqual(Array.from(h.data as Uint16Array), [0x3c00, 0, 0, 0x7e00, 0xfe00, 0]);
  throwsCode(() => run('Relu', [new Tensor(DType.uint8, [1], Uint8Array.from([1]))]), 'INVALID_ARGUMENT');
});

test('Relu float32 above and below the WebAssembly threshold: the bits of the plain rule', () => {
  // NaNs with payloads (quiet and signalling, both signs), ±0, ±Inf, subnormals, then random bit patterns
  const special = [0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7f800001, 0xff800001, 0x7fa00000, 0x00000000, 0x80000000,
    0x7f800000, 0xff800000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x3f800000, 0xbf800000];
  let s = 12345;
  for (const n of [5, 255, 256, 257, 1001, 4099]) {
    const u = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u[i] = i < special.length ? special[i]! : s;
    }
    const x = new Float32Array(u.buffer);
    const y = run('Relu', [new Tensor(DType.float32, [n], x)]);
    const want = new Float32Array(n);
    reluF32Js(x, want);
    const got = new Uint32Array((y.data as Float32Array).buffer, (y.data as Float32Array).byteOffset, n);
    const exp = new Uint32Array(want.buffer);
    for (let i = 0; i < n; i++) assert.equal(got[i], exp[i], `n=${n} element ${i} (input 0x${u[i]!.toString(16)})`);
    // and the rule: positives and NaNs pass (NaN quieted), everything else is +0
    for (let i = 0; i < n; i++) {
      const b = u[i]!;
      const nan = (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
      assert.equal(got[i], nan ? (b | 0x400000) >>> 0 : b & 0x80000000 ? 0 : b);
    }
  }
});

test('Abs / Neg wrap on integer types', () => {
  assert.deepEqual(vals(run('Abs', [new Tensor(DType.int8, [3], Int8Array.from([-128, -5, 7]))])), [-128, 5, 7]);
  assert.deepEqual(vals(run('Neg', [new Tensor(DType.int8, [3], Int8Array.from([-128, -5, 0]))])), [-128, 5, 0]);
  assert.deepEqual(vals(run('Neg', [new Tensor(DType.int32, [2], Int32Array.from([-(2 ** 31), 3]))])), [-(2 ** 31), -3]);
  const min64 = -(2n ** 63n);
  assert.deepEqual(vals(run('Abs', [new Tensor(DType.int64, [2], BigInt64Array.from([min64, -3n]))])), [min64, 3n]);
  assert.deepEqual(vals(run('Neg', [new Tensor(DType.int64, [2], BigInt64Array.from([min64, 3n]))])), [min64, -3n]);
  assert.deepEqual(vals(run('Abs', [new Tensor(DType.uint8, [2], Uint8Array.from([255, 0]))])), [255, 0]);
  assert.deepEqual(vals(run('Abs', [new Tensor(DType.uint64, [1], BigUint64Array.from([2n ** 64n - 1n]))])), [2n ** 64n - 1n]);
  sameValues(run('Neg', [f32([0, -0, NaN, 1.5])]).data as Float32Array, [-0, 0, NaN, -1.5]);
  sameValues(run('Abs', [f32([-0, -Infinity, NaN])]).data as Float32Array, [0, Infinity, NaN]);
  assert.deepEqual(vals(run('Neg', [new Tensor(DType.float16, [2], Uint16Array.from([0x3c00, 0x8000]))])), [0xbc00, 0]);
  assert.deepEqual(vals(run('Abs', [new Tensor(DType.float16, [2], Uint16Array.from([0xbc00, 0xfe00]))])), [0x3c00, 0x7e00]);
  throwsCode(() => run('Neg', [new Tensor(DType.uint32, [1], Uint32Array.from([1]))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Abs', [new Tensor(DType.bool, [1], Uint8Array.from([1]))]), 'INVALID_ARGUMENT');
});

test('Sign: -0 -> +0, NaN -> NaN, integer types', () => {
  sameValues(run('Sign', [f32([-0, 0, -3, 2, NaN, -Infinity])]).data as Float32Array, [0, 0, -1, 1, NaN, -1]);
  assert.deepEqual(vals(run('Sign', [new Tensor(DType.int16, [3], Int16Array.from([-300, 0, 9]))])), [-1, 0, 1]);
  assert.deepEqual(vals(run('Sign', [new Tensor(DType.uint32, [2], Uint32Array.from([0, 4e9]))])), [0, 1]);
  assert.deepEqual(vals(run('Sign', [new Tensor(DType.int64, [3], BigInt64Array.from([-7n, 0n, 7n]))])), [-1n, 0n, 1n]);
  assert.deepEqual(vals(run('Sign', [new Tensor(DType.uint64, [2], BigUint64Array.from([0n, 5n]))])), [0n, 1n]);
});

test('Round is half-to-even; Floor/Ceil keep -0', () => {
  sameValues(run('Round', [f32([0.5, 1.5, 2.5, -0.5, -2.5, -1.5, 0.49999997, 8388609, NaN])]).data as Float32Array, [
    0, 2, 2, -0, -2, -2, 0, 8388609, NaN,
  ]);
  sameValues(run('Floor', [f32([-0.5, 0.5, -0, 1e30])]).data as Float32Array, [-1, 0, -0, Math.fround(1e30)]);
  sameValues(run('Ceil', [f32([-0.5, 0.5, -0])]).data as Float32Array, [-0, 1, -0]);
  throwsCode(() => run('Floor', [new Tensor(DType.int32, [1], Int32Array.from([1]))]), 'INVALID_ARGUMENT');
});

test('Clip opset >= 11: optional scalar inputs, NaN, -0, min > max', () => {
  const x = f32([-2, -0, 0.5, 3, NaN, -Infinity, Infinity]);
  sameValues(run('Clip', [x, f32([0], []), f32([1], [])], {}, 13).data as Float32Array, [0, -0, 0.5, 1, NaN, 0, 1]);
  sameValues(run('Clip', [x, undefined, f32([1], [])], {}, 13).data as Float32Array, [-2, -0, 0.5, 1, NaN, -Infinity, 1]);
  sameValues(run('Clip', [x, f32([0], [])], {}, 13).data as Float32Array, [0, -0, 0.5, 3, NaN, 0, Infinity]);
  sameValues(run('Clip', [x], {}, 13).data as Float32Array, [-2, -0, 0.5, 3, NaN, -Infinity, Infinity]);
  // min > max: every value becomes max
  sameValues(run('Clip', [f32([-5, 0, 5]), f32([2], []), f32([1], [])], {}, 13).data as Float32Array, [1, 1, 1]);
  // size-1 rank-1 bound tolerated; larger bounds rejected; dtype mismatch rejected
  sameValues(run('Clip', [f32([-5, 5]), f32([0], [1])], {}, 13).data as Float32Array, [0, 5]);
  throwsCode(() => run('Clip', [f32([1]), f32([0, 1])], {}, 13), 'INVALID_ARGUMENT');
  throwsCode(() => run('Clip', [f32([1]), f64([0], [])], {}, 13), 'INVALID_ARGUMENT');
});

test('Clip on integer types', () => {
  const i8 = new Tensor(DType.int8, [4], Int8Array.from([-128, -1, 5, 127]));
  const lo = new Tensor(DType.int8, [], Int8Array.from([-2]));
  const hi = new Tensor(DType.int8, [], Int8Array.from([4]));
  assert.deepEqual(vals(run('Clip', [i8, lo, hi], {}, 13)), [-2, -1, 4, 4]);
  assert.deepEqual(vals(run('Clip', [i8, undefined, hi], {}, 13)), [-128, -1, 4, 4]);
  const i64 = new Tensor(DType.int64, [3], BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]));
  const lo64 = new Tensor(DType.int64, [], BigInt64Array.from([-10n]));
  const hi64 = new Tensor(DType.int64, [], BigInt64Array.from([10n]));
  assert.deepEqual(vals(run('Clip', [i64, lo64, hi64], {}, 13)), [-10n, 0n, 10n]);
  assert.deepEqual(vals(run('Clip', [i64, undefined, hi64], {}, 13)), [-(2n ** 63n), 0n, 10n]);
  assert.deepEqual(vals(run('Clip', [i64], {}, 13)), [-(2n ** 63n), 0n, 2n ** 63n - 1n]);
  const u64 = new Tensor(DType.uint64, [2], BigUint64Array.from([1n, 2n ** 64n - 1n]));
  const hiu = new Tensor(DType.uint64, [], BigUint64Array.from([2n ** 63n]));
  assert.deepEqual(vals(run('Clip', [u64, undefined, hiu], {}, 13)), [1n, 2n ** 63n]);
});

test('Clip opset < 11: attributes, defaults are ±FLT_MAX', () => {
  const x = f32([-Infinity, -2, 0.5, 3, Infinity, NaN]);
  const FLT_MAX = 3.4028234663852886e38;
  sameValues(run('Clip', [x], { min: flt(-1), max: flt(1) }, 6).data as Float32Array, [-1, -1, 0.5, 1, 1, NaN]);
  sameValues(run('Clip', [x], {}, 6).data as Float32Array, [-FLT_MAX, -2, 0.5, 3, FLT_MAX, NaN]);
  throwsCode(() => run('Clip', [new Tensor(DType.int32, [1], Int32Array.from([1]))], {}, 6), 'INVALID_ARGUMENT');
});

test('Shrink on integers: exact comparisons, wrap-around, integral bias only', () => {
  const x = new Tensor(DType.int8, [5], Int8Array.from([-128, -2, 0, 1, 127]));
  assert.deepEqual(vals(run('Shrink', [x], { lambd: flt(1.5), bias: flt(3) })), [-125, 1, 0, 0, 124]);
  // wrap: 127 - (-1) = 128 -> -128
  assert.deepEqual(vals(run('Shrink', [x], { lambd: flt(0.5), bias: flt(-1) })), [-128 - 1 + 256, -3, 0, 2, -128]);
  const x64 = new Tensor(DType.int64, [3], BigInt64Array.from([-(2n ** 63n), 1n, 2n ** 63n - 1n]));
  assert.deepEqual(vals(run('Shrink', [x64], { lambd: flt(1), bias: flt(1) })), [-(2n ** 63n) + 1n, 0n, 2n ** 63n - 2n]);
  throwsCode(() => run('Shrink', [x], { bias: flt(0.5) }), 'UNSUPPORTED_FEATURE');
  // float: NaN -> 0
  sameValues(run('Shrink', [f32([NaN, -1, 1, 0.25])]).data as Float32Array, [0, -1, 1, 0]);
});

test('ThresholdedRelu maps NaN to 0; HardSigmoid / HardSwish propagate NaN', () => {
  sameValues(run('ThresholdedRelu', [f32([NaN, 1, 1.5])]).data as Float32Array, [0, 0, 1.5]);
  sameValues(run('HardSigmoid', [f32([NaN, -100, 100, -2.5])]).data as Float32Array, [NaN, 0, 1, 0]);
  sameValues(run('HardSwish', [f32([NaN, -10, 10, 0])]).data as Float32Array, [NaN, -0, 10, 0]);
});

test('empty tensors keep their shape', () => {
  for (const op of ['Relu', 'Exp', 'Abs', 'Clip', 'Gelu', 'Sign', 'Neg', 'LeakyRelu', 'Round']) {
    const y = run(op, [new Tensor(DType.float32, [0, 3], new Float32Array(0))], {}, 13);
    assert.deepEqual(y.shape, [0, 3], op);
    assert.equal(y.size, 0);
  }
  const y = run('Relu', [new Tensor(DType.float32, [], Float32Array.from([-1]))]);
  assert.deepEqual(y.shape, []);
  assert.equal(y.data[0], 0);
});

test('invalid / unsupported inputs give typed errors', () => {
  throwsCode(() => run('Exp', []), 'INVALID_ARGUMENT');
  throwsCode(() => run('Exp', [new Tensor(DType.int32, [1], Int32Array.from([1]))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Exp', [new Tensor(DType.float16, [1], Uint16Array.from([0x3c00]))]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('Erf', [new Tensor(DType.int32, [1], Int32Array.from([1]))]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('Gelu', [f32([1])], { approximate: str('erf') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('LeakyRelu', [f32([1])], { alpha: str('x') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Clip', [new Tensor(DType.float16, [1], Uint16Array.from([0]))], {}, 13), 'UNSUPPORTED_FEATURE');
});

test('kernels do not mutate their input', () => {
  const xs = testVector();
  const copy = xs.slice();
  for (const op of Object.keys(ops)) {
    if (op === 'Clip') continue;
    run(op, [new Tensor(DType.float32, [xs.length], xs)]);
  }
  sameValues(xs, copy);
});

test('Exp/Erf/Sigmoid/Tanh float32: the WebAssembly fast path (whole tensor) gives the bits of the JS loop (pieces of < 64)', () => {
  // every 4099th float32 bit pattern (all classes: NaN payloads, ±Inf, ±0, subnormals) plus moderate values
  const n = 2 ** 20 + 3;
  const u = new Uint32Array(n);
  const xs = new Float32Array(u.buffer);
  for (let i = 0; i < n; i++) u[i] = (i * 4099) >>> 0;
  for (let i = 0; i < n; i += 2) xs[i] = ((i % 2001) - 1000) / 97;
  for (const op of ['Exp', 'Erf', 'Sigmoid', 'Tanh']) {
    const whole = new Uint32Array((run(op, [f32(xs)]).data as Float32Array).buffer);
    for (let a = 0; a < n; a += 63) {
      const piece = new Uint32Array((run(op, [f32(xs.subarray(a, Math.min(n, a + 63)))]).data as Float32Array).buffer);
      for (let i = 0; i < piece.length; i++) {
        if (whole[a + i] !== piece[i]) assert.fail(`${op}(0x${u[a + i]!.toString(16)}): 0x${whole[a + i]!.toString(16)} vs JS 0x${piece[i]!.toString(16)}`);
      }
    }
  }
});
