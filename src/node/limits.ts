import { HttpError } from './http-errors.js';

/**
 * Abuse limits (README.md, "Limits"): a concurrency limit with a bounded
 * queue, element counting before any tensor is built, a FLOPs estimate and a
 * per-request deadline checked between graph nodes.
 */

/** A counting semaphore with a bounded FIFO queue. `acquire` refuses (429) when the queue is full. */
export class Limiter {
  private active = 0;
  private readonly queue: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    /** Seconds to suggest in Retry-After. */
    readonly retryAfterSeconds = 1,
  ) {}

  get running(): number {
    return this.active;
  }
  get waiting(): number {
    return this.queue.length;
  }

  /** Waits for a slot; NODE_BUSY (429, Retry-After) if `maxQueue` requests are already waiting; rejects at `deadline` (ms since epoch). */
  async acquire(deadline?: number): Promise<() => void> {
    if (this.active < this.maxConcurrent && this.queue.length === 0) {
      this.active++;
      return this.releaser();
    }
    if (this.queue.length >= this.maxQueue) {
      throw new HttpError(
        'NODE_BUSY',
        `the node is busy (${this.active} running, ${this.queue.length} queued); retry in ${this.retryAfterSeconds} s or use another node`,
        { running: this.active, queued: this.queue.length, maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue, retryAfter: this.retryAfterSeconds },
        { 'retry-after': String(this.retryAfterSeconds) },
      );
    }
    await new Promise<void>((resolve, reject) => {
      const entry = { resolve, reject };
      this.queue.push(entry);
      if (deadline !== undefined) {
        const t = setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(timeoutError(deadline, 'waiting in the queue'));
          }
        }, Math.max(0, deadline - Date.now()));
        t.unref?.();
        entry.resolve = () => {
          clearTimeout(t);
          resolve();
        };
      }
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) next.resolve(); // the slot passes to the next waiter
      else this.active--;
    };
  }

  /** Rejects every waiting request (shutdown). */
  drain(error: unknown): void {
    for (const w of this.queue.splice(0)) w.reject(error);
  }
}

export function timeoutError(deadline: number, where: string, budgetMs?: number): HttpError {
  return new HttpError('INFERENCE_TIMEOUT', `the request exceeded its time budget${budgetMs ? ` of ${budgetMs} ms` : ''} (${where})`, {
    where,
    ...(budgetMs ? { timeoutMs: budgetMs } : {}),
    overdueMs: Math.max(0, Date.now() - deadline),
  });
}

/**
 * Counts the scalar elements a JSON tensor will hold without building it: the
 * product of `dims` when given (so `{"dims": [1e9], "data": []}` is refused
 * before any allocation), else the leaves of the nested array. Stops counting
 * once `limit` is exceeded.
 */
export function countElements(v: unknown, limit: number): number {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { dims?: unknown; data?: unknown };
    if (Array.isArray(o.dims) && o.dims.every((d) => typeof d === 'number' && Number.isFinite(d) && d >= 0)) {
      let n = 1;
      for (const d of o.dims as number[]) n *= d;
      return n;
    }
    return countElements(o.data, limit);
  }
  if (!Array.isArray(v)) return 1;
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (++n > limit) return n;
  }
  return n;
}

/**
 * Estimated FLOPs of a request: the model's FLOPs estimate at batch 1 (the
 * store report: symbolic dims = 1) times the largest ratio, over the inputs,
 * of the request's element count to the input's element count at batch 1.
 * Models whose estimate is unknown count 0 FLOPs (the deadline still applies).
 */
export function estimateFlops(
  flopsAtBatch1: number | null,
  declared: { name: string; shape: (number | string | null)[] | null }[],
  elements: Record<string, number>,
): number {
  if (flopsAtBatch1 === null) return 0;
  let ratio = 1;
  for (const d of declared) {
    const n = elements[d.name];
    if (n === undefined || !d.shape) continue;
    const base = d.shape.reduce<number>((p, x) => p * (typeof x === 'number' ? Math.max(x, 1) : 1), 1);
    ratio = Math.max(ratio, n / Math.max(base, 1));
  }
  return flopsAtBatch1 * ratio;
}
