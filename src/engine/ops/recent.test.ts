// Tests for the recent-ops family (recent.ts): CumProd, Swish, SwiGLU, TensorScatter,
// CausalConvWithState, LinearAttention, TfIdfVectorizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './recent.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { float16ToNumber, numberToFloat16 } from '../../tensor/float16.js';
import { exp64, sigmoid64 } from '../math/index.js';
import { makeCtx, f32, f64, i32, i64, int, ints, flt, floats, str, vals, throwsCode, sameValues, ansiLcgFloat32 } from '../../../test/fixtures/kernels.js';

const fr = Math.fround;

function runAll(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}): Tensor[] {
  const k = ops[opType];
  assert.ok(k, `kernel ${opType} registered`);
  return k(inputs, makeCtx(opType, attrs, 28, ['y', 'z']));
}
const run = (opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}): Tensor => runAll(opType, inputs, attrs)[0]!;
const rand = (n: number, seed: number, scale = 4): Float32Array => ansiLcgFloat32(n, seed, scale);

const f16 = (v: number[], shape = [v.length]): Tensor => new Tensor(DType.float16, shape, Uint16Array.from(v.map(numberToFloat16)));
const u32 = (v: number[], shape = [v.length]): Tensor => new Tensor(DType.uint32, shape, Uint32Array.from(v));
const i8 = (v: number[], shape = [v.length]): Tensor => new Tensor(DType.int8, shape, Int8Array.from(v));
const ax = (a: number): Tensor => i64([a], []);

// ---------------------------------------------------------------------------
// CumProd

test('CumProd: inclusive / exclusive / reverse on both axes, negative axis', () => {
  const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(vals(run('CumProd', [x, ax(1)])), [1, 2, 6, 4, 20, 120]);
  assert.deepEqual(vals(run('CumProd', [x, ax(0)])), [1, 2, 3, 4, 10, 18]);
  assert.deepEqual(vals(run('CumProd', [x, ax(-1)], { exclusive: int(1) })), [1, 1, 2, 1, 4, 20]);
  assert.deepEqual(vals(run('CumProd', [x, ax(1)], { reverse: int(1) })), [6, 6, 3, 120, 30, 6]);
  assert.deepEqual(vals(run('CumProd', [x, ax(1)], { reverse: int(1), exclusive: int(1) })), [6, 3, 1, 30, 6, 1]);
  assert.deepEqual(vals(run('CumProd', [x, ax(0)], { reverse: int(1), exclusive: int(1) })), [4, 5, 6, 1, 1, 1]);
  // axis given as an int32 rank-1 tensor of one element
  assert.deepEqual(vals(run('CumProd', [x, i32([1], [1])])), [1, 2, 6, 4, 20, 120]);
});

test('CumProd: float32 rounds after every multiply, in scan order; -0, NaN, Inf', () => {
  const v = rand(40, 7, 3);
  const out = run('CumProd', [f32(v), ax(0)]).data as Float32Array;
  const exp: number[] = [];
  let acc = 1;
  for (const e of v) exp.push((acc = fr(acc * e)));
  sameValues(out, exp, 'forward');
  const rev = run('CumProd', [f32(v), ax(0)], { reverse: int(1) }).data as Float32Array;
  const expR = new Array<number>(v.length);
  acc = 1;
  for (let j = v.length - 1; j >= 0; j--) expR[j] = acc = fr(acc * v[j]!);
  sameValues(rev, expR, 'reverse');
  sameValues(run('CumProd', [f32([-0, 2]), ax(0)]).data as Float32Array, [-0, -0]);
  sameValues(run('CumProd', [f32([2, NaN, 0]), ax(0)]).data as Float32Array, [2, NaN, NaN]);
  sameValues(run('CumProd', [f32([Infinity, 0]), ax(0)]).data as Float32Array, [Infinity, NaN]);
  sameValues(run('CumProd', [f32([3e38, 10]), ax(0)]).data as Float32Array, [fr(3e38), Infinity]);
  sameValues(run('CumProd', [f64([0.1, 0.2, 0.3]), ax(0)]).data as Float64Array, [0.1, 0.1 * 0.2, 0.1 * 0.2 * 0.3]);
});

