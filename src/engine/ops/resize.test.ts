import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './resize.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { numberToFloat16 } from '../../tensor/float16.js';
import { makeCtx, f32, f64, i64, str, int, flt, ints, floats, vals, throwsCode, sameBits32, nrLcgFloat32 } from '../../../test/fixtures/kernels.js';

type Attr = AttrValue;

function run(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, opset = 19): Tensor {
  const out = ops[opType]!(inputs, makeCtx(opType, attrs, opset));
  assert.equal(out.length, 1);
  return out[0]!;
}

// A deterministic pseudo-random float32 stream.
const rand = (n: number, seed = 1): number[] => Array.from(nrLcgFloat32(n, seed, -10, 10));

test('bilinear half_pixel float32: bit-identical to a straightforward canonical recomputation', () => {
  const [N, C, Hi, Wi] = [1, 2, 5, 7];
  const data = rand(N * C * Hi * Wi, 7);
  const scales = [1, 1, 1.7, 0.6];
  const y = run('Resize', [f32(data, [N, C, Hi, Wi]), undefined, f32(scales)], { mode: str('linear') });
  const sH = Math.fround(1.7);
  const sW = Math.fround(0.6);
  const Ho = Math.floor(sH * Hi);
  const Wo = Math.floor(sW * Wi);
  assert.deepEqual(y.shape, [N, C, Ho, Wo]);
  const f = Math.fround;
  const coord = (x: number, s: number, L: number): [number, number, number, number] => {
    let c = (x + 0.5) / s - 0.5;
    c = Math.min(Math.max(c, 0), L - 1);
    const i0 = Math.floor(c);
    const r = c - i0;
    return [i0, Math.min(i0 + 1, L - 1), f(1 - r), f(r)];
  };
  // Canonical order: the last axis is interpolated first, then the outer one.
  const lerp = (a: number, wa: number, b: number, wb: number): number => {
    let acc = -0;
    if (wa !== 0) acc = f(acc + f(a * wa));
    if (wb !== 0) acc = f(acc + f(b * wb));
    return acc;
  };
  const want = new Float32Array(N * C * Ho * Wo);
  let p = 0;
  for (let c = 0; c < C; c++) {
    for (let yo = 0; yo < Ho; yo++) {
      const [h0, h1, wh0, wh1] = coord(yo, sH, Hi);
      for (let xo = 0; xo < Wo; xo++) {
        const [w0, w1, ww0, ww1] = coord(xo, sW, Wi);
        const at = (h: number, w: number): number => data[(c * Hi + h) * Wi + w]!;
        const r0 = lerp(at(h0, w0), ww0, at(h0, w1), ww1);
        const r1 = lerp(at(h1, w0), ww0, at(h1, w1), ww1);
        want[p++] = lerp(r0, wh0, r1, wh1);
      }
    }
  }
  sameBits32(y.data as Float32Array, want);
});

test('nearest modes: half_pixel x2 upsample and an exact tie under align_corners', () => {
  const x = f32([10, 20, 30, 40]);
  // half_pixel, 4 -> 8: coords -0.25, 0.25, 0.75, 1.25, ... (clamped to [0, 3])
  const up = (nm: string): (number | bigint)[] =>
    vals(run('Resize', [x, undefined, undefined, i64([8])], { mode: str('nearest'), nearest_mode: str(nm) }));
  assert.deepEqual(up('round_prefer_floor'), [10, 10, 20, 20, 30, 30, 40, 40]);
  assert.deepEqual(up('floor'), [10, 10, 10, 20, 20, 30, 30, 40]);
  assert.deepEqual(up('ceil'), [10, 20, 20, 30, 30, 40, 40, 40]);
  // align_corners 2 -> 3: coord of x=1 is exactly 0.5 (a tie).
  const y2 = f32([1, 2]);
  const tie = (nm: string): (number | bigint)[] =>
    vals(
      run('Resize', [y2, undefined, undefined, i64([3])], {
        mode: str('nearest'),
        nearest_mode: str(nm),
        coordinate_transformation_mode: str('align_corners'),
      }),
    );
  assert.deepEqual(tie('round_prefer_floor'), [1, 1, 2]);
  assert.deepEqual(tie('round_prefer_ceil'), [1, 2, 2]);
});

test('identity resize keeps NaN, Inf and -0 exactly (linear and cubic)', () => {
  const x = f32([NaN, Infinity, -0, -Infinity, 1.5, -2], [2, 3]);
  for (const mode of ['linear', 'cubic', 'nearest']) {
    const y = run('Resize', [x, undefined, f32([1, 1])], { mode: str(mode) });
    assert.deepEqual(y.shape, [2, 3]);
    const v = vals(y) as number[];
    assert.ok(Number.isNaN(v[0]));
    assert.equal(v[1], Infinity);
    assert.ok(Object.is(v[2], -0));
    assert.deepEqual(v.slice(3), [-Infinity, 1.5, -2]);
  }
});

