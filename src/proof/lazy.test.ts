import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSession, type RunOptions, type Session } from '../engine/session.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorListDigest } from '../tensor/canonical.js';
import { modelCid } from '../hash/cid.js';
import { traceResponder, type DisputeAnswer, type DisputeMessage } from './bisection.js';
import { checkTraceCommitment, isLazyReceipt, LAZY_TRACE_ROOT, lazyResponder, signTraceCommitment, type SignedTraceCommitment } from './commitment.js';
import { challengeReceipt, type ChallengerRun } from './dispute.js';
import { verifyFraudProof, type FraudProof } from './fraud.js';
import { parseReceipt, receiptDigest, signReceipt, type Receipt } from './receipt.js';
import { createReceipt, verifyReceipt } from './verify.js';
import { toHexBytes } from './wire.js';
import { randomTensor } from '../../test/fixtures/models.js';
import { deepModel, executor, flipBitAt, other, signTestReceipt } from './testing.js';

const modelBytes = deepModel(12);
const session = createSession(modelBytes);
const inputs = { x: randomTensor([2, 6], 7) };
const N = session.model.graph.nodes.length;
const MAX_ROUNDS = Math.ceil(Math.log2(N)) + 2; // + the commit

/** Flips a high mantissa bit of element 0 of node `at`'s first output: large enough to reach the output (a lazy receipt signs only the output). */
const flipAt = (at: number) => flipBitAt(at, 20);

/** A lazy executor: runs WITHOUT trace (possibly tampering) and signs the all-zero trace root. */
async function lazyExecutor(runOptions: RunOptions = {}, overrides: Partial<Receipt['typedData']['message']> = {}, requestByte = 9) {
  const r = session.run(inputs, { ...runOptions, trace: false });
  assert.equal(r.trace, undefined);
  const json = await signTestReceipt({ modelBytes, inputs: [inputs.x], outputs: r.outputList, traceRoot: LAZY_TRACE_ROOT, requestByte, overrides });
  /** On 'commit' the executor re-runs with trace, with `commitRun` (the same tampering by default). */
  const responder = (commitRun: RunOptions = runOptions) => lazyResponder(json, executor, () => session.run(inputs, { ...commitRun, trace: true }).trace!.leaves);
  return { receipt: json, responder };
}

const challenge = (receipt: unknown, respond: (q: DisputeMessage) => DisputeAnswer | Promise<DisputeAnswer>, execute?: (s: Session, i: Record<string, Tensor>) => ChallengerRun) =>
  challengeReceipt({ receipt, modelBytes, inputs, respond, session, execute });

test('a lazy receipt round trip: createReceipt({trace: "lazy"}) → JSON → parse → verifyReceipt valid', async () => {
  const { receipt, result } = await createReceipt({ modelBytes, session, inputs, account: executor, now: 1_750_000_000, trace: 'lazy' });
  assert.equal(result.trace, undefined, 'no trace computed');
  assert.equal(receipt.typedData.message.traceRoot, LAZY_TRACE_ROOT);
  const parsed = parseReceipt(JSON.parse(JSON.stringify(receipt)));
  assert.deepEqual(parsed, receipt);
  assert.ok(isLazyReceipt(parsed));
  const v = await verifyReceipt({ receipt: parsed, modelBytes, inputs, now: 1_750_000_000 });
  assert.equal(v.valid, true, JSON.stringify(v.checks));
  assert.deepEqual(v.checks.map((c) => c.name), ['schema', 'signature', 'model', 'semantics', 'input', 'output', 'traceRoot']);
  assert.match(v.checks.at(-1)!.detail, /^lazy: committed on demand/);
  // the output is still checked
  const wrong = await verifyReceipt({ receipt: parsed, modelBytes, inputs: { x: randomTensor([2, 6], 8) } });
  assert.deepEqual(wrong.checks.filter((c) => !c.ok).map((c) => c.name), ['input', 'output']);
  // eager receipts are unchanged: a real root, which is never the sentinel
  const eager = await createReceipt({ modelBytes, session, inputs, account: executor, now: 1_750_000_000 });
  assert.ok(!isLazyReceipt(eager.receipt));
  assert.equal(eager.receipt.typedData.message.traceRoot, toHexBytes(eager.result.trace!.root));
  // a lazy and an eager receipt of the same request sign the same output
  assert.equal(eager.receipt.typedData.message.output, receipt.typedData.message.output);
});

