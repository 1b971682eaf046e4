import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrValue } from '../../onnx/model.js';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { rng } from '../../../test/fixtures/models.js';
import { flt, int, makeCtx, prod, sameTensor, sameValues, str, throwsCode } from '../../../test/fixtures/kernels.js';
import { gemmF32, gemmF32Js, gemmF32Wasm, ops } from './matmul.js';

const run = (op: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue> = {}, opset = 17): Tensor[] =>
  ops[op]!(inputs, makeCtx(op, attrs, opset));
function randF32(shape: number[], r: () => number): Tensor {
  const d = new Float32Array(prod(shape));
  // wide dynamic range so rounding actually happens at every step
  for (let i = 0; i < d.length; i++) d[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 8 - 4);
  return new Tensor(DType.float32, shape, d);
}
const f32t = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));

/**
 * Independent reference: numpy.matmul shapes, canonical order per element,
 * plain triple loop (j-i-k order on purpose: a different schedule from the kernel).
 */
function refMatmul(a: Tensor, b: Tensor): { shape: number[]; data: Float32Array } {
  const as = a.rank === 1 ? [1, a.shape[0]!] : [...a.shape];
  const bs = b.rank === 1 ? [b.shape[0]!, 1] : [...b.shape];
  const M = as[as.length - 2]!, K = as[as.length - 1]!, N = bs[bs.length - 1]!;
  const ab = as.slice(0, -2), bb = bs.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pa = [...Array(r - ab.length).fill(1), ...ab], pb = [...Array(r - bb.length).fill(1), ...bb];
  const ob = pa.map((d, i) => Math.max(d, pb[i]!));
  const nb = prod(ob);
  const out = new Float32Array(nb * M * N);
  const A = a.data as Float32Array, B = b.data as Float32Array;
  for (let t = 0; t < nb; t++) {
    // unravel t over ob, then ravel into a's and b's batch
    let rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let ax = r - 1; ax >= 0; ax--) {
      const idx = rem % ob[ax]!;
      rem = Math.floor(rem / ob[ax]!);
      ia += (pa[ax] === 1 ? 0 : idx) * sa;
      ib += (pb[ax] === 1 ? 0 : idx) * sb;
      sa *= pa[ax]!;
      sb *= pb[ax]!;
    }
    for (let j = 0; j < N; j++) {
      for (let i = 0; i < M; i++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc = Math.fround(acc + Math.fround(A[ia * M * K + i * K + k]! * B[ib * K * N + k * N + j]!));
        out[t * M * N + i * N + j] = acc;
      }
    }
  }
  const shape = [...ob];
  if (a.rank > 1) shape.push(M);
  if (b.rank > 1) shape.push(N);
  return { shape, data: out };
}

describe('MatMul float32: bit-exact against a plain canonical triple loop', () => {
  const cases: [number[], number[]][] = [
    [[1, 1], [1, 1]],
    [[3, 5], [5, 7]],
    [[17, 33], [33, 9]],
    [[4, 4], [4, 4]],
    [[8, 12], [12, 3]],
    [[9, 7], [7, 1]],
    [[2, 1, 3, 5], [1, 4, 5, 7]], // batch broadcast both ways
    [[3, 6, 5], [5, 2]], // shared B: collapsed fast path
    [[6, 5], [3, 5, 2]], // shared A
    [[2, 3, 6, 5], [3, 5, 4]],
    [[5], [5]], // 1-D x 1-D -> scalar
    [[5], [2, 5, 3]],
    [[2, 4, 5], [5]],
    [[1, 3], [3, 5]],
    [[13, 1], [1, 6]],
    [[64, 64], [64, 64]], // the WebAssembly path (above the dispatch threshold)
    [[127, 65], [65, 33]],
    [[3, 1, 37, 21], [2, 21, 19]], // batch broadcast on the WebAssembly path
    [[2, 9, 70], [70]],
  ];
  for (const [sa, sb] of cases) {
    it(`[${sa}] x [${sb}]`, () => {
      const r = rng(sa.length * 1000 + prod(sa) * 7 + prod(sb));
      const a = randF32(sa, r), b = randF32(sb, r);
      sameTensor(run('MatMul', [a, b])[0]!, refMatmul(a, b));
    });
  }
  it('a larger odd shape exercises every remainder path', () => {
    const r = rng(99);
    const a = randF32([2, 23, 61], r), b = randF32([61, 19], r);
    sameTensor(run('MatMul', [a, b])[0]!, refMatmul(a, b));
  });
  it('timing: 512x512x512 (logged, not asserted)', () => {
    const r = rng(5);
    const a = randF32([512, 512], r), b = randF32([512, 512], r);
    run('MatMul', [a, b]); // warm-up
    const t0 = performance.now();
    const y = run('MatMul', [a, b])[0]!;
    const ms = performance.now() - t0;
    console.log(`# MatMul 512x512x512 float32: ${ms.toFixed(1)} ms (${((2 * 512 ** 3) / ms / 1e6).toFixed(2)} GFLOP/s)`);
    // spot-check a few elements against the reference dot product
    const A = a.data as Float32Array, B = b.data as Float32Array;
    for (const [i, j] of [[0, 0], [511, 511], [123, 456]] as const) {
      let acc = 0;
      for (let k = 0; k < 512; k++) acc = Math.fround(acc + Math.fround(A[i * 512 + k]! * B[k * 512 + j]!));
      assert.ok(Object.is((y.data as Float32Array)[i * 512 + j], acc));
    }
  });
});

