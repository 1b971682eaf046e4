/**
 * Shape manipulation: pure data movement (no arithmetic), so every dtype the engine
 * stores is supported, float16 included (moved as raw bits), unless noted.
 *
 * Canonical semantics: every output element is a copy of one input element (or a
 * constant such as a pad value / zero / one); no rounding happens anywhere except in
 * Range, which states its own order of arithmetic.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { broadcastStrides, tryBroadcastShapes } from '../broadcast.js';
import { DType, dtypeKind, dtypeName, isDType, type TensorData } from '../../tensor/dtype.js';
import { numberToFloat16 } from '../../tensor/float16.js';
import { stridesOf, Tensor } from '../../tensor/tensor.js';
import { axisOf, intsOf, need, prod, shapeStr } from './util.js';

// ---------------------------------------------------------------------------
// Shared helpers (also used by indexing.ts)
// ---------------------------------------------------------------------------

/** A typed array of any element kind, viewed loosely so generic copy loops type-check. */
export interface Buf {
  [i: number]: number | bigint;
  readonly length: number;
  set(src: Buf, offset?: number): void;
  subarray(begin?: number, end?: number): Buf;
  fill(v: number | bigint, start?: number, end?: number): Buf;
}

export const buf = (d: Tensor | TensorData): Buf => (d instanceof Tensor ? d.data : d) as unknown as Buf;

/** Runs shorter than this are copied element by element rather than with set(subarray). */
const SET_MIN = 24;

/**
 * Copies a box of `shape` elements from `src` (start offset + per-axis strides, in
 * elements; strides may be 0 for broadcast, or negative) to `dst` (offset + strides).
 * Drops size-1 axes, merges axes that are contiguous in both src and dst, and copies
 * contiguous inner runs with TypedArray.set. Source and destination must not overlap.
 */
export function copyBox(
  src: Buf,
  srcOff: number,
  srcStrides: readonly number[],
  dst: Buf,
  dstOff: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void {
  const sh: number[] = [];
  const ss: number[] = [];
  const ds: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i]!;
    if (n === 0) return;
    if (n === 1) continue;
    const k = sh.length - 1;
    if (k >= 0 && ss[k] === srcStrides[i]! * n && ds[k] === dstStrides[i]! * n) {
      sh[k]! *= n;
      ss[k] = srcStrides[i]!;
      ds[k] = dstStrides[i]!;
    } else {
      sh.push(n);
      ss.push(srcStrides[i]!);
      ds.push(dstStrides[i]!);
    }
  }
  const r = sh.length;
  if (r === 0) {
    dst[dstOff] = src[srcOff]!;
    return;
  }
  const n = sh[r - 1]!;
  const s = ss[r - 1]!;
  const d = ds[r - 1]!;
  if (r >= 2 && s !== 1 && s !== 0 && n >= TILE) {
    // e.g. a transpose: the source-contiguous axis is not innermost. Copy in tiles
    // over (that axis, innermost axis) so both sides stay in cache.
    const j = ss.indexOf(1);
    if (j >= 0 && sh[j]! >= TILE) {
      tiledCopy(src, srcOff, ss, dst, dstOff, ds, sh, j);
      return;
    }
  }
  const cnt = new Array<number>(r).fill(0);
  let so = srcOff;
  let dO = dstOff;
  for (;;) {
    if (s === 1 && d === 1) {
      if (n >= SET_MIN) dst.set(src.subarray(so, so + n), dO);
      else for (let t = 0; t < n; t++) dst[dO + t] = src[so + t]!;
    } else if (s === 0 && d === 1) {
      dst.fill(src[so]!, dO, dO + n);
    } else {
      for (let t = 0, a = so, b = dO; t < n; t++, a += s, b += d) dst[b] = src[a]!;
    }
    let ax = r - 2;
    for (; ax >= 0; ax--) {
      so += ss[ax]!;
      dO += ds[ax]!;
      if (++cnt[ax]! < sh[ax]!) break;
      so -= ss[ax]! * sh[ax]!;
      dO -= ds[ax]! * sh[ax]!;
      cnt[ax] = 0;
    }
    if (ax < 0) return;
  }
}

const TILE = 32;

/** copyBox over `sh` with the tile loop on axes j (source stride 1) and the innermost axis. */
function tiledCopy(src: Buf, srcOff: number, ss: number[], dst: Buf, dstOff: number, ds: number[], sh: number[], j: number): void {
  const r = sh.length;
  const last = r - 1;
  const nj = sh[j]!;
  const nl = sh[last]!;
  const dj = ds[j]!;
  const sl = ss[last]!;
  const dl = ds[last]!;
  const outerAxes: number[] = [];
  for (let a = 0; a < last; a++) if (a !== j) outerAxes.push(a);
  const k = outerAxes.length;
  const cnt = new Array<number>(k).fill(0);
  let so = srcOff;
  let dO = dstOff;
  for (;;) {
    for (let jb = 0; jb < nj; jb += TILE) {
      const je = Math.min(nj, jb + TILE);
      for (let lb = 0; lb < nl; lb += TILE) {
        const le = Math.min(nl, lb + TILE);
        for (let jj = jb; jj < je; jj++) {
          let a = so + jj + lb * sl;
          let b = dO + jj * dj + lb * dl;
          for (let t = lb; t < le; t++, a += sl, b += dl) dst[b] = src[a]!;
        }
      }
    }
    let i = k - 1;
    for (; i >= 0; i--) {
      const ax = outerAxes[i]!;
      so += ss[ax]!;
      dO += ds[ax]!;
      if (++cnt[i]! < sh[ax]!) break;
      so -= ss[ax]! * sh[ax]!;
      dO -= ds[ax]! * sh[ax]!;
      cnt[i] = 0;
    }
    if (i < 0) return;
  }
}

