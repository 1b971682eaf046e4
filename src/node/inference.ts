import type { FastifyBaseLogger } from 'fastify';
import { SEMANTICS_VERSION, type RunOptions } from '../engine/session.js';
import { VerinferError } from '../errors.js';
import { LAZY_TRACE_ROOT } from '../proof/commitment.js';
import { signReceipt, type Receipt } from '../proof/receipt.js';
import { inputDigest } from '../proof/verify.js';
import { toHexBytes, type Hex } from '../proof/wire.js';
import { tensorListDigest } from '../tensor/canonical.js';
import { isDType } from '../tensor/dtype.js';
import { tensorFromJson, tensorToJson, type TensorJson } from '../tensor/json.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Byzantine } from './byzantine.js';
import type { NodeConfig } from './config.js';
import { HttpError } from './http-errors.js';
import type { NodeIdentity } from './identity.js';
import { countElements, estimateFlops, Limiter, timeoutError } from './limits.js';
import type { NodeMetrics } from './metrics.js';
import type { LoadedModel, ModelService } from './models.js';
import type { PeerService } from './peers.js';
import { RECORD_SCHEMA, type ReceiptRecord, type ReceiptStatus, type RecordStore } from './records.js';

/**
 * The inference path as a service (README.md, "Services"):
 *
 *   request ─ prepare() ─ mode handler ─ execute() ─ response
 *
 * `prepare` resolves the model and turns JSON inputs into tensors, enforcing
 * the element and FLOPs limits; `execute` takes a concurrency slot, runs the
 * model with its trace (checking the deadline between nodes), signs the
 * receipt with the node key and writes the receipt record durably before it
 * returns. A verification mode is a `ModeHandler` in `modes`: `none` is here;
 * `replicated` and `optimistic` plug in with `registerMode` and use
 * `execute`, the records and the peer service.
 */

export interface InferRequest {
  model: string;
  /** Input name → tensor in the public JSON form, `{dims, data}` or a nested array. */
  inputs: Record<string, unknown>;
  mode: string;
  quorum?: number;
  /** Caller-chosen request id (0x + 64 hex); random by default. */
  requestId?: Hex;
  /** Mode-specific options (validated by the mode). */
  options?: Record<string, unknown>;
}

export type InferStatus = 'verified' | 'pending' | 'final' | 'failed';

export interface InferResponse {
  status: InferStatus;
  /** Request id of the (first) receipt. */
  requestId: Hex;
  /** The model's CID. */
  model: string;
  outputs: Record<string, TensorJson>;
  receipts: Receipt[];
  faults: { node: string; fraudProof: unknown; reason?: string }[];
  [extra: string]: unknown;
}

export interface PreparedRequest {
  ref: string;
  model: LoadedModel;
  inputs: Record<string, Tensor>;
  /** Total input elements. */
  elements: number;
  /** Estimated FLOPs (see limits.ts). */
  flops: number;
  /** Unix ms after which the request fails with INFERENCE_TIMEOUT. */
  deadline: number;
}

export interface ExecuteOptions {
  deadline?: number;
  mode?: string;
  modelRef?: string;
  requestId?: Hex;
  /** Status of the record written (default 'final'). */
  status?: ReceiptStatus;
  finalizesAt?: number;
  extra?: Record<string, unknown>;
}

export interface ExecuteResult {
  outputs: Record<string, Tensor>;
  /** Outputs in graph order. */
  outputList: Tensor[];
  receipt: Receipt;
  /** The committed trace leaves (what disputes are answered from); empty for a lazy receipt. */
  leaves: Uint8Array[];
  /** The durable record (already on disk). */
  record: ReceiptRecord;
}

/** What a mode handler gets. */
export interface ModeContext {
  prepared: PreparedRequest;
  service: InferenceService;
  records: RecordStore;
  peers: PeerService;
  models: ModelService;
  identity: NodeIdentity;
  config: NodeConfig;
  metrics: NodeMetrics;
  log: FastifyBaseLogger;
}

export type ModeHandler = (req: InferRequest, ctx: ModeContext) => Promise<InferResponse>;

