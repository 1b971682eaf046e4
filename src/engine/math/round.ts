// Exact helpers: ONNX Round (round half to even) and float32 sqrt.

import { pow2 } from './bits.js';

const TWO_P52 = pow2(52);

// Round to nearest integer, ties to even (IEEE roundTiesToEven / C roundeven).
// Exact: floor and the difference x - floor(x) are exact in binary64.
// NaN, ±Inf, ±0 and |x| >= 2^52 (already integers) are returned unchanged;
// results that are zero keep the sign of x (roundHalfEven(-0.4) = -0).
export function roundHalfEven(x: number): number {
  if (!(Math.abs(x) < TWO_P52)) return x; // NaN, ±Inf, large integers
  const f = Math.floor(x);
  const d = x - f; // exact, in [0, 1)
  let r: number;
  if (d > 0.5) r = f + 1;
  else if (d < 0.5) r = f;
  else r = f * 0.5 === Math.floor(f * 0.5) ? f : f + 1;
  if (r === 0) return x < 0 ? -0 : x * 0; // x * 0 keeps the sign of ±0
  return r;
}

// float32 sqrt: double sqrt is correctly rounded, and rounding it to float32
// is correctly rounded too (53 >= 2*24 + 2), so this is exact IEEE sqrtf.
export function sqrtf(x: number): number {
  return Math.fround(Math.sqrt(x));
}
