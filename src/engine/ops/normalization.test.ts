import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './normalization.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { powf } from '../math/index.js';
import { makeCtx, f32, f64, int, ints, flt, throwsCode, sameValues, ansiLcgFloat32 } from '../../../test/fixtures/kernels.js';

const fr = Math.fround;

function runAll(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 18, outputs = ['y']): Tensor[] {
  const k = ops[opType];
  assert.ok(k, `kernel ${opType} registered`);
  return k(inputs, makeCtx(opType, attrs, opset, outputs));
}
const run = (opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 18): Tensor =>
  runAll(opType, inputs, attrs, opset)[0]!;

const vals = (t: Tensor): number[] => Array.from(t.data as ArrayLike<number>);
const rand = (n: number, seed: number, scale = 3, offset = 0): Float32Array => ansiLcgFloat32(n, seed, scale, offset);

/** Canonical float32 standardize of one group (values in order); returns [mean, inv, d]. */
function stats(xs: number[], eps: number): { mean: number; inv: number; d: number[] } {
  let s1 = 0;
  for (const v of xs) s1 = fr(s1 + v);
  const mean = fr(s1 / xs.length);
  const d = xs.map((v) => fr(v - mean));
  let s2 = 0;
  for (const v of d) s2 = fr(s2 + fr(v * v));
  const inv = fr(1 / fr(Math.sqrt(fr(fr(s2 / xs.length) + fr(eps)))));
  return { mean, inv, d };
}

test('LayerNormalization matches the canonical recomputation bit for bit (all axes, Mean/InvStdDev)', () => {
  const shape = [2, 3, 4, 5];
  const x = rand(120, 5, 2, 0.7);
  for (const axis of [0, 1, 2, 3, -1, -2]) {
    const a = axis < 0 ? axis + 4 : axis;
    const n = shape.slice(a).reduce((p, q) => p * q, 1);
    const rows = 120 / n;
    const sc = rand(n, 9);
    const bi = rand(n, 11);
    const [y, mean, inv] = runAll(
      'LayerNormalization',
      [f32(x, shape), f32(sc, shape.slice(a)), f32(bi, shape.slice(a))],
      { axis: int(axis), epsilon: flt(fr(1e-3)) },
      17,
      ['y', 'm', 'i'],
    );
    const ey = new Float32Array(120), em: number[] = [], ei: number[] = [];
    for (let r = 0; r < rows; r++) {
      const st = stats(Array.from(x.subarray(r * n, r * n + n)), 1e-3);
      em.push(st.mean);
      ei.push(st.inv);
      for (let j = 0; j < n; j++) ey[r * n + j] = fr(fr(fr(st.d[j]! * st.inv) * sc[j]!) + bi[j]!);
    }
    sameValues(y!.data as Float32Array, ey, `Y axis ${axis}`);
    sameValues(mean!.data as Float32Array, em, `Mean axis ${axis}`);
    sameValues(inv!.data as Float32Array, ei, `InvStdDev axis ${axis}`);
    assert.deepEqual(mean!.shape, shape.map((d, i) => (i < a ? d : 1)));
  }
});