test('an honest lazy receipt is not disputed (no commit is asked)', async () => {
  const { receipt, responder } = await lazyExecutor();
  let asked = 0;
  const respond = responder();
  const out = await challenge(receipt, (q) => (asked++, respond(q)));
  assert.equal(out.winner, 'none');
  assert.equal(asked, 0);
});

test('a lazy executor flipping a bit is caught: commit, bisection, fraud proof carrying the commitment', async () => {
  const at = 17;
  const { receipt, responder } = await lazyExecutor({ afterNode: flipAt(at) });
  const out = await challenge(receipt, responder());
  assert.equal(out.winner, 'challenger', out.reason);
  assert.equal(out.transcript[0]!.query.type, 'commit');
  assert.equal(out.transcript[0]!.answer.type, 'commitment');
  assert.equal(out.node, at);
  assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
  assert.ok(out.rounds <= MAX_ROUNDS, `${out.rounds} rounds`);
  const proof = JSON.parse(JSON.stringify(out.fraudProof)) as FraudProof;
  assert.ok(proof.commitment, 'the proof carries the commitment');
  assert.equal(proof.commitment.commitment.receipt, receiptDigest(parseReceipt(receipt).typedData).toLowerCase());
  const v = await verifyFraudProof(proof, modelBytes);
  assert.equal(v.accepted, true, v.reason);
  assert.equal(v.code, 'NODE_OUTPUT_WRONG');
  assert.equal(v.executor?.toLowerCase(), executor.address.toLowerCase());
  // without its commitment, the proof against a lazy receipt does not stand
  const bare = structuredClone(proof);
  delete bare.commitment;
  assert.equal((await verifyFraudProof(bare, modelBytes)).code, 'COMMITMENT_INVALID');
});

test('a lazy executor whose committed trace does not end in its signed output is an output fraud', async () => {
  // signed a wrong output, then commits the honest trace
  const wrong = toHexBytes(tensorListDigest([new Tensor(DType.float32, [2, 6], new Float32Array(12))]));
  const { receipt, responder } = await lazyExecutor({}, { output: wrong });
  const out = await challenge(receipt, responder());
  assert.equal(out.winner, 'challenger', out.reason);
  assert.equal(out.fraudProof?.kind, 'output');
  assert.equal(out.verdict?.code, 'OUTPUT_MISMATCH');
  assert.equal(out.rounds, 1, 'the commit only');
  assert.equal((await verifyFraudProof(JSON.parse(JSON.stringify(out.fraudProof)), modelBytes)).code, 'OUTPUT_MISMATCH');
  // tampered while signing, honest while committing: the same
  const flipped = await lazyExecutor({ afterNode: flipAt(N - 1) });
  const out2 = await challenge(flipped.receipt, flipped.responder({}));
  assert.equal(out2.verdict?.code, 'OUTPUT_MISMATCH');
  // tampered at the last node in both: the committed trace matches the output, bisection finds the node
  const out3 = await challenge(flipped.receipt, flipped.responder());
  assert.equal(out3.verdict?.code, 'NODE_OUTPUT_WRONG');
  assert.equal(out3.node, N - 1);
});

test('a lazy executor that refuses or fails to commit loses (executor-failed, no fraud proof)', async () => {
  const { receipt, responder } = await lazyExecutor({ afterNode: flipAt(5) });
  const refuse = await challenge(receipt, () => {
    throw new Error('connection reset');
  });
  assert.equal(refuse.winner, 'challenger');
  assert.match(refuse.reason, /did not commit to a trace/);
  assert.equal(refuse.fraudProof, undefined);
  assert.equal(refuse.rounds, 1);
  // answers the commit with something else
  const r = responder();
  const evasive = await challenge(receipt, (q) => (q.type === 'commit' ? ({ type: 'leaf', index: 0, data: '0x00' } as DisputeAnswer) : r(q)));
  assert.equal(evasive.winner, 'challenger');
  assert.match(evasive.reason, /not a commitment/);
  // commits, then breaks the bisection: answers from the honest trace
  const honestLeaves = session.run(inputs, { trace: true }).trace!.leaves;
  const truthfulCommit = responder();
  const liar = await challenge(receipt, async (q) => (q.type === 'commit' ? truthfulCommit(q) : traceResponder(honestLeaves)(q)));
  assert.equal(liar.winner, 'challenger');
  assert.match(liar.reason, /broke its commitment/);
});

