// Jobs larger than PIECE_BYTES run as several kernel calls (runtime.ts). The outputs are
// independent of how a job is cut, so a job cut into pieces must give exactly the bits
// of the reference (binary ops, relu, erf, GEMM) or of the same job done one unit (row,
// plane, image, slice) per call, where each call is a single piece; and the NaN/Inf
// fallbacks must get global indices. Sizes straddle the piece boundaries with remainders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../../test/fixtures/models.js';
import { erf64 } from '../math/erf.js';
import { gemmF32Js } from '../ops/matmul.js';
import { PIECE_BYTES } from './runtime.js';
import { binaryF32Wasm, reluF32Wasm } from './elementwise.js';
import { geluF32Wasm, layerNormRowsF32Wasm, softmaxColsF32Wasm, softmaxRowsF32Wasm, unaryF32Wasm } from './math.js';
import { maxPool2dF32Wasm } from './pool.js';
import { conv2dF32Wasm, convTranspose2dF32Wasm } from './convolution.js';
import { PackedWeights, gemmF32BatchWasm, gemmF32WasmOnce, markConstant } from './gemm.js';
import { argF32Wasm, reduceF32Wasm } from './reduction.js';
import { argScan, reduceF32Reference } from '../ops/reduce.js';

const bits = (f: Float32Array): Uint32Array => new Uint32Array(f.buffer, f.byteOffset, f.length);
const same = (got: Float32Array, want: Float32Array, what: string): void => {
  const g = bits(got);
  const w = bits(want);
  assert.equal(g.length, w.length, `${what}: length`);
  for (let i = 0; i < w.length; i++) if (g[i] !== w[i]) assert.fail(`${what}: element ${i}: ${g[i]!.toString(16)} vs ${w[i]!.toString(16)}`);
};

function randomF32(n: number, r: () => number, scale = 1): Float32Array {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = (r() * 2 - 1) * scale * 2 ** Math.floor(r() * 6 - 3);
  return f;
}

const PIECE_VALUES = PIECE_BYTES >> 2;

test('binary ops in pieces: wide rows, many rows, remainders, every operand layout', () => {
  const r = rng(1);
  const F = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b, mul: (a: number, b: number) => a * b, div: (a: number, b: number) => a / b };
  const half = PIECE_VALUES >> 1; // the outputs of one piece
  for (const [m, n] of [[3, 2 * half + 5], [1, 3 * half + 1], [1000, 37], [2000, 20], [5, half]] as const) {
    for (const [ra, ea] of [[n, 1], [0, 1], [1, 0], [0, 0]] as const) {
      for (const [rb, eb] of [[n, 1], [0, 1], [1, 0]] as const) {
        const op = (['add', 'sub', 'mul', 'div'] as const)[(m + ra + rb) & 3];
        const a = randomF32((m - 1) * ra + (n - 1) * ea + 1, r);
        const b = randomF32((m - 1) * rb + (n - 1) * eb + 1, r);
        const o = new Float32Array(m * n);
        assert.ok(binaryF32Wasm(op, a, ra, ea, b, rb, eb, o, m, n));
        const want = new Float32Array(m * n);
        for (let i = 0; i < m; i++) for (let t = 0; t < n; t++) want[i * n + t] = F[op](a[i * ra + t * ea]!, b[i * rb + t * eb]!);
        same(o, want, `${op} m=${m} n=${n} a(${ra},${ea}) b(${rb},${eb})`);
      }
    }
  }
});

test('relu, erf and gelu in pieces: the reference bits, fallbacks at global indices', () => {
  const r = rng(2);
  const n = 3 * PIECE_VALUES + 7;
  const x = randomF32(n, r);
  const nanAt = [5, PIECE_VALUES - 1, PIECE_VALUES, 2 * PIECE_VALUES + 3, n - 1];
  for (const i of nanAt) x[i] = NaN;
  const y = new Float32Array(n);
  assert.ok(reluF32Wasm(x, y));
  same(y, x.map((v) => (v > 0 || v !== v ? v : 0)), 'relu');
  assert.ok(unaryF32Wasm('erf', x, y));
  same(y, x.map((v) => erf64(v)), 'erf');
  const seen: number[] = [];
  assert.ok(geluF32Wasm(x, y, false, (i) => seen.push(i)));
  assert.deepEqual(seen, nanAt);
});

