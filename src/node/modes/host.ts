import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import { SEMANTICS_VERSION, type Session } from '../../engine/session.js';
import { VerinferError } from '../../errors.js';
import { leafHash, subtreeRoot } from '../../hash/merkle.js';
import { sha256 } from '../../hash/sha256.js';
import { isLazyReceipt } from '../../proof/commitment.js';
import { challengeReceipt, honestRun, type ChallengerRun, type DisputeOutcome } from '../../proof/dispute.js';
import { parseReceipt, recoverReceiptSigner, type Receipt } from '../../proof/receipt.js';
import { fromHex, toHexBytes, type Hex } from '../../proof/wire.js';
import { tensorListDigest } from '../../tensor/canonical.js';
import { isDType } from '../../tensor/dtype.js';
import { tensorFromJson } from '../../tensor/json.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { NodeConfig } from '../config.js';
import { HttpError } from '../http-errors.js';
import type { NodeIdentity } from '../identity.js';
import type { InferenceService } from '../inference.js';
import { countElements } from '../limits.js';
import type { NodeMetrics } from '../metrics.js';
import type { LoadedModel, ModelService } from '../models.js';
import type { PeerService } from '../peers.js';
import type { RecordStore } from '../records.js';
import { disputeResponder } from '../remote.js';

/**
 * What the verification modes need from the node (VerinferNode satisfies it
 * structurally; tests may pass a smaller fake). Kept narrow so the modes do
 * not depend on the node's internals.
 */
export interface ModesHost {
  readonly app: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly config: NodeConfig;
  readonly identity: NodeIdentity;
  readonly metrics: NodeMetrics;
  readonly models: ModelService;
  readonly records: RecordStore;
  readonly peers: PeerService;
  readonly inference: InferenceService;
  /** The node's public base URL (set once it listens). */
  readonly url: string;
  readonly address: Address;
  readonly closing: boolean;
  /** Verifies a fraud proof; if accepted records the cheater, fails the receipt it holds, gossips the proof. */
  submitFraudProof(proof: unknown, source?: string): Promise<{ verdict: { accepted: boolean; code: string; reason: string }; id: string; recorded: boolean }>;
}

/** One node proven (or caught) wrong, as it appears in an inference response's `faults`. */
export interface Fault {
  /** The faulty executor's address. */
  node: string;
  endpoint?: string;
  /** A `verinfer-fraud-proof/1` any node can check with one operator; null when the dispute ended without one (EXECUTOR_FAILED). */
  fraudProof: unknown;
  /** The fraud-proof verdict code (NODE_OUTPUT_WRONG, OUTPUT_MISMATCH...), or EXECUTOR_FAILED. */
  code: string;
  reason: string;
  /** sha256 of the proof's canonical JSON (what /v1/peers reputation lists). */
  proofId?: string;
}

/** Schema of the local evidence recorded for a dispute the executor lost without a transferable fraud proof. */
export const DISPUTE_FAILURE_SCHEMA = 'verinfer-dispute-failure/1';

export const randomRequestId = (): Hex => toHexBytes(crypto.getRandomValues(new Uint8Array(32)));

export const errMessage = (e: unknown): string =>
  e instanceof VerinferError ? `${e.code}: ${e.message}` : ((e as Error)?.message ?? String(e));

/** What a replica or a watched receipt must match to be comparable with this node's own execution. */
export interface ReceiptExpectation {
  /** Announced address the signature must recover to (replicated: the peer asked). */
  executor?: string;
  model: LoadedModel;
  /** Hex input digest of the request. */
  input?: Hex;
  requestId?: Hex;
  chainId?: number;
}

/**
 * Parses a receipt and checks everything except the result itself: schema,
 * signature recovering to `message.executor` (and to `expect.executor`), the
 * model (CID and digest), the input digest, the request id, the semantics
 * version and the chain id. Returns the reason it is unusable, or the receipt.
 */