test('LayerNormalization: broadcast scale, no bias, float64, stash_type, errors', () => {
  const x = rand(12, 3);
  const y = run('LayerNormalization', [f32(x, [3, 4]), f32([2], [1])], {}, 17);
  const ey: number[] = [];
  for (let r = 0; r < 3; r++) {
    const st = stats(Array.from(x.subarray(r * 4, r * 4 + 4)), 1e-5);
    for (let j = 0; j < 4; j++) ey.push(fr(fr(st.d[j]! * st.inv) * 2));
  }
  sameValues(y.data as Float32Array, ey);
  // scale of shape [1, 4] broadcast over the normalized shape [4]
  sameValues(run('LayerNormalization', [f32(x, [3, 4]), f32([2, 2, 2, 2], [1, 4])], {}, 17).data as Float32Array, ey);
  // float64 with stash_type=11 computes in doubles
  const xd = f64([1, 2, 3, 4], [1, 4]);
  const [yd, md] = runAll('LayerNormalization', [xd, f64([1, 1, 1, 1])], { stash_type: int(11), epsilon: flt(0) }, 17, ['y', 'm']);
  assert.equal(md!.dtype, DType.float64);
  assert.equal(md!.data[0], 2.5);
  const inv = 1 / Math.sqrt(1.25);
  assert.deepEqual(vals(yd!), [-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv]);
  // float64 with the default stash_type (float32): statistics are float32
  const [, m32] = runAll('LayerNormalization', [f64([0.1, 0.2], [1, 2]), f64([1, 1])], {}, 17, ['y', 'm']);
  assert.equal(m32!.dtype, DType.float32);
  assert.equal(m32!.data[0], fr(fr(fr(0.1) + fr(0.2)) / 2));
  throwsCode(() => run('LayerNormalization', [f32(x, [3, 4]), f32([1, 2, 3])], {}, 17), 'INVALID_ARGUMENT');
  throwsCode(() => run('LayerNormalization', [f32(x, [3, 4]), f32([1])], { axis: int(2) }, 17), 'INVALID_ARGUMENT');
  throwsCode(() => run('LayerNormalization', [f32(x, [3, 4])], {}, 17), 'INVALID_ARGUMENT');
  throwsCode(() => run('LayerNormalization', [new Tensor(DType.float16, [1], new Uint16Array(1)), f32([1])], {}, 17), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('LayerNormalization', [f32(x, [3, 4]), f32([1])], { stash_type: int(16) }, 17), 'UNSUPPORTED_FEATURE');
});

test('LayerNormalization: constant rows give 0 * inv, not NaN', () => {
  const y = run('LayerNormalization', [f32([5, 5, 5], [1, 3]), f32([1, 1, 1]), f32([0.5, 0.5, 0.5])], {}, 17);
  assert.deepEqual(vals(y), [0.5, 0.5, 0.5]);
});

test('InstanceNormalization and GroupNormalization (opset 18 and 21) match the recomputation', () => {
  const shape = [2, 4, 3, 2];
  const x = rand(48, 21, 2, -0.3);
  const sc = rand(4, 22);
  const bi = rand(4, 23);
  const S = 6;
  // instance
  const yi = run('InstanceNormalization', [f32(x, shape), f32(sc), f32(bi)], { epsilon: flt(fr(0.01)) });
  const ei = new Float32Array(48);
  for (let r = 0; r < 8; r++) {
    const st = stats(Array.from(x.subarray(r * S, r * S + S)), 0.01);
    for (let j = 0; j < S; j++) ei[r * S + j] = fr(fr(fr(st.d[j]! * st.inv) * sc[r % 4]!) + bi[r % 4]!);
  }
  sameValues(yi.data as Float32Array, ei, 'instance');
  // group, opset 21: per-channel scale
  const G = 2, n = 12;
  const y21 = run('GroupNormalization', [f32(x, shape), f32(sc), f32(bi)], { num_groups: int(G) }, 21);
  const e21 = new Float32Array(48);
  for (let r = 0; r < 4; r++) {
    const st = stats(Array.from(x.subarray(r * n, r * n + n)), 1e-5);
    for (let j = 0; j < n; j++) {
      const c = (r % G) * 2 + Math.floor(j / S);
      e21[r * n + j] = fr(fr(fr(st.d[j]! * st.inv) * sc[c]!) + bi[c]!);
    }
  }
  sameValues(y21.data as Float32Array, e21, 'group 21');
  // group, opset 18: per-group scale
  const y18 = run('GroupNormalization', [f32(x, shape), f32(sc.subarray(0, 2)), f32(bi.subarray(0, 2))], { num_groups: int(G) }, 18);
  const e18 = new Float32Array(48);
  for (let r = 0; r < 4; r++) {
    const st = stats(Array.from(x.subarray(r * n, r * n + n)), 1e-5);
    for (let j = 0; j < n; j++) e18[r * n + j] = fr(fr(fr(st.d[j]! * st.inv) * sc[r % G]!) + bi[r % G]!);
  }
  sameValues(y18.data as Float32Array, e18, 'group 18');
  throwsCode(() => run('GroupNormalization', [f32(x, shape), f32(sc), f32(bi)], { num_groups: int(3) }, 21), 'INVALID_ARGUMENT');
  throwsCode(() => run('GroupNormalization', [f32(x, shape), f32(sc), f32(bi)], {}, 21), 'INVALID_ARGUMENT');
  throwsCode(() => run('GroupNormalization', [f32(x, shape), f32(sc), f32(bi)], { num_groups: int(2) }, 18), 'INVALID_ARGUMENT');
  throwsCode(() => run('InstanceNormalization', [f32(x, shape), f32(sc.subarray(0, 3)), f32(bi)]), 'INVALID_ARGUMENT');
});

