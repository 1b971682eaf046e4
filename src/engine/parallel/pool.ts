/**
 * Batch-parallel session runs (issue 7): one run of a batch is cut into contiguous
 * ranges of samples (axis 0 of the split feeds, ./batch.ts), the calling thread runs the
 * first range itself while workers run the others, and the outputs are concatenated
 * along axis 0. Browser-safe: the workers are reached through `Endpoint`s (a Node
 * worker thread in src/platform/session-pool.ts, a Web Worker in ./web.ts).
 *
 * Bit-identity: for a graph the analysis accepts, sample i of every output is computed
 * from sample i of the split feeds and the unsplit values only, by kernels whose result
 * bits for an element do not depend on the other samples present (./batch.ts). Each
 * slice run therefore yields exactly rows [a, b) of the single-thread outputs, whatever
 * the number of workers and the split points; concatenation only moves bytes.
 *
 * Same outcome as `session.run(feeds)`, always:
 * - feeds are validated first on the caller by the session itself (identical errors);
 * - limits: a slice of k of n samples runs under the tensor-size limit
 *   floor(max * k / n), so a batched tensor (k/n of its whole-run size) is over its
 *   limit exactly when it would be in the whole run (k*s > floor(max*k/n) <=> n*s > max
 *   for integer s); a slice may also fail earlier on an unbatched tensor that fits the
 *   whole limit, which only costs the fallback below;
 * - any slice error (bad input, limit, a broken worker) makes the caller re-run the
 *   whole batch single-threaded, which gives the single-thread result or throws the
 *   single-thread error, byte for byte;
 * - a worker that dies, or does not answer within its liveness timeout, is dropped
 *   (terminated) and its slice is computed on the caller: never a hang.
 * Traced runs and runs with afterNode/onNode run single-threaded: the trace is per node
 * over the whole batch (its digests cover whole tensors), and the callbacks must see
 * the whole run's nodes in order on the calling thread.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { Tensor as T } from '../../tensor/tensor.js';
import { createSession, type RunOptions, type RunResult, type Session, type SessionOptions } from '../session.js';
import { planBatch, splitRanges, type PlanResult } from './batch.js';
import { fromWire, sliceModel, SliceSessions, toWire, type FromWorker, type ToWorker, type WireTensor } from './protocol.js';

/** One worker as the pool sees it, whatever the platform. */
export interface Endpoint {
  postMessage(msg: ToWorker, transfer?: ArrayBuffer[]): void;
  /** Registers the listener of the worker's messages (called once). */
  onMessage(listener: (msg: FromWorker) => void): void;
  /** Registers the listener of the worker's death (crash, exit), if the platform reports it (called once). */
  onFailure(listener: (why: string) => void): void;
  terminate(): unknown;
  /**
   * Optional: the worker's next message if one has arrived, taken synchronously (Node:
   * receiveMessageOnPort). Lets the caller poll for a while instead of sleeping (`spinMs`).
   */
  poll?(): FromWorker | undefined;
}

export interface SessionPoolOptions extends SessionOptions {
  /** Threads computing slices, counting the calling thread (default 2); 1: always single-threaded. */
  workers?: number;
  /**
   * Liveness: a worker must answer within timeoutMs + 4 x (the caller's time for its own
   * slice) after the caller finished that slice (default 2000), else it is dropped and its
   * slice computed on the caller.
   */
  timeoutMs?: number;
  /** Most ms a worker may take to load the model at start (default 60000); a late worker is dropped. */
  startTimeoutMs?: number;
  /**
   * After its own slice, the caller polls endpoints that support it (`poll`) for up to
   * this many ms before it sleeps until the answers come (default 0): saves a thread
   * wake-up (~0.05-0.2 ms; on a busy machine up to a scheduler slice) per run.
   */
  spinMs?: number;
}

type SliceOutcome = { outputs: Tensor[] } | { error: string } | { lost: string };

interface WorkerState {
  ep: Endpoint;
  alive: boolean;
  pending: Map<number, (o: SliceOutcome) => void>;
  /** Handles one message of this worker (set at start). */
  handle?: (m: FromWorker) => void;
}


/** Rows [a, b) of axis 0: a view (`copy` false) or a fresh, transferable copy. */
function sliceAxis0(t: Tensor, a: number, b: number, copy: boolean): Tensor {
  const inner = t.shape[0] === 0 ? 0 : t.size / t.shape[0]!;
  const data = copy ? t.data.slice(a * inner, b * inner) : t.data.subarray(a * inner, b * inner);
  return new T(t.dtype, [b - a, ...t.shape.slice(1)], data as Tensor['data']);
}

/**
 * An output being concatenated along axis 0: allocated from the first part (the caller's
 * slice, rows [0, k0)) while the workers still compute, then filled part by part.
 */