/** Gathers a strided view of `x` into a new contiguous tensor of `shape`. */
export function gatherView(ctx: KernelContext, x: Tensor, off: number, strides: readonly number[], shape: readonly number[]): Tensor {
  const out = ctx.alloc(x.dtype, shape);
  copyBox(buf(x), off, strides, buf(out), 0, stridesOf(shape), shape);
  return out;
}

/** A single integer from a scalar (or one-element) integer tensor (int64 beyond 2^53 rounded). */
function intScalar(t: Tensor, ctx: KernelContext, what: string): number {
  const k = dtypeKind(t.dtype);
  if (k !== 'int' && k !== 'bigint') throw ctx.error(`${what} must be an integer tensor, got ${dtypeName(t.dtype)}`);
  if (t.size !== 1) throw ctx.error(`${what} must be a scalar, got shape ${shapeStr(t.shape)}`);
  return Number(buf(t)[0]!);
}

/** Distinct normalised axes. */
function axesOf(ctx: KernelContext, axes: readonly number[], rank: number, what = 'axes'): number[] {
  const out = axes.map((a) => axisOf(ctx, a, rank, what));
  if (new Set(out).size !== out.length) throw ctx.error(`${what} [${axes.join(',')}] has duplicates`, { axes: [...axes] });
  return out;
}

/** Validates a shape given as numbers (non-negative safe integers). */
function checkShape(ctx: KernelContext, shape: readonly number[], what: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw ctx.error(`${what} has invalid dimension ${d}`, { shape: [...shape] });
  }
}

/** One for a dtype (raw bits for float16). */
function oneOf(dtype: DType): number | bigint {
  if (dtype === DType.float16) return 0x3c00;
  return dtypeKind(dtype) === 'bigint' ? 1n : 1;
}

/** A JS number converted to the storage value of `dtype` (float16 bits, bigint, bool 0/1, truncated ints). */
export function storageValue(dtype: DType, v: number): number | bigint {
  switch (dtypeKind(dtype)) {
    case 'float':
      return dtype === DType.float16 ? numberToFloat16(v) : v;
    case 'bigint':
      return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    case 'bool':
      return v !== 0 ? 1 : 0;
    default:
      return Number.isFinite(v) ? Math.trunc(v) : 0;
  }
}

/** Same-shape comparison. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Identity, Dropout
// ---------------------------------------------------------------------------

const Identity: Kernel = (inputs, ctx) => [need(inputs, 0, ctx, 'input')];

/**
 * Dropout in inference: output = input (bit-identical, zero-copy); mask all true
 * (opset >= 10 bool; opset 7-9 a tensor of the input type filled with one).
 * training_mode = true is unsupported (random), except with ratio 0 (identity).
 */
const Dropout: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  if (ctx.opset >= 12) {
    const tm = inputs[2];
    const training = tm ? Number(buf(tm)[0] ?? 0) !== 0 : false;
    if (training) {
      let ratio = 0.5;
      if (inputs[1]) {
        const r = inputs[1];
        if (r.size !== 1) throw ctx.error('ratio must be a scalar');
        ratio = r.dtype === DType.float16 ? NaN : Number(buf(r)[0]!);
      }
      if (ratio !== 0) throw ctx.unsupported('Dropout with training_mode=true (random masking) is not supported');
    }
  } else if (ctx.int('is_test', 1) === 0 && ctx.opset < 7) {
    throw ctx.unsupported('Dropout in training mode (is_test=0) is not supported');
  }
  const outs: Tensor[] = [x];
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '') {
    const maskType = ctx.opset >= 10 ? DType.bool : x.dtype;
    const m = ctx.alloc(maskType, x.shape);
    if (m.size) buf(m).fill(oneOf(maskType));
    outs.push(m);
  }
  return outs;
};

// ---------------------------------------------------------------------------
// Reshape family (zero-copy)
// ---------------------------------------------------------------------------

const Flatten: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const r = x.rank;
  let axis = ctx.int('axis', 1);
  if (!Number.isInteger(axis) || axis < -r || axis > r) throw ctx.error(`axis ${axis} is out of range [-${r}, ${r}]`);
  if (axis < 0) axis += r;
  return [new Tensor(x.dtype, [prod(x.shape, 0, axis), prod(x.shape, axis)], x.data)];
};