test('BatchNormalization: inference, training mode, spatial=0, errors', () => {
  const shape = [2, 3, 2, 2];
  const x = rand(24, 31, 2, 0.4);
  const sc = f32([0.5, -1, 2]), bi = f32([0.1, 0, -0.2]), mean = f32([0.2, -0.1, 0]), vr = f32([1, 0.5, 2]);
  const y = run('BatchNormalization', [f32(x, shape), sc, bi, mean, vr], { epsilon: flt(fr(1e-3)) }, 15);
  const ey = new Float32Array(24);
  for (let i = 0; i < 24; i++) {
    const c = Math.floor(i / 4) % 3;
    const inv = fr(1 / fr(Math.sqrt(fr(vr.data[c]! as number + fr(1e-3)))));
    ey[i] = fr(fr(fr(fr(x[i]! - (mean.data[c] as number)) * inv) * (sc.data[c] as number)) + (bi.data[c] as number));
  }
  sameValues(y.data as Float32Array, ey, 'inference');
  // the same in opset 7 (spatial default) and 9
  sameValues(run('BatchNormalization', [f32(x, shape), sc, bi, mean, vr], { epsilon: flt(fr(1e-3)) }, 7).data as Float32Array, ey);
  // training mode: batch statistics per channel over N and spatial, in flat order
  const [yt, rm, rv] = runAll('BatchNormalization', [f32(x, shape), sc, bi, mean, vr], { training_mode: int(1), momentum: flt(fr(0.8)) }, 15, ['y', 'rm', 'rv']);
  const ety = new Float32Array(24), erm: number[] = [], erv: number[] = [];
  for (let c = 0; c < 3; c++) {
    const idx = [0, 1, 2, 3, 12, 13, 14, 15].map((k) => k + c * 4);
    const st = stats(idx.map((i) => x[i]!), 1e-5);
    let s2 = 0;
    for (const d of st.d) s2 = fr(s2 + fr(d * d));
    const bv = fr(s2 / 8);
    idx.forEach((i, k) => (ety[i] = fr(fr(fr(st.d[k]! * st.inv) * (sc.data[c] as number)) + (bi.data[c] as number))));
    erm.push(fr(fr((mean.data[c] as number) * fr(0.8)) + fr(st.mean * fr(1 - fr(0.8)))));
    erv.push(fr(fr((vr.data[c] as number) * fr(0.8)) + fr(bv * fr(1 - fr(0.8)))));
  }
  sameValues(yt!.data as Float32Array, ety, 'training Y');
  sameValues(rm!.data as Float32Array, erm, 'running mean');
  sameValues(rv!.data as Float32Array, erv, 'running var');
  // opset 7 spatial=0: per-activation parameters [C, H, W]
  const p = (v: number) => f32(new Array(12).fill(v), [3, 2, 2]);
  const ys = run('BatchNormalization', [f32(x, shape), p(2), p(1), p(0.5), p(4)], { spatial: int(0), epsilon: flt(0) }, 7);
  sameValues(ys.data as Float32Array, Array.from(x, (v) => fr(fr(fr(fr(v - 0.5) * 0.5) * 2) + 1)), 'spatial=0');
  // 2-D input [N, C]
  assert.deepEqual(vals(run('BatchNormalization', [f32([1, 2], [1, 2]), f32([1, 1]), f32([0, 0]), f32([0, 0]), f32([1, 1])], { epsilon: flt(0) }, 15)), [1, 2]);
  throwsCode(() => run('BatchNormalization', [f32(x, shape), f32([1, 2]), bi, mean, vr], {}, 15), 'INVALID_ARGUMENT');
  throwsCode(() => run('BatchNormalization', [f32(x, [24]), sc, bi, mean, vr], {}, 15), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('BatchNormalization', [f32(x, shape), sc, bi, mean, vr], {}, 9, ['y', 'm', 'v']), 'UNSUPPORTED_FEATURE');
});

