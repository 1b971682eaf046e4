// Deterministic log / log1p (float64 internals, float32 entry points).
//
// Canonical algorithm (fdlibm-style, coefficients are plain Taylor terms):
//   1. Split x = 2^k * m with m in [0.70710..., 1.41421...) using the exponent
//      bits (subnormals are first scaled by 2^54). f = m - 1 (exact).
//   2. s = f / (2 + f), z = s*s, R = z * P(z) with P(z) = 2/3 + 2/5 z + ... + 2/21 z^9
//      (Taylor of 2*atanh(s) = 2s + s*R; Horner, highest degree first;
//      |s| <= 0.1716 so truncation < 1e-19).
//   3. hfsq = 0.5*f*f;
//      log = k*LN2_HI - ((hfsq - (s*(hfsq + R) + (k*LN2_LO + c))) - f)
//      (uses 2s = f - hfsq + s*hfsq; c is 0 for log, and the rounding
//      correction err/u of u = 1 + x for log1p).
// Float32 entry points round the float64 value once with Math.fround.

import { fromWords, highWord, horner, lowWord, pow2 } from './bits.js';
import { LN2_HI, LN2_LO } from './exp.js';

// 2/21, 2/19, ..., 2/5, 2/3
export const LOG_P = [
  0.09523809523809523,
  0.10526315789473684,
  0.11764705882352941,
  0.13333333333333333,
  0.15384615384615385,
  0.18181818181818182,
  0.2222222222222222,
  0.2857142857142857,
  0.4,
  0.6666666666666666,
];

const TWO_P54 = pow2(54);
const TWO_M54 = pow2(-54);

// Module scratch written by `decompose`: the exponent k and f = m - 1.
let decK = 0;
let decF = 0;

// x > 0 finite. Sets decK, decF with x = 2^decK * (1 + decF), 1 + decF in [sqrt(1/2), sqrt(2)).
export function decompose(x: number): void {
  let hx = highWord(x);
  let k = 0;
  if (hx < 0x00100000) {
    // subnormal: scale up exactly
    x *= TWO_P54;
    k = -54;
    hx = highWord(x);
  }
  const lx = lowWord(x);
  k += (hx >>> 20) - 1023;
  hx &= 0x000fffff;
  let m: number;
  if (hx >= 0x6a09e) {
    // mantissa >= ~sqrt(2): use m in [~0.707, 1)
    m = fromWords(hx | 0x3fe00000, lx);
    k += 1;
  } else {
    m = fromWords(hx | 0x3ff00000, lx);
  }
  decK = k;
  decF = m - 1;
}
export function decomposedK(): number {
  return decK;
}
export function decomposedF(): number {
  return decF;
}

function logKernel(k: number, f: number, c: number): number {
  const s = f / (2 + f);
  const z = s * s;
  const R = z * horner(LOG_P, z);
  const hfsq = 0.5 * f * f;
  return k * LN2_HI - ((hfsq - (s * (hfsq + R) + (k * LN2_LO + c))) - f);
}

// Natural log in float64, error < ~1 ulp (double).
export function log64(x: number): number {
  if (x !== x) return x;
  if (x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return x;
  decompose(x);
  return logKernel(decK, decF, 0);
}

// log(1 + x) in float64, accurate near 0. u = 1 + x is rounded; its exact
// rounding error e (Fast2Sum) is folded in as c = e / u.
export function log1p64(x: number): number {
  if (x !== x) return x;
  if (x < -1) return NaN;
  if (x === -1) return -Infinity;
  if (x === Infinity) return x;
  if (x < TWO_M54 && x > -TWO_M54) return x; // log1p(x) = x(1 - x/2 ...): rounds to x; keeps -0
  const u = 1 + x;
  const e = x < 1 ? x - (u - 1) : 1 - (u - x);
  decompose(u);
  return logKernel(decK, decF, e / u);
}

export function logf(x: number): number {
  return Math.fround(log64(x));
}

export function log1pf(x: number): number {
  return Math.fround(log1p64(x));
}
