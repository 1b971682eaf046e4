import { CID } from 'multiformats/cid';
import { toHex } from '../hash/sha256.js';
import { parseReceipt, recoverReceiptSigner, type Receipt } from '../proof/receipt.js';
import { tensorListDigest } from '../tensor/canonical.js';
import type { Tensor } from '../tensor/tensor.js';
import { ClientError } from './errors.js';
import { outputsFromJson, wireDType, wireToTensor, type WireTensor } from './tensors.js';

/**
 * The client's local check of an inference result, before it is accepted:
 * every receipt parses, its signature recovers to its executor, all receipts
 * name the same model, input and output, the returned outputs (in graph
 * output order) digest to the receipts' output digest, and, when the client
 * can tell the model's input order and dtypes, the request inputs digest to
 * the receipts' input digest. A response that fails any of this is rejected
 * with RESULT_REJECTED (the client then tries another node).
 *
 * This does not re-execute the model: a node that signs a wrong result
 * consistently is caught by `verify` (re-execution), a replicated quorum, or
 * a watcher in optimistic mode, and its signature makes it accountable.
 */

export type InferStatus = 'verified' | 'pending' | 'final' | 'failed';
const STATUSES: readonly string[] = ['verified', 'pending', 'final', 'failed'];

export interface Fault {
  /** Address of the node caught cheating. */
  node: string;
  endpoint?: string;
  /** A `verinfer-fraud-proof/1`, or null when the dispute ended without a transferable proof. */
  fraudProof: unknown;
  /** The verdict code (NODE_OUTPUT_WRONG, OUTPUT_MISMATCH, EXECUTOR_FAILED...). */
  code?: string;
  reason?: string;
  [k: string]: unknown;
}

/** A model's input/output signature in graph order (from its signed metadata, `io`). */
export interface ModelIo {
  cid: string;
  inputs: { name: string; dtype: string }[];
  outputs: { name: string; dtype: string }[];
}

export interface ResultChecks {
  /** Receipts whose signature recovered to their executor. */
  signatures: number;
  /** Distinct executor addresses (checksummed). */
  executors: string[];
  /** The outputs match the receipts' output digest (always true for an accepted result with outputs). */
  output: boolean;
  /** The inputs were checked against the receipts' input digest (false: the client could not tell the model's input order or dtypes). */
  input: boolean;
}

export interface CheckedResult {
  status: InferStatus;
  requestId?: string;
  model?: string;
  outputs: Record<string, Tensor>;
  receipts: Receipt[];
  faults: Fault[];
  checks: ResultChecks;
  /** Mode-specific fields of the response (quorum, agreed, finalizesAt, challengeWindowMs, reason...). */
  extra: Record<string, unknown>;
}

export interface CheckContext {
  /** URL of the node that answered. */
  node: string;
  /** The model reference the request named. */
  model: string;
  /** The request inputs as sent. */
  inputs: Record<string, WireTensor>;
  /** The model's signature, when it can be had (from the answering node's metadata). */
  io: (cid: string) => Promise<ModelIo | undefined>;
}

const hex = (b: Uint8Array) => toHex(b);

function reject(ctx: CheckContext, reason: string, message: string, extra: Record<string, unknown> = {}): ClientError {
  return new ClientError('RESULT_REJECTED', `result from ${ctx.node} rejected: ${message}`, { reason, node: ctx.node, ...extra }, { node: ctx.node });
}

function normalizeCid(s: string): string | undefined {
  try {
    return CID.parse(s).toV1().toString();
  } catch {
    return undefined;
  }
}

/** Parses and checks every receipt's signature; all must agree on model, input and output. */
export async function checkReceipts(raw: unknown[], ctx: CheckContext): Promise<{ receipts: Receipt[]; executors: string[] }> {
  const receipts: Receipt[] = [];
  const executors = new Set<string>();
  for (const [i, r] of raw.entries()) {
    let receipt: Receipt;
    try {
      receipt = parseReceipt(r);
    } catch (e) {
      throw reject(ctx, 'receipt-invalid', `receipt ${i} is malformed: ${(e as Error).message}`, { receipt: i });
    }
    let signer: string;
    try {
      signer = await recoverReceiptSigner(receipt);
    } catch (e) {
      throw reject(ctx, 'signature', `receipt ${i}: cannot recover the signer: ${(e as Error).message.split('\n')[0]}`, { receipt: i });
    }
    const m = receipt.typedData.message;
    if (signer.toLowerCase() !== m.executor.toLowerCase()) {
      throw reject(ctx, 'signature', `receipt ${i} is signed by ${signer}, not by its executor ${m.executor}`, { receipt: i, signer, executor: m.executor });
    }
    const first = receipts[0]?.typedData.message;
    if (first) {
      for (const f of ['model', 'input', 'output'] as const) {
        if (m[f] !== first[f]) throw reject(ctx, 'receipts-disagree', `receipt ${i} signs a different ${f} than receipt 0`, { receipt: i, field: f });
      }
    }
    receipts.push(receipt);
    executors.add(m.executor);
  }
  return { receipts, executors: [...executors] };
}