test('RMSNormalization matches the recomputation', () => {
  const x = rand(24, 41, 2);
  const sc = rand(4, 42);
  const y = run('RMSNormalization', [f32(x, [2, 3, 4]), f32(sc)], {}, 23);
  const ey = new Float32Array(24);
  for (let r = 0; r < 6; r++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s = fr(s + fr(x[r * 4 + j]! * x[r * 4 + j]!));
    const inv = fr(1 / fr(Math.sqrt(fr(fr(s / 4) + fr(1e-5)))));
    for (let j = 0; j < 4; j++) ey[r * 4 + j] = fr(fr(x[r * 4 + j]! * inv) * sc[j]!);
  }
  sameValues(y.data as Float32Array, ey);
  // axis 1: normalized shape [3, 4], scale broadcast [4]
  const y1 = run('RMSNormalization', [f32(x, [2, 3, 4]), f32(sc)], { axis: int(1) }, 23);
  assert.deepEqual(y1.shape, [2, 3, 4]);
  throwsCode(() => run('RMSNormalization', [f32(x, [2, 3, 4]), f32([1, 2])], {}, 23), 'INVALID_ARGUMENT');
});

test('LpNormalization: p=1, p=2, zero norm, axes, errors', () => {
  const x = f32([3, 4, 0, 0, -1, 1], [3, 2]);
  assert.deepEqual(vals(run('LpNormalization', [x])), [fr(0.6), fr(0.8), 0, 0, fr(-1 / fr(Math.SQRT2)), fr(1 / fr(Math.SQRT2))]);
  assert.deepEqual(vals(run('LpNormalization', [x], { p: int(1) })), [fr(3 / 7), fr(4 / 7), 0, 0, -0.5, 0.5]);
  assert.deepEqual(vals(run('LpNormalization', [x], { axis: int(0), p: int(1) })), [0.75, fr(0.8), 0, 0, -0.25, fr(0.2)]);
  assert.ok(Object.is(run('LpNormalization', [f32([-0, 0])]).data[0], -0));
  throwsCode(() => run('LpNormalization', [x], { p: int(3) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('LpNormalization', [x], { axis: int(2) }), 'INVALID_ARGUMENT');
});

test('MeanVarianceNormalization matches the recomputation (default and custom axes)', () => {
  const shape = [2, 3, 2, 2];
  const x = rand(24, 51, 1, 0.5);
  const check = (axes: number[] | undefined) => {
    const y = run('MeanVarianceNormalization', [f32(x, shape)], axes ? { axes: ints(axes) } : {}, 13);
    const ax = (axes ?? [0, 2, 3]).map((a) => (a < 0 ? a + 4 : a));
    const key = (i: number) => {
      const c = [Math.floor(i / 12), Math.floor(i / 4) % 3, Math.floor(i / 2) % 2, i % 2];
      return c.map((v, k) => (ax.includes(k) ? 0 : v)).join(',');
    };
    const groups = new Map<string, number[]>();
    for (let i = 0; i < 24; i++) groups.set(key(i), [...(groups.get(key(i)) ?? []), i]);
    const ey = new Float32Array(24);
    for (const idx of groups.values()) {
      const st = stats(idx.map((i) => x[i]!), 0);
      let s2 = 0;
      for (const d of st.d) s2 = fr(s2 + fr(d * d));
      const den = fr(fr(Math.sqrt(fr(s2 / idx.length))) + fr(1e-9));
      idx.forEach((i, k) => (ey[i] = fr(st.d[k]! / den)));
    }
    sameValues(y.data as Float32Array, ey, `axes ${ax}`);
  };
  check(undefined);
  check([1]);
  check([0, 1, 2, 3]);
  check([-1]);
});

test('LRN matches the recomputation', () => {
  const shape = [1, 5, 2, 1];
  const x = rand(10, 61, 3);
  const y = run('LRN', [f32(x, shape)], { size: int(3), alpha: flt(fr(0.01)), beta: flt(0.75), bias: flt(2) }, 13);
  const ey = new Float32Array(10);
  const a = fr(fr(0.01) / 3);
  for (let c = 0; c < 5; c++)
    for (let s = 0; s < 2; s++) {
      let ss = 0;
      for (let cc = Math.max(0, c - 1); cc <= Math.min(4, c + 1); cc++) ss = fr(ss + fr(x[cc * 2 + s]! * x[cc * 2 + s]!));
      ey[c * 2 + s] = fr(x[c * 2 + s]! / powf(fr(2 + fr(a * ss)), 0.75));
    }
  sameValues(y.data as Float32Array, ey);
  // even size: window c-1 .. c+2 (floor / ceil of (size-1)/2)
  const y4 = run('LRN', [f32([1, 1, 1, 1, 1], [1, 5])], { size: int(4), alpha: flt(4), beta: flt(1), bias: flt(0) }, 13);
  assert.deepEqual(vals(y4), [1 / 3, 1 / 4, 1 / 4, 1 / 3, 1 / 2].map(fr));
  throwsCode(() => run('LRN', [f32(x, shape)], {}, 13), 'INVALID_ARGUMENT');
  throwsCode(() => run('LRN', [f32(x, shape)], { size: int(0) }, 13), 'INVALID_ARGUMENT');
});

test('LayerNormalization float32: the WebAssembly fast path (whole tensor) gives the bits of the JS path (one small row at a time)', () => {
  // rows * n >= 256 takes the WebAssembly kernel; a single row of n < 256 runs standardizeRowsF32
  for (const [rows, n] of [[9, 200], [4, 64], [130, 7], [3, 255]] as const) {
    const xs = rand(rows * n, 40 + n, 5, 1);
    for (let i = 0; i < xs.length; i += 97) xs[i] = i % 3 ? 3e38 : NaN; // rows the fast path hands back
    const sc = f32(rand(n, 41), [n]);
    const bi = f32(rand(n, 42), [n]);
    for (const withBias of [true, false]) {
      const ins = (x: Tensor) => (withBias ? [x, sc, bi] : [x, sc]);
      const [y, m, iv] = runAll('LayerNormalization', ins(f32(xs, [rows, n])), {}, 18, ['y', 'mean', 'inv']);
      for (let r = 0; r < rows; r++) {
        const [yr, mr, ir] = runAll('LayerNormalization', ins(f32(xs.subarray(r * n, (r + 1) * n), [1, n])), {}, 18, ['y', 'mean', 'inv']);
        const bits = (t: Tensor, a: number, b: number) => Array.from(new Uint32Array(Float32Array.from((t.data as Float32Array).subarray(a, b)).buffer));
        assert.deepEqual(bits(y!, r * n, (r + 1) * n), bits(yr!, 0, n), `y row ${r} (${rows}x${n})`);
        assert.deepEqual(bits(m!, r, r + 1), bits(mr!, 0, 1), `mean row ${r}`);
        assert.deepEqual(bits(iv!, r, r + 1), bits(ir!, 0, 1), `inv row ${r}`);
      }
    }
  }
});