/** Reshape target: 0 copies the input dim (unless allowzero), -1 is inferred (at most one). */
function reshapeTarget(ctx: KernelContext, inShape: readonly number[], size: number, spec: readonly number[], allowzero: boolean): number[] {
  const out = new Array<number>(spec.length);
  let infer = -1;
  let known = 1;
  for (let i = 0; i < spec.length; i++) {
    const v = spec[i]!;
    if (v === -1) {
      if (infer >= 0) throw ctx.error(`shape ${shapeStr(spec)} has more than one -1`, { shape: [...spec] });
      infer = i;
      continue;
    }
    if (!Number.isSafeInteger(v) || v < -1) throw ctx.error(`shape ${shapeStr(spec)} has invalid dimension ${v}`, { shape: [...spec] });
    let d = v;
    if (v === 0 && !allowzero) {
      if (i >= inShape.length) throw ctx.error(`shape ${shapeStr(spec)}: 0 at position ${i} has no input dimension to copy (input shape ${shapeStr(inShape)})`);
      d = inShape[i]!;
    }
    out[i] = d;
    known *= d;
  }
  if (allowzero && infer >= 0 && spec.includes(0)) throw ctx.error(`shape ${shapeStr(spec)} has both 0 and -1 with allowzero=1`);
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw ctx.error(`cannot reshape ${shapeStr(inShape)} (${size} elements) into ${shapeStr(spec)}`, { shape: [...spec], inputShape: [...inShape] });
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw ctx.error(`cannot reshape ${shapeStr(inShape)} (${size} elements) into ${shapeStr(spec)}`, { shape: [...spec], inputShape: [...inShape] });
  }
  return out;
}

const Reshape: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  let spec: number[];
  if (ctx.opset < 5) {
    const s = ctx.ints('shape');
    if (!s) throw ctx.error('missing attribute shape');
    spec = s;
  } else {
    spec = intsOf(need(inputs, 1, ctx, 'shape'), ctx, 'shape');
  }
  const allowzero = ctx.opset >= 14 && ctx.int('allowzero', 0) !== 0;
  return [new Tensor(x.dtype, reshapeTarget(ctx, x.shape, x.size, spec, allowzero), x.data)];
};

const Squeeze: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  let axes: number[] | undefined;
  if (ctx.opset >= 13) axes = inputs[1] ? intsOf(inputs[1], ctx, 'axes') : undefined;
  else axes = ctx.ints('axes');
  let out: number[];
  // no axes (or an empty list, as onnxruntime treats it): drop every size-1 axis
  if (!axes || axes.length === 0) out = x.shape.filter((d) => d !== 1);
  else {
    const ax = axesOf(ctx, axes, x.rank);
    for (const a of ax) if (x.shape[a] !== 1) throw ctx.error(`cannot squeeze axis ${a} of size ${x.shape[a]} (shape ${shapeStr(x.shape)})`);
    out = x.shape.filter((_, i) => !ax.includes(i));
  }
  return [new Tensor(x.dtype, out, x.data)];
};

const Unsqueeze: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  let axes: number[] | undefined;
  if (ctx.opset >= 13) axes = intsOf(need(inputs, 1, ctx, 'axes'), ctx, 'axes');
  else axes = ctx.ints('axes');
  if (!axes) throw ctx.error('missing axes');
  const r = x.rank + axes.length;
  const ax = axesOf(ctx, axes, r);
  const out = new Array<number>(r);
  let j = 0;
  for (let i = 0; i < r; i++) out[i] = ax.includes(i) ? 1 : x.shape[j++]!;
  return [new Tensor(x.dtype, out, x.data)];
};

// ---------------------------------------------------------------------------
// Transpose, Concat, Split, Expand, Tile
// ---------------------------------------------------------------------------

const Transpose: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const r = x.rank;
  const perm = ctx.ints('perm') ?? x.shape.map((_, i) => r - 1 - i);
  if (perm.length !== r) throw ctx.error(`perm ${shapeStr(perm)} does not match rank ${r}`);
  const seen = new Array<boolean>(r).fill(false);
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= r || seen[p]) throw ctx.error(`perm ${shapeStr(perm)} is not a permutation of 0..${r - 1}`);
    seen[p] = true;
  }
  const inStrides = stridesOf(x.shape);
  const outShape = perm.map((p) => x.shape[p]!);
  if (perm.every((p, i) => p === i)) return [new Tensor(x.dtype, outShape, x.data)];
  return [gatherView(ctx, x, 0, perm.map((p) => inStrides[p]!), outShape)];
};

const Concat: Kernel = (inputs, ctx) => {
  if (inputs.length === 0) throw ctx.error('Concat needs at least one input');
  const xs = inputs.map((t, i) => need(inputs, i, ctx, `inputs[${i}]`));
  const x0 = xs[0]!;
  const r = x0.rank;
  if (r === 0) throw ctx.error('Concat inputs must have rank >= 1');
  const axisAttr = ctx.int('axis');
  if (axisAttr === undefined) throw ctx.error('missing attribute axis');
  const axis = axisOf(ctx, axisAttr, r);
  const outShape = [...x0.shape];
  outShape[axis] = 0;
  for (const t of xs) {
    if (t.dtype !== x0.dtype) throw ctx.error(`inputs have different dtypes ${dtypeName(x0.dtype)} and ${dtypeName(t.dtype)}`);
    if (t.rank !== r || t.shape.some((d, i) => i !== axis && d !== x0.shape[i])) {
      throw ctx.error(`cannot concatenate shapes ${shapeStr(x0.shape)} and ${shapeStr(t.shape)} on axis ${axis}`);
    }
    outShape[axis] += t.shape[axis]!;
  }
  const out = ctx.alloc(x0.dtype, outShape);
  const outer = prod(outShape, 0, axis);
  const inner = prod(outShape, axis + 1);
  const outBlock = outShape[axis]! * inner;
  const dst = buf(out);
  let offset = 0;
  for (const t of xs) {
    const block = t.shape[axis]! * inner;
    const src = buf(t);
    if (block >= SET_MIN || outer === 1) {
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * block, (o + 1) * block), o * outBlock + offset);
    } else {
      for (let o = 0; o < outer; o++) {
        const so = o * block;
        const dO = o * outBlock + offset;
        for (let k = 0; k < block; k++) dst[dO + k] = src[so + k]!;
      }
    }
    offset += block;
  }
  return [out];
};

