import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession } from '../src/engine/session.js';
import { verifyFraudProof } from '../src/proof/fraud.js';
import { verifyReceipt } from '../src/proof/verify.js';
import { DType } from '../src/tensor/dtype.js';
import { tensorFromJson, tensorToJson } from '../src/tensor/json.js';
import { parseDuration, parseWatchRate } from '../src/node/modes/index.js';
import { http, killAll, publishTo, spawnNode, waitUntil, type SpawnedNode } from '../src/node/testing.js';

/**
 * Verification modes end to end (src/node/modes/README.md): real node
 * processes on loopback. A, B, C are honest; F (bitflip), L (lie-bisection)
 * and W (wrong-output) cheat on every inference they execute. Only A hosts the
 * model; every other node fetches it by CID when first asked to run or check it.
 */

const root = join(import.meta.dirname, '..');
const modelBytes = new Uint8Array(readFileSync(join(root, 'models/penguins-classifier.onnx')));
const inputJson = JSON.parse(readFileSync(join(root, 'models/penguins-classifier.input.json'), 'utf8')) as { features: unknown };
const inputs = { features: tensorFromJson(inputJson.features, DType.float32, 'features') };
const local = createSession(modelBytes).run(inputs, { trace: true });
const localOutputs = Object.fromEntries(Object.entries(local.outputs).map(([k, t]) => [k, tensorToJson(t)]));

const tmp = mkdtempSync(join(tmpdir(), 'verinfer-node-modes-'));
const FAST = ['--watch-rate', '1', '--challenge-window', '1.5s'];
let A: SpawnedNode, B: SpawnedNode, C: SpawnedNode, F: SpawnedNode, L: SpawnedNode, W: SpawnedNode;
let cid = '';

before(async () => {
  A = await spawnNode(join(tmp, 'a'), FAST);
  B = await spawnNode(join(tmp, 'b'), [...FAST, '--peers', A.url]);
  C = await spawnNode(join(tmp, 'c'), [...FAST, '--peers', `${A.url},${B.url}`]);
  const seeds = ['--peers', [A.url, B.url, C.url].join(',')];
  [F, L, W] = await Promise.all([
    spawnNode(join(tmp, 'f'), [...FAST, ...seeds, '--byzantine', 'bitflip']),
    spawnNode(join(tmp, 'l'), [...FAST, ...seeds, '--byzantine', 'lie-bisection']),
    spawnNode(join(tmp, 'w'), ['--watch-rate', '1', '--challenge-window', '10s', ...seeds, '--byzantine', 'wrong-output']),
  ]);
  await waitUntil(async () => (await peers(A)).length === 5, 'A learns every node');
  const pub = await publishTo(A.url, modelBytes, 'penguins');
  assert.equal(pub.status, 201, pub.text);
  cid = pub.body.cid;
  // publishing re-announces: every node learns that A hosts the model
  for (const n of [B, C, F, L, W]) {
    await waitUntil(async () => (await peers(n)).some((p) => p.address === A.address && p.models.includes(cid)), 'the model announcement');
  }
});

after(async () => {
  await killAll();
  rmSync(tmp, { recursive: true, force: true });
});

async function peers(n: SpawnedNode): Promise<any[]> {
  return (await http('GET', `${n.url}/v1/peers`)).body.peers;
}
const peerView = async (n: SpawnedNode, address: string) => (await peers(n)).find((p) => p.address.toLowerCase() === address.toLowerCase());
// only A knows the name; the others are asked by CID (and fetch the model from A)
const infer = (n: SpawnedNode, body: Record<string, unknown>) => http('POST', `${n.url}/v1/infer`, { model: n === A ? 'penguins' : cid, inputs: inputJson, ...body });
const receiptOf = (n: SpawnedNode, id: string) => http('GET', `${n.url}/v1/receipts/${id}`);
const statusOf = async (n: SpawnedNode, id: string) => (await receiptOf(n, id)).body.status as string | undefined;

