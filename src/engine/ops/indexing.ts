/**
 * Indexing: Gather / GatherElements / GatherND, Scatter* (with reductions), OneHot,
 * Slice, Unique. Gathers and Slice are pure data movement (all dtypes, float16 as raw
 * bits). Index tensors may be int32 or int64; negative indices are wrapped once
 * (i + dim) and anything still outside [0, dim) is an INVALID_ARGUMENT error naming
 * the offending index.
 */
import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { DType, dtypeKind, dtypeName } from '../../tensor/dtype.js';
import { float16ToNumber } from '../../tensor/float16.js';
import { stridesOf, Tensor } from '../../tensor/tensor.js';
import { buf, gatherView, type Buf } from './shape.js';
import { axisOf, intsOf, need, prod, shapeStr } from './util.js';

const SET_MIN = 24;

/** Reads an int32/int64 index tensor into plain numbers (validated later by wrapIndex). */
function indexValues(ctx: KernelContext, t: Tensor, what: string): Float64Array {
  if (t.dtype !== DType.int64 && t.dtype !== DType.int32) throw ctx.error(`${what} must be int32 or int64, got ${dtypeName(t.dtype)}`);
  const d = buf(t);
  const out = new Float64Array(t.size);
  for (let i = 0; i < t.size; i++) out[i] = Number(d[i]!);
  return out;
}

function wrapIndex(ctx: KernelContext, v: number, dim: number, what: string, raw: Tensor, pos: number): number {
  const w = v < 0 ? v + dim : v;
  if (!(w >= 0 && w < dim)) {
    throw ctx.error(`${what} ${String(buf(raw)[pos])} is out of range for a dimension of size ${dim}`, {
      index: String(buf(raw)[pos]),
      position: pos,
      dim,
    });
  }
  return w;
}

/** Copies `n` elements src[so..] -> dst[dO..]. */
function run(src: Buf, so: number, dst: Buf, dO: number, n: number): void {
  if (n >= SET_MIN) dst.set(src.subarray(so, so + n), dO);
  else for (let t = 0; t < n; t++) dst[dO + t] = src[so + t]!;
}

// ---------------------------------------------------------------------------
// Gather family
// ---------------------------------------------------------------------------

/** Gather: out[o, j..., i] = data[o, idx[j...], i]. */
const Gather: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const ind = need(inputs, 1, ctx, 'indices');
  if (x.rank === 0) throw ctx.error('Gather data must have rank >= 1');
  const axis = axisOf(ctx, ctx.int('axis', 0), x.rank);
  const dim = x.shape[axis]!;
  const iv = indexValues(ctx, ind, 'indices');
  for (let j = 0; j < iv.length; j++) iv[j] = wrapIndex(ctx, iv[j]!, dim, 'index', ind, j);
  const outShape = [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)];
  const out = ctx.alloc(x.dtype, outShape);
  const outer = prod(x.shape, 0, axis);
  const inner = prod(x.shape, axis + 1);
  const src = buf(x);
  const dst = buf(out);
  const m = iv.length;
  let dO = 0;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * dim;
      for (let j = 0; j < m; j++) dst[dO++] = src[base + iv[j]!]!;
    }
  } else {
    for (let o = 0; o < outer; o++) {
      const base = o * dim;
      for (let j = 0; j < m; j++, dO += inner) run(src, (base + iv[j]!) * inner, dst, dO, inner);
    }
  }
  return [out];
};

/**
 * Walks every position of `shape` (row-major), calling f(flat, base) where `base` is
 * the offset in a tensor with `strides` of the position with the `axis` coordinate
 * set to 0. Used by GatherElements / ScatterElements.
 */
function axisWalk(shape: readonly number[], strides: readonly number[], axis: number, f: (flat: number, base: number) => void): void {
  const r = shape.length;
  const n = prod(shape);
  if (n === 0) return;
  const cnt = new Array<number>(r).fill(0);
  let base = 0;
  for (let i = 0; i < n; i++) {
    f(i, base);
    for (let a = r - 1; a >= 0; a--) {
      const s = a === axis ? 0 : strides[a]!;
      base += s;
      if (++cnt[a]! < shape[a]!) break;
      base -= s * shape[a]!;
      cnt[a] = 0;
    }
  }
}

