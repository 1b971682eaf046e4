// The WebAssembly SIMD elementwise kernels store exactly the bits of their plain
// TypeScript references, NaN payloads included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reluF32Wasm } from './elementwise.js';
import { reluF32Js } from '../ops/unary.js';
import { sameBits32 } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';

const hex = (u: number): string => `0x${u.toString(16).padStart(8, '0')}`;

/** Special bit patterns: NaNs (quiet and signalling, both signs, several payloads), ±0, ±Inf, subnormals, extremes. */
const SPECIAL_BITS = [
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7fffffff, 0xffffffff, // quiet NaNs
  0x7f800001, 0xff800001, 0x7fa00000, 0x7fbfffff, 0xffa5a5a5, // signalling NaNs
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, // ±0, ±Inf
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, 0x80400000, // subnormals
  0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000, // normals
];

/** `n` float32 values: random bit patterns (every class) and random moderate values, with the specials sprinkled in. */
function input(n: number, r: () => number): Float32Array {
  const u = new Uint32Array(n);
  const f = new Float32Array(u.buffer);
  for (let i = 0; i < n; i++) {
    const t = r();
    if (t < 0.3) u[i] = SPECIAL_BITS[Math.floor(r() * SPECIAL_BITS.length)]!;
    else if (t < 0.6) u[i] = Math.floor(r() * 2 ** 32) >>> 0;
    else f[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 40 - 20);
  }
  return f;
}

test('Relu: WebAssembly SIMD gives the bits of the JS loop on every special value', () => {
  const x = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  const want = new Float32Array(x.length);
  reluF32Js(x, want);
  const got = new Float32Array(x.length);
  assert.ok(reluF32Wasm(x, got), 'WebAssembly SIMD is available in Node 20');
  sameBits32(got, want, 'specials');
  // the rule itself, bit by bit: NaN keeps sign and payload, quieted; -0, negatives, -Inf -> +0
  const u = new Uint32Array(got.buffer);
  for (let i = 0; i < SPECIAL_BITS.length; i++) {
    const b = SPECIAL_BITS[i]!;
    const isNaN = (b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0;
    const expect = isNaN ? (b | 0x00400000) >>> 0 : b & 0x80000000 ? 0 : b;
    assert.equal(u[i], expect, `${hex(b)} -> ${hex(u[i]!)}`);
  }
});

test('Relu: random arrays of odd lengths (tails of 1-3 lanes), bit for bit', () => {
  const r = rng(7);
  for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 17, 31, 33, 255, 256, 257, 1023, 4097, 100_003]) {
    const x = input(n, r);
    const want = new Float32Array(n);
    reluF32Js(x, want);
    const got = new Float32Array(n);
    assert.ok(reluF32Wasm(x, got));
    sameBits32(got, want, `n=${n}`);
  }
});

test('Relu: views at odd offsets, and the output larger than the input', () => {
  const r = rng(11);
  const buf = input(1000, r);
  const x = buf.subarray(3, 3 + 517);
  const want = new Float32Array(517);
  reluF32Js(x, want);
  const out = new Float32Array(600).fill(42);
  assert.ok(reluF32Wasm(x, out));
  sameBits32(out.subarray(0, 517), want, 'view');
  assert.ok(out.subarray(517).every((v) => v === 42), 'nothing past n is written');
});

test('Relu: a big job after small ones and small after big reuse the instance correctly', () => {
  const r = rng(5);
  for (const n of [300, 2_000_000, 301]) {
    const x = input(n, r);
    const want = new Float32Array(n);
    reluF32Js(x, want);
    const got = new Float32Array(n);
    assert.ok(reluF32Wasm(x, got));
    sameBits32(got, want, `n=${n}`);
  }
});