/** Inputs kept in the record (for watchers) when they hold at most this many elements. */
export const RECORD_INPUTS_MAX_ELEMENTS = 262_144;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mode `none`: one node runs the model and returns outputs + its signed receipt; the record is `final` at once. */
export const noneMode: ModeHandler = async (req, ctx) => {
  const r = await ctx.service.execute(ctx.prepared.model, ctx.prepared.inputs, {
    deadline: ctx.prepared.deadline,
    mode: 'none',
    modelRef: req.model,
    requestId: req.requestId,
    status: 'final',
  });
  return ctx.service.response('final', r);
};

export interface InferenceDeps {
  config: NodeConfig;
  identity: NodeIdentity;
  models: ModelService;
  records: RecordStore;
  peers: PeerService;
  metrics: NodeMetrics;
  log: FastifyBaseLogger;
  byzantine?: Byzantine;
  /** Testing only: hold each execution slot this long before running. */
  testDelayMs?: number;
}

export class InferenceService {
  readonly modes = new Map<string, ModeHandler>([['none', noneMode]]);
  readonly limiter: Limiter;

  constructor(readonly deps: InferenceDeps) {
    const l = deps.config.limits;
    this.limiter = new Limiter(l.maxConcurrent, l.maxQueue);
  }

  registerMode(name: string, handler: ModeHandler): void {
    this.modes.set(name, handler);
  }

  private refuse(e: VerinferError): VerinferError {
    this.deps.metrics.refusals.inc({ code: e.code });
    return e;
  }

