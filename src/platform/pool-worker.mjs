// Worker thread of the GEMM pool (src/platform/pool.ts). Plain JavaScript, so it loads
// without a TypeScript loader. It owns one instance of the engine's WebAssembly SIMD GEMM
// module (the same bytes, src/engine/wasm/gemm.wat) and computes the output rows
// [r0, r1) of C = A·B that the main thread assigns to it: A, B and C live in a
// SharedArrayBuffer, the control words in another. The rows are computed by the same
// kernel with the same per-element order (acc = +0; acc = f32(acc + f32(a*b)), k
// increasing), so the result bits do not depend on how rows are split.
//
// Control block of this worker (Int32 words at `base`): see pool.ts (CTL_*).
import { workerData, receiveMessageOnPort } from 'node:worker_threads';

const { bytes, ctlBuffer, base, port } = workerData;
const ctl = new Int32Array(ctlBuffer);
const SEQ = 0, DONE = 1, R0 = 2, R1 = 3, K_ = 4, N_ = 5, GEN = 6, CMD = 7, STATUS = 8, B_OFF = 9, C_OFF = 10, READY = 11;

let exports_;
try {
  exports_ = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
} catch {
  exports_ = undefined; // no WebAssembly SIMD: every job reports failure, the caller computes it
}
// started: from now on the caller's liveness timeout applies to this thread
Atomics.store(ctl, base + READY, 1);

const align16 = (n) => (n + 15) & ~15;
let data; // Float32Array over the current data SharedArrayBuffer
let gen = 0;

/** rows [r0, r1) of C = A·B; false when the job does not fit. */
function run(r0, r1, K, N, bOff, cOff) {
  if (!exports_) return false;
  const M = r1 - r0;
  const Np = (N + 7) & ~7;
  const bPtr = align16(M * K * 4);
  const cPtr = bPtr + align16(K * N * 4);
  const wsPtr = cPtr + M * Np * 4;
  const total = wsPtr + K * Np * 4 + 16 * K;
  if (total > 1024 * 1024 * 1024) return false;
  const mem = exports_.mem;
  const have = mem.buffer.byteLength;
  if (total > have) {
    try {
      mem.grow(Math.ceil((total - have) / 65536));
    } catch {
      return false;
    }
  }
  const v = new Float32Array(mem.buffer);
  v.set(data.subarray(r0 * K, r1 * K), 0);
  v.set(data.subarray(bOff, bOff + K * N), bPtr >> 2);
  exports_.gemm(0, bPtr, cPtr, M, K, N, wsPtr);
  const c4 = cPtr >> 2;
  const out = cOff + r0 * N;
  if (Np === N) data.set(v.subarray(c4, c4 + M * N), out);
  else for (let i = 0; i < M; i++) data.set(v.subarray(c4 + i * Np, c4 + i * Np + N), out + i * N);
  return true;
}

let last = 0;
for (;;) {
  Atomics.wait(ctl, base + SEQ, last);
  const seq = Atomics.load(ctl, base + SEQ);
  if (seq === last) continue;
  last = seq;
  if (Atomics.load(ctl, base + CMD) === 1) break;
  let ok = false;
  try {
    const g = Atomics.load(ctl, base + GEN);
    while (g !== gen) {
      // the main thread posted the new data buffer before publishing the job
      const m = receiveMessageOnPort(port);
      if (m) {
        gen = m.message.gen;
        data = new Float32Array(m.message.buffer);
      }
    }
    ok = run(ctl[base + R0], ctl[base + R1], ctl[base + K_], ctl[base + N_], ctl[base + B_OFF], ctl[base + C_OFF]);
  } catch {
    ok = false;
  }
  Atomics.store(ctl, base + STATUS, ok ? 0 : 1);
  Atomics.store(ctl, base + DONE, seq);
  Atomics.notify(ctl, base + DONE);
}
port.close();
