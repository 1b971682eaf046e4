import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../tensor/dtype.js';
import { stridesOf, Tensor } from '../../tensor/tensor.js';
import { ops } from './shape.js';
import { makeCtx, attrsOf, type PlainAttrs, i64, throwsCode } from '../../../test/fixtures/kernels.js';

function run(op: string, inputs: (Tensor | undefined)[], attrs: PlainAttrs = {}, opset = 17, nOut = 1): Tensor[] {
  const outputs = Array.from({ length: nOut }, (_, i) => `y${i}`);
  return ops[op]!(inputs, makeCtx(op, attrsOf(attrs), opset, outputs));
}
const f32 = (shape: number[], v?: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i)));
const arr = (t: Tensor) => Array.from(t.data as ArrayLike<number>, Number);

/** Naive reference: out[idx] = x[map(idx)] by full coordinate enumeration. */
function naive(outShape: number[], x: Tensor, src: (c: number[]) => number[] | null, fill = 0): number[] {
  const n = outShape.reduce((a, b) => a * b, 1);
  const xs = stridesOf(x.shape);
  const out: number[] = [];
  const c = new Array(outShape.length).fill(0);
  for (let i = 0; i < n; i++) {
    const s = src(c);
    out.push(s === null ? fill : Number(x.data[s.reduce((a, v, k) => a + v * xs[k]!, 0)]));
    for (let a = outShape.length - 1; a >= 0; a--) {
      if (++c[a] < outShape[a]!) break;
      c[a] = 0;
    }
  }
  return out;
}
function rand(shape: number[], seed = 1): Tensor {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    d[i] = Math.fround((s >>> 8) / 65536 - 128);
  }
  return new Tensor(DType.float32, shape, d);
}

test('Identity and Reshape are zero-copy', () => {
  const x = f32([2, 3]);
  assert.equal(run('Identity', [x])[0], x);
  const y = run('Reshape', [x, i64([3, -1])])[0]!;
  assert.deepEqual(y.shape, [3, 2]);
  assert.equal(y.data, x.data);
});

