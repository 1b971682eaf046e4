import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from '../onnx/build.js';
import { createSession, type RunOptions, type Session } from '../engine/session.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorListDigest } from '../tensor/canonical.js';
import { leafHash, splitPoint, subtreeRoot } from '../hash/merkle.js';
import { Bisection, chooseSide, pathInCommittedTree, traceResponder, type DisputeAnswer, type DisputeQuery } from './bisection.js';
import { challengeReceipt, honestRun, type ChallengerRun } from './dispute.js';
import { verifyFraudProof, type FraudProof } from './fraud.js';
import type { Receipt } from './receipt.js';
import { fromHex, tensorToWire, toHexBytes } from './wire.js';
import { randomTensor } from '../../test/fixtures/models.js';
import { deepModel, executor, flipBitAt, other, signTestReceipt } from './testing.js';

const modelBytes = deepModel(20);
const session = createSession(modelBytes);
const inputs = { x: randomTensor([2, 6], 7) };
const N = session.model.graph.nodes.length;
const MAX_ROUNDS = Math.ceil(Math.log2(N)) + 1;

/** Flips the lowest bit of element 0 of node `at`'s first output (the dishonest executor's "bit flip"). */
const flipAt = (at: number) => flipBitAt(at, 0);

/** An executor that runs with `runOptions` (possibly tampering) and signs whatever it computed. */
async function executorRun(runOptions: RunOptions = {}, feeds = inputs, account = executor, overrides: Partial<Receipt['typedData']['message']> = {}) {
  const r = session.run(feeds, { ...runOptions, trace: true });
  const receipt = await signTestReceipt({ modelBytes, inputs: [inputs.x], outputs: r.outputList, traceRoot: toHexBytes(r.trace!.root), account, overrides });
  return { receipt, leaves: r.trace!.leaves };
}

const challenge = (receipt: unknown, respond: (q: DisputeQuery) => DisputeAnswer, execute?: (s: Session, i: Record<string, Tensor>) => ChallengerRun) =>
  challengeReceipt({ receipt, modelBytes, inputs, respond, session, execute });

test('the bisection finds the leftmost differing leaf in at most ceil(log2 n) + 1 rounds', () => {
  for (let n = 1; n <= 70; n++) {
    const honest = Array.from({ length: n }, (_, i) => Uint8Array.from([i, 1]));
    for (const first of [0, Math.floor(n / 2), n - 1]) {
      const bad = honest.map((l, i) => (i >= first ? Uint8Array.from([i, 2]) : l));
      const badHashes = bad.map(leafHash);
      const own = honest.map(leafHash);
      const game = new Bisection(subtreeRoot(badHashes), n);
      const respond = traceResponder(bad);
      for (;;) {
        const s = game.answer(respond(game.query()));
        if (s.status !== 'open') break;
        const [lo, hi] = game.range;
        game.choose(chooseSide(own, lo, hi, game.children!.left));
      }
      assert.equal(game.state.status, 'located');
      assert.equal((game.state as { index: number }).index, first, `n=${n}`);
      assert.ok(game.rounds <= Math.ceil(Math.log2(n)) + 1, `n=${n} rounds=${game.rounds}`);
    }
  }
});

test('an honest receipt is not disputed', async () => {
  const { receipt, leaves } = await executorRun();
  const out = await challenge(receipt, traceResponder(leaves));
  assert.equal(out.winner, 'none');
});

test('a bit flip in one intermediate tensor of a 60-node model is caught and proven at that node', async () => {
  assert.ok(N >= 50);
  const at = 31;
  const { receipt, leaves } = await executorRun({ afterNode: flipAt(at) });
  const out = await challenge(receipt, traceResponder(leaves));
  assert.equal(out.winner, 'challenger', out.reason);
  assert.equal(out.node, at);
  assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
  assert.equal(out.verdict?.executor?.toLowerCase(), executor.address.toLowerCase());
  assert.ok(out.rounds <= MAX_ROUNDS, `${out.rounds} rounds`);
  // the proof is plain JSON and any referee reaches the same verdict from it alone
  const wire = JSON.parse(JSON.stringify(out.fraudProof));
  assert.equal((await verifyFraudProof(wire, modelBytes)).code, 'NODE_OUTPUT_WRONG');
});

