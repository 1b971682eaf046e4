// Unary elementwise ops and activations.
//
// Canonical arithmetic for this family (see ./README.md):
//
// - float32 tensors: a *transcendental primitive* (exp, expm1, log, tanh, erf,
//   sigmoid, softplus, sin, ..., or a documented float64 composition such as
//   the normal CDF of Gelu) is evaluated in float64 by `../math` on the exact
//   float32 input and rounded ONCE to float32. Everything around it (multiply
//   by alpha, add beta, ...) is plain float32 arithmetic: every multiply / add /
//   divide is rounded to float32 (`f` = Math.fround) before it is used again.
//   The final rounding is the store into the Float32Array output.
//   Sqrt and Reciprocal are the correctly rounded float32 results (double sqrt /
//   division rounded to float32 is exact-rounding since 53 >= 2*24 + 2).
// - float64 tensors: the same step sequence in plain doubles (no `f`).
// - Float attributes (alpha, beta, ...) are float32 in ONNX; the float32 path
//   uses f(attr), the float64 path the same value as a double.
// - Comparisons / selections (Relu, Clip, HardSigmoid's clamp ...) are exact.
//   NaN propagates through Relu, LeakyRelu, Elu, Selu, Celu, Clip, HardSigmoid,
//   HardSwish, Sign, Abs, Neg, Floor, Ceil, Round; ThresholdedRelu(NaN) = 0 and
//   Shrink(NaN) = 0 (the ONNX reference `np.where(x > alpha, x, 0)` semantics).
// - Signed zero: Relu(-0) = +0 (ONNX reference np.maximum(x, 0) returns its
//   second operand when neither is greater); Sign(-0) = +0 (np.sign);
//   Abs(-0) = +0; Neg(±0) = ∓0; Clip keeps -0 unless a bound replaces it
//   (std::min(std::max(x, lo), hi) / np.clip semantics: `x < lo ? lo : x`, then
//   `t > hi ? hi : t`, so min > max gives max everywhere, as ONNX specifies).
// - Integer tensors wrap: Abs(int8 -128) = -128, Neg(int32 -2^31) = -2^31
//   (typed-array stores wrap; int64 via BigInt64Array stores = BigInt.asIntN(64)).
// - float16: Neg / Abs / Relu are exact sign-bit operations on the raw bits and
//   are supported; every other op throws UNSUPPORTED_FEATURE for float16.

import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import {
  acos64,
  acosh64,
  asin64,
  asinh64,
  atan64,
  atanh64,
  cos64,
  cosh64,
  erf64,
  exp64,
  expm1_64,
  log64,
  roundHalfEven,
  sigmoid64,
  sin64,
  sinh64,
  softplus64,
  tan64,
  tanh64,
} from '../math/index.js';
import { need } from './util.js';
import { reluF32Wasm } from '../wasm/elementwise.js';
import { geluF32Wasm, unaryF32Wasm, type UnaryOpF32 } from '../wasm/math.js';

const f = Math.fround;

type F32 = Float32Array;
type F64 = Float64Array;
type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
type BigArray = BigInt64Array | BigUint64Array;

/** Largest finite float32 (default bounds of Clip before opset 11). */
const FLT_MAX = 3.4028234663852886e38;

function badType(ctx: KernelContext, x: Tensor, allowed: string): Error {
  return ctx.error(`input of type ${dtypeName(x.dtype)} is not allowed (expected ${allowed})`, { dtype: dtypeName(x.dtype) });
}

function float16Unsupported(ctx: KernelContext): Error {
  return ctx.unsupported(`${ctx.node.opType} on float16 is not supported (float16 is load/convert only)`, { dtype: 'float16' });
}

/**
 * The float32/float64 dispatcher shared by the float-only ops: validates the
 * dtype, allocates the output and runs the loop matching the dtype.
 */
function mapFloat(
  inputs: (Tensor | undefined)[],
  ctx: KernelContext,
  loop32: (x: F32, y: F32) => void,
  loop64: (x: F64, y: F64) => void,
): Tensor[] {
  const x = need(inputs, 0, ctx);
  if (x.dtype === DType.float32) {
    const y = ctx.alloc(DType.float32, x.shape);
    loop32(x.data as F32, y.data as F32);
    return [y];
  }
  if (x.dtype === DType.float64) {
    const y = ctx.alloc(DType.float64, x.shape);
    loop64(x.data as F64, y.data as F64);
    return [y];
  }
  if (x.dtype === DType.float16) throw float16Unsupported(ctx);
  throw badType(ctx, x, 'float32 or float64');
}

