/**
 * Node.js side of the batch-parallel session pool (src/engine/parallel/pool.ts): worker
 * threads adapted to the pool's `Endpoint`. The pool logic and the worker body are the
 * browser-safe engine code; only this file and ./session-worker.mjs know worker_threads.
 *
 *   const pool = await createSessionPool(modelBytes, { workers: 2 });
 *   const { outputs } = await pool.run(feeds); // bit-identical to createSession(modelBytes).run(feeds)
 *   await pool.close();
 *
 * Workers are unref()'d: an idle pool never keeps the process alive (a run in flight
 * does, through its liveness timer). By default slices go through shared memory
 * (src/engine/parallel/shared.ts): each worker thread serves jobs in a blocking loop
 * (spin up to `spinMs`, then Atomics.wait) and the calling thread runs synchronously.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { SessionPool, type Endpoint, type SessionPoolOptions } from '../engine/parallel/pool.js';
import { CONTROL_BYTES, SharedSlot } from '../engine/parallel/shared.js';

export { SessionPool, type SessionPoolOptions } from '../engine/parallel/pool.js';

/**
 * A worker_threads Worker as a pool endpoint. The worker is unref()'d after every
 * listener is attached (attaching a 'message' listener refs it again).
 */
export function nodeWorkerEndpoint(worker: Worker, replies?: MessagePort, shared?: SharedSlot): Endpoint {
  return {
    shared,
    postMessage: (msg, transfer) => worker.postMessage(msg, transfer),
    onMessage: (listener) => {
      worker.on('message', listener);
      worker.unref();
      if (replies) {
        replies.on('message', listener);
        replies.unref();
      }
    },
    // answers come over `replies` when given (spawnSessionWorker): they can be taken synchronously
    poll: replies && (() => receiveMessageOnPort(replies)?.message),
    onFailure: (listener) => {
      worker.on('error', (e) => listener(`worker error: ${(e as Error)?.message ?? String(e)}`));
      worker.on('messageerror', () => listener('message could not be deserialised'));
      worker.on('exit', (code) => listener(`worker exited with code ${code}`));
      worker.unref();
    },
    terminate: () => {
      shared?.quit(); // out of its blocking job loop first
      return worker.terminate();
    },
  };
}

/**
 * Default spin (ms) of the shared-memory path, on both sides: a worker spins this long
 * for its next job after each one, the caller this long for a running worker's answer,
 * before either blocks in Atomics.wait. Measured on a 2-vCPU VM (bench CNN, batch 8,
 * 0.72 ms single-threaded): back-to-back runs find the worker awake (a wake-up from
 * Atomics.wait costs ~0.08 ms there), and the caller's wait after its own slice is
 * normally a few us. Bounded, so a loaded machine loses at most this much CPU per run
 * and job (long spins of 1-3 ms made an oversubscribed machine 4x slower); the caller
 * never waits for a worker that has not started (it steals the slice, ./shared.ts).
 */
export const DEFAULT_SPIN_MS = 0.2;

/**
 * Default warm-up (ms) of each worker before the pool is ready (SessionPoolOptions.warmupMs):
 * a fresh worker isolate compiles the kernels' JavaScript during its first ~1000-2000 runs,
 * on V8's background threads, and on a 2-core machine those take a core from the compute
 * threads. Bench CNN (batch 8, 2-vCPU VM), 200 runs right after start: 1.3-1.6x the
 * single-threaded speed without warm-up, 1.5-1.8x with 500 ms, 1.7-1.9x with 1000 ms
 * (1.85-1.9x once warm). Costs pool start-up time only, on the worker threads (at most
 * 2000 runs); 0 turns it off.
 */
export const DEFAULT_WARMUP_MS = 1000;

export interface NodeSessionPoolOptions extends SessionPoolOptions {
  /**
   * Busy-waiting instead of sleeping, for up to this many ms (default DEFAULT_SPIN_MS):
   * a worker spins for its next slice after each one, and the caller for the workers'
   * answers after its own slice.
   */
  spinMs?: number;
  /** Slice jobs through shared memory (default true); false: the postMessage protocol only (as in browsers). */
  sharedMemory?: boolean;
}