test('a wrong output with a self-consistent trace is caught at the node that produced it', async () => {
  const { receipt, leaves } = await executorRun({ afterNode: flipAt(N - 1) });
  const out = await challenge(receipt, traceResponder(leaves));
  assert.equal(out.winner, 'challenger');
  assert.equal(out.node, N - 1);
  assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
});

test('a receipt whose output digest contradicts its own (correct) trace is an output fraud', async () => {
  const honest = session.run(inputs, { trace: true });
  const wrong = toHexBytes(tensorListDigest([new Tensor(DType.float32, [2, 6], new Float32Array(12))]));
  const { receipt, leaves } = await executorRun({}, inputs, executor, { output: wrong });
  const out = await challenge(receipt, traceResponder(leaves));
  assert.equal(out.winner, 'challenger');
  assert.equal(out.fraudProof?.kind, 'output');
  assert.equal(out.verdict?.code, 'OUTPUT_MISMATCH');
  assert.equal(out.rounds, 0);
  assert.deepEqual(leaves, honest.trace!.leaves);
});

test('an executor that signs a trace it did not compute cannot answer the bisection', async () => {
  const fake = toHexBytes(new Uint8Array(32).fill(0xab));
  const { receipt } = await executorRun({}, inputs, executor, { traceRoot: fake });
  const random = (q: DisputeQuery): DisputeAnswer =>
    q.type === 'leaf'
      ? { type: 'leaf', index: q.index, data: toHexBytes(crypto.getRandomValues(new Uint8Array(40))) }
      : { type: 'children', lo: q.lo, hi: q.hi, left: toHexBytes(crypto.getRandomValues(new Uint8Array(32))), right: toHexBytes(crypto.getRandomValues(new Uint8Array(32))) };
  const out = await challenge(receipt, random);
  assert.equal(out.winner, 'challenger');
  assert.match(out.reason, /broke its commitment/);
  assert.equal(out.rounds, 1);
});

test('an executor that ran another input but signed this one is caught at the first node reading it', async () => {
  const other = { x: randomTensor([2, 6], 8) };
  const { receipt, leaves } = await executorRun({}, other);
  const out = await challenge(receipt, traceResponder(leaves));
  assert.equal(out.winner, 'challenger');
  assert.equal(out.node, 0);
  assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
});

test('an executor that lies during the bisection loses', async () => {
  const honest = session.run(inputs, { trace: true }).trace!.leaves;
  const { receipt, leaves } = await executorRun({ afterNode: flipAt(12) });
  // answers from the honest trace, hoping to look innocent: the first answer does not match its commitment
  const out1 = await challenge(receipt, traceResponder(honest));
  assert.equal(out1.winner, 'challenger');
  assert.match(out1.reason, /do not hash to the committed subtree/);
  // answers truthfully until the end, then reveals a different leaf
  const truthful = traceResponder(leaves);
  const out2 = await challenge(receipt, (q) => (q.type === 'leaf' ? { type: 'leaf', index: q.index, data: toHexBytes(honest[q.index]!) } : truthful(q)));
  assert.equal(out2.winner, 'challenger');
  assert.match(out2.reason, /does not hash to the committed leaf/);
  // malformed answers and refusals
  const out3 = await challenge(receipt, () => ({ type: 'children', lo: 0, hi: 1, left: '0x00', right: '0x00' }) as DisputeAnswer);
  assert.equal(out3.winner, 'challenger');
  const out4 = await challenge(receipt, () => {
    throw new Error('connection reset');
  });
  assert.equal(out4.winner, 'challenger');
});

test('a dishonest challenger never makes an honest executor lose', async () => {
  const { receipt, leaves } = await executorRun();
  const lying = (s: Session, i: Record<string, Tensor>) => {
    const values = new Map<string, Tensor>();
    const r = s.run(i, {
      trace: true,
      afterNode: (node, outs) => {
        const res = flipAt(20)!(node, outs) ?? outs;
        node.outputs.forEach((name, k) => name && values.set(name, res[k]!));
        return res;
      },
    });
    return { leaves: r.trace!.leaves, values, outputs: r.outputList };
  };
  const out = await challenge(receipt, traceResponder(leaves), lying);
  assert.equal(out.winner, 'executor');
  assert.equal(out.node, 20);
  assert.equal(out.verdict?.code, 'NODE_CORRECT');
});