// ---------------------------------------------------------------------------
// Sign-ish ops with integer support: Neg, Abs, Relu, Sign

const isUnsigned = (d: DType): boolean => d === DType.uint8 || d === DType.uint16 || d === DType.uint32 || d === DType.uint64;

// Neg: y = -x. Floats: exact sign flip (Neg(0) = -0). Signed ints wrap.
const Neg: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const k = dtypeKind(x.dtype);
  if (k === 'bool' || isUnsigned(x.dtype)) throw badType(ctx, x, 'a signed numeric type');
  const y = ctx.alloc(x.dtype, x.shape);
  const n = x.size;
  if (x.dtype === DType.float32) {
    const a = x.data as F32, b = y.data as F32;
    for (let i = 0; i < n; i++) b[i] = -a[i]!;
  } else if (x.dtype === DType.float64) {
    const a = x.data as F64, b = y.data as F64;
    for (let i = 0; i < n; i++) b[i] = -a[i]!;
  } else if (x.dtype === DType.float16) {
    const a = x.data as Uint16Array, b = y.data as Uint16Array;
    for (let i = 0; i < n; i++) b[i] = a[i]! ^ 0x8000;
  } else if (k === 'bigint') {
    const a = x.data as BigArray, b = y.data as BigArray;
    for (let i = 0; i < n; i++) b[i] = -a[i]!; // store wraps: -(-2^63) = -2^63
  } else {
    const a = x.data as IntArray, b = y.data as IntArray;
    for (let i = 0; i < n; i++) b[i] = -a[i]!; // store wraps: -(-128) = -128 for int8
  }
  return [y];
};

// Abs: y = |x|. Floats: Math.abs (exact, Abs(-0) = +0, NaN stays NaN).
// Signed ints wrap (|int8 -128| = -128); unsigned ints are copied.
const Abs: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const k = dtypeKind(x.dtype);
  if (k === 'bool') throw badType(ctx, x, 'a numeric type');
  const y = ctx.alloc(x.dtype, x.shape);
  const n = x.size;
  if (x.dtype === DType.float32) {
    const a = x.data as F32, b = y.data as F32;
    for (let i = 0; i < n; i++) b[i] = Math.abs(a[i]!);
  } else if (x.dtype === DType.float64) {
    const a = x.data as F64, b = y.data as F64;
    for (let i = 0; i < n; i++) b[i] = Math.abs(a[i]!);
  } else if (x.dtype === DType.float16) {
    const a = x.data as Uint16Array, b = y.data as Uint16Array;
    for (let i = 0; i < n; i++) b[i] = a[i]! & 0x7fff;
  } else if (isUnsigned(x.dtype)) {
    y.data.set(x.data as never);
  } else if (k === 'bigint') {
    const a = x.data as BigInt64Array, b = y.data as BigInt64Array;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v < 0n ? -v : v; // store wraps: |-2^63| = -2^63
    }
  } else {
    const a = x.data as IntArray, b = y.data as IntArray;
    for (let i = 0; i < n; i++) b[i] = Math.abs(a[i]!); // store wraps
  }
  return [y];
};

// Relu: y = x > 0 ? x : (x is NaN ? x : +0). Relu(-0) = +0 (np.maximum(x, 0)).
// Signed integer types (opset 14+) use the same rule.
// float32 tensors of RELU_WASM_MIN elements or more run the WebAssembly SIMD kernel
// (../wasm/elementwise.wat: compares and bit masks), which stores the same bits as
// reluF32Js, NaNs included; reluF32Js is the reference and the fallback.

/** Below this many elements the JS loop is used (copying into wasm memory costs more). */
const RELU_WASM_MIN = 256;

/** The reference float32 Relu: b[i] = a[i] > 0 || isNaN(a[i]) ? a[i] : +0, i < a.length. */
export function reluF32Js(a: F32, b: F32): void {
  const n = a.length;
  for (let i = 0; i < n; i++) {
    const v = a[i]!;
    b[i] = v > 0 || v !== v ? v : 0;
  }
}

