import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelContext } from '../kernel.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { roundHalfEven } from '../math/index.js';
import { ops as convOps } from './conv.js';
import { ops, _internal } from './vision.js';
import { makeCtx, throwsCode, sameValues, unravel } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';
import { prod } from './util.js';

// ---------------------------------------------------------------------------
// helpers

type Attrs = Record<string, number | number[] | string | { float: number }>;

function ctx(opType: string, attrs: Attrs = {}, opset = 22): KernelContext {
  const m = new Map<string, AttrValue>();
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'string') m.set(k, { kind: 'string', value: v });
    else if (Array.isArray(v)) m.set(k, { kind: 'ints', value: v });
    else if (typeof v === 'object') m.set(k, { kind: 'float', value: v.float });
    else m.set(k, { kind: 'int', value: v });
  }
  return makeCtx(opType, m, opset);
}

function run(op: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}, opset = 22): Tensor[] {
  return ops[op]!(inputs, ctx(op, attrs, opset));
}

function randF(r: () => number, dtype: 1 | 11, shape: number[], lo = -2, hi = 2): Tensor {
  const n = prod(shape);
  const a = dtype === DType.float32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + r() * (hi - lo);
  return new Tensor(dtype, shape, a);
}

const f32 = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));
const i64 = (shape: number[], v: number[]) => new Tensor(DType.int64, shape, BigInt64Array.from(v.map((x) => BigInt(x))));


// ---------------------------------------------------------------------------
// GridSample: straightforward recursive re-computation of the canonical order

function refGridSample(X: Tensor, G: Tensor, mode: string, pad: string, align: boolean): Float64Array {
  const fx = X.dtype === DType.float32 ? Math.fround : (v: number) => v;
  const fg = G.dtype === DType.float32 ? Math.fround : (v: number) => v;
  const r = X.rank - 2;
  const [N, C] = X.shape as number[];
  const dims = X.shape.slice(2);
  const outSp = G.shape.slice(1, r + 1);
  const yShape = [N!, C!, ...outSp];
  const y = new Float64Array(prod(yShape));
  const xd = X.data as Float32Array;
  const gd = G.data as Float32Array;
  const reflect = (x: number, lo: number, hi: number): number => {
    const rg = hi - lo;
    if (rg === 0 && (x < lo || x > hi)) return lo;
    if (x < lo) {
      const dx = lo - x;
      const n = Math.trunc(dx / rg);
      const rr = dx - n * rg;
      return n % 2 === 0 ? lo + rr : hi - rr;
    }
    if (x > hi) {
      const dx = x - hi;
      const n = Math.trunc(dx / rg);
      const rr = dx - n * rg;
      return n % 2 === 0 ? hi - rr : lo + rr;
    }
    return x;
  };
  for (let e = 0; e < y.length; e++) {
    const [n, c, ...o] = unravel(e, yShape) as number[];
    const gbase = o.reduce((acc, v, j) => acc * outSp[j]! + v, n!) * r;
    const coords: number[] = [];
    for (let a = 0; a < r; a++) {
      const L = dims[a]!;
      const g = gd[gbase + (r - 1 - a)]!;
      let cc = align ? fg(fg(fg(g + 1) / 2) * (L - 1)) : fg(fg(fg(fg(g + 1) * L) - 1) / 2);
      if (mode === 'nearest') cc = roundHalfEven(cc);
      const lo = align ? 0 : -0.5;
      const hi = align ? L - 1 : L - 0.5;
      if (cc < lo || cc > hi) {
        if (pad === 'border') cc = Math.min(Math.max(cc, 0), L - 1);
        else if (pad === 'reflection') cc = fg(reflect(cc, lo, hi));
      }
      coords.push(cc);
    }
    const pix = (idx: number[]): number => {
      const j: number[] = [];
      for (let a = 0; a < r; a++) {
        let i = idx[a]!;
        const L = dims[a]!;
        if (i < 0 || i >= L) {
          if (pad === 'zeros') return 0;
          if (pad === 'border') i = i < 0 ? 0 : L - 1;
          else i = Math.trunc(reflect(i, align ? 0 : -0.5, align ? L - 1 : L - 0.5));
        }
        j.push(i);
      }
      const flat = j.reduce((acc, v, a) => acc * dims[a]! + v, n! * C! + c!);
      return xd[flat]!;
    };
    if (mode === 'nearest') {
      y[e] = pix(coords.map((v) => Math.trunc(v)));
      continue;
    }
    // recursive: axis a, fixed outer indices
    const interp = (a: number, prefix: number[]): number => {
      const cc = coords[a]!;
      const i0 = Math.floor(cc);
      const t = fx(cc - i0);
      let taps: number[];
      let w: number[];
      if (mode === 'linear') {
        taps = [i0, i0 + 1];
        w = [fx(1 - t), t];
      } else {
        const A = -0.75;
        const x1 = fx(t + 1);
        const y1 = fx(1 - t);
        const z = fx(2 - t);
        w = [
          fx(fx(fx(fx(fx(fx(A * x1) + 3.75) * x1) - 6) * x1) + 3),
          fx(fx(fx(fx(fx(1.25 * t) - 2.25) * t) * t) + 1),
          fx(fx(fx(fx(fx(1.25 * y1) - 2.25) * y1) * y1) + 1),
          fx(fx(fx(fx(fx(fx(A * z) + 3.75) * z) - 6) * z) + 3),
        ];
        taps = [i0 - 1, i0, i0 + 1, i0 + 2];
      }
      const vals = taps.map((ti) => (a === r - 1 ? pix([...prefix, ti]) : interp(a + 1, [...prefix, ti])));
      let acc = fx(w[0]! * vals[0]!);
      for (let j = 1; j < vals.length; j++) acc = fx(acc + fx(w[j]! * vals[j]!));
      return acc;
    };
    y[e] = interp(0, []);
  }
  return y;
}