test('tampered fraud proofs are rejected with a specific reason', async () => {
  const { receipt, leaves } = await executorRun({ afterNode: flipAt(31) });
  const good = (await challenge(receipt, traceResponder(leaves))).fraudProof!;
  const copy = (): FraudProof => JSON.parse(JSON.stringify(good));
  const verdict = async (p: unknown, bytes = modelBytes) => (await verifyFraudProof(p, bytes)).code;

  // wrong tensor: one input value changed
  const t1 = copy();
  const inp = t1.inputs![0]! as { tensor: { data: string } };
  const bytes = Uint8Array.from(atob(inp.tensor.data), (c) => c.charCodeAt(0));
  bytes[0]! ^= 1;
  inp.tensor.data = btoa(String.fromCharCode(...bytes));
  assert.equal(await verdict(t1), 'INPUT_NOT_COMMITTED');

  // wrong index: the same leaf claimed at another position
  const t2 = copy();
  t2.disputed!.node = 30;
  assert.equal(await verdict(t2), 'LEAF_NOT_IN_TRACE');

  // forged signature: the receipt's signature altered
  const t3 = copy();
  const r3 = t3.receipt as { signature: string };
  r3.signature = r3.signature.slice(0, 10) + (r3.signature[10] === '1' ? '2' : '1') + r3.signature.slice(11);
  assert.equal(await verdict(t3), 'BAD_SIGNATURE');

  // a receipt naming this executor but signed by another key
  const { receipt: forged } = await executorRun({ afterNode: flipAt(31) }, inputs, other);
  const t4 = copy();
  t4.receipt = forged;
  assert.equal(await verdict(t4), 'BAD_SIGNATURE');

  // a proof checked against another model
  assert.equal(await verdict(good, deepModel(20, 5)), 'WRONG_MODEL');

  // wrong input source and malformed objects
  const t5 = copy();
  t5.inputs![1] = { source: 'initializer', name: 'w0' };
  assert.equal(await verdict(t5), 'WRONG_INPUT_SOURCE');
  const t6 = copy();
  t6.traceSize = 61;
  assert.equal(await verdict(t6), 'TRACE_SIZE_MISMATCH');
  assert.equal(await verdict({ schema: 'nope' }), 'MALFORMED_PROOF');
  assert.equal(await verdict(null), 'MALFORMED_PROOF');
  const t7 = copy();
  t7.disputed!.path = t7.disputed!.path.slice(1);
  assert.equal(await verdict(t7), 'LEAF_NOT_IN_TRACE');
  // graph-input digests that do not hash to the receipt's input digest
  const t8 = copy();
  t8.fedInputs![0]!.digest = toHexBytes(new Uint8Array(32));
  assert.equal(await verdict(t8), 'INPUT_NOT_COMMITTED');
  // and the untouched proof still stands
  assert.equal(await verdict(good), 'NODE_OUTPUT_WRONG');
});

test('a well-formed proof against a correct node is rejected (NODE_CORRECT)', async () => {
  const { receipt, leaves } = await executorRun({ afterNode: flipAt(31) });
  const good = (await challenge(receipt, traceResponder(leaves))).fraudProof!;
  // node 30's inputs and leaf come from the agreed prefix: re-target the proof there
  const honestRun30 = honestRun(session, inputs);
  const own = honestRun30.leaves.map(leafHash);
  const game = new Bisection(fromHex((receipt as Receipt).typedData.message.traceRoot), N);
  // open the executor's tree along the path to leaf 30 using its real answers
  const respond = traceResponder(leaves);
  for (;;) {
    const s = game.answer(respond(game.query()));
    if (s.status !== 'open') break;
    const [lo, hi] = game.range;
    game.choose(30 < lo + splitPoint(hi - lo) ? 'left' : 'right');
  }
  const proof: FraudProof = JSON.parse(JSON.stringify(good));
  proof.disputed = { node: 30, leaf: toHexBytes(leaves[30]!), path: pathInCommittedTree(game, own, 31, 30).map(toHexBytes) };
  proof.inputs = [
    {
      source: 'node',
      output: 0,
      opening: { node: 29, leaf: toHexBytes(leaves[29]!), path: pathInCommittedTree(game, own, 31, 29).map(toHexBytes) },
      tensor: tensorToWire(honestRun30.values.get('h9')!),
    },
    { source: 'initializer', name: 'w10' },
  ];
  const v = await verifyFraudProof(proof, modelBytes);
  assert.equal(v.code, 'NODE_CORRECT', v.reason);
  assert.equal(v.accepted, false);
});

