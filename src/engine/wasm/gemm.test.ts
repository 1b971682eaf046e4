// The packed-weight cache and the batched GEMM (gemm.ts) give exactly the bits of the
// reference float32 kernel (gemmF32Js in ../ops/matmul.ts), bit for bit, on random
// shapes with tile edges and special values, through cache hits, misses, evictions and
// compaction; the MatMul / Gemm kernels give the same bits with and without marked
// constants; and the `gemm` export keeps the layout src/platform/pool-worker.mjs uses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { rng, matmulModel, mlpModel, transformerModel } from '../../../test/fixtures/models.js';
import { smallModels } from '../../../test/fixtures/digests.js';
import { createSession } from '../session.js';
import { toHex } from '../../hash/sha256.js';
import { tensorListDigest } from '../../tensor/canonical.js';
import { makeCtx, sameBits32 } from '../../../test/fixtures/kernels.js';
import { gemmF32Js, gemmF32Wasm, ops, setGemmParallelism, getGemmParallelism } from '../ops/matmul.js';
import { PackedWeights, gemmF32BatchWasm, gemmModule, isConstant, markConstant, packedWeights } from './gemm.js';

/**
 * Canonical equality (DESIGN.md: every NaN is encoded as one quiet NaN): identical
 * bits for every non-NaN element, NaN exactly where the reference has NaN. NaN sign and
 * payload are unspecified in WebAssembly and already differ between the JS kernel and
 * the WebAssembly kernel of the previous release in rare cases (a NaN + NaN sum), so the
 * reference comparisons below use this; products from the same tiles are compared
 * with sameBits32 (NaN payloads included).
 */
function sameCanonical(actual: Float32Array, expected: Float32Array, what = ''): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  assert.equal(a.length, e.length, `${what} length`);
  for (let i = 0; i < e.length; i++) {
    const an = actual[i] !== actual[i], en = expected[i] !== expected[i];
    if (an !== en || (!en && a[i] !== e[i])) {
      assert.fail(`${what} element ${i}: got ${actual[i]} (0x${a[i]!.toString(16)}), expected ${expected[i]} (0x${e[i]!.toString(16)})`);
    }
  }
}

const sp = [1e-40, -1e-40, -0, 0, 3e38, -3e38, Infinity, -Infinity, NaN, 1.4e-45, 1e-20, 1e-25];

function rand(n: number, r: () => number, specials: number): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 8 - 4);
  for (let t = 0; t < Math.min(specials, n); t++) d[Math.floor(r() * n)] = sp[Math.floor(r() * sp.length)]!;
  return d;
}

/** The reference: gemmF32Js on row-major A (M x K) and B (K x N). */
function ref(A: Float32Array, aOff: number, B: Float32Array, bOff: number, M: number, K: number, N: number): Float32Array {
  const C = new Float32Array(M * N);
  gemmF32Js(A, aOff, B, bOff, C, 0, M, K, N);
  return C;
}

/** The same product through the `gemm` export (M x Np layout of the previous release's one-shot path). */
function refWasm(A: Float32Array, aOff: number, B: Float32Array, bOff: number, M: number, K: number, N: number): Float32Array {
  const Np = (N + 7) & ~7;
  const bPtr = (M * K * 4 + 15) & ~15, cPtr = bPtr + ((K * N * 4 + 15) & ~15), wsPtr = cPtr + M * Np * 4;
  const w = gemmModule.memory(wsPtr + K * Np * 4 + 16 * K)!;
  const v = new Float32Array(w.mem.buffer);
  v.set(A.subarray(aOff, aOff + M * K), 0);
  v.set(B.subarray(bOff, bOff + K * N), bPtr >> 2);
  w.gemm(0, bPtr, cPtr, M, K, N, wsPtr);
  const C = new Float32Array(M * N);
  for (let i = 0; i < M; i++) C.set(v.subarray((cPtr >> 2) + i * Np, (cPtr >> 2) + i * Np + N), i * N);
  return C;
}

/** got = A·B: canonically equal to the JS reference kernel, bit for bit (NaN payloads too) equal to the `gemm` export. */
function check(got: Float32Array, A: Float32Array, aOff: number, B: Float32Array, bOff: number, M: number, K: number, N: number, what = ''): void {
  sameCanonical(got, ref(A, aOff, B, bOff, M, K, N), `${what} vs gemmF32Js`);
  sameBits32(got, refWasm(A, aOff, B, bOff, M, K, N), `${what} vs gemm export`);
}

