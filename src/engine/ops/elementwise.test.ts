import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrValue } from '../../onnx/model.js';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { ops } from './elementwise.js';
import { makeCtx, vals, int, str, throwsCode } from '../../../test/fixtures/kernels.js';

function run(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 17): Tensor {
  const k = ops[opType];
  assert.ok(k, `kernel ${opType}`);
  return k(inputs, makeCtx(opType, attrs, opset))[0]!;
}
const f32 = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));
const f64 = (shape: number[], v: number[]) => new Tensor(DType.float64, shape, Float64Array.from(v));
const i32 = (shape: number[], v: number[]) => new Tensor(DType.int32, shape, Int32Array.from(v));
const bool = (shape: number[], v: number[]) => new Tensor(DType.bool, shape, Uint8Array.from(v));
const i64 = (shape: number[], v: bigint[]) => new Tensor(DType.int64, shape, BigInt64Array.from(v));
const u64 = (shape: number[], v: bigint[]) => new Tensor(DType.uint64, shape, BigUint64Array.from(v));
const bits32 = (t: Tensor) => Array.from(new Uint32Array((t.data as Float32Array).buffer, (t.data as Float32Array).byteOffset, t.size));

/** Deterministic pseudo-random float32 values with varied exponents and signs. */
function rand(n: number, seed: number): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const m = s / 4294967296;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const e = (s % 16) - 8;
    out.push(Math.fround((m - 0.5) * (e >= 0 ? 1 << e : 1 / (1 << -e))));
  }
  return out;
}

/** Independent reference: numpy broadcasting by explicit multi-indices. */
function refBinary(as: number[], av: number[], bs: number[], bv: number[], f: (x: number, y: number) => number) {
  const r = Math.max(as.length, bs.length);
  const pa = [...new Array(r - as.length).fill(1), ...as];
  const pb = [...new Array(r - bs.length).fill(1), ...bs];
  const os = pa.map((d, i) => Math.max(d, pb[i]!));
  const n = os.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let rem = k;
    const idx = new Array<number>(r);
    for (let i = r - 1; i >= 0; i--) {
      idx[i] = rem % os[i]!;
      rem = Math.floor(rem / os[i]!);
    }
    let ia = 0;
    let ib = 0;
    for (let i = 0; i < r; i++) {
      ia = ia * pa[i]! + (pa[i] === 1 ? 0 : idx[i]!);
      ib = ib * pb[i]! + (pb[i] === 1 ? 0 : idx[i]!);
    }
    out.push(f(av[ia]!, bv[ib]!));
  }
  return { shape: os, out };
}

describe('float32 binary arithmetic is bit-identical to the canonical recomputation', () => {
  const cases: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], []],
    [[], [2, 3, 4]],
    [[2, 1, 4], [3, 1]],
    [[5, 1], [1, 6]],
    [[2, 3, 4, 5], [3, 1, 5]],
    [[1, 3, 1], [2, 1, 4]],
    [[4], [3, 1]],
  ];
  const fns: Record<string, (x: number, y: number) => number> = {
    Add: (x, y) => Math.fround(x + y),
    Sub: (x, y) => Math.fround(x - y),
    Mul: (x, y) => Math.fround(x * y),
    Div: (x, y) => Math.fround(x / y),
  };
  for (const [op, f] of Object.entries(fns)) {
    it(op, () => {
      let seed = 1;
      for (const [as, bs] of cases) {
        const na = as.reduce((x, y) => x * y, 1);
        const nb = bs.reduce((x, y) => x * y, 1);
        const av = rand(na, seed++);
        const bv = rand(nb, seed++);
        const got = run(op, [f32(as, av), f32(bs, bv)]);
        const want = refBinary(as, av, bs, bv, f);
        assert.deepEqual(got.shape, want.shape);
        assert.deepEqual(bits32(got), bits32(f32(want.shape, want.out)));
      }
    });
  }
  it('float32 rounding happens once per op', () => {
    // 1 + 2^-24 is not a float32: the sum rounds to 1 (ties-to-even).
    assert.deepEqual(vals(run('Add', [f32([1], [1]), f32([1], [2 ** -24])])), [1]);
    assert.deepEqual(vals(run('Add', [f32([1], [1]), f32([1], [3 * 2 ** -25])])), [1 + 2 ** -23]);
    // float64 does not round to float32
    assert.deepEqual(vals(run('Add', [f64([1], [1]), f64([1], [2 ** -24])])), [1 + 2 ** -24]);
  });
});

