// float32 Add/Sub/Mul/Div through the WebAssembly SIMD kernel (elementwise.wat add_f32...)
// give the bits of one IEEE float32 operation per element: compared with an independent
// reference, Math.fround(a op b) over explicit numpy broadcasting, on random shapes and
// every special value. Non-NaN results match bit for bit; NaN results match in NaN-ness
// (WebAssembly leaves a NaN result's payload open; the canonical encoding collapses NaNs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { ops, BINARY_F32_WASM_MIN } from '../ops/elementwise.js';
import { makeCtx } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';
import { binaryF32Wasm } from './elementwise.js';

const hex = (u: number): string => `0x${u.toString(16).padStart(8, '0')}`;

const SPECIAL_BITS = [
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7fffffff, // quiet NaNs
  0x7f800001, 0xff800001, 0x7fa00000, // signalling NaNs
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, // ±0, ±Inf
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, // subnormals
  0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x7f000000, 0x3f800000, 0xbf800000, 0x3f7fffff, // normals, near overflow
];

/** Random float32 data: specials, random bit patterns, moderate values, values near 1 (cancellation). */
function input(n: number, r: () => number): Float32Array {
  const u = new Uint32Array(n);
  const f = new Float32Array(u.buffer);
  for (let i = 0; i < n; i++) {
    const t = r();
    if (t < 0.15) u[i] = SPECIAL_BITS[Math.floor(r() * SPECIAL_BITS.length)]!;
    else if (t < 0.35) u[i] = Math.floor(r() * 2 ** 32) >>> 0;
    else if (t < 0.5) f[i] = 1 + (r() - 0.5) * 2 ** -20;
    else f[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 60 - 30);
  }
  return f;
}

const OPS = {
  Add: (x: number, y: number) => x + y,
  Sub: (x: number, y: number) => x - y,
  Mul: (x: number, y: number) => x * y,
  Div: (x: number, y: number) => x / y,
} as const;
type OpName = keyof typeof OPS;

/** Independent reference: numpy broadcasting by explicit multi-indices, one fround per element. */
function reference(op: OpName, as: number[], a: Float32Array, bs: number[], b: Float32Array): { shape: number[]; data: Float32Array } {
  const r = Math.max(as.length, bs.length);
  const pa = [...new Array<number>(r - as.length).fill(1), ...as];
  const pb = [...new Array<number>(r - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => (d === 1 ? pb[i]! : d));
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(n);
  const f = OPS[op];
  const idx = new Array<number>(r).fill(0);
  for (let e = 0; e < n; e++) {
    let rem = e;
    for (let k = r - 1; k >= 0; k--) {
      idx[k] = rem % shape[k]!;
      rem = Math.floor(rem / shape[k]!);
    }
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < r; k++) {
      ia = ia * pa[k]! + (pa[k] === 1 ? 0 : idx[k]!);
      ib = ib * pb[k]! + (pb[k] === 1 ? 0 : idx[k]!);
    }
    out[e] = Math.fround(f(a[ia]!, b[ib]!));
  }
  return { shape, data: out };
}

function sameBitsOrBothNaN(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < w.length; i++) {
    if (g[i] === w[i]) continue;
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    assert.fail(`${what} element ${i}: ${hex(g[i]!)} vs ${hex(w[i]!)}`);
  }
}

function runOp(op: OpName, a: Tensor, b: Tensor): Tensor {
  return ops[op]!([a, b], makeCtx(op, {}, 17))[0]!;
}

function check(op: OpName, as: number[], bs: number[], r: () => number): void {
  const a = input(as.reduce((x, y) => x * y, 1), r);
  const b = input(bs.reduce((x, y) => x * y, 1), r);
  const want = reference(op, as, a, bs, b);
  const got = runOp(op, new Tensor(DType.float32, as, a), new Tensor(DType.float32, bs, b));
  assert.deepEqual(got.shape, want.shape, `${op} [${as}] [${bs}] shape`);
  sameBitsOrBothNaN(got.data as Float32Array, want.data, `${op} [${as}] op [${bs}]`);
}

test('binary f32: WebAssembly SIMD is available and the dispatch threshold is sane', () => {
  const o = new Float32Array(1);
  assert.ok(binaryF32Wasm('add', Float32Array.of(1), 0, 0, Float32Array.of(2), 0, 0, o, 1, 1), 'WebAssembly SIMD in Node 20');
  assert.equal(o[0], 3);
  assert.ok(BINARY_F32_WASM_MIN >= 1 && BINARY_F32_WASM_MIN <= 1 << 16);
});

