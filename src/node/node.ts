import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import { SEMANTICS_VERSION } from '../engine/session.js';
import { VerinferError } from '../errors.js';
import { traceResponder, type DisputeAnswer, type DisputeMessage } from '../proof/bisection.js';
import { signTraceCommitment, type SignedTraceCommitment } from '../proof/commitment.js';
import { leafHash, subtreeRoot } from '../hash/merkle.js';
import { verifyFraudProof, type FraudVerdict } from '../proof/fraud.js';
import { parseReceipt } from '../proof/receipt.js';
import { verifyReceipt, type VerifyResult } from '../proof/verify.js';
import { fromHex, toHexBytes } from '../proof/wire.js';
import { fetchModel } from '../store/fetch.js';
import { ModelStore } from '../store/store.js';
import { isDType } from '../tensor/dtype.js';
import { tensorFromJson } from '../tensor/json.js';
import type { Tensor } from '../tensor/tensor.js';
import { Byzantine } from './byzantine.js';
import { resolveConfig, type NodeConfig, type NodeConfigInput } from './config.js';
import { HttpError } from './http-errors.js';
import { loadIdentity, type NodeIdentity } from './identity.js';
import { InferenceService } from './inference.js';
import { countElements } from './limits.js';
import { NodeMetrics } from './metrics.js';
import { ModelService } from './models.js';
import { PeerService, proofId, signAnnouncement, verifyAnnouncement, type Announcement } from './peers.js';
import { RecordStore, type ReceiptRecord } from './records.js';
import { postJson } from './remote.js';
import { buildRoutes } from './server.js';
import { registerVerificationModes, type VerificationModes } from './modes/index.js';

export const NODE_VERSION = '0.1.0';

export interface FraudProofOutcome {
  verdict: FraudVerdict;
  /** sha256 of the proof's canonical JSON. */
  id: string;
  /** True if this node had not recorded this proof before. */
  recorded: boolean;
  /** True if the proof was already known (not verified again). */
  known: boolean;
}

export interface VerinferNodeOptions extends NodeConfigInput {
  /** Testing only: hold each inference slot this long (VERINFER_TEST_INFER_DELAY_MS). */
  testInferDelayMs?: number;
  /** A logger to use instead of building one from logLevel/logFile. */
  logger?: FastifyBaseLogger;
}

/**
 * One node: identity, store, services and the HTTP app (README.md).
 * `createNode` opens everything; `listen` binds and announces; `close` shuts
 * down gracefully (stop accepting, finish in-flight requests, close).
 */
export class VerinferNode {
  readonly app: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly metrics: NodeMetrics;
  readonly models: ModelService;
  readonly records: RecordStore;
  readonly peers: PeerService;
  readonly inference: InferenceService;
  readonly byzantine?: Byzantine;
  /** The API base URL peers use; set by `listen`. */
  url = '';
  closing = false;
  private announceTimer?: NodeJS.Timeout;
  /** Modes replicated and optimistic, the watcher and the challenge-window sweeper (src/node/modes). */
  verification?: VerificationModes;
  private readonly startupTimers: NodeJS.Timeout[] = [];
  private readonly responders = new Map<string, (q: DisputeMessage) => DisputeAnswer>();
  /** Lazy receipts whose trace is being recomputed for a commitment (one re-execution per receipt). */
  private readonly committing = new Map<string, Promise<SignedTraceCommitment>>();