export async function checkReceipt(json: unknown, expect: ReceiptExpectation): Promise<{ ok: true; receipt: Receipt } | { ok: false; reason: string }> {
  let receipt: Receipt;
  try {
    receipt = parseReceipt(json);
  } catch (e) {
    return { ok: false, reason: errMessage(e) };
  }
  const m = receipt.typedData.message;
  let signer: string;
  try {
    signer = await recoverReceiptSigner(receipt);
  } catch (e) {
    return { ok: false, reason: `signature cannot be recovered: ${(e as Error).message}` };
  }
  if (signer.toLowerCase() !== m.executor.toLowerCase()) return { ok: false, reason: `signed by ${signer}, not by its executor ${m.executor}` };
  if (expect.executor && signer.toLowerCase() !== expect.executor.toLowerCase()) return { ok: false, reason: `signed by ${signer}, not by the announced address ${expect.executor}` };
  if (receipt.modelCid !== expect.model.cid || m.model !== toHexBytes(expect.model.digest)) return { ok: false, reason: `model ${receipt.modelCid} is not ${expect.model.cid}` };
  if (expect.input && m.input !== expect.input) return { ok: false, reason: `input digest ${m.input} is not the request's ${expect.input}` };
  if (expect.requestId && m.requestId !== expect.requestId) return { ok: false, reason: `request id ${m.requestId} is not ${expect.requestId}` };
  if (m.semantics !== SEMANTICS_VERSION) return { ok: false, reason: `semantics ${m.semantics} is not ${SEMANTICS_VERSION}` };
  if (expect.chainId !== undefined && receipt.typedData.domain.chainId !== expect.chainId) {
    return { ok: false, reason: `chain id ${receipt.typedData.domain.chainId} is not ${expect.chainId}` };
  }
  return { ok: true, receipt };
}

/** True when two receipts commit to the same result: identical output digest and trace root (output only if either is lazy: it signs no root). */
export function sameResult(a: Receipt, b: Receipt): boolean {
  const x = a.typedData.message;
  const y = b.typedData.message;
  return x.output === y.output && (x.traceRoot === y.traceRoot || isLazyReceipt(a) || isLazyReceipt(b));
}

/** True when an honest run matches what a receipt signed (a lazy receipt signs only the output). */
export function runMatches(run: ChallengerRun, receipt: Receipt): boolean {
  const m = receipt.typedData.message;
  if (toHexBytes(tensorListDigest(run.outputs)) !== m.output) return false;
  return isLazyReceipt(receipt) || toHexBytes(subtreeRoot(run.leaves.map(leafHash))) === m.traceRoot;
}

/** An honest traced run of `session` holding one of the node's inference slots (NODE_BUSY / INFERENCE_TIMEOUT as for requests). */
export async function honestRunInSlot(host: ModesHost, session: Session, inputs: Record<string, Tensor>, deadline = Date.now() + host.config.limits.timeoutMs): Promise<ChallengerRun> {
  const release = await host.inference.limiter.acquire(deadline);
  try {
    return honestRun(session, inputs);
  } finally {
    release();
  }
}

/** Turns JSON inputs into tensors for a model (element limit, declared dtypes); INVALID_TENSOR / UNKNOWN_INPUT / TOO_MANY_ELEMENTS. */
export function inputsFromJson(model: LoadedModel, raw: Record<string, unknown>, maxElements: number): Record<string, Tensor> {
  let total = 0;
  for (const v of Object.values(raw)) {
    total += countElements(v, maxElements - total);
    if (total > maxElements) throw new HttpError('TOO_MANY_ELEMENTS', `the inputs hold more than ${maxElements} elements`, { maxElements });
  }
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(raw)) {
    const info = model.session.model.graph.inputs.find((i) => i.name === name);
    if (!info) throw new HttpError('UNKNOWN_INPUT', `the model has no input named ${name}`, { input: name });
    const dt = info.dtype !== undefined && isDType(info.dtype) ? info.dtype : undefined;
    try {
      out[name] = tensorFromJson(v, dt, name, model.session.maxTensorBytes);
    } catch (e) {
      if (e instanceof VerinferError && e.code === 'INVALID_INPUT_FILE') throw new HttpError('INVALID_TENSOR', e.message, e.details);
      throw e;
    }
  }
  return out;
}

export interface ChallengeResult {
  /** agree: the receipt matches an honest run after all; fault: the executor lost; unresolved: it could not be proven wrong. */
  outcome: 'agree' | 'fault' | 'unresolved';
  reason: string;
  rounds: number;
  fault?: Fault;
}