test('Softmax rows / columns and LayerNormalization in pieces equal one row (slice) per call', () => {
  const r = rng(3);
  for (const log of [false, true]) {
    const rows = 700, N = 100; // several pieces and a remainder
    const x = randomF32(rows * N, r, 4);
    x[650 * N + 3] = Infinity; // a fallback row in a later piece
    const y = new Float32Array(rows * N);
    const bad: number[] = [];
    assert.ok(softmaxRowsF32Wasm(x, y, rows, N, log, Math.log, (i) => bad.push(i)));
    assert.deepEqual(bad, [650]);
    const want = new Float32Array(rows * N);
    for (let i = 0; i < rows; i++) if (i !== 650) assert.ok(softmaxRowsF32Wasm(x.subarray(i * N, (i + 1) * N), want.subarray(i * N, (i + 1) * N), 1, N, log, Math.log, () => assert.fail()));
    want.set(y.subarray(650 * N, 651 * N), 650 * N);
    same(y, want, `softmax rows log=${log}`);

    const outer = 90, inner = 8, S = N * inner;
    const xc = randomF32(outer * S, r, 4);
    xc[77 * S + 5] = NaN;
    const yc = new Float32Array(outer * S);
    const badc: number[] = [];
    assert.ok(softmaxColsF32Wasm(xc, yc, outer, N, inner, log, Math.log, (o) => badc.push(o)));
    assert.deepEqual(badc, [77]);
    const wantc = new Float32Array(outer * S);
    for (let o = 0; o < outer; o++) if (o !== 77) assert.ok(softmaxColsF32Wasm(xc.subarray(o * S, (o + 1) * S), wantc.subarray(o * S, (o + 1) * S), 1, N, inner, log, Math.log, () => assert.fail()));
    wantc.set(yc.subarray(77 * S, 78 * S), 77 * S);
    same(yc, wantc, `softmax cols log=${log}`);
  }
  const rows = 333, n = 256;
  const x = randomF32(rows * n, r, 3);
  x[300 * n + 1] = Infinity;
  const scale = randomF32(n, r), bias = randomF32(n, r);
  const y = new Float32Array(rows * n), mean = new Float32Array(rows), inv = new Float32Array(rows);
  const bad: number[] = [];
  assert.ok(layerNormRowsF32Wasm(x, y, rows, n, 1e-5, scale, bias, mean, inv, (i) => bad.push(i)));
  assert.deepEqual(bad, [300]);
  const wy = new Float32Array(rows * n), wm = new Float32Array(rows), wi = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    if (i === 300) continue;
    const s = (a: Float32Array, k: number) => a.subarray(i * k, (i + 1) * k);
    assert.ok(layerNormRowsF32Wasm(s(x, n), s(wy, n), 1, n, 1e-5, scale, bias, s(wm, 1), s(wi, 1), () => assert.fail()));
  }
  wy.set(y.subarray(300 * n, 301 * n), 300 * n);
  wm[300] = mean[300]!;
  wi[300] = inv[300]!;
  same(y, wy, 'layernorm y');
  same(mean, wm, 'layernorm mean');
  same(inv, wi, 'layernorm inv');
});

test('MaxPool and Conv / ConvTranspose in pieces equal one plane (image) per call', () => {
  const r = rng(4);
  const planes = 150;
  const pg = { H: 28, W: 28, OH: 14, OW: 14, kH: 3, kW: 3, sH: 2, sW: 2, dH: 1, dW: 1, pT: 1, pL: 1 };
  const px = randomF32(planes * 784, r);
  const py = new Float32Array(planes * 196);
  assert.ok(maxPool2dF32Wasm(px, py, planes, pg));
  const pw = new Float32Array(planes * 196);
  for (let p = 0; p < planes; p++) assert.ok(maxPool2dF32Wasm(px.subarray(p * 784, (p + 1) * 784), pw.subarray(p * 196, (p + 1) * 196), 1, pg));
  same(py, pw, 'maxpool');

  const g = { N: 7, C: 16, H: 14, W: 14, M: 32, group: 2, KH: 3, KW: 3, OH: 14, OW: 14, sH: 1, sW: 1, dH: 1, dW: 1, pT: 1, pL: 1 };
  const xi = g.C * g.H * g.W, yi = g.M * g.OH * g.OW;
  const x = randomF32(g.N * xi, r);
  const w = randomF32(g.M * (g.C / g.group) * 9, r);
  const b = randomF32(g.M, r);
  const y = new Float32Array(g.N * yi);
  assert.ok(conv2dF32Wasm(x, w, b, y, g));
  const wy = new Float32Array(g.N * yi);
  for (let n = 0; n < g.N; n++) assert.ok(conv2dF32Wasm(x.subarray(n * xi, (n + 1) * xi), w, b, wy.subarray(n * yi, (n + 1) * yi), { ...g, N: 1 }));
  same(y, wy, 'conv');

  const t = { N: 5, C: 8, H: 20, W: 20, M: 12, group: 1, KH: 3, KW: 3, OH: 41, OW: 41, sH: 2, sW: 2, dH: 1, dW: 1, pT: 0, pL: 0 };
  const ti = t.C * t.H * t.W, to = t.M * t.OH * t.OW;
  const tx = randomF32(t.N * ti, r);
  const tw = randomF32(t.C * t.M * 9, r);
  const ty = new Float32Array(t.N * to);
  assert.ok(convTranspose2dF32Wasm(tx, tw, undefined, ty, t));
  const twy = new Float32Array(t.N * to);
  for (let n = 0; n < t.N; n++) assert.ok(convTranspose2dF32Wasm(tx.subarray(n * ti, (n + 1) * ti), tw, undefined, twy.subarray(n * to, (n + 1) * to), { ...t, N: 1 }));
  same(ty, twy, 'convTranspose');
});