for (const dt of [DType.float32, DType.float64] as const) {
  for (const mode of ['linear', 'nearest', 'cubic']) {
    for (const pad of ['zeros', 'border', 'reflection']) {
      for (const align of [0, 1]) {
        test(`GridSample ${dt === 1 ? 'f32' : 'f64'} ${mode} ${pad} align=${align}: bit-identical to the canonical re-computation (1-D, 2-D, 3-D)`, () => {
          const r = rng(dt * 1000 + mode.length * 10 + pad.length + align);
          for (const [xs, gs] of [
            [[2, 3, 5, 4], [2, 6, 7, 2]],
            [[1, 2, 3, 1], [1, 4, 5, 2]],
            [[1, 2, 3, 4, 2], [1, 3, 2, 4, 3]],
            [[2, 2, 6], [2, 9, 1]],
          ] as const) {
            const X = randF(r, dt, [...xs]);
            const G = randF(r, dt, [...gs], -1.8, 1.8);
            const [Y] = run('GridSample', [X, G], { mode, padding_mode: pad, align_corners: align });
            assert.deepEqual([...Y!.shape], [xs[0], xs[1], ...gs.slice(1, -1)]);
            sameValues(Y!, refGridSample(X, G, mode, pad, align === 1), `${mode}/${pad}/${align} ${xs}`);
          }
        });
      }
    }
  }
}

test('GridSample: opset-16 mode names and default bilinear', () => {
  const r = rng(7);
  const X = randF(r, 1, [1, 1, 3, 3]);
  const G = randF(r, 1, [1, 2, 2, 2], -1, 1);
  const [a] = run('GridSample', [X, G], {}, 16);
  const [b] = run('GridSample', [X, G], { mode: 'bilinear' }, 16);
  const [c] = run('GridSample', [X, G], { mode: 'linear' }, 20);
  sameValues(a!, c!.data as Float32Array, 'default 16');
  sameValues(b!, c!.data as Float32Array, 'bilinear');
  const [d] = run('GridSample', [X, G], { mode: 'bicubic' }, 16);
  const [e] = run('GridSample', [X, G], { mode: 'cubic' }, 20);
  sameValues(d!, e!.data as Float32Array, 'bicubic');
});

