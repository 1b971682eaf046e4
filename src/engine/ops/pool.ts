// Pooling family: MaxPool, AveragePool, LpPool, GlobalAveragePool,
// GlobalMaxPool, GlobalLpPool, MaxUnpool. Any spatial rank.
//
// Window geometry (shared with Conv, see conv.ts slidingGeometry): output
// position o covers input positions i = o*s - pb + k*d, k = 0..K-1 per axis.
// Positions outside the (unpadded) input are skipped: they take no part in a
// max, add nothing to a sum, and are counted for an average only when
// count_include_pad = 1 (see AveragePool).

import type { Kernel, KernelContext, KernelTable } from '../kernel.js';
import { pow64, powf } from '../math/index.js';
import { DType, dtypeName } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ceilDiv, floorDiv, readPads, readPerAxis, slidingGeometry, type Geometry } from './conv.js';
import { maxPool2dF32Wasm } from '../wasm/pool.js';
import { prod } from './util.js';

type FloatArray = Float32Array | Float64Array;


function requireX(ctx: KernelContext, x: Tensor | undefined): Tensor {
  if (!x) throw ctx.error('missing required input X');
  if (x.rank < 3) throw ctx.error(`input X must have rank >= 3 ([N, C, spatial...]), got [${x.shape.join(',')}]`);
  return x;
}

/** float32 -> true, float64 -> false; float16 unsupported; others invalid (or allowed ints for MaxPool). */
function floatKind(ctx: KernelContext, t: Tensor): boolean {
  if (t.dtype === DType.float32) return true;
  if (t.dtype === DType.float64) return false;
  if (t.dtype === DType.float16) throw ctx.unsupported('float16 compute is not supported', { dtype: 'float16' });
  throw ctx.error(`input must be a float tensor, got ${dtypeName(t.dtype)}`);
}

function readKernelShape(ctx: KernelContext, k: number): number[] {
  const ks = ctx.ints('kernel_shape');
  if (ks === undefined) throw ctx.error('missing required attribute kernel_shape', { attribute: 'kernel_shape' });
  if (ks.length !== k) throw ctx.error(`kernel_shape must have ${k} entries (one per spatial axis), got ${ks.length}`, { attribute: 'kernel_shape' });
  for (const v of ks) if (!Number.isSafeInteger(v) || v < 1) throw ctx.error(`invalid kernel_shape entry ${v}`, { attribute: 'kernel_shape' });
  return ks.slice();
}

/** Per axis, per output index: window start in input coordinates and the valid kernel index range. */
interface WindowAxes {
  start: Int32Array[]; // o*s - pb
  kLo: Int32Array[];
  kHi: Int32Array[];
  padCount: Int32Array[]; // kernel positions inside [-pb, in + pe) (count_include_pad)
}

function windowAxes(xSpatial: readonly number[], kernel: readonly number[], geo: Geometry): WindowAxes {
  const k = kernel.length;
  const w: WindowAxes = { start: [], kLo: [], kHi: [], padCount: [] };
  for (let j = 0; j < k; j++) {
    const O = geo.out[j]!;
    const s = geo.strides[j]!;
    const d = geo.dilations[j]!;
    const K = kernel[j]!;
    const inj = xSpatial[j]!;
    const pb = geo.padBegin[j]!;
    const pe = geo.padEnd[j]!;
    const start = new Int32Array(O);
    const kLo = new Int32Array(O);
    const kHi = new Int32Array(O);
    const pc = new Int32Array(O);
    for (let o = 0; o < O; o++) {
      const st = o * s - pb;
      start[o] = st;
      // k valid iff 0 <= st + k*d < in
      kLo[o] = Math.min(K, Math.max(0, ceilDiv(-st, d)));
      kHi[o] = Math.max(kLo[o]!, Math.min(K, floorDiv(inj - 1 - st, d) + 1));
      // k counted iff -pb <= st + k*d < in + pe
      const lo = Math.min(K, Math.max(0, ceilDiv(-pb - st, d)));
      const hi = Math.max(lo, Math.min(K, floorDiv(inj + pe - 1 - st, d) + 1));
      pc[o] = hi - lo;
    }
    w.start.push(start);
    w.kLo.push(kLo);
    w.kHi.push(kHi);
    w.padCount.push(pc);
  }
  return w;
}

