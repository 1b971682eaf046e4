import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrValue } from '../../onnx/model.js';
import { DType } from '../../tensor/dtype.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import { Tensor } from '../../tensor/tensor.js';
import { ops } from './elementwise.js';
import { bigintToF32, toF16 } from './cast.js';
import { makeCtx, f32, f64, vals, throwsCode } from '../../../test/fixtures/kernels.js';

function cast(x: Tensor, to: number | string, opset = 21): Tensor {
  const attr: AttrValue = typeof to === 'number' ? { kind: 'int', value: to } : { kind: 'string', value: to };
  return ops.Cast!([x], makeCtx('Cast', { to: attr }, opset))[0]!;
}

describe('Cast float -> int (x86 cvtt semantics, documented in cast.ts)', () => {
  const src = [1.9, -1.9, 300, -300, NaN, Infinity, -Infinity, 2147483648, -2147483649, 4294967295.5, -0.5];
  it('int32', () => {
    assert.deepEqual(vals(cast(f64(src), DType.int32)), [1, -1, 300, -300, -2147483648, -2147483648, -2147483648, -2147483648, -2147483648, -2147483648, 0]);
  });
  it('int8 / uint8 wrap the int32 result', () => {
    assert.deepEqual(vals(cast(f64([300, -1, NaN, 1e10]), DType.int8)), [44, -1, 0, 0]);
    assert.deepEqual(vals(cast(f64([300, -1, NaN, 255.9]), DType.uint8)), [44, 255, 0, 255]);
  });
  it('uint32 via int64', () => {
    assert.deepEqual(vals(cast(f64([-1, 4294967295.5, 4294967296, NaN, 2 ** 63, 2 ** 40 + 7]), DType.uint32)), [4294967295, 4294967295, 0, 0, 0, 7]);
  });
  it('int64 / uint64', () => {
    assert.deepEqual(vals(cast(f64([2 ** 62, -2.5, NaN, 2 ** 63, -Infinity]), DType.int64)), [2n ** 62n, -2n, -(2n ** 63n), -(2n ** 63n), -(2n ** 63n)]);
    assert.deepEqual(vals(cast(f64([2 ** 63, -1, NaN, 2 ** 64, Infinity, -Infinity, 1.5]), DType.uint64)), [
      2n ** 63n, 2n ** 64n - 1n, 2n ** 63n, 0n, 0n, 2n ** 63n, 1n,
    ]);
  });
});

describe('Cast to float', () => {
  it('int64 -> float32 is correctly rounded (no double rounding)', () => {
    const v = 2n ** 60n + 2n ** 36n + 1n; // just above a float32 midpoint; Number() alone lands on the midpoint
    assert.equal(Math.fround(Number(v)), 2 ** 60);
    assert.equal(bigintToF32(v), 2 ** 60 + 2 ** 37);
    assert.equal(bigintToF32(-v), -(2 ** 60 + 2 ** 37));
    assert.equal(bigintToF32(2n ** 60n + 2n ** 36n), 2 ** 60); // exact tie -> even
    assert.equal(bigintToF32(16777217n), 16777216);
    assert.equal(bigintToF32(-(2n ** 63n)), -(2 ** 63));
    const t = cast(new Tensor(DType.uint64, [2], BigUint64Array.from([2n ** 64n - 1n, v])), DType.float32);
    assert.deepEqual(vals(t), [2 ** 64, 2 ** 60 + 2 ** 37]);
    // exhaustive-ish cross check against exact rational rounding on random 64-bit values
    let s = 12345n;
    for (let i = 0; i < 2000; i++) {
      s = (s * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
      const x = BigInt.asIntN(64, s >> BigInt(i % 40));
      assert.equal(bigintToF32(x), refRoundToF32(x), String(x));
    }
  });
  it('float64 -> float16 rounds once, directly', () => {
    const x = 1 + 2 ** -11 + 2 ** -40; // above the float16 midpoint, but rounds to it in float32
    assert.equal(toF16(x), 0x3c01);
    assert.deepEqual(vals(cast(f64([x, 65519.99, 65520, -1e9, 2 ** -25, 2 ** -25 + 2 ** -40, -0]), DType.float16)), [
      0x3c01, 0x7bff, 0x7c00, 0xfc00, 0x0000, 0x0001, 0x8000,
    ]);
    // float32 sources agree with the shared float16 conversion everywhere (sampled)
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let b = 0; b < 0x7f800000; b += 4099) {
      u[0] = b;
      assert.equal(toF16(f[0]!), numberToFloat16(f[0]!));
      assert.equal(toF16(-f[0]!), numberToFloat16(-f[0]!));
    }
    for (let h = 0; h < 0x7c00; h++) assert.equal(toF16(float16ToNumber(h)), h); // round trip
  });
  it('float16 -> int / bool / float', () => {
    const h = new Tensor(DType.float16, [5], Uint16Array.from([0x3e00, 0xbe00, 0x7e00, 0x8000, 0x7c00]));
    assert.deepEqual(vals(cast(h, DType.int32)), [1, -1, -2147483648, 0, -2147483648]);
    assert.deepEqual(vals(cast(h, DType.bool)), [1, 1, 1, 0, 1]);
    const g = vals(cast(h, DType.float32)) as number[];
    assert.deepEqual([g[0], g[1], g[4]], [1.5, -1.5, Infinity]);
    assert.ok(Number.isNaN(g[2]) && Object.is(g[3], -0));
  });
  it('float64 -> float32, int -> float', () => {
    assert.deepEqual(vals(cast(f64([1 + 2 ** -24, 1 + 3 * 2 ** -25, 1e40]), DType.float32)), [1, 1 + 2 ** -23, Infinity]);
    const i = new Tensor(DType.int32, [2], Int32Array.from([16777217, -2147483647]));
    assert.deepEqual(vals(cast(i, DType.float32)), [16777216, -2147483648]);
    assert.deepEqual(vals(cast(i, DType.float64)), [16777217, -2147483647]);
  });
});

