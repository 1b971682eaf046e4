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
 * does, through its liveness timer).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { SessionPool, type Endpoint, type SessionPoolOptions } from '../engine/parallel/pool.js';

export { SessionPool, type SessionPoolOptions } from '../engine/parallel/pool.js';

/**
 * A worker_threads Worker as a pool endpoint. The worker is unref()'d after every
 * listener is attached (attaching a 'message' listener refs it again).
 */
export function nodeWorkerEndpoint(worker: Worker, replies?: MessagePort): Endpoint {
  return {
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
    terminate: () => worker.terminate(),
  };
}

export interface NodeSessionPoolOptions extends SessionPoolOptions {
  /**
   * Busy-waiting instead of sleeping, for up to this many ms (default 0): a worker polls
   * for its next slice after each one, and the caller polls for the workers' answers
   * after its own slice. Saves two thread wake-ups per run (~0.05-0.2 ms each, up to a
   * scheduler slice on a busy machine), for that much CPU time.
   */
  spinMs?: number;
}

/**
 * Spawns one session worker thread (unref'd). With `replies`, the worker answers over
 * that channel's other port instead of parentPort (see nodeWorkerEndpoint's poll).
 */
export function spawnSessionWorker(spinMs = 0, replies?: MessagePort): Worker {
  // the parent's flags, minus --input-type (only valid for -e/stdin code: a worker with it fails to load its file)
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  const w = new Worker(new URL('./session-worker.mjs', import.meta.url), {
    execArgv,
    workerData: { spinMs, replyPort: replies },
    transferList: replies ? [replies] : [],
  });
  w.unref();
  return w;
}

/**
 * Starts a pool of `workers` threads (default 2, counting the calling thread, which
 * computes one slice itself; `workers - 1` worker threads are spawned) over one model.
 */
export async function createSessionPool(model: Uint8Array, options: NodeSessionPoolOptions = {}): Promise<SessionPool> {
  const { spinMs = 0, ...poolOptions } = options;
  const n = Math.max(1, Math.floor(options.workers ?? 2));
  const endpoints: Endpoint[] = [];
  for (let i = 1; i < n; i++) {
    const { port1, port2 } = new MessageChannel();
    endpoints.push(nodeWorkerEndpoint(spawnSessionWorker(spinMs, port2), port1));
  }
  return SessionPool.start(model, endpoints, { ...poolOptions, spinMs });
}