const enum Kind {
  Max,
  Avg,
  Lp,
}

interface PoolOpts {
  kind: Kind;
  countIncludePad: boolean;
  p: number; // LpPool
  indices?: BigInt64Array; // MaxPool Indices output (row-major flat index into X)
  storageOrder: number;
  emptyWindowIsError: boolean;
}

/**
 * Outputs from which 1-D/2-D float32 MaxPool (without Indices) runs in WebAssembly SIMD.
 * Below it the copies in and out of the wasm memory cost more than the JS loop saves.
 * Exported for tests.
 */
export const MAXPOOL_F32_WASM_MIN = 64;

/**
 * Runs a pooling reduction over every (n, c) plane. For each output element
 * the window's valid input positions are visited in kernel row-major order.
 */
function pool(
  ctx: KernelContext,
  X: Tensor,
  kernel: number[],
  geo: Geometry,
  Y: Tensor,
  opts: PoolOpts,
): void {
  const k = kernel.length;
  const xSpatial = X.shape.slice(2);
  const planes = X.shape[0]! * X.shape[1]!;
  const xPlane = prod(xSpatial);
  const oPlane = prod(geo.out);
  if (planes === 0 || oPlane === 0) return;
  const wa = windowAxes(xSpatial, kernel, geo);
  if (opts.emptyWindowIsError) {
    for (let j = 0; j < k; j++) {
      for (let o = 0; o < geo.out[j]!; o++) {
        if (wa.kLo[j]![o] === wa.kHi[j]![o]) {
          throw ctx.error(`pooling window at output index ${o} of spatial axis ${j} lies entirely in the padding`, { axis: j });
        }
      }
    }
  }
  if (k <= 2 && opts.kind === Kind.Max && !opts.indices && X.dtype === DType.float32 && planes * oPlane >= MAXPOOL_F32_WASM_MIN) {
    // WebAssembly SIMD (../wasm/pool.wat): pool2d's Max rule and visiting order, same bits
    const two = k === 2;
    const a = two ? 1 : 0;
    const done = maxPool2dF32Wasm(X.data as Float32Array, Y.data as Float32Array, planes, {
      H: two ? xSpatial[0]! : 1,
      W: xSpatial[a]!,
      OH: two ? geo.out[0]! : 1,
      OW: geo.out[a]!,
      kH: two ? kernel[0]! : 1,
      kW: kernel[a]!,
      sH: two ? geo.strides[0]! : 1,
      sW: geo.strides[a]!,
      dH: two ? geo.dilations[0]! : 1,
      dW: geo.dilations[a]!,
      pT: two ? geo.padBegin[0]! : 0,
      pL: geo.padBegin[a]!,
    });
    if (done) return;
  }
  if (k <= 2 && opts.kind !== Kind.Lp) {
    pool2d(X, Y, kernel, geo, wa, opts);
    return;
  }
  const xStr = new Array<number>(k);
  let acc = 1;
  for (let j = k - 1; j >= 0; j--) {
    xStr[j] = acc;
    acc *= xSpatial[j]!;
  }
  const d = geo.dilations;
  const x = X.data as FloatArray | Uint8Array | Int8Array;
  const y = Y.data as FloatArray | Uint8Array | Int8Array;
  const f32 = X.dtype === DType.float32;
  // typed accumulator cell: stores round to the tensor's float type (f32 for float32)
  const cell = f32 ? new Float32Array(2) : new Float64Array(2);
  const r = k - 1;
  const dR = d[r]!;
  const kIdx = new Int32Array(k); // kernel odometer (outer axes)
  const oIdx = new Int32Array(k); // output odometer
  const { kind, countIncludePad, p, indices, storageOrder } = opts;
  const lpInv = f32 ? Math.fround(1 / p) : 1 / p;
  const colStr = new Array<number>(k); // column-major strides for storage_order = 1
  acc = 1;
  for (let j = 0; j < k; j++) {
    colStr[j] = acc;
    acc *= xSpatial[j]!;
  }

  for (let pl = 0; pl < planes; pl++) {
    const xOff = pl * xPlane;
    const yOff = pl * oPlane;
    oIdx.fill(0);
    for (let oi = 0; oi < oPlane; oi++) {
      if (oi > 0) {
        let j = r;
        while (++oIdx[j]! === geo.out[j]!) {
          oIdx[j] = 0;
          j--;
        }
      }
      // window setup
      let base = xOff; // x index at kernel index (kLo per axis)
      let empty = false;
      for (let j = 0; j < k; j++) {
        const o = oIdx[j]!;
        const lo = wa.kLo[j]![o]!;
        if (lo === wa.kHi[j]![o]!) empty = true;
        kIdx[j] = lo;
        base += (wa.start[j]![o]! + lo * d[j]!) * xStr[j]!;
      }
      const oR = oIdx[r]!;
      const innerN = wa.kHi[r]![oR]! - wa.kLo[r]![oR]!;
      let best = NaN;
      let bestAt = -1;
      cell[0] = 0;
      let count = 0;
      if (!empty) {
        let rowBase = base;
        for (;;) {
          // inner axis: kernel indices kLo..kHi-1 of the last axis
          let xi = rowBase;
          switch (kind) {
            case Kind.Max:
              for (let t = 0; t < innerN; t++, xi += dR) {
                const v = x[xi]!;
                // first valid element, then strictly greater; a NaN is replaced by the next non-NaN
                if (bestAt < 0 || v > best || (best !== best && v === v)) {
                  best = v;
                  bestAt = xi;
                }
              }
              break;
            case Kind.Avg:
              for (let t = 0; t < innerN; t++, xi += dR) cell[0] += x[xi]!;
              break;
            case Kind.Lp:
              if (p === 1) {
                for (let t = 0; t < innerN; t++, xi += dR) cell[0] += Math.abs(x[xi]!);
              } else if (p === 2) {
                for (let t = 0; t < innerN; t++, xi += dR) {
                  const v = x[xi]!;
                  cell[1] = v * v;
                  cell[0] += cell[1]!;
                }
              } else {
                for (let t = 0; t < innerN; t++, xi += dR) cell[0] += f32 ? powf(Math.abs(x[xi]!), p) : pow64(Math.abs(x[xi]!), p);
              }
              break;
          }
          count += innerN;
          // advance outer kernel odometer (axes r-1..0) within [kLo, kHi)
          let j = r - 1;
          while (j >= 0) {
            const o = oIdx[j]!;
            const step = d[j]! * xStr[j]!;
            if (++kIdx[j]! < wa.kHi[j]![o]!) {
              rowBase += step;
              break;
            }
            const lo = wa.kLo[j]![o]!;
            rowBase -= (kIdx[j]! - 1 - lo) * step;
            kIdx[j] = lo;
            j--;
          }
          if (j < 0) break;
        }
      }
      const yi = yOff + oi;
      switch (kind) {
        case Kind.Max: {
          if (bestAt < 0) {
            // empty window (only reachable when allowed): the max identity
            y[yi] = f32 || X.dtype === DType.float64 ? -Infinity : X.dtype === DType.uint8 ? 0 : -128;
            if (indices) indices[yi] = -1n;
          } else {
            y[yi] = best;
            if (indices) {
              let flat = bestAt;
              if (storageOrder === 1) {
                let rem = bestAt - xOff;
                flat = xOff;
                for (let j = r; j >= 0; j--) {
                  const c = rem % xSpatial[j]!;
                  rem = (rem - c) / xSpatial[j]!;
                  flat += c * colStr[j]!;
                }
              }
              indices[yi] = BigInt(flat);
            }
          }
          break;
        }
        case Kind.Avg: {
          let n = count;
          if (countIncludePad) {
            n = 1;
            for (let j = 0; j < k; j++) n *= wa.padCount[j]![oIdx[j]!]!;
          }
          cell[1] = cell[0]! / n; // f32(sum / count); 0/0 -> NaN only if allowed (empty windows error out)
          y[yi] = cell[1]!;
          break;
        }
        case Kind.Lp: {
          const s = cell[0]!;
          y[yi] = p === 1 ? s : p === 2 ? (f32 ? Math.fround(Math.sqrt(s)) : Math.sqrt(s)) : f32 ? powf(s, lpInv) : pow64(s, lpInv);
          break;
        }
      }
    }
  }
}

