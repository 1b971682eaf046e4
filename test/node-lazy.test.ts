import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAZY_TRACE_ROOT } from '../src/proof/commitment.js';
import { challengeReceipt } from '../src/proof/dispute.js';
import { verifyFraudProof } from '../src/proof/fraud.js';
import { verifyReceipt } from '../src/proof/verify.js';
import { DType } from '../src/tensor/dtype.js';
import { tensorFromJson } from '../src/tensor/json.js';
import { disputeResponder } from '../src/node/remote.js';
import { http, killAll, publishTo, spawnNode, type SpawnedNode } from '../src/node/testing.js';

/**
 * Lazy receipts end to end (`verinfer node start --trace lazy`): the node signs
 * an all-zero trace root, and commits to a trace only when a challenger asks
 * `{type: 'commit'}` over POST /v1/disputes/:requestId.
 */

const root = join(import.meta.dirname, '..');
const modelBytes = new Uint8Array(readFileSync(join(root, 'models/penguins-classifier.onnx')));
const inputJson = JSON.parse(readFileSync(join(root, 'models/penguins-classifier.input.json'), 'utf8')) as { features: unknown };
const inputs = { features: tensorFromJson(inputJson.features, DType.float32, 'features') };

const tmp = mkdtempSync(join(tmpdir(), 'verinfer-node-lazy-'));
let honest: SpawnedNode;
let cheater: SpawnedNode;

before(async () => {
  [honest, cheater] = await Promise.all([spawnNode(join(tmp, 'honest'), ['--trace', 'lazy']), spawnNode(join(tmp, 'cheater'), ['--trace', 'lazy', '--byzantine', 'wrong-output'])]);
  for (const n of [honest, cheater]) assert.equal((await publishTo(n.url, modelBytes, 'penguins')).status, 201);
});

after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

async function inferOn(n: SpawnedNode) {
  const r = await http('POST', `${n.url}/v1/infer`, { model: 'penguins', inputs: inputJson, mode: 'none' });
  assert.equal(r.status, 200, r.text);
  return r.body as { requestId: string; receipts: any[] };
}

const challenge = (n: SpawnedNode, receipt: any) => challengeReceipt({ receipt, modelBytes, inputs, respond: disputeResponder(n.url, receipt.typedData.message.requestId) });

describe('lazy receipts over HTTP', () => {
  test('an honest lazy node: valid receipt, nothing to dispute, the commit answers with a signed root', async () => {
    const r = await inferOn(honest);
    const receipt = r.receipts[0];
    assert.equal(receipt.typedData.message.traceRoot, LAZY_TRACE_ROOT);
    const v = await verifyReceipt({ receipt, modelBytes, inputs });
    assert.equal(v.valid, true, JSON.stringify(v.checks));
    assert.equal((await challenge(honest, receipt)).winner, 'none');
    // bisection before commit is refused; the commit is answered (and stays the same)
    const q1 = await http('POST', `${honest.url}/v1/disputes/${r.requestId}`, { type: 'open', lo: 0, hi: 7 });
    assert.equal(q1.status, 400);
    assert.equal(q1.body.error.code, 'DISPUTE_INVALID');
    const c1 = await http('POST', `${honest.url}/v1/disputes/${r.requestId}`, { type: 'commit' });
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c1.body.type, 'commitment');
    const c2 = await http('POST', `${honest.url}/v1/disputes/${r.requestId}`, { type: 'commit' });
    assert.deepEqual(c2.body, c1.body);
    const rec = await http('GET', `${honest.url}/v1/receipts/${r.requestId}`);
    assert.equal(rec.body.trace, 'lazy');
    assert.equal(rec.body.committed, true);
    assert.equal(rec.body.traceSize, 7);
  });

  test('a byzantine lazy node is caught: commit, bisection, fraud proof with the commitment', async () => {
    const r = await inferOn(cheater);
    const receipt = r.receipts[0];
    assert.equal(receipt.typedData.message.traceRoot, LAZY_TRACE_ROOT);
    assert.equal((await verifyReceipt({ receipt, modelBytes, inputs })).valid, false);
    const out = await challenge(cheater, receipt);
    assert.equal(out.winner, 'challenger', out.reason);
    assert.equal(out.transcript[0]!.query.type, 'commit');
    assert.equal(out.verdict?.code, 'NODE_OUTPUT_WRONG');
    assert.equal(out.node, 6);
    assert.ok(out.fraudProof?.commitment);
    const v = await verifyFraudProof(JSON.parse(JSON.stringify(out.fraudProof)), modelBytes);
    assert.equal(v.accepted, true, v.reason);
    assert.equal(v.executor, cheater.address);
    // the cheater itself accepts the proof against its receipt and marks it failed
    const sub = await http('POST', `${cheater.url}/v1/fraud-proofs`, out.fraudProof);
    assert.equal(sub.status, 200, sub.text);
    assert.equal(sub.body.verdict.accepted, true);
    assert.equal((await http('GET', `${cheater.url}/v1/receipts/${r.requestId}`)).body.status, 'failed');
  });
});