export interface SpawnOptions {
  /** Message mode: how long the worker polls for its next message after each one. */
  spinMs?: number;
  /** A port for the answers, which the pool can poll (see nodeWorkerEndpoint's poll). */
  replies?: MessagePort;
  /** Shared-memory jobs: the worker's control block and synchronous port, and its spin for the next job. */
  shared?: { ctl: SharedArrayBuffer; port: MessagePort; spinMs: number };
}

/** Parent flags a Worker refused (V8 flags are per process: the worker has them anyway). */
const refusedFlags = new Set<string>();

/** Spawns one session worker thread (unref'd). */
export function spawnSessionWorker(spinMsOrOptions: number | SpawnOptions = 0, replies?: MessagePort): Worker {
  const o: SpawnOptions = typeof spinMsOrOptions === 'number' ? { spinMs: spinMsOrOptions, replies } : spinMsOrOptions;
  // the parent's flags (its loaders), minus --input-type (only valid for -e/stdin code: a
  // worker with it fails to load its file) and per-process V8 flags, which a Worker refuses
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type') && !refusedFlags.has(a));
  const transferList: MessagePort[] = [];
  if (o.replies) transferList.push(o.replies);
  if (o.shared) transferList.push(o.shared.port);
  let w: Worker;
  try {
    w = new Worker(new URL('./session-worker.mjs', import.meta.url), {
      execArgv,
      workerData: { spinMs: o.spinMs ?? 0, replyPort: o.replies, shared: o.shared },
      transferList,
    });
  } catch (e) {
    // ERR_WORKER_INVALID_EXEC_ARGV names the refused flags: drop them and retry once
    const m = (e as { code?: string; message?: string })?.code === 'ERR_WORKER_INVALID_EXEC_ARGV' && /flags: (.*)$/.exec((e as Error).message);
    if (!m) throw e;
    for (const f of m[1]!.split(/,?\s+/)) refusedFlags.add(f);
    if (![...refusedFlags].some((f) => execArgv.includes(f))) throw e;
    return spawnSessionWorker(o);
  }
  w.unref();
  return w;
}

/**
 * A session worker thread serving slice jobs through shared memory (see
 * src/engine/parallel/shared.ts), as a pool endpoint; `spinMs` is its spin for the next job.
 */
export function sharedWorkerEndpoint(spinMs = DEFAULT_SPIN_MS): Endpoint {
  const { port1, port2 } = new MessageChannel();
  const ctl = new SharedArrayBuffer(CONTROL_BYTES);
  const jobs = new MessageChannel();
  jobs.port1.unref();
  const slot = new SharedSlot(new Int32Array(ctl), { post: (m) => jobs.port1.postMessage(m), take: () => receiveMessageOnPort(jobs.port1)?.message });
  const worker = spawnSessionWorker({ replies: port2, shared: { ctl, port: jobs.port2, spinMs } });
  return nodeWorkerEndpoint(worker, port1, slot);
}

/**
 * Starts a pool of `workers` threads (default 2, counting the calling thread, which
 * computes one slice itself; `workers - 1` worker threads are spawned) over one model.
 * Slices go through shared memory (synchronous on the calling thread, ./shared.ts);
 * `sharedMemory: false` keeps to postMessage.
 */
export async function createSessionPool(model: Uint8Array, options: NodeSessionPoolOptions = {}): Promise<SessionPool> {
  const { spinMs = DEFAULT_SPIN_MS, sharedMemory = true, warmupMs = DEFAULT_WARMUP_MS, ...poolOptions } = options;
  const n = Math.max(1, Math.floor(options.workers ?? 2));
  const endpoints: Endpoint[] = [];
  for (let i = 1; i < n; i++) {
    if (!sharedMemory) {
      const { port1, port2 } = new MessageChannel();
      endpoints.push(nodeWorkerEndpoint(spawnSessionWorker({ spinMs, replies: port2 }), port1));
      continue;
    }
    endpoints.push(sharedWorkerEndpoint(spinMs));
  }
  return SessionPool.start(model, endpoints, { ...poolOptions, spinMs, warmupMs });
}