describe('broadcasting', () => {
  it('handles empty tensors and rank-0', () => {
    const r = run('Add', [f32([0, 3], []), f32([1, 3], [1, 2, 3])]);
    assert.deepEqual(r.shape, [0, 3]);
    const s = run('Mul', [f32([], [3]), f32([], [4])]);
    assert.deepEqual(s.shape, []);
    assert.deepEqual(vals(s), [12]);
  });
  it('rejects incompatible shapes', () => {
    throwsCode(() => run('Add', [f32([2, 3], [1, 2, 3, 4, 5, 6]), f32([2], [1, 2])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Where', [bool([2], [1, 0]), f32([3], [1, 2, 3]), f32([1], [0])]), 'INVALID_ARGUMENT');
  });
  it('rejects mixed dtypes and missing inputs', () => {
    throwsCode(() => run('Add', [f32([1], [1]), f64([1], [1])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Add', [f32([1], [1]), undefined]), 'INVALID_ARGUMENT');
  });
  it('opset < 7 broadcast/axis attributes', () => {
    const a = f32([2, 3, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const b = f32([3], [100, 200, 300]);
    const r = run('Add', [a, b], { broadcast: int(1), axis: int(1) }, 6);
    assert.deepEqual(vals(r), [100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311]);
    throwsCode(() => run('Add', [a, b], {}, 6), 'INVALID_ARGUMENT'); // broadcast=0 needs equal shapes
    throwsCode(() => run('Add', [a, b], { broadcast: int(1) }, 6), 'INVALID_ARGUMENT'); // trailing: 3 vs 2
  });
  it('float16 arithmetic is unsupported', () => {
    const h = new Tensor(DType.float16, [1], Uint16Array.from([0x3c00]));
    throwsCode(() => run('Add', [h, h]), 'UNSUPPORTED_FEATURE');
  });
});

describe('integer arithmetic wraps per type', () => {
  it('int8/uint8/int16/uint16', () => {
    const a = new Tensor(DType.int8, [3], Int8Array.from([127, -128, 100]));
    const b = new Tensor(DType.int8, [3], Int8Array.from([1, -1, 3]));
    assert.deepEqual(vals(run('Add', [a, b])), [-128, 127, 103]);
    assert.deepEqual(vals(run('Mul', [a, b])), [127, -128, 44]);
    const u = new Tensor(DType.uint16, [2], Uint16Array.from([0, 65535]));
    const v = new Tensor(DType.uint16, [2], Uint16Array.from([1, 65535]));
    assert.deepEqual(vals(run('Sub', [u, v])), [65535, 0]);
    assert.deepEqual(vals(run('Mul', [u, v])), [0, 1]);
  });
  it('int32/uint32 multiplication keeps the low 32 bits', () => {
    assert.deepEqual(vals(run('Mul', [i32([2], [0x7fffffff, 65536]), i32([2], [0x7fffffff, 65536])])), [1, 0]);
    const u = new Tensor(DType.uint32, [1], Uint32Array.from([4294967295]));
    assert.deepEqual(vals(run('Mul', [u, u])), [1]);
    assert.deepEqual(vals(run('Add', [u, u])), [4294967294]);
  });
  it('64-bit', () => {
    const max = 9223372036854775807n;
    assert.deepEqual(vals(run('Add', [i64([1], [max]), i64([1], [1n])])), [-max - 1n]);
    assert.deepEqual(vals(run('Mul', [i64([1], [max]), i64([1], [2n])])), [-2n]);
    assert.deepEqual(vals(run('Sub', [u64([1], [0n]), u64([1], [1n])])), [18446744073709551615n]);
    assert.deepEqual(vals(run('Div', [i64([2], [-max - 1n, -7n]), i64([2], [-1n, 2n])])), [-max - 1n, -3n]);
  });
  it('Div truncates toward zero; MIN/-1 wraps; /0 is an error', () => {
    assert.deepEqual(vals(run('Div', [i32([4], [-7, 7, -2147483648, 5]), i32([4], [2, -2, -1, 7])])), [-3, -3, -2147483648, 0]);
    throwsCode(() => run('Div', [i32([2], [1, 2]), i32([2], [1, 0])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Div', [i64([1], [1n]), i64([1], [0n])]), 'INVALID_ARGUMENT');
    // an empty output never divides
    assert.deepEqual(run('Div', [i32([0], []), i32([1], [0])]).shape, [0]);
  });
  it('float Div by zero is IEEE', () => {
    assert.deepEqual(vals(run('Div', [f32([3], [1, -1, 0]), f32([3], [0, 0, 0])])), [Infinity, -Infinity, NaN]);
  });
});

describe('Mod', () => {
  it('fmod=0 takes the sign of the divisor, fmod=1 of the dividend', () => {
    const a = i32([4], [-4, 7, 5, -5]);
    const b = i32([4], [3, -3, 3, -3]);
    assert.deepEqual(vals(run('Mod', [a, b])), [2, -2, 2, -2]);
    assert.deepEqual(vals(run('Mod', [a, b], { fmod: int(1) })), [-1, 1, 2, -2]);
    const x = i64([3], [-4n, 7n, -9223372036854775808n]);
    const y = i64([3], [3n, -3n, -1n]);
    assert.deepEqual(vals(run('Mod', [x, y])), [2n, -2n, 0n]);
    assert.deepEqual(vals(run('Mod', [i32([1], [-2147483648]), i32([1], [-1])])), [0]);
  });
  it('float fmod is exact, keeps -0, and requires fmod=1', () => {
    const r = run('Mod', [f32([5], [5.5, -5.5, -0, 1, Infinity]), f32([5], [2, 2, 3, 0, 2])], { fmod: int(1) });
    const v = vals(r) as number[];
    assert.deepEqual(v.slice(0, 2), [1.5, -1.5]);
    assert.ok(Object.is(v[2], -0));
    assert.ok(Number.isNaN(v[3]) && Number.isNaN(v[4]));
    // exact for a tiny divisor against a huge dividend
    const big = Math.fround(3.4e38);
    const small = Math.fround(1.1e-38);
    const S = 2 ** 149; // every float32 is an integer multiple of 2^-149
    const exact = Number((BigInt(big * S) % BigInt(small * S))) / S;
    const q = run('Mod', [f32([1], [big]), f32([1], [small])], { fmod: int(1) });
    assert.equal(vals(q)[0], exact);
    assert.equal(Math.fround(exact), exact);
    throwsCode(() => run('Mod', [f32([1], [1]), f32([1], [1])]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Mod', [i32([1], [1]), i32([1], [0])]), 'INVALID_ARGUMENT');
  });
});

describe('Pow', () => {
  it('integer power is exact with wrap-around', () => {
    assert.deepEqual(vals(run('Pow', [i32([4], [3, -2, 2, 7]), i32([4], [5, 3, 31, 0])])), [243, -8, -2147483648, 1]);
    assert.deepEqual(vals(run('Pow', [i32([1], [3]), i32([1], [40])])), [Number(BigInt.asIntN(32, 3n ** 40n))]);
    assert.deepEqual(vals(run('Pow', [i64([2], [3n, -3n]), i64([2], [41n, 3n])])), [BigInt.asIntN(64, 3n ** 41n), -27n]);
    assert.deepEqual(vals(run('Pow', [i32([1], [3]), i64([1], [40n])])), [Number(BigInt.asIntN(32, 3n ** 40n))]);
  });
  it('negative integer exponents give the truncated real result', () => {
    assert.deepEqual(vals(run('Pow', [i32([4], [1, -1, -1, 5]), i32([4], [-3, -3, -2, -1])])), [1, -1, 1, 0]);
    throwsCode(() => run('Pow', [i32([1], [0]), i32([1], [-1])]), 'INVALID_ARGUMENT');
  });
  it('mixed types', () => {
    assert.deepEqual(vals(run('Pow', [f32([3], [2, 3, 0.5]), i64([3], [10n, 2n, 2n])])), [1024, 9, 0.25]);
    assert.deepEqual(vals(run('Pow', [i32([3], [2, 3, 10]), f32([3], [3, 0.5, -1])])), [8, 1, 0]);
    assert.deepEqual(vals(run('Pow', [f32([2], [4, 2]), f32([2], [0.5, -2])])), [2, 0.25]);
  });
});

describe('variadic Sum/Mean/Max/Min', () => {
  it('Sum and Mean accumulate left to right with one float32 rounding per add', () => {
    const xs = [rand(6, 7), rand(3, 8), rand(2, 9)].map((v) => v.map((x) => Math.fround(x * 1e4)));
    const a = f32([2, 3], xs[0]!);
    const b = f32([3], xs[1]!);
    const c = f32([2, 1], xs[2]!);
    const sum = run('Sum', [a, b, c]);
    const mean = run('Mean', [a, b, c]);
    const wantSum: number[] = [];
    const wantMean: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        let acc = xs[0]![i * 3 + j]!;
        acc = Math.fround(acc + xs[1]![j]!);
        acc = Math.fround(acc + xs[2]![i]!);
        wantSum.push(acc);
        wantMean.push(Math.fround(acc / 3));
      }
    }
    assert.deepEqual(sum.shape, [2, 3]);
    assert.deepEqual(bits32(sum), bits32(f32([6], wantSum)));
    assert.deepEqual(bits32(mean), bits32(f32([6], wantMean)));
  });
  it('one input is a copy; zero inputs is an error', () => {
    const a = f32([2], [1, 2]);
    const r = run('Max', [a]);
    assert.deepEqual(vals(r), [1, 2]);
    assert.notEqual(r.data, a.data);
    throwsCode(() => run('Sum', []), 'INVALID_ARGUMENT');
  });
  it('Max/Min propagate NaN and follow numpy for signed zeros', () => {
    const a = f32([4], [NaN, 1, -0, 0]);
    const b = f32([4], [1, NaN, 0, -0]);
    const mx = vals(run('Max', [a, b])) as number[];
    const mn = vals(run('Min', [a, b])) as number[];
    assert.ok(Number.isNaN(mx[0]) && Number.isNaN(mx[1]) && Number.isNaN(mn[0]) && Number.isNaN(mn[1]));
    assert.ok(Object.is(mx[2], -0) && Object.is(mx[3], 0));
    assert.ok(Object.is(mn[2], -0) && Object.is(mn[3], 0));
  });
  it('Max on int64/uint64 and float16', () => {
    assert.deepEqual(vals(run('Max', [u64([2], [18446744073709551615n, 0n]), u64([1], [5n])])), [18446744073709551615n, 5n]);
    assert.deepEqual(vals(run('Min', [i64([2], [-5n, 7n]), i64([2], [3n, -9223372036854775808n])])), [-5n, -9223372036854775808n]);
    const h = new Tensor(DType.float16, [3], Uint16Array.from([0x3c00, 0xbc00, 0x7c00]));
    const g = new Tensor(DType.float16, [3], Uint16Array.from([0x4000, 0xc000, 0x0001]));
    assert.deepEqual(vals(run('Max', [h, g])), [0x4000, 0xbc00, 0x7c00]);
    assert.deepEqual(vals(run('Min', [h, g])), [0x3c00, 0xc000, 0x0001]);
    // NaN payload bits are kept: Max/Min on float16 is a pure selection
    const p = new Tensor(DType.float16, [2], Uint16Array.from([0x7c01, 0x3c00]));
    const q = new Tensor(DType.float16, [2], Uint16Array.from([0x3c00, 0xfe05]));
    assert.deepEqual(vals(run('Max', [p, q])), [0x7c01, 0xfe05]);
    assert.deepEqual(vals(run('Min', [p, q, q])), [0x7c01, 0xfe05]);
    throwsCode(() => run('Sum', [h, g]), 'UNSUPPORTED_FEATURE');
    throwsCode(() => run('Mean', [i32([1], [1])]), 'INVALID_ARGUMENT');
  });
});

describe('comparisons and logic', () => {
  it('IEEE comparisons', () => {
    const a = f32([4], [NaN, -0, 1, 2]);
    const b = f32([4], [NaN, 0, 2, 1]);
    assert.deepEqual(vals(run('Equal', [a, b])), [0, 1, 0, 0]);
    assert.deepEqual(vals(run('Less', [a, b])), [0, 0, 1, 0]);
    assert.deepEqual(vals(run('LessOrEqual', [a, b])), [0, 1, 1, 0]);
    assert.deepEqual(vals(run('GreaterOrEqual', [a, b])), [0, 1, 0, 1]);
    assert.deepEqual(vals(run('Greater', [a, b])), [0, 0, 0, 1]);
  });
  it('64-bit comparisons are exact', () => {
    const a = i64([2], [9007199254740993n, -1n]);
    const b = i64([2], [9007199254740992n, -1n]);
    assert.deepEqual(vals(run('Greater', [a, b])), [1, 0]);
    assert.deepEqual(vals(run('Equal', [a, b])), [0, 1]);
    const u = u64([1], [18446744073709551615n]);
    assert.deepEqual(vals(run('Less', [u, u64([1], [0n])])), [0]);
  });
  it('float16 comparisons', () => {
    const h = new Tensor(DType.float16, [3], Uint16Array.from([0x3c00, 0x8000, 0x7e00]));
    const g = new Tensor(DType.float16, [3], Uint16Array.from([0x4000, 0x0000, 0x7e00]));
    assert.deepEqual(vals(run('Less', [h, g])), [1, 0, 0]);
    assert.deepEqual(vals(run('Equal', [h, g])), [0, 1, 0]);
  });
  it('And/Or/Xor/Not broadcast and treat any non-zero byte as true', () => {
    const a = bool([2, 2], [0, 1, 2, 0]);
    const b = bool([2], [1, 1]);
    assert.deepEqual(vals(run('And', [a, b])), [0, 1, 1, 0]);
    assert.deepEqual(vals(run('Or', [a, bool([1], [0])])), [0, 1, 1, 0]);
    assert.deepEqual(vals(run('Xor', [a, b])), [1, 0, 0, 1]);
    assert.deepEqual(vals(run('Not', [a])), [1, 0, 0, 1]);
    throwsCode(() => run('And', [f32([1], [1]), f32([1], [1])]), 'INVALID_ARGUMENT');
  });
});

describe('bitwise', () => {
  it('BitShift: shifts >= the width give 0', () => {
    const u8 = (v: number[]) => new Tensor(DType.uint8, [v.length], Uint8Array.from(v));
    assert.deepEqual(vals(run('BitShift', [u8([255, 1, 3, 128]), u8([1, 7, 8, 200])], { direction: str('LEFT') })), [254, 128, 0, 0]);
    assert.deepEqual(vals(run('BitShift', [u8([255, 128]), u8([7, 8])], { direction: str('RIGHT') })), [1, 0]);
    const u32 = (v: number[]) => new Tensor(DType.uint32, [v.length], Uint32Array.from(v));
    assert.deepEqual(vals(run('BitShift', [u32([1, 0xffffffff, 5]), u32([31, 4, 32])], { direction: str('LEFT') })), [2147483648, 0xfffffff0, 0]);
    assert.deepEqual(vals(run('BitShift', [u32([0xffffffff, 5]), u32([31, 32])], { direction: str('RIGHT') })), [1, 0]);
    assert.deepEqual(
      vals(run('BitShift', [u64([3], [1n, 3n, 5n]), u64([3], [63n, 63n, 18446744073709551615n])], { direction: str('LEFT') })),
      [9223372036854775808n, 9223372036854775808n, 0n],
    );
    throwsCode(() => run('BitShift', [u8([1]), u8([1])], { direction: str('UP') }), 'INVALID_ARGUMENT');
    throwsCode(() => run('BitShift', [i32([1], [1]), i32([1], [1])], { direction: str('LEFT') }), 'INVALID_ARGUMENT');
  });
  it('Bitwise ops on high bits and 64-bit', () => {
    const u32 = (v: number[]) => new Tensor(DType.uint32, [v.length], Uint32Array.from(v));
    assert.deepEqual(vals(run('BitwiseAnd', [u32([0xf0f0f0f0]), u32([0xff00ff00])])), [0xf000f000]);
    assert.deepEqual(vals(run('BitwiseOr', [u32([0x80000000]), u32([1])])), [0x80000001]);
    assert.deepEqual(vals(run('BitwiseXor', [i64([1], [-1n]), i64([1], [5n])])), [-6n]);
    assert.deepEqual(vals(run('BitwiseNot', [u64([2], [0n, 5n])])), [18446744073709551615n, 18446744073709551610n]);
    assert.deepEqual(vals(run('BitwiseNot', [new Tensor(DType.uint8, [2], Uint8Array.from([0, 0xf0]))])), [255, 0x0f]);
    assert.deepEqual(vals(run('BitwiseNot', [u32([0])])), [0xffffffff]);
    throwsCode(() => run('BitwiseNot', [f32([1], [1])]), 'INVALID_ARGUMENT');
  });
});

describe('Where, PRelu, IsNaN, IsInf', () => {
  it('Where broadcasts three ways and works on any dtype', () => {
    const c = bool([2, 1], [1, 0]);
    const x = i64([3], [1n, 2n, 3n]);
    const y = i64([1], [-1n]);
    const r = run('Where', [c, x, y]);
    assert.deepEqual(r.shape, [2, 3]);
    assert.deepEqual(vals(r), [1n, 2n, 3n, -1n, -1n, -1n]);
    const h = new Tensor(DType.float16, [1], Uint16Array.from([0x3c00]));
    const g = new Tensor(DType.float16, [1], Uint16Array.from([0x7e00]));
    assert.deepEqual(vals(run('Where', [bool([2], [0, 1]), h, g])), [0x7e00, 0x3c00]);
    throwsCode(() => run('Where', [i32([1], [1]), x, y]), 'INVALID_ARGUMENT');
  });
  it('PRelu', () => {
    const x = f32([2, 3], [-1, 0, 1, -2, -0, NaN]);
    const s = f32([3], [0.1, 0.2, 0.3]);
    const r = vals(run('PRelu', [x, s])) as number[];
    assert.deepEqual(r.slice(0, 4), [Math.fround(-0.1), 0, 1, Math.fround(-2 * Math.fround(0.1))]);
    assert.ok(Object.is(r[4], -0) && Number.isNaN(r[5]));
    throwsCode(() => run('PRelu', [f32([3], [1, 2, 3]), f32([2, 3], [1, 2, 3, 4, 5, 6])]), 'INVALID_ARGUMENT');
    assert.deepEqual(vals(run('PRelu', [i32([2], [-0x40000000, 5]), i32([1], [4])])), [0, 5]);
    // opset 6: per-channel 1-D slope on NCHW
    const y = run('PRelu', [f32([1, 2, 1, 2], [-1, -1, -1, -1]), f32([2], [2, 3])], {}, 6);
    assert.deepEqual(vals(y), [-2, -2, -3, -3]);
  });
  it('IsNaN / IsInf', () => {
    const x = f64([5], [NaN, Infinity, -Infinity, 0, 1e308]);
    assert.deepEqual(vals(run('IsNaN', [x])), [1, 0, 0, 0, 0]);
    assert.deepEqual(vals(run('IsInf', [x])), [0, 1, 1, 0, 0]);
    assert.deepEqual(vals(run('IsInf', [x], { detect_negative: int(0) })), [0, 1, 0, 0, 0]);
    assert.deepEqual(vals(run('IsInf', [x], { detect_positive: int(0) })), [0, 0, 1, 0, 0]);
    const h = new Tensor(DType.float16, [4], Uint16Array.from([0x7c00, 0xfc00, 0x7c01, 0xfe00]));
    assert.deepEqual(vals(run('IsNaN', [h])), [0, 0, 1, 1]);
    assert.deepEqual(vals(run('IsInf', [h])), [1, 1, 0, 0]);
    throwsCode(() => run('IsNaN', [i32([1], [1])]), 'INVALID_ARGUMENT');
  });
});
