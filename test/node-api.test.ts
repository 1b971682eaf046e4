import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession } from '../src/engine/session.js';
import { verifyReceipt } from '../src/proof/verify.js';
import { leafHash, subtreeRoot } from '../src/hash/merkle.js';
import { fromHex } from '../src/proof/wire.js';
import { tensorFromJson, tensorToJson } from '../src/tensor/json.js';
import { DType } from '../src/tensor/dtype.js';
import { createNode, type VerinferNode } from '../src/node/node.js';
import { http, killAll, publishTo, spawnNode, type SpawnedNode } from '../src/node/testing.js';

/**
 * The node API end to end: real `verinfer node start` processes on loopback
 * (plus one in-process node for the timeout path), the sample penguins model.
 */

const root = join(import.meta.dirname, '..');
const modelBytes = new Uint8Array(readFileSync(join(root, 'models/penguins-classifier.onnx')));
const inputJson = JSON.parse(readFileSync(join(root, 'models/penguins-classifier.input.json'), 'utf8')) as { features: { dims: number[]; data: number[] } };
const inputs = { features: tensorFromJson(inputJson.features, DType.float32, 'features') };

const tmp = mkdtempSync(join(tmpdir(), 'verinfer-node-api-'));
let node: SpawnedNode;
let busy: SpawnedNode;
let cid = '';
const inProcess: VerinferNode[] = [];

const LIMITS = ['--max-body-mb', '1', '--max-elements', '1000', '--max-flops', '5000'];

before(async () => {
  [node, busy] = await Promise.all([
    spawnNode(join(tmp, 'a'), LIMITS),
    spawnNode(join(tmp, 'busy'), ['--max-concurrent', '1', '--max-queue', '1'], { VERINFER_TEST_INFER_DELAY_MS: '400' }),
  ]);
});

after(async () => {
  await killAll();
  await Promise.all(inProcess.map((n) => n.close().catch(() => {})));
  rmSync(tmp, { recursive: true, force: true });
});

const infer = (url: string, body: unknown) => http('POST', `${url}/v1/infer`, body);