/**
 * Split sizes: the `split` list (attribute before opset 13, input after), else equal
 * parts over the node's output count (or num_outputs in opset 18+, where an uneven
 * split gives ceil(dim/n)-sized chunks and a smaller last chunk).
 */
const Split: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  if (x.rank === 0) throw ctx.error('cannot split a scalar');
  const axis = axisOf(ctx, ctx.int('axis', 0), x.rank);
  const dim = x.shape[axis]!;
  const nOut = ctx.node.outputs.length;
  let split: number[] | undefined = ctx.opset >= 13 ? (inputs[1] ? intsOf(inputs[1], ctx, 'split') : undefined) : ctx.ints('split');
  if (split) {
    if (split.length !== nOut) throw ctx.error(`split ${shapeStr(split)} has ${split.length} entries for ${nOut} outputs`);
    if (split.some((s) => !Number.isSafeInteger(s) || s < 0)) throw ctx.error(`split ${shapeStr(split)} has a negative entry`);
    if (split.reduce((a, b) => a + b, 0) !== dim) throw ctx.error(`split ${shapeStr(split)} does not sum to dimension ${dim}`);
  } else {
    const n = ctx.opset >= 18 ? ctx.int('num_outputs', nOut) : nOut;
    if (n !== nOut) throw ctx.error(`num_outputs ${n} does not match the node's ${nOut} outputs`);
    if (n < 1) throw ctx.error('Split needs at least one output');
    if (dim % n === 0) split = new Array<number>(n).fill(dim / n);
    else {
      if (ctx.opset < 18) throw ctx.error(`dimension ${dim} cannot be split evenly into ${n} outputs`);
      const c = Math.ceil(dim / n);
      const last = dim - c * (n - 1);
      if (last < 0) throw ctx.error(`dimension ${dim} cannot be split into ${n} chunks of ${c}`);
      split = new Array<number>(n).fill(c);
      split[n - 1] = last;
    }
  }
  const outer = prod(x.shape, 0, axis);
  const inner = prod(x.shape, axis + 1);
  const inBlock = dim * inner;
  const src = buf(x);
  const outs: Tensor[] = [];
  let offset = 0;
  for (const s of split) {
    const shape = [...x.shape];
    shape[axis] = s;
    const out = ctx.alloc(x.dtype, shape);
    const dst = buf(out);
    const block = s * inner;
    if (block >= SET_MIN || outer === 1) {
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * inBlock + offset, o * inBlock + offset + block), o * block);
    } else {
      for (let o = 0; o < outer; o++) {
        const so = o * inBlock + offset;
        const dO = o * block;
        for (let k = 0; k < block; k++) dst[dO + k] = src[so + k]!;
      }
    }
    offset += block;
    outs.push(out);
  }
  return outs;
};

/** Bidirectional (numpy) broadcast of two shapes, with a node-labelled error. */
export function broadcastTwo(ctx: KernelContext, a: readonly number[], b: readonly number[]): number[] {
  const out = tryBroadcastShapes([a, b]);
  if (!out) throw ctx.error(`shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast`, { shapes: [[...a], [...b]] });
  return out;
}

const Expand: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const shape = intsOf(need(inputs, 1, ctx, 'shape'), ctx, 'shape');
  checkShape(ctx, shape, 'shape');
  const outShape = broadcastTwo(ctx, x.shape, shape);
  if (sameShape(outShape, x.shape)) return [new Tensor(x.dtype, outShape, x.data)];
  return [gatherView(ctx, x, 0, broadcastStrides(x.shape, outShape), outShape)];
};

/** Tile: output viewed as [r0, d0, r1, d1, ...] reading input strides [0, s0, 0, s1, ...]. */
const Tile: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const reps = intsOf(need(inputs, 1, ctx, 'repeats'), ctx, 'repeats');
  if (reps.length !== x.rank) throw ctx.error(`repeats ${shapeStr(reps)} must have one entry per input axis (rank ${x.rank})`);
  checkShape(ctx, reps, 'repeats');
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const inStrides = stridesOf(x.shape);
  const viewShape: number[] = [];
  const viewStrides: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    viewShape.push(reps[i]!, x.shape[i]!);
    viewStrides.push(0, inStrides[i]!);
  }
  const out = ctx.alloc(x.dtype, outShape);
  copyBox(buf(x), 0, viewStrides, buf(out), 0, stridesOf(viewShape), viewShape);
  return [out];
};

// ---------------------------------------------------------------------------
// Pad, CenterCropPad
// ---------------------------------------------------------------------------

/**
 * Pad (constant / reflect / edge / wrap). Negative pads crop first; positive pads then
 * extend the cropped tensor: reflect mirrors without repeating the edge (numpy
 * 'reflect', periodic with period 2(n-1); n = 1 repeats the element), edge clamps,
 * wrap is periodic with period n. Non-constant modes need a non-empty axis to pad.
 */
