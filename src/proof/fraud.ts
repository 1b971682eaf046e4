import { VerinferError } from '../errors.js';
import { leafHash, verifyInclusion } from '../hash/merkle.js';
import { sha256 } from '../hash/sha256.js';
import { modelCid } from '../hash/cid.js';
import { createSession, type Session } from '../engine/session.js';
import { parseTraceLeaf, traceOpName } from '../engine/trace.js';
import { tensorDigest } from '../tensor/canonical.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTraceCommitment, isLazyReceipt, type SignedTraceCommitment } from './commitment.js';
import { parseReceipt, recoverReceiptSigner, type Receipt } from './receipt.js';
import { fromHex, tensorFromWire, toHexBytes, type Hex, type TensorWire } from './wire.js';

/**
 * A fraud proof shows that an executor's signed receipt is wrong while checking
 * only one operator (DESIGN.md). Two kinds:
 *
 * - 'node': node i of the executor's committed trace is wrong. The proof holds
 *   the executor's leaf i with its audit path to the signed trace root, and each
 *   input tensor of node i with where it is committed: the leaf of the earlier
 *   node that produced it (with its audit path), the receipt's input digest
 *   (for a graph input), or the model itself (an initializer). The verifier
 *   checks every tensor against its commitment, runs node i once, and compares
 *   with the digests in leaf i.
 * - 'output': the trace is right but the receipt's output digest is not what the
 *   trace's output-producing leaves say.
 *
 * A proof against an honest receipt is always rejected: every check either
 * ties data to what the executor signed, or recomputes what it claimed.
 *
 * Against a lazy receipt (all-zero trace root, commitment.ts) the proof carries
 * the executor's signed `TraceCommitment`; once its signature (the receipt's
 * executor) and binding (this receipt's digest and request id) check, its
 * root plays the part of the signed trace root and everything else is the same.
 */
export const FRAUD_PROOF_SCHEMA = 'verinfer-fraud-proof/1';

export interface LeafOpening {
  node: number;
  /** The trace leaf bytes. */
  leaf: Hex;
  /** RFC 6962 audit path to the receipt's trace root. */
  path: Hex[];
}

export type FraudInput =
  | { source: 'absent' }
  | { source: 'initializer'; name: string }
  | { source: 'graph-input'; name: string; tensor: TensorWire }
  | { source: 'node'; output: number; opening: LeafOpening; tensor: TensorWire };

export interface FraudProof {
  schema: typeof FRAUD_PROOF_SCHEMA;
  kind: 'node' | 'output';
  /** The executor's signed receipt (JSON form). */
  receipt: unknown;
  /** Number of nodes in the model = leaves in the trace. */
  traceSize: number;
  /** kind 'node': the disputed node's leaf. */
  disputed?: LeafOpening;
  /** kind 'node': one entry per input slot of the disputed node. */
  inputs?: FraudInput[];
  /** kind 'node', control-flow nodes: one entry per outer value its subgraphs read (`node.captures`, in order). */
  captures?: FraudInput[];
  /**
   * kind 'node': the graph inputs the request fed, in graph order, with their
   * digests; SHA-256 over the digests is the receipt's input digest.
   */
  fedInputs?: { name: string; digest: Hex }[];
  /** kind 'output': for each graph output, the leaf of the node that produced it. */
  outputs?: LeafOpening[];
  /** Lazy receipts only (required there, absent otherwise): the executor's signed trace commitment; openings are checked against its root. */
  commitment?: SignedTraceCommitment;
}