class Concat {
  readonly out: Tensor;
  private at: number;
  constructor(first: Tensor, n: number) {
    const Ctor = first.data.constructor as new (len: number) => Tensor['data'];
    const inner = first.shape[0] === 0 ? 0 : first.size / first.shape[0]!;
    const data = new Ctor(n * inner);
    (data as Float32Array).set(first.data as Float32Array, 0);
    this.out = new T(first.dtype, [n, ...first.shape.slice(1)], data);
    this.at = first.size;
  }

  /** Appends the next part (`rows` samples); false if it is not the matching slice (never for an accepted plan). */
  add(p: Tensor, rows: number): boolean {
    const o = this.out;
    if (p.dtype !== o.dtype || p.rank !== o.rank || p.shape[0] !== rows || p.shape.some((d, k) => k > 0 && d !== o.shape[k])) return false;
    if (this.at + p.size > o.size) return false;
    (o.data as Float32Array).set(p.data as Float32Array, this.at);
    this.at += p.size;
    return true;
  }

  get complete(): boolean {
    return this.at === this.out.size;
  }
}

export class SessionPool {
  /** The session of the calling thread: validation and single-threaded runs. */
  readonly session: Session;
  private readonly slices: SliceSessions;
  private readonly workers: WorkerState[];
  private readonly timeoutMs: number;
  private readonly spinMs: number;
  private readonly plans = new Map<string, PlanResult>();
  private nextId = 1;
  private closed = false;

  private constructor(session: Session, options: SessionPoolOptions, endpoints: Endpoint[]) {
    this.session = session;
    this.slices = new SliceSessions(sliceModel(session.model), options);
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.spinMs = options.spinMs ?? 0;
    this.workers = endpoints.map((ep) => ({ ep, alive: true, pending: new Map() }));
  }

