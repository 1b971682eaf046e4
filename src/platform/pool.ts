/**
 * Node.js worker-thread pool for the float32 GEMM (issue 7), installed behind the
 * engine's portable hook `setGemmParallelism` (src/engine/ops/matmul.ts), like
 * `setSha256Implementation` in ./node.ts. The engine stays synchronous and browser-safe;
 * only this file knows about worker_threads.
 *
 * Bit-exactness: the output rows of C = A·B are split into contiguous ranges, one per
 * worker; each worker computes its rows with the engine's own WebAssembly SIMD kernel
 * (the same module bytes), whose per-element order (acc = +0; acc = f32(acc + f32(a*b)),
 * k increasing) does not depend on which rows are computed together. So every element
 * has the bits of the single-thread path, for any worker count.
 *
 * Mechanics: A, B and C are copied through one SharedArrayBuffer (grown on demand; a new
 * buffer is handed to the workers over a MessagePort that they read synchronously). The
 * calling thread writes a job into each worker's control words, wakes it with
 * Atomics.notify, computes the first row range itself (straight into C), then blocks in
 * Atomics.wait until every worker is done (allowed on Node's main thread). Workers are unref()'d: they never keep the process alive.
 * If any worker declines (no WebAssembly SIMD, job too large), the call returns false
 * and the engine computes the product itself.
 *
 * Liveness: the caller waits for a worker at most `timeoutMs` + 4 x its own share's time
 * (Atomics.wait with a timeout). A worker that crashed or hangs past that breaks the
 * pool: the call and every later one return false (the engine computes on the calling
 * thread) and the workers are terminated. Never a hang, never a partial C: C is zeroed
 * again before any false return that follows the caller's share.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { setGemmParallelism, getGemmParallelism, gemmF32Wasm, type GemmParallelism } from '../engine/ops/matmul.js';
import { wasmBytes as gemmWasmBytes } from '../engine/wasm/gemm.wasm.js';

// Control words per worker (Int32), kept in sync with pool-worker.mjs.
const SEQ = 0, DONE = 1, R0 = 2, R1 = 3, K_ = 4, N_ = 5, GEN = 6, CMD = 7, STATUS = 8, B_OFF = 9, C_OFF = 10, READY = 11;
const STRIDE = 16; // words per worker (64 bytes: one cache line each)

/** Default threshold: below this many multiply-adds the single-thread path is used. */
export const DEFAULT_MIN_WORK = 1 << 22;

export interface GemmPoolOptions {
  /**
   * Number of threads that compute rows (>= 1), counting the calling thread: it computes
   * the first share itself while `workers - 1` worker threads compute the others.
   */
  workers: number;
  /** Only products of at least this many multiply-adds go to the pool (default 2^22: smaller jobs finish before a sleeping worker wakes). */
  minWork?: number;
  /** Liveness timeout in ms beyond 4 x the caller's own share time (default 2000); see above. */
  timeoutMs?: number;
  /** Most ms the first job waits for a worker thread to start (default 10000); a later start breaks the pool. */
  startTimeoutMs?: number;
}

const align4 = (n: number) => (n + 3) & ~3;

export class GemmPool implements GemmParallelism {
  readonly minWork: number;
  readonly size: number;
  readonly timeoutMs: number;
  readonly startTimeoutMs: number;
  /** Set when a worker missed its deadline: the pool declines every job from then on. */
  broken = false;
  private readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private data: Float32Array = new Float32Array(new SharedArrayBuffer(0));
  private gen = 0;
  private seq = 0;
  private closed = false;