const Relu: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const k = dtypeKind(x.dtype);
  if (k === 'bool' || isUnsigned(x.dtype)) throw badType(ctx, x, 'float or a signed integer type');
  // every loop below reads x[i] once, then writes y[i]: y may be x's dying buffer
  const y = ctx.allocInPlace(x);
  const n = x.size;
  if (x.dtype === DType.float32) {
    const a = (x.data as F32).subarray(0, n), b = y.data as F32;
    if (n < RELU_WASM_MIN || !reluF32Wasm(a, b)) reluF32Js(a, b);
  } else if (x.dtype === DType.float64) {
    const a = x.data as F64, b = y.data as F64;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0 || v !== v ? v : 0;
    }
  } else if (x.dtype === DType.float16) {
    // raw bits: NaN (exponent all ones, mantissa != 0) and sign-clear values pass, negatives and -0 become +0
    const a = x.data as Uint16Array, b = y.data as Uint16Array;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = (v & 0x8000) === 0 || (v & 0x7fff) > 0x7c00 ? v : 0;
    }
  } else if (k === 'bigint') {
    const a = x.data as BigInt64Array, b = y.data as BigInt64Array;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0n ? v : 0n;
    }
  } else {
    const a = x.data as IntArray, b = y.data as IntArray;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0 ? v : 0;
    }
  }
  return [y];
};

// Sign: y = x > 0 ? 1 : x < 0 ? -1 : x === 0 ? +0 : NaN (np.sign: Sign(-0) = +0, Sign(NaN) = NaN).
// All numeric types; unsigned ints give 0 / 1.
const Sign: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const k = dtypeKind(x.dtype);
  if (k === 'bool') throw badType(ctx, x, 'a numeric type');
  if (x.dtype === DType.float16) throw float16Unsupported(ctx);
  const y = ctx.alloc(x.dtype, x.shape);
  const n = x.size;
  if (x.dtype === DType.float32) {
    const a = x.data as F32, b = y.data as F32;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : v;
    }
  } else if (x.dtype === DType.float64) {
    const a = x.data as F64, b = y.data as F64;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : v;
    }
  } else if (k === 'bigint') {
    const a = x.data as BigArray, b = y.data as BigArray;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0n ? 1n : v < 0n ? -1n : 0n; // -1n only reachable for int64
    }
  } else {
    const a = x.data as IntArray, b = y.data as IntArray;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
    }
  }
  return [y];
};

// ---------------------------------------------------------------------------
// Exact float ops

// Sqrt: y = f(sqrt64(x)) (correctly rounded float32 sqrt); sqrt(-x) = NaN, sqrt(-0) = -0.
const Sqrt: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = Math.sqrt(a[i]!);
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = Math.sqrt(a[i]!);
    },
  );

// Reciprocal: y = f(1 / x) (correctly rounded float32 division); 1/±0 = ±Inf.
const Reciprocal: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = 1 / a[i]!;
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = 1 / a[i]!;
    },
  );

// Floor / Ceil: exact (Floor(-0.5) = -0, Ceil(-0.5) = -0).
const Floor: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = Math.floor(a[i]!);
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = Math.floor(a[i]!);
    },
  );

const Ceil: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = Math.ceil(a[i]!);
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = Math.ceil(a[i]!);
    },
  );

// Round: round half to even, exact (Round(-0.5) = -0, Round(2.5) = 2).
const Round: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = roundHalfEven(a[i]!);
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) b[i] = roundHalfEven(a[i]!);
    },
  );

// ---------------------------------------------------------------------------
// Transcendental primitives: y = f(fn64(x)), one rounding.

/** Below this many elements the JS loop is used (copying into wasm memory costs more). */
const UNARY_WASM_MIN = 64;

// With `wasm`, float32 tensors of UNARY_WASM_MIN elements or more run the WebAssembly SIMD
// kernel (../wasm/math.wat: the same float64 algorithm, operation for operation, in f64x2
// lanes), which stores the same bits as the loop below; the loop is the reference and
// the fallback.
function transcendental(fn: (x: number) => number, wasm?: UnaryOpF32): Kernel {
  // Two distinct loop closures per kernel so each stays monomorphic in its array type.
  return (inputs, ctx) =>
    mapFloat(
      inputs,
      ctx,
      (a, b) => {
        if (wasm && a.length >= UNARY_WASM_MIN && unaryF32Wasm(wasm, a, b)) return;
        for (let i = 0; i < a.length; i++) b[i] = fn(a[i]!);
      },
      (a, b) => {
        for (let i = 0; i < a.length; i++) b[i] = fn(a[i]!);
      },
    );
}