function transpose(B: Float32Array, bOff: number, K: number, N: number): Float32Array {
  // [K, N] at bOff -> [N, K] (bits kept through a Uint32Array view)
  const src = new Uint32Array(B.buffer, B.byteOffset, B.length);
  const t = new Float32Array(N * K);
  const dst = new Uint32Array(t.buffer);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) dst[n * K + k] = src[bOff + k * N + n]!;
  return t;
}

describe('PackedWeights: bit-exact with the reference kernel', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [3, 5, 7], [17, 33, 9], [4, 8, 4], [5, 4, 3], [9, 3, 13], [2, 70, 6], [33, 17, 65],
    [64, 64, 64], [127, 65, 33], [4, 1, 8], [8, 2, 16], [7, 9, 15], [5, 3, 17], [1, 300, 1], [6, 1, 9], [3, 0, 5], [64, 784, 10],
  ];
  for (const [M, K, N] of shapes) {
    it(`${M}x${K}x${N}, B as given and transposed, miss then hits`, () => {
      const r = rng(M * 131 + K * 17 + N);
      const pw = new PackedWeights();
      const B = rand(K * N + 5, r, 4);
      const Bt = transpose(B, 5, K, N);
      for (let rep = 0; rep < 3; rep++) {
        const A = rand(M * K + 3, r, rep === 2 ? 0 : 4);
        const C = new Float32Array(M * N + 4).fill(7);
        assert.ok(pw.gemm(A, 3, B, 5, false, C, 2, M, K, N));
        check(C.subarray(2, 2 + M * N), A, 3, B, 5, M, K, N, `plain rep ${rep}`);
        assert.ok(C[0] === 7 && C[1] === 7 && C[2 + M * N] === 7 && C[3 + M * N] === 7, 'nothing written outside C');
        const Ct = new Float32Array(M * N);
        assert.ok(pw.gemm(A, 3, Bt, 0, true, Ct, 0, M, K, N));
        check(Ct, A, 3, B, 5, M, K, N, `transposed rep ${rep}`);
      }
      assert.equal(pw.size, 2);
    });
  }

  it('80 random jobs over 12 shared weights under a tiny budget: evictions and compaction keep every result exact', () => {
    const r = rng(99);
    const pw = new PackedWeights(48 * 1024, 1 << 20);
    const weights = Array.from({ length: 12 }, () => {
      const K = 1 + Math.floor(r() * 60), N = 1 + Math.floor(r() * 40);
      return { K, N, B: rand(K * N, r, 2) };
    });
    let maxResident = 0;
    for (let t = 0; t < 80; t++) {
      const w = weights[Math.floor(r() * weights.length)]!;
      const M = 1 + Math.floor(r() * 30);
      const A = rand(M * w.K, r, t % 3);
      const C = new Float32Array(M * w.N);
      // odd t reads the same data as B transposed ([N, K]): a different matrix and entry
      assert.ok(pw.gemm(A, 0, w.B, 0, t % 2 === 1, C, 0, M, w.K, w.N));
      if (t % 2 === 1) check(C, A, 0, transpose(w.B, 0, w.N, w.K), 0, M, w.K, w.N, `job ${t}`);
      else check(C, A, 0, w.B, 0, M, w.K, w.N, `job ${t}`);
      maxResident = Math.max(maxResident, pw.residentBytes);
      assert.ok(pw.residentBytes <= pw.budget);
    }
    assert.ok(maxResident > 24 * 1024, 'the budget was actually exercised');
  });

  it('declines a matrix larger than the budget and a job larger than the scratch limit', () => {
    const pw = new PackedWeights(4096, 8192);
    const r = rng(5);
    const B = rand(64 * 64, r, 0); // 16 KiB packed > 4 KiB budget
    const C = new Float32Array(4 * 64);
    assert.equal(pw.gemm(rand(4 * 64, r, 0), 0, B, 0, false, C, 0, 4, 64, 64), false);
    assert.ok(C.every((v) => v === 0), 'nothing written when declined');
    const small = rand(8 * 8, r, 0);
    assert.equal(pw.gemm(rand(200 * 8, r, 0), 0, small, 0, false, new Float32Array(200 * 8), 0, 200, 8, 8), false);
    assert.equal(pw.size, 0);
  });

  it('one array used with different offsets and shapes gives separate entries', () => {
    const r = rng(8);
    const pw = new PackedWeights();
    const B = rand(400, r, 0);
    for (const [off, K, N] of [[0, 10, 20], [0, 20, 10], [100, 10, 20], [0, 10, 20]] as const) {
      const A = rand(6 * K, r, 0);
      const C = new Float32Array(6 * N);
      assert.ok(pw.gemm(A, 0, B, off, false, C, 0, 6, K, N));
      check(C, A, 0, B, off, 6, K, N);
    }
    assert.equal(pw.size, 3);
  });
});

