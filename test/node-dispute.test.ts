import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { challengeReceipt } from '../src/proof/dispute.js';
import { verifyReceipt } from '../src/proof/verify.js';
import { DType } from '../src/tensor/dtype.js';
import { tensorFromJson } from '../src/tensor/json.js';
import { disputeResponder } from '../src/node/remote.js';
import { http, killAll, publishTo, spawnNode, waitUntil, type SpawnedNode } from '../src/node/testing.js';

/**
 * Byzantine nodes caught end to end: real node processes on loopback, one
 * honest and one per strategy. The test plays the challenger with
 * `challengeReceipt`, whose `respond` POSTs each bisection question to the
 * executor's /v1/disputes/:requestId, then gossips the fraud proof through an
 * honest node, which fetches the model from a peer by CID to check it.
 */

const root = join(import.meta.dirname, '..');
const modelBytes = new Uint8Array(readFileSync(join(root, 'models/penguins-classifier.onnx')));
const inputJson = JSON.parse(readFileSync(join(root, 'models/penguins-classifier.input.json'), 'utf8')) as { features: unknown };
const inputs = { features: tensorFromJson(inputJson.features, DType.float32, 'features') };

const tmp = mkdtempSync(join(tmpdir(), 'verinfer-node-dispute-'));
let honest: SpawnedNode;
const cheaters: Record<string, SpawnedNode> = {};
let cid = '';
const STRATEGIES = ['bitflip', 'wrong-output', 'lie-bisection'] as const;

before(async () => {
  honest = await spawnNode(join(tmp, 'honest'));
  const started = await Promise.all(STRATEGIES.map((s) => spawnNode(join(tmp, s), ['--byzantine', s, '--peers', honest.url])));
  STRATEGIES.forEach((s, i) => (cheaters[s] = started[i]!));
  // the cheaters host the model and announce it (a publish re-announces); the honest node does not have it
  for (const s of STRATEGIES) assert.equal((await publishTo(cheaters[s]!.url, modelBytes, 'penguins')).status, 201);
});

after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

async function inferOn(n: SpawnedNode, model = 'penguins') {
  const r = await http('POST', `${n.url}/v1/infer`, { model, inputs: inputJson, mode: 'none' });
  assert.equal(r.status, 200, r.text);
  return r.body as { requestId: string; receipts: any[]; outputs: any };
}

const challenge = (n: SpawnedNode, receipt: any) =>
  challengeReceipt({ receipt, modelBytes, inputs, respond: disputeResponder(n.url, receipt.typedData.message.requestId) });

const peerView = async (n: SpawnedNode, address: string) => {
  const r = await http('GET', `${n.url}/v1/peers`);
  return (r.body.peers as any[]).find((p) => p.address.toLowerCase() === address.toLowerCase());
};

