import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './misc.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { cosf } from '../math/index.js';
import { makeCtx, int, throwsCode, f32 } from '../../../test/fixtures/kernels.js';

type Attr = AttrValue;
const fr = Math.fround;

function run(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, opset = 26): Tensor {
  return ops[opType]!(inputs, makeCtx(opType, attrs, opset))[0]!;
}

const i64 = (v: number): Tensor => new Tensor(DType.int64, [], BigInt64Array.of(BigInt(v)));
const arr = (t: Tensor): number[] => Array.from(t.data as Float32Array);

test('BitCast reinterprets bytes and validates widths and bool bytes', () => {
  const x = f32([1, -0, NaN, -Infinity], [2, 2]);
  const y = run('BitCast', [x], { to: int(DType.int32) });
  assert.deepEqual(y.shape, [2, 2]);
  assert.deepEqual(Array.from(y.data as Int32Array), [0x3f800000, -0x80000000, 0x7fc00000, -0x800000]);
  assert.notEqual(y.data.buffer, x.data.buffer);
  const back = run('BitCast', [y], { to: int(DType.float32) });
  assert.deepEqual(new Uint32Array(back.data.buffer), new Uint32Array(x.data.buffer));
  const big = run('BitCast', [new Tensor(DType.float64, [1], Float64Array.of(-2))], { to: int(DType.uint64) });
  assert.equal(big.data[0], 0xc000000000000000n);
  const h = run('BitCast', [new Tensor(DType.int16, [1], Int16Array.of(-1))], { to: int(DType.float16) });
  assert.equal(h.data[0], 0xffff);
  const b = run('BitCast', [new Tensor(DType.uint8, [2], Uint8Array.of(1, 0))], { to: int(DType.bool) });
  assert.deepEqual(Array.from(b.data as Uint8Array), [1, 0]);
  throwsCode(() => run('BitCast', [new Tensor(DType.uint8, [1], Uint8Array.of(2))], { to: int(DType.bool) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('BitCast', [x], { to: int(DType.float64) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('BitCast', [x], {}), 'INVALID_ARGUMENT');
  throwsCode(() => run('BitCast', [x], { to: int(16) }), 'UNSUPPORTED_FEATURE'); // bfloat16
  assert.deepEqual(run('BitCast', [f32([], [0, 3])], { to: int(DType.uint32) }).shape, [0, 3]);
});

test('windows follow the function body in float32 (independent re-computation)', () => {
  const consts: Record<string, [number, number, number]> = {
    HannWindow: [0.5, 0.5, 0],
    HammingWindow: [0.54347826087, 0.45652173913, 0],
    BlackmanWindow: [0.42, 0.5, 0.08],
  };
  for (const [op, [a0, a1, a2]] of Object.entries(consts)) {
    for (const periodic of [0, 1]) {
      const n = 9;
      const y = run(op, [i64(n)], { periodic: int(periodic) }, 17);
      const inc = fr(fr(6.2831853) / (periodic ? n : n - 1));
      const exp = [];
      for (let k = 0; k < n; k++) {
        const a = fr(k * inc);
        exp.push(fr(fr(fr(a0) - fr(fr(a1) * cosf(a))) + fr(fr(a2) * cosf(fr(2 * a)))));
      }
      assert.deepEqual(arr(y), exp, `${op} periodic=${periodic}`);
    }
  }
  assert.deepEqual(run('HannWindow', [i64(0)], {}, 17).shape, [0]);
  const d = run('HannWindow', [i64(4)], { output_datatype: int(DType.float64) }, 17);
  assert.equal(d.dtype, DType.float64);
  assert.deepEqual(Array.from(d.data as Float64Array), arr(run('HannWindow', [i64(4)], {}, 17)));
  const n = run('HammingWindow', [new Tensor(DType.int32, [], Int32Array.of(3))], { output_datatype: int(DType.int32) }, 17);
  assert.equal(n.dtype, DType.int32);
  throwsCode(() => run('HannWindow', [i64(-1)], {}, 17), 'INVALID_ARGUMENT');
  throwsCode(() => run('HannWindow', [f32([3], [])], {}, 17), 'INVALID_ARGUMENT');
});

test('Det: LU with partial pivoting (sign, singular, batch, 0x0, float64)', () => {
  // [[1,2],[3,4]]: pivot 3 (swap, sign -1), f = f32(1/3), u11 = f32(2 - f32(f*4)), det = -f32(3 * u11)
  const f = fr(1 / 3);
  assert.deepEqual(arr(run('Det', [f32([1, 2, 3, 4], [2, 2])], {}, 22)), [-fr(3 * fr(2 - fr(f * 4)))]);
  // pivoting swaps rows once: det [[0,1],[1,0]] = -1
  assert.deepEqual(arr(run('Det', [f32([0, 1, 1, 0], [2, 2])], {}, 22)), [-1]);
  // singular
  assert.deepEqual(arr(run('Det', [f32([1, 2, 2, 4], [2, 2])], {}, 22)), [0]);
  // batched, and an independent step-by-step 3x3 elimination
  const m = [2, -1, 0.5, 4, 3, -2, -1, 0.25, 5];
  const y = run('Det', [f32([...m, 1, 0, 0, 0, 1, 0, 0, 0, 1], [2, 3, 3])], {}, 22);
  assert.deepEqual(y.shape, [2]);
  // pivot col 0: row 1 (|4|): swap -> sign -1; rows: [4,3,-2],[2,-1,0.5],[-1,0.25,5]
  const f1 = fr(2 / 4), f2 = fr(-1 / 4);
  const a11 = fr(-1 - fr(f1 * 3)), a12 = fr(0.5 - fr(f1 * -2));
  const a21 = fr(0.25 - fr(f2 * 3)), a22 = fr(5 - fr(f2 * -2));
  // col 1: |a11| = 2.5 vs |a21| = 1 -> no swap
  const f3 = fr(a21 / a11);
  const u22 = fr(a22 - fr(f3 * a12));
  const det = -fr(fr(fr(1 * 4) * a11) * u22);
  assert.deepEqual(arr(y), [det, 1]);
  assert.deepEqual(arr(run('Det', [f32([], [0, 0])], {}, 22)), [1]);
  const d = run('Det', [new Tensor(DType.float64, [2, 2], Float64Array.from([0.1, 0.2, 0.3, 0.4]))], {}, 22);
  assert.ok(Math.abs((d.data[0] as number) - (0.1 * 0.4 - 0.2 * 0.3)) < 1e-16);
  throwsCode(() => run('Det', [f32([1, 2, 3], [1, 3])], {}, 22), 'INVALID_ARGUMENT');
  throwsCode(() => run('Det', [new Tensor(DType.int32, [1, 1], Int32Array.of(1))], {}, 22), 'INVALID_ARGUMENT');
});

test('DFT: forward/inverse round trip, onesided, dft_length, IRFFT, axis forms', () => {
  const sig = [1, 2, -1, 0.5, 3, -2, 0, 1];
  const x = f32(sig, [1, 8, 1]);
  const X = run('DFT', [x], {}, 20); // axis default -2 -> 1
  assert.deepEqual(X.shape, [1, 8, 2]);
  const Xd = arr(X);
  // naive double-precision DFT for comparison
  for (let k = 0; k < 8; k++) {
    let re = 0, im = 0;
    for (let t = 0; t < 8; t++) {
      re += sig[t]! * Math.cos((2 * Math.PI * k * t) / 8);
      im -= sig[t]! * Math.sin((2 * Math.PI * k * t) / 8);
    }
    assert.ok(Math.abs(Xd[2 * k]! - re) < 1e-5 && Math.abs(Xd[2 * k + 1]! - im) < 1e-5);
  }
  // Nyquist and DC imaginary parts of a real signal are exact zeros (exact axis twiddles)
  assert.equal(Math.abs(Xd[1]!), 0);
  assert.equal(Math.abs(Xd[9]!), 0);
  const back = run('DFT', [X], { inverse: int(1) }, 20);
  arr(back).forEach((v, i) => assert.ok(Math.abs(v - (i % 2 ? 0 : sig[i >> 1]!)) < 1e-5));
  // onesided forward
  const H = run('DFT', [x], { onesided: int(1) }, 20);
  assert.deepEqual(H.shape, [1, 5, 2]);
  assert.deepEqual(arr(H), Xd.slice(0, 10));
  // IRFFT from the onesided spectrum
  const r = run('DFT', [H], { onesided: int(1), inverse: int(1) }, 20);
  assert.deepEqual(r.shape, [1, 8, 1]);
  arr(r).forEach((v, i) => assert.ok(Math.abs(v - sig[i]!) < 1e-5));
  // dft_length pads with zeros / truncates
  const p = run('DFT', [x, i64(10)], {}, 20);
  assert.deepEqual(p.shape, [1, 10, 2]);
  assert.deepEqual(arr(run('DFT', [f32(sig.slice(0, 4), [1, 4, 1])], {}, 20)), arr(run('DFT', [x, i64(4)], {}, 20)));
  // opset 17 axis attribute = opset 20 axis input
  const x2 = f32(sig, [2, 4, 1]);
  assert.deepEqual(arr(run('DFT', [x2], { axis: int(1) }, 17)), arr(run('DFT', [x2, undefined, i64(-2)], {}, 20)));
  throwsCode(() => run('DFT', [x2, undefined, i64(2)], {}, 20), 'INVALID_ARGUMENT'); // last axis
  throwsCode(() => run('DFT', [x, i64(0)], {}, 20), 'INVALID_ARGUMENT');
  throwsCode(() => run('DFT', [f32(sig, [2, 4])], {}, 20), 'INVALID_ARGUMENT'); // last dim 4
});

test('STFT frames equal windowed DFTs; MelWeightMatrix triangles', () => {
  const sig = Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3);
  const x = f32(sig, [1, 12, 1]);
  const w = f32([0.5, 1, 1, 0.5]);
  const y = run('STFT', [x, i64(4), w], {}, 17);
  assert.deepEqual(y.shape, [1, 3, 3, 2]);
  for (let f = 0; f < 3; f++) {
    const seg = sig.slice(f * 4, f * 4 + 4).map((v, t) => fr(fr(v) * (w.data[t] as number)));
    const d = run('DFT', [f32(seg, [1, 4, 1])], { onesided: int(1) }, 20);
    assert.deepEqual(arr(y).slice(f * 6, f * 6 + 6), arr(d));
  }
  throwsCode(() => run('STFT', [x, i64(0), w], {}, 17), 'INVALID_ARGUMENT');
  throwsCode(() => run('STFT', [x, i64(2), w, i64(5)], {}, 17), 'INVALID_ARGUMENT');
  const m = run('MelWeightMatrix', [i64(4), i64(16), i64(8000), f32([0], []), f32([4000], [])], {}, 17);
  assert.deepEqual(m.shape, [9, 4]);
  // every band peaks at 1
  for (let i = 0; i < 4; i++) assert.equal(Math.max(...Array.from({ length: 9 }, (_, j) => m.data[j * 4 + i] as number)), 1);
  throwsCode(() => run('MelWeightMatrix', [i64(4), i64(16), i64(8000), f32([0], []), f32([16000], [])], {}, 17), 'INVALID_ARGUMENT');
});

test('BitCast reads canonical bytes: every NaN becomes the one quiet NaN, whatever its payload or sign', () => {
  const x = new Float32Array(3);
  const u = new Uint32Array(x.buffer);
  u[0] = 0x7fc00001;
  u[1] = 0xffc00000;
  u[2] = 0x3f800000;
  const y = run('BitCast', [new Tensor(DType.float32, [3], x)], { to: int(DType.uint32) });
  assert.deepEqual([...(y.data as Uint32Array)], [0x7fc00000, 0x7fc00000, 0x3f800000]);
});