describe('gemmF32BatchWasm: bit-exact per batch', () => {
  it('distinct and broadcast batches, tile edges, specials', () => {
    const r = rng(4242);
    for (let t = 0; t < 40; t++) {
      const M = 1 + Math.floor(r() * 20), K = Math.floor(r() * 40), N = 1 + Math.floor(r() * 20);
      const count = 1 + Math.floor(r() * 5);
      const nA = 1 + Math.floor(r() * 3), nB = 1 + Math.floor(r() * 3);
      const A = rand(nA * M * K, r, 3), B = rand(nB * K * N, r, 3);
      const aOffs = Array.from({ length: count }, () => Math.floor(r() * nA) * M * K);
      const bOffs = Array.from({ length: count }, (_, i) => (i % nB) * K * N);
      const C = new Float32Array(count * M * N);
      assert.ok(gemmF32BatchWasm(A, aOffs, B, bOffs, C, count, M, K, N));
      for (let b = 0; b < count; b++) {
        check(C.subarray(b * M * N, (b + 1) * M * N), A, aOffs[b]!, B, bOffs[b]!, M, K, N, `case ${t} batch ${b}`);
      }
    }
  });
});

describe('the gemm export keeps the layout of src/platform/pool-worker.mjs', () => {
  it('C is M x Np, every column written, real columns exact', () => {
    const r = rng(17);
    for (const [M, K, N] of [[5, 7, 13], [8, 16, 8], [3, 1, 1], [9, 33, 20]] as const) {
      const A = rand(M * K, r, 2), B = rand(K * N, r, 2);
      const Np = (N + 7) & ~7;
      const bPtr = ((M * K * 4 + 15) & ~15), cPtr = bPtr + ((K * N * 4 + 15) & ~15), wsPtr = cPtr + M * Np * 4;
      const w = gemmModule.memory(wsPtr + K * Np * 4 + 16 * K)!;
      const v = new Float32Array(w.mem.buffer);
      v.set(A, 0);
      v.set(B, bPtr >> 2);
      v.fill(12345, cPtr >> 2, (cPtr >> 2) + M * Np);
      w.gemm(0, bPtr, cPtr, M, K, N, wsPtr);
      const want = ref(A, 0, B, 0, M, K, N);
      for (let i = 0; i < M; i++) {
        sameCanonical(v.subarray((cPtr >> 2) + i * Np, (cPtr >> 2) + i * Np + N), want.subarray(i * N, (i + 1) * N), `row ${i}`);
        for (let j = N; j < Np; j++) assert.ok(v[(cPtr >> 2) + i * Np + j] !== 12345, 'padding columns are written');
      }
    }
  });
});