test('GEMM in blocks of rows (resident and one-shot, with Gemm scaling) and batches in pieces: the reference bits', () => {
  const r = rng(5);
  const cache = new PackedWeights();
  for (const [M, K, N] of [[301, 256, 1000], [130, 700, 9], [7, 64, 64]] as const) {
    const A = randomF32(M * K, r);
    const B = randomF32(K * N, r);
    markConstant(B);
    const want = new Float32Array(M * N);
    gemmF32Js(A, 0, B, 0, want, 0, M, K, N);
    const got = new Float32Array(M * N);
    assert.ok(cache.gemm(A, 0, B, 0, false, got, 0, M, K, N));
    same(got, want, `packed ${M}x${K}x${N}`);
    // B given transposed ([N, K]) and packed a block of columns at a time
    const Bt = new Float32Array(N * K);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j]!;
    markConstant(Bt);
    const gotT = new Float32Array(M * N);
    assert.ok(cache.gemm(A, 0, Bt, 0, true, gotT, 0, M, K, N));
    same(gotT, want, `packed transposed ${M}x${K}x${N}`);
    const once = new Float32Array(M * N);
    assert.ok(gemmF32WasmOnce(A, 0, B, 0, false, once, 0, M, K, N));
    same(once, want, `once ${M}x${K}x${N}`);
    // Gemm's C as [M, N], [N], [M, 1] and a scalar: y = f32(f32(alpha*acc) + f32(beta*c))
    for (const [cs0, cs1, len] of [[N, 1, M * N], [0, 1, N], [1, 0, M], [0, 0, 1]] as const) {
      const c = randomF32(len, r);
      const scale = { alpha: Math.fround(0.7), beta: Math.fround(-1.3), c, cs0, cs1 };
      const ws = want.map((v, e) => Math.fround(Math.fround(scale.alpha * v) + Math.fround(scale.beta * c[Math.floor(e / N) * cs0 + (e % N) * cs1]!)));
      const g1 = new Float32Array(M * N);
      assert.ok(cache.gemm(A, 0, B, 0, false, g1, 0, M, K, N, scale));
      same(g1, ws, `packed scaled ${M}x${K}x${N} c(${cs0},${cs1})`);
      const g2 = new Float32Array(M * N);
      assert.ok(gemmF32WasmOnce(A, 0, B, 0, false, g2, 0, M, K, N, scale));
      same(g2, ws, `once scaled ${M}x${K}x${N} c(${cs0},${cs1})`);
    }
  }
  // batches: shared B (repacked at each piece start) and one B per entry
  const [count, M, K, N] = [11, 64, 48, 72];
  const A = randomF32(count * M * K, r);
  for (const shared of [true, false]) {
    const B = randomF32((shared ? 1 : count) * K * N, r);
    const aOffs = Array.from({ length: count }, (_, t) => t * M * K);
    const bOffs = Array.from({ length: count }, (_, t) => (shared ? 0 : t * K * N));
    const got = new Float32Array(count * M * N);
    assert.ok(gemmF32BatchWasm(A, aOffs, B, bOffs, got, count, M, K, N));
    const want = new Float32Array(count * M * N);
    for (let t = 0; t < count; t++) gemmF32Js(A, aOffs[t]!, B, bOffs[t]!, want, t * M * N, M, K, N);
    same(got, want, `batch shared=${shared}`);
  }
});

test('reductions and ArgMax/ArgMin in pieces of outer blocks: the reference bits; a NaN output in a late piece writes nothing', () => {
  const r = rng(6);
  const IDENT = [0, 0, 0, 1, -Infinity, Infinity];
  for (const [O, R, C] of [[600, 100, 8], [3000, 50, 2], [7, 5000, 1]] as const) {
    const x = randomF32(O * R * C, r);
    for (let mode = 0; mode < 6; mode++) {
      const got = new Float32Array(O * C).fill(IDENT[mode]!);
      assert.ok(reduceF32Wasm(mode, x, [O, R, C], [false, true, false], got));
      const want = new Float32Array(O * C).fill(IDENT[mode]!);
      reduceF32Reference(mode, x, [O, R, C], [false, true, false], want);
      same(got, want, `reduce mode ${mode} [${O}, ${R}, ${C}]`);
    }
    for (const isMax of [true, false]) {
      const got = new BigInt64Array(O * C);
      assert.ok(argF32Wasm(x, O, R, C, isMax, false, got));
      const want = new BigInt64Array(O * C);
      argScan(x, O, R, C, isMax, false, want);
      assert.deepEqual(got, want, `arg [${O}, ${R}, ${C}]`);
    }
  }
  const x = randomF32(600 * 100 * 8, r);
  x[590 * 800 + 3] = NaN;
  const y = new Float32Array(600 * 8);
  assert.equal(reduceF32Wasm(0, x, [600, 100, 8], [false, true, false], y), false);
  assert.ok(y.every((v) => v === 0 && !Object.is(v, -0)), 'nothing written');
});