test('a commitment signed by another key, or for another receipt, is rejected', async () => {
  const { receipt, responder } = await lazyExecutor({ afterNode: flipAt(5) });
  const parsed = parseReceipt(receipt);
  const badLeaves = session.run(inputs, { trace: true, afterNode: flipAt(5) }).trace!.leaves;
  const root = (await responder()({ type: 'commit' })) as DisputeAnswer & SignedTraceCommitment;
  assert.equal((await checkTraceCommitment(parsed, root)).ok, true);

  // signed by another key
  const byOther = await signTraceCommitment(receipt, new Uint8Array(32).fill(1), other);
  const c1 = await checkTraceCommitment(parsed, byOther);
  assert.equal(c1.ok, false);
  assert.match((c1 as { reason: string }).reason, /not by the receipt's executor/);
  const out1 = await challenge(receipt, async (q) => (q.type === 'commit' ? { type: 'commitment', ...byOther } : traceResponder(badLeaves)(q)));
  assert.equal(out1.winner, 'challenger');
  assert.match(out1.reason, /did not commit to a trace: .*not by the receipt's executor/);

  // a genuine commitment by this executor for another of its receipts
  const another = await lazyExecutor({ afterNode: flipAt(5) }, {}, 10);
  const forAnother = (await another.responder()({ type: 'commit' })) as DisputeAnswer & SignedTraceCommitment;
  const c2 = await checkTraceCommitment(parsed, { commitment: forAnother.commitment, signature: forAnother.signature });
  assert.equal(c2.ok, false);
  assert.match((c2 as { reason: string }).reason, /another receipt/);
  // the commitment edited to name this receipt: the signature no longer recovers to the executor
  const moved = { commitment: { ...forAnother.commitment, receipt: root.commitment.receipt, requestId: root.commitment.requestId }, signature: forAnother.signature };
  assert.equal((await checkTraceCommitment(parsed, moved)).ok, false);

  // a good fraud proof with its commitment swapped for those is rejected
  const good = (await challenge(receipt, responder())).fraudProof!;
  assert.equal((await verifyFraudProof(good, modelBytes)).code, 'NODE_OUTPUT_WRONG');
  for (const bad of [byOther, { commitment: forAnother.commitment, signature: forAnother.signature }, moved]) {
    const p = { ...structuredClone(good), commitment: bad };
    const v = await verifyFraudProof(p, modelBytes);
    assert.equal(v.code, 'COMMITMENT_INVALID', v.reason);
    assert.equal(v.accepted, false);
  }
  // an eager receipt's proof carries no commitment
  const eagerRun = session.run(inputs, { trace: true, afterNode: flipAt(5) });
  const cid = await modelCid(modelBytes);
  const eager = await signReceipt(
    { modelCid: cid.cid, chainId: 31337, message: { ...parsed.typedData.message, traceRoot: toHexBytes(eagerRun.trace!.root), output: toHexBytes(tensorListDigest(eagerRun.outputList)) } },
    executor,
  );
  const eagerOut = await challenge(eager, traceResponder(eagerRun.trace!.leaves));
  assert.equal(eagerOut.verdict?.code, 'NODE_OUTPUT_WRONG');
  assert.equal(eagerOut.fraudProof?.commitment, undefined);
  assert.equal(eagerOut.transcript.some((t) => t.query.type === 'commit'), false);
  assert.equal((await verifyFraudProof({ ...eagerOut.fraudProof, commitment: root }, modelBytes)).code, 'MALFORMED_PROOF');
});

test('a challenger cannot win against an honest lazy executor', async () => {
  const { receipt, responder } = await lazyExecutor();
  const lying = (s: Session, i: Record<string, Tensor>): ChallengerRun => {
    const values = new Map<string, Tensor>();
    const r = s.run(i, {
      trace: true,
      afterNode: (node, outs) => {
        const res = flipAt(11)!(node, outs) ?? outs;
        node.outputs.forEach((name, k) => name && values.set(name, res[k]!));
        return res;
      },
    });
    return { leaves: r.trace!.leaves, values, outputs: r.outputList };
  };
  const out = await challenge(receipt, responder(), lying);
  assert.equal(out.winner, 'executor');
  assert.equal(out.node, 11);
  assert.equal(out.verdict?.code, 'NODE_CORRECT');
  // and a forged output proof against the honest commitment does not stand either
  const proof = structuredClone(out.fraudProof!) as FraudProof;
  assert.ok(proof.commitment);
  const p2: FraudProof = { schema: proof.schema, kind: 'output', receipt: proof.receipt, traceSize: proof.traceSize, commitment: proof.commitment, outputs: [] };
  assert.equal((await verifyFraudProof(p2, modelBytes)).accepted, false);
});
