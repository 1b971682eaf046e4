// Special values, boundaries, signed zeros, subnormals, exact cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as M from './index.js';

const FMAX = 3.4028234663852886e38;
const TINY = 1.401298464324817e-45; // 2^-149
const MIN_NORMAL = 1.1754943508222875e-38; // 2^-126
const { NaN: NAN } = Number;
const INF = Infinity;

// Object.is equality (distinguishes -0, matches NaN).
function is(actual: number, expected: number, msg?: string): void {
  assert.ok(Object.is(actual, expected), `${msg ?? ''} expected ${Object.is(expected, -0) ? '-0' : expected}, got ${Object.is(actual, -0) ? '-0' : actual}`);
}

const unaryF32: [string, (x: number) => number][] = [
  ['expf', M.expf], ['expm1f', M.expm1f], ['logf', M.logf], ['log1pf', M.log1pf],
  ['tanhf', M.tanhf], ['sigmoidf', M.sigmoidf], ['softplusf', M.softplusf], ['erff', M.erff],
  ['sinf', M.sinf], ['cosf', M.cosf], ['tanf', M.tanf], ['asinf', M.asinf], ['acosf', M.acosf],
  ['atanf', M.atanf], ['sinhf', M.sinhf], ['coshf', M.coshf], ['asinhf', M.asinhf],
  ['acoshf', M.acoshf], ['atanhf', M.atanhf], ['sqrtf', M.sqrtf], ['roundHalfEven', M.roundHalfEven],
];
const unary64: [string, (x: number) => number][] = [
  ['exp64', M.exp64], ['expm1_64', M.expm1_64], ['log64', M.log64], ['log1p64', M.log1p64],
  ['tanh64', M.tanh64], ['sigmoid64', M.sigmoid64], ['softplus64', M.softplus64], ['erf64', M.erf64],
  ['sin64', M.sin64], ['cos64', M.cos64], ['tan64', M.tan64], ['asin64', M.asin64],
  ['acos64', M.acos64], ['atan64', M.atan64], ['sinh64', M.sinh64], ['cosh64', M.cosh64],
  ['asinh64', M.asinh64], ['acosh64', M.acosh64], ['atanh64', M.atanh64],
];

test('NaN in -> NaN out', () => {
  for (const [name, f] of [...unaryF32, ...unary64]) assert.ok(Number.isNaN(f(NAN)), name);
  assert.ok(Number.isNaN(M.powf(NAN, 2)));
  assert.ok(Number.isNaN(M.powf(2, NAN)));
});

test('float32 outputs are float32 values', () => {
  const xs = [0.1, -0.7, 1.3, 2.9, 10.5, -50.25, 1e-3, 0.999];
  for (const [name, f] of unaryF32) for (const x of xs) {
    const y = f(Math.fround(x));
    if (!Number.isNaN(y)) is(y, Math.fround(y), name);
  }
});

test('exp / expm1', () => {
  is(M.expf(-INF), 0); is(M.expf(INF), INF); is(M.expf(0), 1); is(M.expf(-0), 1);
  is(M.expf(TINY), 1); is(M.expf(-TINY), 1);
  // overflow boundary: 88.72283 -> FLT_MAX region, next float overflows
  is(M.expf(Math.fround(88.72283)), Math.fround(Math.exp(Math.fround(88.72283))));
  is(M.expf(Math.fround(88.7229)), INF);
  // subnormal results, no flush to zero
  is(M.expf(-103), Math.fround(Math.exp(-103)));
  assert.ok(M.expf(-103) > 0 && M.expf(-103) < MIN_NORMAL);
  is(M.expf(Math.fround(-103.97207)), TINY);
  is(M.expf(-104), 0);
  is(M.expf(Math.fround(-87.33654)), Math.fround(Math.exp(Math.fround(-87.33654))));
  is(M.exp64(709.782712893384), Math.exp(709.782712893384));
  is(M.exp64(709.79), INF);
  is(M.exp64(-745.1332191019411), 5e-324);
  is(M.exp64(-745.14), 0);
  is(M.exp64(-740), Math.exp(-740));
  is(M.expm1f(-0), -0); is(M.expm1f(0), 0); is(M.expm1f(-INF), -1); is(M.expm1f(INF), INF);
  is(M.expm1f(-TINY), -TINY); is(M.expm1f(1e-30), Math.fround(1e-30));
  is(M.expm1f(-100), -1); is(M.expm1f(89), INF);
});

