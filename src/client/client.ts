import type { Receipt } from '../proof/receipt.js';
import type { VerifyResult } from '../proof/verify.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkInferResponse, checkReceipts, type CheckedResult, type Fault, type InferStatus, type ModelIo, type ResultChecks } from './check.js';
import { ClientError, TRANSIENT_CODES } from './errors.js';
import { inputsToWire, wireToTensor, wireDType, type Inputs } from './tensors.js';

/**
 * The Verinfer client SDK: talks to one or several nodes over their HTTP API
 * (docs/node-api.md) with the global `fetch`, so it runs in Node 20+ and in
 * browsers alike (no `node:` imports).
 *
 * Failover: a request goes to the nodes in the order given; when a node is
 * unreachable, dies mid-request, times out, is busy or shutting down, fails
 * internally, or returns a result that does not check out, the next node is
 * tried (every request the SDK makes is idempotent; an inference retried
 * elsewhere is a new request with a new request id). Nodes that were just
 * unreachable move to the back of the order for a while.
 */

export interface ClientOptions {
  /** Node base URLs, in order of preference: an array or a comma-separated string. */
  nodes: string[] | string;
  /** Timeout of one HTTP request to one node, ms (default 60 000). */
  timeoutMs?: number;
  /**
   * Extra attempts after the first, cycling through the nodes (default: every
   * node once, and at least 2 retries). Retries only happen on transient errors.
   */
  retries?: number;
  /** A `fetch` implementation (default the global one). */
  fetch?: typeof fetch;
}

export type Mode = 'none' | 'replicated' | 'optimistic';

export interface InferOptions {
  /** A model name, name@version or CID. */
  model: string;
  inputs: Inputs;
  /** Verification mode (default `none`). */
  mode?: Mode | (string & {});
  /** Replicated mode: how many nodes must agree. */
  quorum?: number;
  /** Mode-specific options, passed through. */
  options?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface InferResult extends CheckedResult {
  /** Output tensors (with `dtype` and `shape`), by output name. */
  outputs: Record<string, Tensor>;
  /** The URL of the node that answered. */
  node: string;
  checks: ResultChecks;
}

export interface PublishOptions {
  name: string;
  version?: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: string[];
  signal?: AbortSignal;
}

export interface PublishResult {
  cid: string;
  name: string;
  version: string;
  created: boolean;
  author: string;
  report: Record<string, unknown>;
  [k: string]: unknown;
  /** The node that stored it. */
  node: string;
}

export interface ModelFilter {
  tag?: string;
  task?: string;
  search?: string;
}

export interface ReceiptRecordView {
  requestId: string;
  status: InferStatus | string;
  mode?: string;
  role?: string;
  model?: string;
  receipt: Receipt;
  fraudProof?: unknown;
  finalizesAt?: number;
  [k: string]: unknown;
  /** The node that answered. */
  node: string;
}

export interface PeersResult {
  self: { address: string; endpoint: string };
  peers: { address: string; endpoint?: string; models: string[]; reputation?: { caught: boolean; proofs: number; codes?: string[] }; [k: string]: unknown }[];
  node: string;
}

export interface WaitOptions {
  /** Give up after this long (default 120 000 ms): WAIT_TIMEOUT. */
  timeoutMs?: number;
  /** Poll interval (default 500 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface VerifyOptions {
  /** Verify offline against these model bytes (re-execution here) instead of asking a node. */
  modelBytes?: Uint8Array;
}

export interface Client {
  readonly nodes: readonly string[];
  /** GET /v1/info of the first node that answers. */
  info(): Promise<Record<string, unknown> & { node: string }>;
  /** Publishes ONNX bytes (to the first node that accepts them). */
  publish(bytes: Uint8Array, options: PublishOptions): Promise<PublishResult>;
  /** Runs a model; the result is checked locally before it is returned (see check.ts). */
  infer(options: InferOptions): Promise<InferResult>;
  /** Verifies a receipt: offline by re-execution when `modelBytes` are given, else via a node's POST /v1/verify. */
  verify(receipt: unknown, inputs: Inputs, options?: VerifyOptions | Uint8Array): Promise<VerifyResult & { node?: string }>;
  models(filter?: ModelFilter): Promise<{ models: Record<string, unknown>[]; problems?: unknown[]; node: string }>;
  model(ref: string): Promise<Record<string, unknown> & { node: string }>;
  /** A receipt record (status pending/final/failed, fraud proof) from whichever node holds it. */
  receipt(requestId: string): Promise<ReceiptRecordView>;
  peers(): Promise<PeersResult>;
  /** Polls a receipt until it is final or failed (optimistic mode). */
  waitFinal(requestId: string, options?: WaitOptions): Promise<ReceiptRecordView>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const PENALTY_MS = 30_000;

function normalizeNodes(nodes: string[] | string): string[] {
  const list = (Array.isArray(nodes) ? nodes : String(nodes ?? '').split(','))
    .map((s) => String(s).trim())
    .filter(Boolean);
  if (list.length === 0) throw new ClientError('INVALID_ARGUMENT', 'createClient: give at least one node URL', { nodes });
  return list.map((s) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new ClientError('INVALID_ARGUMENT', `not a node URL: ${s} (expected http://host:port)`, { node: s });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ClientError('INVALID_ARGUMENT', `not an http(s) URL: ${s}`, { node: s });
    return u.toString().replace(/\/+$/, '');
  });
}

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | string[] | undefined>;
  json?: unknown;
  bytes?: Uint8Array;
  signal?: AbortSignal;
  /** Node error codes (besides the transient ones) after which the next node is tried. */
  nextOn?: readonly string[];
  /** Nodes to try first (e.g. the one that issued a receipt). */
  prefer?: string;
  /** Checks/converts a 2xx body; a RESULT_REJECTED thrown here moves on to the next node. */
  accept?: (body: unknown, node: string) => Promise<unknown> | unknown;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

function describeFetchError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return cause ? `${err.message ?? 'fetch failed'} (${cause})` : (err?.message ?? String(e));
}