describe('verification mode replicated', () => {
  test('k=3 honest nodes: verified, three identical receipts, outputs equal a local run', async () => {
    const r = await infer(A, { mode: 'replicated', quorum: 3, options: { replicas: [B.address, C.address] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'verified');
    assert.deepEqual(r.body.faults, []);
    assert.equal(r.body.agreed, 3);
    assert.deepEqual(r.body.outputs, localOutputs);
    const receipts = r.body.receipts as any[];
    assert.deepEqual(receipts.map((x) => x.typedData.message.executor).sort(), [A.address, B.address, C.address].sort());
    for (const x of receipts) {
      const m = x.typedData.message;
      assert.equal(m.requestId, r.body.requestId);
      assert.equal(m.output, receipts[0].typedData.message.output);
      assert.equal(m.traceRoot, receipts[0].typedData.message.traceRoot);
      const v = await verifyReceipt({ receipt: x, modelBytes, inputs });
      assert.equal(v.valid, true, JSON.stringify(v.checks));
    }
    const rec = await receiptOf(A, r.body.requestId);
    assert.equal(rec.body.status, 'verified');
    assert.equal(rec.body.mode, 'replicated');
    assert.equal(rec.body.extra.replicas.length, 2);
    // the replicas ran it in mode none under the same request id (B fetched the model from A by CID)
    const onB = await receiptOf(B, r.body.requestId);
    assert.equal(onB.body.status, 'final');
    assert.equal(onB.body.mode, 'none');
  });

  test('refuses a quorum it cannot reach (503 QUORUM_UNAVAILABLE) and a quorum below 2', async () => {
    const r = await infer(A, { mode: 'replicated', quorum: 9 });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error.code, 'QUORUM_UNAVAILABLE');
    assert.equal(r.body.error.details.quorum, 9);
    assert.equal(r.body.error.details.found, 6);
    assert.match(r.body.error.message, /needs 9 nodes but only 6/);
    const one = await infer(A, { mode: 'replicated', quorum: 1 });
    assert.equal(one.status, 400);
    const bad = await infer(A, { mode: 'replicated', quorum: 2, options: { bogus: 1 } });
    assert.equal(bad.status, 400);
    // exclusive: only the named peers may be used
    const only = await infer(A, { mode: 'replicated', quorum: 3, options: { replicas: [B.address], exclusive: true } });
    assert.equal(only.status, 503, only.text);
    assert.equal(only.body.error.details.found, 2);
  });

  test('bitflip replica: honest result verified, the cheater named with an accepted fraud proof, caught everywhere, then avoided', async () => {
    // B and F are asked first; C is next in line and replaces F once F is proven wrong
    const r = await infer(A, { mode: 'replicated', quorum: 3, options: { replicas: [B.address, F.address, C.address] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'verified');
    assert.deepEqual(r.body.outputs, localOutputs);
    assert.equal(r.body.agreed, 3);
    assert.deepEqual(r.body.receipts.map((x: any) => x.typedData.message.executor).sort(), [A.address, B.address, C.address].sort());
    assert.equal(r.body.faults.length, 1);
    const fault = r.body.faults[0];
    assert.equal(fault.node, F.address);
    assert.equal(fault.code, 'NODE_OUTPUT_WRONG');
    const verdict = await verifyFraudProof(fault.fraudProof, modelBytes);
    assert.equal(verdict.accepted, true, verdict.reason);
    assert.equal(verdict.executor, F.address);
    // gossip: the other nodes record the cheater, and the cheater's own record of the receipt fails
    for (const n of [A, B, C]) await waitUntil(async () => (await peerView(n, F.address))?.reputation.caught === true, 'F caught');
    await waitUntil(async () => (await statusOf(F, r.body.requestId)) === 'failed', "F's receipt failed");
    // B's honest receipt of the same request id is untouched by the proof against F
    assert.equal(await statusOf(B, r.body.requestId), 'final');
    // a new request naming F again avoids it
    const again = await infer(A, { mode: 'replicated', quorum: 3, options: { replicas: [F.address, B.address, C.address] } });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.status, 'verified');
    assert.deepEqual(again.body.faults, []);
    assert.deepEqual(again.body.receipts.map((x: any) => x.typedData.message.executor).sort(), [A.address, B.address, C.address].sort());
    assert.ok(again.body.excluded.some((e: any) => e.node === F.address && /caught/.test(e.reason)), JSON.stringify(again.body.excluded));
  });

  test('lie-bisection replica: the executor-failed dispute is a fault with a reason (no transferable proof)', async () => {
    // exclusive: no replacement, so the result rests on A and C (plus the lost dispute)
    const r = await infer(A, { mode: 'replicated', quorum: 3, options: { replicas: [C.address, L.address], exclusive: true } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'verified');
    assert.equal(r.body.agreed, 2);
    assert.deepEqual(r.body.outputs, localOutputs);
    assert.equal(r.body.faults.length, 1);
    const fault = r.body.faults[0];
    assert.equal(fault.node, L.address);
    assert.equal(fault.code, 'EXECUTOR_FAILED');
    assert.equal(fault.fraudProof, null);
    assert.match(fault.reason, /broke its commitment/);
    const seen = await peerView(A, L.address);
    assert.equal(seen.reputation.caught, true);
    assert.deepEqual(seen.reputation.codes, ['EXECUTOR_FAILED']);
    const m = await http('GET', `${A.url}/metrics`);
    assert.match(m.text, /verinfer_verification_outcomes_total\{mode="replicated",role="coordinator",status="verified"\} 4/);
    assert.match(m.text, /verinfer_disputes_total\{role="challenger",outcome="won"\} 2/);
  });
});

describe('verification mode optimistic', () => {
  test('honest executor: pending, watchers agree, final after the window', async () => {
    const t0 = Date.now();
    const r = await infer(B, { mode: 'optimistic' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'pending');
    assert.deepEqual(r.body.outputs, localOutputs);
    assert.ok(r.body.finalizesAt >= t0 + 1500 && r.body.finalizesAt <= Date.now() + 1500, String(r.body.finalizesAt));
    const id = r.body.requestId;
    assert.equal(await statusOf(B, id), 'pending');
    for (const n of [A, C]) {
      await waitUntil(async () => (await receiptOf(n, id)).body.extra?.watch?.outcome === 'agree', 'a watcher agrees', 5000);
      const w = await receiptOf(n, id);
      assert.equal(w.body.role, 'watcher');
    }
    await waitUntil(async () => (await statusOf(B, id)) === 'final', 'final', 5000);
    assert.ok(Date.now() >= r.body.finalizesAt);
    await waitUntil(async () => (await statusOf(A, id)) === 'final', 'final at a watcher', 5000);
    const m = await http('GET', `${A.url}/metrics`);
    assert.match(m.text, /verinfer_verifications_total\{kind="watch",outcome="agree"\} 1/);
  });

  test('wrong-output executor: watchers prove it; the receipt fails on the executor and the watchers', async () => {
    const r = await infer(W, { mode: 'optimistic' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'pending');
    assert.notDeepEqual(r.body.outputs, localOutputs);
    const id = r.body.requestId;
    // the honest client polls the executor
    await waitUntil(async () => (await statusOf(W, id)) === 'failed', 'the executor marks its receipt failed', 8000);
    const g = await receiptOf(W, id);
    assert.ok(g.body.fraudProof);
    const verdict = await verifyFraudProof(g.body.fraudProof, modelBytes);
    assert.equal(verdict.accepted, true, verdict.reason);
    assert.equal(verdict.executor, W.address);
    assert.equal(verdict.code, 'NODE_OUTPUT_WRONG');
    for (const n of [A, B, C]) {
      await waitUntil(async () => (await statusOf(n, id)) === 'failed', 'a watcher marks it failed', 5000);
      await waitUntil(async () => (await peerView(n, W.address))?.reputation.caught === true, 'W caught', 5000);
    }
    // the window passes: failed stays failed
    assert.equal(await statusOf(W, id), 'failed');
  });

  test('a restart finalises records whose window closed while the node was down', async () => {
    const r = await infer(C, { mode: 'optimistic' });
    assert.equal(r.status, 200, r.text);
    const id = r.body.requestId;
    await C.stop();
    await new Promise((res) => setTimeout(res, Math.max(0, r.body.finalizesAt - Date.now() + 100)));
    const C2 = await spawnNode(join(tmp, 'c'), [...FAST, '--peers', `${A.url},${B.url}`]);
    assert.equal(C2.address, C.address);
    assert.equal(await statusOf(C2, id), 'final');
  });
});

test('flag parsing', () => {
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('30'), 30_000);
  assert.throws(() => parseDuration('soon'), /duration/);
  assert.equal(parseWatchRate('0.25'), 0.25);
  assert.throws(() => parseWatchRate('2'), /from 0 to 1/);
});
