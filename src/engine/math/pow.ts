// Deterministic pow (float64 internals, float32 entry point).
//
// Special cases follow C99 Annex F / IEEE 754 pow (see pow64 below).
// General case, x != 0 finite, y finite:
//   1. log|x| as a double-double H + L:
//        |x| = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt(2))        (log.ts decompose)
//        s = f/(2 + f) as sh + sl: d = 2 + f, dl = f - (d - 2) (exact),
//          sh = f/d, sl = ((f - p) - pe - sh*dl)/d with p + pe = sh*d exactly
//        T = sh*z*P(z), z = sh*sh, P = the log polynomial of log.ts (2/3 ... 2/21)
//        log|x| = k*LN2_HI + 2sh + (err + (T + (2sl + k*LN2_LO)))
//        where 2sh + k*LN2_HI is summed with TwoSum (err = its rounding error),
//        then renormalised: H = hi + lo, L = lo - (H - hi).
//   2. y*(H + L) as ph + pl: ph = y*H, pl = twoProdErr(y, H) + y*L.
//   3. |result| = expDD(ph, pl) (exp.ts), negated for x < 0 and odd integer y.
// |y| >= 2^64 is decided directly (certain overflow/underflow since |log x| >= 2^-53).
// Relative error of pow64 is a few ulp (double); powf rounds once with Math.fround.
//
// Exact cases, checked before step 1, so that results which are exactly
// representable, or exactly halfway between two floats, round correctly
// (e.g. powf(4097, 2) must round the tie 16785409 to even). Write
// |x| = m * 2^e with m an odd integer of b bits:
//   (a) b = 1 (|x| a power of two) and e*y an exact integer t:  2^t via scalbn.
//   (b) y a positive integer with y*b <= 53: binary powering by repeated
//       multiplication (every partial product has <= 53 bits, so it is exact;
//       e.g. pow64(x, 2) === x*x for every float32 x).
//   (c) y*64 an integer but y not: while y is not an integer and sqrt(|x|) is
//       exact (s*s == |x| with zero Dekker error), replace |x| by s and y by 2y
//       (at most 6 times); then try (b). Catches e.g. 66049^1.5 = 257^3.

import { highWord, horner, lowWord, pow2, scalbn, twoProdErr, twoSumErr } from './bits.js';
import { expDD, LN2_HI, LN2_LO } from './exp.js';
import { decompose, decomposedF, decomposedK, LOG_P } from './log.js';

const TWO_P53 = pow2(53);
const TWO_P64 = pow2(64);
const TWO_P54 = pow2(54);

// True when y (finite) is an integer.
function isInt(y: number): boolean {
  return Math.floor(y) === y;
}

// True when y (finite) is an odd integer.
function isOddInt(y: number): boolean {
  if (!(Math.abs(y) < TWO_P53)) return false; // all such doubles are even integers
  const h = y * 0.5; // exact
  return isInt(y) && !isInt(h);
}

// For a > 0 finite: a = m * 2^oddExp with m odd; returns the bit length of m.
let oddExp = 0;
function oddBits(a: number): number {
  let hx = highWord(a);
  let shift = 0;
  if (hx < 0x00100000) {
    a *= TWO_P54;
    shift = 54;
    hx = highWord(a);
  }
  const lx = lowWord(a);
  const hm = (hx & 0xfffff) | 0x100000; // top 21 bits of the 53-bit significand
  const e = (hx >>> 20) - 1075 - shift; // a = (hm * 2^32 + lx) * 2^e
  let b: number;
  if (lx === 0) {
    const tz = 31 - Math.clz32(hm & -hm);
    b = 21 - tz;
    oddExp = e + 32 + tz;
  } else {
    const tz = 31 - Math.clz32(lx & -lx);
    b = 53 - tz;
    oddExp = e + tz;
  }
  return b;
}