/**
 * 1-D / 2-D MaxPool and AveragePool (a 1-D pool is a 2-D pool with a 1 x 1
 * leading axis). Same per-element arithmetic as `pool`: window positions in
 * kernel row-major order, padded positions skipped. Max: the first valid
 * element, then each strictly greater one, a NaN replaced by the next non-NaN
 * (re-visiting the first element changes nothing: it is neither greater than
 * itself nor a non-NaN replacing a NaN). Avg: acc = +0; acc = f32(acc + x)
 * per position; y = f32(acc / count).
 */
function pool2d(X: Tensor, Y: Tensor, kernel: number[], geo: Geometry, wa: WindowAxes, opts: PoolOpts): void {
  const two = kernel.length === 2;
  const one = Int32Array.of(0);
  const H = two ? X.shape[2]! : 1;
  const W = X.shape[two ? 3 : 2]!;
  const OH = two ? geo.out[0]! : 1;
  const OW = geo.out[two ? 1 : 0]!;
  const dH = two ? geo.dilations[0]! : 1;
  const dW = geo.dilations[two ? 1 : 0]!;
  const startH = two ? wa.start[0]! : one;
  const loH = two ? wa.kLo[0]! : one;
  const hiH = two ? wa.kHi[0]! : Int32Array.of(1);
  const pcH = two ? wa.padCount[0]! : Int32Array.of(1);
  const a = two ? 1 : 0;
  const startW = wa.start[a]!;
  const loW = wa.kLo[a]!;
  const hiW = wa.kHi[a]!;
  const pcW = wa.padCount[a]!;
  const planes = X.shape[0]! * X.shape[1]!;
  const xPlane = H * W;
  const oPlane = OH * OW;
  const x = X.data as FloatArray | Uint8Array | Int8Array;
  const y = Y.data as FloatArray | Uint8Array | Int8Array;
  const f32 = X.dtype === DType.float32;
  const { kind, countIncludePad, indices, storageOrder } = opts;
  const rowStep = dH * W;
  for (let pl = 0; pl < planes; pl++) {
    const xOff = pl * xPlane;
    let yi = pl * oPlane;
    for (let oh = 0; oh < OH; oh++) {
      const hLo = loH[oh]!;
      const nh = hiH[oh]! - hLo;
      const rowBase = xOff + (startH[oh]! + hLo * dH) * W;
      for (let ow = 0; ow < OW; ow++, yi++) {
        const wLo = loW[ow]!;
        const nw = hiW[ow]! - wLo;
        const base = rowBase + startW[ow]! + wLo * dW;
        if (kind === Kind.Max) {
          if (nh <= 0 || nw <= 0) {
            // empty window (only reachable when allowed): the max identity
            y[yi] = f32 || X.dtype === DType.float64 ? -Infinity : X.dtype === DType.uint8 ? 0 : -128;
            if (indices) indices[yi] = -1n;
            continue;
          }
          let best = x[base]!;
          let bestAt = base;
          if (nh === 2 && nw === 2 && !indices) {
            // the common 2 x 2 window, unrolled (same visiting order)
            let v = x[base + dW]!;
            if (v > best || (best !== best && v === v)) best = v;
            v = x[base + rowStep]!;
            if (v > best || (best !== best && v === v)) best = v;
            v = x[base + rowStep + dW]!;
            if (v > best || (best !== best && v === v)) best = v;
            y[yi] = best;
            continue;
          }
          for (let i = 0, r = base; i < nh; i++, r += rowStep) {
            for (let j = 0, xi = r; j < nw; j++, xi += dW) {
              const v = x[xi]!;
              if (v > best || (best !== best && v === v)) {
                best = v;
                bestAt = xi;
              }
            }
          }
          y[yi] = best;
          if (indices) {
            let flat = bestAt;
            if (storageOrder === 1) {
              const off = bestAt - xOff;
              const h = Math.floor(off / W);
              flat = xOff + h + (off - h * W) * H;
            }
            indices[yi] = BigInt(flat);
          }
        } else {
          let acc = 0;
          if (f32) {
            for (let i = 0, r = base; i < nh; i++, r += rowStep) {
              for (let j = 0, xi = r; j < nw; j++, xi += dW) acc = Math.fround(acc + x[xi]!);
            }
          } else {
            for (let i = 0, r = base; i < nh; i++, r += rowStep) {
              for (let j = 0, xi = r; j < nw; j++, xi += dW) acc += x[xi]!;
            }
          }
          const n = countIncludePad ? pcH[oh]! * pcW[ow]! : Math.max(0, nh) * Math.max(0, nw);
          y[yi] = acc / n; // the Float32Array store rounds: f32(sum / count)
        }
      }
    }
  }
}