const Pad: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const r = x.rank;
  const mode = ctx.string('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap') throw ctx.error(`unknown mode ${mode}`);
  let pads: number[];
  let cval: number | bigint = x.dtype === DType.int64 || x.dtype === DType.uint64 ? 0n : 0;
  let axes: number[] = x.shape.map((_, i) => i);
  if (ctx.opset < 11) {
    const p = ctx.ints('pads') ?? ctx.ints('paddings');
    if (!p) throw ctx.error('missing attribute pads');
    pads = p;
    cval = storageValue(x.dtype, ctx.float('value', 0));
  } else {
    pads = intsOf(need(inputs, 1, ctx, 'pads'), ctx, 'pads');
    const cv = inputs[2];
    if (cv && cv.size > 0) {
      if (cv.dtype !== x.dtype) throw ctx.error(`constant_value dtype ${dtypeName(cv.dtype)} does not match data dtype ${dtypeName(x.dtype)}`);
      if (cv.size !== 1) throw ctx.error('constant_value must be a scalar');
      cval = buf(cv)[0]!;
    }
    if (inputs[3]) axes = axesOf(ctx, intsOf(inputs[3], ctx, 'axes'), r);
  }
  const na = axes.length;
  if (pads.length !== 2 * na) throw ctx.error(`pads ${shapeStr(pads)} must have ${2 * na} entries`);
  const begin = new Array<number>(r).fill(0);
  const end = new Array<number>(r).fill(0);
  axes.forEach((a, i) => {
    begin[a] = pads[i]!;
    end[a] = pads[i + na]!;
  });
  // crop region [lo, hi) per axis, then positive pads pb/pe
  const lo = new Array<number>(r);
  const len = new Array<number>(r);
  const pb = new Array<number>(r);
  const outShape = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const b = begin[i]!;
    const e = end[i]!;
    if (!Number.isSafeInteger(b) || !Number.isSafeInteger(e)) throw ctx.error(`invalid pads ${shapeStr(pads)}`);
    lo[i] = Math.max(0, -b);
    len[i] = x.shape[i]! - lo[i]! - Math.max(0, -e);
    if (len[i]! < 0) throw ctx.error(`pads ${shapeStr(pads)} remove more than axis ${i} holds (size ${x.shape[i]})`);
    pb[i] = Math.max(0, b);
    outShape[i] = len[i]! + pb[i]! + Math.max(0, e);
    if (mode !== 'constant' && len[i] === 0 && outShape[i]! > 0) throw ctx.error(`cannot ${mode}-pad an empty axis ${i}`);
  }
  const out = ctx.alloc(x.dtype, outShape);
  const dst = buf(out);
  const src = buf(x);
  const inStrides = stridesOf(x.shape);
  const outStrides = stridesOf(outShape);
  if (mode === 'constant') {
    if (out.size > 0 && cval !== 0 && cval !== 0n) dst.fill(cval);
    let so = 0;
    let dO = 0;
    for (let i = 0; i < r; i++) {
      so += lo[i]! * inStrides[i]!;
      dO += pb[i]! * outStrides[i]!;
    }
    copyBox(src, so, inStrides, dst, dO, outStrides, len);
    return [out];
  }
  if (out.size === 0) return [out];
  // index maps: output coordinate -> input coordinate * stride, per axis
  const maps = outShape.map((n, i) => {
    const m = new Float64Array(n);
    const L = len[i]!;
    for (let o = 0; o < n; o++) {
      let k = o - pb[i]!;
      if (k < 0 || k >= L) {
        if (mode === 'edge') k = k < 0 ? 0 : L - 1;
        else if (mode === 'wrap') k = ((k % L) + L) % L;
        else if (L === 1) k = 0;
        else {
          const p = 2 * (L - 1);
          k = ((k % p) + p) % p;
          if (k >= L) k = p - k;
        }
      }
      m[o] = (lo[i]! + k) * inStrides[i]!;
    }
    return m;
  });
  if (r === 0) {
    dst[0] = src[0]!;
    return [out];
  }
  const inner = outShape[r - 1]!;
  const im = maps[r - 1]!;
  const cnt = new Array<number>(r).fill(0);
  let base = 0;
  for (let i = 0; i < r - 1; i++) base += maps[i]![0]!;
  for (let o = 0; o < out.size; o += inner) {
    for (let t = 0; t < inner; t++) dst[o + t] = src[base + im[t]!]!;
    for (let ax = r - 2; ax >= 0; ax--) {
      const m = maps[ax]!;
      base -= m[cnt[ax]!]!;
      if (++cnt[ax]! < outShape[ax]!) {
        base += m[cnt[ax]!]!;
        break;
      }
      cnt[ax] = 0;
      base += m[0]!;
    }
  }
  return [out];
};

/** CenterCropPad: crop offset floor((dim-target)/2), pad offset floor((target-dim)/2), zero fill. */
const CenterCropPad: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input_data');
  const target = intsOf(need(inputs, 1, ctx, 'shape'), ctx, 'shape');
  const axes = axesOf(ctx, ctx.ints('axes') ?? x.shape.map((_, i) => i), x.rank);
  if (target.length !== axes.length) throw ctx.error(`shape ${shapeStr(target)} must have one entry per axis (${axes.length})`);
  checkShape(ctx, target, 'shape');
  const r = x.rank;
  const outShape = [...x.shape];
  const copyShape = [...x.shape];
  const srcStart = new Array<number>(r).fill(0);
  const dstStart = new Array<number>(r).fill(0);
  axes.forEach((a, i) => {
    const dim = x.shape[a]!;
    const t = target[i]!;
    outShape[a] = t;
    copyShape[a] = Math.min(dim, t);
    if (t < dim) srcStart[a] = Math.floor((dim - t) / 2);
    else dstStart[a] = Math.floor((t - dim) / 2);
  });
  const out = ctx.alloc(x.dtype, outShape);
  const is = stridesOf(x.shape);
  const os = stridesOf(outShape);
  let so = 0;
  let dO = 0;
  for (let i = 0; i < r; i++) {
    so += srcStart[i]! * is[i]!;
    dO += dstStart[i]! * os[i]!;
  }
  copyBox(buf(x), so, is, buf(out), dO, os, copyShape);
  return [out];
};