function elementsArgs(ctx: KernelContext, x: Tensor, ind: Tensor): number {
  if (x.rank === 0) throw ctx.error('data must have rank >= 1');
  if (ind.rank !== x.rank) throw ctx.error(`indices rank ${ind.rank} must equal data rank ${x.rank}`);
  const axis = axisOf(ctx, ctx.int('axis', 0), x.rank);
  for (let a = 0; a < x.rank; a++) {
    if (a !== axis && ind.shape[a]! > x.shape[a]!) {
      throw ctx.error(`indices shape ${shapeStr(ind.shape)} exceeds data shape ${shapeStr(x.shape)} on axis ${a}`);
    }
  }
  return axis;
}

/** GatherElements: out[p] = data[p with axis coordinate replaced by idx[p]]. */
const GatherElements: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const ind = need(inputs, 1, ctx, 'indices');
  const axis = elementsArgs(ctx, x, ind);
  const dim = x.shape[axis]!;
  const iv = indexValues(ctx, ind, 'indices');
  for (let j = 0; j < iv.length; j++) iv[j] = wrapIndex(ctx, iv[j]!, dim, 'index', ind, j);
  const out = ctx.alloc(x.dtype, ind.shape);
  const src = buf(x);
  const dst = buf(out);
  const xs = stridesOf(x.shape);
  const sa = xs[axis]!;
  axisWalk(ind.shape, xs, axis, (i, base) => {
    dst[i] = src[base + iv[i]! * sa]!;
  });
  return [out];
};

