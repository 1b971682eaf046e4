// Deterministic sin / cos / tan (float64 internals, float32 entry points).
//
// Canonical algorithm:
//   1. Range reduction of a = |x| to y + yl (double-double, |y| <= ~pi/4) and
//      quadrant n = k mod 4, where x = k*pi/2 + y:
//      a <= pi/4:       y = a, yl = 0, n = 0.
//      a < 2^19:        Cody-Waite, k = floor(a*INV_PIO2 + 0.5), pi/2 = P1 + P2 + P3
//                       (P1, P2 have 33 significant bits so k*P1, k*P2 are exact):
//                       r1 = a - k*P1 (exact), h = r1 - k*P2 with TwoSum error e,
//                       l = e - k*P3, y = h + l, yl = l - (y - h).
//      a >= 2^19:       Payne-Hanek with exact BigInt arithmetic: a = M*2^E
//                       (M < 2^53 integer), P = M * floor(2/pi * 2^1280); the two
//                       bits above the binary point of P*2^(E-1280) give the
//                       quadrant, the next 192 bits the fraction g in [0,1);
//                       g >= 1/2 is mapped to g - 1 (quadrant + 1). g is turned
//                       into a double-double by two correctly rounded Number()
//                       conversions, then multiplied by pi/2 = PIO2_HI + PIO2_LO
//                       with an exact (Dekker) product.
//   2. Kernels on |y| <= pi/4 (Taylor coefficients rounded to double, Horner):
//      sin(y+yl) = y + (y*z*S(z) + yl*(1 - 0.5*z)),  z = y*y,
//                  S(z) = -1/3! + z/5! - ... - z^8/19!       (truncation < 1e-19)
//      cos(y+yl) = w + (((1 - w) - hz) + (z*z*C(z) - y*yl)),  hz = 0.5*z, w = 1 - hz,
//                  C(z) = 1/4! - z/6! + ... - z^7/18!       (truncation < 1e-20)
//      tan = sin/cos (n even) or -cos/sin (n odd) of the kernels.
//   3. Quadrant selection and sign of x; float32 entry points round once.
// Tiny inputs (|x| < 2^-27) return x for sin/tan and 1 for cos.

import { highWord, horner, lowWord, pow2, twoProdErr, twoSumErr } from './bits.js';

const PIO4 = 0.7853981633974483;
const INV_PIO2 = 0.6366197723675814;
const P1 = 1.5707963267341256; // pi/2 to 33 bits
const P2 = 6.077100506303966e-11; // next 33 bits
const P3 = 2.0222662487959506e-21; // remainder, rounded
export const PIO2_HI = 1.5707963267948966;
export const PIO2_LO = 6.123233995736766e-17;
const TWO_M27 = pow2(-27);
const TWO_M192 = pow2(-192);
const CW_LIMIT = pow2(19);

// floor(2/pi * 2^1280)
const TWO_OVER_PI = BigInt(
  '0x' +
    'a2f9836e4e441529fc2757d1f534ddc0db6295993c439041fe5163abdebbc561' +
    'b7246e3a424dd2e006492eea09d1921cfe1deb1cb129a73ee88235f52ebb4484' +
    'e99c7026b45f7e413991d639835339f49c845f8bbdf9283b1ff897ffde05980f' +
    'ef2f118b5a0a6d1f6d367ecf27cb09b74f463f669e5fea2d7527bac7ebe5f17b' +
    '3d0739f78a5292ea6bfb5fb11f8d5d0856033046fc7b6babf0cfbc209af4361d',
);
const B192 = BigInt(192);
const MASK192 = (BigInt(1) << B192) - BigInt(1);
const HALF192 = BigInt(1) << BigInt(191);
const THREE = BigInt(3);

// (-1)^n / (2n+1)! for n = 9 .. 1
const SIN_S = [
  -8.22063524662433e-18,
  2.8114572543455206e-15,
  -7.647163731819816e-13,
  1.6059043836821613e-10,
  -2.505210838544172e-8,
  2.7557319223985893e-6,
  -0.0001984126984126984,
  0.008333333333333333,
  -0.16666666666666666,
];
// (-1)^n / (2n)! for n = 9 .. 2
const COS_C = [
  -1.5619206968586225e-16,
  4.779477332387385e-14,
  -1.1470745597729725e-11,
  2.08767569878681e-9,
  -2.755731922398589e-7,
  2.48015873015873e-5,
  -0.001388888888888889,
  0.041666666666666664,
];