test('Reshape: 0 copies, -1 infers, allowzero, errors', () => {
  const x = f32([2, 3, 4]);
  assert.deepEqual(run('Reshape', [x, i64([0, -1])])[0]!.shape, [2, 12]);
  assert.deepEqual(run('Reshape', [x, i64([-1])])[0]!.shape, [24]);
  const e = f32([0, 3]);
  assert.deepEqual(run('Reshape', [e, i64([3, 0])], { allowzero: 1 }, 14)[0]!.shape, [3, 0]);
  throwsCode(() => run('Reshape', [e, i64([0, -1])], { allowzero: 1 }, 14), 'INVALID_ARGUMENT');
  throwsCode(() => run('Reshape', [x, i64([5, -1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Reshape', [x, i64([-1, -1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Reshape', [x, i64([-2, 12])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Reshape', [x, i64([2, 3, 4, 0])]), 'INVALID_ARGUMENT');
  // opset < 5: attribute form
  assert.deepEqual(run('Reshape', [x], { shape: [4, 6] }, 4)[0]!.shape, [4, 6]);
});

test('Flatten, Squeeze, Unsqueeze', () => {
  const x = f32([2, 1, 3, 1]);
  assert.deepEqual(run('Flatten', [x], { axis: -1 })[0]!.shape, [6, 1]);
  assert.deepEqual(run('Flatten', [x], { axis: 0 })[0]!.shape, [1, 6]);
  assert.deepEqual(run('Flatten', [x], { axis: 4 })[0]!.shape, [6, 1]);
  throwsCode(() => run('Flatten', [x], { axis: 5 }), 'INVALID_ARGUMENT');
  assert.deepEqual(run('Squeeze', [x])[0]!.shape, [2, 3]);
  assert.deepEqual(run('Squeeze', [x, i64([])], {}, 13)[0]!.shape, [2, 3]);
  assert.deepEqual(run('Squeeze', [x, i64([-1])], {}, 13)[0]!.shape, [2, 1, 3]);
  assert.deepEqual(run('Squeeze', [x], { axes: [1] }, 11)[0]!.shape, [2, 3, 1]);
  throwsCode(() => run('Squeeze', [x, i64([0])], {}, 13), 'INVALID_ARGUMENT');
  assert.deepEqual(run('Unsqueeze', [f32([3]), i64([0, -1])], {}, 13)[0]!.shape, [1, 3, 1]);
  assert.deepEqual(run('Unsqueeze', [f32([3])], { axes: [1] }, 11)[0]!.shape, [3, 1]);
  throwsCode(() => run('Unsqueeze', [f32([3]), i64([0, 0])], {}, 13), 'INVALID_ARGUMENT');
  throwsCode(() => run('Unsqueeze', [f32([3]), i64([3])], {}, 13), 'INVALID_ARGUMENT');
});

test('Transpose matches a naive re-computation bit for bit (all perms, tiled path)', () => {
  const perms = (n: number): number[][] =>
    n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
  for (const shape of [[2, 3, 4, 5], [40, 3, 37, 1], [1, 33, 65, 2]]) {
    const x = rand(shape, shape[1]);
    for (const perm of perms(4)) {
      const y = run('Transpose', [x], { perm })[0]!;
      const outShape = perm.map((p) => shape[p]!);
      assert.deepEqual(y.shape, outShape);
      const ref = naive(outShape, x, (c) => {
        const s = new Array(4);
        perm.forEach((p, i) => (s[p] = c[i]));
        return s;
      });
      assert.deepEqual(arr(y), ref, `perm ${perm}`);
    }
  }
  const big = rand([70, 90]);
  assert.deepEqual(arr(run('Transpose', [big])[0]!), naive([90, 70], big, (c) => [c[1]!, c[0]!]));
  throwsCode(() => run('Transpose', [big], { perm: [0, 0] }), 'INVALID_ARGUMENT');
  // scalar and float16 raw bits
  const h = new Tensor(DType.float16, [2, 2], Uint16Array.of(0x7e00, 0x8000, 1, 0x3c00));
  assert.deepEqual(Array.from(run('Transpose', [h])[0]!.data as Uint16Array), [0x7e00, 1, 0x8000, 0x3c00]);
});

test('Concat: negative axis, empty inputs, int64, errors', () => {
  const a = i64([1, 2, 3, 4], [2, 2]);
  const b = i64([], [2, 0]);
  const c = i64([5, 6], [2, 1]);
  const y = run('Concat', [a, b, c], { axis: -1 })[0]!;
  assert.deepEqual(y.shape, [2, 3]);
  assert.deepEqual(arr(y), [1, 2, 5, 3, 4, 6]);
  const big = run('Concat', [rand([3, 30]), rand([3, 50], 2)], { axis: 1 })[0]!;
  assert.deepEqual(big.shape, [3, 80]);
  throwsCode(() => run('Concat', [a, f32([2, 2])], { axis: 0 }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Concat', [a, i64([1, 2, 3], [1, 3])], { axis: 0 }), 'INVALID_ARGUMENT');
});

test('Split: attribute (opset 11), input (13), num_outputs uneven (18)', () => {
  const x = f32([2, 7]);
  const [p, q] = run('Split', [x], { axis: 1, split: [3, 4] }, 11, 2);
  assert.deepEqual(arr(p!), [0, 1, 2, 7, 8, 9]);
  assert.deepEqual(arr(q!), [3, 4, 5, 6, 10, 11, 12, 13]);
  const r13 = run('Split', [x, i64([0, 7])], { axis: -1 }, 13, 2);
  assert.deepEqual(r13[0]!.shape, [2, 0]);
  throwsCode(() => run('Split', [x], { axis: 1 }, 13, 2), 'INVALID_ARGUMENT');
  const r18 = run('Split', [x], { axis: 1, num_outputs: 3 }, 18, 3);
  assert.deepEqual(r18.map((t) => t.shape[1]), [3, 3, 1]);
  throwsCode(() => run('Split', [x, i64([3, 3])], { axis: 1 }, 13, 2), 'INVALID_ARGUMENT');
});

test('Expand (bidirectional) and Tile against naive', () => {
  const x = f32([3, 1]);
  const y = run('Expand', [x, i64([2, 1, 4])])[0]!;
  assert.deepEqual(y.shape, [2, 3, 4]);
  assert.deepEqual(arr(y), naive([2, 3, 4], x, (c) => [c[1]!, 0]));
  assert.equal(run('Expand', [x, i64([1, 1])])[0]!.data, x.data);
  throwsCode(() => run('Expand', [x, i64([2, 2])]), 'INVALID_ARGUMENT');
  const t = rand([2, 3, 5]);
  const z = run('Tile', [t, i64([3, 1, 2])])[0]!;
  assert.deepEqual(arr(z), naive([6, 3, 10], t, (c) => [c[0]! % 2, c[1]!, c[2]! % 5]));
  assert.deepEqual(run('Tile', [t, i64([0, 1, 1])])[0]!.shape, [0, 3, 5]);
  throwsCode(() => run('Tile', [t, i64([1, 1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Tile', [t, i64([1, -1, 1])]), 'INVALID_ARGUMENT');
});

/** numpy-style pad reference via per-axis index functions. */
function refPad(x: Tensor, pads: number[], mode: string, cval = 0): number[] {
  const r = x.rank;
  const out = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  return naive(out, x, (c) => {
    const s: number[] = [];
    for (let i = 0; i < r; i++) {
      const n = x.shape[i]!;
      let k = c[i]! - pads[i]!;
      if (k < 0 || k >= n) {
        if (mode === 'constant') return null;
        if (mode === 'edge') k = k < 0 ? 0 : n - 1;
        if (mode === 'wrap') k = ((k % n) + n) % n;
        if (mode === 'reflect') {
          while (k < 0 || k >= n) k = k < 0 ? -k : 2 * (n - 1) - k; // repeated mirroring
        }
      }
      s.push(k);
    }
    return s;
  }, cval);
}

test('Pad: constant/reflect/edge/wrap incl. pads larger than the axis', () => {
  const x = rand([3, 4]);
  for (const mode of ['constant', 'reflect', 'edge', 'wrap']) {
    for (const pads of [[1, 2, 0, 3], [5, 7, 6, 9], [0, 0, 0, 0]]) {
      const y = run('Pad', [x, i64(pads), f32([], [2.5])], { mode })[0]!;
      assert.deepEqual(arr(y), refPad(x, pads, mode, 2.5), `${mode} ${pads}`);
    }
  }
  // axes input (opset 18), negative axes
  const y = run('Pad', [x, i64([1, 2]), undefined, i64([-1])], { mode: 'edge' }, 18)[0]!;
  assert.deepEqual(arr(y), refPad(x, [0, 1, 0, 2], 'edge'));
  // attribute form (opset 2..10) with float16 value
  const h = new Tensor(DType.float16, [2], Uint16Array.of(0x3c00, 0x4000));
  const hy = run('Pad', [h], { pads: [1, 1], value: { f: -2 } }, 10)[0]!;
  assert.deepEqual(Array.from(hy.data as Uint16Array), [0xc000, 0x3c00, 0x4000, 0xc000]);
  // negative pads crop
  const c = run('Pad', [x, i64([-1, 1, 0, -2])], { mode: 'constant' })[0]!;
  assert.deepEqual(c.shape, [2, 3]);
  assert.deepEqual(arr(c), [0, x.data[4]!, x.data[5]!, 0, x.data[8]!, x.data[9]!].map(Number));
  throwsCode(() => run('Pad', [f32([0, 2]), i64([1, 0, 0, 0])], { mode: 'reflect' }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Pad', [x, i64([1, 1])]), 'INVALID_ARGUMENT');
  // int64 with constant
  const iy = run('Pad', [i64([7]), i64([1, 0]), i64([-3], [])])[0]!;
  assert.deepEqual(arr(iy), [-3, 7]);
});

test('CenterCropPad crops and pads around the centre', () => {
  const x = f32([5, 2]);
  const y = run('CenterCropPad', [x, i64([2, 5])])[0]!;
  // rows: crop (5-2)/2 = 1 -> rows 1,2 ; cols: pad (5-2)/2 = 1 -> cols 1,2
  assert.deepEqual(arr(y), [0, 2, 3, 0, 0, 0, 4, 5, 0, 0]);
  const z = run('CenterCropPad', [x, i64([3])], { axes: [-2] })[0]!;
  assert.deepEqual(arr(z), [2, 3, 4, 5, 6, 7]);
});

test('Shape (start/end clamping) and Size', () => {
  const x = f32([2, 3, 4]);
  assert.deepEqual(arr(run('Shape', [x])[0]!), [2, 3, 4]);
  assert.deepEqual(arr(run('Shape', [x], { start: -2, end: 100 }, 15)[0]!), [3, 4]);
  assert.deepEqual(arr(run('Shape', [x], { start: 2, end: 1 }, 15)[0]!), []);
  const s = run('Size', [x])[0]!;
  assert.equal(s.dtype, DType.int64);
  assert.deepEqual(s.shape, []);
  assert.equal((s.data as BigInt64Array)[0], 24n);
});

test('Constant forms and ConstantOfShape', () => {
  const t = f32([2], [1, 2]);
  assert.equal(run('Constant', [], { value: t })[0], t);
  assert.deepEqual(arr(run('Constant', [], { value_floats: { fs: [0.1, 2] } })[0]!), [Math.fround(0.1), 2]);
  const vi = run('Constant', [], { value_int: -5 })[0]!;
  assert.equal(vi.dtype, DType.int64);
  assert.deepEqual(vi.shape, []);
  assert.deepEqual(arr(run('Constant', [], { value_ints: [1, 2, 3] })[0]!), [1, 2, 3]);
  throwsCode(() => run('Constant', [], { value_string: 'x' }), 'UNSUPPORTED_FEATURE');
  const z = run('ConstantOfShape', [i64([2, 2])])[0]!;
  assert.equal(z.dtype, DType.float32);
  assert.deepEqual(arr(z), [0, 0, 0, 0]);
  const s = run('ConstantOfShape', [i64([])], { value: i64([9], [1]) })[0]!;
  assert.deepEqual(s.shape, []);
  assert.deepEqual(arr(s), [9]);
  throwsCode(() => run('ConstantOfShape', [i64([-1])]), 'INVALID_ARGUMENT');
});

test('Range: float32 accumulates sequentially (x = f32(x + delta)); ints exact', () => {
  const y = run('Range', [f32([], [0]), f32([], [3]), f32([], [0.1])])[0]!;
  const ref: number[] = [];
  let acc = 0;
  const d = Math.fround(0.1);
  for (let i = 0; i < Math.ceil(Math.fround(3 / d)); i++, acc = Math.fround(acc + d)) ref.push(acc);
  assert.deepEqual(arr(y), ref);
  // differs from start + i*delta somewhere: documents the canonical choice
  assert.ok(ref.some((v, i) => v !== Math.fround(i * d)));
  const r = run('Range', [i64([10], []), i64([1], []), i64([-3], [])])[0]!;
  assert.deepEqual(arr(r), [10, 7, 4]);
  const i32 = (v: number) => new Tensor(DType.int32, [], Int32Array.of(v));
  assert.deepEqual(arr(run('Range', [i32(1), i32(1), i32(2)])[0]!), []);
  assert.deepEqual(arr(run('Range', [i32(-2), i32(5), i32(3)])[0]!), [-2, 1, 4]);
  throwsCode(() => run('Range', [i32(0), i32(5), i32(0)]), 'INVALID_ARGUMENT');
  throwsCode(() => run('Range', [f32([], [0]), f32([], [Infinity]), f32([], [1])]), 'INVALID_ARGUMENT');
  const h = new Tensor(DType.float16, [], Uint16Array.of(0));
  throwsCode(() => run('Range', [h, h, h]), 'UNSUPPORTED_FEATURE');
});

test('EyeLike and Trilu', () => {
  const e = run('EyeLike', [f32([2, 3])], { k: 1, dtype: DType.int64 })[0]!;
  assert.equal(e.dtype, DType.int64);
  assert.deepEqual(arr(e), [0, 1, 0, 0, 0, 1]);
  const x = f32([2, 3, 4]).data;
  const t = new Tensor(DType.float32, [2, 3, 4], x);
  for (const upper of [0, 1]) {
    for (const k of [-4, -1, 0, 2, 5]) {
      const y = run('Trilu', [t, i64([k], [])], { upper })[0]!;
      const ref = naive([2, 3, 4], t, (c) => ((upper ? c[2]! - c[1]! >= k : c[2]! - c[1]! <= k) ? c : null));
      assert.deepEqual(arr(y), ref, `upper=${upper} k=${k}`);
    }
  }
});

test('DepthToSpace DCR/CRD and SpaceToDepth against the reshape/transpose definitions', () => {
  const [n, c, h, w, b] = [2, 8, 3, 2, 2];
  const x = rand([n, c, h, w]);
  const cc = c / (b * b);
  const dcr = run('DepthToSpace', [x], { blocksize: b })[0]!;
  assert.deepEqual(dcr.shape, [n, cc, h * b, w * b]);
  assert.deepEqual(arr(dcr), naive([n, cc, h * b, w * b], x, ([i, ch, y, xx]) => [i!, (((y! % b) * b + (xx! % b)) * cc) + ch!, Math.floor(y! / b), Math.floor(xx! / b)]));
  const crd = run('DepthToSpace', [x], { blocksize: b, mode: 'CRD' })[0]!;
  assert.deepEqual(arr(crd), naive([n, cc, h * b, w * b], x, ([i, ch, y, xx]) => [i!, ch! * b * b + (y! % b) * b + (xx! % b), Math.floor(y! / b), Math.floor(xx! / b)]));
  const back = run('SpaceToDepth', [dcr], { blocksize: b })[0]!;
  assert.deepEqual(arr(back), arr(x));
  throwsCode(() => run('DepthToSpace', [rand([1, 3, 2, 2])], { blocksize: 2 }), 'INVALID_ARGUMENT');
});

test('ReverseSequence, NonZero, Compress', () => {
  const x = f32([4, 2]); // time-major [T=4, B=2]
  const y = run('ReverseSequence', [x, i64([3, 0])], { batch_axis: 1, time_axis: 0 })[0]!;
  assert.deepEqual(arr(y), [4, 1, 2, 3, 0, 5, 6, 7]);
  throwsCode(() => run('ReverseSequence', [x, i64([5, 0])]), 'INVALID_ARGUMENT');
  const z = run('NonZero', [f32([2, 3], [0, -0, NaN, 1, 0, 2])])[0]!;
  assert.deepEqual(z.shape, [2, 3]);
  assert.deepEqual(arr(z), [0, 1, 1, 2, 0, 2]);
  assert.deepEqual(run('NonZero', [f32([], [5])])[0]!.shape, [1, 1]);
  const cond = new Tensor(DType.bool, [2], Uint8Array.of(0, 1));
  assert.deepEqual(arr(run('Compress', [f32([3, 2]), cond], { axis: 0 })[0]!), [2, 3]);
  assert.deepEqual(arr(run('Compress', [f32([3, 2]), cond])[0]!), [1]);
  const long = new Tensor(DType.bool, [4], Uint8Array.of(1, 0, 0, 1));
  throwsCode(() => run('Compress', [f32([3, 2]), long], { axis: 0 }), 'INVALID_ARGUMENT');
});

test('Dropout: identity in inference, mask, training mode', () => {
  const x = f32([2]);
  const [y, m] = run('Dropout', [x], {}, 13, 2);
  assert.equal(y, x);
  assert.equal(m!.dtype, DType.bool);
  assert.deepEqual(arr(m!), [1, 1]);
  const t = new Tensor(DType.bool, [], Uint8Array.of(1));
  throwsCode(() => run('Dropout', [x, f32([], [0.5]), t], {}, 13), 'UNSUPPORTED_FEATURE');
  assert.equal(run('Dropout', [x, f32([], [0]), t], {}, 13)[0], x);
  const [, m7] = run('Dropout', [x], { ratio: { f: 0.3 } }, 7, 2);
  assert.equal(m7!.dtype, DType.float32);
});