test('CumProd: integer wrap-around in every width', () => {
  assert.deepEqual(vals(run('CumProd', [i32([65536, 65536, 3]), ax(0)])), [65536, 0, 0]);
  assert.deepEqual(vals(run('CumProd', [i32([46341, 46341]), ax(0)])), [46341, Math.imul(46341, 46341)]);
  assert.deepEqual(vals(run('CumProd', [u32([4294967295, 4294967295]), ax(0)])), [4294967295, 1]);
  assert.deepEqual(vals(run('CumProd', [i8([16, 16, -1]), ax(0)])), [16, 0, 0]);
  assert.deepEqual(vals(run('CumProd', [i8([-128, -1]), ax(0)])), [-128, -128]);
  assert.deepEqual(vals(run('CumProd', [i64([2n ** 62n, 2n, 3n]), ax(0)])), [2n ** 62n, -(2n ** 63n), -(2n ** 63n)]);
  assert.deepEqual(vals(run('CumProd', [i64([3n, -5n]), ax(0)], { exclusive: int(1) })), [1n, 3n]);
});

test('CumProd: empty tensors, errors', () => {
  const e = run('CumProd', [f32([], [2, 0]), ax(1)]);
  assert.deepEqual(e.shape, [2, 0]);
  const e2 = run('CumProd', [f32([], [0, 3]), ax(1)], { exclusive: int(1) });
  assert.deepEqual(e2.shape, [0, 3]);
  throwsCode(() => run('CumProd', [f32([1, 2]), ax(1)]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumProd', [f32([1, 2]), ax(-2)]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumProd', [f32([1, 2]), i64([0, 0])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumProd', [f32([1, 2]), f32([0], [])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumProd', [f32([1], []), ax(0)]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumProd', [f32([1, 2]), undefined]), 'INVALID_ARGUMENT');
  throwsCode(() => run('CumProd', [f16([1, 2]), ax(0)]), 'UNSUPPORTED_FEATURE');
});

// ---------------------------------------------------------------------------
// Swish / SwiGLU

const specials = [0, -0, 1, -1, 0.5, -20, 20, 88, -88, 100, -100, Infinity, -Infinity, NaN, 1e-30, -1e-30, 3.4e38, -3.4e38];

test('Swish: float32 bit-identical to f32(x * f32(sigmoid64(f32(alpha * x))))', () => {
  const x = Float32Array.from([...rand(300, 3, 12), ...specials]);
  for (const alpha of [1, 0.7, -1.5, 0]) {
    const y = run('Swish', [f32(x)], alpha === 1 ? {} : { alpha: flt(fr(alpha)) }).data as Float32Array;
    const exp = Array.from(x, (v) => fr(v * fr(sigmoid64(fr(fr(alpha) * v)))));
    sameValues(y, exp, `alpha ${alpha}`);
  }
  // -0 * sigmoid(-0) = -0 * 0.5 = -0; Swish(-Inf) = -Inf * 0 = NaN; Swish(+Inf) = +Inf
  sameValues(run('Swish', [f32([-0, Infinity, -Infinity])]).data as Float32Array, [-0, Infinity, NaN]);
});

test('Swish: float64 path, empty input, dtype errors', () => {
  const x = [0.3, -2.25, 7];
  sameValues(run('Swish', [f64(x)], { alpha: flt(fr(0.1)) }).data as Float64Array, x.map((v) => v * sigmoid64(fr(0.1) * v)));
  assert.deepEqual(run('Swish', [f32([], [0, 4])]).shape, [0, 4]);
  throwsCode(() => run('Swish', [f16([1])]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('Swish', [i32([1])]), 'INVALID_ARGUMENT');
});

test('SwiGLU: float32 bit-identical to f32(f32(a * f32(sigmoid64(f32(alpha*a)))) * b)', () => {
  const a = Float32Array.from([...rand(200, 11, 10), ...specials]);
  const b = Float32Array.from([...rand(200, 13, 10), ...specials.map((_, i) => (i % 2 ? 2 : -0.5))]);
  for (const alpha of [1, 1.702]) {
    const y = run('SwiGLU', [f32(a, [2, a.length / 2]), f32(b, [2, b.length / 2])], { alpha: flt(fr(alpha)) });
    assert.deepEqual(y.shape, [2, a.length / 2]);
    const exp = Array.from(a, (v, i) => fr(fr(v * fr(sigmoid64(fr(fr(alpha) * v)))) * b[i]!));
    sameValues(y.data as Float32Array, exp, `alpha ${alpha}`);
    // equals Swish followed by Mul
    const s = run('Swish', [f32(a)], { alpha: flt(fr(alpha)) }).data as Float32Array;
    sameValues(y.data as Float32Array, Array.from(s, (v, i) => fr(v * b[i]!)), 'composition');
  }
});

test('SwiGLU: no broadcasting, same dtype, float64', () => {
  throwsCode(() => run('SwiGLU', [f32([1, 2]), f32([1])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('SwiGLU', [f32([1, 2], [1, 2]), f32([1, 2], [2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('SwiGLU', [f32([1, 2]), f64([1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => run('SwiGLU', [f16([1]), f16([1])]), 'UNSUPPORTED_FEATURE');
  const y = run('SwiGLU', [f64([1.5, -3]), f64([2, 0.25])]).data as Float64Array;
  sameValues(y, [1.5 * sigmoid64(1.5) * 2, -3 * sigmoid64(-3) * 0.25]);
});

// ---------------------------------------------------------------------------
// TensorScatter

test('TensorScatter: linear mode with write indices, default axis -2', () => {
  // past (2, 4, 2), update (2, 2, 2)
  const past = f32(Array.from({ length: 16 }, (_, i) => i), [2, 4, 2]);
  const upd = f32([-1, -2, -3, -4, -5, -6, -7, -8], [2, 2, 2]);
  const y = run('TensorScatter', [past, upd, i64([1, 2])]);
  assert.deepEqual(y.shape, [2, 4, 2]);
  assert.deepEqual(vals(y), [0, 1, -1, -2, -3, -4, 6, 7, 8, 9, 10, 11, -5, -6, -7, -8]);
  // no write_indices: write at 0
  assert.deepEqual(vals(run('TensorScatter', [past, upd])), [-1, -2, -3, -4, 4, 5, 6, 7, -5, -6, -7, -8, 12, 13, 14, 15]);
  // inputs untouched
  assert.deepEqual(vals(past), Array.from({ length: 16 }, (_, i) => i));
});

test('TensorScatter: circular mode wraps (also negative indices), other axes, any dtype', () => {
  const past = i64([0, 1, 2, 3, 10, 11, 12, 13], [2, 4]);
  const upd = i64([-1, -2, -3, -4], [2, 2]);
  const y = run('TensorScatter', [past, upd, i64([3, -1])], { axis: int(1), mode: str('circular') });
  assert.deepEqual(vals(y), [-2n, 1n, 2n, -1n, -4n, 11n, 12n, -3n]);
  throwsCode(() => run('TensorScatter', [past, upd, i64([3, 0])], { axis: int(1) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, upd, i64([-1, 0])], { axis: int(1) }), 'INVALID_ARGUMENT');
  // axis 1 of a rank-4 cache (B, S, H, D): prefix is just the batch
  const p4 = f32(new Array(2 * 3 * 1 * 2).fill(0), [2, 3, 1, 2]);
  const u4 = f32([1, 2, 3, 4], [2, 1, 1, 2]);
  assert.deepEqual(vals(run('TensorScatter', [p4, u4, i64([2, 1])], { axis: int(1) })), [0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
  // float16 moves raw bits
  const h = run('TensorScatter', [f16([1, 2, 3], [1, 3]), f16([-0.5], [1, 1]), i64([1])], { axis: int(-1) });
  assert.deepEqual(Array.from(h.data as Uint16Array, float16ToNumber), [1, -0.5, 3]);
  // empty update: a copy
  assert.deepEqual(vals(run('TensorScatter', [f32([1, 2], [1, 2]), f32([], [1, 0])], { axis: int(1) })), [1, 2]);
});

test('TensorScatter: errors', () => {
  const past = f32(new Array(8).fill(0), [2, 4]);
  throwsCode(() => run('TensorScatter', [past, f32([1, 2], [2, 1])], { axis: int(0) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32([1, 2], [2, 1])], { axis: int(2) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32(new Array(10).fill(0), [2, 5])], { axis: int(1) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32([1, 2, 3], [3, 1])], { axis: int(1) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32([1, 2], [2, 1]), i64([0])], { axis: int(1) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32([1, 2], [2, 1]), i32([0, 0])], { axis: int(1) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32([1, 2], [2, 1])], { axis: int(1), mode: str('ring') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, i64([1, 2], [2, 1])], { axis: int(1) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [f32([1, 2]), f32([1])], { axis: int(0) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TensorScatter', [past, f32([1, 2], [2, 1]), i64([4, 0])], { axis: int(1) }), 'INVALID_ARGUMENT');
});

// ---------------------------------------------------------------------------
// CausalConvWithState

/** Independent reference: Conv1d with explicit left padding by coordinates. */
function causalRef(
  x: Float32Array, w: Float32Array, B: number, C: number, L: number, K: number,
  bias?: Float32Array, past?: Float32Array, act = false,
): { y: number[]; st: number[] } {
  const y: number[] = [];
  const st: number[] = [];
  const at = (b: number, c: number, p: number): number => // p in padded coordinates
    p < K - 1 ? (past ? past[(b * C + c) * (K - 1) + p]! : 0) : x[(b * C + c) * L + p - (K - 1)]!;
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let t = 0; t < L; t++) {
        let acc = 0;
        for (let j = 0; j < K; j++) acc = fr(acc + fr(at(b, c, t + j) * w[c * K + j]!));
        if (bias) acc = fr(acc + bias[c]!);
        y.push(act ? fr(acc * fr(sigmoid64(acc))) : acc);
      }
    }
  }
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let i = 0; i < K - 1; i++) st.push(at(b, c, L + i));
  return { y, st };
}

test('CausalConvWithState: bit-identical to a padded depthwise conv (bias, past, silu, L < k-1, k = 1)', () => {
  for (const [B, C, L, K] of [[2, 3, 7, 4], [1, 2, 2, 5], [2, 2, 3, 1], [1, 1, 1, 2]] as const) {
    const x = rand(B * C * L, 1 + L);
    const w = rand(C * K, 2 + K, 1);
    const bias = rand(C, 3, 1);
    const past = rand(B * C * (K - 1), 4, 2);
    for (const withBias of [false, true]) {
      for (const withPast of [false, true]) {
        for (const activation of ['none', 'silu', 'swish']) {
          const [y, st] = runAll(
            'CausalConvWithState',
            [f32(x, [B, C, L]), f32(w, [C, 1, K]), withBias ? f32(bias) : undefined, withPast ? f32(past, [B, C, K - 1]) : undefined],
            { activation: str(activation) },
          );
          const ref = causalRef(x, w, B, C, L, K, withBias ? bias : undefined, withPast ? past : undefined, activation !== 'none');
          assert.deepEqual(y!.shape, [B, C, L]);
          assert.deepEqual(st!.shape, [B, C, K - 1]);
          sameValues(y!.data as Float32Array, ref.y, `y ${B},${C},${L},${K} ${withBias} ${withPast} ${activation}`);
          sameValues(st!.data as Float32Array, ref.st, 'state');
        }
      }
    }
  }
});

test('CausalConvWithState: zero padding taps are real terms (0 * Inf = NaN), float64, errors', () => {
  const [y] = runAll('CausalConvWithState', [f32([1, 2], [1, 1, 2]), f32([Infinity, 1], [1, 1, 2])]);
  sameValues(y!.data as Float32Array, [NaN, Infinity]);
  const [y64, s64] = runAll('CausalConvWithState', [f64([1, 2, 3], [1, 1, 3]), f64([0.5, 0.25], [1, 1, 2]), f64([0.1]), f64([4], [1, 1, 1])]);
  sameValues(y64!.data as Float64Array, [4 * 0.5 + 1 * 0.25 + 0.1, 1 * 0.5 + 2 * 0.25 + 0.1, 2 * 0.5 + 3 * 0.25 + 0.1]);
  sameValues(s64!.data as Float64Array, [3]);
  const x = f32([1, 2], [1, 1, 2]);
  throwsCode(() => runAll('CausalConvWithState', [x, f32([1, 2], [1, 2, 1])]), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [x, f32([], [1, 1, 0])]), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [x, f32([1, 2], [1, 1, 2]), f32([1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [x, f32([1, 2], [1, 1, 2]), undefined, f32([1, 2], [1, 1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [x, f32([1, 2], [1, 1, 2])], { activation: str('gelu') }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [f32([1, 2], [2, 1]), f32([1, 2], [1, 1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [x, f64([1, 2], [1, 1, 2])]), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('CausalConvWithState', [f16([1, 2], [1, 1, 2]), f16([1, 2], [1, 1, 2])]), 'UNSUPPORTED_FEATURE');
});

// ---------------------------------------------------------------------------
// LinearAttention

type Rule = 'linear' | 'gated' | 'delta' | 'gated_delta';

/**
 * Independent reference that follows the ONNX function body node by node on
 * whole per-step matrices (new arrays each step, no in-place updates).
 */
function linAttRef(
  rule: Rule, B: number, T: number, Hq: number, Hkv: number, dk: number, dv: number,
  q: Float32Array, k: Float32Array, v: Float32Array, past?: Float32Array, decay?: Float32Array, decayPerKey = false,
  beta?: Float32Array, betaPerHead = false, scaleAttr = 0,
): { out: number[]; state: number[] } {
  const G = Hq / Hkv;
  const scale = scaleAttr !== 0 ? fr(scaleAttr) : fr(1 / fr(Math.sqrt(dk)));
  const out = new Array<number>(B * T * Hq * dv).fill(0);
  const state: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hkv; h++) {
      // S[d][m]
      let S: number[][] = [];
      for (let d = 0; d < dk; d++) {
        S.push([]);
        for (let m = 0; m < dv; m++) S[d]!.push(past ? past[((b * Hkv + h) * dk + d) * dv + m]! : 0);
      }
      for (let t = 0; t < T; t++) {
        const kt = Array.from({ length: dk }, (_, d) => k[((b * T + t) * Hkv + h) * dk + d]!);
        const vt = Array.from({ length: dv }, (_, m) => v[((b * T + t) * Hkv + h) * dv + m]!);
        let base = S;
        if (rule === 'gated' || rule === 'gated_delta') {
          const ex = Array.from({ length: dk }, (_, d) =>
            fr(exp64(decayPerKey ? decay![((b * T + t) * Hkv + h) * dk + d]! : decay![(b * T + t) * Hkv + h]!)));
          base = S.map((row, d) => row.map((s) => fr(s * ex[d]!)));
        }
        let write = vt;
        if (rule === 'delta' || rule === 'gated_delta') {
          const bt = beta![betaPerHead ? (b * T + t) * Hkv + h : b * T + t]!;
          // Retrieved = MatMul(Transpose(base), kt): row m of base^T dotted with kt
          const retrieved = Array.from({ length: dv }, (_, m) => {
            let acc = 0;
            for (let d = 0; d < dk; d++) acc = fr(acc + fr(base[d]![m]! * kt[d]!));
            return acc;
          });
          write = vt.map((x, m) => fr(bt * fr(x - retrieved[m]!)));
        }
        // Outer = MatMul(KtCol (dk x 1), WriteRow (1 x dv)): acc = 0 + f(k*w)
        const outer = kt.map((kd) => write.map((w) => fr(0 + fr(kd * w))));
        S = base.map((row, d) => row.map((s, m) => fr(s + outer[d]![m]!)));
        for (let g = 0; g < G; g++) {
          const hq = h * G + g;
          for (let m = 0; m < dv; m++) {
            let acc = 0;
            for (let d = 0; d < dk; d++) acc = fr(acc + fr(q[((b * T + t) * Hq + hq) * dk + d]! * S[d]![m]!));
            out[((b * T + t) * Hq + hq) * dv + m] = fr(scale * acc);
          }
        }
      }
      for (const row of S) state.push(...row);
    }
  }
  return { out, state };
}

test('LinearAttention: every update rule, GQA, decay/beta layouts: bit-identical to the function body', () => {
  const configs: [Rule, number, number, number, number, number, number][] = [
    ['linear', 2, 3, 2, 2, 3, 4],
    ['gated', 1, 4, 2, 1, 2, 3],
    ['delta', 2, 2, 4, 2, 3, 2],
    ['gated_delta', 2, 5, 6, 2, 4, 3],
    ['gated_delta', 1, 1, 1, 1, 1, 1],
  ];
  let seed = 100;
  for (const [rule, B, T, Hq, Hkv, dk, dv] of configs) {
    for (const withPast of [false, true]) {
      for (const perKey of [false, true]) {
        for (const perHead of [false, true]) {
          const q = rand(B * T * Hq * dk, seed++, 1);
          const k = rand(B * T * Hkv * dk, seed++, 1);
          const v = rand(B * T * Hkv * dv, seed++, 2);
          const past = withPast ? rand(B * Hkv * dk * dv, seed++, 1) : undefined;
          const gating = rule === 'gated' || rule === 'gated_delta';
          const delta = rule === 'delta' || rule === 'gated_delta';
          const decay = gating ? rand(B * T * Hkv * (perKey ? dk : 1), seed++, 0.5) : undefined;
          const beta = delta ? Float32Array.from(rand(B * T * (perHead ? Hkv : 1), seed++, 1), (x) => fr(sigmoid64(x))) : undefined;
          const scale = perHead ? 0 : 0.375;
          const [out, st] = runAll(
            'LinearAttention',
            [
              f32(q, [B, T, Hq * dk]), f32(k, [B, T, Hkv * dk]), f32(v, [B, T, Hkv * dv]),
              past ? f32(past, [B, Hkv, dk, dv]) : undefined,
              decay ? f32(decay, [B, T, Hkv * (perKey ? dk : 1)]) : undefined,
              beta ? f32(beta, [B, T, perHead ? Hkv : 1]) : undefined,
            ],
            { update_rule: str(rule), q_num_heads: int(Hq), kv_num_heads: int(Hkv), scale: flt(scale), chunk_size: int(2) },
          );
          const ref = linAttRef(rule, B, T, Hq, Hkv, dk, dv, q, k, v, past, decay, perKey, beta, perHead, scale);
          const what = `${rule} B${B} T${T} Hq${Hq} Hkv${Hkv} dk${dk} dv${dv} past=${withPast} perKey=${perKey} perHead=${perHead}`;
          assert.deepEqual(out!.shape, [B, T, Hq * dv]);
          assert.deepEqual(st!.shape, [B, Hkv, dk, dv]);
          sameValues(out!.data as Float32Array, ref.out, `${what} output`);
          sameValues(st!.data as Float32Array, ref.state, `${what} state`);
        }
      }
    }
  }
});

test('LinearAttention: -0 products become +0 through the size-1 MatMul, empty T, float16 I/O', () => {
  // linear, state starts at -0 (past), k * v = -0: S = f(-0 + (+0)) = +0
  const [, st] = runAll('LinearAttention', [f32([1], [1, 1, 1]), f32([-0], [1, 1, 1]), f32([1], [1, 1, 1]), f32([-0], [1, 1, 1, 1])], {
    update_rule: str('linear'), q_num_heads: int(1), kv_num_heads: int(1),
  });
  sameValues(st!.data as Float32Array, [0]);
  // T = 0: output empty, state = past
  const [o0, s0] = runAll('LinearAttention', [f32([], [1, 0, 2]), f32([], [1, 0, 2]), f32([], [1, 0, 2]), f32([1, 2, 3, 4], [1, 1, 2, 2])], {
    update_rule: str('linear'), q_num_heads: int(1), kv_num_heads: int(1),
  });
  assert.deepEqual(o0!.shape, [1, 0, 2]);
  assert.deepEqual(vals(s0!), [1, 2, 3, 4]);
  // float16 inputs: computed in float32 from the exact float16 values, outputs rounded to float16
  const qv = [0.5, -1, 0.25, 2];
  const kv = [1, 0.5, -0.5, 0.75];
  const vv = [2, -3, 1.5, 0.125];
  const [oh, sh] = runAll('LinearAttention', [f16(qv, [1, 2, 2]), f16(kv, [1, 2, 2]), f16(vv, [1, 2, 2])], {
    update_rule: str('linear'), q_num_heads: int(1), kv_num_heads: int(1),
  });
  assert.equal(oh!.dtype, DType.float16);
  assert.equal(sh!.dtype, DType.float16);
  const ref = linAttRef('linear', 1, 2, 1, 1, 2, 2, Float32Array.from(qv), Float32Array.from(kv), Float32Array.from(vv));
  assert.deepEqual(Array.from(oh!.data as Uint16Array), ref.out.map(numberToFloat16));
  assert.deepEqual(Array.from(sh!.data as Uint16Array), ref.state.map(numberToFloat16));
});

test('LinearAttention: validation', () => {
  const q = f32(new Array(8).fill(0.1), [1, 2, 4]);
  const kk = f32(new Array(8).fill(0.1), [1, 2, 4]);
  const v = f32(new Array(8).fill(0.1), [1, 2, 4]);
  const base = { q_num_heads: int(2), kv_num_heads: int(2) };
  const lin = { ...base, update_rule: str('linear') };
  assert.equal(runAll('LinearAttention', [q, kk, v], lin).length, 2);
  throwsCode(() => runAll('LinearAttention', [q, kk, v], { update_rule: str('linear') }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v], { ...lin, q_num_heads: int(3) }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v], { ...lin, kv_num_heads: int(0) }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v], { ...base, update_rule: str('mamba') }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v], base), 'INVALID_ARGUMENT'); // gated_delta needs decay and beta
  throwsCode(() => runAll('LinearAttention', [q, kk, v, undefined, f32([0, 0, 0, 0], [1, 2, 2])], lin), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v, undefined, f32([0, 0, 0], [1, 1, 3])], { ...base, update_rule: str('gated') }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v, undefined, undefined, f32([0, 0, 0, 0, 0, 0], [1, 2, 3])], { ...base, update_rule: str('delta') }), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, f32(new Array(6).fill(0), [1, 2, 3]), v], lin), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, f32(new Array(6).fill(0), [1, 2, 3])], lin), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v, f32(new Array(8).fill(0), [1, 2, 4, 1])], lin), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, v, f32(new Array(8).fill(0), [2, 2, 2])], lin), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [f32(new Array(8).fill(0), [2, 4]), kk, v], lin), 'INVALID_ARGUMENT');
  throwsCode(() => runAll('LinearAttention', [q, kk, f64(new Array(8).fill(0), [1, 2, 4])], lin), 'INVALID_ARGUMENT');
  throwsCode(
    () => runAll('LinearAttention', [f64(new Array(8).fill(0), [1, 2, 4]), f64(new Array(8).fill(0), [1, 2, 4]), f64(new Array(8).fill(0), [1, 2, 4])], lin),
    'UNSUPPORTED_FEATURE',
  );
});

// ---------------------------------------------------------------------------
// TfIdfVectorizer

test('TfIdfVectorizer: TF / IDF / TFIDF with skips, 1-D and 2-D input', () => {
  // pool: unigrams [2, 3, 5, 4], bigrams [5 6], [7 8], [6 7]
  const attrs = {
    min_gram_length: int(1), max_gram_length: int(2), max_skip_count: int(0),
    ngram_counts: ints([0, 4]), ngram_indexes: ints([0, 1, 2, 3, 4, 5, 6]),
    pool_int64s: ints([2, 3, 5, 4, 5, 6, 7, 8, 6, 7]),
  };
  const x = i32([1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8, 4]);
  assert.deepEqual(vals(run('TfIdfVectorizer', [x], { ...attrs, mode: str('TF') })), [0, 3, 1, 1, 1, 1, 1]);
  assert.deepEqual(vals(run('TfIdfVectorizer', [x], { ...attrs, mode: str('IDF') })), [0, 1, 1, 1, 1, 1, 1]);
  const w = [0.5, 0.1, 2, 3, 4, 5, 6].map(fr);
  assert.deepEqual(vals(run('TfIdfVectorizer', [x], { ...attrs, mode: str('TFIDF'), weights: floats(w) })), [0, fr(w[1]! * 3), 2, 3, 4, 5, 6]);
  assert.deepEqual(vals(run('TfIdfVectorizer', [x], { ...attrs, mode: str('IDF'), weights: floats(w) })), [0, fr(0.1), 2, 3, 4, 5, 6]);
  // only bigrams with skips: [7 .. 8] found at distance 1 and at skip 1 ([7, 6, 8]? no) etc.
  const bi = { ...attrs, min_gram_length: int(2), max_skip_count: int(1), mode: str('TF') };
  // x2 rows: [5 6 7 8] -> 56, 67, 78 at skip 0; 57, 68 at skip 1 (not in pool)
  //          [5 0 6 7 0 8] -> 67 at skip 0; 56, 78 at skip 1
  const x2 = i64([5, 6, 7, 8, 0, 0, 5, 0, 6, 7, 0, 8], [2, 6]);
  const y2 = run('TfIdfVectorizer', [x2], bi);
  assert.deepEqual(y2.shape, [2, 7]);
  assert.deepEqual(vals(y2), [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
  // empty input row
  assert.deepEqual(vals(run('TfIdfVectorizer', [i32([])], { ...attrs, mode: str('TF') })), [0, 0, 0, 0, 0, 0, 0]);
});

test('TfIdfVectorizer: errors', () => {
  const attrs = {
    min_gram_length: int(1), max_gram_length: int(1), max_skip_count: int(0), mode: str('TF'),
    ngram_counts: ints([0]), ngram_indexes: ints([0, 1]), pool_int64s: ints([1, 2]),
  };
  throwsCode(() => run('TfIdfVectorizer', [f32([1])], attrs), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([1], [1, 1, 1])], attrs), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([], [0, 2])], attrs), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([1])], { ...attrs, mode: str('BM25') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([1])], { ...attrs, ngram_indexes: ints([0, -1]) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([1])], { ...attrs, ngram_indexes: ints([0]) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([1])], { ...attrs, mode: str('TFIDF'), weights: floats([1]) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('TfIdfVectorizer', [i32([1])], { ...attrs, pool_int64s: undefined as never, pool_strings: { kind: 'strings', value: ['a'] } }), 'UNSUPPORTED_FEATURE');
});