/**
 * MaxPool (opset 1..22). Types: float32, float64, int8, uint8 (float16 unsupported).
 * y = max over the window's in-input positions in kernel row-major order
 * (padding never participates): the first valid element, then replaced by each
 * later element that is strictly greater — so ties (including -0 vs +0) keep the
 * earliest element. NaN follows the ONNX reference implementation, which drops
 * NaN values from the window: a NaN result is replaced by the next non-NaN
 * element, so y is NaN only if every valid element is NaN.
 * Indices (optional 2nd output, int64): flat index into X of the selected element
 * (including the n and c offsets, (n*C + c) * prod(spatial) + offset), the offset
 * row-major for storage_order = 0 and column-major for storage_order = 1.
 * A window lying entirely in the padding is INVALID_ARGUMENT.
 */
const MaxPool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  if (X.dtype !== DType.float32 && X.dtype !== DType.float64 && X.dtype !== DType.int8 && X.dtype !== DType.uint8) {
    if (X.dtype === DType.float16) throw ctx.unsupported('float16 compute is not supported', { dtype: 'float16' });
    throw ctx.error(`MaxPool does not accept ${dtypeName(X.dtype)}`);
  }
  const k = X.rank - 2;
  const kernel = readKernelShape(ctx, k);
  const storageOrder = ctx.int('storage_order', 0);
  if (storageOrder !== 0 && storageOrder !== 1) throw ctx.error(`invalid storage_order ${storageOrder}`, { attribute: 'storage_order' });
  const ceil = readCeil(ctx);
  const geo = slidingGeometry(ctx, X.shape.slice(2), kernel, ceil);
  const outShape = [X.shape[0]!, X.shape[1]!, ...geo.out];
  const Y = ctx.alloc(X.dtype, outShape);
  const wantIdx = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
  const I = wantIdx ? ctx.alloc(DType.int64, outShape) : undefined;
  pool(ctx, X, kernel, geo, Y, {
    kind: Kind.Max,
    countIncludePad: false,
    p: 0,
    indices: I ? (I.data as BigInt64Array) : undefined,
    storageOrder,
    emptyWindowIsError: true,
  });
  return I ? [Y, I] : [Y];
};