// a^n for a positive integer n by binary powering (exact when the result has <= 53 bits).
function intPow(a: number, n: number): number {
  let p = 1;
  for (;;) {
    if (n & 1) p *= a;
    n >>>= 1;
    if (n === 0) return p;
    a *= a;
  }
}

// Exact cases (a)-(c) for a = |x| > 0 finite, y finite nonzero; NaN when none applies.
function exactPow(a: number, y: number): number {
  let b = oddBits(a);
  if (b === 1) {
    const t = oddExp * y;
    if (twoProdErr(oddExp, y, t) === 0 && isInt(t)) return scalbn(1, t);
  }
  if (y > 0 && !isInt(y) && isInt(y * 64)) {
    for (let i = 0; i < 6 && !isInt(y); i++) {
      const s = Math.sqrt(a);
      const ss = s * s;
      if (ss !== a || twoProdErr(s, s, ss) !== 0) break;
      a = s;
      y = 2 * y;
    }
    b = oddBits(a);
  }
  if (y > 0 && isInt(y) && y * b <= 53) return intPow(a, y);
  return NaN;
}

// log(a) for a > 0 finite as a double-double; writes the low part to logLo.
let logLo = 0;
function logDD(a: number): number {
  decompose(a);
  const k = decomposedK();
  const f = decomposedF();
  const d = 2 + f;
  const dl = f - (d - 2);
  const sh = f / d;
  const p = sh * d;
  const pe = twoProdErr(sh, d, p);
  const sl = ((f - p) - pe - sh * dl) / d;
  const z = sh * sh;
  const T = sh * z * horner(LOG_P, z);
  const A = k * LN2_HI;
  const B = 2 * sh;
  const hi = A + B;
  const lo = twoSumErr(A, B, hi) + (T + (2 * sl + k * LN2_LO));
  const H = hi + lo;
  logLo = lo - (H - hi);
  return H;
}

// x^y in float64 with C99 special cases:
//   pow(x, ±0) = 1 (any x, even NaN); pow(1, y) = 1 (any y, even NaN)
//   NaN otherwise propagates; pow(-1, ±Inf) = 1
//   y = ±Inf: |x| < 1 -> +0 / +Inf, |x| > 1 -> +Inf / +0 (for +Inf / -Inf)
//   x = ±0: y odd int < 0 -> ±Inf, other y < 0 -> +Inf, y odd int > 0 -> ±0, other y > 0 -> +0
//   x = -Inf: y odd int -> -Inf (y > 0) / -0 (y < 0); other y -> +Inf / +0
//   x = +Inf: y > 0 -> +Inf, y < 0 -> +0
//   x < 0 finite, y finite non-integer -> NaN; y integer -> sign from parity of y
export function pow64(x: number, y: number): number {
  if (y === 0) return 1;
  if (x === 1) return 1;
  if (x !== x || y !== y) return NaN;
  const ax = Math.abs(x);
  if (y === Infinity || y === -Infinity) {
    if (ax === 1) return 1;
    return (ax > 1) === (y > 0) ? Infinity : 0;
  }
  // y finite, nonzero
  const odd = isOddInt(y);
  if (x === 0) {
    if (y < 0) return odd ? 1 / x : Infinity;
    return odd ? x : 0;
  }
  if (ax === Infinity) {
    if (x > 0) return y > 0 ? Infinity : 0;
    if (y > 0) return odd ? -Infinity : Infinity;
    return odd ? -0 : 0;
  }
  let neg = false;
  if (x < 0) {
    if (!isInt(y)) return NaN;
    neg = odd;
  }
  let r = exactPow(ax, y);
  if (r === r) {
    // exact case
  } else if (!(Math.abs(y) < TWO_P64)) {
    r = (ax > 1) === (y > 0) ? Infinity : 0;
  } else {
    const H = logDD(ax);
    const L = logLo;
    const ph = y * H;
    const pl = twoProdErr(y, H, ph) + y * L;
    r = expDD(ph, pl);
  }
  return neg ? -r : r;
}

export function powf(x: number, y: number): number {
  return Math.fround(pow64(x, y));
}