test('linear lerp of -0 and -0 stays -0; Inf neighbours do not leak through weight 0', () => {
  // asymmetric x2 upsample: output 1 = 0.5*a + 0.5*b; output 0 = a exactly (b has weight 0).
  const y = run('Resize', [f32([-0, -0]), undefined, f32([2])], {
    mode: str('linear'),
    coordinate_transformation_mode: str('asymmetric'),
  });
  for (const v of vals(y)) assert.ok(Object.is(v, -0));
  const z = run('Resize', [f32([1, Infinity]), undefined, f32([2])], {
    mode: str('linear'),
    coordinate_transformation_mode: str('asymmetric'),
  });
  assert.deepEqual(vals(z), [1, Infinity, Infinity, Infinity]);
});

test('float64 linear computes in doubles', () => {
  const y = run('Resize', [f64([0, 1]), undefined, f32([1.5])], {
    mode: str('linear'),
    coordinate_transformation_mode: str('align_corners'),
  });
  // 3 outputs: coords 0, 0.5, 1 (LR = 1.5 * 2 = 3)
  assert.equal(y.dtype, DType.float64);
  assert.deepEqual(vals(y), [0, 0.5, 1]);
});

test('uint8 linear rounds half to even and saturates; int32 cubic overshoot saturates', () => {
  // 0,1 asymmetric x4: 0, 0.25, 0.5, 0.75, 1, 1, 1, 1 -> 0, 0, 0, 1, 1...
  const x = new Tensor(DType.uint8, [2], Uint8Array.from([0, 1]));
  const y = run('Resize', [x, undefined, f32([4])], { mode: str('linear'), coordinate_transformation_mode: str('asymmetric') });
  assert.equal(y.dtype, DType.uint8);
  assert.deepEqual(vals(y), [0, 0, 0, 1, 1, 1, 1, 1]);
  const x3 = new Tensor(DType.uint8, [2], Uint8Array.from([3, 4]));
  const y3 = run('Resize', [x3, undefined, f32([2])], { mode: str('linear'), coordinate_transformation_mode: str('asymmetric') });
  assert.deepEqual(vals(y3), [3, 4, 4, 4]); // 3.5 -> 4 (even)
  const x5 = new Tensor(DType.uint8, [2], Uint8Array.from([5, 6]));
  const y5 = run('Resize', [x5, undefined, f32([2])], { mode: str('linear'), coordinate_transformation_mode: str('asymmetric') });
  assert.deepEqual(vals(y5), [5, 6, 6, 6]); // 5.5 -> 6 (even)
  const x4 = new Tensor(DType.uint8, [2], Uint8Array.from([4, 5]));
  const y4 = run('Resize', [x4, undefined, f32([2])], { mode: str('linear'), coordinate_transformation_mode: str('asymmetric') });
  assert.deepEqual(vals(y4), [4, 4, 5, 5]); // 4.5 -> 4 (even)
  // cubic overshoot beyond 255 saturates
  const xs = new Tensor(DType.uint8, [4], Uint8Array.from([0, 0, 255, 255]));
  const ys = run('Resize', [xs, undefined, f32([3])], { mode: str('cubic') });
  for (const v of vals(ys)) assert.ok((v as number) >= 0 && (v as number) <= 255);
});

test('nearest is pure data movement for int64, bool and float16', () => {
  const x = new Tensor(DType.int64, [2], BigInt64Array.from([-(2n ** 62n), 7n]));
  assert.deepEqual(vals(run('Resize', [x, undefined, f32([2])], { mode: str('nearest') })), [-(2n ** 62n), -(2n ** 62n), 7n, 7n]);
  const b = new Tensor(DType.bool, [2], Uint8Array.from([1, 0]));
  assert.deepEqual(vals(run('Resize', [b, undefined, f32([1.5])], {})), [1, 1, 0]);
  const h = new Tensor(DType.float16, [2], Uint16Array.from([numberToFloat16(1), numberToFloat16(-2)]));
  assert.deepEqual(vals(run('Resize', [h, undefined, f32([2])], {})), [0x3c00, 0x3c00, 0xc000, 0xc000]);
  throwsCode(() => run('Resize', [h, undefined, f32([2])], { mode: str('linear') }), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('Resize', [x, undefined, f32([2])], { mode: str('linear') }), 'UNSUPPORTED_FEATURE');
});