describe('float32 kernels: JS and WebAssembly SIMD give the canonical bits', () => {
  function refPlain(A: Float32Array, B: Float32Array, M: number, K: number, N: number): Float32Array {
    const C = new Float32Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = Math.fround(acc + Math.fround(A[i * K + k]! * B[k * N + j]!));
      C[i * N + j] = acc;
    }
    return C;
  }
  /** JS kernel, WebAssembly kernel and the dispatcher against the plain loop. */
  function checkAll(A: Float32Array, B: Float32Array, M: number, K: number, N: number) {
    const want = refPlain(A, B, M, K, N);
    const cj = new Float32Array(M * N);
    gemmF32Js(A, 0, B, 0, cj, 0, M, K, N);
    sameTensor(new Tensor(DType.float32, [M, N], cj), { shape: [M, N], data: want });
    const cw = new Float32Array(M * N);
    assert.ok(gemmF32Wasm(A, 0, B, 0, cw, 0, M, K, N), 'WebAssembly SIMD is available in Node 20');
    sameValues(cw, want, `wasm ${M}x${K}x${N}`);
    const cd = new Float32Array(M * N);
    gemmF32(A, 0, B, 0, cd, 0, M, K, N);
    sameValues(cd, want, `gemmF32 ${M}x${K}x${N}`);
  }
  const sp = [1e-40, -1e-40, -0, 0, 3e38, -3e38, Infinity, -Infinity, NaN, 1.4e-45, 1e-20, 1e-25];
  function withSpecials(M: number, K: number, N: number, r: () => number, count = 6) {
    const A = randF32([M, K], r).data as Float32Array;
    const B = randF32([K, N], r).data as Float32Array;
    for (let t = 0; t < Math.min(count, A.length); t++) A[Math.floor(r() * A.length)] = sp[Math.floor(r() * sp.length)]!;
    for (let t = 0; t < Math.min(count, B.length); t++) B[Math.floor(r() * B.length)] = sp[Math.floor(r() * sp.length)]!;
    return { A, B };
  }
  // tile edges of the WebAssembly kernel: rows in blocks of 4 (+ single rows), columns in panels of 8
  const shapes: [number, number, number][] = [
    [1, 1, 1], [3, 5, 7], [17, 33, 9], [4, 8, 4], [5, 4, 3], [9, 3, 13], [2, 70, 6], [33, 17, 65],
    [64, 64, 64], [127, 65, 33], [4, 1, 8], [8, 2, 16], [7, 9, 15], [5, 3, 17], [1, 300, 1], [6, 1, 9], [3, 0, 5], [0, 4, 3],
  ];
  for (const [M, K, N] of shapes) {
    it(`${M}x${K}x${N} with specials (subnormals, -0, Inf, NaN, overflow)`, () => {
      const r = rng(M * 31 + K * 7 + N);
      const { A, B } = withSpecials(M, K, N, r);
      checkAll(A, B, M, K, N);
    });
  }
  it('80 random shapes up to 40x70x40, with specials', () => {
    const r = rng(2024);
    for (let t = 0; t < 80; t++) {
      const M = 1 + Math.floor(r() * 40), K = Math.floor(r() * 70), N = 1 + Math.floor(r() * 40);
      const { A, B } = withSpecials(M, K, N, r, t % 4 === 0 ? 0 : 3);
      checkAll(A, B, M, K, N);
    }
  });
  it('sizes just below and above the dispatch threshold (512 multiply-adds)', () => {
    const r = rng(77);
    for (const [M, K, N] of [[7, 8, 9], [8, 8, 8], [1, 511, 1], [1, 512, 1], [2, 16, 16], [511, 1, 1]] as const) {
      const { A, B } = withSpecials(M, K, N, r, 2);
      checkAll(A, B, M, K, N);
    }
  });
  it('a dot product of only -0 products is +0 on the WebAssembly path too', () => {
    const M = 9, K = 5, N = 11;
    const A = new Float32Array(M * K).fill(-1), B = new Float32Array(K * N).fill(0);
    const C = new Float32Array(M * N);
    assert.ok(gemmF32Wasm(A, 0, B, 0, C, 0, M, K, N));
    assert.ok(C.every((v) => Object.is(v, 0)));
  });
  it('subnormal products and sums are kept (no flush to zero)', () => {
    const M = 5, K = 7, N = 9;
    const A = new Float32Array(M * K).fill(2 ** -70), B = new Float32Array(K * N).fill(2 ** -70);
    A[3] = 1.5e-45;
    B[10] = -1e-40;
    checkAll(A, B, M, K, N);
    const C = new Float32Array(M * N);
    gemmF32Wasm(A, 0, B, 0, C, 0, M, K, N);
    assert.ok(C[0]! > 0 && C[0]! < 2 ** -126, 'a subnormal result');
  });
  it('two jobs of different sizes in a row reuse the shared instance correctly', () => {
    const r = rng(31);
    const big = withSpecials(70, 90, 50, r, 0), small = withSpecials(3, 5, 7, r, 0);
    checkAll(big.A, big.B, 70, 90, 50);
    checkAll(small.A, small.B, 3, 5, 7);
    checkAll(big.A, big.B, 70, 90, 50);
  });
  it('offsets into larger buffers', () => {
    const r = rng(1234);
    const A = randF32([50], r).data as Float32Array, B = randF32([60], r).data as Float32Array;
    const want = refPlain(A.subarray(5, 5 + 12), B.subarray(7, 7 + 20), 3, 4, 5);
    for (const f of [gemmF32Js, gemmF32Wasm, gemmF32]) {
      const C = new Float32Array(40);
      f(A, 5, B, 7, C, 11, 3, 4, 5);
      sameTensor(new Tensor(DType.float32, [15], C.subarray(11, 26)), { shape: [15], data: want });
      assert.ok(C.subarray(0, 11).every((v) => v === 0) && C.subarray(26).every((v) => v === 0));
    }
  });
  it('timing: JS and WebAssembly kernels 512x512x512 (logged)', () => {
    const r = rng(6);
    const A = randF32([512, 512], r).data as Float32Array, B = randF32([512, 512], r).data as Float32Array;
    const C = new Float32Array(512 * 512);
    gemmF32Js(A, 0, B, 0, C, 0, 64, 512, 512); // warm-up
    C.fill(0);
    const t0 = performance.now();
    gemmF32Js(A, 0, B, 0, C, 0, 512, 512, 512);
    const ms = performance.now() - t0;
    console.log(`# gemmF32Js 512x512x512: ${ms.toFixed(1)} ms (${((2 * 512 ** 3) / ms / 1e6).toFixed(2)} GFLOP/s)`);
    const W = new Float32Array(512 * 512);
    gemmF32Wasm(A, 0, B, 0, W, 0, 512, 512, 512); // warm-up (tier-up to optimised code)
    const t1 = performance.now();
    gemmF32Wasm(A, 0, B, 0, W, 0, 512, 512, 512);
    const msW = performance.now() - t1;
    console.log(`# gemmF32Wasm 512x512x512: ${msW.toFixed(1)} ms (${((2 * 512 ** 3) / msW / 1e6).toFixed(2)} GFLOP/s)`);
    for (let i = 0; i < W.length; i++) if (!Object.is(W[i], C[i])) assert.fail(`element ${i} differs between JS and wasm`);
  });
});

