// Deterministic sigmoid / softplus built on exp64 and log1p64.
//
// sigmoid64(x): x >= 0: 1 / (1 + exp64(-x));  x < 0: e = exp64(x), e / (1 + e).
//   (never overflows; sigmoid(-Inf) = 0, sigmoid(+Inf) = 1, NaN -> NaN)
// softplus64(x) = log(1 + e^x): x > 0: x + log1p64(exp64(-x)); else log1p64(exp64(x)).
//   (softplus(+Inf) = +Inf, softplus(-Inf) = 0)
// Float32 entry points round the float64 value once.

import { exp64 } from './exp.js';
import { log1p64 } from './log.js';

export function sigmoid64(x: number): number {
  if (x >= 0) return 1 / (1 + exp64(-x));
  const e = exp64(x);
  return e / (1 + e);
}

export function softplus64(x: number): number {
  if (x > 0) return x + log1p64(exp64(-x));
  return log1p64(exp64(x));
}

export function sigmoidf(x: number): number {
  return Math.fround(sigmoid64(x));
}

export function softplusf(x: number): number {
  return Math.fround(softplus64(x));
}
