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

/**
 * A number -> binary16 bits, round-to-nearest-even. The value is first rounded
 * to float32 (as ONNX's Cast from float32 does); double rounding through
 * float32 is what every runtime that stores float32 does.
 */
export function numberToFloat16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // rounds to zero (below half the smallest subnormal)
    man |= 0x800000;
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = man & ((1 << shift) - 1);
    let r = man >>> shift;
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = (e << 10) | (man >>> 13);
  const rest = man & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r++; // may carry into the exponent: correct
  return sign | r;
}