// Exp: f(exp64(x)); Log: f(log64(x)); Tanh: f(tanh64(x)); Sigmoid: f(sigmoid64(x));
// Erf: f(erf64(x)); Softplus: f(softplus64(x)) with softplus64 = x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
// trig / hyperbolic / inverse: f(<fn>64(x)).
const Exp = transcendental(exp64, 'exp');
const Log = transcendental(log64);
const Tanh = transcendental(tanh64, 'tanh');
const Sigmoid = transcendental(sigmoid64, 'sigmoid');
const Softplus = transcendental(softplus64);
const Sin = transcendental(sin64);
const Cos = transcendental(cos64);
const Tan = transcendental(tan64);
const Asin = transcendental(asin64);
const Acos = transcendental(acos64);
const Atan = transcendental(atan64);
const Sinh = transcendental(sinh64);
const Cosh = transcendental(cosh64);
const Asinh = transcendental(asinh64);
const Acosh = transcendental(acosh64);
const Atanh = transcendental(atanh64);
const ErfFloat = transcendental(erf64, 'erf');

// Erf: ONNX also allows integer inputs; erf of an integer rounded back to an
// integer depends on where erf reaches 1.0, so integer Erf is not implemented.
const Erf: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  if (dtypeKind(x.dtype) === 'int' || dtypeKind(x.dtype) === 'bigint') {
    throw ctx.unsupported(`Erf on ${dtypeName(x.dtype)} is not supported`, { dtype: dtypeName(x.dtype) });
  }
  return ErfFloat(inputs, ctx);
};

// ---------------------------------------------------------------------------
// Activations with attributes

// LeakyRelu (alpha = 0.01): y = x < 0 ? f(alpha * x) : x.
const LeakyRelu: Kernel = (inputs, ctx) => {
  const alpha = ctx.float('alpha', 0.01);
  return mapFloat(
    inputs,
    ctx,
    (a, b) => {
      const al = f(alpha);
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v < 0 ? al * v : v;
      }
    },
    (a, b) => {
      const al = alpha;
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v < 0 ? al * v : v;
      }
    },
  );
};

// Elu (alpha = 1): y = x < 0 ? f(alpha * f(expm1_64(x))) : x.
// (expm1 instead of exp(x) - 1: same function, no cancellation near 0.)
const Elu: Kernel = (inputs, ctx) => {
  const alpha = ctx.float('alpha', 1.0);
  return mapFloat(
    inputs,
    ctx,
    (a, b) => {
      const al = f(alpha);
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v < 0 ? al * f(expm1_64(v)) : v;
      }
    },
    (a, b) => {
      const al = alpha;
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v < 0 ? al * expm1_64(v) : v;
      }
    },
  );
};

// Selu (alpha = 1.67326319..., gamma = 1.05070102...):
// y = x > 0 ? f(gamma * x) : f(gamma * f(alpha * f(expm1_64(x)))).
// (ONNX: gamma * (alpha * e^x - alpha) for x <= 0, computed as gamma * (alpha * expm1(x)).)
const Selu: Kernel = (inputs, ctx) => {
  const alpha = ctx.float('alpha', 1.67326319217681884765625);
  const gamma = ctx.float('gamma', 1.05070102214813232421875);
  return mapFloat(
    inputs,
    ctx,
    (a, b) => {
      const al = f(alpha), g = f(gamma);
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v > 0 ? g * v : g * f(al * f(expm1_64(v)));
      }
    },
    (a, b) => {
      const al = alpha, g = gamma;
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v > 0 ? g * v : g * (al * expm1_64(v));
      }
    },
  );
};