describe('MatMul special values', () => {
  it('a dot product of only -0 products is +0 (acc starts at +0)', () => {
    const y = run('MatMul', [f32t([1, 2], [-1, 1]), f32t([2, 1], [0, -0])])[0]!;
    assert.ok(Object.is(y.data[0], 0));
    const y2 = run('MatMul', [f32t([3], [-0, -0, -0]), f32t([3], [1, 1, 1])])[0]!;
    assert.ok(Object.is(y2.data[0], 0));
  });
  it('K = 0 gives +0', () => {
    const y = run('MatMul', [f32t([2, 0], []), f32t([0, 3], [])])[0]!;
    assert.deepEqual([...y.shape], [2, 3]);
    for (const v of y.data) assert.ok(Object.is(v, 0));
  });
  it('empty M or N', () => {
    assert.deepEqual([...run('MatMul', [f32t([0, 3], []), randF32([3, 4], rng(1))])[0]!.shape], [0, 4]);
    assert.deepEqual([...run('MatMul', [randF32([2, 3], rng(1)), f32t([3, 0], [])])[0]!.shape], [2, 0]);
    assert.deepEqual([...run('MatMul', [f32t([0, 2, 3], []), randF32([3, 4], rng(1))])[0]!.shape], [0, 2, 4]);
  });
  it('NaN and Inf propagate', () => {
    const a = f32t([3, 2], [NaN, 1, Infinity, 0, Infinity, 1]);
    const b = f32t([2, 2], [1, 2, 3, -Infinity]);
    const y = run('MatMul', [a, b])[0]!.data as Float32Array;
    assert.ok(Number.isNaN(y[0]) && Number.isNaN(y[1])); // NaN row
    assert.equal(y[2], Infinity); // inf*1 + 0*3
    assert.ok(Number.isNaN(y[3])); // inf*2 + 0*(-inf) = NaN
    assert.equal(y[4], Infinity);
    assert.ok(Number.isNaN(y[5])); // inf*2 + 1*(-inf) = NaN
  });
  it('float32 overflow in a product is +-Inf, not a large double', () => {
    const y = run('MatMul', [f32t([1, 2], [3e38, -3e38]), f32t([2, 1], [10, 10])])[0]!;
    assert.ok(Number.isNaN(y.data[0])); // Inf + -Inf
    const y2 = run('MatMul', [f32t([1, 2], [3e38, 3e38]), f32t([2, 1], [1, 1])])[0]!;
    assert.equal(y2.data[0], Infinity); // 3e38 + 3e38 overflows in float32
  });
});

