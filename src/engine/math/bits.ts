// Bit-level helpers shared by the deterministic math kernels.
//
// Everything here is exact: reinterpretation through a shared Float64Array,
// integer ops, and multiplications by powers of two that cannot round except
// for the single, final rounding documented in `scalbn`.

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
// Index of the high (sign/exponent) word of a double in U32, host-endianness aware.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

// High 32 bits of the IEEE-754 binary64 encoding of x (unsigned).
export function highWord(x: number): number {
  F64[0] = x;
  return U32[HI];
}

// Low 32 bits of the IEEE-754 binary64 encoding of x (unsigned).
export function lowWord(x: number): number {
  F64[0] = x;
  return U32[LO];
}

// The double whose encoding is (hi << 32) | lo.
export function fromWords(hi: number, lo: number): number {
  U32[HI] = hi >>> 0;
  U32[LO] = lo >>> 0;
  return F64[0];
}

// 2^n exactly, for integer -1022 <= n <= 1023.
export function pow2(n: number): number {
  return fromWords((n + 1023) << 20, 0);
}

const TWO_P1023 = pow2(1023);
const TWO_M969 = pow2(-969); // 2^-1022 * 2^53

// x * 2^n for integer n. Intermediate scalings keep the value normal, so the
// only rounding is the last multiplication (which rounds only when the result
// is subnormal or overflows). Same scheme as C's scalbn.
export function scalbn(x: number, n: number): number {
  if (n > 1023) {
    x *= TWO_P1023;
    n -= 1023;
    if (n > 1023) {
      x *= TWO_P1023;
      n -= 1023;
      if (n > 1023) n = 1023;
    }
  } else if (n < -1022) {
    x *= TWO_M969;
    n += 969;
    if (n < -1022) {
      x *= TWO_M969;
      n += 969;
      if (n < -1022) n = -1022;
    }
  }
  return x * pow2(n);
}

// Horner evaluation: c[0]*t^(n-1) + ... + c[n-1], evaluated as
// (((c[0]*t + c[1])*t + c[2])*t + ...), i.e. highest-degree coefficient first.
// Each step is one double multiply then one double add, each rounded.
export function horner(c: readonly number[], t: number): number {
  let p = c[0];
  for (let i = 1; i < c.length; i++) p = p * t + c[i];
  return p;
}

// Dekker/Veltkamp exact product without FMA: returns the rounding error of
// a*b, i.e. a*b - fl(a*b) exactly (valid when |a|,|b| < 2^995 and no underflow).
const SPLIT = 134217729; // 2^27 + 1
export function twoProdErr(a: number, b: number, p: number): number {
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

// Knuth TwoSum: exact rounding error of s = fl(a + b), i.e. (a + b) - s.
export function twoSumErr(a: number, b: number, s: number): number {
  const bb = s - a;
  return (a - (s - bb)) + (b - bb);
}