// ---------------------------------------------------------------------------
// Shape, Size, Constant, ConstantOfShape, Range, EyeLike, Trilu
// ---------------------------------------------------------------------------

const Shape: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const r = x.rank;
  let start = 0;
  let end = r;
  if (ctx.opset >= 15) {
    const clamp = (v: number): number => Math.min(r, Math.max(0, v < 0 ? v + r : v));
    start = clamp(ctx.int('start', 0));
    const e = ctx.int('end');
    end = e === undefined ? r : clamp(e);
  }
  const dims = x.shape.slice(start, Math.max(start, end));
  const out = ctx.alloc(DType.int64, [dims.length]);
  const d = out.data as BigInt64Array;
  dims.forEach((v, i) => (d[i] = BigInt(v)));
  return [out];
};

const Size: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const out = ctx.alloc(DType.int64, []);
  (out.data as BigInt64Array)[0] = BigInt(x.size);
  return [out];
};

const Constant: Kernel = (_inputs, ctx) => {
  const t = ctx.tensor('value');
  if (t) return [t];
  if (ctx.has('sparse_value')) throw ctx.unsupported('Constant with sparse_value is not supported');
  if (ctx.has('value_string') || ctx.has('value_strings')) throw ctx.unsupported('string tensors are not supported');
  const f = ctx.float('value_float');
  if (f !== undefined && ctx.has('value_float')) return [new Tensor(DType.float32, [], Float32Array.of(f))];
  const fs = ctx.floats('value_floats');
  if (fs) return [new Tensor(DType.float32, [fs.length], Float32Array.from(fs))];
  const i = ctx.int('value_int');
  if (i !== undefined) return [new Tensor(DType.int64, [], BigInt64Array.of(BigInt(i)))];
  const is = ctx.ints('value_ints');
  if (is) return [new Tensor(DType.int64, [is.length], BigInt64Array.from(is, (v) => BigInt(v)))];
  throw ctx.error('Constant has no value attribute');
};

const ConstantOfShape: Kernel = (inputs, ctx) => {
  const s = need(inputs, 0, ctx, 'input');
  const shape = intsOf(s, ctx, 'shape');
  checkShape(ctx, shape, 'shape');
  const v = ctx.tensor('value');
  if (v && v.size !== 1) throw ctx.error(`value must hold one element, got shape ${shapeStr(v.shape)}`);
  const dtype = v ? v.dtype : DType.float32;
  const out = ctx.alloc(dtype, shape);
  if (v && out.size > 0) {
    const val = buf(v)[0]!;
    if (val !== 0 && val !== 0n) buf(out).fill(val);
  }
  return [out];
};

/**
 * Range, following the ONNX function definition:
 *   n = max(ceil((limit - start) / delta), 0); x = start; for i < n: y[i] = x; x = x + delta
 * float32: n = ceil(f32(f32(limit - start) / delta)) and x = f32(x + delta) (sequential
 * accumulation, not start + i*delta); float64 the same in doubles; integer types exact
 * (n = ceil of the exact rational, values start + i*delta, which never overflow).
 * float16 is compute -> unsupported. delta = 0 or a non-finite count -> INVALID_ARGUMENT.
 */
const Range: Kernel = (inputs, ctx) => {
  const s = need(inputs, 0, ctx, 'start');
  const l = need(inputs, 1, ctx, 'limit');
  const d = need(inputs, 2, ctx, 'delta');
  const dt = s.dtype;
  if (l.dtype !== dt || d.dtype !== dt) throw ctx.error('start, limit and delta must have the same dtype');
  for (const [t, n] of [[s, 'start'], [l, 'limit'], [d, 'delta']] as const) if (t.size !== 1) throw ctx.error(`${n} must be a scalar`);
  if (dt === DType.float16) throw ctx.unsupported('Range on float16 (arithmetic) is not supported');
  if (dt === DType.int64) {
    const a = (s.data as BigInt64Array)[0]!;
    const b = (l.data as BigInt64Array)[0]!;
    const c = (d.data as BigInt64Array)[0]!;
    if (c === 0n) throw ctx.error('delta must not be 0');
    const num = b - a;
    // ceil(num / c) for bigints (division truncates toward zero)
    let q = num / c;
    if (q * c !== num && (num > 0n) === (c > 0n)) q += 1n;
    if (q < 0n) q = 0n;
    if (q > BigInt(Number.MAX_SAFE_INTEGER)) throw ctx.error(`Range of ${q} elements is too large`);
    const n = Number(q);
    const out = ctx.alloc(dt, [n]);
    const o = out.data as BigInt64Array;
    let x = a;
    for (let i = 0; i < n; i++, x += c) o[i] = x;
    return [out];
  }
  if (dt !== DType.float32 && dt !== DType.float64 && dt !== DType.int32 && dt !== DType.int16) {
    throw ctx.error(`Range does not accept dtype ${dtypeName(dt)}`);
  }
  const a = Number(buf(s)[0]!);
  const b = Number(buf(l)[0]!);
  const c = Number(buf(d)[0]!);
  if (c === 0) throw ctx.error('delta must not be 0');
  let count: number;
  if (dt === DType.float32) count = Math.ceil(Math.fround(Math.fround(b - a) / c));
  else if (dt === DType.float64) count = Math.ceil((b - a) / c);
  else {
    const num = b - a; // exact: |num| < 2^32
    count = Math.floor(num / c);
    if (count * c !== num) count += 1; // ceil of the exact rational (num/c is correctly rounded)
  }
  if (Number.isNaN(count) || count === Infinity || count > Number.MAX_SAFE_INTEGER) throw ctx.error(`Range element count ${count} is invalid`);
  const n = Math.max(count, 0);
  const out = ctx.alloc(dt, [n]);
  const o = buf(out);
  if (dt === DType.float32) {
    let x = a;
    for (let i = 0; i < n; i++) {
      o[i] = x;
      x = Math.fround(x + c);
    }
  } else if (dt === DType.float64) {
    let x = a;
    for (let i = 0; i < n; i++) {
      o[i] = x;
      x += c;
    }
  } else {
    for (let i = 0; i < n; i++) o[i] = a + i * c;
  }
  return [out];
};