describe('MatMul other types and errors', () => {
  it('float64 follows the same order in doubles', () => {
    const r = rng(7);
    const A = Float64Array.from({ length: 15 }, () => r() - 0.5);
    const B = Float64Array.from({ length: 35 }, () => r() - 0.5);
    const y = run('MatMul', [new Tensor(DType.float64, [3, 5], A), new Tensor(DType.float64, [5, 7], B)])[0]!;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 7; j++) {
      let acc = 0;
      for (let k = 0; k < 5; k++) acc = acc + A[i * 5 + k]! * B[k * 7 + j]!;
      assert.ok(Object.is(y.data[i * 7 + j], acc));
    }
  });
  it('int32 wraps modulo 2^32', () => {
    const a = new Tensor(DType.int32, [1, 2], Int32Array.from([65536, 2147483647]));
    const b = new Tensor(DType.int32, [2, 1], Int32Array.from([65536, 2]));
    // 2^32 + 2*(2^31-1) = 2^33 - 2 -> wraps to -2
    assert.deepEqual([...run('MatMul', [a, b])[0]!.data], [-2]);
  });
  it('uint32 wraps modulo 2^32', () => {
    const a = new Tensor(DType.uint32, [1, 2], Uint32Array.from([4294967295, 3]));
    const b = new Tensor(DType.uint32, [2, 1], Uint32Array.from([2, 1]));
    assert.deepEqual([...run('MatMul', [a, b])[0]!.data], [1]); // 2^33 - 2 + 3 mod 2^32
  });
  it('int64 is exact and wraps modulo 2^64', () => {
    const a = new Tensor(DType.int64, [1, 2], BigInt64Array.from([2n ** 40n, 2n ** 62n]));
    const b = new Tensor(DType.int64, [2, 1], BigInt64Array.from([2n ** 20n + 1n, 4n]));
    assert.deepEqual([...run('MatMul', [a, b])[0]!.data], [2n ** 60n + 2n ** 40n]); // 2^64 wraps to 0
  });
  it('float16 is UNSUPPORTED_FEATURE, int8 is INVALID_ARGUMENT', () => {
    const h = new Tensor(DType.float16, [1, 1], Uint16Array.from([0x3c00]));
    throwsCode(() => run('MatMul', [h, h]), 'UNSUPPORTED_FEATURE');
    const i8 = new Tensor(DType.int8, [1, 1], Int8Array.from([1]));
    throwsCode(() => run('MatMul', [i8, i8]), 'INVALID_ARGUMENT');
  });
  it('shape errors are INVALID_ARGUMENT', () => {
    const r = rng(3);
    throwsCode(() => run('MatMul', [randF32([2, 3], r), randF32([4, 2], r)]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMul', [randF32([2, 2, 3], r), randF32([3, 3, 2], r)]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMul', [f32t([], [1]), randF32([1, 2], r)]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMul', [randF32([2, 3], r), new Tensor(DType.float64, [3, 2], new Float64Array(6))]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMul', [randF32([2, 3], r), undefined]), 'INVALID_ARGUMENT');
  });
});