test('GridSample: exact corners, NaN and infinite grid values', () => {
  const X = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  // align_corners=1: (-1,-1) -> X[0,0], (1,1) -> X[1,1]
  const G = f32([1, 1, 4, 2], [-1, -1, 1, 1, NaN, 0, Infinity, 0]);
  const [y] = run('GridSample', [X, G], { align_corners: 1 });
  const d = y!.data as Float32Array;
  assert.equal(d[0], 1);
  assert.equal(d[1], 4);
  assert.ok(Number.isNaN(d[2]));
  assert.ok(Object.is(d[3], 0));
  const [yb] = run('GridSample', [X, G], { align_corners: 1, padding_mode: 'border' });
  assert.equal((yb!.data as Float32Array)[3], 3); // +Inf clamps to the last column (x), y = 0 -> 0.5 between rows: f(f(0.5*2) + f(0.5*4))

});

test('GridSample nearest: pure gather for int64, float16 and bool; rounds half to even', () => {
  const Xi = new Tensor(DType.int64, [1, 1, 1, 4], BigInt64Array.from([10n, -20n, 30n, 9007199254740993n]));
  // align_corners=1, W=4: x = (g+1)/2*3; g = 0 -> 1.5 -> 2 (even); g = -1/3 -> 1 ; g = 1 -> 3; g = 5 -> out (zeros)
  const G = f32([1, 1, 4, 2], [0, 0, -1 / 3, 0, 1, 0, 5, 0]);
  const [y] = run('GridSample', [Xi, G], { mode: 'nearest', align_corners: 1 });
  assert.deepEqual([...(y!.data as BigInt64Array)], [30n, -20n, 9007199254740993n, 0n]);
  const Xh = new Tensor(DType.float16, [1, 1, 1, 4], Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400]));
  const [yh] = run('GridSample', [Xh, G], { mode: 'nearest', align_corners: 1, padding_mode: 'border' });
  assert.deepEqual([...(yh!.data as Uint16Array)], [0x4200, 0x4000, 0x4400, 0x4400]);
  const Xb = new Tensor(DType.bool, [1, 1, 1, 4], Uint8Array.from([0, 1, 0, 1]));
  const [yy] = run('GridSample', [Xb, G], { mode: 'nearest', align_corners: 1, padding_mode: 'reflection' });
  assert.deepEqual([...(yy!.data as Uint8Array)], [0, 1, 1, 1]); // x = 9 reflects about [0, 3] to 3
});

test('GridSample linear on int32: float64 interpolation then truncation toward zero', () => {
  const X = new Tensor(DType.int32, [1, 1, 1, 2], Int32Array.from([0, 10]));
  // align_corners=1: g = -0.5 -> x = 0.25 -> 2.5 -> 2; g = 0.5 -> 7.5 -> 7
  const G = f32([1, 1, 2, 2], [-0.5, 0, 0.5, 0]);
  const [y] = run('GridSample', [X, G], { align_corners: 1 });
  assert.equal(y!.dtype, DType.int32);
  assert.deepEqual([...(y!.data as Int32Array)], [2, 7]);
  const Xn = new Tensor(DType.int32, [1, 1, 1, 2], Int32Array.from([0, -10]));
  const [yn] = run('GridSample', [Xn, G], { align_corners: 1 });
  assert.deepEqual([...(yn!.data as Int32Array)], [-2, -7]);
});

test('GridSample: reflection on a length-1 axis with align_corners does not divide by zero', () => {
  const X = f32([1, 1, 1, 1], [5]);
  const G = f32([1, 1, 3, 2], [0.3, -0.9, 3, 3, -7, 2]);
  for (const mode of ['linear', 'nearest', 'cubic']) {
    const [y] = run('GridSample', [X, G], { mode, padding_mode: 'reflection', align_corners: 1 });
    for (const v of y!.data as Float32Array) assert.ok(Number.isFinite(v), mode);
  }
});

