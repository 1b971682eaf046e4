/**
 * Cast and CastLike, plus the scalar conversion helpers they are built from
 * (also used by Pow for its float -> integer result conversion).
 *
 * Canonical conversion rules (every one is a single, exactly specified step):
 *
 * - int/bool -> float32/float64: the integer is exact in a double (for <= 32-bit
 *   types), then ONE rounding to the target (a Float32Array store rounds to
 *   nearest-even). int64/uint64 -> float64: `Number(bigint)`, which ECMAScript
 *   defines as round-to-nearest-even of the exact value. int64/uint64 -> float32:
 *   correctly rounded from the exact integer (round-to-odd to 53 bits, then
 *   round-to-nearest-even to 24 bits; correct because 53 >= 24 + 2 — see
 *   `bigintToF32`), never the double rounding `fround(Number(v))` would give.
 * - float64 -> float32: one round-to-nearest-even (`Math.fround`).
 * - anything -> float16: one round-to-nearest-even from the exact source value
 *   (`toF16`; for float64 sources this differs from rounding through float32, which
 *   would double-round; numpy's `astype(float16)` rounds directly, as we do).
 *   NaN -> 0x7e00 with the sign of the source NaN.
 * - float16 -> anything: the exact value (`float16ToNumber`), then as from a double.
 * - float -> integer: truncation toward zero. Results that do not fit and NaN/Inf follow
 *   what numpy's C cast does on x86-64 (cvttsd2si semantics), deterministically:
 *     int8/uint8/int16/uint16/int32: v = trunc(x) if -2^31 <= trunc(x) < 2^31, else
 *       -2^31 (NaN, ±Inf included); then wrapped to the target width (low bits).
 *       E.g. 300.0 -> int8 44, NaN -> int32 -2147483648, NaN -> int8 0.
 *     uint32: v = trunc(x) if -2^63 <= trunc(x) < 2^63 else 0; then low 32 bits
 *       (so -1.0 -> 4294967295, NaN -> 0).
 *     int64: trunc(x) if -2^63 <= trunc(x) < 2^63 else -2^63.
 *     uint64: trunc(x) if 0 <= trunc(x) < 2^64; trunc(x) + 2^64 if -2^63 <= trunc(x) < 0;
 *       0 if trunc(x) >= 2^64 (incl. +Inf); 2^63 otherwise (NaN, -Inf, < -2^63).
 * - integer -> integer: two's complement wrap to the target width (low bits).
 * - anything -> bool: x != 0 (NaN -> true, -0 -> false). bool -> anything: 0 or 1.
 * - `saturate` only affects float8 targets, which are unsupported.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { pow2 } from '../math/bits.js';
import { checkDType, DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import type { Tensor } from '../../tensor/tensor.js';
import { need } from './util.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyArr = any;

const TWO31 = 2147483648;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;
const TWO53N = 9007199254740992n;
const INT64_MIN_N = -9223372036854775808n;
const TWO63N = 9223372036854775808n;

/** float -> int8/uint8/int16/uint16/int32 (before the typed-array store wraps it). */
export function floatToI32(x: number): number {
  const t = Math.trunc(x);
  return t >= -TWO31 && t < TWO31 ? t : -TWO31; // NaN fails both comparisons
}

/** float -> uint32 value in [0, 2^32). */
export function floatToU32(x: number): number {
  const t = Math.trunc(x);
  if (!(t >= -TWO63 && t < TWO63)) return 0;
  return t >>> 0 === t ? t : t - Math.floor(t / 4294967296) * 4294967296; // exact: t mod 2^32
}

/** float -> int64. */
export function floatToI64(x: number): bigint {
  const t = Math.trunc(x);
  return t >= -TWO63 && t < TWO63 ? BigInt(t) : INT64_MIN_N;
}

/** float -> uint64 (a value in [0, 2^64) ready for a BigUint64Array). */
export function floatToU64(x: number): bigint {
  const t = Math.trunc(x);
  if (t >= 0 && t < TWO64) return BigInt(t);
  if (t >= -TWO63 && t < 0) return BigInt.asUintN(64, BigInt(t));
  if (t >= TWO64) return 0n;
  return TWO63N;
}

/** A double -> binary16 bits, correctly rounded in one step (src/tensor/float16.ts). */
export const toF16 = numberToFloat16;

/** int64/uint64 -> float32, correctly rounded from the exact integer. */
export function bigintToF32(v: bigint): number {
  const neg = v < 0n;
  const a = neg ? -v : v;
  if (a < TWO53N) return Math.fround(Number(v));
  // Round to odd at 53 bits (exact in a double), then one round-to-nearest-even to
  // 24 bits: round-to-odd with >= p+2 bits makes the second rounding correct.
  let sh = 0;
  while (a >> BigInt(sh) >= TWO53N) sh++;
  const bsh = BigInt(sh);
  let h = a >> bsh;
  if (h << bsh !== a) h |= 1n;
  const d = Number(h) * pow2(sh); // exact: h < 2^53, sh <= 11
  return Math.fround(neg ? -d : d);
}