/** Gemm reference: y = f32(f32(alpha*acc) + f32(beta*c)), straightforward indexing. */
function refGemm(a: Tensor, b: Tensor, c: Tensor | undefined, alpha: number, beta: number, tA: boolean, tB: boolean) {
  const M = tA ? a.shape[1]! : a.shape[0]!, K = tA ? a.shape[0]! : a.shape[1]!;
  const N = tB ? b.shape[0]! : b.shape[1]!;
  const A = a.data as Float32Array, B = b.data as Float32Array;
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let acc = 0;
    for (let k = 0; k < K; k++) {
      const av = tA ? A[k * M + i]! : A[i * K + k]!;
      const bv = tB ? B[j * K + k]! : B[k * N + j]!;
      acc = Math.fround(acc + Math.fround(av * bv));
    }
    let y = Math.fround(alpha * acc);
    if (c) {
      const cs = c.shape;
      const ci = cs.length === 0 ? 0 : cs.length === 1 ? (cs[0] === 1 ? 0 : j) : (cs[0] === 1 ? 0 : i) * cs[1]! + (cs[1] === 1 ? 0 : j);
      y = Math.fround(y + Math.fround(beta * (c.data as Float32Array)[ci]!));
    }
    out[i * N + j] = y;
  }
  return { shape: [M, N], data: out };
}