const EyeLike: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  if (x.rank !== 2) throw ctx.error(`EyeLike needs a 2-D input, got shape ${shapeStr(x.shape)}`);
  const code = ctx.int('dtype');
  let dtype: DType = x.dtype;
  if (code !== undefined) {
    if (!isDType(code)) throw ctx.unsupported(`dtype ${dtypeName(code)} is not supported`);
    dtype = code;
  }
  const k = ctx.int('k', 0);
  const [rows, cols] = x.shape as [number, number];
  const out = ctx.alloc(dtype, [rows, cols]);
  const o = buf(out);
  const one = oneOf(dtype);
  for (let i = 0; i < rows; i++) {
    const j = i + k;
    if (j >= 0 && j < cols) o[i * cols + j] = one;
  }
  return [out];
};

/** Trilu: keeps element (i, j) of each trailing matrix iff j - i >= k (upper) or j - i <= k (lower), else 0. */
const Trilu: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  if (x.rank < 2) throw ctx.error(`Trilu needs rank >= 2, got shape ${shapeStr(x.shape)}`);
  const k = inputs[1] ? intScalar(inputs[1], ctx, 'k') : 0;
  const upper = ctx.int('upper', 1) !== 0;
  const rows = x.shape[x.rank - 2]!;
  const cols = x.shape[x.rank - 1]!;
  const out = ctx.alloc(x.dtype, x.shape);
  const src = buf(x);
  const dst = buf(out);
  const mats = prod(x.shape, 0, x.rank - 2);
  for (let m = 0; m < mats; m++) {
    for (let i = 0; i < rows; i++) {
      const row = (m * rows + i) * cols;
      // kept columns [j0, j1)
      const j0 = upper ? Math.min(cols, Math.max(0, i + k)) : 0;
      const j1 = upper ? cols : Math.min(cols, Math.max(0, i + k + 1));
      for (let j = j0; j < j1; j++) dst[row + j] = src[row + j]!;
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// DepthToSpace, SpaceToDepth, ReverseSequence, NonZero, Compress
// ---------------------------------------------------------------------------

function blockArgs(ctx: KernelContext, x: Tensor): [number, number, number, number, number] {
  if (x.rank !== 4) throw ctx.error(`input must be 4-D [N,C,H,W], got shape ${shapeStr(x.shape)}`);
  const b = ctx.int('blocksize');
  if (b === undefined) throw ctx.error('missing attribute blocksize');
  if (!Number.isInteger(b) || b < 1) throw ctx.error(`blocksize ${b} must be >= 1`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return [b, n, c, h, w];
}

const DepthToSpace: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const [b, n, c, h, w] = blockArgs(ctx, x);
  if (c % (b * b) !== 0) throw ctx.error(`channels ${c} are not divisible by blocksize^2 = ${b * b}`);
  const cc = c / (b * b);
  const mode = ctx.string('mode', 'DCR');
  const hw = h * w;
  // output viewed as [N, C', H, b1, W, b2]; source strides of each of those axes
  let strides: number[];
  if (mode === 'DCR') strides = [c * hw, hw, w, b * cc * hw, 1, cc * hw];
  else if (mode === 'CRD') strides = [c * hw, b * b * hw, w, b * hw, 1, hw];
  else throw ctx.error(`unknown mode ${mode}`);
  const out = gatherView(ctx, x, 0, strides, [n, cc, h, b, w, b]);
  return [new Tensor(x.dtype, [n, cc, h * b, w * b], out.data)];
};

const SpaceToDepth: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const [b, n, c, h, w] = blockArgs(ctx, x);
  if (h % b !== 0 || w % b !== 0) throw ctx.error(`spatial dims ${h}x${w} are not divisible by blocksize ${b}`);
  const hw = h * w;
  // output viewed as [N, b1, b2, C, H', W']
  const strides = [c * hw, w, 1, hw, b * w, b];
  const out = gatherView(ctx, x, 0, strides, [n, b, b, c, h / b, w / b]);
  return [new Tensor(x.dtype, [n, c * b * b, h / b, w / b], out.data)];
};

const ReverseSequence: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'input');
  const lens = intsOf(need(inputs, 1, ctx, 'sequence_lens'), ctx, 'sequence_lens');
  if (x.rank < 2) throw ctx.error(`input must have rank >= 2, got shape ${shapeStr(x.shape)}`);
  const batchAxis = ctx.int('batch_axis', 1);
  const timeAxis = ctx.int('time_axis', 0);
  if (!((batchAxis === 0 && timeAxis === 1) || (batchAxis === 1 && timeAxis === 0))) {
    throw ctx.error(`batch_axis ${batchAxis} / time_axis ${timeAxis} must be 0 and 1 in some order`);
  }
  const B = x.shape[batchAxis]!;
  const T = x.shape[timeAxis]!;
  if (lens.length !== B) throw ctx.error(`sequence_lens has ${lens.length} entries for batch size ${B}`);
  const inner = prod(x.shape, 2);
  const out = ctx.alloc(x.dtype, x.shape);
  const src = buf(x);
  const dst = buf(out);
  const at = timeAxis === 0 ? (b: number, t: number) => (t * B + b) * inner : (b: number, t: number) => (b * T + t) * inner;
  for (let b = 0; b < B; b++) {
    const L = lens[b]!;
    if (!Number.isInteger(L) || L < 0 || L > T) throw ctx.error(`sequence_lens[${b}] = ${L} is out of range [0, ${T}]`, { index: L });
    for (let t = 0; t < T; t++) {
      const st = t < L ? L - 1 - t : t;
      const so = at(b, st);
      const dO = at(b, t);
      for (let k = 0; k < inner; k++) dst[dO + k] = src[so + k]!;
    }
  }
  return [out];
};