test('log / log1p', () => {
  is(M.logf(0), -INF); is(M.logf(-0), -INF); is(M.logf(1), 0); is(M.logf(INF), INF);
  assert.ok(Number.isNaN(M.logf(-1))); assert.ok(Number.isNaN(M.logf(-INF))); assert.ok(Number.isNaN(M.logf(-TINY)));
  is(M.logf(TINY), Math.fround(Math.log(TINY)));
  is(M.logf(FMAX), Math.fround(Math.log(FMAX)));
  is(M.log64(5e-324), Math.log(5e-324));
  is(M.log64(Number.MAX_VALUE), Math.log(Number.MAX_VALUE));
  is(M.log1pf(-0), -0); is(M.log1pf(0), 0); is(M.log1pf(-1), -INF); is(M.log1pf(INF), INF);
  assert.ok(Number.isNaN(M.log1pf(-1.5))); assert.ok(Number.isNaN(M.log1pf(-INF)));
  is(M.log1pf(-TINY), -TINY); is(M.log1pf(TINY), TINY);
});

test('tanh / sigmoid / softplus', () => {
  is(M.tanhf(-0), -0); is(M.tanhf(0), 0); is(M.tanhf(INF), 1); is(M.tanhf(-INF), -1);
  is(M.tanhf(-TINY), -TINY); is(M.tanhf(10), 1); is(M.tanhf(-10), -1);
  is(M.sigmoidf(-INF), 0); is(M.sigmoidf(INF), 1); is(M.sigmoidf(0), 0.5); is(M.sigmoidf(-0), 0.5);
  is(M.sigmoidf(-103), Math.fround(Math.exp(-103) / (1 + Math.exp(-103))));
  assert.ok(M.sigmoidf(-103) > 0);
  is(M.sigmoidf(-105), 0); is(M.sigmoidf(17), 0.9999999403953552); is(M.sigmoidf(18), 1); is(M.sigmoid64(-1000), 0);
  is(M.softplusf(-INF), 0); is(M.softplusf(INF), INF); is(M.softplusf(0), Math.fround(Math.LN2));
  is(M.softplusf(100), 100); is(M.softplusf(FMAX), FMAX);
  is(M.softplusf(-100), Math.fround(Math.exp(-100)));
  is(M.softplusf(-104), 0);
});

test('erf', () => {
  is(M.erff(-0), -0); is(M.erff(0), 0); is(M.erff(INF), 1); is(M.erff(-INF), -1);
  is(M.erff(TINY), TINY); is(M.erff(-TINY), -TINY);
  is(M.erff(4), 1); is(M.erff(-10), -1);
  is(M.erff(MIN_NORMAL), Math.fround(MIN_NORMAL * 1.1283791670955126));
});

test('sin / cos / tan', () => {
  is(M.sinf(-0), -0); is(M.sinf(0), 0); is(M.cosf(-0), 1); is(M.tanf(-0), -0);
  for (const f of [M.sinf, M.cosf, M.tanf]) {
    assert.ok(Number.isNaN(f(INF))); assert.ok(Number.isNaN(f(-INF)));
  }
  is(M.sinf(-TINY), -TINY); is(M.cosf(TINY), 1);
  for (const x of [FMAX, -FMAX, 1e38, 2 ** 100, 2 ** 24, 16777215, 1e5, 105414350, 3.14159274]) {
    const xf = Math.fround(x);
    is(M.sinf(xf), Math.fround(Math.sin(xf)), `sin(${xf})`);
    is(M.cosf(xf), Math.fround(Math.cos(xf)), `cos(${xf})`);
    is(M.tanf(xf), Math.fround(Math.tan(xf)), `tan(${xf})`);
  }
  // float64 path near a multiple of pi/2 and for huge doubles
  for (const x of [1.5707963267948966, 6381956970095103 * 2 ** 797, 1e300, Number.MAX_VALUE]) {
    const s = M.sin64(x), c = M.cos64(x);
    assert.ok(Math.abs(s - Math.sin(x)) <= 2 * 2 ** -52 * Math.abs(Math.sin(x)) + 1e-300, `sin64(${x})`);
    assert.ok(Math.abs(c - Math.cos(x)) <= 2 * 2 ** -52 * Math.abs(Math.cos(x)) + 1e-300, `cos64(${x})`);
  }
});

test('inverse trig and hyperbolic specials', () => {
  is(M.asinf(1), Math.fround(Math.PI / 2)); is(M.asinf(-1), -Math.fround(Math.PI / 2));
  is(M.asinf(-0), -0); assert.ok(Number.isNaN(M.asinf(1.0000001)));
  is(M.acosf(1), 0); is(M.acosf(-1), Math.fround(Math.PI)); is(M.acosf(0), Math.fround(Math.PI / 2));
  assert.ok(Number.isNaN(M.acosf(-1.0000001)));
  is(M.atanf(INF), Math.fround(Math.PI / 2)); is(M.atanf(-INF), -Math.fround(Math.PI / 2)); is(M.atanf(-0), -0);
  is(M.sinhf(-0), -0); is(M.sinhf(INF), INF); is(M.sinhf(-INF), -INF); is(M.sinhf(90), INF); is(M.sinhf(-90), -INF);
  is(M.coshf(-0), 1); is(M.coshf(INF), INF); is(M.coshf(-INF), INF); is(M.coshf(-90), INF);
  is(M.asinhf(-0), -0); is(M.asinhf(INF), INF); is(M.asinhf(-INF), -INF); is(M.asinhf(-TINY), -TINY);
  is(M.acoshf(1), 0); is(M.acoshf(INF), INF); assert.ok(Number.isNaN(M.acoshf(0.5))); assert.ok(Number.isNaN(M.acoshf(-INF)));
  is(M.atanhf(1), INF); is(M.atanhf(-1), -INF); is(M.atanhf(-0), -0); assert.ok(Number.isNaN(M.atanhf(1.5)));
  is(M.sinh64(710), Math.sinh(710)); is(M.cosh64(-710), Math.cosh(-710)); is(M.sinh64(711), INF);
});