  /**
   * Loads the model on the caller (typed errors as createSession), then in every endpoint;
   * resolves when each worker is ready or dropped.
   */
  static async start(model: Uint8Array, endpoints: Endpoint[], options: SessionPoolOptions = {}): Promise<SessionPool> {
    let session: Session;
    try {
      session = createSession(model, options);
    } catch (e) {
      for (const ep of endpoints) ep.terminate();
      throw e;
    }
    const pool = new SessionPool(session, options, endpoints);
    const { workers: _w, timeoutMs: _t, startTimeoutMs = 60_000, spinMs: _s, ...sessionOptions } = options;
    await Promise.all(
      pool.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              pool.drop(w, 'did not start in time');
              resolve();
            }, startTimeoutMs);
            let started = false;
            w.handle = (m) => {
              if (!started) {
                started = true;
                clearTimeout(timer);
                if (m.type !== 'ready') pool.drop(w, `failed to start: ${m.type === 'error' ? m.error.message : m.type}`);
                resolve();
                return;
              }
              if (m.type === 'result' || m.type === 'error') {
                const done = w.pending.get(m.id);
                w.pending.delete(m.id);
                done?.(m.type === 'result' ? { outputs: m.outputs.map(fromWire) } : { error: m.error.message });
              }
            };
            w.ep.onMessage(w.handle);
            w.ep.onFailure((why) => {
              clearTimeout(timer);
              pool.drop(w, why);
              resolve();
            });
            try {
              w.ep.postMessage({ type: 'init', model, options: sessionOptions });
            } catch (e) {
              clearTimeout(timer);
              pool.drop(w, String(e));
              resolve();
            }
          }),
      ),
    );
    return pool;
  }

  /** Workers still in service. */
  get liveWorkers(): number {
    return this.workers.filter((w) => w.alive).length;
  }

  /** The batch plan for these feeds (cached by feed names and shapes). */
  plan(feeds: Record<string, Tensor>): PlanResult {
    const key = Object.keys(feeds)
      .sort()
      .map((k) => `${k}:${feeds[k]!.shape.join('x')}`)
      .join(',');
    let p = this.plans.get(key);
    if (!p) {
      if (this.plans.size >= 64) this.plans.clear();
      p = planBatch(this.session.model, feeds);
      this.plans.set(key, p);
    }
    return p;
  }

  /** `session.run(feeds, options)`, with the batch split over the pool when the graph allows it. */
  async run(feeds: Record<string, Tensor>, options: RunOptions = {}): Promise<RunResult> {
    if (options.trace || options.afterNode || options.onNode || this.closed) return this.session.run(feeds, options);
    this.session.checkFeeds(feeds);
    const live = this.workers.filter((w) => w.alive);
    if (live.length === 0) return this.session.run(feeds);
    const { plan } = this.plan(feeds);
    if (!plan) return this.session.run(feeds);
    const ranges = splitRanges(plan.batch, live.length + 1);
    if (ranges.length < 2) return this.session.run(feeds);
    const n = plan.batch;
    const max = this.session.maxTensorBytes;
    const limit = (k: number) => (Number.isSafeInteger(max) ? Number((BigInt(max) * BigInt(k)) / BigInt(n)) : max);
    const split = new Set(plan.splitInputs);
    const sliceFeeds = (a: number, b: number, copy: boolean) => {
      const out: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) out[k] = split.has(k) ? sliceAxis0(t, a, b, copy) : t;
      return out;
    };
    // the workers' slices first, so they compute while the caller computes its own
    const pending = ranges.slice(1).map(([a, b], j) => this.dispatch(live[j]!, sliceFeeds(a, b, true), limit(b - a), split));
    const t0 = performance.now();
    let mine: Tensor[] | undefined;
    try {
      mine = this.slices.get(limit(ranges[0]![1])).run(sliceFeeds(ranges[0]![0], ranges[0]![1], false)).outputList;
    } catch {
      mine = undefined;
    }
    const wait = this.timeoutMs + 4 * (performance.now() - t0);
    // the whole outputs, started from the caller's part while the workers finish
    const cat = mine?.length === this.session.outputs.length && mine.every((t) => t.shape[0] === ranges[0]![1]) ? mine.map((t) => new Concat(t, n)) : undefined;
    if (this.spinMs > 0) this.spin(live);
    const outcomes = await Promise.all(pending.map((p, j) => p(wait, live[j]!)));
    if (!cat || outcomes.some((o) => 'error' in o)) return this.session.run(feeds);
    for (let j = 0; j < outcomes.length; j++) {
      const o = outcomes[j]!;
      const [a, b] = ranges[j + 1]!;
      let part: Tensor[];
      if ('outputs' in o) part = o.outputs;
      else {
        // a lost worker: its slice on the caller
        try {
          part = this.slices.get(limit(b - a)).run(sliceFeeds(a, b, false)).outputList;
        } catch {
          return this.session.run(feeds);
        }
      }
      if (part.length !== cat.length || !part.every((t, i) => cat[i]!.add(t, b - a))) return this.session.run(feeds);
    }
    if (!cat.every((c) => c.complete)) return this.session.run(feeds);
    const outputList = cat.map((c) => c.out);
    const outputs: Record<string, Tensor> = {};
    this.session.outputs.forEach((o, i) => (outputs[o.name] = outputList[i]!));
    return { outputs, outputList };
  }

  /** Posts one slice; the returned function waits for its outcome at most `ms` (then drops the worker). */
  private dispatch(w: WorkerState, feeds: Record<string, Tensor>, maxTensorBytes: number, split: Set<string>) {
    const id = this.nextId++;
    let settle!: (o: SliceOutcome) => void;
    const outcome = new Promise<SliceOutcome>((resolve) => (settle = resolve));
    w.pending.set(id, settle);
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [k, t] of Object.entries(feeds)) {
      wire[k] = toWire(t);
      // split feeds are fresh copies: hand their buffers over; the others are cloned
      if (split.has(k) && t.data.buffer instanceof ArrayBuffer) transfer.push(t.data.buffer);
    }
    try {
      w.ep.postMessage({ type: 'run', id, feeds: wire, maxTensorBytes }, transfer);
    } catch (e) {
      w.pending.delete(id);
      settle({ lost: String(e) });
    }
    return (ms: number, ws: WorkerState) => {
      const timer = setTimeout(() => this.drop(ws, `no answer within ${Math.round(ms)} ms`), ms);
      return outcome.finally(() => clearTimeout(timer));
    };
  }

  /** Polls the workers' answers for up to spinMs, until none is pending. */
  private spin(workers: WorkerState[]): void {
    const polled = workers.filter((w) => w.ep.poll);
    const end = performance.now() + this.spinMs;
    while (polled.some((w) => w.pending.size > 0) && performance.now() < end) {
      for (const w of polled) {
        if (w.pending.size === 0) continue;
        const m = w.ep.poll!();
        if (m) w.handle?.(m);
      }
    }
  }

  /** Takes a worker out of service: its pending slices are lost (computed on the caller). */
  private drop(w: WorkerState, why: string): void {
    if (!w.alive) return;
    w.alive = false;
    for (const settle of w.pending.values()) settle({ lost: why });
    w.pending.clear();
    try {
      void Promise.resolve(w.ep.terminate()).catch(() => {});
    } catch {
      // already gone
    }
  }

  /** Stops every worker (idempotent); later runs are single-threaded. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workers.map(async (w) => {
        const was = w.alive;
        w.alive = false;
        for (const settle of w.pending.values()) settle({ lost: 'pool closed' });
        w.pending.clear();
        if (was) await Promise.resolve(w.ep.terminate()).catch(() => {});
      }),
    );
  }
}