describe('node API', () => {
  let receipt: any;
  let requestId = '';

  test('creates its key file (0600) and serves /healthz and /v1/info', async () => {
    const st = statSync(join(tmp, 'a', 'node-key.json'));
    assert.equal(st.mode & 0o777, 0o600);
    const h = await http('GET', `${node.url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.body.ok, true);
    const info = await http('GET', `${node.url}/v1/info`);
    assert.equal(info.body.address, node.address);
    assert.equal(info.body.semantics, 'verinfer-canonical/1');
    assert.deepEqual(info.body.modes.includes('none'), true);
  });

  test('publishes a model (raw bytes) and lists and shows it', async () => {
    const r = await publishTo(node.url, modelBytes, 'penguins', '&tag=demo&tag=tabular&task=classification&license=CC0-1.0');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.name, 'penguins');
    assert.equal(r.body.version, '1.0.0');
    assert.equal(r.body.author, node.address);
    assert.equal(r.body.report.flops, 273);
    cid = r.body.cid;
    const again = await publishTo(node.url, modelBytes, 'penguins');
    assert.equal(again.status, 200);
    assert.equal(again.body.created, false);
    const list = await http('GET', `${node.url}/v1/models?tag=demo`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.models.map((m: any) => m.name), ['penguins']);
    for (const ref of ['penguins', 'penguins@1.0.0', cid]) {
      const one = await http('GET', `${node.url}/v1/models/${ref}`);
      assert.equal(one.status, 200, ref);
      assert.equal(one.body.cid, cid);
      assert.equal(one.body.pinned, true);
    }
    // the IPFS gateway serves the bytes under the CID
    const raw = await fetch(`${node.url}/ipfs/${cid}`, { headers: { accept: 'application/vnd.ipld.raw' } });
    assert.equal(raw.status, 200);
    assert.deepEqual(new Uint8Array(await raw.arrayBuffer()), modelBytes);
  });

  test('infers in mode none: outputs equal a local run and the signed receipt verifies', async () => {
    const r = await infer(node.url, { model: 'penguins', inputs: inputJson, mode: 'none' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.status, 'final');
    assert.equal(r.body.model, cid);
    assert.deepEqual(r.body.faults, []);
    const local = createSession(modelBytes).run(inputs, { trace: true });
    for (const [name, t] of Object.entries(local.outputs)) assert.deepEqual(r.body.outputs[name], tensorToJson(t), name);
    assert.equal(r.body.receipts.length, 1);
    receipt = r.body.receipts[0];
    requestId = r.body.requestId;
    assert.equal(receipt.typedData.message.requestId, requestId);
    assert.equal(receipt.typedData.message.executor, node.address);
    const v = await verifyReceipt({ receipt, modelBytes, inputs });
    assert.equal(v.valid, true, JSON.stringify(v.checks));
    // nested arrays and a CID reference work too
    const nested = await infer(node.url, { model: cid, inputs: { features: [[39.5, 17.4, 186, 3800]] } });
    assert.equal(nested.status, 200, nested.text);
    assert.deepEqual(nested.body.outputs, r.body.outputs);
  });

  test('serves the receipt, verifies receipts, answers disputes from its stored trace', async () => {
    const g = await http('GET', `${node.url}/v1/receipts/${requestId}`);
    assert.equal(g.status, 200);
    assert.equal(g.body.status, 'final');
    assert.deepEqual(g.body.receipt, receipt);
    assert.equal(g.body.traceSize, 7);
    assert.equal(g.body.inputs, undefined);
    const withInputs = await http('GET', `${node.url}/v1/receipts/${requestId.toUpperCase().replace('0X', '0x')}?inputs=1`);
    assert.deepEqual(withInputs.body.inputs.features, tensorToJson(inputs.features));

    const ok = await http('POST', `${node.url}/v1/verify`, { receipt, inputs: inputJson });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.valid, true);
    const otherInput = await http('POST', `${node.url}/v1/verify`, { receipt, inputs: { features: { dims: [1, 4], data: [40, 17, 186, 3800] } } });
    assert.equal(otherInput.body.valid, false);
    assert.equal(otherInput.body.checks.find((c: any) => c.name === 'input').ok, false);
    const malformed = await http('POST', `${node.url}/v1/verify`, { receipt: { schema: 'nope' }, inputs: {} });
    assert.equal(malformed.status, 200);
    assert.equal(malformed.body.valid, false);
    assert.equal(malformed.body.checks[0].name, 'schema');

    // the whole tree: children hash to the signed root
    const a = await http('POST', `${node.url}/v1/disputes/${requestId}`, { type: 'open', lo: 0, hi: 7 });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.body.type, 'children');
    const leaves = createSession(modelBytes).run(inputs, { trace: true }).trace!.leaves;
    const hashes = leaves.map(leafHash);
    assert.deepEqual(fromHex(a.body.left), subtreeRoot(hashes, 0, 4));
    const leaf = await http('POST', `${node.url}/v1/disputes/${requestId}`, { type: 'leaf', index: 6 });
    assert.deepEqual(fromHex(leaf.body.data), leaves[6]);
  });

  test('malformed requests each get a clear 4xx JSON error and the node stays up', async () => {
    const url = node.url;
    const json = { 'content-type': 'application/json' };
    const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
      ['garbage JSON', () => http('POST', `${url}/v1/infer`, '{"model": "penguins", inputs', json), 400, 'INVALID_REQUEST'],
      ['empty JSON body', () => http('POST', `${url}/v1/infer`, '', json), 400, 'INVALID_REQUEST'],
      ['a JSON array', () => infer(url, [1, 2, 3]), 400, 'INVALID_REQUEST'],
      ['no model', () => infer(url, { inputs: inputJson }), 400, 'INVALID_REQUEST'],
      ['unknown field', () => infer(url, { model: 'penguins', inputs: inputJson, temperature: 0.7 }), 400, 'INVALID_REQUEST'],
      ['inputs not an object', () => infer(url, { model: 'penguins', inputs: 'x' }), 400, 'INVALID_REQUEST'],
      ['bad quorum', () => infer(url, { model: 'penguins', inputs: inputJson, quorum: 0 }), 400, 'INVALID_REQUEST'],
      ['bad request id', () => infer(url, { model: 'penguins', inputs: inputJson, requestId: '0x12' }), 400, 'INVALID_REQUEST'],
      ['prototype poisoning', () => http('POST', `${url}/v1/infer`, '{"model":"penguins","inputs":{},"__proto__":{"x":1}}', json), 400, 'INVALID_REQUEST'],
      ['unknown model', () => infer(url, { model: 'no-such-model', inputs: inputJson }), 404, 'MODEL_NOT_FOUND'],
      ['invalid model name', () => infer(url, { model: 'Bad Name!', inputs: inputJson }), 404, 'MODEL_NOT_FOUND'],
      ['unknown CID', () => infer(url, { model: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', inputs: inputJson }), 404, 'MODEL_NOT_FOUND'],
      ['wrong shape', () => infer(url, { model: 'penguins', inputs: { features: { dims: [1, 5], data: [1, 2, 3, 4, 5] } } }), 400, 'INPUT_SHAPE_MISMATCH'],
      ['dims/data mismatch', () => infer(url, { model: 'penguins', inputs: { features: { dims: [1, 4], data: [1, 2] } } }), 400, 'INVALID_TENSOR'],
      ['non-numeric value', () => infer(url, { model: 'penguins', inputs: { features: [[1, 'abc', 3, 4]] } }), 400, 'INVALID_TENSOR'],
      ['ragged array', () => infer(url, { model: 'penguins', inputs: { features: [[1, 2, 3, 4], [1, 2]] } }), 400, 'INVALID_TENSOR'],
      ['wrong dtype', () => infer(url, { model: 'penguins', inputs: { features: { dtype: 'int32', dims: [1, 4], data: [1, 2, 3, 4] } } }), 400, 'INPUT_DTYPE_MISMATCH'],
      ['unknown input', () => infer(url, { model: 'penguins', inputs: { ...inputJson, extra: [1] } }), 400, 'UNKNOWN_INPUT'],
      ['missing input', () => infer(url, { model: 'penguins', inputs: {} }), 400, 'MISSING_INPUT'],
      ['unsupported mode', () => infer(url, { model: 'penguins', inputs: inputJson, mode: 'bogus' }), 422, 'MODE_UNSUPPORTED'],
      ['too many elements (dims)', () => infer(url, { model: 'penguins', inputs: { features: { dims: [1e9, 4], data: [] } } }), 413, 'TOO_MANY_ELEMENTS'],
      ['too many elements (data)', () => infer(url, { model: 'penguins', inputs: { features: Array.from({ length: 300 }, () => [1, 2, 3, 4]) } }), 413, 'TOO_MANY_ELEMENTS'],
      ['too expensive', () => infer(url, { model: 'penguins', inputs: { features: Array.from({ length: 20 }, () => [40, 17, 186, 3800]) } }), 413, 'TOO_EXPENSIVE'],
      ['huge body', () => http('POST', `${url}/v1/infer`, JSON.stringify({ model: 'penguins', inputs: { features: [[1, 2, 3, 4]] }, pad: 'x'.repeat(2 * 2 ** 20) }), json), 413, 'BODY_TOO_LARGE'],
      ['wrong content type', () => http('POST', `${url}/v1/infer`, 'model=penguins', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['octet-stream to infer', () => http('POST', `${url}/v1/infer`, new Uint8Array(10), { 'content-type': 'application/octet-stream' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['unknown route', () => http('GET', `${url}/v1/nothing`), 404, 'NOT_FOUND'],
      ['unknown receipt', () => http('GET', `${url}/v1/receipts/0x${'ab'.repeat(32)}`), 404, 'RECEIPT_NOT_FOUND'],
      ['bad receipt id', () => http('GET', `${url}/v1/receipts/42`), 400, 'INVALID_REQUEST'],
      ['reused request id', () => infer(url, { model: 'penguins', inputs: inputJson, requestId }), 400, 'INVALID_REQUEST'],
      ['dispute out of range', () => http('POST', `${url}/v1/disputes/${requestId}`, { type: 'leaf', index: 7 }), 400, 'DISPUTE_INVALID'],
      ['dispute bad range', () => http('POST', `${url}/v1/disputes/${requestId}`, { type: 'open', lo: 3, hi: 2 }), 400, 'DISPUTE_INVALID'],
      ['dispute malformed', () => http('POST', `${url}/v1/disputes/${requestId}`, { type: 'guess' }), 400, 'INVALID_REQUEST'],
      ['dispute unknown receipt', () => http('POST', `${url}/v1/disputes/0x${'cd'.repeat(32)}`, { type: 'leaf', index: 0 }), 404, 'RECEIPT_NOT_FOUND'],
      ['publish garbage model', () => publishTo(url, new Uint8Array([1, 2, 3, 4, 5]), 'garbage'), 422, 'MODEL_DECODE_FAILED'],
      ['publish without name', () => http('POST', `${url}/v1/models`, modelBytes, { 'content-type': 'application/octet-stream' }), 400, 'INVALID_REQUEST'],
      ['publish as JSON', () => http('POST', `${url}/v1/models?name=x`, { model: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['publish another model as an existing version', () => publishTo(url, new Uint8Array(readFileSync(join(root, 'models/sp500-forecaster.onnx'))), 'penguins', '&version=1.0.0'), 409, 'VERSION_EXISTS'],
      ['bad announcement', () => http('POST', `${url}/v1/peers/announce`, { schema: 'verinfer-peer/1', address: '0x' + '11'.repeat(20), endpoint: 'http://127.0.0.1:1', models: [], time: Date.now(), signature: '0x' + '22'.repeat(65) }), 400, 'ANNOUNCEMENT_INVALID'],
      ['fraud proof not an object', () => http('POST', `${url}/v1/fraud-proofs`, [1]), 400, 'INVALID_REQUEST'],
      ['verify without inputs', () => http('POST', `${url}/v1/verify`, { receipt }), 400, 'INVALID_REQUEST'],
    ];
    for (const [name, run, status, code] of cases) {
      const r = await run();
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body?.error?.code, code, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.error.message, 'string', name);
      assert.equal(typeof r.body.error.details, 'object', name);
    }
    const h = await http('GET', `${url}/healthz`);
    assert.equal(h.status, 200);
    // a valid request still works afterwards
    assert.equal((await infer(url, { model: 'penguins', inputs: inputJson })).status, 200);
  });

  test('/metrics exposes requests, inference latency, verifications and disputes', async () => {
    const m = await http('GET', `${node.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    const text = m.text;
    assert.match(text, /verinfer_http_requests_total\{method="POST",route="\/v1\/infer",status="200"\} [1-9]/);
    assert.match(text, /verinfer_http_requests_total\{method="POST",route="\/v1\/infer",status="400"\} [1-9]/);
    assert.match(text, /verinfer_inference_duration_seconds_count\{mode="none"\} [1-9]/);
    assert.match(text, /verinfer_verifications_total\{kind="receipt",outcome="valid"\} 1/);
    assert.match(text, /verinfer_verifications_total\{kind="receipt",outcome="invalid"\} 2/);
    assert.match(text, /verinfer_disputes_total\{role="executor",outcome="answered"\} 2/);
    assert.match(text, /verinfer_refusals_total\{code="TOO_MANY_ELEMENTS"\} 2/);
    assert.match(text, /verinfer_refusals_total\{code="BODY_TOO_LARGE"\} 1/);
  });

  test('restart (SIGTERM, or SIGKILL right after a response) loses no acknowledged receipt', async () => {
    const stopped = await node.stop();
    assert.equal(stopped.code, 0, node.stderr());
    assert.match(node.stdout(), /"event":"stopped"/);
    node = await spawnNode(join(tmp, 'a'), LIMITS);
    const g = await http('GET', `${node.url}/v1/receipts/${requestId}`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.body.receipt, receipt);
    assert.equal(node.address, receipt.typedData.message.executor, 'same key after restart');
    const leaf = await http('POST', `${node.url}/v1/disputes/${requestId}`, { type: 'leaf', index: 3 });
    assert.equal(leaf.status, 200);
    assert.deepEqual(fromHex(leaf.body.data), createSession(modelBytes).run(inputs, { trace: true }).trace!.leaves[3]);

    // SIGKILL immediately after the response: the record was durable before the node answered
    const r = await infer(node.url, { model: 'penguins', inputs: inputJson });
    assert.equal(r.status, 200);
    await node.kill();
    node = await spawnNode(join(tmp, 'a'), LIMITS);
    const g2 = await http('GET', `${node.url}/v1/receipts/${r.body.requestId}`);
    assert.equal(g2.status, 200);
    assert.deepEqual(g2.body.receipt, r.body.receipts[0]);
  });

  test('concurrency limit: requests beyond the slot and the queue get 429 with Retry-After', async () => {
    assert.equal((await publishTo(busy.url, modelBytes, 'penguins')).status, 201);
    const results = await Promise.all(Array.from({ length: 6 }, () => infer(busy.url, { model: 'penguins', inputs: inputJson })));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(ok.length + refused.length, 6, JSON.stringify(results.map((r) => r.body)));
    assert.ok(ok.length >= 2, `${ok.length} succeeded`);
    assert.ok(refused.length >= 1, `${refused.length} refused`);
    for (const r of refused) {
      assert.equal(r.body.error.code, 'NODE_BUSY');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal((await http('GET', `${busy.url}/healthz`)).status, 200);
    const m = await http('GET', `${busy.url}/metrics`);
    assert.match(m.text, /verinfer_refusals_total\{code="NODE_BUSY"\} [1-9]/);
  });

  test('per-request timeout: a request past its budget fails with 504 INFERENCE_TIMEOUT (in-process node)', async () => {
    const n = await createNode({ dataDir: join(tmp, 'inproc'), port: 0, logLevel: 'silent', limits: { timeoutMs: 150 }, testInferDelayMs: 300, announceIntervalMs: 0 });
    inProcess.push(n);
    const url = await n.listen();
    assert.equal((await publishTo(url, modelBytes, 'penguins')).status, 201);
    const r = await infer(url, { model: 'penguins', inputs: inputJson });
    assert.equal(r.status, 504, r.text);
    assert.equal(r.body.error.code, 'INFERENCE_TIMEOUT');
    assert.equal((await http('GET', `${url}/healthz`)).status, 200);
  });

  test('graceful shutdown: the running inference completes, queued ones get 503 SHUTTING_DOWN, then the server closes', async () => {
    const n = await createNode({ dataDir: join(tmp, 'inproc2'), port: 0, logLevel: 'silent', limits: { maxConcurrent: 1 }, testInferDelayMs: 300, announceIntervalMs: 0 });
    inProcess.push(n);
    const url = await n.listen();
    assert.equal((await publishTo(url, modelBytes, 'penguins')).status, 201);
    const first = infer(url, { model: 'penguins', inputs: inputJson });
    await new Promise((r) => setTimeout(r, 50));
    const second = infer(url, { model: 'penguins', inputs: inputJson });
    await new Promise((r) => setTimeout(r, 50));
    const closed = n.close();
    const [a, b] = await Promise.all([first, second]);
    await closed;
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 503, b.text);
    assert.equal(b.body.error.code, 'SHUTTING_DOWN');
    // the completed request's record is on disk
    assert.ok(await n.records.get(a.body.requestId));
    await assert.rejects(fetch(`${url}/healthz`));
  });
});
