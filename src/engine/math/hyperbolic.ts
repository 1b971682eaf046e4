// Deterministic hyperbolic functions (float64 internals, float32 entry points).
// All built from exp64 / expm1_64 / log64 / log1p64 and exact Math.sqrt.
// a = |x|; the sign of x is applied at the end for odd functions.
//
// tanh:  a < 2^-28: x;  a > 22: ±1;  else t = expm1(2a), tanh = t/(t + 2).
// sinh:  a < 2^-28: x;  a < 22: t = expm1(a), 0.5*(t + t/(t + 1));
//        a <= 709: 0.5*exp(a);  else w = exp(0.5a), (0.5*w)*w.
// cosh:  a < ln2/2: t = expm1(a), w = 1 + t, 1 + (t*t)/(w + w);
//        a < 22: e = exp(a), 0.5*e + 0.5/e;  a <= 709: 0.5*exp(a);  else (0.5*w)*w.
// asinh: a < 2^-28: x;  a > 2^28: log(a) + LN2;  a > 2: log(2a + 1/(sqrt(a*a + 1) + a));
//        else z = a*a, log1p(a + z/(1 + sqrt(1 + z))).
// acosh: x < 1: NaN;  x > 2^28: log(x) + LN2;  x > 2: log(2x - 1/(x + sqrt(x*x - 1)));
//        else t = x - 1, log1p(t + sqrt(2t + t*t)).
// atanh: a > 1: NaN; a = 1: ±Inf; a < 2^-28: x;  a < 1/2: t = a + a, 0.5*log1p(t + t*a/(1 - a));
//        else 0.5*log1p((a + a)/(1 - a)).

import { pow2 } from './bits.js';
import { exp64, expm1_64 } from './exp.js';
import { log1p64, log64 } from './log.js';

const LN2 = 0.6931471805599453;
const HALF_LN2 = 0.34657359027997264;
const TWO_M28 = pow2(-28);
const TWO_P28 = pow2(28);

export function tanh64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < TWO_M28) return x;
  let r: number;
  if (a > 22) {
    r = 1;
  } else {
    const t = expm1_64(2 * a);
    r = t / (t + 2);
  }
  return x < 0 ? -r : r;
}

export function sinh64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < TWO_M28) return x;
  let r: number;
  if (a < 22) {
    const t = expm1_64(a);
    r = 0.5 * (t + t / (t + 1));
  } else if (a <= 709) {
    r = 0.5 * exp64(a);
  } else {
    const w = exp64(0.5 * a);
    r = (0.5 * w) * w;
  }
  return x < 0 ? -r : r;
}

export function cosh64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < HALF_LN2) {
    const t = expm1_64(a);
    const w = 1 + t;
    return 1 + (t * t) / (w + w);
  }
  if (a < 22) {
    const e = exp64(a);
    return 0.5 * e + 0.5 / e;
  }
  if (a <= 709) return 0.5 * exp64(a);
  const w = exp64(0.5 * a);
  return (0.5 * w) * w;
}

export function asinh64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < TWO_M28) return x;
  let r: number;
  if (a > TWO_P28) {
    r = log64(a) + LN2;
  } else if (a > 2) {
    r = log64(2 * a + 1 / (Math.sqrt(a * a + 1) + a));
  } else {
    const z = a * a;
    r = log1p64(a + z / (1 + Math.sqrt(1 + z)));
  }
  return x < 0 ? -r : r;
}

export function acosh64(x: number): number {
  if (x !== x) return x;
  if (x < 1) return NaN;
  if (x > TWO_P28) return log64(x) + LN2;
  if (x > 2) return log64(2 * x - 1 / (x + Math.sqrt(x * x - 1)));
  const t = x - 1;
  return log1p64(t + Math.sqrt(2 * t + t * t));
}

export function atanh64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a > 1) return NaN;
  if (a === 1) return x > 0 ? Infinity : -Infinity;
  if (a < TWO_M28) return x;
  let r: number;
  if (a < 0.5) {
    const t = a + a;
    r = 0.5 * log1p64(t + (t * a) / (1 - a));
  } else {
    r = 0.5 * log1p64((a + a) / (1 - a));
  }
  return x < 0 ? -r : r;
}

export function tanhf(x: number): number {
  return Math.fround(tanh64(x));
}
export function sinhf(x: number): number {
  return Math.fround(sinh64(x));
}
export function coshf(x: number): number {
  return Math.fround(cosh64(x));
}
export function asinhf(x: number): number {
  return Math.fround(asinh64(x));
}
export function acoshf(x: number): number {
  return Math.fround(acosh64(x));
}
export function atanhf(x: number): number {
  return Math.fround(atanh64(x));
}