// Celu (alpha = 1): y = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) as
//   p = x > 0 || x is NaN ? x : 0
//   q = f(alpha * f(expm1_64(f(x / alpha))));  m = q < 0 || q is NaN ? q : 0
//   y = f(p + m)
const Celu: Kernel = (inputs, ctx) => {
  const alpha = ctx.float('alpha', 1.0);
  return mapFloat(
    inputs,
    ctx,
    (a, b) => {
      const al = f(alpha);
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        const p = v > 0 || v !== v ? v : 0;
        const q = f(al * f(expm1_64(f(v / al))));
        const m = q < 0 || q !== q ? q : 0;
        b[i] = p + m;
      }
    },
    (a, b) => {
      const al = alpha;
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        const p = v > 0 || v !== v ? v : 0;
        const q = al * expm1_64(v / al);
        const m = q < 0 || q !== q ? q : 0;
        b[i] = p + m;
      }
    },
  );
};

// ThresholdedRelu (alpha = 1): y = x > alpha ? x : 0 (NaN -> 0).
const ThresholdedRelu: Kernel = (inputs, ctx) => {
  const alpha = ctx.float('alpha', 1.0);
  return mapFloat(
    inputs,
    ctx,
    (a, b) => {
      const al = f(alpha);
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v > al ? v : 0;
      }
    },
    (a, b) => {
      const al = alpha;
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v > al ? v : 0;
      }
    },
  );
};

// HardSigmoid (alpha = 0.2, beta = 0.5): t = f(f(alpha * x) + beta); y = t < 0 ? 0 : t > 1 ? 1 : t.
const HardSigmoid: Kernel = (inputs, ctx) => {
  const alpha = ctx.float('alpha', 0.2);
  const beta = ctx.float('beta', 0.5);
  return mapFloat(
    inputs,
    ctx,
    (a, b) => {
      const al = f(alpha), be = f(beta);
      for (let i = 0; i < a.length; i++) {
        const t = f(f(al * a[i]!) + be);
        b[i] = t < 0 ? 0 : t > 1 ? 1 : t;
      }
    },
    (a, b) => {
      const al = alpha, be = beta;
      for (let i = 0; i < a.length; i++) {
        const t = al * a[i]! + be;
        b[i] = t < 0 ? 0 : t > 1 ? 1 : t;
      }
    },
  );
};

// HardSwish: alpha = 1/6 (f(1/6) for float32), beta = 0.5:
//   t = f(f(alpha * x) + 0.5); c = t < 0 ? 0 : t > 1 ? 1 : t; y = f(x * c).
const SIXTH = 1 / 6;
const SIXTH_F32 = f(1 / 6);
const HardSwish: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        const t = f(f(SIXTH_F32 * v) + 0.5);
        b[i] = v * (t < 0 ? 0 : t > 1 ? 1 : t);
      }
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        const t = SIXTH * v + 0.5;
        b[i] = v * (t < 0 ? 0 : t > 1 ? 1 : t);
      }
    },
  );

// Softsign: y = f(x / f(1 + |x|)) (±Inf -> NaN, as Inf/Inf).
const Softsign: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v / f(1 + Math.abs(v));
      }
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v / (1 + Math.abs(v));
      }
    },
  );

// Mish: y = f(x * f(tanh64(softplus64(x)))) — tanh(softplus(x)) is one float64 primitive.
const Mish: Kernel = (inputs, ctx) =>
  mapFloat(
    inputs,
    ctx,
    (a, b) => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v * f(tanh64(softplus64(v)));
      }
    },
    (a, b) => {
      for (let i = 0; i < a.length; i++) {
        const v = a[i]!;
        b[i] = v * tanh64(softplus64(v));
      }
    },
  );

// Gelu (opset 20). y = x * Phi(x) with the factor Phi a float64 primitive rounded once:
//   approximate='none': c = f(0.5 * (1 + erf64(x * SQRT1_2)))
//   approximate='tanh': u = (x*x)*x; w = x + 0.044715*u; c = f(0.5 * (1 + tanh64(SQRT_2_OVER_PI * w)))
//   y = f(x * c)
// (all steps inside c in float64, in the order written; constants are doubles).
const SQRT1_2 = 0.7071067811865476; // 1/sqrt(2) rounded to double
const SQRT_2_OVER_PI = 0.7978845608028654; // sqrt(2/pi) rounded to double
const GELU_C = 0.044715;
/** Gelu 'none' on float32, the reference loop (also the per-element fallback of the wasm kernel). */
export function geluErfF32(a: F32, b: F32): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    b[i] = v * f(0.5 * (1 + erf64(v * SQRT1_2)));
  }
}

