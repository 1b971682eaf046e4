// Test-only helpers for the kernel unit tests (*.test.ts in this folder): a
// KernelContext builder, attribute and tensor builders, error-code and value/bit
// assertions, the LCGs some tests draw inputs from, index helpers. Kernels never import this.
import assert from 'node:assert/strict';
import { VerinferError } from '../../errors.js';
import type { AttrValue } from '../../onnx/model.js';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { KernelContext } from '../kernel.js';

/**
 * A context for node #0 "n" of `opType` with `attrs`, at `opset`; `outputs` are the
 * node's output names (kernels look at how many there are and which are '').
 */
export function makeCtx(
  opType: string,
  attrs: Record<string, AttrValue> | Map<string, AttrValue> = {},
  opset = 17,
  outputs: string[] = ['y'],
): KernelContext {
  const m = attrs instanceof Map ? attrs : new Map(Object.entries(attrs));
  return new KernelContext({ index: 0, name: 'n', opType, domain: '', inputs: [], outputs, attrs: m }, opset, 2 ** 31);
}

// ---- attributes

export const int = (value: number): AttrValue => ({ kind: 'int', value });
export const ints = (value: number[]): AttrValue => ({ kind: 'ints', value });
export const flt = (value: number): AttrValue => ({ kind: 'float', value });
export const floats = (value: number[]): AttrValue => ({ kind: 'floats', value });
export const str = (value: string): AttrValue => ({ kind: 'string', value });
export const strs = (value: string[]): AttrValue => ({ kind: 'strings', value });

/** Plain attribute values: number -> int, string, number[] -> ints, Tensor, { f } -> float, { fs } -> floats. */
export type PlainAttrs = Record<string, number | string | number[] | Tensor | { f: number } | { fs: number[] }>;

export function attrsOf(a: PlainAttrs): Map<string, AttrValue> {
  const m = new Map<string, AttrValue>();
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'number') m.set(k, { kind: 'int', value: v });
    else if (typeof v === 'string') m.set(k, { kind: 'string', value: v });
    else if (Array.isArray(v)) m.set(k, { kind: 'ints', value: v });
    else if (v instanceof Tensor) m.set(k, { kind: 'tensor', value: v });
    else if ('f' in v) m.set(k, { kind: 'float', value: v.f });
    else m.set(k, { kind: 'floats', value: v.fs });
  }
  return m;
}

// ---- tensors (values first; the shape defaults to 1-D)

export const f32 = (v: ArrayLike<number>, shape = [v.length]): Tensor => new Tensor(DType.float32, shape, Float32Array.from(v));
export const f64 = (v: ArrayLike<number>, shape = [v.length]): Tensor => new Tensor(DType.float64, shape, Float64Array.from(v));
export const i32 = (v: ArrayLike<number>, shape = [v.length]): Tensor => new Tensor(DType.int32, shape, Int32Array.from(v));
export const i64 = (v: readonly (number | bigint)[], shape = [v.length]): Tensor =>
  new Tensor(DType.int64, shape, BigInt64Array.from(v, (x) => BigInt(x)));
/** A tensor's elements as a plain array. */
export const vals = (t: Tensor): (number | bigint)[] => Array.from(t.data as ArrayLike<number | bigint>);

// ---- assertions

/** `fn` throws a VerinferError with `code` (and, given `detail`, details it accepts). */
export function throwsCode(fn: () => unknown, code: string, detail?: (d: Record<string, unknown>) => boolean): void {
  assert.throws(fn, (e: unknown) => e instanceof VerinferError && e.code === code && (!detail || detail(e.details)), `expected ${code}`);
}

type Values = Tensor | ArrayLike<number>;
const valuesOf = (v: Values): ArrayLike<number> => (v instanceof Tensor ? (v.data as ArrayLike<number>) : v);
const show = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

/** Same length and elements by Object.is: -0 differs from +0, every NaN equals every NaN (payloads ignored). */
export function sameValues(actual: Values, expected: Values, what = ''): void {
  const a = valuesOf(actual);
  const e = valuesOf(expected);
  assert.equal(a.length, e.length, `${what} length`);
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i])) assert.fail(`${what} element ${i}: got ${show(a[i]!)}, expected ${show(e[i]!)}`);
  }
}

/** The same shape, then `sameValues` on the elements (a reference result is a shape and a data array). */
export function sameTensor(actual: Tensor, expected: { shape: readonly number[]; data: ArrayLike<number> }, what = ''): void {
  assert.deepEqual([...actual.shape], [...expected.shape], `${what} shape`);
  sameValues(actual, expected.data, what);
}

function bits32(v: Values): Uint32Array {
  const a = valuesOf(v);
  const f = a instanceof Float32Array ? a : Float32Array.from(a);
  return new Uint32Array(f.buffer, f.byteOffset, f.length);
}

/**
 * Same length and identical float32 bit patterns (NaN payloads included). Values
 * not already in a Float32Array are rounded to float32 first.
 */
export function sameBits32(actual: Values, expected: Values, what = ''): void {
  const a = bits32(actual);
  const e = bits32(expected);
  assert.equal(a.length, e.length, `${what} length`);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what} element ${i}: got ${valuesOf(actual)[i]} (0x${a[i]!.toString(16)}), expected ${valuesOf(expected)[i]} (0x${e[i]!.toString(16)})`);
  }
}

// ---- inputs

/**
 * `n` float32 values `((u * 2 - 1) * scale) + offset` with u uniform in [0, 1) from
 * the ANSI C LCG s = s * 1103515245 + 12345 (mod 2^32), starting from `seed`.
 */
export function ansiLcgFloat32(n: number, seed: number, scale: number, offset = 0): Float32Array {
  const v = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const x = ((s / 2 ** 32) * 2 - 1) * scale;
    v[i] = offset === 0 ? x : x + offset;
  }
  return v;
}

/**
 * `n` float32 values `u * (hi - lo) + lo` with u uniform in [0, 1) from the
 * Numerical Recipes LCG s = s * 1664525 + 1013904223 (mod 2^32), starting from `seed`.
 */
export function nrLcgFloat32(n: number, seed: number, lo: number, hi: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = (s / 2 ** 32) * (hi - lo) + lo;
  }
  return v;
}

/** The number of elements of `shape` (1 for a scalar). */
export const prod = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The row-major coordinates of flat index `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const r = new Array<number>(shape.length);
  for (let j = shape.length - 1; j >= 0; j--) {
    r[j] = i % shape[j]!;
    i = Math.floor(i / shape[j]!);
  }
  return r;
}

/** The flat row-major index of coordinates `idx` in `shape` (the inverse of `unravel`). */
export const ravel = (idx: readonly number[], shape: readonly number[]): number => idx.reduce((a, v, j) => a * shape[j]! + v, 0);