test('pow: C99 special cases', () => {
  const cases: [number, number, number][] = [
    [NAN, 0, 1], [NAN, -0, 1], [INF, 0, 1], [0, 0, 1], [-3, -0, 1],
    [1, NAN, 1], [1, INF, 1], [1, -INF, 1], [1, 5.5, 1],
    [NAN, 1, NAN], [2, NAN, NAN], [-1, INF, 1], [-1, -INF, 1],
    [0.5, INF, 0], [0.5, -INF, INF], [2, INF, INF], [2, -INF, 0], [-0.5, INF, 0], [-2, -INF, 0],
    [0, -3, INF], [-0, -3, -INF], [0, -2, INF], [-0, -2, INF], [-0, -0.5, INF], [0, -INF, INF],
    [0, 3, 0], [-0, 3, -0], [-0, 2, 0], [-0, 0.5, 0], [-0, INF, 0],
    [-INF, 3, -INF], [-INF, 2, INF], [-INF, 0.5, INF], [-INF, -3, -0], [-INF, -2, 0], [-INF, -0.5, 0],
    [INF, 0.5, INF], [INF, -0.5, 0],
    [-2, 0.5, NAN], [-8, 1 / 3, NAN], [-2, 3, -8], [-2, 2, 4], [-2, -3, -0.125], [-1, 2 ** 60, 1], [-1, 2 ** 60 + 2 ** 8, 1],
    [-1, 3, -1], [-2, 2 ** 40, INF], [-2, 2 ** 40 + 1, -INF], [-0.5, 2 ** 40 + 1, -0],
    [2, 128, INF], [2, -149, TINY], [2, -150, 0], [2, -151, 0], [10, 39, INF], [10, -46, 0],
    [2, 127, 2 ** 127], [0.5, 149, TINY], [-2, -149, -TINY], [-2, -150, 0], [-2, -151, -0],
  ];
  for (const [x, y, r] of cases) is(M.powf(x, y), r, `powf(${x}, ${y})`);
});

test('pow: exact results and exact ties round correctly', () => {
  // x^2 equals fround(x*x) (x*x is exact in double) for every float32 x
  let s = 12345;
  for (let i = 0; i < 20000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const x = Math.fround(((s / 2 ** 32) * 2 - 1) * 2 ** ((i % 60) - 30));
    is(M.powf(x, 2), Math.fround(x * x), `powf(${x}, 2)`);
    is(M.powf(x, 1), x, `powf(${x}, 1)`);
  }
  is(M.powf(4097, 2), 16785408); // tie 16785409 -> even
  is(M.powf(4099, 2), 16801800); // tie 16801801 -> even (up)
  is(M.powf(66049, 1.5), 16974592); // 257^3 = 16974593, tie -> even
  is(M.powf(3, 16), 43046720); // 43046721 (26 bits) rounds to the nearest multiple of 4
  is(M.powf(2 ** -100, 1.5), 0); // 2^-150: tie between 0 and 2^-149 -> 0
  is(M.powf(9, 0.5), 3); is(M.powf(16, 0.25), 2); is(M.powf(16, -0.25), 0.5);
  is(M.powf(3, 15), 14348907); is(M.powf(-3, 15), -14348907);
  is(M.pow64(2.5, 1), 2.5); is(M.pow64(-7, 2), 49);
});

test('roundHalfEven', () => {
  const cases: [number, number][] = [
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-1.5, -2], [-2.5, -2], [-0.4, -0],
    [0.49999999999999994, 0], [4503599627370495.5, 4503599627370496], [4503599627370497, 4503599627370497],
    [2 ** 60, 2 ** 60], [0, 0], [-0, -0], [INF, INF], [-INF, -INF], [1.2, 1], [-1.7, -2], [TINY, 0], [-TINY, -0],
    [2.5000000000000004, 3], [-3.5, -4],
  ];
  for (const [x, r] of cases) is(M.roundHalfEven(x), r, `roundHalfEven(${x})`);
});

test('sqrtf', () => {
  is(M.sqrtf(-0), -0); is(M.sqrtf(0), 0); is(M.sqrtf(INF), INF); assert.ok(Number.isNaN(M.sqrtf(-1)));
  is(M.sqrtf(2), Math.fround(Math.sqrt(2))); is(M.sqrtf(TINY), Math.fround(Math.sqrt(TINY)));
});
