// Gelu's WebAssembly SIMD path (math.wat gelu_f32 via unary.ts geluF32Fast) stores exactly the
// bits of the plain TypeScript reference loops (unary.ts geluErfF32 / geluTanhF32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geluF32Wasm } from './math.js';
import { geluErfF32, geluF32Fast, geluTanhF32, ops } from '../ops/unary.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { makeCtx, sameBits32, str } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';

/** NaNs (quiet, signalling, both signs, payloads), ±0, ±Inf, subnormals, extremes. */
const SPECIAL_BITS = [
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7fffffff, 0x7f800001, 0xff800001, 0x7fa00000, 0xffa5a5a5,
  0x00000000, 0x80000000, 0x7f800000, 0xff800000,
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff,
];

/** Random values of several scales, every special value, and values around erf's / tanh's branch bounds (times sqrt 2). */
function inputs(): Float32Array {
  const r = rng(41);
  const out: number[] = [];
  for (const scale of [1e-30, 1e-3, 1, 3, 10, 30, 1e4, 1e30]) for (let i = 0; i < 2000; i++) out.push((r() * 2 - 1) * scale);
  const sp = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  for (let k = 0; k < 20; k++) out.push(...sp);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const c of [1, 2, 3, 4, 6, 1.5, 2.5, 3.5, 5].map((b) => b * Math.SQRT2).concat([2 ** -27, 5.4, 9.9, 10.5, 7.0, 6.5, 0.42])) {
    for (const s of [1, -1]) {
      f[0] = s * c;
      const b = u[0]!;
      for (let d = -200; d <= 200; d++) {
        u[0] = (b + d) >>> 0;
        out.push(f[0]!);
      }
    }
  }
  return Float32Array.from(out);
}

for (const tanh of [false, true]) {
  const name = tanh ? "Gelu approximate='tanh'" : "Gelu approximate='none'";
  test(`${name}: the SIMD kernel stores the reference's bits (NaN outputs recomputed by the reference)`, () => {
    const x = inputs();
    const want = new Float32Array(x.length);
    (tanh ? geluTanhF32 : geluErfF32)(x, want);
    for (const n of [x.length, 64, 65, 67, 1001]) {
      const got = new Float32Array(n).fill(12345);
      geluF32Fast(x.subarray(0, n), got, tanh);
      sameBits32(got, want.subarray(0, n), `${name} n=${n}`);
    }
    // the kernel alone: only NaN outputs are handed to the fallback
    const got = new Float32Array(x.length);
    const handed: number[] = [];
    assert.ok(geluF32Wasm(x, got, tanh, (i) => handed.push(i)));
    assert.ok(handed.length > 0 && handed.every((i) => want[i] !== want[i]), 'fallback only for NaN outputs');
    assert.equal(handed.length, want.filter((v) => v !== v).length);
  });

  test(`${name}: the kernel (ops.Gelu) on float32 matches the reference`, () => {
    const x = inputs();
    const want = new Float32Array(x.length);
    (tanh ? geluTanhF32 : geluErfF32)(x, want);
    const y = ops.Gelu!([new Tensor(DType.float32, [x.length], x)], makeCtx('Gelu', tanh ? { approximate: str('tanh') } : {}, 20))[0]!;
    sameBits32(y.data as Float32Array, want, name);
  });
}