/** GatherND with batch_dims b: out[batch, j..., tail] = data[batch, idx[batch, j...], tail]. */
const GatherND: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const ind = need(inputs, 1, ctx, 'indices');
  const b = ctx.opset >= 12 ? ctx.int('batch_dims', 0) : 0;
  const r = x.rank;
  const q = ind.rank;
  if (r < 1 || q < 1) throw ctx.error('data and indices must have rank >= 1');
  if (!Number.isInteger(b) || b < 0 || b >= Math.min(r, q)) throw ctx.error(`batch_dims ${b} must be in [0, min(rank(data), rank(indices)) - 1]`);
  const k = ind.shape[q - 1]!;
  if (k < 1 || k > r - b) throw ctx.error(`indices last dimension ${k} must be in [1, ${r - b}]`);
  for (let i = 0; i < b; i++) {
    if (ind.shape[i] !== x.shape[i]) throw ctx.error(`batch dimension ${i} differs: data ${shapeStr(x.shape)}, indices ${shapeStr(ind.shape)}`);
  }
  const outShape = [...ind.shape.slice(0, q - 1), ...x.shape.slice(b + k)];
  const out = ctx.alloc(x.dtype, outShape);
  const iv = indexValues(ctx, ind, 'indices');
  const xs = stridesOf(x.shape);
  const batches = prod(x.shape, 0, b);
  const batchStride = b > 0 ? xs[b - 1]! : 0;
  const perBatch = prod(ind.shape, b, q - 1);
  const inner = prod(x.shape, b + k);
  const src = buf(x);
  const dst = buf(out);
  let p = 0;
  let dO = 0;
  for (let bi = 0; bi < batches; bi++) {
    for (let j = 0; j < perBatch; j++, dO += inner) {
      let off = bi * batchStride;
      for (let t = 0; t < k; t++, p++) off += wrapIndex(ctx, iv[p]!, x.shape[b + t]!, 'index', ind, p) * xs[b + t]!;
      run(src, off, dst, dO, inner);
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// Scatter family
// ---------------------------------------------------------------------------

const enum Red {
  None,
  Add,
  Mul,
  Max,
  Min,
}

function reductionOf(ctx: KernelContext, dtype: DType): Red {
  const s = ctx.opset >= 16 ? ctx.string('reduction', 'none') : 'none';
  const r = { none: Red.None, add: Red.Add, mul: Red.Mul, max: Red.Max, min: Red.Min }[s];
  if (r === undefined || (ctx.opset < 18 && (r === Red.Max || r === Red.Min))) throw ctx.error(`unknown reduction ${s}`);
  if (r !== Red.None && dtype === DType.float16) throw ctx.unsupported(`reduction ${s} on float16 (arithmetic) is not supported`);
  return r;
}

/**
 * out[pos] = reduce(out[pos], v), in the dtype's arithmetic:
 * float32 add/mul rounded to float32 (Float32Array store), float64 in doubles,
 * integers wrap (32-bit multiply via Math.imul, 64-bit via BigInt64Array stores),
 * bool add/max = or, mul/min = and. max/min propagate NaN from either side;
 * on ties (including -0 vs +0) the existing value is kept.
 */
function combine(dst: Buf, pos: number, v: number | bigint, red: Red, imul: boolean): void {
  if (red === Red.None) {
    dst[pos] = v;
    return;
  }
  const a = dst[pos]!;
  switch (red) {
    case Red.Add:
      dst[pos] = (a as number) + (v as number);
      return;
    case Red.Mul:
      dst[pos] = imul ? Math.imul(a as number, v as number) : (a as number) * (v as number);
      return;
    case Red.Max:
      if (a !== a) return;
      if (v !== v || v > a) dst[pos] = v;
      return;
    case Red.Min:
      if (a !== a) return;
      if (v !== v || v < a) dst[pos] = v;
      return;
  }
}

function scatterPrep(ctx: KernelContext, x: Tensor): { out: Tensor; red: Red; imul: boolean; bool: boolean } {
  const red = reductionOf(ctx, x.dtype);
  const out = ctx.alloc(x.dtype, x.shape);
  buf(out).set(buf(x));
  const imul = x.dtype === DType.int32 || x.dtype === DType.uint32;
  return { out, red, imul, bool: x.dtype === DType.bool };
}

function boolRed(red: Red): Red {
  return red === Red.Add || red === Red.Max ? Red.Max : red === Red.Mul || red === Red.Min ? Red.Min : red;
}

/** ScatterElements (and the deprecated Scatter): updates applied in increasing flat update index. */
const ScatterElements: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const ind = need(inputs, 1, ctx, 'indices');
  const upd = need(inputs, 2, ctx, 'updates');
  const axis = elementsArgs(ctx, x, ind);
  if (upd.dtype !== x.dtype) throw ctx.error(`updates dtype ${dtypeName(upd.dtype)} differs from data dtype ${dtypeName(x.dtype)}`);
  if (upd.shape.length !== ind.shape.length || upd.shape.some((d, i) => d !== ind.shape[i])) {
    throw ctx.error(`updates shape ${shapeStr(upd.shape)} must equal indices shape ${shapeStr(ind.shape)}`);
  }
  const dim = x.shape[axis]!;
  const iv = indexValues(ctx, ind, 'indices');
  for (let j = 0; j < iv.length; j++) iv[j] = wrapIndex(ctx, iv[j]!, dim, 'index', ind, j);
  const { out, red, imul, bool } = scatterPrep(ctx, x);
  const r = bool ? boolRed(red) : red;
  const dst = buf(out);
  const u = buf(upd);
  const xs = stridesOf(x.shape);
  const sa = xs[axis]!;
  axisWalk(ind.shape, xs, axis, (i, base) => combine(dst, base + iv[i]! * sa, u[i]!, r, imul));
  return [out];
};

/** ScatterND: update tuples applied in increasing order of their position in indices. */
const ScatterND: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const ind = need(inputs, 1, ctx, 'indices');
  const upd = need(inputs, 2, ctx, 'updates');
  const r = x.rank;
  const q = ind.rank;
  if (r < 1 || q < 1) throw ctx.error('data and indices must have rank >= 1');
  const k = ind.shape[q - 1]!;
  if (k > r) throw ctx.error(`indices last dimension ${k} exceeds data rank ${r}`);
  if (upd.dtype !== x.dtype) throw ctx.error(`updates dtype ${dtypeName(upd.dtype)} differs from data dtype ${dtypeName(x.dtype)}`);
  const want = [...ind.shape.slice(0, q - 1), ...x.shape.slice(k)];
  if (upd.shape.length !== want.length || upd.shape.some((d, i) => d !== want[i])) {
    throw ctx.error(`updates shape ${shapeStr(upd.shape)} must be ${shapeStr(want)}`);
  }
  const iv = indexValues(ctx, ind, 'indices');
  const { out, red, imul, bool } = scatterPrep(ctx, x);
  const rd = bool ? boolRed(red) : red;
  const dst = buf(out);
  const u = buf(upd);
  const xs = stridesOf(x.shape);
  const inner = prod(x.shape, k);
  const tuples = prod(ind.shape, 0, q - 1);
  let p = 0;
  for (let j = 0; j < tuples; j++) {
    let off = 0;
    for (let t = 0; t < k; t++, p++) off += wrapIndex(ctx, iv[p]!, x.shape[t]!, 'index', ind, p) * xs[t]!;
    const uo = j * inner;
    if (rd === Red.None) run(u, uo, dst, off, inner);
    else for (let e = 0; e < inner; e++) combine(dst, off + e, u[uo + e]!, rd, imul);
  }
  return [out];
};

