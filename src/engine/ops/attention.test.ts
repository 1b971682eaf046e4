import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ops } from './attention.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { VerinferError } from '../../errors.js';
import { expf, tanhf } from '../math/index.js';
import { createSession } from '../session.js';
import { decodeTensorProtoBytes } from '../../onnx/tensorProto.js';
import { makeCtx, int, flt, throwsCode, sameBits32, nrLcgFloat32 } from '../../../test/fixtures/kernels.js';

type Attr = AttrValue;
const fr = Math.fround;

function run(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, nOut = 1, opset = 24): Tensor[] {
  return ops[opType]!(inputs, makeCtx(opType, attrs, opset, ['y', 'pk', 'pv', 'qk'].slice(0, nOut)));
}

/** Deterministic pseudo-random float32 values in [-2, 2). */
const rnd = (n: number, seed: number): Float32Array => nrLcgFloat32(n, seed, -2, 2);

const T4 = (shape: number[], seed: number): Tensor => new Tensor(DType.float32, shape, rnd(shape.reduce((a, b) => a * b, 1), seed));

/**
 * Straightforward float32 re-computation of Attention for 4-D inputs, in the canonical
 * order documented in attention.ts, written independently (element by element).
 */
function naiveAttention(
  q: Tensor, k: Tensor, v: Tensor,
  o: { mask?: Tensor; causal?: boolean; softcap?: number; scale?: number; pastK?: Tensor; pastV?: Tensor },
): { y: Float32Array; qk: Float32Array } {
  const [B, Hq, Sq, D] = q.shape as number[];
  const [, Hkv, Skv] = k.shape as number[];
  const Dv = v.shape[3]!;
  const P = o.pastK ? o.pastK.shape[2]! : 0;
  const T = P + Skv;
  const qd = q.data as Float32Array, kd = k.data as Float32Array, vd = v.data as Float32Array;
  const keyAt = (b: number, g: number, t: number, d: number): number =>
    t < P ? (o.pastK!.data as Float32Array)[((b * Hkv + g) * P + t) * D + d]! : kd[((b * Hkv + g) * Skv + (t - P)) * D + d]!;
  const valAt = (b: number, g: number, t: number, d: number): number =>
    t < P ? (o.pastV!.data as Float32Array)[((b * Hkv + g) * P + t) * Dv + d]! : vd[((b * Hkv + g) * Skv + (t - P)) * Dv + d]!;
  const scale = o.scale !== undefined ? fr(o.scale) : fr(1 / fr(Math.sqrt(D)));
  const c = fr(Math.sqrt(scale));
  const y = new Float32Array(B * Hq * Sq * Dv);
  const qkOut = new Float32Array(B * Hq * Sq * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < Sq; i++) {
        const score: number[] = [];
        const bias: number[] = [];
        for (let j = 0; j < T; j++) {
          let acc = 0;
          for (let d = 0; d < D; d++) {
            const qs = fr(qd[((b * Hq + h) * Sq + i) * D + d]! * c);
            const ks = fr(keyAt(b, g, j, d) * c);
            acc = fr(acc + fr(qs * ks));
          }
          let x = acc;
          if (o.softcap) x = fr(tanhf(fr(x / fr(o.softcap))) * fr(o.softcap));
          let bj = 0;
          if (o.mask) {
            const m = o.mask;
            const mr = m.shape[m.rank - 1]!;
            // mask of shape [Sq, Tm] or [B, Hq, Sq, Tm] in these tests
            const idx = m.rank === 2 ? i * mr + j : ((b * Hq + h) * Sq + i) * mr + j;
            bj = j < mr ? (m.dtype === DType.bool ? (m.data[idx] ? 0 : -Infinity) : (m.data[idx] as number)) : -Infinity;
          }
          if (o.causal) bj = fr(bj + (j <= i + P ? 0 : -Infinity));
          bias.push(bj);
          x = fr(x + bj);
          score.push(x);
        }
        let m = -Infinity;
        for (const x of score) if (x > m) m = x;
        const e = score.map((x) => expf(fr(x - m)));
        let s = 0;
        for (const x of e) s = fr(s + x);
        let p = e.map((x) => fr(x / s));
        if (Math.max(...bias, -Infinity) === -Infinity) p = p.map(() => 0);
        for (let j = 0; j < T; j++) qkOut[((b * Hq + h) * Sq + i) * T + j] = p[j]!;
        for (let d = 0; d < Dv; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc = fr(acc + fr(p[j]! * valAt(b, g, j, d)));
          y[((b * Hq + h) * Sq + i) * Dv + d] = acc;
        }
      }
    }
  }
  return { y, qk: qkOut };
}