const LEGACY_NAMES: Record<string, number> = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
};

/**
 * Converts a tensor's elements to `to` following the rules in the module comment.
 * Returns a new tensor (never shares the input's buffer).
 */
export function castTensor(x: Tensor, to: DType, ctx: KernelContext): Tensor {
  const out = ctx.alloc(to, x.shape);
  const n = x.size;
  const o: AnyArr = out.data;
  let s: AnyArr = x.data;
  let from: DType = x.dtype;
  if (n === 0) return out;
  if (from === to) {
    o.set(s);
    return out;
  }
  if (to === DType.bool) {
    if (from === DType.float16) for (let i = 0; i < n; i++) o[i] = (s[i] & 0x7fff) !== 0 ? 1 : 0;
    else if (dtypeKind(from) === 'bigint') for (let i = 0; i < n; i++) o[i] = s[i] !== 0n ? 1 : 0;
    else for (let i = 0; i < n; i++) o[i] = s[i] !== 0 ? 1 : 0; // NaN !== 0
    return out;
  }
  if (from === DType.float16) {
    // Decode exactly; then every rule below is the rule from a double.
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = float16ToNumber(s[i]);
    s = d;
    from = DType.float64;
  }
  const fk = dtypeKind(from);
  if (fk === 'bigint') {
    switch (to) {
      case DType.int64:
      case DType.uint64:
        for (let i = 0; i < n; i++) o[i] = s[i]; // BigInt64Array/BigUint64Array stores wrap mod 2^64
        break;
      case DType.float64:
        for (let i = 0; i < n; i++) o[i] = Number(s[i]);
        break;
      case DType.float32:
        for (let i = 0; i < n; i++) o[i] = bigintToF32(s[i]);
        break;
      case DType.float16:
        // |v| < 65520 is exact in a double; anything larger stays >= 65520 -> Inf.
        for (let i = 0; i < n; i++) o[i] = toF16(Number(s[i]));
        break;
      default:
        for (let i = 0; i < n; i++) o[i] = Number(BigInt.asIntN(32, s[i])); // low bits; store wraps further
    }
    return out;
  }
  const srcFloat = fk === 'float';
  switch (to) {
    case DType.float32:
    case DType.float64:
      for (let i = 0; i < n; i++) o[i] = s[i]; // exact source, one rounding in the store
      break;
    case DType.float16:
      for (let i = 0; i < n; i++) o[i] = toF16(s[i]);
      break;
    case DType.int64:
      if (srcFloat) for (let i = 0; i < n; i++) o[i] = floatToI64(s[i]);
      else for (let i = 0; i < n; i++) o[i] = BigInt(s[i]);
      break;
    case DType.uint64:
      if (srcFloat) for (let i = 0; i < n; i++) o[i] = floatToU64(s[i]);
      else for (let i = 0; i < n; i++) o[i] = BigInt(s[i]); // negative wraps in the store
      break;
    case DType.uint32:
      if (srcFloat) for (let i = 0; i < n; i++) o[i] = floatToU32(s[i]);
      else for (let i = 0; i < n; i++) o[i] = s[i];
      break;
    default: // int8 uint8 int16 uint16 int32: the typed-array store wraps to the width
      if (srcFloat) for (let i = 0; i < n; i++) o[i] = floatToI32(s[i]);
      else for (let i = 0; i < n; i++) o[i] = s[i];
  }
  return out;
}

/** Cast: `to` (an int dtype code; a type-name string before opset 6). */
const Cast: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const a = ctx.node.attrs.get('to');
  if (!a) throw ctx.error('Cast needs the attribute to');
  let code: number;
  if (a.kind === 'int') code = a.value;
  else if (a.kind === 'string') {
    const c = LEGACY_NAMES[a.value.toUpperCase()];
    if (c === undefined) throw ctx.error(`unknown Cast target type ${a.value}`);
    code = c;
  } else throw ctx.error(`attribute to must be an int, got ${a.kind}`);
  const to = checkDType(code, `Cast to ${dtypeName(code)}`);
  return [castTensor(x, to, ctx)];
};

/** CastLike: cast input 0 to the dtype of input 1 (same rules as Cast). */
const CastLike: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx);
  const like = need(inputs, 1, ctx);
  return [castTensor(x, like.dtype, ctx)];
};

export const castOps: KernelTable = { Cast, CastLike };