// Reduced argument (module scratch written by reduce()).
let redY = 0;
let redYL = 0;

// Payne-Hanek for a >= 2^19 (finite). Returns the quadrant.
function reduceLarge(a: number): number {
  const hx = highWord(a);
  const e = (hx >>> 20) - 1075; // a = M * 2^e
  const M = (BigInt((hx & 0xfffff) | 0x100000) << BigInt(32)) | BigInt(lowWord(a));
  const P = M * TWO_OVER_PI; // a*2/pi = P * 2^(e - 1280)
  const sh = BigInt(1280 - e); // >= 309
  let q = Number((P >> sh) & THREE);
  let g = (P >> (sh - B192)) & MASK192; // fraction * 2^192
  let neg = false;
  if (g >= HALF192) {
    g = (MASK192 + BigInt(1)) - g;
    neg = true;
    q = (q + 1) & 3;
  }
  const gh = Number(g);
  const gl = Number(g - BigInt(gh));
  let rh = gh * TWO_M192;
  let rl = gl * TWO_M192;
  if (neg) {
    rh = -rh;
    rl = -rl;
  }
  const p = rh * PIO2_HI;
  const pe = twoProdErr(rh, PIO2_HI, p) + (rh * PIO2_LO + rl * PIO2_HI);
  redY = p + pe;
  redYL = pe - (redY - p);
  return q;
}

// a = |x| finite. Returns quadrant n in 0..3, sets redY/redYL.
function reduce(a: number): number {
  if (a <= PIO4) {
    redY = a;
    redYL = 0;
    return 0;
  }
  if (a < CW_LIMIT) {
    const k = Math.floor(a * INV_PIO2 + 0.5);
    const r1 = a - k * P1;
    const t = -(k * P2);
    const h = r1 + t;
    const l = twoSumErr(r1, t, h) - k * P3;
    redY = h + l;
    redYL = l - (redY - h);
    return k & 3;
  }
  return reduceLarge(a);
}

function sinKernel(y: number, yl: number): number {
  const z = y * y;
  return y + (y * z * horner(SIN_S, z) + yl * (1 - 0.5 * z));
}

function cosKernel(y: number, yl: number): number {
  const z = y * y;
  const hz = 0.5 * z;
  const w = 1 - hz;
  return w + (((1 - w) - hz) + (z * z * horner(COS_C, z) - y * yl));
}

export function sin64(x: number): number {
  if (x !== x || x === Infinity || x === -Infinity) return NaN;
  const a = Math.abs(x);
  if (a < TWO_M27) return x;
  const n = reduce(a);
  let r = n & 1 ? cosKernel(redY, redYL) : sinKernel(redY, redYL);
  if (n & 2) r = -r;
  return x < 0 ? -r : r;
}

export function cos64(x: number): number {
  if (x !== x || x === Infinity || x === -Infinity) return NaN;
  const a = Math.abs(x);
  if (a < TWO_M27) return 1;
  const n = reduce(a);
  let r = n & 1 ? sinKernel(redY, redYL) : cosKernel(redY, redYL);
  if ((n + 1) & 2) r = -r;
  return r;
}

export function tan64(x: number): number {
  if (x !== x || x === Infinity || x === -Infinity) return NaN;
  const a = Math.abs(x);
  if (a < TWO_M27) return x;
  const n = reduce(a);
  const s = sinKernel(redY, redYL);
  const c = cosKernel(redY, redYL);
  const r = n & 1 ? -c / s : s / c;
  return x < 0 ? -r : r;
}

export function sinf(x: number): number {
  return Math.fround(sin64(x));
}
export function cosf(x: number): number {
  return Math.fround(cos64(x));
}
export function tanf(x: number): number {
  return Math.fround(tan64(x));
}