test('binary f32: every special value against every special value, each op (kernel directly)', () => {
  const s = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  const k = s.length;
  const a = new Float32Array(k * k);
  const b = new Float32Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) ((a[i * k + j] = s[i]!), (b[i * k + j] = s[j]!));
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    const f = OPS[(op[0]!.toUpperCase() + op.slice(1)) as OpName];
    const want = a.map((x, i) => Math.fround(f(x, b[i]!)));
    const got = new Float32Array(k * k);
    assert.ok(binaryF32Wasm(op, a, 0, 1, b, 0, 1, got, 1, k * k));
    sameBitsOrBothNaN(got, want, `${op} specials`);
    // and with both layouts of broadcasting: rows of s against the row s, columns against a column
    const row = new Float32Array(k * k);
    assert.ok(binaryF32Wasm(op, a, k, 1, s, 0, 1, row, k, k));
    sameBitsOrBothNaN(row, a.map((x, i) => Math.fround(f(x, s[i % k]!))), `${op} row`);
    const col = new Float32Array(k * k);
    assert.ok(binaryF32Wasm(op, s, 1, 0, b, k, 1, col, k, k));
    sameBitsOrBothNaN(col, b.map((y, i) => Math.fround(f(s[Math.floor(i / k)]!, y))), `${op} column`);
  }
});

test('binary f32: overflow, underflow to subnormals and zero, division by zero, exact cancellation', () => {
  const big = Math.fround(3e38);
  const tiny = Math.fround(2 ** -126);
  const cases: [number, number][] = [
    [big, big], [-big, big], [tiny, 0.5], [tiny, 2 ** -30], [1, 0], [-1, 0], [1, -0], [0, 0], [-0, -0], [0, -0],
    [Math.fround(1 + 2 ** -23), -1], [1, 3], [Math.fround(0.1), Math.fround(0.2)], [2 ** -149, 2 ** -149], [-(2 ** -149), 0.5],
  ];
  const n = 600; // above the threshold
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) ((a[i] = cases[i % cases.length]![0]), (b[i] = cases[i % cases.length]![1]));
  for (const op of Object.keys(OPS) as OpName[]) {
    const got = runOp(op, new Tensor(DType.float32, [n], a), new Tensor(DType.float32, [n], b));
    sameBitsOrBothNaN(got.data as Float32Array, a.map((x, i) => Math.fround(OPS[op](x, b[i]!))), op);
  }
});

test('binary f32: layouts the SIMD kernel takes, sizes either side of the threshold, odd lengths', () => {
  const r = rng(11);
  const T = BINARY_F32_WASM_MIN;
  const shapes: [number[], number[]][] = [];
  for (const n of [1, 3, T - 1, T, T + 1, T + 3, 4 * T + 5, 100_003]) {
    shapes.push([[n], [n]], [[n], [1]], [[1], [n]], [[n], []], [[], [n]]);
  }
  for (const [m, n] of [[T, 1], [1, T], [7, 37], [37, 7], [3, T + 1], [T + 3, 5], [16, 16], [17, 15], [129, 3], [2, 2]] as const) {
    shapes.push([[m, n], [n]], [[n], [m, n]], [[m, n], [m, 1]], [[m, 1], [m, n]], [[m, n], [1, n]], [[m, 1], [1, n]], [[1, n], [m, 1]], [[m, n], [m, n]]);
    shapes.push([[2, m, n], [n]], [[2, m, n], [1, 1, 1]], [[1, m, n], [m, n]]);
  }
  for (const [as, bs] of shapes) for (const op of Object.keys(OPS) as OpName[]) check(op, as, bs, r);
});

test('binary f32: random shapes (broadcast corners, size-1 axes, empty tensors) match the reference', () => {
  const r = rng(99);
  for (let iter = 0; iter < 300; iter++) {
    const rank = Math.floor(r() * 4);
    const out = Array.from({ length: rank }, () => (r() < 0.05 ? 0 : 1 + Math.floor(r() * (r() < 0.3 ? 70 : 9))));
    const pick = (): number[] => {
      const k = Math.floor(r() * (rank + 1));
      return out.slice(rank - k).map((d) => (r() < 0.35 ? 1 : d));
    };
    const as = pick();
    const bs = r() < 0.5 ? out.slice() : pick();
    const op = (Object.keys(OPS) as OpName[])[iter % 4]!;
    check(op, as, bs, r);
  }
});

test('binary f32: inputs are views at odd offsets and are not modified', () => {
  const r = rng(5);
  const n = 3 * BINARY_F32_WASM_MIN + 1;
  const bufA = input(n + 3, r);
  const bufB = input(n + 5, r);
  const a = bufA.subarray(3);
  const b = bufB.subarray(5, 5 + n);
  const keepA = bufA.slice();
  const keepB = bufB.slice();
  for (const op of Object.keys(OPS) as OpName[]) {
    const got = runOp(op, new Tensor(DType.float32, [n], a), new Tensor(DType.float32, [n], b));
    sameBitsOrBothNaN(got.data as Float32Array, a.map((x, i) => Math.fround(OPS[op](x, b[i]!))), op);
  }
  assert.deepEqual(new Uint32Array(bufA.buffer), new Uint32Array(keepA.buffer));
  assert.deepEqual(new Uint32Array(bufB.buffer), new Uint32Array(keepB.buffer));
});