test('Attention float32 matches an independent canonical re-computation bit for bit', () => {
  const q = T4([2, 4, 5, 8], 1), k = T4([2, 2, 7, 8], 2), v = T4([2, 2, 7, 6], 3);
  // GQA, plain
  let ref = naiveAttention(q, k, v, {});
  let out = run('Attention', [q, k, v], { qk_matmul_output_mode: int(3) }, 4);
  sameBits32(out[0]!, ref.y);
  sameBits32(out[3]!, ref.qk);
  // float mask + causal + softcap + explicit scale
  const mask = T4([5, 7], 4);
  ref = naiveAttention(q, k, v, { mask, causal: true, softcap: 1.5, scale: 0.3 });
  out = run('Attention', [q, k, v, mask], { is_causal: int(1), softcap: flt(1.5), scale: flt(0.3) });
  sameBits32(out[0]!, ref.y);
  // bool mask shorter than the kv length (padded with -inf), past key/value
  const bm = new Tensor(DType.bool, [2, 4, 5, 9], Uint8Array.from(rnd(2 * 4 * 5 * 9, 5), (x) => (x > -1 ? 1 : 0)));
  const pk = T4([2, 2, 3, 8], 6), pv = T4([2, 2, 3, 6], 7);
  ref = naiveAttention(q, k, v, { mask: bm, causal: true, pastK: pk, pastV: pv });
  out = run('Attention', [q, k, v, bm, pk, pv], { is_causal: int(1) }, 3);
  sameBits32(out[0]!, ref.y);
  assert.deepEqual(out[1]!.shape, [2, 2, 10, 8]);
  assert.deepEqual(Array.from((out[1]!.data as Float32Array).subarray(0, 8)), Array.from((pk.data as Float32Array).subarray(0, 8)));
  assert.deepEqual(Array.from((out[2]!.data as Float32Array).subarray(3 * 6, 4 * 6)), Array.from((v.data as Float32Array).subarray(0, 6)));
});

test('Attention 3-D inputs equal the 4-D computation on transposed heads', () => {
  const B = 2, S = 3, H = 2, D = 4;
  const q3 = T4([B, S, H * D], 11), k3 = T4([B, S, H * D], 12), v3 = T4([B, S, H * D], 13);
  const to4 = (t: Tensor): Tensor => {
    const o = new Float32Array(t.size);
    for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) for (let h = 0; h < H; h++) for (let d = 0; d < D; d++)
      o[((b * H + h) * S + s) * D + d] = (t.data as Float32Array)[(b * S + s) * H * D + h * D + d]!;
    return new Tensor(DType.float32, [B, H, S, D], o);
  };
  const y3 = run('Attention', [q3, k3, v3], { q_num_heads: int(H), kv_num_heads: int(H), is_causal: int(1) })[0]!;
  const y4 = run('Attention', [to4(q3), to4(k3), to4(v3)], { is_causal: int(1) })[0]!;
  assert.deepEqual(y3.shape, [B, S, H * D]);
  sameBits32(to4(y3), y4);
});