export type FraudVerdictCode =
  // accepted: the executor is proven wrong
  | 'NODE_OUTPUT_WRONG'
  | 'NODE_REJECTS_INPUTS'
  | 'LEAF_MALFORMED'
  | 'OUTPUT_MISMATCH'
  // rejected: the proof does not show fraud
  | 'MALFORMED_PROOF'
  | 'BAD_SIGNATURE'
  | 'COMMITMENT_INVALID'
  | 'WRONG_MODEL'
  | 'TRACE_SIZE_MISMATCH'
  | 'LEAF_NOT_IN_TRACE'
  | 'WRONG_INPUT_SOURCE'
  | 'INPUT_NOT_COMMITTED'
  | 'NODE_CORRECT'
  | 'OUTPUTS_CONSISTENT'
  | 'CANNOT_VERIFY';

export interface FraudVerdict {
  accepted: boolean;
  code: FraudVerdictCode;
  reason: string;
  /** The executor the proof is about (recovered from the receipt signature). */
  executor?: string;
  node?: number;
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

class Reject extends Error {
  constructor(
    readonly code: FraudVerdictCode,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifyFraudOptions {
  /** A session for the model, if the caller has one already (saves decoding). */
  session?: Session;
  /** The model's CID digest, if the caller computed it from these bytes already (saves hashing). */
  modelDigest?: Uint8Array;
}

/** Decides a fraud proof by executing at most one operator. Never throws for a bad proof. */
export async function verifyFraudProof(proof: unknown, modelBytes: Uint8Array, opts: VerifyFraudOptions = {}): Promise<FraudVerdict> {
  let executor: string | undefined;
  try {
    const p = proof as FraudProof;
    if (!p || typeof p !== 'object' || p.schema !== FRAUD_PROOF_SCHEMA || (p.kind !== 'node' && p.kind !== 'output')) {
      throw new Reject('MALFORMED_PROOF', `not a ${FRAUD_PROOF_SCHEMA} object`);
    }
    let receipt: Receipt;
    try {
      receipt = parseReceipt(p.receipt);
    } catch (e) {
      throw new Reject('MALFORMED_PROOF', `receipt: ${(e as Error).message}`);
    }
    const msg = receipt.typedData.message;
    let signer: string;
    try {
      signer = await recoverReceiptSigner(receipt);
    } catch (e) {
      throw new Reject('BAD_SIGNATURE', `receipt signature cannot be recovered: ${(e as Error).message}`);
    }
    if (signer.toLowerCase() !== String(msg.executor).toLowerCase()) {
      throw new Reject('BAD_SIGNATURE', `receipt is signed by ${signer}, not by its executor ${msg.executor}`);
    }
    executor = signer;
    const digest = opts.modelDigest ?? (await modelCid(modelBytes)).digest;
    if (!eq(digest, fromHex(msg.model, 'model', 32))) throw new Reject('WRONG_MODEL', 'the model bytes are not the receipt\'s model');
    const session = opts.session ?? createSession(modelBytes);
    const nodes = session.model.graph.nodes;
    if (p.traceSize !== nodes.length) throw new Reject('TRACE_SIZE_MISMATCH', `trace size ${p.traceSize} but the model has ${nodes.length} nodes`);
    let root: Uint8Array;
    if (isLazyReceipt(receipt)) {
      if (p.commitment === undefined) throw new Reject('COMMITMENT_INVALID', 'the receipt is lazy (all-zero trace root): the proof must carry the executor\'s signed trace commitment');
      const c = await checkTraceCommitment(receipt, p.commitment);
      if (!c.ok) throw new Reject('COMMITMENT_INVALID', c.reason);
      root = c.root;
    } else {
      if (p.commitment !== undefined) throw new Reject('MALFORMED_PROOF', 'the receipt signs its trace root: a proof against it carries no trace commitment');
      root = fromHex(msg.traceRoot, 'traceRoot', 32);
    }

    /** Checks an opening against the signed root; returns the parsed leaf (undefined if malformed). */
    const open = (o: LeafOpening, what: string) => {
      if (!o || !Number.isSafeInteger(o.node) || o.node < 0 || o.node >= nodes.length || !Array.isArray(o.path)) {
        throw new Reject('MALFORMED_PROOF', `${what}: bad leaf opening`);
      }
      const leaf = fromHex(o.leaf, `${what} leaf`);
      const path = o.path.map((h, i) => fromHex(h, `${what} path[${i}]`, 32));
      if (!verifyInclusion(leafHash(leaf), o.node, nodes.length, path, root)) {
        throw new Reject('LEAF_NOT_IN_TRACE', `${what}: leaf ${o.node} is not in the executor's signed trace`);
      }
      const parsed = parseTraceLeaf(leaf);
      const node = nodes[o.node]!;
      const wellFormed = parsed && parsed.index === o.node && parsed.opName === traceOpName(node) && parsed.outputDigests.length === node.outputs.length;
      return wellFormed ? parsed : undefined;
    };

    if (p.kind === 'output') {
      const outs = session.model.graph.outputs;
      if (!Array.isArray(p.outputs) || p.outputs.length !== outs.length) throw new Reject('MALFORMED_PROOF', 'one opening per graph output is required');
      const digests: Uint8Array[] = [];
      for (let k = 0; k < outs.length; k++) {
        const o = p.outputs[k]!;
        const slot = nodes[o?.node]?.outputs.indexOf(outs[k]!.name) ?? -1;
        if (slot < 0) throw new Reject('WRONG_INPUT_SOURCE', `node ${o?.node} does not produce graph output ${outs[k]!.name}`);
        const leaf = open(o, `output ${k}`);
        if (!leaf) return { accepted: true, code: 'LEAF_MALFORMED', reason: `the executor committed a malformed leaf ${o.node}`, executor, node: o.node };
        digests.push(leaf.outputDigests[slot]!);
      }
      if (!eq(sha256(...digests), fromHex(msg.output, 'output', 32))) {
        return { accepted: true, code: 'OUTPUT_MISMATCH', reason: 'the receipt\'s output digest differs from the outputs in its own trace', executor };
      }
      throw new Reject('OUTPUTS_CONSISTENT', 'the receipt\'s output digest matches its trace');
    }

    // kind 'node'
    const disputed = p.disputed;
    const leaf = open(disputed as LeafOpening, 'disputed node');
    const i = disputed!.node;
    const node = nodes[i]!;
    if (!leaf) return { accepted: true, code: 'LEAF_MALFORMED', reason: `the executor committed a malformed leaf ${i}`, executor, node: i };
    if (!Array.isArray(p.inputs) || p.inputs.length !== node.inputs.length) throw new Reject('MALFORMED_PROOF', `node ${i} has ${node.inputs.length} input slots`);
    const graph = session.model.graph;
    const producers = new Map<string, [number, number]>();
    nodes.forEach((n) => n.outputs.forEach((o, k) => o && producers.set(o, [n.index, k])));
    // The fed graph inputs, bound to the receipt's input digest (the same rule as orderedInputs).
    const fed = new Map<string, Uint8Array>();
    {
      const list = p.fedInputs;
      if (!Array.isArray(list)) throw new Reject('MALFORMED_PROOF', 'fedInputs is required');
      let last = -1;
      for (const f of list) {
        const pos = graph.inputs.findIndex((v) => v.name === f?.name);
        if (pos <= last) throw new Reject('MALFORMED_PROOF', `fedInputs must name graph inputs in graph order (${f?.name})`);
        last = pos;
        fed.set(f.name, fromHex(f.digest, `fedInputs ${f.name}`, 32));
      }
      for (const v of session.inputs) if (!fed.has(v.name)) throw new Reject('MALFORMED_PROOF', `fedInputs lacks the required input ${v.name}`);
      if (!eq(sha256(...fed.values()), fromHex(msg.input, 'input', 32))) {
        throw new Reject('INPUT_NOT_COMMITTED', "fedInputs do not hash to the receipt's input digest");
      }
    }
    /** The tensor named `name` as the proof supplies it, checked against where the executor committed it. */
    const committedValue = (name: string, src: FraudInput, what: string): Tensor => {
      const wrong = (why: string) => new Reject('WRONG_INPUT_SOURCE', `${what} (${name}) of node ${i}: ${why}`);
      const producer = producers.get(name);
      if (producer) {
        if (src?.source !== 'node' || src.opening?.node !== producer[0] || src.output !== producer[1]) throw wrong(`it is output ${producer[1]} of node ${producer[0]}`);
        if (producer[0] >= i) throw wrong('produced by a later node');
        const pl = open(src.opening, what);
        if (!pl) throw new Reject('MALFORMED_PROOF', `${what}: the executor's leaf ${producer[0]} is malformed; dispute that node instead`);
        const t = tensorFromWire(src.tensor);
        if (!eq(tensorDigest(t), pl.outputDigests[producer[1]]!)) throw new Reject('INPUT_NOT_COMMITTED', `${what} of node ${i} does not match the digest in leaf ${producer[0]}`);
        return t;
      }
      if (fed.has(name)) {
        if (src?.source !== 'graph-input' || src.name !== name) throw wrong('it is a graph input the request fed');
        const t = tensorFromWire(src.tensor);
        if (!eq(tensorDigest(t), fed.get(name)!)) throw new Reject('INPUT_NOT_COMMITTED', `graph input ${name} does not match its digest`);
        return t;
      }
      if (graph.initializers.has(name)) {
        if (src?.source !== 'initializer' || src.name !== name) throw wrong('it is an initializer of the model');
        return graph.initializers.get(name)!;
      }
      throw wrong('nothing in the model or the request defines it');
    };
    const tensors: (Tensor | undefined)[] = node.inputs.map((name, s) => {
      const src = p.inputs![s] as FraudInput;
      if (name !== '') return committedValue(name, src, `input ${s}`);
      if (src?.source !== 'absent') throw new Reject('WRONG_INPUT_SOURCE', `input ${s} (absent) of node ${i}: the slot is empty in the model`);
      return undefined;
    });
    // A control-flow node's subgraphs also read top-level values (node.captures): each is
    // supplied and checked like an input, so the node re-runs on exactly what was committed.
    const captureNames = node.captures ?? [];
    if (captureNames.length > 0 && (!Array.isArray(p.captures) || p.captures.length !== captureNames.length)) {
      throw new Reject('MALFORMED_PROOF', `node ${i} reads ${captureNames.length} outer values in its subgraphs; one capture entry each is required`);
    }
    const captures: Record<string, Tensor> = {};
    captureNames.forEach((name, k) => (captures[name] = committedValue(name, p.captures![k] as FraudInput, `captured value ${k}`)));
    let outs: Tensor[];
    try {
      outs = session.runNode(i, tensors, captures);
    } catch (e) {
      if (e instanceof VerinferError && e.code === 'INVALID_ARGUMENT') {
        return { accepted: true, code: 'NODE_REJECTS_INPUTS', reason: `node ${i} cannot run on its committed inputs (${e.message}), yet the executor claimed outputs`, executor, node: i };
      }
      throw new Reject('CANNOT_VERIFY', `node ${i} could not be re-executed: ${(e as Error).message}`);
    }
    for (let k = 0; k < node.outputs.length; k++) {
      if (node.outputs[k] === '') continue;
      if (!outs[k] || !eq(tensorDigest(outs[k]!), leaf.outputDigests[k]!)) {
        return { accepted: true, code: 'NODE_OUTPUT_WRONG', reason: `output ${k} of node ${i} (${node.opType}) is not what the operator computes from its committed inputs`, executor, node: i };
      }
    }
    throw new Reject('NODE_CORRECT', `node ${i} (${node.opType}) computes exactly what the executor committed`);
  } catch (e) {
    if (e instanceof Reject) return { accepted: false, code: e.code, reason: e.message, executor };
    return { accepted: false, code: 'MALFORMED_PROOF', reason: (e as Error)?.message ?? String(e), executor };
  }
}

