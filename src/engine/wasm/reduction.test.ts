// The WebAssembly SIMD float32 reductions (reduce.wat) store exactly the bits of the plain
// TypeScript reference (reduce.ts reduceF32Reference), or decline the job.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argF32Wasm, reduceF32Wasm, reduceLayout } from './reduction.js';
import { argScan, reduceF32Reference, softmaxF32 } from '../ops/reduce.js';
import { softmaxColsF32Wasm } from './math.js';
import { logf } from '../math/index.js';
import { sameBits32 } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';

const MODES = ['sum', 'sumsquare', 'l1', 'prod', 'max', 'min'];
const IDENTITY = [0, 0, 0, 1, -Infinity, Infinity];

/** NaNs (quiet, signalling, payloads), ±0, ±Inf, subnormals, extremes. */
const SPECIAL_BITS = [
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7f800001, 0xffa5a5a5,
  0x00000000, 0x80000000, 0x7f800000, 0xff800000,
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000,
  0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
];
const NON_NAN_SPECIAL = SPECIAL_BITS.filter((b) => (b & 0x7fffffff) <= 0x7f800000);

/** n values: random in (-2, 2) (prod: around 1) with a fraction `p` of special bit patterns. */
function values(n: number, r: () => number, p: number, specials: number[], mode: number): Float32Array {
  const x = new Float32Array(n);
  const u = new Uint32Array(x.buffer);
  for (let i = 0; i < n; i++) {
    if (r() < p) u[i] = specials[Math.floor(r() * specials.length)]!;
    else if (r() < 0.1) x[i] = r() < 0.5 ? 0 : -0; // many ±0: the sign of a zero max/min
    else x[i] = mode === 3 ? 0.5 + r() : (r() * 4 - 2) * (r() < 0.05 ? 1e30 : 1);
  }
  return x;
}

function reference(mode: number, x: Float32Array, shape: number[], isRed: boolean[]): Float32Array {
  const n = shape.reduce((a, d, i) => (isRed[i] ? a : a * d), 1);
  const y = new Float32Array(n).fill(IDENTITY[mode]!);
  reduceF32Reference(mode, x, shape, isRed, y);
  return y;
}

function check(mode: number, x: Float32Array, shape: number[], isRed: boolean[], what: string): boolean {
  const want = reference(mode, x, shape, isRed);
  const got = new Float32Array(want.length).fill(12345);
  if (!reduceF32Wasm(mode, x, shape, isRed, got)) {
    assert.ok(got.every((v) => v === 12345), `${what}: declined job wrote nothing`);
    return false;
  }
  sameBits32(got, want, `${MODES[mode]} ${what}`);
  return true;
}

test('reduceLayout: one reduced block [O, R, C] after dropping size-1 axes', () => {
  assert.deepEqual(reduceLayout([4, 5, 6], [false, true, false]), [4, 5, 6]);
  assert.deepEqual(reduceLayout([4, 5, 6], [true, true, false]), [1, 20, 6]);
  assert.deepEqual(reduceLayout([4, 1, 6], [false, false, true]), [4, 6, 1]);
  assert.deepEqual(reduceLayout([4, 5, 1, 6], [false, true, false, true]), [4, 30, 1]); // size-1 kept axis between
  assert.equal(reduceLayout([4, 5, 6], [true, false, true]), undefined);
  assert.equal(reduceLayout([4, 5, 6], [false, false, false]), undefined);
  assert.equal(reduceLayout([4, 0, 6], [false, true, false]), undefined);
});

