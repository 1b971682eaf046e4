import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, ClientError, Tensor, DType, createSession, type Client } from '../src/index.js';
import { killAll, spawnNode, type SpawnedNode } from '../src/node/testing.js';

/**
 * The client SDK against real `verinfer node start` processes on loopback:
 * publish, infer with typed-array / nested / Tensor inputs (compared with a
 * local engine run), the local result check (a tampering proxy), failover
 * past a dead port and past a node SIGKILLed mid-request, receipts, verify.
 */

const root = join(import.meta.dirname, '..');
const modelBytes = new Uint8Array(readFileSync(join(root, 'models/penguins-classifier.onnx')));
const row = [39.5, 17.4, 186, 3800];
const local = createSession(modelBytes).run({ features: new Tensor(DType.float32, [1, 4], Float32Array.from(row)) }).outputs;

const tmp = mkdtempSync(join(tmpdir(), 'verinfer-client-sdk-'));
let a: SpawnedNode;
let b: SpawnedNode;
let slow: SpawnedNode;
let proxy: Server;
let proxyUrl = '';
let deadUrl = '';
let cid = '';
/** How the proxy in front of node a tampers: with the request body and with the response body. */
let tamper: { request?: (body: any) => void; response?: (body: any) => void } = {};

function assertOutputsMatchLocal(outputs: Record<string, Tensor>) {
  assert.deepEqual(Object.keys(outputs).sort(), Object.keys(local).sort());
  for (const [name, t] of Object.entries(local)) {
    const got = outputs[name]!;
    assert.ok(got instanceof Tensor, name);
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual([...got.shape], [...t.shape], name);
    assert.deepEqual(Array.from(got.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), name);
  }
}

async function freePortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

before(async () => {
  [a, b, slow] = await Promise.all([
    spawnNode(join(tmp, 'a')),
    spawnNode(join(tmp, 'b')),
    spawnNode(join(tmp, 'slow'), [], { VERINFER_TEST_INFER_DELAY_MS: '2000' }),
  ]);
  deadUrl = await freePortUrl();
  // A proxy in front of node a that can tamper with requests and responses.
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Uint8Array | string | undefined = chunks.length ? Buffer.concat(chunks) : undefined;
    if (req.method === 'POST' && req.url === '/v1/infer' && tamper.request && body) {
      const j = JSON.parse(body.toString());
      tamper.request(j);
      body = JSON.stringify(j);
    }
    const r = await fetch(a.url + req.url, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: body as BodyInit | undefined });
    let text = await r.text();
    if (req.method === 'POST' && req.url === '/v1/infer' && tamper.response && r.ok) {
      const j = JSON.parse(text);
      tamper.response(j);
      text = JSON.stringify(j);
    }
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(text);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
});

after(async () => {
  await killAll();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  rmSync(tmp, { recursive: true, force: true });
});

