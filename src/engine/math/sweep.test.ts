// Dense float32 sweeps against float64 references (Math.* are allowed here,
// in tests only). Error is measured in float32 ulps of the reference value;
// a correctly rounded result has error <= 0.5 (plus reference noise ~1e-8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as M from './index.js';
import {
  erfRef,
  f32FromBits,
  f32Sweep,
  measure,
  powRef,
  rng,
  sigmoidRef,
  softplusRef,
} from './reference.testutil.js';

const FMAX = 3.4028234663852886e38;
const TINY = 1.401298464324817e-45; // smallest float32 subnormal
const N = 250000; // points per sign

function both(lo: number, hi: number, n = N): number[][] {
  return [...f32Sweep(lo, hi, n), ...f32Sweep(-lo, -hi, n)].map((x) => [x]);
}
function pos(lo: number, hi: number, n = 2 * N): number[][] {
  return f32Sweep(lo, hi, n).map((x) => [x]);
}

// The float32 bound asserted for every function (measured values are in docs/transcendentals.md).
const BOUND = 0.501;

type Fn = (...a: number[]) => number;
const cases: [string, Fn, Fn, () => number[][]][] = [
  ['expf', M.expf, Math.exp, () => both(TINY, 105)],
  ['expm1f', M.expm1f, Math.expm1, () => both(TINY, 105)],
  ['logf', M.logf, Math.log, () => pos(TINY, FMAX)],
  ['log1pf', M.log1pf, Math.log1p, () => [...pos(TINY, FMAX, N), ...pos(-TINY, -1, N)]],
  ['tanhf', M.tanhf, Math.tanh, () => both(TINY, 12)],
  ['sigmoidf', M.sigmoidf, sigmoidRef, () => both(TINY, 110)],
  ['softplusf', M.softplusf, softplusRef, () => both(TINY, 1e5)],
  ['erff', M.erff, erfRef, () => both(TINY, 7)],
  ['sinf |x|<=1e4', M.sinf, Math.sin, () => both(TINY, 1e4)],
  ['sinf full', M.sinf, Math.sin, () => both(1e4, FMAX)],
  ['cosf |x|<=1e4', M.cosf, Math.cos, () => both(TINY, 1e4)],
  ['cosf full', M.cosf, Math.cos, () => both(1e4, FMAX)],
  ['tanf', M.tanf, Math.tan, () => both(TINY, FMAX)],
  ['atanf', M.atanf, Math.atan, () => both(TINY, FMAX)],
  ['asinf', M.asinf, Math.asin, () => both(TINY, 1)],
  ['acosf', M.acosf, Math.acos, () => both(TINY, 1)],
  ['sinhf', M.sinhf, Math.sinh, () => both(TINY, 90)],
  ['coshf', M.coshf, Math.cosh, () => both(TINY, 90)],
  ['asinhf', M.asinhf, Math.asinh, () => both(TINY, FMAX)],
  ['acoshf', M.acoshf, Math.acosh, () => pos(1, FMAX)],
  ['atanhf', M.atanhf, Math.atanh, () => both(TINY, 1)],
  ['powf', M.powf, powRef, powPairs],
];

// pow pairs: (1) x in e^[-40,40], y scaled so |y ln x| <= 100 (results span
// overflow, normal, subnormal, underflow); (2) negative x, integer y;
// (3) uniformly random float32 bit patterns for both; (4) x in [0,4), random y.
function powPairs(): number[][] {
  const R = rng(42);
  const out: number[][] = [];
  for (let i = 0; i < 300000; i++) {
    const x = Math.fround(Math.exp((R() * 2 - 1) * 40));
    const lx = Math.log(x);
    const y = Math.fround(lx === 0 ? R() * 100 : ((R() * 2 - 1) * 100) / Math.abs(lx));
    out.push([x, y]);
  }
  for (let i = 0; i < 100000; i++) {
    out.push([-Math.fround(Math.exp((R() * 2 - 1) * 5)), Math.floor((R() * 2 - 1) * 60)]);
  }
  for (let i = 0; i < 200000; i++) {
    out.push([f32FromBits(Math.floor(R() * 2 ** 32)), f32FromBits(Math.floor(R() * 2 ** 32))]);
  }
  for (let i = 0; i < 100000; i++) {
    out.push([Math.fround(R() * 4), f32FromBits(Math.floor(R() * 2 ** 32))]);
  }
  return out;
}