test('tf_crop_and_resize: extrapolation on any out-of-range axis, int32 nearest', () => {
  const x = new Tensor(DType.int32, [2, 2], Int32Array.from([1, 2, 3, 4]));
  // roi beyond the input on axis 1 only: columns at coord > 1 are extrapolated.
  const y = run('Resize', [x, f32([0, 0, 1, 2]), undefined, i64([2, 3])], {
    mode: str('nearest'),
    coordinate_transformation_mode: str('tf_crop_and_resize'),
    extrapolation_value: flt(-7),
  });
  // axis1 coords: 0, 1, 2 -> third column out of range
  assert.deepEqual(vals(y), [1, 2, -7, 3, 4, -7]);
  throwsCode(
    () => run('Resize', [x, undefined, undefined, i64([2, 3])], { coordinate_transformation_mode: str('tf_crop_and_resize') }),
    'INVALID_ARGUMENT',
  );
});

test('axes (negative) and keep_aspect_ratio_policy', () => {
  const x = f32(rand(1 * 1 * 4 * 6, 3), [1, 1, 4, 6]);
  const y = run('Resize', [x, undefined, undefined, i64([2, 2])], {
    axes: ints([-2, -1]),
    keep_aspect_ratio_policy: str('not_larger'),
  });
  // scale = min(2/4, 2/6) = 1/3 -> out = floor(4/3 + 0.5) = 1, floor(2 + 0.5) = 2
  assert.deepEqual(y.shape, [1, 1, 1, 2]);
  const z = run('Resize', [x, undefined, undefined, i64([2, 2])], {
    axes: ints([2, 3]),
    keep_aspect_ratio_policy: str('not_smaller'),
  });
  assert.deepEqual(z.shape, [1, 1, 2, 3]);
  throwsCode(() => run('Resize', [x, undefined, undefined, i64([2, 2])], { axes: ints([2, 2]) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, undefined, i64([2, 2])], { axes: ints([4, 3]) }), 'INVALID_ARGUMENT');
});

test('Resize-10 and Upsample: asymmetric, floor when upsampling, ceil when downsampling', () => {
  const x = f32([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
  const d = run('Resize', [x, f32([1, 0.6])], { mode: str('nearest') }, 10);
  assert.deepEqual(vals(d), [1, 3, 5, 7]); // coords 0, 1.67 -> ceil 2
  const u7 = run('Upsample', [f32([1, 2])], { scales: floats([2]), mode: str('nearest') }, 7);
  assert.deepEqual(vals(u7), [1, 1, 2, 2]);
  const u9 = run('Upsample', [f32([1, 2], [1, 2]), f32([2, 2])], { mode: str('linear') }, 9);
  assert.deepEqual(vals(u9), [1, 1.5, 2, 2, 1, 1.5, 2, 2]);
  throwsCode(() => run('Upsample', [f32([1, 2]), f32([0.5])], {}, 9), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, f32([1, 1])], { mode: str('cubic') }, 10), 'INVALID_ARGUMENT');
});

test('empty outputs and invalid arguments', () => {
  const x = f32([1, 2, 3, 4, 5]);
  const y = run('Resize', [x, undefined, f32([0.1])], { mode: str('linear') });
  assert.deepEqual(y.shape, [0]);
  const e = new Tensor(DType.float32, [0, 3], new Float32Array(0));
  assert.deepEqual(run('Resize', [e, undefined, f32([2, 2])], {}).shape, [0, 6]);
  throwsCode(() => run('Resize', [x, undefined, f32([2]), i64([3])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, undefined, undefined], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([-1])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([NaN])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([1, 2])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, undefined, i64([-1])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([2])], { mode: str('bicubic') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([2])], { nearest_mode: str('round') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([2])], { coordinate_transformation_mode: str('x') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([1e30])], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('Resize', [x, undefined, f32([1e9])], {}), 'TENSOR_TOO_LARGE');
  throwsCode(() => run('Resize', [e, undefined, undefined, i64([2, 3])], {}), 'INVALID_ARGUMENT');
});

test('antialias linear downsample equals a box-like filter with normalized weights', () => {
  // scale 0.5, half_pixel: coord of output 0 is 0.5, support [-1.5 .. 2.5] * 0.5 -> taps -1..2
  // weights clamp(1 - |(j - 0.5) * 0.5|) for j = -1..2 = 0.25, 0.75, 0.75, 0.25 -> /2
  const x = f32([1, 2, 3, 4]);
  const y = run('Resize', [x, undefined, f32([0.5])], { mode: str('linear'), antialias: int(1) });
  const f = Math.fround;
  const w = [f(0.125), f(0.375), f(0.375), f(0.125)];
  let acc = -0;
  [1, 1, 2, 3].forEach((v, k) => (acc = f(acc + f(v * w[k]!)))); // tap -1 clamps to index 0
  assert.equal((y.data as Float32Array)[0], acc);
});
