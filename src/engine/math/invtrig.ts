// Deterministic atan / asin / acos (float64 internals, float32 entry points).
//
// Polynomials were fitted once (Chebyshev interpolation in 60-digit
// arithmetic, then coefficients rounded to double) and are frozen here:
//   ATAN_P(z) ~ (atan(t) - t)/(t^3), z = t^2, on |t| <= 7/16, degree 11 in z
//              (rel. error of t + t^3*ATAN_P < 2e-17)
//   ASIN_P(z) ~ (asin(t) - t)/(t^3), z = t^2, on |t| <= 1/2, degree 12 in z
//              (rel. error < 2.2e-17)
// All polynomials: Horner, highest degree first.
//
// atan(a), a = |x|:
//   a < 7/16:    t = a,                 atan = t + t*z*P(z)
//   a < 11/16:   t = (2a - 1)/(2 + a),  atan = atan(1/2) + (t + (t*z*P(z) + lo))
//   a < 19/16:   t = (a - 1)/(a + 1),   base atan(1)
//   a < 39/16:   t = (a - 1.5)/(1 + 1.5a), base atan(3/2)
//   otherwise:   t = -1/a,              base pi/2
//   (base = hi + lo double-double constants), then sign of x.
// asin(a): a <= 1/2: a + a*z*P(z); else w = (1 - a)/2 (exact), s = sqrt(w),
//   asin = PIO2_HI - (2*(s + s*w*P(w)) - PIO2_LO).
// acos(x): |x| <= 1/2: PIO2_HI - (x + (x*z*P(z) - PIO2_LO));
//   x > 1/2: 2*(s + s*w*P(w)) with w = (1 - x)/2;
//   x < -1/2: PI_HI - (2*(s + s*w*P(w)) - PI_LO) with w = (1 + x)/2.

import { horner, pow2 } from './bits.js';
import { PIO2_HI, PIO2_LO } from './trig.js';

const PI_HI = 3.141592653589793;
const PI_LO = 1.2246467991473532e-16;
const TWO_M27 = pow2(-27);
const TWO_P66 = pow2(66);

const ATAN_HI = [0.4636476090008061, 0.7853981633974483, 0.982793723247329, PIO2_HI];
const ATAN_LO = [2.2698777452961687e-17, 3.061616997868383e-17, 1.3903311031230998e-17, PIO2_LO];

const ATAN_P = [
  0.014773184616983806,
  -0.033128134256069586,
  0.04492259293193656,
  -0.05216679739313656,
  0.05876946456755061,
  -0.06666241923359964,
  0.07692285554889286,
  -0.09090908355602592,
  0.11111111096645038,
  -0.14285714285566806,
  0.1999999999999941,
  -0.3333333333333333,
];

const ASIN_P = [
  0.028757851367421566,
  -0.014851887071247204,
  0.01740087944269402,
  0.005457506718640358,
  0.01032281435018578,
  0.011479177415184906,
  0.013971212973552933,
  0.017352392720869973,
  0.02237217294214989,
  0.030381944138531247,
  0.04464285714635543,
  0.07499999999998433,
  0.16666666666666669,
];

export function atan64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a < TWO_M27) return x;
  let r: number;
  if (a >= TWO_P66) {
    r = PIO2_HI;
  } else {
    let id: number;
    let t: number;
    if (a < 0.4375) {
      id = -1;
      t = a;
    } else if (a < 0.6875) {
      id = 0;
      t = (2 * a - 1) / (2 + a);
    } else if (a < 1.1875) {
      id = 1;
      t = (a - 1) / (a + 1);
    } else if (a < 2.4375) {
      id = 2;
      t = (a - 1.5) / (1 + 1.5 * a);
    } else {
      id = 3;
      t = -1 / a;
    }
    const z = t * t;
    const p = t * z * horner(ATAN_P, z);
    r = id < 0 ? t + p : ATAN_HI[id] + (t + (p + ATAN_LO[id]));
  }
  return x < 0 ? -r : r;
}

// 2*asin(sqrt(w)) for 0 <= w <= 1/4.
function twoAsinSqrt(w: number): number {
  const s = Math.sqrt(w);
  return 2 * (s + s * w * horner(ASIN_P, w));
}

export function asin64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a > 1) return NaN;
  if (a < TWO_M27) return x;
  let r: number;
  if (a <= 0.5) {
    const z = a * a;
    r = a + a * z * horner(ASIN_P, z);
  } else {
    r = PIO2_HI - (twoAsinSqrt((1 - a) * 0.5) - PIO2_LO);
  }
  return x < 0 ? -r : r;
}

export function acos64(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  if (a > 1) return NaN;
  if (a <= 0.5) {
    const z = x * x;
    return PIO2_HI - (x + (x * z * horner(ASIN_P, z) - PIO2_LO));
  }
  if (x > 0) return twoAsinSqrt((1 - x) * 0.5);
  return PI_HI - (twoAsinSqrt((1 + x) * 0.5) - PI_LO);
}

export function atanf(x: number): number {
  return Math.fround(atan64(x));
}
export function asinf(x: number): number {
  return Math.fround(asin64(x));
}
export function acosf(x: number): number {
  return Math.fround(acos64(x));
}
