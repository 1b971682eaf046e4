/**
 * IEEE-754 binary16 <-> binary32/64 conversions, exact and round-to-nearest-even,
 * using only integer operations and exact float operations.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits -> the exact number it represents. */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0) return sign * man * 5.960464477539063e-8; // man * 2^-24, exact
  if (exp === 31) return man ? NaN : sign * Infinity;
  // (1024 + man) * 2^(exp-25): product of an integer and a power of two, exact.
  return sign * (1024 + man) * POW2[exp]!;
}
const POW2: number[] = [];
for (let e = 0; e < 32; e++) {
  let p = 1;
  const k = e - 25;
  for (let i = 0; i < Math.abs(k); i++) p = k < 0 ? p / 2 : p * 2;
  POW2.push(p);
}

const f64 = new Float64Array(1);
const u64hi = new Uint32Array(f64.buffer, 4, 1);

/** 2^k for integer k in [-40, 40], exact. */
function pow2(k: number): number {
  let p = 1;
  for (let i = 0; i < Math.abs(k); i++) p = k < 0 ? p / 2 : p * 2;
  return p;
}

/** Round-half-even of a non-negative double to an integer (exact: v - floor(v) is exact). */
function roundHalfEvenNonNeg(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/**
 * A number (any double) -> binary16 bits, correctly rounded (round-to-nearest-even)
 * in one step from the exact value, as numpy's astype(float16) does. Scaling by a
 * power of two is exact, so the only rounding is roundHalfEvenNonNeg. NaN -> 0x7e00
 * with the source's sign bit.
 */
export function numberToFloat16(x: number): number {
  f64[0] = x;
  const hi = u64hi[0]!;
  const sign = (hi >>> 16) & 0x8000;
  if (x !== x) return sign | 0x7e00;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 is halfway between 65504 and 2^16: ties to even -> Inf
  if (a < 6.103515625e-5) return sign | roundHalfEvenNonNeg(a * 16777216); // subnormal, in units of 2^-24
  const e = ((hi >>> 20) & 0x7ff) - 1023; // -14..15
  const m = roundHalfEvenNonNeg(a * pow2(10 - e)); // in [1024, 2048]; 2048 carries into the exponent
  return sign | (((e + 15) << 10) + (m - 1024));
}