describe('Gemm', () => {
  const M = 7, K = 9, N = 5;
  for (const tA of [false, true]) for (const tB of [false, true]) {
    for (const cShape of [undefined, [], [1], [N], [1, N], [M, 1], [M, N], [1, 1]]) {
      it(`transA=${+tA} transB=${+tB} C=${cShape ? `[${cShape}]` : 'none'} is bit-exact`, () => {
        const r = rng(31 + +tA * 2 + +tB + (cShape?.length ?? 9) * 5 + prod(cShape ?? [0]));
        const a = randF32(tA ? [K, M] : [M, K], r), b = randF32(tB ? [N, K] : [K, N], r);
        const c = cShape ? randF32(cShape, r) : undefined;
        const alpha = Math.fround(0.3), beta = Math.fround(-1.7);
        const y = run('Gemm', [a, b, c], { alpha: flt(alpha), beta: flt(beta), transA: int(+tA), transB: int(+tB) })[0]!;
        sameTensor(y, refGemm(a, b, c, alpha, beta, tA, tB));
      });
    }
  }
  it('larger transB case (the PyTorch Linear layout) is bit-exact', () => {
    const r = rng(77);
    const a = randF32([10, 37], r), b = randF32([21, 37], r), c = randF32([21], r);
    const y = run('Gemm', [a, b, c], { transB: int(1) })[0]!;
    sameTensor(y, refGemm(a, b, c, 1, 1, false, true));
  });
  it('alpha/beta always applied: beta = 0 with a NaN in C gives NaN; -0 acc with +0 bias', () => {
    const a = f32t([1, 1], [1]), b = f32t([1, 1], [2]);
    const y = run('Gemm', [a, b, f32t([1], [NaN])], { beta: flt(0) })[0]!;
    assert.ok(Number.isNaN(y.data[0]));
    const y2 = run('Gemm', [f32t([1, 1], [-1]), f32t([1, 1], [0]), f32t([1], [-0])], {})[0]!;
    assert.ok(Object.is(y2.data[0], 0)); // acc = +0 + -0 = +0; +0 + -0 = +0
    const y3 = run('Gemm', [f32t([1, 1], [1]), f32t([1, 1], [1]), f32t([1], [0])], { alpha: flt(-0) })[0]!;
    assert.ok(Object.is(y3.data[0], 0)); // f32(-0*1) = -0, + f32(1*0) = +0
  });
  it('C is required before opset 11, optional from 11', () => {
    const a = f32t([1, 1], [1]);
    throwsCode(() => run('Gemm', [a, a], {}, 9), 'INVALID_ARGUMENT');
    assert.deepEqual([...run('Gemm', [a, a], {}, 11)[0]!.data], [1]);
  });
  it('opset 6: broadcast=0 requires a full C, broadcast=1 broadcasts', () => {
    const r = rng(8);
    const a = randF32([2, 3], r), b = randF32([3, 4], r), c = randF32([4], r);
    throwsCode(() => run('Gemm', [a, b, c], {}, 6), 'INVALID_ARGUMENT');
    sameTensor(run('Gemm', [a, b, c], { broadcast: int(1) }, 6)[0]!, refGemm(a, b, c, 1, 1, false, false));
    const cFull = randF32([2, 4], r);
    sameTensor(run('Gemm', [a, b, cFull], {}, 6)[0]!, refGemm(a, b, cFull, 1, 1, false, false));
  });
  it('float64 and integer Gemm', () => {
    const a = new Tensor(DType.float64, [1, 2], Float64Array.from([0.1, 0.2]));
    const b = new Tensor(DType.float64, [2, 1], Float64Array.from([0.3, 0.4]));
    const c = new Tensor(DType.float64, [1], Float64Array.from([0.5]));
    const y = run('Gemm', [a, b, c], { alpha: flt(2), beta: flt(3) })[0]!;
    assert.ok(Object.is(y.data[0], 2 * (0.1 * 0.3 + 0.2 * 0.4) + 3 * 0.5));
    const ai = new Tensor(DType.int32, [1, 2], Int32Array.from([2147483647, 1]));
    const bi = new Tensor(DType.int32, [2, 1], Int32Array.from([1, 1]));
    const ci = new Tensor(DType.int32, [1, 1], Int32Array.from([5]));
    assert.deepEqual([...run('Gemm', [ai, bi, ci], {})[0]!.data], [-2147483648 + 5]);
    throwsCode(() => run('Gemm', [ai, bi, ci], { alpha: flt(0.5) }), 'UNSUPPORTED_FEATURE');
  });
  it('invalid inputs', () => {
    const r = rng(4);
    throwsCode(() => run('Gemm', [randF32([2, 3], r), randF32([4, 5], r)]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Gemm', [randF32([2, 3], r), randF32([3, 4], r), randF32([3], r)]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Gemm', [randF32([2, 3], r), randF32([3, 4], r), randF32([2, 4, 1], r)]), 'INVALID_ARGUMENT');
    throwsCode(() => run('Gemm', [randF32([2, 3, 1], r), randF32([3, 4], r)]), 'INVALID_ARGUMENT');
  });
});