/**
 * Challenges a receipt through the bisection game over HTTP (challengeReceipt
 * with disputeResponder to the executor's endpoint; for a lazy receipt it
 * first asks the executor to commit to a trace), then acts on the result:
 *
 * - a fraud proof the referee accepts → submitted to this node
 *   (`submitFraudProof`: re-verified, the cheater recorded durably, the receipt
 *   failed wherever it is held, the proof gossiped to every peer);
 * - the executor broke its commitment or did not answer (no transferable proof)
 *   → recorded locally as a cheater with the dispute transcript as evidence
 *   (code EXECUTOR_FAILED), but only when `trustedEndpoint` (the endpoint comes
 *   from the executor's own signed announcement, so the silence is its own);
 * - the receipt matches an honest run, or the proof is rejected → no fault.
 */
export async function challengeExecutor(
  host: ModesHost,
  o: { receipt: Receipt; model: LoadedModel; inputs: Record<string, Tensor>; run: ChallengerRun; endpoint: string; trustedEndpoint: boolean; timeoutMs?: number },
): Promise<ChallengeResult> {
  const m = o.receipt.typedData.message;
  let out: DisputeOutcome;
  try {
    out = await challengeReceipt({
      receipt: o.receipt,
      modelBytes: o.model.bytes,
      inputs: o.inputs,
      session: o.model.session,
      respond: disputeResponder(o.endpoint, m.requestId, { timeoutMs: o.timeoutMs ?? 10_000 }),
      execute: () => o.run,
    });
  } catch (e) {
    host.metrics.disputes.inc({ role: 'challenger', outcome: 'error' });
    return { outcome: 'unresolved', reason: `the dispute could not run: ${errMessage(e)}`, rounds: 0 };
  }
  if (out.winner === 'none') {
    host.metrics.disputes.inc({ role: 'challenger', outcome: 'agreed' });
    return { outcome: 'agree', reason: out.reason, rounds: out.rounds };
  }
  if (out.winner === 'executor') {
    host.metrics.disputes.inc({ role: 'challenger', outcome: 'lost' });
    return { outcome: 'unresolved', reason: `the fraud proof was rejected: ${out.reason}`, rounds: out.rounds };
  }
  host.metrics.disputes.inc({ role: 'challenger', outcome: 'won' });
  if (out.fraudProof && out.verdict?.accepted) {
    let proofId: string | undefined;
    try {
      const sub = await host.submitFraudProof(out.fraudProof, 'local');
      proofId = sub.id;
    } catch (e) {
      host.log.warn({ err: errMessage(e), requestId: m.requestId }, 'could not record an own fraud proof');
    }
    return {
      outcome: 'fault',
      reason: out.reason,
      rounds: out.rounds,
      fault: { node: m.executor, endpoint: o.endpoint, fraudProof: out.fraudProof, code: out.verdict.code, reason: out.verdict.reason, proofId },
    };
  }
  // The executor broke its commitment (answers that do not hash to its signed root) or did not answer.
  let proofId: string | undefined;
  if (o.trustedEndpoint) {
    const evidence = { schema: DISPUTE_FAILURE_SCHEMA, receipt: o.receipt, endpoint: o.endpoint, reason: out.reason, transcript: out.transcript };
    try {
      proofId = (await host.peers.recordCheater(m.executor, evidence, { requestId: m.requestId, modelCid: o.receipt.modelCid, code: 'EXECUTOR_FAILED', source: 'local' })).id;
      host.log.warn({ executor: m.executor, requestId: m.requestId, reason: out.reason }, 'peer failed its dispute: recorded as a cheater (local evidence only)');
    } catch (e) {
      host.log.warn({ err: errMessage(e) }, 'could not record a dispute failure');
    }
  }
  return { outcome: 'fault', reason: out.reason, rounds: out.rounds, fault: { node: m.executor, endpoint: o.endpoint, fraudProof: null, code: 'EXECUTOR_FAILED', reason: out.reason, proofId } };
}

/** Deterministic pseudo-random order key of a peer for a request (spreads load, same answer on every retry). */
export function orderKey(requestId: Hex, address: string): string {
  return toHexBytes(sha256(fromHex(requestId, 'requestId', 32), fromHex(address.toLowerCase(), 'address', 20)));
}