  private constructor(
    readonly config: NodeConfig,
    readonly identity: NodeIdentity,
    readonly store: ModelStore,
    nodeDir: string,
    options: VerinferNodeOptions,
  ) {
    const l = config.limits;
    this.app = Fastify({
      logger: options.logger
        ? undefined
        : { level: config.logLevel, ...(config.logFile ? { file: config.logFile } : {}), base: { node: identity.address } },
      loggerInstance: options.logger,
      bodyLimit: l.maxBodyBytes,
      // slow or stalled clients: the whole request must arrive within this time
      requestTimeout: Math.max(60_000, l.timeoutMs * 2),
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      onProtoPoisoning: 'error',
      onConstructorPoisoning: 'error',
    }) as unknown as FastifyInstance;
    this.log = this.app.log;
    this.metrics = new NodeMetrics();
    this.models = new ModelService(store, l.sessionCacheSize);
    this.records = new RecordStore(nodeDir);
    this.peers = new PeerService(nodeDir, this.records.tmpDir, identity.address, config.peers);
    this.byzantine = config.byzantine ? new Byzantine(config.byzantine) : undefined;
    this.inference = new InferenceService({
      config,
      identity,
      models: this.models,
      records: this.records,
      peers: this.peers,
      metrics: this.metrics,
      log: this.log,
      byzantine: this.byzantine,
      testDelayMs: options.testInferDelayMs,
    });
    this.models.fetcher = (cid) => this.fetchFromPeers(cid);
  }

  static async create(options: VerinferNodeOptions): Promise<VerinferNode> {
    const config = resolveConfig(options);
    const store = await ModelStore.open(config.dataDir);
    const identity = loadIdentity(store.dir, config.keyFile);
    const nodeDir = join(store.dir, 'node');
    await mkdir(nodeDir, { recursive: true, mode: 0o700 });
    const node = new VerinferNode(config, identity, store, nodeDir, options);
    await node.records.init();
    await node.peers.init();
    buildRoutes(node);
    node.verification = await registerVerificationModes(node);
    return node;
  }

  get address(): Address {
    return this.identity.address;
  }

  // ---------------------------------------------------------------------------
  // Lifecycle

  /** Binds, then announces itself to the seeds and known peers (and periodically after). */
  async listen(): Promise<string> {
    await this.app.listen({ host: this.config.host, port: this.config.port });
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.config.port;
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
    this.url = (this.config.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '');
    this.metrics.peers.set(this.peers.size);
    if (this.byzantine) this.log.warn({ strategy: this.byzantine.strategy }, 'BYZANTINE node: cheating on every inference (devnet/testing only)');
    void this.announceAll();
    // Peers started at the same moment may not be listening yet: try again shortly after.
    for (const ms of [1000, 3000]) this.startupTimers.push(setTimeout(() => void this.announceAll(), ms).unref());
    if (this.config.announceIntervalMs > 0) {
      this.announceTimer = setInterval(() => void this.announceAll(), this.config.announceIntervalMs);
      this.announceTimer.unref();
    }
    return this.url;
  }

  /** Stops accepting, fails queued inferences with SHUTTING_DOWN, lets running requests finish, closes. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.announceTimer) clearInterval(this.announceTimer);
    this.verification?.stop();
    for (const t of this.startupTimers) clearTimeout(t);
    this.inference.limiter.drain(new HttpError('SHUTTING_DOWN', 'the node is shutting down; retry on another node', {}));
    await this.app.close();
  }

  // ---------------------------------------------------------------------------
  // Peers

  async announcement(): Promise<Announcement> {
    return signAnnouncement(this.identity.account, { endpoint: this.url, models: await this.models.hosted() });
  }

  /** Announces this node to every seed and known peer; learns them from their replies. Never throws. */
  async announceAll(): Promise<void> {
    if (!this.url || this.closing) return;
    const mine = await this.announcement();
    await Promise.all(
      this.peers.endpoints().map(async (url) => {
        if (url === this.url) return;
        try {
          const r = await postJson<{ accepted: boolean; self?: unknown }>(`${url}/v1/peers/announce`, mine, { timeoutMs: 5000 });
          if (r?.self) await this.acceptAnnouncement(r.self).catch((e) => this.log.warn({ url, err: (e as Error).message }, 'peer sent an invalid announcement'));
        } catch (e) {
          this.log.debug({ url, err: (e as Error).message }, 'announce failed');
        }
      }),
    );
  }