/** Gelu 'tanh' on float32, the reference loop (also the per-element fallback of the wasm kernel). */
export function geluTanhF32(a: F32, b: F32): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    b[i] = v * f(0.5 * (1 + tanh64(SQRT_2_OVER_PI * (v + GELU_C * (v * v * v)))));
  }
}

/**
 * Gelu on float32 with the WebAssembly SIMD kernel (../wasm/math.wat gelu_f32: the same
 * float64 operations per element) for UNARY_WASM_MIN elements or more; NaN outputs are
 * recomputed by the reference loop, element by element.
 */
export function geluF32Fast(a: F32, b: F32, tanh: boolean): void {
  const ref = tanh ? geluTanhF32 : geluErfF32;
  if (a.length >= UNARY_WASM_MIN && geluF32Wasm(a, b, tanh, (i) => ref(a.subarray(i, i + 1), b.subarray(i, i + 1)))) return;
  ref(a, b);
}

const Gelu: Kernel = (inputs, ctx) => {
  const approx = ctx.string('approximate', 'none');
  if (approx === 'none') {
    return mapFloat(
      inputs,
      ctx,
      (a, b) => geluF32Fast(a, b, false),
      (a, b) => {
        for (let i = 0; i < a.length; i++) {
          const v = a[i]!;
          b[i] = v * (0.5 * (1 + erf64(v * SQRT1_2)));
        }
      },
    );
  }
  if (approx === 'tanh') {
    return mapFloat(
      inputs,
      ctx,
      (a, b) => geluF32Fast(a, b, true),
      (a, b) => {
        for (let i = 0; i < a.length; i++) {
          const v = a[i]!;
          b[i] = v * (0.5 * (1 + tanh64(SQRT_2_OVER_PI * (v + GELU_C * (v * v * v)))));
        }
      },
    );
  }
  throw ctx.error(`attribute approximate must be 'none' or 'tanh', got '${approx}'`, { attribute: 'approximate' });
};

// ---------------------------------------------------------------------------
// Shrink (lambd = 0.5, bias = 0): y = x < -lambd ? x + bias : x > lambd ? x - bias : 0.
//   float32: f(x + bias) / f(x - bias); NaN -> 0.
//   integer types (all allowed by ONNX): comparisons are exact (integer vs the
//   float attribute); bias must be integral (else UNSUPPORTED_FEATURE) and the
//   result wraps to the type: y = wrap(x ± bias).
const Shrink: Kernel = (inputs, ctx) => {
  const lambd = ctx.float('lambd', 0.5);
  const bias = ctx.float('bias', 0);
  const x = need(inputs, 0, ctx);
  const k = dtypeKind(x.dtype);
  if (k === 'float') {
    return mapFloat(
      inputs,
      ctx,
      (a, b) => {
        const l = f(lambd), nl = -l, bi = f(bias);
        for (let i = 0; i < a.length; i++) {
          const v = a[i]!;
          b[i] = v < nl ? v + bi : v > l ? v - bi : 0;
        }
      },
      (a, b) => {
        const l = lambd, nl = -l, bi = bias;
        for (let i = 0; i < a.length; i++) {
          const v = a[i]!;
          b[i] = v < nl ? v + bi : v > l ? v - bi : 0;
        }
      },
    );
  }
  if (k === 'bool') throw badType(ctx, x, 'a numeric type');
  if (!Number.isInteger(bias)) {
    throw ctx.unsupported(`Shrink on ${dtypeName(x.dtype)} with a non-integral bias (${bias}) is not supported`, { bias });
  }
  if (Number.isNaN(lambd)) throw ctx.error('attribute lambd is NaN', { attribute: 'lambd' });
  const y = ctx.alloc(x.dtype, x.shape);
  const n = x.size;
  if (k === 'bigint') {
    const bi = BigInt.asIntN(64, BigInt(bias));
    const a = x.data as BigArray, b = y.data as BigArray;
    const l = lambd, nl = -lambd;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      // bigint vs number comparisons are exact; stores wrap mod 2^64
      b[i] = v < nl ? v + bi : v > l ? v - bi : 0n;
    }
  } else {
    // |x| < 2^32 and bias reduced mod 2^32 into (-2^31, 2^31]: x ± bi is exact in double; the store wraps.
    const bi = Number(BigInt.asIntN(32, BigInt(bias)));
    const a = x.data as IntArray, b = y.data as IntArray;
    const l = lambd, nl = -lambd;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      b[i] = v < nl ? v + bi : v > l ? v - bi : 0;
    }
  }
  return [y];
};