test('reduce_f32 matches the reference bit for bit: every axis combination of random shapes', () => {
  const r = rng(7);
  const dims = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 20, 33];
  let fast = 0;
  let total = 0;
  for (let iter = 0; iter < 220; iter++) {
    const rank = 1 + Math.floor(r() * 4);
    const shape = Array.from({ length: rank }, () => dims[Math.floor(r() * dims.length)]!);
    const size = shape.reduce((a, b) => a * b, 1);
    if (size < 256 || size > 60000) continue;
    const mode = iter % 6;
    const p = [0, 0, 0.01, 0.1][iter % 4]!;
    const x = values(size, r, p, iter % 8 < 6 ? NON_NAN_SPECIAL : SPECIAL_BITS, mode);
    for (let mask = 1; mask < 1 << rank; mask++) {
      const isRed = shape.map((_, i) => ((mask >> i) & 1) === 1);
      total++;
      if (check(mode, x, shape, isRed, `shape [${shape}] axes mask ${mask}`)) fast++;
    }
  }
  assert.ok(fast > total / 3, `the fast path ran in ${fast} of ${total} cases`);
});

test('reduce_f32: both kernels (columns C >= 4, lanes C < 4), odd sizes, ±0, ±Inf, subnormals, overflow', () => {
  const r = rng(11);
  for (const [O, R, C] of [[1, 300, 1], [7, 37, 1], [130, 3, 1], [1, 64, 4], [3, 11, 5], [2, 9, 17], [1, 33, 19], [5, 7, 35], [4, 20, 3], [9, 13, 2], [1, 512, 31], [16, 16, 16], [3, 5, 67]]) {
    for (let mode = 0; mode < 6; mode++) {
      for (const p of [0, 0.05, 0.3]) {
        const x = values(O * R * C, r, p, NON_NAN_SPECIAL, mode);
        const shape = [O, R, C];
        const ok = check(mode, x, shape, [false, true, false], `[${shape}] p=${p}`);
        if (O * R * C >= 256 && O * C >= 4) assert.ok(ok || reference(mode, x, shape, [false, true, false]).some((v) => v !== v), `[${shape}] ran`);
      }
    }
  }
});

test('reduce_f32: NaN inputs and NaN-producing sums are handed back to the reference', () => {
  const r = rng(3);
  for (let mode = 0; mode < 6; mode++) {
    const x = values(64 * 33, r, 0, NON_NAN_SPECIAL, mode);
    new Uint32Array(x.buffer)[5 * 33 + 7] = 0x7fa00001; // signalling NaN
    for (const isRed of [[true, false], [false, true]]) {
      const y = new Float32Array(isRed[0] ? 33 : 64).fill(7);
      assert.equal(reduceF32Wasm(mode, x, [64, 33], isRed, y), false);
      assert.ok(y.every((v) => v === 7));
    }
  }
  // +Inf + -Inf in a sum
  const x = new Float32Array(64 * 8).fill(1);
  x[3] = Infinity;
  x[64 + 3] = -Infinity; // same column of [64, 8], different rows of [8, 64]
  assert.equal(reduceF32Wasm(0, x, [64, 8], [true, false], new Float32Array(8)), false);
  assert.equal(check(0, x, [8, 64], [false, true], 'Inf - Inf in another row'), true);
});

test('reduce_f32 declines empty, tiny and full reductions', () => {
  const x = new Float32Array(1000).fill(1);
  assert.equal(reduceF32Wasm(0, x, [1000], [true], new Float32Array(1)), false);
  assert.equal(reduceF32Wasm(0, x.subarray(0, 100), [10, 10], [false, true], new Float32Array(10)), false);
  assert.equal(reduceF32Wasm(0, new Float32Array(0), [0, 300], [false, true], new Float32Array(0)), false);
  assert.equal(reduceF32Wasm(0, x, [10, 10, 10], [true, false, true], new Float32Array(10)), false);
});

// ---- Softmax / LogSoftmax over a non-last axis (math.wat softmax_cols_f32)

function softmaxCols(x: Float32Array, outer: number, N: number, inner: number, log: boolean, what: string): void {
  const want = new Float32Array(x.length);
  softmaxF32(x, want, outer, N, inner, log);
  const got = new Float32Array(x.length).fill(12345);
  const S = N * inner;
  const fb = (o: number): void => softmaxF32(x.subarray(o * S, (o + 1) * S), got.subarray(o * S, (o + 1) * S), 1, N, inner, log);
  assert.ok(softmaxColsF32Wasm(x, got, outer, N, inner, log, logf, fb));
  sameBits32(got, want, `${log ? 'logsoftmax' : 'softmax'} ${what}`);
}