describe('client SDK', () => {
  test('publishes bytes to every node (name, tags, task, license)', async () => {
    for (const n of [a, b, slow]) {
      const r = await createClient({ nodes: n.url }).publish(modelBytes, {
        name: 'penguins-classifier',
        task: 'classification',
        license: 'CC0-1.0',
        tags: ['tabular', 'sample'],
        description: 'penguins',
      });
      assert.equal(r.name, 'penguins-classifier');
      assert.equal(r.version, '1.0.0');
      assert.equal(r.node, n.url);
      assert.match(r.cid, /^bafk/);
      cid = r.cid;
    }
    const list = await createClient({ nodes: [a.url] }).models({ tag: 'tabular' });
    assert.deepEqual(list.models.map((m) => m.name), ['penguins-classifier']);
  });

  test('infers with typed-array, nested-array, Tensor and JSON-form inputs; outputs equal a local engine run', async () => {
    const client = createClient({ nodes: [a.url, b.url] });
    const forms = [
      { features: { data: Float32Array.from(row), dims: [1, 4] } },
      { features: [row] },
      { features: new Tensor(DType.float32, [1, 4], Float32Array.from(row)) },
      { features: { dims: [1, 4], data: row } },
    ];
    for (const inputs of forms) {
      const r = await client.infer({ model: 'penguins-classifier', inputs, mode: 'none' });
      assert.equal(r.status, 'final');
      assert.equal(r.node, a.url);
      assertOutputsMatchLocal(r.outputs);
      assert.equal(r.receipts.length, 1);
      assert.equal(r.receipts[0]!.typedData.message.executor, a.address);
      assert.equal(r.receipts[0]!.modelCid, cid);
      assert.deepEqual(r.faults, []);
      assert.deepEqual(r.checks, { signatures: 1, executors: [a.address], output: true, input: true });
    }
    // by CID too
    const byCid = await client.infer({ model: cid, inputs: { features: [row] } });
    assertOutputsMatchLocal(byCid.outputs);
  });

  test('rejects results that do not check out, and takes the next node instead', async () => {
    const cases: [string, typeof tamper, string][] = [
      ['an output value changed', { response: (j) => (j.outputs.probabilities.data[0] = 0.5) }, 'output-digest'],
      ['an output dropped', { response: (j) => delete j.outputs.label }, 'output-digest'],
      ['the receipt re-attributed', { response: (j) => (j.receipts[0].typedData.message.executor = b.address) }, 'signature'],
      ['the receipt signature broken', { response: (j) => (j.receipts[0].signature = j.receipts[0].signature.slice(0, 10) + '00'.repeat(27) + j.receipts[0].signature.slice(64)) }, 'signature'],
      ['no receipt', { response: (j) => (j.receipts = []) }, 'no-receipt'],
      ['the node ran other inputs (consistently signed)', { request: (j) => (j.inputs.features = [[50, 15, 220, 5000]]) }, 'input-digest'],
    ];
    for (const [what, t, reason] of cases) {
      tamper = t;
      try {
        await assert.rejects(
          createClient({ nodes: [proxyUrl], retries: 0 }).infer({ model: 'penguins-classifier', inputs: { features: { data: Float32Array.from(row), dims: [1, 4] } } }),
          (e: unknown) => {
            assert.ok(e instanceof ClientError, what);
            assert.equal(e.code, 'RESULT_REJECTED', what);
            assert.equal(e.details.reason, reason, `${what}: ${e.message}`);
            return true;
          },
          what,
        );
        const r = await createClient({ nodes: [proxyUrl, b.url] }).infer({ model: 'penguins-classifier', inputs: { features: [row] } });
        assert.equal(r.node, b.url, what);
        assertOutputsMatchLocal(r.outputs);
      } finally {
        tamper = {};
      }
    }
    // untouched, the proxy's answers are accepted
    const ok = await createClient({ nodes: [proxyUrl] }).infer({ model: 'penguins-classifier', inputs: { features: [row] } });
    assertOutputsMatchLocal(ok.outputs);
  });

  test('fails over past a dead port', async () => {
    const client = createClient({ nodes: [deadUrl, a.url] });
    const r = await client.infer({ model: 'penguins-classifier', inputs: { features: [row] } });
    assert.equal(r.node, a.url);
    assertOutputsMatchLocal(r.outputs);
    await assert.rejects(createClient({ nodes: [deadUrl], retries: 1 }).info(), (e: unknown) => e instanceof ClientError && e.code === 'NODE_UNREACHABLE');
  });

  test('a node SIGKILLed mid-request: the client retries the next node and returns the correct result', async () => {
    const client = createClient({ nodes: [slow.url, b.url] });
    const t0 = Date.now();
    const pending = client.infer({ model: 'penguins-classifier', inputs: { features: { data: Float32Array.from(row), dims: [1, 4] } } });
    await new Promise((r) => setTimeout(r, 500)); // the slow node now holds the request (2 s test delay)
    await slow.kill();
    const r = await pending;
    assert.equal(r.node, b.url);
    assert.equal(r.receipts[0]!.typedData.message.executor, b.address);
    assertOutputsMatchLocal(r.outputs);
    assert.ok(Date.now() - t0 < 2000, 'retried as soon as the connection died, not after the delay');
  });

  test('typed errors: the node code passes through; deterministic errors are not retried elsewhere', async () => {
    const client = createClient({ nodes: [a.url, b.url] });
    await assert.rejects(client.infer({ model: 'no-such-model', inputs: { features: [row] } }), (e: unknown) => {
      assert.ok(e instanceof ClientError);
      assert.equal(e.code, 'MODEL_NOT_FOUND');
      assert.equal(e.status, 404);
      assert.equal((e.details.attempts as unknown[]).length, 2, 'asked both nodes');
      return true;
    });
    await assert.rejects(client.infer({ model: 'penguins-classifier', inputs: { features: [[1, 2, 3]] } }), (e: unknown) => {
      assert.ok(e instanceof ClientError);
      assert.equal(e.status, 400);
      assert.equal(e.node, a.url);
      assert.equal(e.details.attempts, undefined, 'not retried');
      return true;
    });
    await assert.rejects(client.infer({ model: 'penguins-classifier', inputs: { features: { data: Float32Array.from(row), dims: [2, 4] } } }), (e: unknown) => {
      assert.ok(e instanceof ClientError);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      return true;
    });
    assert.throws(() => createClient({ nodes: [] }), (e: unknown) => e instanceof ClientError && e.code === 'INVALID_ARGUMENT');
  });

  test('receipt(), waitFinal(), verify() via a node and offline, peers()', async () => {
    const client = createClient({ nodes: [b.url, a.url] });
    const viaA = await createClient({ nodes: [a.url] }).infer({ model: 'penguins-classifier', inputs: { features: [row] } });
    const receipt = viaA.receipts[0]!;
    const id = receipt.typedData.message.requestId;
    // b does not hold it: the client moves on to a
    const rec = await client.receipt(id);
    assert.equal(rec.node, a.url);
    assert.equal(rec.status, 'final');
    assert.deepEqual(rec.receipt, receipt);
    const fin = await client.waitFinal(id, { timeoutMs: 5000 });
    assert.equal(fin.status, 'final');
    await assert.rejects(client.receipt('0x' + '11'.repeat(32)), (e: unknown) => e instanceof ClientError && e.code === 'RECEIPT_NOT_FOUND');

    const inputs = { features: [row] };
    const viaNode = await client.verify(receipt, inputs);
    assert.equal(viaNode.valid, true);
    const offline = await client.verify(receipt, inputs, { modelBytes });
    assert.equal(offline.valid, true);
    assert.deepEqual(offline.checks.map((c) => c.name), ['schema', 'signature', 'model', 'semantics', 'input', 'output', 'traceRoot']);
    const wrong = await client.verify(receipt, { features: [[50, 15, 220, 5000]] }, modelBytes);
    assert.equal(wrong.valid, false);
    assert.equal(wrong.checks.find((c) => c.name === 'input')!.ok, false);

    const p = await createClient({ nodes: a.url }).peers();
    assert.equal(p.self.address, a.address);
    assert.ok(Array.isArray(p.peers));
  });
});