function readCeil(ctx: KernelContext): boolean {
  const c = ctx.int('ceil_mode', 0);
  if (c !== 0 && c !== 1) throw ctx.error(`invalid ceil_mode ${c}`, { attribute: 'ceil_mode' });
  return c === 1;
}

/**
 * AveragePool (opset 1..22; dilations from opset 19). float32/float64.
 * sum: acc = +0; for each in-input window position in kernel row-major order,
 * acc = f32(acc + x). y = f32(acc / count), count = number of in-input
 * positions (count_include_pad = 0), or (count_include_pad = 1) the number of
 * kernel positions inside the padded extent [-pb, in + pe) per axis, multiplied
 * over axes — positions beyond the padding (ceil_mode overhang) are not counted.
 * A window with no in-input position is INVALID_ARGUMENT when
 * count_include_pad = 0 (it would be 0/0); with count_include_pad = 1 it gives +0.
 */
const AveragePool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  floatKind(ctx, X);
  const k = X.rank - 2;
  const kernel = readKernelShape(ctx, k);
  const cip = ctx.int('count_include_pad', 0);
  if (cip !== 0 && cip !== 1) throw ctx.error(`invalid count_include_pad ${cip}`, { attribute: 'count_include_pad' });
  const geo = slidingGeometry(ctx, X.shape.slice(2), kernel, readCeil(ctx));
  const Y = ctx.alloc(X.dtype, [X.shape[0]!, X.shape[1]!, ...geo.out]);
  pool(ctx, X, kernel, geo, Y, { kind: Kind.Avg, countIncludePad: cip === 1, p: 0, storageOrder: 0, emptyWindowIsError: cip === 0 });
  return [Y];
};

