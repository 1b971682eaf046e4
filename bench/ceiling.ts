// What the canonical GEMM can reach on this machine: the engine's float32 MatMul
// (WebAssembly 128-bit SIMD, multiply then add, no FMA: the canonical order) on a
// block that stays in cache, in GFLOP/s. No engine MatMul can run faster than this,
// so `ortGflops / ceilingGflops` is the lowest engine/ORT ratio reachable on this
// machine with this kernel; onnxruntime uses the widest FMA the CPU has (AVX-512 on
// some hosts, AVX2 on others), which is why the ratio depends on the machine.
import { createSession } from '../src/engine/session.js';
import { buildModel } from '../src/onnx/build.js';
import { DType } from '../src/tensor/dtype.js';
import { randomTensor } from '../test/fixtures/models.js';

export interface Ceiling {
  shape: [number, number, number];
  ms: number;
  gflops: number;
}

export function gemmCeiling(M = 64, K = 256, N = 256): Ceiling {
  const bytes = buildModel({
    inputs: [{ name: 'a', dtype: DType.float32, shape: [M, K] }],
    outputs: [{ name: 'c', dtype: DType.float32, shape: [M, N] }],
    initializers: { b: randomTensor([K, N], 7) },
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
  });
  const session = createSession(bytes);
  const feeds = { a: randomTensor([M, K], 8) };
  for (let i = 0; i < 20; i++) session.run(feeds);
  // best of many batches of runs: the ceiling, not the typical time
  let best = Infinity;
  for (let r = 0; r < 30; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) session.run(feeds);
    best = Math.min(best, (performance.now() - t0) / 20);
  }
  return { shape: [M, K, N], ms: best, gflops: (2 * M * K * N) / (best * 1e6) };
}