describe('MatMul and Gemm kernels: marked constants give the same bits', () => {
  const f32 = (shape: number[], d: Float32Array) => new Tensor(DType.float32, shape, d);
  it('MatMul with a constant B (2-D and batched A) against the unmarked run', () => {
    const r = rng(3);
    const cases: [number[], number[]][] = [[[64, 96], [96, 40]], [[2, 33, 50], [50, 17]], [[5, 70], [70]], [[1, 3, 9, 64], [64, 64]]];
    for (const [aShape, bShape] of cases) {
      const an = aShape.reduce((x, y) => x * y, 1), bn = bShape.reduce((x, y) => x * y, 1);
      const A = rand(an, r, 3), Bv = rand(bn, r, 3);
      const want = ops.MatMul!([f32([...aShape], A), f32([...bShape], Bv.slice())], makeCtx('MatMul'))[0]!;
      markConstant(Bv);
      assert.ok(isConstant(Bv));
      for (let rep = 0; rep < 2; rep++) {
        const got = ops.MatMul!([f32([...aShape], A), f32([...bShape], Bv)], makeCtx('MatMul'))[0]!;
        assert.deepEqual(got.shape, want.shape);
        sameBits32(got.data as Float32Array, want.data as Float32Array, `${aShape} x ${bShape} rep ${rep}`);
      }
    }
  });
  it('Gemm with a constant B, transB 0/1, transA, alpha/beta, bias broadcast', () => {
    const r = rng(4);
    for (const transB of [0, 1]) {
      for (const transA of [0, 1]) {
        const M = 37, K = 45, N = 19;
        const A = rand(M * K, r, 2), Bv = rand(K * N, r, 2), bias = rand(N, r, 1);
        const aT = f32(transA ? [K, M] : [M, K], A), bShape = transB ? [N, K] : [K, N];
        const attrs = { transA: { kind: 'int', value: transA }, transB: { kind: 'int', value: transB }, alpha: { kind: 'float', value: 0.75 } } as const;
        const want = ops.Gemm!([aT, f32(bShape, Bv.slice()), f32([N], bias)], makeCtx('Gemm', attrs))[0]!;
        markConstant(Bv);
        for (let rep = 0; rep < 2; rep++) {
          const got = ops.Gemm!([aT, f32(bShape, Bv), f32([N], bias)], makeCtx('Gemm', attrs))[0]!;
          sameBits32(got.data as Float32Array, want.data as Float32Array, `transA ${transA} transB ${transB} rep ${rep}`);
        }
      }
    }
  });
  it('batched MatMul (attention shapes, broadcast batches) against per-batch gemmF32Wasm', () => {
    const r = rng(6);
    const cases: [number[], number[]][] = [[[4, 32, 16], [4, 16, 32]], [[2, 1, 9, 21], [3, 21, 11]], [[3, 5, 7], [7, 1]]];
    for (const [aShape, bShape] of cases) {
      const an = aShape.reduce((x, y) => x * y, 1), bn = bShape.reduce((x, y) => x * y, 1);
      const A = rand(an, r, 2), Bv = rand(bn, r, 2);
      const got = ops.MatMul!([f32([...aShape], A), f32([...bShape], Bv)], makeCtx('MatMul'))[0]!;
      const M = aShape[aShape.length - 2]!, K = aShape[aShape.length - 1]!, N = bShape[bShape.length - 1]!;
      const nb = got.size / (M * N);
      // unbroadcast reference via the one-shot kernel
      const want = new Float32Array(got.size);
      const aB = aShape.slice(0, -2), bB = bShape.slice(0, -2), oB = got.shape.slice(0, -2);
      const pad = (s: readonly number[]) => [...Array(oB.length - s.length).fill(1), ...s];
      const pa = pad(aB), pb = pad(bB);
      for (let t = 0; t < nb; t++) {
        let rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
        for (let ax = oB.length - 1; ax >= 0; ax--) {
          const idx = rem % oB[ax]!;
          rem = Math.floor(rem / oB[ax]!);
          ia += (pa[ax] === 1 ? 0 : idx) * sa;
          ib += (pb[ax] === 1 ? 0 : idx) * sb;
          sa *= pa[ax]!;
          sb *= pb[ax]!;
        }
        const c = new Float32Array(M * N);
        assert.ok(gemmF32Wasm(A, ia * M * K, Bv, ib * K * N, c, 0, M, K, N));
        want.set(c, t * M * N);
      }
      sameBits32(got.data as Float32Array, want, `${aShape} x ${bShape}`);
    }
  });
  it('an installed parallel GEMM still gets the jobs it asks for', () => {
    const r = rng(10);
    const K = 64, N = 64, M = 64;
    const A = rand(M * K, r, 0), Bv = rand(K * N, r, 0);
    markConstant(Bv);
    let calls = 0;
    const before = getGemmParallelism();
    setGemmParallelism({ minWork: 1000, gemm: (...args) => { calls++; return gemmF32Wasm(...args); } });
    try {
      const got = ops.MatMul!([f32([M, K], A), f32([K, N], Bv)], makeCtx('MatMul'))[0]!;
      check(got.data as Float32Array, A, 0, Bv, 0, M, K, N);
      ops.MatMul!([f32([2, M, K], rand(2 * M * K, r, 0)), f32([2, K, N], rand(2 * K * N, r, 0))], makeCtx('MatMul'));
      assert.equal(calls, 3);
    } finally {
      setGemmParallelism(before);
    }
  });
  it('the engine-wide cache stays within its budget', () => {
    assert.ok(packedWeights.residentBytes <= packedWeights.budget);
  });
});