for (const [name, ours, ref, inputs] of cases) {
  test(`sweep ${name}: max error <= ${BOUND} float32 ulp`, () => {
    const m = measure(inputs(), ours, ref);
    console.log(
      `${name.padEnd(14)} points=${m.n} maxUlp=${m.maxUlp.toFixed(6)} ` +
        `notCorrectlyRounded=${m.notCorrectlyRounded} worst=${m.worstX.join(',')}`,
    );
    assert.ok(m.maxUlp <= BOUND, `${name}: ${m.maxUlp} ulp at ${m.worstX}`);
  });
}

// Float64 internals: relative error in double ulps against Math.* (itself < 1 ulp).
function ulp64(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -1022) return 2 ** -1074;
  return 2 ** (Math.floor(Math.log2(a)) - 52);
}
const BOUND64 = 4;
const R64 = rng(7);
const unif = (lo: number, hi: number, n = 100000) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(lo + (hi - lo) * R64());
  return out;
};
const cases64: [string, (x: number) => number, (x: number) => number, number[]][] = [
  ['exp64', M.exp64, Math.exp, unif(-745, 709.78)],
  ['expm1_64', M.expm1_64, Math.expm1, [...unif(-3, 3), ...unif(-1e-6, 1e-6)]],
  ['log64', M.log64, Math.log, [...unif(0, 4), ...unif(0, 1e300), ...unif(0.99, 1.01)]],
  ['log1p64', M.log1p64, Math.log1p, [...unif(-1, 4), ...unif(-1e-6, 1e-6)]],
  ['tanh64', M.tanh64, Math.tanh, unif(-10, 10)],
  ['sigmoid64', M.sigmoid64, (x) => 1 / (1 + Math.exp(-x)), unif(-30, 30)],
  ['sin64', M.sin64, Math.sin, [...unif(-10, 10), ...unif(1e6, 1e300)]],
  ['cos64', M.cos64, Math.cos, [...unif(-10, 10), ...unif(1e6, 1e300)]],
  ['tan64', M.tan64, Math.tan, unif(-10, 10)],
  ['atan64', M.atan64, Math.atan, unif(-10, 10)],
  ['asin64', M.asin64, Math.asin, unif(-1, 1)],
  ['acos64', M.acos64, Math.acos, unif(-1, 1)],
  ['sinh64', M.sinh64, Math.sinh, unif(-30, 30)],
  ['cosh64', M.cosh64, Math.cosh, unif(-30, 30)],
  ['asinh64', M.asinh64, Math.asinh, unif(-30, 30)],
  ['acosh64', M.acosh64, Math.acosh, unif(1, 30)],
  ['atanh64', M.atanh64, Math.atanh, unif(-1, 1)],
  ['pow64(2.5,y)', (y) => M.pow64(2.5, y), (y) => Math.pow(2.5, y), unif(-700, 700)],
  ['pow64(x,-33.3)', (x) => M.pow64(x, -33.3), (x) => Math.pow(x, -33.3), unif(0.1, 10)],
];
for (const [name, ours, ref, xs] of cases64) {
  test(`float64 ${name}: max error <= ${BOUND64} double ulp`, () => {
    let mx = 0;
    let wx = 0;
    for (const x of xs) {
      const r = ref(x);
      if (!isFinite(r) || r === 0) continue;
      const e = Math.abs(ours(x) - r) / ulp64(r);
      if (e > mx) {
        mx = e;
        wx = x;
      }
    }
    console.log(`${name.padEnd(14)} maxUlp64=${mx.toFixed(3)} worst=${wx}`);
    assert.ok(mx <= BOUND64, `${name}: ${mx} double ulp at ${wx}`);
  });
}