// ---------------------------------------------------------------------------
// OneHot
// ---------------------------------------------------------------------------

/**
 * OneHot: depth inserted at `axis`; index values are truncated to integers (float
 * indices), negatives wrapped once by depth; values outside [-depth, depth) give an
 * all-off row (per the spec, not an error).
 */
const OneHot: Kernel = (inputs, ctx) => {
  const ind = need(inputs, 0, ctx, 'indices');
  const dep = need(inputs, 1, ctx, 'depth');
  const vals = need(inputs, 2, ctx, 'values');
  if (dep.size !== 1) throw ctx.error('depth must be a scalar');
  if (vals.size !== 2 || vals.rank !== 1) throw ctx.error(`values must have shape [2], got ${shapeStr(vals.shape)}`);
  const dv = dep.dtype === DType.float16 ? float16ToNumber((dep.data as Uint16Array)[0]!) : Number(buf(dep)[0]!);
  const depth = Math.trunc(dv);
  if (!Number.isSafeInteger(depth) || depth < 1) throw ctx.error(`depth ${dv} must be >= 1`);
  const r = ind.rank;
  const axis = axisOf(ctx, ctx.int('axis', -1), r + 1, 'axis');
  const outShape = [...ind.shape.slice(0, axis), depth, ...ind.shape.slice(axis)];
  const out = ctx.alloc(vals.dtype, outShape);
  const v = buf(vals);
  const off = v[0]!;
  const on = v[1]!;
  const dst = buf(out);
  if (out.size > 0 && off !== 0 && off !== 0n) dst.fill(off);
  const outer = prod(ind.shape, 0, axis);
  const inner = prod(ind.shape, axis);
  const d = buf(ind);
  const f16 = ind.dtype === DType.float16;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const raw = d[o * inner + i]!;
      let k = f16 ? Math.trunc(float16ToNumber(raw as number)) : typeof raw === 'bigint' ? Number(raw) : Math.trunc(raw);
      if (k < 0) k += depth;
      if (k >= 0 && k < depth) dst[(o * depth + k) * inner + i] = on;
    }
  }
  return [out];
};

// ---------------------------------------------------------------------------
// Slice
// ---------------------------------------------------------------------------

/**
 * Slice: per axis, negative start/end get + dim, then step > 0 clamps start and end
 * to [0, dim], step < 0 clamps start to [0, dim-1] and end to [-1, dim-1]; the output
 * has max(0, ceil((end - start) / step)) elements on that axis.
 */
const Slice: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'data');
  const r = x.rank;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (ctx.opset < 10) {
    const s = ctx.ints('starts');
    const e = ctx.ints('ends');
    if (!s || !e) throw ctx.error('missing attribute starts or ends');
    starts = s;
    ends = e;
    axes = ctx.ints('axes');
  } else {
    starts = intsOf(need(inputs, 1, ctx, 'starts'), ctx, 'starts');
    ends = intsOf(need(inputs, 2, ctx, 'ends'), ctx, 'ends');
    axes = inputs[3] ? intsOf(inputs[3], ctx, 'axes') : undefined;
    steps = inputs[4] ? intsOf(inputs[4], ctx, 'steps') : undefined;
  }
  const n = starts.length;
  if (ends.length !== n) throw ctx.error(`starts (${n}) and ends (${ends.length}) differ in length`);
  if (axes && axes.length !== n) throw ctx.error(`axes (${axes.length}) and starts (${n}) differ in length`);
  if (steps && steps.length !== n) throw ctx.error(`steps (${steps.length}) and starts (${n}) differ in length`);
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => axisOf(ctx, a, r, 'axis'));
  if (new Set(ax).size !== ax.length) throw ctx.error(`axes ${shapeStr(axes ?? [])} has duplicates`);
  const xs = stridesOf(x.shape);
  const outShape = [...x.shape];
  const strides = [...xs];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const a = ax[i]!;
    const dim = x.shape[a]!;
    const step = steps ? steps[i]! : 1;
    if (step === 0) throw ctx.error('slice step must not be 0');
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    let len: number;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
      len = e > s ? Math.ceil((e - s) / step) : 0;
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
      len = s > e ? Math.ceil((s - e) / -step) : 0;
    }
    outShape[a] = len;
    strides[a] = xs[a]! * step;
    if (len > 0) off += s * xs[a]!;
  }
  return [gatherView(ctx, x, off, strides, outShape)];
};