describe('Cast between integers, bool, legacy forms', () => {
  it('wraps to the target width', () => {
    const i = new Tensor(DType.int64, [3], BigInt64Array.from([-1n, 2n ** 40n + 300n, -(2n ** 63n)]));
    assert.deepEqual(vals(cast(i, DType.uint8)), [255, 44, 0]);
    assert.deepEqual(vals(cast(i, DType.int32)), [-1, 300, 0]);
    assert.deepEqual(vals(cast(i, DType.uint64)), [2n ** 64n - 1n, 2n ** 40n + 300n, 2n ** 63n]);
    const s = new Tensor(DType.int16, [2], Int16Array.from([-1, 300]));
    assert.deepEqual(vals(cast(s, DType.uint32)), [4294967295, 300]);
    assert.deepEqual(vals(cast(s, DType.uint64)), [2n ** 64n - 1n, 300n]);
    assert.deepEqual(vals(cast(s, DType.int8)), [-1, 44]);
  });
  it('bool', () => {
    assert.deepEqual(vals(cast(f32([0, -0, NaN, 0.1]), DType.bool)), [0, 0, 1, 1]);
    const b = new Tensor(DType.bool, [2], Uint8Array.from([1, 0]));
    assert.deepEqual(vals(cast(b, DType.int64)), [1n, 0n]);
    assert.deepEqual(vals(cast(b, DType.float16)), [0x3c00, 0]);
  });
  it('opset < 6 string `to`, CastLike, errors', () => {
    assert.deepEqual(vals(cast(f32([1.5]), 'INT32', 5)), [1]);
    assert.deepEqual(vals(cast(f32([1.5]), 'double', 5)), [1.5]);
    throwsCode(() => cast(f32([1]), 'NOPE', 5), 'INVALID_ARGUMENT');
    throwsCode(() => cast(f32([1]), 16), 'UNSUPPORTED_DTYPE'); // bfloat16
    throwsCode(() => cast(f32([1]), 8), 'UNSUPPORTED_DTYPE'); // string
    const r = ops.CastLike!([f32([2.7, -2.7]), new Tensor(DType.int8, [0], new Int8Array(0))], makeCtx('CastLike', {}, 21))[0]!;
    assert.equal(r.dtype, DType.int8);
    assert.deepEqual(vals(r), [2, -2]);
    assert.deepEqual(cast(new Tensor(DType.float32, [0, 2], new Float32Array(0)), DType.int64).shape, [0, 2]);
  });
});

/** Exact round-to-nearest-even of an integer to float32, by integer arithmetic only. */
function refRoundToF32(x: bigint): number {
  if (x === 0n) return 0;
  const neg = x < 0n;
  let a = neg ? -x : x;
  let e = 0;
  while (a >= 2n ** 24n) {
    // keep 24 significant bits with exact remainder tracking
    const len = a.toString(2).length;
    const sh = BigInt(len - 24);
    const q = a >> sh;
    const r = a - (q << sh);
    const half = 1n << (sh - 1n);
    let m = q;
    if (r > half || (r === half && (q & 1n) === 1n)) m += 1n;
    a = m;
    e += Number(sh);
    if (a < 2n ** 24n) break;
  }
  const v = Number(a) * 2 ** e;
  return neg ? -v : v;
}
