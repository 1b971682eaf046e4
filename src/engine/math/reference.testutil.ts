// Test-only helpers: float32 bit utilities, ulp measurement, float64 references.
// (Not part of the library; the source scan skips files whose name contains ".test".)

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const F64 = new Float64Array(1);
const U64 = new Uint32Array(F64.buffer);

export function f32FromBits(b: number): number {
  U32[0] = b >>> 0;
  return F32[0];
}

export function bitsOfF32(x: number): number {
  F32[0] = x;
  return U32[0];
}

export function hex32(x: number): string {
  if (x !== x) return 'nan';
  return bitsOfF32(x).toString(16).padStart(8, '0');
}

// Size of one float32 ulp at the magnitude of v (v a finite double).
export function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  F64[0] = a;
  const e = ((U64[1] >>> 20) & 0x7ff) - 1023;
  return 2 ** (e - 23);
}

const F32_OVERFLOW = 2 ** 128 * (1 - 2 ** -25); // reals >= this round to Infinity in float32

// Error of the float32 result `got` against float64 reference `ref`, in float32 ulps.
export function ulpErr(got: number, ref: number): number {
  if (ref !== ref) return got !== got ? 0 : Infinity;
  if (got !== got) return Infinity;
  if (Math.abs(ref) >= F32_OVERFLOW) return got === (ref > 0 ? Infinity : -Infinity) ? 0 : Infinity;
  if (got === Infinity || got === -Infinity) return ref === got ? 0 : Infinity;
  return Math.abs(got - ref) / ulp32(ref);
}

// n float32 values evenly spaced in bit-pattern space between lo and hi (same sign).
export function f32Sweep(lo: number, hi: number, n: number): number[] {
  const a = bitsOfF32(lo);
  const b = bitsOfF32(hi);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f32FromBits(Math.round(a + ((b - a) * i) / (n - 1))));
  return out;
}

export interface Measure {
  n: number;
  maxUlp: number;
  worstX: number[];
  notCorrectlyRounded: number;
}

export function measure(
  inputs: number[][],
  ours: (...a: number[]) => number,
  ref: (...a: number[]) => number,
): Measure {
  let maxUlp = 0;
  let worstX: number[] = [];
  let ncr = 0;
  for (const args of inputs) {
    const g = ours(...args);
    const r = ref(...args);
    const e = ulpErr(g, r);
    if (e > maxUlp) {
      maxUlp = e;
      worstX = args;
    }
    const cr = Math.fround(r);
    if (!(Object.is(g, cr) || (g !== g && cr !== cr))) ncr++;
  }
  return { n: inputs.length, maxUlp, worstX, notCorrectlyRounded: ncr };
}

// erf reference: erf(a) = 2/sqrt(pi) * exp(-a^2) * sum_n a^(2n+1) 2^n / (2n+1)!!
// (all terms positive, no cancellation; a*a is exact for float32 a).
export function erfRef(x: number): number {
  if (x !== x) return x;
  const a = Math.abs(x);
  let r: number;
  if (a >= 6.5) r = 1;
  else {
    const a2 = 2 * a * a;
    let t = a;
    let s = a;
    for (let n = 1; t > s * 1e-18; n++) {
      t = (t * a2) / (2 * n + 1);
      s += t;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * s;
  }
  return x < 0 ? -r : Object.is(x, -0) ? -0 : r;
}

// C99 pow on top of Math.pow (JS differs for 1^NaN, 1^±Inf, (-1)^±Inf).
export function powRef(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

export function sigmoidRef(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function softplusRef(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

// Deterministic PRNG (mulberry32) for pow pairs.
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
