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
 *
 * Two transports, one pool:
 * - postMessage (every endpoint; browsers): slices and outputs are structured-cloned
 *   (split feeds and outputs transferred), answers awaited with a liveness timer;
 * - shared memory (endpoints with `shared`, i.e. Node worker threads; ./shared.ts): the
 *   run is synchronous on the caller. Feeds and outputs go through SharedArrayBuffers,
 *   the job through Atomics words; the caller steals a slice the worker has not started
 *   (a sleeping or descheduled worker never makes a run slower than the caller doing it
 *   all), waits for a started one with a short spin then Atomics.wait, but only for
 *   PATIENCE x its own slice time before computing that slice itself (a preempted
 *   worker costs at most that much); a worker still busy past the liveness deadline is
 *   dropped. On a machine too loaded for the threads to meet, it backs off to
 *   single-threaded runs for a while (`judge`).
 */
import type { Tensor } from '../../tensor/tensor.js';
import { Tensor as T } from '../../tensor/tensor.js';
import { createSession, type RunOptions, type RunResult, type Session, type SessionOptions } from '../session.js';
import { planBatch, splitRanges, type PlanResult } from './batch.js';
import { fromWire, sliceModel, SliceSessions, toWire, type FromWorker, type ToWorker, type WireTensor } from './protocol.js';
import type { SharedSlot } from './shared.js';

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
  /**
   * Optional: the worker serves slice jobs through shared memory (./shared.ts) once
   * ready, and the calling thread may block (Atomics.wait): Node worker threads. Runs then
   * take the synchronous fast path over these endpoints only (no structured clone, no
   * timers, spin-then-block waiting, work stealing); `terminate` must make the worker
   * quit its job loop (`SharedSlot.quit`).
   */
  shared?: SharedSlot;
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
   * After its own slice, the caller polls endpoints that support it (`poll`), or spins
   * on the shared-memory answer of `shared` endpoints, for up to this many ms before it
   * sleeps until the answers come (default 0): saves a thread wake-up (~0.05-0.2 ms; on
   * a busy machine up to a scheduler slice) per run.
   */
  spinMs?: number;
  /**
   * Each worker runs the model on zero feeds for about this many ms before it reports
   * ready (default 0; only for inputs of static declared shapes): its first real runs
   * then do not pay V8's compilation of the kernels (see protocol.ts, warmUp).
   */
  warmupMs?: number;
}

type SliceOutcome = { outputs: Tensor[] } | { error: string } | { lost: string };

interface WorkerState {
  ep: Endpoint;
  alive: boolean;
  pending: Map<number, (o: SliceOutcome) => void>;
  /** Handles one message of this worker (set at start). */
  handle?: (m: FromWorker) => void;
  /** Shared-memory endpoints: when a job the caller stopped waiting for must be done by. */
  busyUntil?: number;
}

/**
 * How long the caller of the shared-memory path waits for a worker that took its slice,
 * after finishing its own: PATIENCE x its own slice time, at least PATIENCE_MIN_MS.
 */
const PATIENCE = 0.5;
const PATIENCE_MIN_MS = 0.1;
/** Split runs slower than this share of the estimated single-threaded time make the pool back off. */
const BACKOFF_RATIO = 1.1;
const BACKOFF_MAX_RUNS = 64;
/**
 * Split runs before the first judgement: a fresh pool has slow phases (V8 still compiling
 * in both isolates) that would trigger back-offs, and a backed-off worker does not warm
 * up. Judging from run 100 cost the bench CNN 1.6-1.8x instead of 1.8-1.9x on a quiet
 * machine; so only a long-running pool on a loaded machine backs off.
 */
