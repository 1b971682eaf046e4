import { inclusionProof, leafHash, subtreeRoot } from '../hash/merkle.js';
import { createSession, type Session } from '../engine/session.js';
import { tensorDigest, tensorListDigest } from '../tensor/canonical.js';
import type { Tensor } from '../tensor/tensor.js';
import { Bisection, chooseSide, pathInCommittedTree, type DisputeAnswer, type DisputeMessage } from './bisection.js';
import { checkTraceCommitment, isLazyReceipt, type SignedTraceCommitment } from './commitment.js';
import { FRAUD_PROOF_SCHEMA, verifyFraudProof, type FraudInput, type FraudProof, type FraudVerdict, type LeafOpening } from './fraud.js';
import { parseReceipt } from './receipt.js';
import { fromHex, tensorToWire, toHexBytes } from './wire.js';

/**
 * How the challenger reaches the executor: one question, one answer (in-process, HTTP, or a contract later).
 * Declared method-style so that a responder for eager receipts only, `(q: DisputeQuery) => …`, still fits;
 * it is sent `{type: 'commit'}` only for a lazy receipt.
 */
export type Responder = { answer(q: DisputeMessage): DisputeAnswer | Promise<DisputeAnswer> }['answer'];

export interface DisputeOutcome {
  /** 'none' when the challenger's own execution agrees with the receipt. */
  winner: 'none' | 'challenger' | 'executor';
  reason: string;
  /** Questions asked: the bisection's (ceil(log2 nodes) + 1 at most), plus the 'commit' for a lazy receipt. */
  rounds: number;
  transcript: { query: DisputeMessage; answer: DisputeAnswer }[];
  /** The located node, when the game reached a leaf. */
  node?: number;
  fraudProof?: FraudProof;
  verdict?: FraudVerdict;
}

export interface ChallengeOptions {
  receipt: unknown;
  modelBytes: Uint8Array;
  /** The request's inputs, by graph input name. */
  inputs: Record<string, Tensor>;
  /** The executor's side of the game. */
  respond: Responder;
  session?: Session;
  /**
   * The challenger's own execution. Defaults to an honest run; tests replace it
   * to play a dishonest challenger.
   */
  execute?: (session: Session, inputs: Record<string, Tensor>) => ChallengerRun;
}

export interface ChallengerRun {
  leaves: Uint8Array[];
  /** Every value the run produced, by name (for the fraud proof's input tensors). */
  values: Map<string, Tensor>;
  outputs: Tensor[];
}

export function honestRun(session: Session, inputs: Record<string, Tensor>): ChallengerRun {
  const values = new Map<string, Tensor>();
  const r = session.run(inputs, {
    trace: true,
    afterNode: (node, outs) => node.outputs.forEach((name, k) => name && outs[k] && values.set(name, outs[k]!)),
  });
  return { leaves: r.trace!.leaves, values, outputs: r.outputList };
}

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const opening = (node: number, leaf: Uint8Array, path: Uint8Array[]): LeafOpening => ({ node, leaf: toHexBytes(leaf), path: path.map(toHexBytes) });

/**
 * The challenger's side of a dispute: re-executes the receipt's request, and if
 * its result differs, plays the bisection game against the executor and ends
 * with a fraud proof checked by the same function any referee uses.
 *
 * A lazy receipt (all-zero trace root) signs only the output: it is disputed
 * only when the output differs, and the game starts with `{type: 'commit'}`;
 * an executor that does not answer with a valid signed commitment for this
 * receipt loses (no fraud proof: like a broken bisection answer). The
 * commitment's root then stands for the signed root and rides in the proof.
 */
