/**
 * Messages between a session pool (./pool.ts) and its workers, and the worker side
 * itself. Browser-safe: only structured clone, postMessage and message events. The same
 * `serveSessionWorker` runs in a Node worker thread (src/platform/session-worker.mjs) and
 * in a browser Web Worker (./web-worker.ts).
 */
import { VerinferError } from '../../errors.js';
import { loadModel } from '../../onnx/load.js';
import { requiredInputs, type ModelIR } from '../../onnx/model.js';
import { allocData, isDType, type DType, type TensorData } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { Session, type SessionOptions } from '../session.js';

/** A tensor as plain structured-clone data. */
export interface WireTensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

export type ToWorker =
  /** `warmupMs`: see SessionPoolOptions.warmupMs. */
  | { type: 'init'; model: Uint8Array; options: SessionOptions; warmupMs?: number }
  /** Runs feeds with the given tensor-size limit (see ./pool.ts, "limits"). */
  | { type: 'run'; id: number; feeds: Record<string, WireTensor>; maxTensorBytes: number };

export type FromWorker =
  | { type: 'ready' }
  /** `ms`: the worker's own time for the slice (diagnostics). */
  | { type: 'result'; id: number; outputs: WireTensor[]; ms?: number }
  | { type: 'error'; id: number; error: { code?: string; name?: string; message: string } };

export const toWire = (t: Tensor): WireTensor => ({ dtype: t.dtype, shape: [...t.shape], data: t.data });
export const fromWire = (w: WireTensor): Tensor => new Tensor(w.dtype, w.shape, w.data);

/**
 * The model as the pool's slice runs see it: the declared extents of axis 0 of the
 * inputs are dropped (a slice of a [8, ...] batch is [4, ...]). Only slice runs use it,
 * after the caller has validated the whole feeds against the declared shapes with the
 * original session.
 */
export function sliceModel(ir: ModelIR): ModelIR {
  const inputs = ir.graph.inputs.map((i) => (i.shape && i.shape.length > 0 ? { ...i, shape: [null, ...i.shape.slice(1)] } : i));
  return { ...ir, graph: { ...ir.graph, inputs } };
}

/**
 * Sessions over one model by tensor-size limit: a slice of k of n samples runs under the
 * limit floor(max * k / n), so a batched tensor hits its limit in the slice exactly when
 * it would in the whole run (see ./pool.ts). Few distinct limits occur (two per batch
 * size and worker count); the cache is bounded anyway.
 */
export class SliceSessions {
  private readonly byLimit = new Map<number, Session>();
  constructor(
    readonly model: ModelIR,
    readonly options: SessionOptions,
  ) {}

  get(maxTensorBytes: number): Session {
    let s = this.byLimit.get(maxTensorBytes);
    if (!s) {
      if (this.byLimit.size >= 8) this.byLimit.clear();
      s = new Session(this.model, { ...this.options, maxTensorBytes });
      this.byLimit.set(maxTensorBytes, s);
    }
    return s;
  }
}

/** What a worker needs of its global scope (`self` in a Web Worker; an adapter of `parentPort` in Node). */
export interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (e: { data: ToWorker }) => void): void;
}

/**
 * Serves pool requests: one session per worker, built once from the model bytes.
 * `onReady` (optional) gets the sessions after 'ready' was posted: the Node worker then
 * enters its shared-memory job loop (./shared.ts).
 */
export function serveSessionWorker(scope: WorkerScope, onReady?: (sessions: SliceSessions) => void): void {
  let sessions: SliceSessions | undefined;
  scope.addEventListener('message', (e) => {
    const m = e.data;
    if (m.type === 'init') {
      try {
        const ir = loadModel(m.model, m.options);
        sessions = new SliceSessions(sliceModel(ir), m.options);
        if (m.warmupMs && m.warmupMs > 0) warmUp(ir, sessions, m.warmupMs);
        scope.postMessage({ type: 'ready' });
      } catch (err) {
        scope.postMessage({ type: 'error', id: -1, error: describe(err) });
        return;
      }
      onReady?.(sessions);
      return;
    }
    if (m.type === 'run') {
      try {
        if (!sessions) throw new Error('worker not initialised');
        const t0 = performance.now();
        const feeds: Record<string, Tensor> = {};
        for (const [k, w] of Object.entries(m.feeds)) feeds[k] = fromWire(w);
        const r = sessions.get(m.maxTensorBytes).run(feeds);
        const ms = performance.now() - t0;
        // Graph outputs are handed over, not copied: an accepted plan's outputs are batched
        // values (never initializers), the arena never recycles graph outputs, and a
        // pass-through feed is this worker's own slice copy. Cloned if a transfer fails.
        const msg: FromWorker = { type: 'result', id: m.id, outputs: r.outputList.map(toWire), ms };
        const transfer = [...new Set(r.outputList.map((t) => t.data.buffer))].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        try {
          scope.postMessage(msg, transfer);
        } catch {
          scope.postMessage(msg);
        }
      } catch (err) {
        scope.postMessage({ type: 'error', id: m.id, error: describe(err) });
      }
    }
  });
}

/**
 * Runs the model on zero feeds of its declared shapes (when every required input has a
 * static shape and a supported dtype) for about `ms` (at most 2000 runs): a fresh worker isolate otherwise
 * compiles the kernels' JavaScript during its first real runs, on V8's background threads,
 * which on a 2-core machine take a core from the compute threads for ~1-2 s of runs.
 * Only the worker's own state warms up (JIT, arena); results never depend on it.
 */
function warmUp(ir: ModelIR, sessions: SliceSessions, ms: number): void {
  const feeds: Record<string, Tensor> = {};
  for (const i of requiredInputs(ir.graph)) {
    if (i.dtype === undefined || !isDType(i.dtype) || !i.shape || !i.shape.every((d): d is number => typeof d === 'number')) return;
    const shape = i.shape as number[];
    feeds[i.name] = new Tensor(i.dtype, shape, allocData(i.dtype, shape.reduce((a, b) => a * b, 1)));
  }
  const end = performance.now() + ms;
  try {
    // a session of its own (the slice sessions are per limit, unknown yet): the JIT is per isolate
    const s = new Session(sessions.model, sessions.options);
    // V8 has optimised the kernels' JavaScript after ~1000-2000 runs: more is wasted
    for (let i = 0; i < 2000 && performance.now() < end; i++) s.run(feeds);
  } catch {
    // a model that cannot run on zeros (or over the limits) simply starts cold
  }
}

function describe(err: unknown): { code?: string; name?: string; message: string } {
  if (err instanceof VerinferError) return { code: err.code, name: err.name, message: err.message };
  return { name: (err as Error)?.name, message: (err as Error)?.message ?? String(err) };
}