  /** Verifies and stores a peer's announcement (ANNOUNCEMENT_INVALID otherwise). */
  async acceptAnnouncement(json: unknown): Promise<{ accepted: boolean; announcement: Announcement }> {
    const a = await verifyAnnouncement(json);
    const accepted = await this.peers.accept(a);
    this.metrics.peers.set(this.peers.size);
    return { accepted, announcement: a };
  }

  /** Fetches a model by CID from peers that announced it (verified block by block, then pinned). */
  private async fetchFromPeers(cid: string): Promise<void> {
    const from = this.peers.routable(cid).map((e) => e.announcement.endpoint);
    if (from.length === 0) {
      throw new VerinferError('MODEL_NOT_FOUND', `model ${cid} is not in this node's store and no peer announced it`, { cid });
    }
    this.log.info({ cid, from }, 'fetching model from peers');
    await fetchModel(this.store, cid, { from, timeoutMs: 15_000, retries: 1 });
  }

  // ---------------------------------------------------------------------------
  // Receipts, verification, disputes, fraud proofs

  /** Parses JSON inputs for a loaded model, enforcing the element limit. */
  private async inputsFor(modelCid: string, raw: Record<string, unknown>): Promise<{ inputs: Record<string, Tensor>; bytes: Uint8Array; session: import('../engine/session.js').Session }> {
    const max = this.config.limits.maxElements;
    let total = 0;
    for (const v of Object.values(raw)) {
      total += countElements(v, max - total);
      if (total > max) throw new HttpError('TOO_MANY_ELEMENTS', `the inputs hold more than ${max} elements, the most this node accepts per request`, { maxElements: max });
    }
    const m = await this.models.load(modelCid);
    const inputs: Record<string, Tensor> = {};
    for (const [name, v] of Object.entries(raw)) {
      const info = m.session.model.graph.inputs.find((i) => i.name === name);
      const dt = info?.dtype !== undefined && isDType(info.dtype) ? info.dtype : undefined;
      try {
        inputs[name] = tensorFromJson(v, dt, name, m.session.maxTensorBytes);
      } catch (e) {
        if (e instanceof VerinferError && e.code === 'INVALID_INPUT_FILE') throw new HttpError('INVALID_TENSOR', e.message, e.details);
        throw e;
      }
    }
    return { inputs, bytes: m.bytes, session: m.session };
  }

  /** Verifies any receipt by re-execution (the model is loaded, or fetched from peers, by the receipt's CID) and logs the check. */
  async verify(receiptJson: unknown, rawInputs: Record<string, unknown>): Promise<VerifyResult> {
    let modelCid: string;
    try {
      modelCid = parseReceipt(receiptJson).modelCid;
    } catch {
      // verifyReceipt reports the failing schema check without touching the model
      const r = await verifyReceipt({ receipt: receiptJson, modelBytes: new Uint8Array(), inputs: {} });
      this.metrics.verifications.inc({ kind: 'receipt', outcome: 'invalid' });
      return r;
    }
    const { inputs, bytes, session } = await this.inputsFor(modelCid, rawInputs);
    const release = await this.inference.limiter.acquire(Date.now() + this.config.limits.timeoutMs);
    let result: VerifyResult;
    try {
      result = await verifyReceipt({ receipt: receiptJson, modelBytes: bytes, inputs, session });
    } finally {
      release();
    }
    const m = (receiptJson as { typedData?: { message?: { requestId?: string; executor?: string } } }).typedData?.message;
    this.metrics.verifications.inc({ kind: 'receipt', outcome: result.valid ? 'valid' : 'invalid' });
    await this.records.appendCheck({
      kind: 'verify',
      at: Date.now(),
      requestId: m?.requestId,
      executor: m?.executor,
      modelCid,
      valid: result.valid,
      failed: result.checks.filter((c) => !c.ok).map((c) => c.name),
    });
    return result;
  }