const JUDGE_AFTER = 2000;


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
  // adaptive back-off of the shared path (see `judge`)
  private unitMs = Infinity;
  private readonly ratios = new Float64Array(8);
  private probes = 0;
  private backoff = 0;
  private backoffRuns = 8;
  private splitRuns = 0;
  /** Diagnostics of the shared-memory path: split runs, and runs made single-threaded by the back-off. */
  readonly stats = { splitRuns: 0, backedOffRuns: 0 };
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
    const { workers: _w, timeoutMs: _t, startTimeoutMs = 60_000, spinMs: _s, warmupMs, ...sessionOptions } = options;
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
              w.ep.postMessage({ type: 'init', model, options: sessionOptions, warmupMs });
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
    // a worker with a shared-memory slot serves only its slot once ready (it blocks in
    // its job loop): with any of those, only those are used
    let live = this.workers.filter((w) => w.alive);
    if (live.some((w) => w.ep.shared)) live = live.filter((w) => w.ep.shared);
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
    if (live[0]!.ep.shared) {
      if (this.backoff > 0) {
        // backing off (see `judge`): single-threaded, timed to keep the estimate honest
        this.backoff--;
        this.stats.backedOffRuns++;
        const t = performance.now();
        const r = this.session.run(feeds);
        this.unitMs = Math.min(this.unitMs, (performance.now() - t) / n);
        return r;
      }
      return this.runShared(feeds, live, ranges, limit, sliceFeeds);
    }
    return this.runMessages(feeds, live, ranges, limit, sliceFeeds, split);
  }

  /**
   * The message path (Web Workers, or Node workers without shared memory): post every
   * worker its slice, compute the first one, then await the answers; a lost worker's
   * slice is computed here, any error re-runs the whole batch single-threaded.
   */
  private async runMessages(
    feeds: Record<string, Tensor>,
    live: WorkerState[],
    ranges: [number, number][],
    limit: (k: number) => number,
    sliceFeeds: (a: number, b: number, copy: boolean) => Record<string, Tensor>,
    split: Set<string>,
  ): Promise<RunResult> {
    const n = ranges[ranges.length - 1]![1];
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
    return this.result(cat);
  }

  /** The run's result from its completed outputs. */
  private result(cat: Concat[]): RunResult {
    const outputList = cat.map((c) => c.out);
    const outputs: Record<string, Tensor> = {};
    this.session.outputs.forEach((o, i) => (outputs[o.name] = outputList[i]!));
    return { outputs, outputList };
  }

  /**
   * The synchronous fast path over shared-memory endpoints (./shared.ts): offer every
   * worker its slice, compute the first one, then for each worker's slice in order: steal
   * it if the worker has not started it yet (computed here), else spin briefly and block
   * for its answer, with patience (below). Same outcomes as the message path.
   */
  private runShared(
    feeds: Record<string, Tensor>,
    live: WorkerState[],
    ranges: [number, number][],
    limit: (k: number) => number,
    sliceFeeds: (a: number, b: number, copy: boolean) => Record<string, Tensor>,
  ): RunResult {
    const n = ranges[ranges.length - 1]![1];
    const t0 = performance.now();
    // false: not offered (the worker is still busy with a job this thread gave up on, or
    // feeds that shared memory cannot carry): computed here
    const offered = ranges.slice(1).map(([a, b], j) => {
      const w = live[j]!;
      if (w.ep.shared!.busy) {
        // busy past the liveness deadline of the job it kept: dead or hung
        if (t0 > w.busyUntil!) this.drop(w, `no answer within ${Math.round(this.timeoutMs)} ms`);
        return false;
      }
      return w.ep.shared!.offer(sliceFeeds(a, b, false), limit(b - a));
    });
    const local = (a: number, b: number): Tensor[] | undefined => {
      try {
        return this.slices.get(limit(b - a)).run(sliceFeeds(a, b, false)).outputList;
      } catch {
        return undefined;
      }
    };
    const mine = local(ranges[0]![0], ranges[0]![1]);
    const t1 = performance.now();
    const deadline = t1 + this.timeoutMs + 4 * (t1 - t0);
    const cat = mine?.length === this.session.outputs.length && mine.every((t) => t.shape[0] === ranges[0]![1]) ? mine.map((t) => new Concat(t, n)) : undefined;
    let ok = cat !== undefined;
    for (let j = 0; j < offered.length; j++) {
      const w = live[j]!;
      const slot = w.ep.shared!;
      const [a, b] = ranges[j + 1]!;
      // a worker's job is always settled (stolen, answered or the worker dropped), even
      // after a failure: a later run must find its slot free
      let part: Tensor[] | undefined;
      if (!offered[j] || slot.steal()) {
        if (ok) part = local(a, b);
      } else {
        // Patience: the worker started when this thread did and has as much to do, so it
        // normally answers within a few us. Much later means it was preempted (a loaded
        // machine) or is dead: this thread computes the slice itself rather than wait up
        // to a scheduler slice, and the worker's answer is ignored. Either way the bits
        // are the same; the worker is offered no job until it is done with this one, and
        // dropped if it is not done by the liveness deadline.
        const patience = Math.min(deadline, performance.now() + Math.max(PATIENCE_MIN_MS, PATIENCE * (t1 - t0)));
        const r = slot.wait(this.spinMs, patience);
        if (r === 'late') {
          w.busyUntil = deadline;
          if (ok) part = local(a, b);
        } else if ('outputs' in r) part = r.outputs;
      }
      // the worker's outputs view its shared buffer: copied into the whole outputs now
      if (ok) ok = part !== undefined && part.length === cat!.length && part.every((t, i) => cat![i]!.add(t, b - a));
    }
    if (!ok || !cat!.every((c) => c.complete)) return this.session.run(feeds);
    this.stats.splitRuns++;
    this.judge(performance.now() - t0, (t1 - t0) / ranges[0]![1], n);
    return this.result(cat!);
  }

  /**
   * Adaptive back-off of the shared-memory path. Threads that must meet every run only
   * pay off when each gets a core: on an oversubscribed machine (more runnable threads
   * than cores) the caller and a worker often share one core and a split run takes up
   * to 1.5x the single-threaded time. So each split run is compared with the
   * single-threaded time it replaces, estimated from the fastest recent time per sample
   * (the caller's own slice, or a whole single-threaded run; drifting up 1 % per run so
   * that it follows a slower machine); when the median ratio of the last 8 split runs
   * is above BACKOFF_RATIO, the next runs are single-threaded (8, doubling up
   * to BACKOFF_MAX_RUNS while the pool keeps losing), then the pool is tried again.
   * Scheduling only: the bits are the same either way.
   */
  private judge(totalMs: number, ownMsPerSample: number, n: number): void {
    // the first runs of a fresh worker are slow (V8 compiles the kernels again in its
    // isolate): they must not count, nor be starved by a back-off
    if (this.splitRuns < JUDGE_AFTER) {
      this.splitRuns++;
      return;
    }
    this.unitMs = Math.min(this.unitMs * 1.01, ownMsPerSample);
    // the median of the last 8 ratios: one slow run (a GC, a compile) does not count
    this.ratios[this.probes++ % 8] = totalMs / (this.unitMs * n);
    if (this.probes >= 8 && [...this.ratios].sort((a, b) => a - b)[4]! > BACKOFF_RATIO) {
      this.backoff = this.backoffRuns;
      this.backoffRuns = Math.min(BACKOFF_MAX_RUNS, this.backoffRuns * 2);
      this.probes = 0;
    } else if (this.probes >= 32) this.backoffRuns = 8;
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