test('Softmax/LogSoftmax columns: random shapes incl. odd inner, bit for bit with softmaxF32', () => {
  const r = rng(31);
  for (const [outer, N, inner] of [[1, 1, 4], [1, 3, 5], [2, 2, 7], [8, 10, 64], [3, 1, 9], [5, 17, 6], [2, 33, 13], [4, 7, 100], [1, 300, 4], [6, 5, 31]] as const) {
    for (const scale of [1, 10, 200]) {
      const x = new Float32Array(outer * N * inner);
      for (let i = 0; i < x.length; i++) x[i] = (r() * 2 - 1) * scale;
      for (const log of [false, true]) softmaxCols(x, outer, N, inner, log, `[${outer},${N},${inner}] scale ${scale}`);
    }
  }
});

test('Softmax/LogSoftmax columns: NaN, ±Inf, all -Inf, signed-zero maxima, subnormals and underflowing exps', () => {
  const r = rng(32);
  const specials = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  for (const [N, inner] of [[1, 4], [3, 5], [6, 8], [17, 11]] as const) {
    for (const p of [0, 0.002, 0.05]) {
      const outer = 12;
      const x = new Float32Array(outer * N * inner);
      for (let i = 0; i < x.length; i++) {
        const t = r();
        x[i] = t < p ? specials[Math.floor(r() * specials.length)]! : t < 0.3 ? (r() < 0.5 ? 0 : -0) : t < 0.4 ? -1000 * r() : t < 0.45 ? (r() - 0.5) * 1e-40 : -r() * 4;
      }
      // slice 0: column 0 all -Inf, column 1 all ±0 (first -0), column 2 -0 then +0
      for (let k = 0; k < N; k++) {
        x[k * inner] = -Infinity;
        x[k * inner + 1] = k === 0 ? -0 : k % 2 ? 0 : -0;
        x[k * inner + 2] = k === 0 ? -0 : 0;
      }
      for (const log of [false, true]) softmaxCols(x, outer, N, inner, log, `specials [${outer},${N},${inner}] p=${p}`);
    }
  }
});

test('Softmax/LogSoftmax columns decline inner < 4', () => {
  assert.equal(softmaxColsF32Wasm(new Float32Array(12), new Float32Array(12), 2, 2, 3, false, logf, () => {}), false);
});

// ---- ArgMax / ArgMin (reduce.wat arg_f32)

test('ArgMax/ArgMin: the SIMD scan picks the reference index (ties, ±0, NaN first/last, select_last_index)', () => {
  const r = rng(51);
  const pool = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  let ran = 0;
  for (const [outer, N, inner] of [[64, 5, 1], [300, 1, 1], [7, 40, 1], [1, 50, 8], [3, 33, 5], [9, 17, 2], [2, 30, 3], [5, 9, 13], [1, 256, 4], [4, 64, 7]] as const) {
    for (const p of [0, 0.02, 0.3]) {
      const x = new Float32Array(outer * N * inner);
      // few distinct values: many ties
      for (let i = 0; i < x.length; i++) x[i] = r() < p ? pool[Math.floor(r() * pool.length)]! : r() < 0.2 ? (r() < 0.5 ? 0 : -0) : Math.floor(r() * 5) - 2;
      for (const isMax of [true, false]) {
        for (const last of [false, true]) {
          const want = new BigInt64Array(outer * inner);
          argScan(x, outer, N, inner, isMax, last, want);
          const got = new BigInt64Array(outer * inner).fill(-7n);
          if (argF32Wasm(x, outer, N, inner, isMax, last, got)) {
            ran++;
            assert.deepEqual([...got], [...want], `[${outer},${N},${inner}] p=${p} isMax=${isMax} last=${last}`);
          } else assert.ok(got.every((v) => v === -7n));
        }
      }
    }
  }
  assert.ok(ran >= 90, `fast path ran ${ran} times`);
});