describe('Einsum', () => {
  const r = rng(11);
  it('"ij,jk->ik" equals MatMul bit for bit (same canonical order)', () => {
    const a = randF32([7, 13], r), b = randF32([13, 6], r);
    sameTensor(run('Einsum', [a, b], { equation: str('ij,jk->ik') })[0]!, refMatmul(a, b));
    sameTensor(run('Einsum', [a, b], { equation: str('ij,jk') })[0]!, refMatmul(a, b)); // implicit
  });
  it('batched with ellipsis broadcast equals MatMul', () => {
    const a = randF32([2, 1, 3, 5], r), b = randF32([4, 5, 2], r);
    sameTensor(run('Einsum', [a, b], { equation: str('...ij,...jk->...ik') })[0]!, refMatmul(a, b));
    sameTensor(run('Einsum', [a, b], { equation: str('...ij, ...jk') })[0]!, refMatmul(a, b));
  });
  it('attention-style "bhqd,bhkd->bhqk"', () => {
    const q = randF32([2, 3, 4, 5], r), k = randF32([2, 3, 6, 5], r);
    const y = run('Einsum', [q, k], { equation: str('bhqd,bhkd->bhqk') })[0]!;
    assert.deepEqual([...y.shape], [2, 3, 4, 6]);
    const Q = q.data as Float32Array, Kd = k.data as Float32Array;
    for (let bh = 0; bh < 6; bh++) for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) {
      let acc = 0;
      for (let d = 0; d < 5; d++) acc = Math.fround(acc + Math.fround(Q[bh * 20 + i * 5 + d]! * Kd[bh * 30 + j * 5 + d]!));
      assert.ok(Object.is(y.data[bh * 24 + i * 6 + j], acc));
    }
  });
  it('summed labels run row-major in order of first appearance', () => {
    // "ij->" sums i then j: the order is x[0,0], x[0,1], x[1,0], x[1,1] (row-major)
    const x = f32t([2, 2], [1, 2 ** -24, -1, 2 ** -24]);
    // row-major: ((1 + 2^-24) rounds to 1) + -1 = 0, + 2^-24 = 2^-24
    assert.equal(run('Einsum', [x], { equation: str('ij->') })[0]!.data[0], 2 ** -24);
    // "j,ij->": j appears first, so j is the outer summed label: x[0,0], x[1,0], x[0,1], x[1,1]
    // (times ones) = ((1 + -1) + 2^-24) + 2^-24 = 2^-23
    const ones = f32t([2], [1, 1]);
    assert.equal(run('Einsum', [ones, x], { equation: str('j,ij->') })[0]!.data[0], 2 ** -23);
    assert.equal(run('Einsum', [x, ones], { equation: str('ij,j->') })[0]!.data[0], 2 ** -24);
  });
  it('three operands: product left to right, rounded after each multiply', () => {
    const a = f32t([1], [1 + 2 ** -23]), b = f32t([1], [1 + 2 ** -23]), c = f32t([1], [1 - 2 ** -24]);
    const y = run('Einsum', [a, b, c], { equation: str('i,i,i->') })[0]!;
    const want = Math.fround(Math.fround(Math.fround((1 + 2 ** -23) * (1 + 2 ** -23)) * (1 - 2 ** -24)) + 0);
    assert.ok(Object.is(y.data[0], want));
  });
  it('diagonal, trace, transpose (implicit output is alphabetical)', () => {
    const x = f32t([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...run('Einsum', [x], { equation: str('ii->i') })[0]!.data], [1, 5, 9]);
    assert.deepEqual([...run('Einsum', [x], { equation: str('ii') })[0]!.data], [15]);
    const t = run('Einsum', [x], { equation: str('ba') })[0]!;
    assert.deepEqual([...t.data], [1, 4, 7, 2, 5, 8, 3, 6, 9]);
    const b = randF32([2, 4, 4], r);
    const d = run('Einsum', [b], { equation: str('...ii->...i') })[0]!;
    assert.deepEqual([...d.shape], [2, 4]);
    assert.equal(d.data[5], b.data[16 + 1 * 4 + 1]);
  });
  it('no summed labels: the value itself (-0 stays -0); summed: acc from +0', () => {
    const x = f32t([2], [-0, 1]);
    assert.ok(Object.is(run('Einsum', [x], { equation: str('i->i') })[0]!.data[0], -0));
    assert.ok(Object.is(run('Einsum', [f32t([2], [-0, -0])], { equation: str('i->') })[0]!.data[0], 0));
    assert.ok(Object.is(run('Einsum', [f32t([], [-0])], { equation: str('->') })[0]!.data[0], -0));
  });
  it('outer product and ellipsis dims absent from the output are summed', () => {
    const y = run('Einsum', [f32t([2], [1, 2]), f32t([3], [3, 4, 5])], { equation: str('i,j->ij') })[0]!;
    assert.deepEqual([...y.data], [3, 4, 5, 6, 8, 10]);
    const s = run('Einsum', [f32t([2, 3], [1, 2, 3, 4, 5, 6])], { equation: str('...i->i') })[0]!;
    assert.deepEqual([...s.data], [5, 7, 9]);
  });
  it('integer einsum wraps; float64 works', () => {
    const a = new Tensor(DType.int32, [2], Int32Array.from([2147483647, 1]));
    assert.deepEqual([...run('Einsum', [a, a], { equation: str('i,i->') })[0]!.data], [2]); // (2^31-1)^2 + 1 mod 2^32
    const b = new Tensor(DType.int64, [2], BigInt64Array.from([3n, 4n]));
    assert.deepEqual([...run('Einsum', [b, b], { equation: str('i,i') })[0]!.data], [25n]);
    const c = new Tensor(DType.float64, [2], Float64Array.from([0.1, 0.2]));
    assert.ok(Object.is(run('Einsum', [c, c], { equation: str('i,i') })[0]!.data[0], 0.1 * 0.1 + 0.2 * 0.2));
  });
  it('invalid equations are INVALID_ARGUMENT', () => {
    const x = randF32([2, 3], r);
    for (const eq of ['ij->k', 'ijk->i', 'i->i', 'ij,jk->ik', 'i1->i', 'ij->ii', '......ij', 'ij->i->j']) {
      throwsCode(() => run('Einsum', [x], { equation: str(eq) }), 'INVALID_ARGUMENT');
    }
    throwsCode(() => run('Einsum', [x, randF32([4, 2], r)], { equation: str('ij,jk->ik') }), 'INVALID_ARGUMENT');
    throwsCode(() => run('Einsum', [x], {}), 'INVALID_ARGUMENT');
  });
});