test('Attention: fully masked rows give zeros, not NaN; nonpad_kv_seqlen masks padding', () => {
  const q = T4([1, 1, 2, 4], 21), k = T4([1, 1, 3, 4], 22), v = T4([1, 1, 3, 2], 23);
  const bm = new Tensor(DType.bool, [2, 3], Uint8Array.from([0, 0, 0, 1, 0, 1]));
  const y = run('Attention', [q, k, v, bm])[0]!;
  assert.deepEqual(Array.from((y.data as Float32Array).subarray(0, 2)), [0, 0]);
  assert.ok(Array.from(y.data as Float32Array).every((x) => Number.isFinite(x as number)));
  // nonpad = 1: only key 0 counts, so every row equals V[0]
  const np = new Tensor(DType.int64, [1], BigInt64Array.from([1n]));
  const y2 = run('Attention', [q, k, v, undefined, undefined, undefined, np])[0]!;
  for (let i = 0; i < 2; i++) assert.deepEqual(Array.from((y2.data as Float32Array).subarray(i * 2, i * 2 + 2)), Array.from((v.data as Float32Array).subarray(0, 2)));
  // causal with nonpad: offset = nonpad - Sq = -1 masks row 0 fully
  const y3 = run('Attention', [q, k, v, undefined, undefined, undefined, np], { is_causal: int(1) })[0]!;
  assert.deepEqual(Array.from((y3.data as Float32Array).subarray(0, 2)), [0, 0]);
});

test('Attention float64 runs in doubles and agrees with float32 closely', () => {
  const q = T4([1, 2, 3, 4], 31), k = T4([1, 2, 3, 4], 32), v = T4([1, 2, 3, 4], 33);
  const d = (t: Tensor): Tensor => new Tensor(DType.float64, t.shape, Float64Array.from(t.data as Float32Array));
  const y32 = run('Attention', [q, k, v])[0]!;
  const y64 = run('Attention', [d(q), d(k), d(v)])[0]!;
  assert.equal(y64.dtype, DType.float64);
  for (let i = 0; i < y32.size; i++) assert.ok(Math.abs((y32.data[i] as number) - (y64.data[i] as number)) < 1e-5);
  // softmax_precision = double on float32 inputs gives float32 outputs
  const yp = run('Attention', [q, k, v], { softmax_precision: int(11) })[0]!;
  assert.equal(yp.dtype, DType.float32);
});

test('Attention rejects invalid inputs with typed errors', () => {
  const q = T4([1, 3, 2, 4], 1), k = T4([1, 2, 2, 4], 2), v = T4([1, 2, 2, 4], 3);
  throwsCode(() => run('Attention', [q, k, v]), 'INVALID_ARGUMENT'); // 3 heads vs 2 kv heads
  const q3 = T4([1, 2, 8], 4);
  throwsCode(() => run('Attention', [q3, q3, q3]), 'INVALID_ARGUMENT'); // 3-D without num_heads
  throwsCode(() => run('Attention', [q3, q3, q3], { q_num_heads: int(3), kv_num_heads: int(3) }), 'INVALID_ARGUMENT');
  const q4 = T4([1, 2, 2, 4], 5);
  throwsCode(() => run('Attention', [q4, q4, q4, T4([2, 5], 6)]), 'INVALID_ARGUMENT'); // mask longer than kv
  throwsCode(() => run('Attention', [q4, q4, q4, T4([3, 2], 6)]), 'INVALID_ARGUMENT'); // mask does not broadcast
  throwsCode(() => run('Attention', [q4, q4, q4, undefined, T4([1, 2, 1, 4], 7)]), 'INVALID_ARGUMENT'); // past_key alone
  throwsCode(() => run('Attention', [q4, q4, q4], { qk_matmul_output_mode: int(5) }), 'INVALID_ARGUMENT');
  const h = new Tensor(DType.float16, [1, 2, 2, 4], new Uint16Array(16));
  throwsCode(() => run('Attention', [h, h, h]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('Attention', [q4, q4, q4], { softmax_precision: int(10) }), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('Attention', [q4, q4, q4], { left_window_size: int(-2) }, 1, 25), 'INVALID_ARGUMENT');
});

test('Attention (opset 25) sliding window equals an explicit boolean band mask', () => {
  const q = T4([1, 1, 5, 4], 41), k = T4([1, 1, 5, 4], 42), v = T4([1, 1, 5, 3], 43);
  const band = new Uint8Array(25);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) band[i * 5 + j] = i - j <= 1 && j - i <= 0 ? 1 : 0;
  const yw = run('Attention', [q, k, v], { left_window_size: int(1), right_window_size: int(0) }, 1, 25)[0]!;
  const ym = run('Attention', [q, k, v, new Tensor(DType.bool, [5, 5], band)], {}, 1, 25)[0]!;
  sameBits32(yw, ym);
});

