// Deterministic, cross-engine bit-exact transcendental functions.
// See docs/transcendentals.md for algorithms and measured accuracy.
//
// Conventions: `xxx64(x)` computes in float64 (deterministic sequence of IEEE
// double ops, a few ulp of double accurate) so kernels can compose and round
// once; `xxxf(x)` takes a float32-valued number and returns
// Math.fround(xxx64(x)).

export { exp64, expm1_64, expf, expm1f, expDD } from './exp.js';
export { log64, log1p64, logf, log1pf } from './log.js';
export { pow64, powf } from './pow.js';
export { sin64, cos64, tan64, sinf, cosf, tanf } from './trig.js';
export { atan64, asin64, acos64, atanf, asinf, acosf } from './invtrig.js';
export {
  tanh64,
  sinh64,
  cosh64,
  asinh64,
  acosh64,
  atanh64,
  tanhf,
  sinhf,
  coshf,
  asinhf,
  acoshf,
  atanhf,
} from './hyperbolic.js';
export { erf64, erff } from './erf.js';
export { sigmoid64, softplus64, sigmoidf, softplusf } from './activation.js';
export { roundHalfEven, sqrtf } from './round.js';