  /**
   * Answers one dispute question about a receipt this node issued: the
   * bisection from its stored trace leaves; for a lazy receipt, first
   * `{type: 'commit'}`, answered by re-running the request from the stored
   * inputs with trace (once; the leaves and the signed commitment are then
   * stored in the record and every later 'commit' gets the same answer).
   */
  async answerDispute(requestId: string, q: DisputeMessage): Promise<DisputeAnswer> {
    let record = await this.records.require(requestId);
    if (q.type === 'commit') {
      if (record.trace !== 'lazy' || record.role !== 'executor') {
        this.metrics.disputes.inc({ role: 'executor', outcome: 'rejected' });
        throw new HttpError('DISPUTE_INVALID', 'this receipt signs its trace root: there is nothing to commit; ask for the bisection directly', { query: q });
      }
      const signed = await this.commitLazy(record);
      this.metrics.disputes.inc({ role: 'executor', outcome: 'answered' });
      return { type: 'commitment', ...signed };
    }
    if (record.trace === 'lazy' && !record.commitment) {
      // the commitment may be being computed for another challenger: wait for it
      const pending = this.committing.get(record.requestId);
      if (pending) {
        await pending.catch(() => {});
        record = await this.records.require(requestId);
      }
      if (!record.commitment) {
        this.metrics.disputes.inc({ role: 'executor', outcome: 'rejected' });
        throw new HttpError('DISPUTE_INVALID', 'this receipt is lazy: send {"type": "commit"} first to obtain the trace commitment', { query: q });
      }
    }
    let respond = this.responders.get(record.requestId);
    const n = record.leaves.length;
    if (q.type === 'open' ? !(q.lo < q.hi && q.hi <= n && q.hi - q.lo >= 2) : q.index >= n) {
      this.metrics.disputes.inc({ role: 'executor', outcome: 'rejected' });
      throw new HttpError('DISPUTE_INVALID', `the query ${JSON.stringify(q)} is outside the trace of ${n} leaves`, { query: q, traceSize: n });
    }
    if (!respond) {
      // Honest nodes answer from the leaves they committed to; see byzantine.ts for the liar.
      respond = traceResponder(Byzantine.answerLeaves(record).map((h) => fromHex(h, 'leaf')));
      this.responders.set(record.requestId, respond);
      while (this.responders.size > 32) this.responders.delete(this.responders.keys().next().value!);
    }
    this.metrics.disputes.inc({ role: 'executor', outcome: 'answered' });
    return respond(q);
  }

  /**
   * The trace commitment of a lazy receipt: re-runs the request from the
   * inputs in its record (in an inference slot; a byzantine node tampers as it
   * did when signing), signs the root with the node key, and stores leaves and
   * commitment durably before answering.
   */
  private commitLazy(record: ReceiptRecord): Promise<SignedTraceCommitment> {
    if (record.commitment) return Promise.resolve(record.commitment);
    const id = record.requestId;
    let p = this.committing.get(id);
    if (p) return p;
    p = (async () => {
      if (!record.inputs) throw new VerinferError('INTERNAL_ERROR', `lazy receipt ${id} has no stored inputs to commit from`, { requestId: id });
      const { inputs, session } = await this.inputsFor(record.modelCid, record.inputs);
      const release = await this.inference.limiter.acquire(Date.now() + this.config.limits.timeoutMs);
      let leaves: Uint8Array[];
      try {
        const tamper = this.byzantine?.tamper(session);
        leaves = session.run(inputs, { trace: true, ...(tamper ? { afterNode: tamper } : {}) }).trace!.leaves;
      } finally {
        release();
      }
      const signed = await signTraceCommitment(record.receipt, subtreeRoot(leaves.map(leafHash)), this.identity.account);
      await this.records.update(id, (r) => {
        r.leaves = leaves.map(toHexBytes);
        r.commitment = signed;
      });
      this.responders.delete(id);
      this.log.info({ requestId: id, traceSize: leaves.length }, 'lazy receipt: trace committed for a dispute');
      return signed;
    })().finally(() => this.committing.delete(id));
    this.committing.set(id, p);
    return p;
  }

