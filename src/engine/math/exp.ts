// Deterministic exp / expm1 (float64 internals, float32 entry points).
//
// Canonical algorithm (shared by exp64, expm1_64, expDD):
//   1. k = floor(x * INV_LN2 + 0.5)                       (integer, exact floor)
//   2. hi = x - k*LN2_HI   (exact: LN2_HI has 32 significant bits, Sterbenz)
//      lo = k*LN2_LO; r = hi - lo                         (|r| <= ~0.3466)
//   3. e^r - 1 = r + r*r*Q(r), Q = Taylor poly of degree 11 with coefficients
//      1/13!, 1/12!, ..., 1/2! (each rounded to nearest double), Horner order,
//      highest degree first. Truncation error < 1.2e-17 relative.
//   4. exp: scalbn(1 + (e^r - 1), k), scalbn rounds only for subnormal results.
// Float32 entry points round the float64 value once with Math.fround.

import { horner, pow2, scalbn } from './bits.js';

export const LN2_HI = 0.6931471806019545; // ln2 rounded to 32 significant bits
export const LN2_LO = -4.2009150726810846e-11; // ln2 - LN2_HI, rounded
export const INV_LN2 = 1.4426950408889634;
const HALF_LN2 = 0.34657359027997264;

// 1/13!, 1/12!, ..., 1/3!, 1/2!
const EXPM1_Q = [
  1.6059043836821613e-10,
  2.08767569878681e-9,
  2.505210838544172e-8,
  2.755731922398589e-7,
  2.7557319223985893e-6,
  2.48015873015873e-5,
  0.0001984126984126984,
  0.001388888888888889,
  0.008333333333333333,
  0.041666666666666664,
  0.16666666666666666,
  0.5,
];

// e^r - 1 for |r| <= ~0.35: r + (r*r)*Q(r).
export function expm1Kernel(r: number): number {
  return r + r * r * horner(EXPM1_Q, r);
}

// exp(xh + xl) where |xl| is tiny relative to xh (a double-double argument).
// Same reduction as exp64 with xl folded into the reduced argument:
// r = hi - (k*LN2_LO - xl).
export function expDD(xh: number, xl: number): number {
  if (!(xh <= 710)) return xh > 0 ? Infinity : xh; // +Inf, overflow, NaN
  if (xh < -746) return 0;
  const k = Math.floor(xh * INV_LN2 + 0.5);
  const hi = xh - k * LN2_HI;
  const r = hi - (k * LN2_LO - xl);
  return scalbn(1 + expm1Kernel(r), k);
}

// e^x in float64, relative error < ~2 ulp (double).
export function exp64(x: number): number {
  if (!(x <= 710)) return x > 0 ? Infinity : x; // +Inf, overflow, NaN
  if (x < -746) return 0; // e^x < 2^-1076: rounds to +0
  const k = Math.floor(x * INV_LN2 + 0.5);
  const hi = x - k * LN2_HI;
  const r = hi - k * LN2_LO;
  return scalbn(1 + expm1Kernel(r), k);
}

// e^x - 1 in float64, accurate to a few ulp (double) relative, including near 0.
// |x| <= ln2/2: kernel directly. Otherwise reduce as exp64, keep the rounding
// error c of r (r + c = hi - lo exactly), em = expm1(r) + c*(1 + expm1(r)), then
//   k > 52:  scalbn(1 + em, k) - 1
//   else:    2^k*em + (2^k - 1)     (2^k*em exact, 2^k - 1 exact)
export function expm1_64(x: number): number {
  if (x !== x) return x;
  if (x > 710) return Infinity;
  if (x < -40) return -1; // e^-40 < 2^-57: -1 + e^x rounds to -1
  if (x === 0) return x; // keep -0
  if (x <= HALF_LN2 && x >= -HALF_LN2) return expm1Kernel(x);
  const k = Math.floor(x * INV_LN2 + 0.5);
  const hi = x - k * LN2_HI;
  const lo = k * LN2_LO;
  const r = hi - lo;
  const c = (hi - r) - lo;
  let em = expm1Kernel(r);
  em = em + c * (1 + em);
  if (k > 52) return scalbn(1 + em, k) - 1;
  const t = pow2(k);
  return t * em + (t - 1);
}

// float32 entry points: single rounding of the float64 result.
export function expf(x: number): number {
  return Math.fround(exp64(x));
}

export function expm1f(x: number): number {
  return Math.fround(expm1_64(x));
}