export async function challengeReceipt(opts: ChallengeOptions): Promise<DisputeOutcome> {
  const receipt = parseReceipt(opts.receipt);
  const msg = receipt.typedData.message;
  const session = opts.session ?? createSession(opts.modelBytes);
  const graph = session.model.graph;
  const run = (opts.execute ?? honestRun)(session, opts.inputs);
  const own = run.leaves.map(leafHash);
  const n = own.length;
  const agreeOnOutput = eq(tensorListDigest(run.outputs), fromHex(msg.output, 'output', 32));
  const transcript: DisputeOutcome['transcript'] = [];
  const lazy = isLazyReceipt(receipt);
  if (lazy && agreeOnOutput) return { winner: 'none', reason: 'the lazy receipt\'s output matches an independent execution', rounds: 0, transcript };

  let signedRoot: Uint8Array;
  let commitment: SignedTraceCommitment | undefined;
  if (lazy) {
    const query: DisputeMessage = { type: 'commit' };
    const failed = (why: string): DisputeOutcome => ({ winner: 'challenger', reason: `the executor did not commit to a trace: ${why}`, rounds: 1, transcript });
    let answer: DisputeAnswer;
    try {
      answer = await opts.respond(query);
    } catch (e) {
      return failed(`no answer (${(e as Error).message})`);
    }
    transcript.push({ query, answer });
    if (answer?.type !== 'commitment') return failed('the answer is not a commitment');
    const signed: SignedTraceCommitment = { commitment: answer.commitment, signature: answer.signature };
    const checked = await checkTraceCommitment(receipt, signed);
    if (!checked.ok) return failed(checked.reason);
    signedRoot = checked.root;
    commitment = signed;
  } else {
    signedRoot = fromHex(msg.traceRoot, 'traceRoot', 32);
  }
  const agreeOnTrace = eq(subtreeRoot(own), signedRoot);

  if (agreeOnTrace && agreeOnOutput) return { winner: 'none', reason: 'the receipt matches an independent execution', rounds: 0, transcript };

  const conclude = async (proof: FraudProof, node?: number): Promise<DisputeOutcome> => {
    const verdict = await verifyFraudProof(proof, opts.modelBytes, { session });
    return {
      winner: verdict.accepted ? 'challenger' : 'executor',
      reason: verdict.reason,
      rounds: transcript.length,
      transcript,
      node,
      fraudProof: proof,
      verdict,
    };
  };

  const producerOf = new Map<string, [number, number]>();
  graph.nodes.forEach((nd) => nd.outputs.forEach((o, k) => o && producerOf.set(o, [nd.index, k])));

  if (agreeOnTrace) {
    // Same trace, different output digest: the receipt contradicts its own trace.
    const outputs = graph.outputs.map((o) => {
      const [j] = producerOf.get(o.name)!;
      return opening(j, run.leaves[j]!, inclusionProof(own, j));
    });
    return conclude({ schema: FRAUD_PROOF_SCHEMA, kind: 'output', receipt: opts.receipt, traceSize: n, outputs, ...(commitment ? { commitment } : {}) });
  }

  const game = new Bisection(signedRoot, n);
  for (;;) {
    const query = game.query();
    let answer: DisputeAnswer;
    try {
      answer = await opts.respond(query);
    } catch (e) {
      return { winner: 'challenger', reason: `the executor did not answer: ${(e as Error).message}`, rounds: transcript.length + 1, transcript };
    }
    transcript.push({ query, answer });
    const state = game.answer(answer);
    if (state.status === 'executor-failed') return { winner: 'challenger', reason: `the executor broke its commitment: ${state.reason}`, rounds: transcript.length, transcript };
    if (state.status === 'located') break;
    const [lo, hi] = game.range;
    game.choose(chooseSide(own, lo, hi, game.children!.left));
  }
  const located = game.state as { status: 'located'; index: number; leaf: Uint8Array };
  const i = located.index;
  const node = graph.nodes[i]!;
  const fedInputs = graph.inputs.filter((v) => opts.inputs[v.name]).map((v) => ({ name: v.name, digest: toHexBytes(tensorDigest(opts.inputs[v.name]!)) }));
  /** Where the executor committed the value `name`, with the tensor (the same rule verifyFraudProof checks). */
  const source = (name: string): FraudInput => {
    const p = producerOf.get(name);
    if (p) {
      const [j, k] = p;
      return { source: 'node', output: k, opening: opening(j, run.leaves[j]!, pathInCommittedTree(game, own, i, j)), tensor: tensorToWire(run.values.get(name)!) };
    }
    if (opts.inputs[name]) return { source: 'graph-input', name, tensor: tensorToWire(opts.inputs[name]!) };
    return { source: 'initializer', name };
  };
  const inputs: FraudInput[] = node.inputs.map((name) => (name === '' ? { source: 'absent' } : source(name)));
  const captures = node.captures?.length ? node.captures.map(source) : undefined;
  const disputed = opening(i, located.leaf, pathInCommittedTree(game, own, i, i));
  return conclude({ schema: FRAUD_PROOF_SCHEMA, kind: 'node', receipt: opts.receipt, traceSize: n, disputed, inputs, ...(captures ? { captures } : {}), fedInputs, ...(commitment ? { commitment } : {}) }, i);
}