/** Whether each element is non-zero (NaN is non-zero, -0 is zero; float16 by its bits). */
export function truthMask(x: Tensor): Uint8Array {
  const n = x.size;
  const m = new Uint8Array(n);
  if (x.dtype === DType.float16) {
    const d = x.data as Uint16Array;
    for (let i = 0; i < n; i++) m[i] = (d[i]! & 0x7fff) !== 0 ? 1 : 0;
  } else if (dtypeKind(x.dtype) === 'bigint') {
    const d = x.data as BigInt64Array;
    for (let i = 0; i < n; i++) m[i] = d[i] !== 0n ? 1 : 0;
  } else {
    const d = x.data as Float64Array;
    for (let i = 0; i < n; i++) m[i] = d[i] !== 0 ? 1 : 0;
  }
  return m;
}

/** NonZero: int64 [rank, nnz] coordinates in row-major order; a scalar counts as shape [1]. */
const NonZero: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const m = truthMask(x);
  let nnz = 0;
  for (let i = 0; i < m.length; i++) nnz += m[i]!;
  const shape = x.rank === 0 ? [1] : x.shape;
  const r = shape.length;
  const out = ctx.alloc(DType.int64, [r, nnz]);
  const o = out.data as BigInt64Array;
  const cnt = new Array<number>(r).fill(0);
  let j = 0;
  for (let i = 0; i < m.length; i++) {
    if (m[i]) {
      for (let a = 0; a < r; a++) o[a * nnz + j] = BigInt(cnt[a]!);
      j++;
    }
    for (let a = r - 1; a >= 0; a--) {
      if (++cnt[a]! < shape[a]!) break;
      cnt[a] = 0;
    }
  }
  return [out];
};

/**
 * Compress: keeps the slices along `axis` (or elements of the flattened input) whose
 * condition entry is true. A shorter condition drops the rest; a longer one is
 * accepted only if the extra entries are false.
 */
const Compress: Kernel = (inputs, ctx) => {
  let x = need(inputs, 0, ctx, 'input');
  const c = need(inputs, 1, ctx, 'condition');
  if (c.rank !== 1) throw ctx.error(`condition must be 1-D, got shape ${shapeStr(c.shape)}`);
  const cond = truthMask(c);
  const axisAttr = ctx.int('axis');
  let axis: number;
  if (axisAttr === undefined) {
    x = new Tensor(x.dtype, [x.size], x.data);
    axis = 0;
  } else {
    if (x.rank === 0) throw ctx.error('cannot compress a scalar along an axis');
    axis = axisOf(ctx, axisAttr, x.rank);
  }
  const dim = x.shape[axis]!;
  for (let i = dim; i < cond.length; i++) if (cond[i]) throw ctx.error(`condition is true at ${i}, beyond axis size ${dim}`, { index: i });
  const keep: number[] = [];
  for (let i = 0; i < Math.min(dim, cond.length); i++) if (cond[i]) keep.push(i);
  const outShape = [...x.shape];
  outShape[axis] = keep.length;
  const out = ctx.alloc(x.dtype, outShape);
  const outer = prod(x.shape, 0, axis);
  const inner = prod(x.shape, axis + 1);
  const src = buf(x);
  const dst = buf(out);
  let dO = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      const so = (o * dim + k) * inner;
      if (inner >= SET_MIN) dst.set(src.subarray(so, so + inner), dO);
      else for (let t = 0; t < inner; t++) dst[dO + t] = src[so + t]!;
      dO += inner;
    }
  }
  return [out];
};

export const ops: KernelTable = {
  Identity,
  Dropout,
  Flatten,
  Reshape,
  Squeeze,
  Unsqueeze,
  Transpose,
  Concat,
  Split,
  Expand,
  Tile,
  Pad,
  CenterCropPad,
  Shape,
  Size,
  Constant,
  ConstantOfShape,
  Range,
  EyeLike,
  Trilu,
  DepthToSpace,
  SpaceToDepth,
  ReverseSequence,
  NonZero,
  Compress,
};
