/**
 * Browser side of the session pool: Web Workers as pool endpoints. The worker script is
 * ./web-worker.ts (bundled as a module worker); the pool logic is ./pool.ts, the same as
 * on Node. Browser-safe: only `Worker`, postMessage and events.
 *
 *   const pool = await createWebSessionPool(modelBytes, { workers: navigator.hardwareConcurrency });
 *   const { outputs } = await pool.run(feeds);
 *
 * A Web Worker that dies silently (killed tab process, out of memory) raises no event;
 * the pool's liveness timeout covers it.
 */
import type { FromWorker, ToWorker } from './protocol.js';
import { SessionPool, type Endpoint, type SessionPoolOptions } from './pool.js';

/** What the pool needs of a Web Worker (a subset of the DOM `Worker`). */
export interface WebWorkerLike {
  postMessage(msg: ToWorker, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (e: { data: FromWorker }) => void): void;
  addEventListener(type: 'error' | 'messageerror', listener: (e: { message?: string; preventDefault?(): void }) => void): void;
  terminate(): void;
}

export function webWorkerEndpoint(worker: WebWorkerLike): Endpoint {
  return {
    postMessage: (msg, transfer) => worker.postMessage(msg, transfer ?? []),
    onMessage: (listener) => worker.addEventListener('message', (e) => listener(e.data)),
    onFailure: (listener) => {
      worker.addEventListener('error', (e) => {
        e.preventDefault?.(); // handled here: the slice is recomputed on the caller
        listener(`worker error: ${e.message ?? 'unknown'}`);
      });
      worker.addEventListener('messageerror', () => listener('message could not be deserialised'));
    },
    terminate: () => worker.terminate(),
  };
}

export interface WebSessionPoolOptions extends SessionPoolOptions {
  /** URL of the worker script (default: ./web-worker.js next to this module, as bundlers resolve it). */
  workerUrl?: string | URL;
  /** Creates one worker (default: `new Worker(workerUrl, { type: 'module' })`); tests pass their own. */
  createWorker?: () => WebWorkerLike;
}

/** Starts a pool of `workers` threads (default 2, counting the calling thread) over Web Workers. */
export async function createWebSessionPool(model: Uint8Array, options: WebSessionPoolOptions = {}): Promise<SessionPool> {
  const { workerUrl, createWorker, ...poolOptions } = options;
  const make =
    createWorker ??
    (() => new Worker(workerUrl ?? new URL('./web-worker.js', import.meta.url), { type: 'module' }) as unknown as WebWorkerLike);
  const n = Math.max(1, Math.floor(options.workers ?? 2));
  const endpoints: Endpoint[] = [];
  for (let i = 1; i < n; i++) endpoints.push(webWorkerEndpoint(make()));
  return SessionPool.start(model, endpoints, poolOptions);
}