  constructor(opts: GemmPoolOptions) {
    const n = Math.floor(opts.workers);
    if (!(n >= 1)) throw new RangeError(`GemmPool: workers must be >= 1, got ${opts.workers}`);
    this.size = n;
    this.minWork = opts.minWork ?? DEFAULT_MIN_WORK;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    this.ctl = new Int32Array(new SharedArrayBuffer(n * STRIDE * 4));
    const bytes = gemmWasmBytes();
    // worker w (1 .. n-1) uses control block w; block 0 (the caller's share) stays unused
    for (let w = 1; w < n; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL('./pool-worker.mjs', import.meta.url), {
        workerData: { bytes, ctlBuffer: this.ctl.buffer, base: w * STRIDE, port: port2 },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** C[cOff ..] = A·B over the pool (C zero-filled on entry); false: not computed. */
  gemm(
    A: Float32Array, aOff: number,
    B: Float32Array, bOff: number,
    C: Float32Array, cOff: number,
    M: number, K: number, N: number,
  ): boolean {
    if (this.closed || this.broken || this.size === 1) return false;
    if (M === 0 || N === 0 || K === 0) return false; // nothing to split: C stays +0
    const n = this.size;
    // contiguous row ranges, multiples of 4 rows (the kernel's tile height) where possible;
    // the caller computes rows [0, per) itself, worker w the rows [w*per, (w+1)*per)
    const per = Math.max(4, align4(Math.ceil(M / n)));
    if (per >= M) return false; // one share: the single-thread path
    const bAt = M * K;
    const cAt = bAt + K * N;
    const need = cAt + M * N;
    if (need * 4 > 1024 * 1024 * 1024) return false;
    if (need > this.data.length) {
      // grow (by at least 1.5x) and hand the new buffer to every worker
      const len = Math.max(need, Math.ceil(this.data.length * 1.5));
      this.data = new Float32Array(new SharedArrayBuffer(len * 4));
      this.gen++;
      for (const p of this.ports) p.postMessage({ gen: this.gen, buffer: this.data.buffer });
    }
    const d = this.data;
    d.set(A.subarray(aOff + per * K, aOff + M * K), per * K); // the workers' rows of A
    d.set(B.subarray(bOff, bOff + K * N), bAt);
    const seq = ++this.seq;
    const used: number[] = [];
    for (let w = 1, r0 = per; w < n && r0 < M; w++, r0 += per) {
      const b = w * STRIDE;
      const c = this.ctl;
      c[b + R0] = r0;
      c[b + R1] = Math.min(M, r0 + per);
      c[b + K_] = K;
      c[b + N_] = N;
      c[b + B_OFF] = bAt;
      c[b + C_OFF] = cAt;
      c[b + GEN] = this.gen;
      c[b + CMD] = 0;
      Atomics.store(c, b + SEQ, seq);
      Atomics.notify(c, b + SEQ);
      used.push(w);
    }
    // the caller's share, straight from and into the caller's arrays
    const t0 = performance.now();
    let ok = gemmF32Wasm(A, aOff, B, bOff, C, cOff, per, K, N);
    const deadline = performance.now() + this.timeoutMs + 4 * (performance.now() - t0);
    for (const w of used) {
      const b = w * STRIDE;
      for (;;) {
        const done = Atomics.load(this.ctl, b + DONE);
        if (done === seq) break;
        // a thread still starting up (the first jobs) gets the start timeout instead
        const starting = Atomics.load(this.ctl, b + READY) === 0;
        const left = (starting ? t0 + this.startTimeoutMs : deadline) - performance.now();
        if (left <= 0) {
          this.broken = true;
          break;
        }
        Atomics.wait(this.ctl, b + DONE, done, left);
      }
      if (this.broken) break;
      if (Atomics.load(this.ctl, b + STATUS) !== 0) ok = false;
    }
    if (this.broken) {
      // a dead or hung worker: stop them all; this and later jobs run on the caller
      void this.close();
      ok = false;
    }
    if (!ok) {
      C.fill(0, cOff, cOff + M * N); // "C zero-filled on entry" for the engine's own path
      return false;
    }
    C.set(d.subarray(cAt + per * N, cAt + M * N), cOff + per * N);
    return true;
  }

  /** Stops the workers (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const seq = ++this.seq;
    for (let w = 1; w < this.size; w++) {
      const b = w * STRIDE;
      Atomics.store(this.ctl, b + CMD, 1);
      Atomics.store(this.ctl, b + SEQ, seq);
      Atomics.notify(this.ctl, b + SEQ);
    }
    for (const p of this.ports) p.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

let installed: GemmPool | undefined;

/**
 * Starts a pool of `workers` threads and installs it as the engine's float32 GEMM
 * (replacing a previous pool, which is closed). `workers: 1` or less removes the pool:
 * the plain single-thread path.
 */
export async function installGemmPool(opts: GemmPoolOptions): Promise<GemmPool | undefined> {
  await closeGemmPool();
  if (!(opts.workers > 1)) return undefined;
  installed = new GemmPool(opts);
  setGemmParallelism(installed);
  return installed;
}

/** Removes and stops the installed pool, if any. */
export async function closeGemmPool(): Promise<void> {
  const p = installed;
  installed = undefined;
  if (p && getGemmParallelism() === p) setGemmParallelism(undefined);
  await p?.close();
}