  /**
   * Decides a fraud proof (verifyFraudProof with the model bytes from the
   * store, fetched from peers if missing). If accepted: records the cheater
   * durably (reputation + proof file), marks this node's own receipt failed
   * if it is the cheater, and gossips the proof to the peers. A proof already
   * recorded is not verified again (gossip dedupe).
   */
  async submitFraudProof(proof: unknown, source = 'gossip'): Promise<FraudProofOutcome> {
    const id = proofId(proof);
    if (this.peers.knowsProof(id)) {
      const executor = (proof as { receipt?: { typedData?: { message?: { executor?: string } } } }).receipt?.typedData?.message?.executor;
      const rep = executor ? this.peers.reputation(executor) : undefined;
      const known = rep?.proofs.find((p) => p.id === id);
      return {
        id,
        recorded: false,
        known: true,
        verdict: { accepted: true, code: (known?.code ?? 'NODE_OUTPUT_WRONG') as FraudVerdict['code'], reason: 'already recorded', executor: rep?.address, node: known?.node },
      };
    }
    let modelCid: string | undefined;
    let requestId: string | undefined;
    let signature: string | undefined;
    try {
      const r = parseReceipt((proof as { receipt?: unknown }).receipt);
      modelCid = r.modelCid;
      requestId = r.typedData.message.requestId;
      signature = r.signature;
    } catch {
      /* verifyFraudProof rejects it as MALFORMED_PROOF without the model */
    }
    let verdict: FraudVerdict;
    if (modelCid) {
      const { bytes, session } = await this.models.bytes(modelCid);
      verdict = await verifyFraudProof(proof, bytes, { session });
    } else {
      verdict = await verifyFraudProof(proof, new Uint8Array());
    }
    this.metrics.fraudProofs.inc({ verdict: verdict.accepted ? 'accepted' : 'rejected' });
    let recorded = false;
    if (verdict.accepted && verdict.executor) {
      const r = await this.peers.recordCheater(verdict.executor, proof, { requestId, modelCid, code: verdict.code, node: verdict.node, source });
      recorded = r.isNew;
      // the receipt fails wherever it is held: this node's own, or one it watches (the same signed receipt; src/node/modes)
      const held = requestId ? await this.records.get(requestId).catch(() => undefined) : undefined;
      if (held && held.receipt.signature === signature) {
        await this.records
          .update(held.requestId, (rec: ReceiptRecord) => {
            rec.status = 'failed';
            rec.fraudProof = proof;
          })
          .catch(() => {});
      }
      this.log.warn({ executor: verdict.executor, code: verdict.code, node: verdict.node, requestId, source }, 'fraud proof accepted: peer caught cheating');
      if (recorded) void this.gossipFraudProof(proof);
    }
    await this.records.appendCheck({ kind: 'fraud-proof', at: Date.now(), id, requestId, modelCid, executor: verdict.executor, accepted: verdict.accepted, code: verdict.code, source });
    return { verdict, id, recorded, known: false };
  }

  /** Sends an accepted fraud proof to every known peer, the cheater included (fire and forget; receivers dedupe). */
  async gossipFraudProof(proof: unknown): Promise<void> {
    await Promise.all(
      this.peers.allEndpoints().filter((url) => url !== this.url).map((url) =>
        postJson(`${url}/v1/fraud-proofs`, proof, { timeoutMs: 10_000 }).catch((e) => this.log.debug({ url, err: (e as Error).message }, 'fraud proof gossip failed')),
      ),
    );
  }

  /** GET /v1/info. */
  async info(): Promise<Record<string, unknown>> {
    return {
      address: this.address,
      endpoint: this.url,
      version: NODE_VERSION,
      semantics: SEMANTICS_VERSION,
      chainId: this.config.chainId,
      models: await this.models.hosted(),
      peers: this.peers.size,
      modes: [...this.inference.modes.keys()],
      limits: this.config.limits,
    };
  }
}

/** Opens a node (store, key, records, peers, routes); call `listen()` to serve. */
export function createNode(options: VerinferNodeOptions): Promise<VerinferNode> {
  return VerinferNode.create(options);
}