// ---------------------------------------------------------------------------
// Unique
// ---------------------------------------------------------------------------

/**
 * Unique. Elements (or slices along `axis`) are equal when every element compares
 * equal numerically (-0 == +0; NaN equals NaN). sorted=1 orders ascending
 * (lexicographic for slices, NaN after everything); sorted=0 keeps first-occurrence
 * order. Each unique entry is represented by its first occurrence (indices output).
 */
const Unique: Kernel = (inputs, ctx) => {
  const x = need(inputs, 0, ctx, 'X');
  const sorted = ctx.int('sorted', 1) !== 0;
  const axisAttr = ctx.int('axis');
  let shape: readonly number[];
  let axis: number;
  if (axisAttr === undefined) {
    shape = [x.size];
    axis = 0;
  } else {
    if (x.rank === 0) throw ctx.error('axis given for a scalar input');
    shape = x.shape;
    axis = axisOf(ctx, axisAttr, x.rank);
  }
  const dim = shape[axis]!;
  const outer = prod(shape, 0, axis);
  const inner = prod(shape, axis + 1);
  const sliceLen = outer * inner;
  // keys[s * sliceLen + e]: element e (outer-major) of slice s as a number / bigint
  const src = buf(x);
  const f16 = x.dtype === DType.float16;
  const big = dtypeKind(x.dtype) === 'bigint';
  const key = (s: number, e: number): number | bigint => {
    const o = Math.floor(e / inner);
    const i = e - o * inner;
    const v = src[(o * dim + s) * inner + i]!;
    return f16 ? float16ToNumber(v as number) : v;
  };
  const cmp = (a: number, b: number): number => {
    for (let e = 0; e < sliceLen; e++) {
      const p = key(a, e);
      const q = key(b, e);
      if (big) {
        if (p !== q) return p < q ? -1 : 1;
        continue;
      }
      const pn = p as number;
      const qn = q as number;
      if (pn === qn || (pn !== pn && qn !== qn)) continue;
      if (pn !== pn) return 1;
      if (qn !== qn) return -1;
      return pn < qn ? -1 : 1;
    }
    return 0;
  };
  const order = Array.from({ length: dim }, (_, i) => i);
  order.sort((a, b) => cmp(a, b) || a - b); // stable: first occurrence first among equals
  // group: representative (first occurrence) per group
  const groupOf = new Int32Array(dim);
  const reps: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < dim; i++) {
    const s = order[i]!;
    if (i > 0 && cmp(order[i - 1]!, s) === 0) {
      groupOf[s] = reps.length - 1;
      counts[reps.length - 1]!++;
    } else {
      groupOf[s] = reps.length;
      reps.push(s);
      counts.push(1);
    }
  }
  // output order of groups
  let gorder = reps.map((_, g) => g);
  if (!sorted) gorder = gorder.sort((g, h) => reps[g]! - reps[h]!);
  const rank = new Int32Array(reps.length);
  gorder.forEach((g, i) => (rank[g] = i));
  const u = reps.length;
  const yShape = axisAttr === undefined ? [u] : shape.map((d, i) => (i === axis ? u : d));
  const y = ctx.alloc(x.dtype, yShape);
  const dst = buf(y);
  for (let i = 0; i < u; i++) {
    const s = reps[gorder[i]!]!;
    for (let o = 0; o < outer; o++) run(src, (o * dim + s) * inner, dst, (o * u + i) * inner, inner);
  }
  const indices = ctx.alloc(DType.int64, [u]);
  const inverse = ctx.alloc(DType.int64, [dim]);
  const cnts = ctx.alloc(DType.int64, [u]);
  const id = indices.data as BigInt64Array;
  const inv = inverse.data as BigInt64Array;
  const cd = cnts.data as BigInt64Array;
  for (let i = 0; i < u; i++) {
    id[i] = BigInt(reps[gorder[i]!]!);
    cd[i] = BigInt(counts[gorder[i]!]!);
  }
  for (let s = 0; s < dim; s++) inv[s] = BigInt(rank[groupOf[s]!]!);
  return [y, indices, inverse, cnts];
};

export const ops: KernelTable = {
  Gather,
  GatherElements,
  GatherND,
  ScatterElements,
  Scatter: ScatterElements,
  ScatterND,
  OneHot,
  Slice,
  Unique,
};