function readP(ctx: KernelContext): number {
  // opset 1 had p as a float attribute; later an int.
  const p = ctx.float('p', 2);
  if (!Number.isInteger(p) || p < 1) {
    throw ctx.unsupported(`LpPool with p = ${p} (only positive integer p is supported)`, { attribute: 'p' });
  }
  return p;
}

/**
 * LpPool (opset 1..22; dilations/ceil_mode from opset 18). float32/float64.
 * acc = +0; for each in-input window position in kernel row-major order,
 * acc = f32(acc + t) with t = |x| (p = 1), f32(x * x) (p = 2), powf(|x|, p)
 * otherwise; padded positions add nothing (they are zeros).
 * y = acc (p = 1), f32(sqrt(acc)) (p = 2), powf(acc, f32(1 / p)) otherwise.
 */
const LpPool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  floatKind(ctx, X);
  const k = X.rank - 2;
  const kernel = readKernelShape(ctx, k);
  const p = readP(ctx);
  const geo = slidingGeometry(ctx, X.shape.slice(2), kernel, readCeil(ctx));
  const Y = ctx.alloc(X.dtype, [X.shape[0]!, X.shape[1]!, ...geo.out]);
  pool(ctx, X, kernel, geo, Y, { kind: Kind.Lp, countIncludePad: true, p, storageOrder: 0, emptyWindowIsError: false });
  return [Y];
};

/** Global pools: the window is the whole spatial plane, visited in flat (row-major) order. */
function globalPool(X: Tensor, ctx: KernelContext, kind: Kind, p: number): Tensor {
  const [N, C] = X.shape as [number, number];
  const spatial = X.shape.slice(2);
  const Y = ctx.alloc(X.dtype, [N, C, ...spatial.map(() => 1)]);
  const plane = prod(spatial);
  const x = X.data as FloatArray;
  const y = Y.data as FloatArray;
  const f32 = X.dtype === DType.float32;
  const cell = f32 ? new Float32Array(2) : new Float64Array(2);
  const lpInv = f32 ? Math.fround(1 / p) : 1 / p;
  for (let pl = 0; pl < N * C; pl++) {
    const off = pl * plane;
    const end = off + plane;
    switch (kind) {
      case Kind.Max: {
        if (plane === 0) throw ctx.error('GlobalMaxPool over an empty spatial plane');
        let best = x[off]!;
        for (let i = off + 1; i < end; i++) {
          const v = x[i]!;
          if (v > best || (best !== best && v === v)) best = v;
        }
        y[pl] = best;
        break;
      }
      case Kind.Avg: {
        cell[0] = 0;
        for (let i = off; i < end; i++) cell[0] += x[i]!;
        cell[1] = cell[0]! / plane;
        y[pl] = cell[1]!;
        break;
      }
      case Kind.Lp: {
        cell[0] = 0;
        for (let i = off; i < end; i++) {
          const v = x[i]!;
          if (p === 1) cell[0] += Math.abs(v);
          else if (p === 2) {
            cell[1] = v * v;
            cell[0] += cell[1]!;
          } else cell[0] += f32 ? powf(Math.abs(v), p) : pow64(Math.abs(v), p);
        }
        const s = cell[0]!;
        y[pl] = p === 1 ? s : p === 2 ? (f32 ? Math.fround(Math.sqrt(s)) : Math.sqrt(s)) : f32 ? powf(s, lpInv) : pow64(s, lpInv);
        break;
      }
    }
  }
  return Y;
}

/**
 * GlobalAveragePool: acc = +0; acc = f32(acc + x) over the plane in row-major
 * order; y = f32(acc / prod(spatial)) (0/0 = NaN for an empty plane).
 */
const GlobalAveragePool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  floatKind(ctx, X);
  return [globalPool(X, ctx, Kind.Avg, 0)];
};