describe('Gemm float32: the fused WebAssembly scaling gives the bits of the JS reference path', () => {
  const f32 = (shape: number[], d: Float32Array) => new Tensor(DType.float32, shape, d);
  /** Runs Gemm with the plain TypeScript kernel and scaling loop (a parallel GEMM that is gemmF32Js takes every job). */
  function reference(inputs: Tensor[], attrs: Record<string, import('../../onnx/model.js').AttrValue>, opset: number): Tensor {
    const before = getGemmParallelism();
    setGemmParallelism({ minWork: 0, gemm: (A, aOff, B, bOff, C, cOff, M, K, N) => (gemmF32Js(A, aOff, B, bOff, C, cOff, M, K, N), true) });
    try {
      return ops.Gemm!(inputs, makeCtx('Gemm', attrs, opset))[0]!;
    } finally {
      setGemmParallelism(before);
    }
  }
  it('120 random configurations: shapes, transA/transB, alpha/beta, every C broadcast, specials; constant and fed B', () => {
    const r = rng(777);
    const alphas = [1, 0.75, -2, 0, 1e-30, 3];
    const betas = [1, 0.5, 0, -1, 7e-39];
    for (let t = 0; t < 120; t++) {
      const M = 1 + Math.floor(r() * 24), K = Math.floor(r() * 50), N = 1 + Math.floor(r() * 24);
      const transA = r() < 0.3 ? 1 : 0, transB = r() < 0.5 ? 1 : 0;
      const alpha = alphas[Math.floor(r() * alphas.length)]!, beta = betas[Math.floor(r() * betas.length)]!;
      const cShapes: (number[] | undefined)[] = [undefined, [N], [1, N], [M, 1], [M, N], [1], [], [1, 1]];
      const cShape = cShapes[Math.floor(r() * cShapes.length)];
      const specials = t % 3;
      const a = f32(transA ? [K, M] : [M, K], rand(M * K, r, specials));
      const bData = rand(K * N, r, specials);
      const c = cShape && f32(cShape, rand(cShape.reduce((x, y) => x * y, 1), r, specials + 1));
      const attrs = { transA: { kind: 'int', value: transA }, transB: { kind: 'int', value: transB }, alpha: { kind: 'float', value: alpha }, beta: { kind: 'float', value: beta } } as const;
      const inputs = (bd: Float32Array) => [a, f32(transB ? [N, K] : [K, N], bd), ...(c ? [c] : [])];
      const want = reference(inputs(bData), attrs, c ? 17 : 11);
      const fed = ops.Gemm!(inputs(bData), makeCtx('Gemm', attrs, c ? 17 : 11))[0]!;
      sameCanonical(fed.data as Float32Array, want.data as Float32Array, `case ${t} fed B (${M}x${K}x${N} tA${transA} tB${transB} a${alpha} b${beta} C[${cShape}])`);
      const constB = bData.slice();
      markConstant(constB);
      for (let rep = 0; rep < 2; rep++) {
        const got = ops.Gemm!(inputs(constB), makeCtx('Gemm', attrs, c ? 17 : 11))[0]!;
        sameCanonical(got.data as Float32Array, want.data as Float32Array, `case ${t} constant B rep ${rep}`);
        sameBits32(got.data as Float32Array, fed.data as Float32Array, `case ${t} constant vs fed B rep ${rep}`);
      }
    }
  });
});

describe('sessions with initializers marked constant (the diff proposed for session.ts)', () => {
  it('fixture models (golden sizes and bench sizes): same output digest and trace root as unmarked, on the first and the cached run', () => {
    for (const m of [...smallModels(), matmulModel(128), mlpModel(), transformerModel()]) {
      const digest = (r: ReturnType<ReturnType<typeof createSession>['run']>) => `${toHex(tensorListDigest(r.outputList))} ${toHex(r.trace!.root)}`;
      const want = digest(createSession(m.bytes).run(m.feeds, { trace: true }));
      const s = createSession(m.bytes);
      for (const t of s.model.graph.initializers.values()) markConstant(t.data);
      assert.equal(digest(s.run(m.feeds, { trace: true })), want, `${m.name} first run`);
      assert.equal(digest(s.run(m.feeds, { trace: true })), want, `${m.name} cached run`);
    }
    assert.ok(packedWeights.size > 0, 'the cache was used');
  });
});