describe('MatMulInteger', () => {
  function ref(A: number[], B: number[], M: number, K: number, N: number, za: (i: number) => number, zb: (j: number) => number) {
    const out: number[] = [];
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (A[i * K + k]! - za(i)) * (B[k * N + j]! - zb(j));
      out.push(s);
    }
    return out;
  }
  const r = rng(21);
  const M = 5, K = 7, N = 3;
  const Au = Array.from({ length: M * K }, () => Math.floor(r() * 256));
  const Bi = Array.from({ length: K * N }, () => Math.floor(r() * 256) - 128);
  const a = new Tensor(DType.uint8, [M, K], Uint8Array.from(Au));
  const b = new Tensor(DType.int8, [K, N], Int8Array.from(Bi));
  it('no zero points; uint8 x int8', () => {
    const y = run('MatMulInteger', [a, b])[0]!;
    assert.equal(y.dtype, DType.int32);
    assert.deepEqual([...y.data], ref(Au, Bi, M, K, N, () => 0, () => 0));
  });
  it('scalar zero points', () => {
    const za = new Tensor(DType.uint8, [], Uint8Array.from([128]));
    const zb = new Tensor(DType.int8, [1], Int8Array.from([-3]));
    assert.deepEqual([...run('MatMulInteger', [a, b, za, zb])[0]!.data], ref(Au, Bi, M, K, N, () => 128, () => -3));
  });
  it('per-row a zero point ([M]) and per-column b zero point ([N])', () => {
    const zaV = [1, 2, 3, 4, 250], zbV = [-128, 0, 127];
    const za = new Tensor(DType.uint8, [M], Uint8Array.from(zaV));
    const zb = new Tensor(DType.int8, [N], Int8Array.from(zbV));
    assert.deepEqual([...run('MatMulInteger', [a, b, za, zb])[0]!.data], ref(Au, Bi, M, K, N, (i) => zaV[i]!, (j) => zbV[j]!));
    const za2 = new Tensor(DType.uint8, [M, 1], Uint8Array.from(zaV));
    assert.deepEqual([...run('MatMulInteger', [a, b, za2, zb])[0]!.data], ref(Au, Bi, M, K, N, (i) => zaV[i]!, (j) => zbV[j]!));
  });
  it('batched', () => {
    const a3 = new Tensor(DType.uint8, [2, 1, 2], Uint8Array.from([1, 2, 3, 4]));
    const b2 = new Tensor(DType.uint8, [2, 1], Uint8Array.from([5, 6]));
    assert.deepEqual([...run('MatMulInteger', [a3, b2])[0]!.data], [17, 39]);
  });
  it('errors', () => {
    throwsCode(() => run('MatMulInteger', [a, b, new Tensor(DType.int8, [], Int8Array.from([1]))]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMulInteger', [a, b, new Tensor(DType.uint8, [4], new Uint8Array(4))]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMulInteger', [a, new Tensor(DType.int32, [7, 1], new Int32Array(7))]), 'INVALID_ARGUMENT');
    throwsCode(() => run('MatMulInteger', [a, new Tensor(DType.uint8, [6, 1], new Uint8Array(6))]), 'INVALID_ARGUMENT');
  });
});