test('a control-flow node that reads top-level values is proven (and defended) with its captured values', async () => {
  const { graphAttr } = await import('../onnx/build.js');
  const F = DType.float32;
  const bytes = buildModel({
    inputs: [{ name: 'x', dtype: F, shape: [2, 3] }],
    outputs: [{ name: 'y', dtype: F, shape: [2, 3] }],
    initializers: { cond: new Tensor(DType.bool, [], Uint8Array.from([1])), one: new Tensor(F, [], Float32Array.from([1])) },
    nodes: [
      { op: 'Neg', inputs: ['x'], outputs: ['nx'] },
      {
        op: 'If',
        inputs: ['cond'],
        outputs: ['z'],
        attrs: {
          then_branch: graphAttr({ name: 'then', inputs: [], outputs: [{ name: 't', dtype: F }], nodes: [{ op: 'Add', inputs: ['nx', 'one'], outputs: ['t'] }] }),
          else_branch: graphAttr({ name: 'else', inputs: [], outputs: [{ name: 'e', dtype: F }], nodes: [{ op: 'Sub', inputs: ['nx', 'one'], outputs: ['e'] }] }),
        },
      },
      { op: 'Tanh', inputs: ['z'], outputs: ['y'] },
    ],
  });
  const s = createSession(bytes);
  const feeds = { x: randomTensor([2, 3], 11) };
  const signRun = async (opts: RunOptions) => {
    const r = s.run(feeds, { ...opts, trace: true });
    const receipt = await signTestReceipt({ modelBytes: bytes, inputs: [feeds.x], outputs: r.outputList, traceRoot: toHexBytes(r.trace!.root), requestByte: 9 });
    return { receipt, leaves: r.trace!.leaves };
  };
  // a cheating executor at the If node is caught there; the proof carries nx and one
  const bad = await signRun({ afterNode: flipAt(1) });
  const out = await challengeReceipt({ receipt: bad.receipt, modelBytes: bytes, inputs: feeds, respond: traceResponder(bad.leaves), session: s });
  assert.equal(out.node, 1);
  assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG', out.reason);
  assert.equal(out.fraudProof?.captures?.length, 2);
  // without its captured values the proof cannot be checked: rejected, never accepted
  const stripped = JSON.parse(JSON.stringify(out.fraudProof));
  delete stripped.captures;
  assert.equal((await verifyFraudProof(stripped, bytes)).code, 'MALFORMED_PROOF');
  // an honest executor at the same node survives a (lying) challenger's proof
  const good = await signRun({});
  const lying = (sess: Session, i: Record<string, Tensor>) => {
    const values = new Map<string, Tensor>();
    const r = sess.run(i, {
      trace: true,
      afterNode: (node, outs) => {
        const res = flipAt(1)!(node, outs) ?? outs;
        node.outputs.forEach((name, k) => name && values.set(name, res[k]!));
        return res;
      },
    });
    return { leaves: r.trace!.leaves, values, outputs: r.outputList };
  };
  const out2 = await challengeReceipt({ receipt: good.receipt, modelBytes: bytes, inputs: feeds, respond: traceResponder(good.leaves), session: s, execute: lying });
  assert.equal(out2.winner, 'executor');
  assert.equal(out2.verdict?.code, 'NODE_CORRECT', out2.reason);
});

test('wire tensors must carry canonical bytes: NaN payloads and bool bytes other than 0/1 are refused', async () => {
  const { tensorFromWire, toBase64 } = await import('./wire.js');
  const nan = new Float32Array([NaN, 1]);
  new Uint32Array(nan.buffer)[0] = 0x7fc00001; // a NaN with a payload
  assert.throws(() => tensorFromWire({ dtype: DType.float32, dims: [2], data: toBase64(new Uint8Array(nan.buffer)) }), /canonical/);
  const canonicalNaN = new Float32Array([NaN, 1]);
  new Uint32Array(canonicalNaN.buffer)[0] = 0x7fc00000;
  assert.ok(Number.isNaN(tensorFromWire({ dtype: DType.float32, dims: [2], data: toBase64(new Uint8Array(canonicalNaN.buffer)) }).data[0] as number));
  assert.throws(() => tensorFromWire({ dtype: DType.bool, dims: [2], data: toBase64(Uint8Array.from([1, 2])) }), /canonical/);
});