  /**
   * Validates a request against the model and the limits, without running it:
   * TOO_MANY_ELEMENTS (before any tensor is built), MODEL_NOT_FOUND, input
   * errors (400), TOO_EXPENSIVE.
   */
  async prepare(ref: string, rawInputs: Record<string, unknown>, arrival = Date.now()): Promise<PreparedRequest> {
    const limits = this.deps.config.limits;
    const deadline = arrival + limits.timeoutMs;
    const perInput: Record<string, number> = {};
    let elements = 0;
    for (const [name, v] of Object.entries(rawInputs)) {
      const n = countElements(v, limits.maxElements - elements);
      perInput[name] = n;
      elements += n;
      if (elements > limits.maxElements) {
        throw this.refuse(
          new HttpError('TOO_MANY_ELEMENTS', `the inputs hold more than ${limits.maxElements} elements, the most this node accepts per request`, {
            maxElements: limits.maxElements,
            input: name,
          }),
        );
      }
    }
    const model = await this.deps.models.load(ref);
    const declared = new Map(model.session.model.graph.inputs.map((i) => [i.name, i]));
    const inputs: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(rawInputs)) {
      const info = declared.get(name);
      if (!info) {
        throw new HttpError('UNKNOWN_INPUT', `the model has no input named ${name}`, { input: name, expected: model.session.inputs.map((i) => i.name) });
      }
      const dt = info.dtype !== undefined && isDType(info.dtype) ? info.dtype : undefined;
      try {
        inputs[name] = tensorFromJson(v, dt, name, model.session.maxTensorBytes);
      } catch (e) {
        if (e instanceof VerinferError && e.code === 'INVALID_INPUT_FILE') throw new HttpError('INVALID_TENSOR', e.message, e.details);
        throw e;
      }
    }
    const flops = estimateFlops(model.flops, model.inputs, perInput);
    if (flops > limits.maxFlops) {
      throw this.refuse(
        new HttpError('TOO_EXPENSIVE', `this request needs an estimated ${flops.toExponential(2)} FLOPs; this node accepts at most ${limits.maxFlops.toExponential(2)}`, {
          flops,
          maxFlops: limits.maxFlops,
          flopsAtBatch1: model.flops,
        }),
      );
    }
    return { ref, model, inputs, elements, flops, deadline };
  }

  /**
   * Runs the model on inputs in a concurrency slot (NODE_BUSY when the queue is
   * full, INFERENCE_TIMEOUT past the deadline, checked between nodes), signs a
   * receipt and writes the record durably. Byzantine nodes tamper here.
   */
  async execute(model: LoadedModel, inputs: Record<string, Tensor>, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const { config, identity, metrics, records, byzantine } = this.deps;
    const deadline = opts.deadline ?? Date.now() + config.limits.timeoutMs;
    if (opts.requestId && (await records.get(opts.requestId))) {
      throw new HttpError('INVALID_REQUEST', `request id ${opts.requestId} is already used by a receipt of this node`, { requestId: opts.requestId });
    }
    let release: () => void;
    metrics.queued.set(this.limiter.waiting + 1);
    try {
      release = await this.limiter.acquire(deadline);
    } catch (e) {
      if (e instanceof VerinferError) this.refuse(e);
      throw e;
    } finally {
      metrics.queued.set(this.limiter.waiting);
    }
    metrics.inflight.set(this.limiter.running);
    const mode = opts.mode ?? 'none';
    const t0 = performance.now();
    try {
      if (this.deps.testDelayMs) await sleep(this.deps.testDelayMs);
      const session = model.session;
      const input = toHexBytes(inputDigest(session, inputs));
      const tamper = byzantine?.tamper(session);
      const budget = config.limits.timeoutMs;
      const check = () => {
        if (Date.now() > deadline) throw timeoutError(deadline, 'running the model', budget);
      };
      check();
      const elements = Object.values(inputs).reduce((n, t) => n + t.size, 0);
      // Lazy receipts (--trace lazy) need the inputs kept to commit later: larger requests get an eager receipt.
      const lazy = config.trace === 'lazy' && elements <= RECORD_INPUTS_MAX_ELEMENTS;
      const runOptions: RunOptions = { trace: !lazy, onNode: check, ...(tamper ? { afterNode: tamper } : {}) };
      const result = session.run(inputs, runOptions);
      const leaves = result.trace?.leaves ?? [];
      const issuedAt = Math.floor(Date.now() / 1000);
      const requestId = (opts.requestId?.toLowerCase() as Hex | undefined) ?? toHexBytes(crypto.getRandomValues(new Uint8Array(32)));
      const receipt = await signReceipt(
        {
          modelCid: model.cid,
          chainId: config.chainId,
          message: {
            model: toHexBytes(model.digest),
            input,
            output: toHexBytes(tensorListDigest(result.outputList)),
            traceRoot: lazy ? LAZY_TRACE_ROOT : toHexBytes(result.trace!.root),
            semantics: SEMANTICS_VERSION,
            requestId,
            issuedAt,
            expiresAt: issuedAt + config.receiptTtlSeconds,
          },
        },
        identity.account,
      );
      const now = Date.now();
      const record: ReceiptRecord = {
        schema: RECORD_SCHEMA,
        requestId,
        status: opts.status ?? 'final',
        mode,
        role: 'executor',
        modelCid: model.cid,
        modelRef: opts.modelRef,
        inputDigest: input,
        receipt,
        leaves: leaves.map(toHexBytes),
        ...(lazy ? { trace: 'lazy' as const } : {}),
        inputs: elements <= RECORD_INPUTS_MAX_ELEMENTS ? Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tensorToJson(t)])) : undefined,
        createdAt: now,
        updatedAt: now,
        finalizesAt: opts.finalizesAt,
        extra: opts.extra,
        byzantine: byzantine?.extras(session, inputs),
      };
      if (!record.byzantine) delete record.byzantine;
      await records.create(record);
      metrics.inferenceSeconds.observe({ mode }, (performance.now() - t0) / 1000);
      return { outputs: result.outputs, outputList: result.outputList, receipt, leaves, record };
    } finally {
      release();
      metrics.inflight.set(this.limiter.running);
    }
  }

  /** The response body for one executed receipt. */
  response(status: InferStatus, r: ExecuteResult, extra: Partial<InferResponse> = {}): InferResponse {
    const outputs: Record<string, TensorJson> = {};
    for (const [name, t] of Object.entries(r.outputs)) outputs[name] = tensorToJson(t);
    return { status, requestId: r.record.requestId, model: r.record.modelCid, outputs, receipts: [r.receipt], faults: [], ...extra };
  }

  /** The whole request: mode lookup, prepare, the mode's handler. */
  async infer(req: InferRequest, ctx: Omit<ModeContext, 'prepared' | 'service'>, arrival = Date.now()): Promise<InferResponse> {
    const handler = this.modes.get(req.mode);
    if (!handler) {
      throw new HttpError('MODE_UNSUPPORTED', `this node does not serve mode ${JSON.stringify(req.mode)}; it serves ${[...this.modes.keys()].join(', ')}`, {
        mode: req.mode,
        supported: [...this.modes.keys()],
      });
    }
    const prepared = await this.prepare(req.model, req.inputs, arrival);
    return handler(req, { ...ctx, prepared, service: this });
  }
}