/** Validates an inference response (see the file comment); throws RESULT_REJECTED. */
export async function checkInferResponse(body: unknown, ctx: CheckContext): Promise<CheckedResult> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw reject(ctx, 'malformed', 'the response is not a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.status !== 'string' || !STATUSES.includes(b.status)) throw reject(ctx, 'malformed', `unknown status ${JSON.stringify(b.status)}`);
  const status = b.status as InferStatus;
  const rawReceipts = b.receipts === undefined ? [] : b.receipts;
  const faults = b.faults === undefined ? [] : b.faults;
  if (!Array.isArray(rawReceipts) || !Array.isArray(faults)) throw reject(ctx, 'malformed', 'receipts and faults must be arrays');
  const outputs = b.outputs === undefined && status === 'failed' ? {} : outputsFromJson(b.outputs, ctx.node);
  const names = Object.keys(outputs);
  const base = {
    status,
    ...(typeof b.requestId === 'string' ? { requestId: b.requestId } : {}),
    ...(typeof b.model === 'string' ? { model: b.model } : {}),
    faults: faults as Fault[],
    extra: Object.fromEntries(Object.entries(b).filter(([k]) => !['status', 'requestId', 'model', 'outputs', 'receipts', 'faults'].includes(k))),
  };

  if (names.length === 0) {
    // Nothing to accept (a failed request): report what the node said, with whatever receipts parse.
    if (status !== 'failed') throw reject(ctx, 'malformed', `status ${status} without outputs`);
    const receipts = rawReceipts.flatMap((r) => {
      try {
        return [parseReceipt(r)];
      } catch {
        return [];
      }
    });
    return { ...base, outputs, receipts, checks: { signatures: 0, executors: [], output: false, input: false } };
  }

  if (rawReceipts.length === 0) throw reject(ctx, 'no-receipt', 'outputs come without a receipt');
  const { receipts, executors } = await checkReceipts(rawReceipts, ctx);
  const r0 = receipts[0]!;
  const m = r0.typedData.message;

  // The model: the CID the request named, and the one the response names.
  const wanted = normalizeCid(ctx.model);
  if (wanted !== undefined && wanted !== r0.modelCid) throw reject(ctx, 'model', `the receipt is for model ${r0.modelCid}, the request named ${wanted}`);
  if (typeof b.model === 'string' && normalizeCid(b.model) !== r0.modelCid) throw reject(ctx, 'model', `the response names model ${b.model}, the receipt ${r0.modelCid}`);

  // Outputs: in the response's order first (the node writes them in graph order), else the model's declared order.
  let io: ModelIo | undefined;
  let ioTried = false;
  const getIo = async () => {
    if (!ioTried) {
      ioTried = true;
      io = await ctx.io(r0.modelCid).catch(() => undefined);
      if (io && io.cid !== r0.modelCid) io = undefined;
    }
    return io;
  };
  const outDigest = (order: string[]) => hex(tensorListDigest(order.map((n) => outputs[n]!)));
  if (outDigest(names) !== m.output) {
    const sig = await getIo();
    const declared = sig?.outputs.map((o) => o.name);
    const sameSet = declared && declared.length === names.length && declared.every((n) => n in outputs);
    if (!sameSet || outDigest(declared!) !== m.output) {
      throw reject(ctx, 'output-digest', `the outputs do not match the receipt's output digest ${m.output}`, { expected: m.output, got: outDigest(names) });
    }
  }

  // Inputs: needs the graph input order (trivial for one input) and every dtype.
  let inputChecked = false;
  const fed = Object.keys(ctx.inputs);
  const known = fed.every((n) => wireDType(ctx.inputs[n]!) !== undefined);
  const sig = fed.length === 1 && known ? undefined : await getIo();
  if ((fed.length === 1 && known) || sig) {
    const order = sig ? sig.inputs.map((i) => i.name).filter((n) => n in ctx.inputs) : fed;
    const dtypeOf = (n: string) => wireDType(ctx.inputs[n]!) ?? sig?.inputs.find((i) => i.name === n)?.dtype;
    if (order.length === fed.length && fed.every((n) => dtypeOf(n) !== undefined)) {
      let digest: string | undefined;
      try {
        digest = hex(tensorListDigest(order.map((n) => wireToTensor(n, ctx.inputs[n]!, dtypeOf(n)))));
      } catch {
        digest = undefined; // the node would not have accepted these inputs either; nothing to compare
      }
      if (digest !== undefined) {
        if (digest !== m.input) throw reject(ctx, 'input-digest', `the receipt signs input digest ${m.input}, the request's inputs digest to ${digest}`, { expected: digest, got: m.input });
        inputChecked = true;
      }
    }
  }

  return { ...base, outputs, receipts, checks: { signatures: receipts.length, executors, output: true, input: inputChecked } };
}
