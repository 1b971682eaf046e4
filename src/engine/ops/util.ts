// Small helpers shared by the kernel files: required inputs, axis normalisation,
// integer tensors read as numbers, shape products and shape formatting. No
// arithmetic on tensor values happens here (see README.md for the kernel contract).
import type { KernelContext } from '../kernel.js';
import { dtypeKind, dtypeName } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * `inputs[i]`, or an INVALID_ARGUMENT error when it is omitted: with `name`,
 * "missing required input <i> (<name>)" and details `{ input: i }`; without,
 * "missing required input <i>".
 */
export function need(inputs: (Tensor | undefined)[], i: number, ctx: KernelContext, name?: string): Tensor {
  const t = inputs[i];
  if (!t) {
    if (name === undefined) throw ctx.error(`missing required input ${i}`);
    throw ctx.error(`missing required input ${i} (${name})`, { input: i });
  }
  return t;
}

/**
 * `inputs[i]`, or INVALID_ARGUMENT "missing required input <name>" (the name only,
 * no details): the wording of the attention, loss, misc and normalization kernels.
 */
export function needNamed(inputs: (Tensor | undefined)[], i: number, ctx: KernelContext, name: string): Tensor {
  const t = inputs[i];
  if (!t) throw ctx.error(`missing required input ${name}`);
  return t;
}

/**
 * Normalises an axis in [-rank, rank-1] (or [-rank, rank] with `inclusive`), else
 * INVALID_ARGUMENT "<what> <axis> is out of range for rank <rank>" (also for a
 * non-integer axis, and for every axis when rank is 0 and not `inclusive`).
 */
export function axisOf(ctx: KernelContext, axis: number, rank: number, what = 'axis', inclusive = false): number {
  const hi = inclusive ? rank : rank - 1;
  if (!Number.isInteger(axis) || axis < -rank || axis > hi) throw ctx.error(`${what} ${axis} is out of range for rank ${rank}`, { axis, rank });
  return axis < 0 ? axis + rank : axis;
}

/** Product of `shape[from..to)` (1 for an empty range), multiplied left to right. */
export function prod(shape: readonly number[], from = 0, to = shape.length): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= shape[i]!;
  return p;
}

/** A shape as `[2,3,4]` for messages. */
export function shapeStr(s: readonly number[]): string {
  return `[${s.join(',')}]`;
}

/**
 * The elements of an integer tensor (any width, signed or not) as numbers: int64
 * exact up to 2^53, beyond that rounded (fine for clamping). With `oneD` (default)
 * a tensor of rank > 1 is INVALID_ARGUMENT.
 */
export function intsOf(t: Tensor, ctx: KernelContext, what: string, oneD = true): number[] {
  const k = dtypeKind(t.dtype);
  if (k !== 'int' && k !== 'bigint') throw ctx.error(`${what} must be an integer (int64) tensor, got ${dtypeName(t.dtype)}`);
  if (oneD && t.rank > 1) throw ctx.error(`${what} must be a 1-D tensor, got shape ${shapeStr(t.shape)}`);
  const d = t.data;
  const out = new Array<number>(t.size);
  for (let i = 0; i < t.size; i++) out[i] = Number(d[i]!);
  return out;
}