describe('byzantine nodes are caught through the HTTP dispute protocol', () => {
  test('the honest node learns the cheaters from their signed announcements', async () => {
    await waitUntil(async () => {
      const r = await http('GET', `${honest.url}/v1/peers`);
      return STRATEGIES.every((s) => (r.body.peers as any[]).some((p) => p.address === cheaters[s]!.address && p.models.length === 1));
    }, 'announcements');
    const p = await peerView(honest, cheaters.bitflip!.address);
    assert.equal(p.endpoint, cheaters.bitflip!.url);
    assert.equal(p.reputation.caught, false);
  });

  test('bitflip: located at the flipped node; the proof, gossiped, gets the cheater recorded everywhere', async () => {
    const b = cheaters.bitflip!;
    const r = await inferOn(b);
    const receipt = r.receipts[0];
    assert.equal((await verifyReceipt({ receipt, modelBytes, inputs })).valid, false);
    const out = await challenge(b, receipt);
    assert.equal(out.winner, 'challenger', out.reason);
    assert.equal(out.node, 3); // the middle node of 7 (Relu)
    assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
    assert.ok(out.rounds <= 4);
    cid = receipt.modelCid;
    // the honest node does not have the model: it fetches it by CID from a peer that announced it, then decides
    const g = await http('POST', `${honest.url}/v1/fraud-proofs`, out.fraudProof);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.body.verdict.accepted, true);
    assert.equal(g.body.verdict.code, 'NODE_OUTPUT_WRONG');
    assert.equal(g.body.verdict.executor, b.address);
    assert.equal(g.body.recorded, true);
    const seen = await peerView(honest, b.address);
    assert.equal(seen.reputation.caught, true);
    assert.deepEqual(seen.reputation.codes, ['NODE_OUTPUT_WRONG']);
    // posting it again is idempotent
    const again = await http('POST', `${honest.url}/v1/fraud-proofs`, out.fraudProof);
    assert.equal(again.body.known, true);
    assert.equal(again.body.recorded, false);
    // gossip: the other nodes learn it too, and the cheater's own record of the receipt turns 'failed'
    await waitUntil(async () => (await peerView(cheaters['wrong-output']!, b.address))?.reputation.caught === true, 'gossip to a peer');
    await waitUntil(async () => (await http('GET', `${b.url}/v1/receipts/${r.requestId}`)).body.status === 'failed', 'the receipt marked failed');
    const m = await http('GET', `${honest.url}/metrics`);
    assert.match(m.text, /verinfer_fraud_proofs_total\{verdict="accepted"\} 1/);
    const bm = await http('GET', `${b.url}/metrics`);
    assert.match(bm.text, /verinfer_disputes_total\{role="executor",outcome="answered"\} [1-4]/);
  });

  test('wrong-output: a self-consistent trace with a wrong final output is proven at the last node', async () => {
    const b = cheaters['wrong-output']!;
    const r = await inferOn(b);
    assert.notDeepEqual(r.outputs.label.data, [0]); // the honest label is 0 (Adelie)
    const out = await challenge(b, r.receipts[0]);
    assert.equal(out.winner, 'challenger', out.reason);
    assert.equal(out.node, 6);
    assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
    const g = await http('POST', `${honest.url}/v1/fraud-proofs`, out.fraudProof);
    assert.equal(g.body.verdict.accepted, true);
    assert.equal((await peerView(honest, b.address)).reputation.caught, true);
  });

  test('lie-bisection: answering from the honest trace breaks the signed commitment (executor-failed)', async () => {
    const b = cheaters['lie-bisection']!;
    const r = await inferOn(b);
    const out = await challenge(b, r.receipts[0]);
    assert.equal(out.winner, 'challenger', out.reason);
    assert.match(out.reason, /broke its commitment/);
    assert.equal(out.fraudProof, undefined);
    assert.equal(out.rounds, 1);
  });

  test('an honest node is never caught: its receipt survives a challenge and forged proofs are rejected', async () => {
    // the honest node fetched the model while checking the first proof; it can serve it now
    const r = await inferOn(honest, cid);
    const receipt = r.receipts[0];
    assert.equal((await verifyReceipt({ receipt, modelBytes, inputs })).valid, true);
    const out = await challenge(honest, receipt);
    assert.equal(out.winner, 'none');
    // a cheater's accepted proof with the honest receipt swapped in proves nothing
    const b = cheaters.bitflip!;
    const br = await inferOn(b);
    const real = await challenge(b, br.receipts[0]);
    const forged = { ...real.fraudProof!, receipt };
    for (const target of [honest, cheaters['wrong-output']!]) {
      const g = await http('POST', `${target.url}/v1/fraud-proofs`, forged);
      assert.equal(g.status, 200, g.text);
      assert.equal(g.body.verdict.accepted, false);
    }
    const view = await peerView(cheaters['wrong-output']!, honest.address);
    assert.equal(view?.reputation.caught ?? false, false);
    const self = await http('GET', `${honest.url}/v1/receipts/${r.requestId}`);
    assert.equal(self.body.status, 'final');
    const m = await http('GET', `${honest.url}/metrics`);
    assert.match(m.text, /verinfer_fraud_proofs_total\{verdict="rejected"\} 1/);
  });
});
