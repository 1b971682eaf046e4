import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { GemmPool, installGemmPool, closeGemmPool } from './pool.js';
import { gemmF32, gemmF32Js, setGemmParallelism, getGemmParallelism } from '../engine/ops/matmul.js';
import { fixtureDigests } from '../../test/fixtures/digests.js';

const pools = new Map<number, GemmPool>();
const pool = (n: number) => {
  let p = pools.get(n);
  if (!p) pools.set(n, (p = new GemmPool({ workers: n, minWork: 1 })));
  return p;
};
after(async () => {
  setGemmParallelism(undefined);
  for (const p of pools.values()) await p.close();
  await closeGemmPool();
});

let seed = 12345;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.1754942e-38];

function randomMatrix(n: number, special: boolean): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = special && rnd() < 0.05 ? SPECIAL[Math.floor(rnd() * SPECIAL.length)]! : (rnd() - 0.5) * 4;
  return a;
}

/** Bits with every NaN collapsed (as canonical tensor encoding does). */
const bits = (c: Float32Array) => Array.from(new Uint32Array(Float32Array.from(c, (x) => (Number.isNaN(x) ? NaN : x)).buffer));

test('GEMM through pools of 1, 2 and 4 workers is bit-identical to the single-thread path', () => {
  const shapes: [number, number, number][] = [
    [1, 7, 9], [2, 13, 5], [3, 1, 17], [5, 0, 3], [7, 33, 1], [9, 17, 23], [13, 64, 31], [33, 29, 47], [61, 101, 19], [130, 67, 9],
  ];
  for (const [M, K, N] of shapes) {
    for (const special of [false, true]) {
      // offsets into larger buffers, as batched MatMul and Conv use them
      const A = randomMatrix(3 + M * K, special);
      const B = randomMatrix(5 + K * N, special);
      const ref = new Float32Array(2 + M * N);
      setGemmParallelism(undefined);
      gemmF32(A, 3, B, 5, ref, 2, M, K, N);
      const js = new Float32Array(2 + M * N);
      gemmF32Js(A, 3, B, 5, js, 2, M, K, N);
      assert.deepEqual(bits(js), bits(ref), `js vs wasm ${M}x${K}x${N}`);
      for (const n of [1, 2, 4]) {
        const C = new Float32Array(2 + M * N);
        const p = pool(n);
        const took = p.gemm(A, 3, B, 5, C, 2, M, K, N);
        assert.equal(took, K > 0 && n > 1 && M > Math.max(4, (Math.ceil(M / n) + 3) & ~3), `pool ${n} takes ${M}x${K}x${N}`);
        if (took) assert.deepEqual(bits(C), bits(ref), `pool ${n} ${M}x${K}x${N} special=${special}`);
        // and through the engine's hook
        setGemmParallelism(p);
        const D = new Float32Array(2 + M * N);
        gemmF32(A, 3, B, 5, D, 2, M, K, N);
        setGemmParallelism(undefined);
        assert.deepEqual(bits(D), bits(ref), `hook ${n} ${M}x${K}x${N}`);
      }
    }
  }
});

test('a pool reuses and grows its shared buffer across jobs of different sizes', () => {
  const p = pool(2);
  for (const [M, K, N] of [[200, 150, 90], [8, 8, 8], [300, 257, 129], [4, 3, 2]] as const) {
    const A = randomMatrix(M * K, false);
    const B = randomMatrix(K * N, false);
    const ref = new Float32Array(M * N);
    gemmF32(A, 0, B, 0, ref, 0, M, K, N);
    const C = new Float32Array(M * N);
    const took = p.gemm(A, 0, B, 0, C, 0, M, K, N);
    assert.equal(took, M > 4);
    if (took) assert.deepEqual(bits(C), bits(ref));
  }
});

test('determinism across 1, 2 and 4 workers: fixture models give identical output digests and trace roots', async () => {
  setGemmParallelism(undefined);
  const base = fixtureDigests();
  for (const n of [1, 2, 4]) {
    setGemmParallelism(pool(n));
    assert.deepEqual(fixtureDigests(), base, `${n} workers`);
  }
  setGemmParallelism(undefined);
  // the installer: workers > 1 installs a pool, workers 1 removes it
  const p = await installGemmPool({ workers: 2, minWork: 1 });
  assert.ok(p && getGemmParallelism() === p);
  assert.deepEqual(fixtureDigests(), base);
  assert.equal(await installGemmPool({ workers: 1 }), undefined);
  assert.equal(getGemmParallelism(), undefined);
  await closeGemmPool();
});

test('liveness: a dead worker breaks the pool after the timeout; the engine computes on the caller, same bits', async () => {
  const p = new GemmPool({ workers: 3, minWork: 1, timeoutMs: 100 });
  const [M, K, N] = [64, 48, 40];
  const A = randomMatrix(M * K, true);
  const B = randomMatrix(K * N, true);
  const ref = new Float32Array(M * N);
  gemmF32(A, 0, B, 0, ref, 0, M, K, N);
  const C = new Float32Array(M * N);
  assert.equal(p.gemm(A, 0, B, 0, C, 0, M, K, N), true);
  assert.deepEqual(bits(C), bits(ref));
  // worker 2 dies: the next job waits at most ~timeoutMs, declines with C zeroed, and the pool stays broken
  await (p as unknown as { workers: { terminate(): Promise<number> }[] }).workers[1]!.terminate();
  const D = new Float32Array(M * N).fill(0);
  const t0 = performance.now();
  assert.equal(p.gemm(A, 0, B, 0, D, 0, M, K, N), false);
  assert.ok(performance.now() - t0 < 3000);
  assert.ok(p.broken);
  assert.ok(D.every((x) => Object.is(x, 0)), 'C is zero-filled again');
  setGemmParallelism(p);
  const E = new Float32Array(M * N);
  gemmF32(A, 0, B, 0, E, 0, M, K, N);
  setGemmParallelism(undefined);
  assert.deepEqual(bits(E), bits(ref));
  await p.close();
});