/** GlobalMaxPool: MaxPool's rule (first element, strictly greater, NaN dropped unless all NaN) over the plane. */
const GlobalMaxPool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  floatKind(ctx, X);
  return [globalPool(X, ctx, Kind.Max, 0)];
};

/** GlobalLpPool: LpPool's arithmetic over the whole plane in row-major order. */
const GlobalLpPool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  floatKind(ctx, X);
  return [globalPool(X, ctx, Kind.Lp, readP(ctx))];
};

/**
 * MaxUnpool (opset 9, 11, 22). Pure data movement (any dtype).
 * inferred[j] = (in[j] - 1) * s - (pb + pe) + K. Indices (int64, same shape as X)
 * are flat indices into a [N, C, inferred...] tensor (as produced by MaxPool);
 * element X[e] is written to that position, in increasing e (a later duplicate
 * index overwrites an earlier one); everything else is 0. With output_shape
 * (input 3), the [N, C, inferred...] result is placed at the origin of a zero
 * tensor of that shape (as the ONNX reference does); output_shape must be >=
 * the inferred shape on every axis.
 */
const MaxUnpool: Kernel = (inputs, ctx) => {
  const X = requireX(ctx, inputs[0]);
  const I = inputs[1];
  if (!I) throw ctx.error('missing required input I');
  if (I.dtype !== DType.int64) throw ctx.error(`indices must be int64, got ${dtypeName(I.dtype)}`);
  if (I.rank !== X.rank || I.shape.some((v, i) => v !== X.shape[i])) {
    throw ctx.error(`indices shape [${I.shape.join(',')}] must equal X shape [${X.shape.join(',')}]`);
  }
  const k = X.rank - 2;
  const kernel = readKernelShape(ctx, k);
  const strides = readPerAxis(ctx, 'strides', k, 1, 1);
  const { begin, end } = readPads(ctx, k);
  const inferred = [X.shape[0]!, X.shape[1]!];
  for (let j = 0; j < k; j++) {
    const v = (X.shape[j + 2]! - 1) * strides[j]! - (begin[j]! + end[j]!) + kernel[j]!;
    if (v < 0) throw ctx.error(`inferred output extent on spatial axis ${j} is negative`);
    inferred.push(v);
  }
  let outShape = inferred;
  const osT = inputs[2];
  if (osT) {
    if (osT.dtype !== DType.int64 || osT.rank !== 1 || osT.size !== X.rank) {
      throw ctx.error(`output_shape must be an int64 vector of length ${X.rank}`);
    }
    outShape = Array.from(osT.data as BigInt64Array, Number);
    for (let j = 0; j < X.rank; j++) {
      if (!Number.isSafeInteger(outShape[j]!) || outShape[j]! < inferred[j]! || (j < 2 && outShape[j] !== inferred[j])) {
        throw ctx.error(`output_shape [${outShape.join(',')}] is incompatible with the inferred shape [${inferred.join(',')}]`);
      }
    }
  }
  const Y = ctx.alloc(X.dtype, outShape);
  const total = prod(inferred);
  const idx = I.data as BigInt64Array;
  const x = X.data;
  const y = Y.data;
  const same = outShape.every((v, i) => v === inferred[i]);
  // strides for remapping inferred coordinates into outShape
  const r = X.rank;
  for (let e = 0; e < idx.length; e++) {
    const iv = idx[e]!;
    if (iv < 0n || iv >= BigInt(total)) throw ctx.error(`index ${iv} at position ${e} is out of range [0, ${total})`, { position: e });
    let flat = Number(iv);
    if (!same) {
      let rem = flat;
      let mul = 1;
      flat = 0;
      for (let j = r - 1; j >= 0; j--) {
        const c = rem % inferred[j]!;
        rem = (rem - c) / inferred[j]!;
        flat += c * mul;
        mul *= outShape[j]!;
      }
    }
    (y as unknown as number[])[flat] = (x as unknown as number[])[e]!;
  }
  return [Y];
};

export const ops: KernelTable = {
  MaxPool,
  AveragePool,
  LpPool,
  GlobalAveragePool,
  GlobalMaxPool,
  GlobalLpPool,
  MaxUnpool,
};