// ---------------------------------------------------------------------------
// Clip: opset < 11: attributes min/max (defaults -FLT_MAX / FLT_MAX, float types);
// opset >= 11: optional scalar inputs min/max of the input's type (missing = no bound;
// opset >= 12 allows all numeric types).
// y = (t = x < lo ? lo : x) > hi ? hi : t  — std::min(std::max(x, lo), hi):
// NaN input stays NaN, -0 stays -0 unless replaced, min > max gives max.

function boundValue(t: Tensor | undefined, x: Tensor, ctx: KernelContext, which: string): number | bigint | undefined {
  if (!t) return undefined;
  if (t.dtype !== x.dtype) {
    throw ctx.error(`${which} has type ${dtypeName(t.dtype)}, expected ${dtypeName(x.dtype)} like the input`, { input: which });
  }
  if (t.size === 0) return undefined; // tolerated: an empty tensor means "no bound"
  if (t.size !== 1) throw ctx.error(`${which} must be a scalar, got shape [${t.shape.join(',')}]`, { input: which });
  return t.data[0]!;
}

const Clip: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const k = dtypeKind(x.dtype);
  if (k === 'bool') throw badType(ctx, x, 'a numeric type');
  if (x.dtype === DType.float16) throw float16Unsupported(ctx);
  let lo: number | bigint | undefined;
  let hi: number | bigint | undefined;
  if (ctx.opset < 11) {
    if (k !== 'float') throw badType(ctx, x, 'float32 or float64 (Clip before opset 11)');
    lo = ctx.float('min', -FLT_MAX);
    hi = ctx.float('max', FLT_MAX);
    if (x.dtype === DType.float32) {
      lo = f(lo);
      hi = f(hi);
    }
  } else {
    lo = boundValue(inputs[1], x, ctx, 'min');
    hi = boundValue(inputs[2], x, ctx, 'max');
  }
  const y = ctx.alloc(x.dtype, x.shape);
  const n = x.size;
  if (k === 'bigint') {
    const a = x.data as BigArray, b = y.data as BigArray;
    const l = lo as bigint | undefined, h = hi as bigint | undefined;
    if (l === undefined && h === undefined) {
      b.set(a as never);
    } else if (h === undefined) {
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        b[i] = v < l! ? l! : v;
      }
    } else if (l === undefined) {
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        b[i] = v > h ? h : v;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = a[i]!;
        const t = v < l ? l : v;
        b[i] = t > h ? h : t;
      }
    }
    return [y];
  }
  const l = lo === undefined ? -Infinity : (lo as number);
  const h = hi === undefined ? Infinity : (hi as number);
  if (x.dtype === DType.float32) {
    const a = x.data as F32, b = y.data as F32;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      const t = v < l ? l : v;
      b[i] = t > h ? h : t;
    }
  } else if (x.dtype === DType.float64) {
    const a = x.data as F64, b = y.data as F64;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      const t = v < l ? l : v;
      b[i] = t > h ? h : t;
    }
  } else {
    const a = x.data as IntArray, b = y.data as IntArray;
    for (let i = 0; i < n; i++) {
      const v = a[i]!;
      const t = v < l ? l : v;
      b[i] = t > h ? h : t;
    }
  }
  return [y];
};

export const ops: KernelTable = {
  Neg,
  Abs,
  Sqrt,
  Reciprocal,
  Exp,
  Log,
  Tanh,
  Sigmoid,
  Relu,
  LeakyRelu,
  Elu,
  Selu,
  Gelu,
  Erf,
  Softplus,
  Softsign,
  HardSigmoid,
  HardSwish,
  Mish,
  ThresholdedRelu,
  Shrink,
  Celu,
  Clip,
  Sign,
  Floor,
  Ceil,
  Round,
  Sin,
  Cos,
  Tan,
  Asin,
  Acos,
  Atan,
  Sinh,
  Cosh,
  Asinh,
  Acosh,
  Atanh,
};