/** Straightforward RoPE re-computation (4-D input, position ids). */
test('RotaryEmbedding matches an independent re-computation (halves and interleaved)', () => {
  const B = 2, H = 2, S = 3, Dh = 8, R = 6, maxPos = 10;
  const x = T4([B, H, S, Dh], 51);
  const cos = T4([maxPos, R / 2], 52), sin = T4([maxPos, R / 2], 53);
  const pos = new Tensor(DType.int64, [B, S], BigInt64Array.from([0n, 3n, 9n, 1n, 1n, -1n]));
  for (const inter of [0, 1]) {
    const y = run('RotaryEmbedding', [x, cos, sin, pos], { interleaved: int(inter), rotary_embedding_dim: int(R) })[0]!;
    const xd = x.data as Float32Array;
    const exp = Float32Array.from(xd);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let s = 0; s < S; s++) {
      let p = Number((pos.data as BigInt64Array)[b * S + s]);
      if (p < 0) p += maxPos;
      const base = ((b * H + h) * S + s) * Dh;
      for (let kk = 0; kk < R / 2; kk++) {
        const i1 = inter ? base + 2 * kk : base + kk;
        const i2 = inter ? i1 + 1 : i1 + R / 2;
        const co = (cos.data as Float32Array)[p * (R / 2) + kk]!, si = (sin.data as Float32Array)[p * (R / 2) + kk]!;
        exp[i1] = fr(fr(co * xd[i1]!) - fr(si * xd[i2]!));
        exp[i2] = fr(fr(si * xd[i1]!) + fr(co * xd[i2]!));
      }
    }
    sameBits32(y, exp);
  }
  throwsCode(() => run('RotaryEmbedding', [x, cos, sin, pos], { rotary_embedding_dim: int(5) }), 'INVALID_ARGUMENT');
  const bad = new Tensor(DType.int64, [B, S], BigInt64Array.from([0n, 3n, 10n, 1n, 1n, 1n]));
  throwsCode(() => run('RotaryEmbedding', [x, cos, sin, bad], { rotary_embedding_dim: int(R) }), 'INVALID_ARGUMENT');
  throwsCode(() => run('RotaryEmbedding', [T4([1, 2, 8], 1), cos, sin]), 'INVALID_ARGUMENT'); // 3-D without num_heads
});

// The fused kernel and its ONNX function body (the `_expanded` conformance models) give
// identical bytes on this engine, for every attention case whose expansion runs.
const NODE_DIR = join(process.cwd(), '..', 'shared', 'conformance', 'onnx-backend', 'node');
test('Attention equals its _expanded function body bit for bit (conformance models)', { skip: !existsSync(NODE_DIR) }, () => {
  let compared = 0;
  for (const name of readdirSync(NODE_DIR)) {
    if (!/^test_attention_.*_expanded$/.test(name)) continue;
    const fused = join(NODE_DIR, name.replace(/_expanded$/, ''));
    const ds = join(NODE_DIR, name, 'test_data_set_0');
    if (!existsSync(fused) || !existsSync(ds)) continue;
    let a: Tensor[], b: Tensor[];
    try {
      const sA = createSession(new Uint8Array(readFileSync(join(fused, 'model.onnx'))));
      const sB = createSession(new Uint8Array(readFileSync(join(NODE_DIR, name, 'model.onnx'))));
      const feeds: Record<string, Tensor> = {};
      sA.inputs.forEach((v, i) => {
        const f = join(ds, `input_${i}.pb`);
        if (existsSync(f)) feeds[v.name] = decodeTensorProtoBytes(new Uint8Array(readFileSync(f)));
      });
      a = sA.run(feeds).outputList;
      b = sB.run(feeds).outputList;
    } catch (e) {
      if (e instanceof VerinferError && e.code.startsWith('UNSUPPORTED')) continue;
      throw e;
    }
    for (let i = 0; i < a.length; i++) {
      const x = new Uint8Array(a[i]!.data.buffer, a[i]!.data.byteOffset, a[i]!.data.byteLength);
      const y = new Uint8Array(b[i]!.data.buffer, b[i]!.data.byteOffset, b[i]!.data.byteLength);
      assert.deepEqual(x, y, `${name} output ${i}`);
    }
    compared++;
  }
  assert.ok(compared > 0);
});