export function createClient(options: ClientOptions): Client {
  const nodes = normalizeNodes(options.nodes);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attemptsMax = Math.max(nodes.length, 1 + (options.retries ?? Math.max(2, nodes.length - 1)));
  const doFetch = options.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  /** Node URL → time until which it goes to the back of the order. */
  const penalty = new Map<string, number>();
  /** Request id → node that answered for it. */
  const issuedBy = new Map<string, string>();
  /** CID → the model's io signature (or undefined when unknown). */
  const ioCache = new Map<string, Promise<ModelIo | undefined>>();

  function order(prefer?: string): string[] {
    const now = Date.now();
    const ok = nodes.filter((n) => (penalty.get(n) ?? 0) <= now);
    const bad = nodes.filter((n) => (penalty.get(n) ?? 0) > now);
    const list = [...ok, ...bad];
    if (prefer) {
      const p = prefer.replace(/\/+$/, '');
      return [p, ...list.filter((n) => n !== p)];
    }
    return list;
  }

  /** One HTTP exchange with one node; typed errors for everything that can go wrong. */
  async function once(node: string, spec: RequestSpec): Promise<unknown> {
    const url = new URL(node + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, x);
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: BodyInit | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.bytes) {
      headers['content-type'] = 'application/octet-stream';
      body = spec.bytes as BodyInit;
    }
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, { method: spec.method, headers, body, signal });
      text = await res.text();
    } catch (e) {
      if (spec.signal?.aborted) throw spec.signal.reason ?? e;
      const timedOut = timeout.aborted;
      throw new ClientError(
        'NODE_UNREACHABLE',
        timedOut ? `${node} did not answer within ${timeoutMs} ms` : `cannot reach ${node}: ${describeFetchError(e)}`,
        { node, timeout: timedOut, ...(timedOut ? { timeoutMs } : {}) },
        { node },
      );
    }
    let parsed: unknown;
    let jsonOk = true;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      jsonOk = false;
    }
    if (!res.ok) {
      const err = jsonOk && parsed && typeof parsed === 'object' ? (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error : undefined;
      if (err && typeof err.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(err.code)) {
        const details = err.details && typeof err.details === 'object' ? { ...(err.details as Record<string, unknown>) } : {};
        const retryAfter = res.headers.get('retry-after');
        throw new ClientError(err.code as never, `${node}: ${typeof err.message === 'string' ? err.message : err.code}`, { ...details, node, ...(retryAfter ? { retryAfter } : {}) }, { status: res.status, node });
      }
      throw new ClientError('REQUEST_FAILED', `${node} answered ${spec.method} ${spec.path} with HTTP ${res.status}`, { node, status: res.status, body: text.slice(0, 200) }, { status: res.status, node });
    }
    if (!jsonOk) throw new ClientError('REQUEST_FAILED', `${node} answered ${spec.method} ${spec.path} with invalid JSON`, { node, status: res.status, body: text.slice(0, 200) }, { status: res.status, node });
    return spec.accept ? spec.accept(parsed, node) : parsed;
  }

  /** Tries the nodes in order until one succeeds; transient errors (and `nextOn` codes) move on. */
  async function request<T>(spec: RequestSpec): Promise<T & { node: string }> {
    const list = order(spec.prefer);
    const attempts: { node: string; code: string; message: string }[] = [];
    let last: ClientError | undefined;
    let best: ClientError | undefined;
    /** Nodes that gave a definitive answer (a `nextOn` code): not asked again. */
    const done = new Set<string>();
    for (let i = 0; i < Math.max(attemptsMax, list.length); i++) {
      const node = list[i % list.length]!;
      if (done.has(node)) {
        if (done.size === list.length) break;
        continue;
      }
      if (i > 0 && i % list.length === 0) await sleep(Math.min(2_000, 250 * (i / list.length)), spec.signal);
      try {
        const body = await once(node, spec);
        penalty.delete(node);
        const out = (body && typeof body === 'object' && !Array.isArray(body) ? body : { value: body }) as T & { node: string };
        Object.defineProperty(out, 'node', { value: node, enumerable: true, writable: true, configurable: true });
        return out;
      } catch (e) {
        if (!(e instanceof ClientError)) throw e;
        last = e;
        attempts.push({ node, code: e.code, message: e.message });
        if (e.code === 'NODE_UNREACHABLE' || e.code === 'RESULT_REJECTED') penalty.set(node, Date.now() + PENALTY_MS);
        else best = e;
        const transient = TRANSIENT_CODES.has(e.code) || (e.status !== undefined && (e.status >= 500 || e.status === 429));
        if (!transient && !(spec.nextOn ?? []).includes(e.code)) throw e;
        if (!transient) done.add(node);
        const retryAfter = Number(e.details.retryAfter);
        if (e.code === 'NODE_BUSY' && list.length === 1 && Number.isFinite(retryAfter)) await sleep(Math.min(5_000, retryAfter * 1000), spec.signal);
      }
    }
    // Prefer what a live node said (e.g. MODEL_NOT_FOUND) over "unreachable".
    const err = best ?? last!;
    if (attempts.length > 1) err.details.attempts = attempts;
    throw err;
  }

  async function modelIo(cid: string, node: string, ref: string): Promise<ModelIo | undefined> {
    const fromMeta = (info: unknown): ModelIo | undefined => {
      const meta = (info as { metadata?: { cid?: unknown; io?: ModelIo } } | undefined)?.metadata;
      if (!meta || meta.cid !== cid || !meta.io || !Array.isArray(meta.io.inputs) || !Array.isArray(meta.io.outputs)) return undefined;
      return { cid, inputs: meta.io.inputs, outputs: meta.io.outputs };
    };
    const get = (r: string) => once(node, { method: 'GET', path: `/v1/models/${encodeURIComponent(r)}` });
    const first = await get(ref === cid ? cid : ref);
    const io = fromMeta(first);
    if (io) return io;
    const named = (first as { namedBy?: unknown }).namedBy;
    if (Array.isArray(named) && typeof named[0] === 'string') return fromMeta(await get(named[named.length - 1]));
    return undefined;
  }

  const client: Client = {
    nodes,

    info: () => request({ method: 'GET', path: '/v1/info' }),

    async publish(bytes, o) {
      if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new ClientError('INVALID_ARGUMENT', 'publish: give the model as non-empty bytes (Uint8Array)', {});
      if (!o || typeof o.name !== 'string' || !o.name) throw new ClientError('INVALID_ARGUMENT', 'publish: a name is required', {});
      // Publishing is idempotent (content-addressed, immutable versions): safe to retry elsewhere.
      return request<PublishResult>({
        method: 'POST',
        path: '/v1/models',
        query: { name: o.name, version: o.version, description: o.description, task: o.task, license: o.license, tag: o.tags?.length ? o.tags : undefined },
        bytes,
        signal: o.signal,
      });
    },

    async infer(o) {
      if (!o || typeof o.model !== 'string' || !o.model) throw new ClientError('INVALID_ARGUMENT', 'infer: a model (name, name@version or CID) is required', {});
      const wire = inputsToWire(o.inputs);
      const mode = o.mode ?? 'none';
      if (o.quorum !== undefined && (!Number.isSafeInteger(o.quorum) || o.quorum < 1)) {
        throw new ClientError('INVALID_ARGUMENT', `infer: quorum must be a positive integer, got ${o.quorum}`, { quorum: o.quorum });
      }
      const body = { model: o.model, inputs: wire, mode, ...(o.quorum !== undefined ? { quorum: o.quorum } : {}), ...(o.options ? { options: o.options } : {}) };
      const res = await request<InferResult>({
        method: 'POST',
        path: '/v1/infer',
        json: body,
        signal: o.signal,
        nextOn: ['MODEL_NOT_FOUND', 'MODE_UNSUPPORTED', 'TOO_EXPENSIVE', 'TOO_MANY_ELEMENTS', 'BODY_TOO_LARGE'],
        accept: (b, node) =>
          checkInferResponse(b, {
            node,
            model: o.model,
            inputs: wire,
            io: (cid) => {
              let p = ioCache.get(cid);
              if (!p) {
                p = modelIo(cid, node, o.model).catch(() => undefined);
                ioCache.set(cid, p);
                void p.then((v) => v === undefined && ioCache.delete(cid));
              }
              return p;
            },
          }),
      });
      for (const r of res.receipts) issuedBy.set(r.typedData.message.requestId, res.node);
      if (res.requestId) issuedBy.set(res.requestId.toLowerCase(), res.node);
      return res;
    },

    async verify(receipt, inputs, opt) {
      const modelBytes = opt instanceof Uint8Array ? opt : opt?.modelBytes;
      const wire = inputsToWire(inputs);
      if (modelBytes) {
        // Offline: re-execute here. Loaded lazily so that apps that never verify offline do not load the engine.
        const [{ createSession }, { verifyReceipt }, { isDType, dtypeName }] = await Promise.all([
          import('../engine/session.js'),
          import('../proof/verify.js'),
          import('../tensor/dtype.js'),
        ]);
        let session;
        try {
          session = createSession(modelBytes);
        } catch {
          return verifyReceipt({ receipt, modelBytes, inputs: {} });
        }
        const tensors: Record<string, Tensor> = {};
        for (const [name, w] of Object.entries(wire)) {
          const declared = session.model.graph.inputs.find((i) => i.name === name);
          const dt = wireDType(w) ?? (declared?.dtype !== undefined && isDType(declared.dtype) ? dtypeName(declared.dtype) : undefined);
          tensors[name] = wireToTensor(name, w, dt);
        }
        return verifyReceipt({ receipt, modelBytes, inputs: tensors, session });
      }
      return request<VerifyResult>({ method: 'POST', path: '/v1/verify', json: { receipt, inputs: wire }, nextOn: ['MODEL_NOT_FOUND'] });
    },

    models: (filter = {}) => request({ method: 'GET', path: '/v1/models', query: { tag: filter.tag, task: filter.task, search: filter.search } }),

    model: (ref) => request({ method: 'GET', path: `/v1/models/${encodeURIComponent(ref)}`, nextOn: ['MODEL_NOT_FOUND'] }),

    async receipt(requestId) {
      const id = String(requestId).toLowerCase();
      if (!/^0x[0-9a-f]{64}$/.test(id)) throw new ClientError('INVALID_ARGUMENT', `a request id is 0x followed by 64 hex digits, got ${JSON.stringify(requestId)}`, { requestId });
      return request<ReceiptRecordView>({
        method: 'GET',
        path: `/v1/receipts/${id}`,
        prefer: issuedBy.get(id),
        nextOn: ['RECEIPT_NOT_FOUND'],
        accept: async (b, node) => {
          const rec = b as ReceiptRecordView;
          const ctx = { node, model: '', inputs: {}, io: async () => undefined };
          if (!rec || typeof rec !== 'object' || !rec.receipt) throw new ClientError('RESULT_REJECTED', `${node} returned a receipt record without a receipt`, { reason: 'malformed', node }, { node });
          const { receipts } = await checkReceipts([rec.receipt], ctx);
          if (receipts[0]!.typedData.message.requestId !== id) {
            throw new ClientError('RESULT_REJECTED', `${node} returned the receipt of another request`, { reason: 'request-id', node }, { node });
          }
          return { ...rec, receipt: receipts[0]! };
        },
      });
    },

    peers: () => request({ method: 'GET', path: '/v1/peers' }),

    async waitFinal(requestId, w = {}) {
      const timeout = w.timeoutMs ?? 120_000;
      const interval = w.intervalMs ?? 500;
      const end = Date.now() + timeout;
      let last: ReceiptRecordView | undefined;
      for (;;) {
        last = await client.receipt(requestId);
        if (last.status === 'final' || last.status === 'failed' || last.status === 'verified') return last;
        const left = end - Date.now();
        if (left <= 0) {
          throw new ClientError('WAIT_TIMEOUT', `receipt ${requestId} is still ${last.status} after ${timeout} ms`, {
            requestId,
            status: last.status,
            ...(last.finalizesAt !== undefined ? { finalizesAt: last.finalizesAt } : {}),
          });
        }
        // Poll until the challenge window closes, not much past it.
        const untilFinal = typeof last.finalizesAt === 'number' ? last.finalizesAt - Date.now() + 50 : interval;
        await sleep(Math.max(50, Math.min(interval, left, untilFinal > 0 ? untilFinal : interval)), w.signal);
      }
    },
  };
  return client;
}

export type { CheckedResult, Fault, InferStatus, ModelIo, ResultChecks };