test('GridSample: reflect helper follows the spec example', () => {
  // x = -3.5 reflected about [-1, 1] -> 1.5 -> 0.5
  assert.equal(_internal.reflect(-3.5, -1, 1), 0.5);
  assert.equal(_internal.reflect(-1, -0.5, 2.5), 0);
  assert.equal(_internal.reflect(3, -0.5, 2.5), 2);
});

test('GridSample: cubic coefficients sum to one at t = 0 and t = 0.5', () => {
  const c = new Float64Array(4);
  _internal.cubicCoeffs(0, (v) => v, c, 0);
  assert.deepEqual([...c], [0, 1, 0, 0]);
  _internal.cubicCoeffs(0.5, (v) => v, c, 0);
  assert.equal(c[0]! + c[1]! + c[2]! + c[3]!, 1);
});

test('GridSample: empty output, invalid inputs and unsupported dtypes', () => {
  const X = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  const [e] = run('GridSample', [X, new Tensor(DType.float32, [1, 0, 3, 2], new Float32Array(0))]);
  assert.deepEqual([...e!.shape], [1, 1, 0, 3]);
  throwsCode(() => run('GridSample', [X, f32([1, 1, 1, 3], [0, 0, 0])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('GridSample', [X, f32([2, 1, 1, 2], [0, 0, 0, 0])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('GridSample', [X, f32([1, 1, 1, 2], [0, 0])], { mode: 'area' }), 'INVALID_ARGUMENT');
  throwsCode(() => run('GridSample', [X, f32([1, 1, 1, 2], [0, 0])], { padding_mode: 'wrap' }), 'INVALID_ARGUMENT');
  throwsCode(() => run('GridSample', [X, i64([1, 1, 1, 2], [0, 0])]), 'INVALID_ARGUMENT');
  const Xh = new Tensor(DType.float16, [1, 1, 1, 1], Uint16Array.from([0x3c00]));
  throwsCode(() => run('GridSample', [Xh, f32([1, 1, 1, 2], [0, 0])]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('GridSample', [new Tensor(DType.float32, [1, 1, 0, 2], new Float32Array(0)), f32([1, 1, 1, 2], [0, 0])]), 'INVALID_ARGUMENT');
});

// ---------------------------------------------------------------------------
// AffineGrid

test('AffineGrid 2-D identity: base coordinates for both align_corners', () => {
  const theta = f32([1, 2, 3], [1, 0, 0, 0, 1, 0]);
  const [g0] = run('AffineGrid', [theta, i64([4], [1, 1, 2, 4])], { align_corners: 0 });
  assert.deepEqual([...g0!.shape], [1, 2, 4, 2]);
  const xs0 = [-0.75, -0.25, 0.25, 0.75];
  const d0 = g0!.data as Float32Array;
  for (let h = 0; h < 2; h++) for (let w = 0; w < 4; w++) {
    assert.equal(d0[(h * 4 + w) * 2], xs0[w]);
    assert.equal(d0[(h * 4 + w) * 2 + 1], h === 0 ? -0.5 : 0.5);
  }
  const [g1] = run('AffineGrid', [theta, i64([4], [1, 1, 1, 3])], { align_corners: 1 });
  assert.deepEqual([...(g1!.data as Float32Array)], [-1, -1, 0, -1, 1, -1]);
});

test('AffineGrid 3-D: float64 evaluation rounded once to float32', () => {
  const r = rng(3);
  const theta = randF(r, 1, [2, 3, 4]);
  const [g] = run('AffineGrid', [theta, i64([5], [2, 3, 2, 3, 4])], { align_corners: 0 });
  assert.deepEqual([...g!.shape], [2, 2, 3, 4, 3]);
  const t = theta.data as Float32Array;
  const d = g!.data as Float32Array;
  const base = (i: number, L: number) => -1 + 2 / L / 2 + i * (2 / L);
  let q = 0;
  for (let n = 0; n < 2; n++) for (let dd = 0; dd < 2; dd++) for (let h = 0; h < 3; h++) for (let w = 0; w < 4; w++) for (let j = 0; j < 3; j++) {
    const o = n * 12 + j * 4;
    const want = Math.fround(t[o]! * base(w, 4) + t[o + 1]! * base(h, 3) + t[o + 2]! * base(dd, 2) + t[o + 3]!);
    assert.ok(Object.is(d[q++], want));
  }
});

test('AffineGrid: invalid shapes', () => {
  throwsCode(() => run('AffineGrid', [f32([1, 2, 3], [1, 0, 0, 0, 1, 0]), i64([5], [1, 1, 2, 2, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('AffineGrid', [f32([1, 2, 3], [1, 0, 0, 0, 1, 0]), i64([4], [2, 1, 2, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('AffineGrid', [f32([1, 2, 3], [1, 0, 0, 0, 1, 0]), i64([4], [1, 1, -2, 2])]), 'INVALID_ARGUMENT');
  const [e] = run('AffineGrid', [f32([1, 2, 3], [1, 0, 0, 0, 1, 0]), i64([4], [1, 1, 0, 2])]);
  assert.deepEqual([...e!.shape], [1, 0, 2, 2]);
});

// ---------------------------------------------------------------------------
// NonMaxSuppression

const nms = (boxes: number[][], scores: number[], maxOut: number | undefined, iou?: number, thr?: number, cpb = 0) => {
  const b = f32([1, boxes.length, 4], boxes.flat());
  const s = f32([1, 1, scores.length], scores);
  const [y] = run('NonMaxSuppression', [b, s, maxOut === undefined ? undefined : i64([1], [maxOut]), iou === undefined ? undefined : f32([1], [iou]), thr === undefined ? undefined : f32([1], [thr])], { center_point_box: cpb });
  const d = [...(y!.data as BigInt64Array)].map(Number);
  const rows: number[] = [];
  for (let i = 0; i < d.length; i += 3) rows.push(d[i + 2]!);
  return rows;
};

test('NonMaxSuppression: tie order, thresholds, limits', () => {
  const far = (i: number) => [i * 10, 0, i * 10 + 1, 1];
  // equal scores: lower index first
  assert.deepEqual(nms([far(0), far(1), far(2)], [0.5, 0.9, 0.5], 10), [1, 0, 2]);
  // score equal to the threshold is removed (strictly greater kept)
  assert.deepEqual(nms([far(0), far(1), far(2)], [0.5, 0.9, 0.4], 10, 0, 0.5), [1]);
  // max_output_boxes_per_class absent / 0 / negative -> nothing
  assert.deepEqual(nms([far(0)], [0.5], undefined), []);
  assert.deepEqual(nms([far(0)], [0.5], -3), []);
  assert.deepEqual(nms([far(0), far(1), far(2)], [0.1, 0.2, 0.3], 2), [2, 1]);
  // IoU exactly equal to the threshold is kept: boxes [0,0,1,2] and [0,1,1,3]: inter 1, union 3
  assert.deepEqual(nms([[0, 0, 1, 2], [0, 1, 1, 3]], [0.9, 0.8], 10, Math.fround(1 / 3)), [0, 1]);
  assert.deepEqual(nms([[0, 0, 1, 2], [0, 1, 1, 3]], [0.9, 0.8], 10, 0.3), [0]);
  // flipped corners and center format
  assert.deepEqual(nms([[1, 1, 0, 0], [0, 0, 1, 1]], [0.9, 0.8], 10, 0.5), [0]);
  assert.deepEqual(nms([[0.5, 0.5, 1, 1], [0.5, 0.5, 1, 1]], [0.8, 0.9], 10, 0.5, undefined, 1), [1]);
  // NaN scores sort after every number; NaN boxes never suppress
  assert.deepEqual(nms([far(0), far(1), far(2)], [NaN, -Infinity, 0], 10), [2, 1, 0]);
  assert.deepEqual(nms([[NaN, 0, 1, 1], [0, 0, 1, 1]], [0.9, 0.8], 10, 0), [0, 1]);
});

test('NonMaxSuppression: batches and classes order, invalid inputs', () => {
  const b = f32([2, 2, 4], [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6]);
  const s = f32([2, 2, 2], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const [y] = run('NonMaxSuppression', [b, s, i64([], [5]), f32([], [0.5])]);
  assert.deepEqual([...y!.shape], [6, 3]);
  assert.deepEqual([...(y!.data as BigInt64Array)].map(Number), [0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]);
  throwsCode(() => run('NonMaxSuppression', [b, s, i64([], [5]), f32([], [1.5])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('NonMaxSuppression', [b, s], { center_point_box: 2 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('NonMaxSuppression', [b, f32([2, 2, 3], new Array(12).fill(0))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('NonMaxSuppression', [f32([2, 2, 3], new Array(12).fill(0)), s]), 'INVALID_ARGUMENT');
});

// ---------------------------------------------------------------------------
// RoiAlign: re-computation of the canonical order

function refRoiAlign(X: Tensor, rois: number[][], bidx: number[], oh: number, ow: number, sr: number, scale: number, half: boolean, mode: string): number[] {
  const f = Math.fround;
  const [, C, H, W] = X.shape as number[];
  const xd = X.data as Float32Array;
  const out: number[] = [];
  rois.forEach((roi, n) => {
    const off = half ? 0.5 : 0;
    const [sw, sh, ew, eh] = roi.map((v) => f(f(v * scale) - off)) as [number, number, number, number];
    let rw = f(ew - sw);
    let rh = f(eh - sh);
    if (!half) {
      rw = Math.max(rw, 1);
      rh = Math.max(rh, 1);
    }
    const bh = f(rh / oh);
    const bw = f(rw / ow);
    const gh = sr > 0 ? sr : Math.max(Math.ceil(bh), 0);
    const gw = sr > 0 ? sr : Math.max(Math.ceil(bw), 0);
    const count = Math.max(gh * gw, 1);
    for (let c = 0; c < C!; c++) {
      const at = (yy: number, xx: number) => xd[((bidx[n]! * C! + c) * H! + yy) * W! + xx]!;
      for (let ph = 0; ph < oh; ph++) for (let pw = 0; pw < ow; pw++) {
        let acc = 0;
        let mx: number | undefined;
        for (let iy = 0; iy < gh; iy++) for (let ix = 0; ix < gw; ix++) {
          let y = f(f(sh + f(ph * bh)) + f(f((iy + 0.5) * bh) / gh));
          let x = f(f(sw + f(pw * bw)) + f(f((ix + 0.5) * bw) / gw));
          let v: number;
          if (y < -1 || y > H! || x < -1 || x > W!) v = 0;
          else {
            y = Math.max(y, 0);
            x = Math.max(x, 0);
            let yl = Math.floor(y), xl = Math.floor(x), yh = yl + 1, xh = xl + 1;
            if (yl >= H! - 1) (yl = yh = H! - 1), (y = yl);
            if (xl >= W! - 1) (xl = xh = W! - 1), (x = xl);
            const ly = f(y - yl), lx = f(x - xl), hy = f(1 - ly), hx = f(1 - lx);
            const t = [f(f(hy * hx) * at(yl, xl)), f(f(hy * lx) * at(yl, xh)), f(f(ly * hx) * at(yh, xl)), f(f(ly * lx) * at(yh, xh))];
            if (mode === 'max') v = t.reduce((m, u) => (u > m ? u : m)); // first, then strictly greater
            else {
              acc = f(acc + f(f(f(t[0]! + t[1]!) + t[2]!) + t[3]!));
              continue;
            }
          }
          mx = mx === undefined ? v : v > mx ? v : mx;
        }
        out.push(mode === 'max' ? (mx ?? 0) : f(acc / count));
      }
    }
  });
  return out;
}

test('RoiAlign f32: bit-identical to the canonical re-computation', () => {
  const r = rng(11);
  const X = randF(r, 1, [2, 3, 7, 9], -3, 3);
  const rois = [
    [0.3, 1.2, 6.7, 5.1],
    [-2, -1.5, 3.3, 2.2],
    [8, 6, 12, 11],
    [4, 4, 4, 4],
    [5.5, 2.25, 1.5, 0.75],
  ].map((a) => a.map(Math.fround));
  const bidx = [0, 1, 1, 0, 1];
  for (const half of [true, false]) for (const mode of ['avg', 'max']) for (const sr of [0, 2, 3]) for (const [oh, ow] of [[2, 3], [1, 1], [4, 2]] as const) {
    const scale = Math.fround(0.75);
    const [y] = run('RoiAlign', [X, f32([5, 4], rois.flat()), i64([5], bidx)], {
      coordinate_transformation_mode: half ? 'half_pixel' : 'output_half_pixel', mode, sampling_ratio: sr, output_height: oh, output_width: ow, spatial_scale: { float: scale },
    });
    assert.deepEqual([...y!.shape], [5, 3, oh, ow]);
    sameValues(y!, refRoiAlign(X, rois, bidx, oh, ow, sr, scale, half, mode), `half=${half} ${mode} sr=${sr} ${oh}x${ow}`);
  }
});

test('RoiAlign: opset 10 defaults to output_half_pixel; invalid inputs', () => {
  const r = rng(5);
  const X = randF(r, 1, [1, 1, 4, 4]);
  const rois = f32([1, 4], [0.5, 0.5, 2.5, 3]);
  const b = i64([1], [0]);
  const [a] = run('RoiAlign', [X, rois, b], { output_height: 2, output_width: 2 }, 10);
  const [c] = run('RoiAlign', [X, rois, b], { output_height: 2, output_width: 2, coordinate_transformation_mode: 'output_half_pixel' }, 16);
  sameValues(a!, c!.data as Float32Array, 'opset10');
  throwsCode(() => run('RoiAlign', [X, rois, i64([1], [1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('RoiAlign', [X, rois, i64([1], [-1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('RoiAlign', [X, f32([1, 5], [0, 0, 0, 1, 1]), b]), 'INVALID_ARGUMENT');
  throwsCode(() => run('RoiAlign', [X, rois, b], { mode: 'sum' }), 'INVALID_ARGUMENT');
  throwsCode(() => run('RoiAlign', [X, rois, b], { output_height: 0 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('RoiAlign', [X, rois, b], { sampling_ratio: -1 }), 'INVALID_ARGUMENT');
  // NaN roi: no samples or out-of-range samples, never a crash
  const [n] = run('RoiAlign', [X, f32([1, 4], [NaN, 0, 1, 1]), b], { sampling_ratio: 2 });
  assert.equal((n!.data as Float32Array).length, 1);
  const [e] = run('RoiAlign', [X, new Tensor(DType.float32, [0, 4], new Float32Array(0)), i64([0], [])]);
  assert.deepEqual([...e!.shape], [0, 1, 1, 1]);
});

// ---------------------------------------------------------------------------
// DeformConv

test('DeformConv with zero offsets and no mask equals Conv bit for bit', () => {
  const r = rng(21);
  const cases: [number[], number[], Attrs][] = [
    [[2, 4, 6, 5], [6, 2, 3, 2], { group: 2, pads: [1, 0, 2, 1], strides: [2, 1], dilations: [1, 2] }],
    [[1, 3, 5, 5], [2, 3, 3, 3], { pads: [1, 1, 1, 1], offset_group: 3 }],
    [[1, 2, 7], [3, 2, 3], { strides: [2], pads: [1, 1] }],
  ];
  for (const [xs, ws, attrs] of cases) {
    const X = randF(r, 1, [...xs]);
    const W = randF(r, 1, [...ws]);
    const B = randF(r, 1, [ws[0]!]);
    const [yc] = convOps.Conv!([X, W, B], ctx('Conv', attrs));
    const og = (attrs.offset_group as number | undefined) ?? 1;
    const K = prod(ws.slice(2));
    const offShape = [xs[0]!, og * K * (xs.length - 2), ...yc!.shape.slice(2)];
    const off = new Tensor(DType.float32, offShape, new Float32Array(prod(offShape)));
    const [yd] = run('DeformConv', [X, W, off, B], attrs);
    assert.deepEqual([...yd!.shape], [...yc!.shape]);
    sameValues(yd!, yc!.data as Float32Array, `${xs}`);
  }
});

test('DeformConv: fractional offsets and mask follow the canonical order', () => {
  // X 1x1x2x2, W 1x1x1x1 = 2, one output position, offset (0.25, 0.5), mask 0.5
  const X = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  const W = f32([1, 1, 1, 1], [2]);
  const off = f32([1, 2, 2, 2], [0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5]);
  const mask = f32([1, 1, 2, 2], [0.5, 0.5, 0.5, 0.5]);
  const [y] = run('DeformConv', [X, W, off, f32([1], [1]), mask]);
  const f = Math.fround;
  // position (0,0): y = 0.25, x = 0.5: rows lerp 1..2 -> 1.5, 3..4 -> 3.5; column 1.5*0.75 + 3.5*0.25 = 2
  const s00 = f(f(f(0.75) * f(f(0.5 * 1) + f(0.5 * 2))) + f(0.25 * f(f(0.5 * 3) + f(0.5 * 4))));
  const want0 = f(f(0 + f(2 * f(0.5 * s00))) + 1);
  assert.equal((y!.data as Float32Array)[0], want0);
  // position (1,1): y = 1.25, x = 1.5: taps beyond the input read 0
  const s11 = f(f(0.75 * f(f(0.5 * 4) + f(0.5 * 0))) + f(0.25 * 0));
  assert.equal((y!.data as Float32Array)[3], f(f(2 * f(0.5 * s11)) + 1));
});

test('DeformConv: invalid shapes', () => {
  const X = f32([1, 2, 3, 3], new Array(18).fill(1));
  const W = f32([1, 2, 2, 2], new Array(8).fill(1));
  const off = f32([1, 8, 2, 2], new Array(32).fill(0));
  throwsCode(() => run('DeformConv', [X, W, f32([1, 8, 3, 3], new Array(72).fill(0))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('DeformConv', [X, W, off], { offset_group: 2 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('DeformConv', [X, W, off], { group: 2 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('DeformConv', [X, W, off], { kernel_shape: [3, 3] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('DeformConv', [X, W, off, undefined, f32([1, 2, 2, 2], new Array(8).fill(1))]), 'INVALID_ARGUMENT');
  const [y] = run('DeformConv', [X, W, off]);
  assert.deepEqual([...(y!.data as Float32Array)], [8, 8, 8, 8]);
});

// ---------------------------------------------------------------------------
// MaxRoiPool

test('MaxRoiPool: bins, rounding and clamping', () => {
  const X = f32([1, 1, 4, 4], [...Array(16).keys()]);
  // roi x1=0.5 -> round 1, y1=0 , x2=2.5 -> 3, y2=3.49 -> 3 : w 3, h 4
  const [y] = run('MaxRoiPool', [X, f32([1, 5], [0, 0.5, 0, 2.5, 3.49])], { pooled_shape: [2, 2] });
  // rows [0,2) [2,4); cols: bw = 1.5: [floor(0)+1, ceil(1.5)+1) = [1,3), [floor(1.5)+1, ceil(3)+1) = [2,4)
  assert.deepEqual([...(y!.data as Float32Array)], [6, 7, 14, 15]);
  // scale and ROI outside -> empty bins give 0
  const [z] = run('MaxRoiPool', [X, f32([1, 5], [0, 10, 10, 12, 12])], { pooled_shape: [1, 1] });
  assert.deepEqual([...(z!.data as Float32Array)], [0]);
  assert.equal(_internal.roundHalfAway(-2.5), -3);
  assert.equal(_internal.roundHalfAway(2.5), 3);
  assert.equal(_internal.roundHalfAway(-2.4), -2);
  throwsCode(() => run('MaxRoiPool', [X, f32([1, 5], [1, 0, 0, 1, 1])], { pooled_shape: [1, 1] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('MaxRoiPool', [X, f32([1, 5], [0, NaN, 0, 1, 1])], { pooled_shape: [1, 1] }), 'INVALID_ARGUMENT');
  throwsCode(() => run('MaxRoiPool', [X, f32([1, 5], [0, 0, 0, 1, 1])]), 'INVALID_ARGUMENT');
});
