import { KernelError } from '../errors.js';

/** Numpy-style multidirectional broadcasting of shapes. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const out = tryBroadcastShapes(shapes);
  if (!out) {
    throw new KernelError(`shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')} cannot be broadcast`, {
      shapes: shapes.map((x) => [...x]),
    });
  }
  return out;
}

/**
 * The numpy (multidirectional) broadcast of `shapes`, or undefined when two of them
 * have unequal dims, neither 1, on one axis. Callers throw their own error.
 */
export function tryBroadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === out[o]) continue;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1) return undefined;
    }
  }
  return out;
}

/**
 * Strides (in elements) to read an input of `shape` as if broadcast to `outShape`:
 * broadcast dims get stride 0. Aligned to the right as numpy does.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const strides = new Array<number>(r).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = r - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return strides;
}

/**
 * For each output element in row-major order, the flat index into each input
 * (broadcast). Calls `f(outIndex, idx0, idx1, ...)`. Loops the innermost axis
 * directly so the common cases cost one add per element per input.
 */
export function forEachBroadcast(
  outShape: readonly number[],
  inShapes: (readonly number[])[],
  f: (o: number, idx: Int32Array | number[]) => void,
): void {
  const r = outShape.length;
  const n = outShape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const strides = inShapes.map((s) => broadcastStrides(s, outShape));
  const k = inShapes.length;
  const idx = new Array<number>(k).fill(0);
  if (r === 0) {
    f(0, idx);
    return;
  }
  const counter = new Array<number>(r).fill(0);
  const inner = outShape[r - 1]!;
  const innerStrides = strides.map((s) => s[r - 1]!);
  const base = new Array<number>(k).fill(0);
  for (let o = 0; o < n; o += inner) {
    for (let j = 0; j < k; j++) idx[j] = base[j]!;
    for (let t = 0; t < inner; t++) {
      f(o + t, idx);
      for (let j = 0; j < k; j++) idx[j] += innerStrides[j]!;
    }
    // advance the outer counter (axes r-2 .. 0)
    for (let ax = r - 2; ax >= 0; ax--) {
      counter[ax]!++;
      for (let j = 0; j < k; j++) base[j] += strides[j]![ax]!;
      if (counter[ax]! < outShape[ax]!) break;
      for (let j = 0; j < k; j++) base[j] -= strides[j]![ax]! * outShape[ax]!;
      counter[ax] = 0;
    }
  }
}

/** Normalises a possibly negative axis against `rank`, validating its range. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) {
    throw new KernelError(`${what} ${axis} is out of range for rank ${rank}`, { axis, rank });
  }
  return a;
}
