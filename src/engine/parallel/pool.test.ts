// The pool logic on in-thread "loopback" workers (the real worker body behind a
// structured-clone message queue): no threads, so it runs anywhere and fast. Real Node
// worker threads and the Web Worker adapter are tested in src/platform/session-pool.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionPool, type Endpoint } from './pool.js';
import { serveSessionWorker, type FromWorker, type ToWorker } from './protocol.js';
import { createSession } from '../session.js';
import { buildModel, type BuildNode } from '../../onnx/build.js';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { cnnModel, randomTensor } from '../../../test/fixtures/models.js';

/** A worker in this thread: messages are cloned (with transfer) and delivered on a later macrotask. */
function loopback(opts: { silent?: boolean } = {}): Endpoint & { posted: number } {
  let toPool: (m: FromWorker) => void = () => {};
  let toWorker: (e: { data: ToWorker }) => void = () => {};
  serveSessionWorker({
    postMessage: (m) => {
      const c = structuredClone(m);
      setTimeout(() => toPool(c), 0);
    },
    addEventListener: (_t, l) => (toWorker = l),
  });
  const ep = {
    posted: 0,
    postMessage: (m: ToWorker, transfer?: ArrayBuffer[]) => {
      ep.posted++;
      if (opts.silent && m.type === 'run') return;
      const c = structuredClone(m, { transfer });
      setTimeout(() => toWorker({ data: c }), 0);
    },
    onMessage: (l: (m: FromWorker) => void) => void (toPool = l),
    onFailure: () => {},
    terminate: () => {},
  };
  return ep;
}

const bits = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

async function samePool(bytes: Uint8Array, feeds: Record<string, Tensor>, workers: number, expectSplit = true) {
  const pool = await SessionPool.start(bytes, Array.from({ length: workers - 1 }, () => loopback()));
  const eps = (pool as unknown as { workers: { ep: { posted: number } }[] }).workers;
  const want = createSession(bytes).run(feeds);
  const got = await pool.run(feeds);
  assert.equal(got.outputList.length, want.outputList.length);
  got.outputList.forEach((t, i) => {
    assert.deepEqual(t.shape, want.outputList[i]!.shape);
    assert.equal(t.dtype, want.outputList[i]!.dtype);
    assert.ok(bits(t).equals(bits(want.outputList[i]!)), `output ${i} differs`);
  });
  assert.deepEqual(Object.keys(got.outputs), Object.keys(want.outputs));
  const used = eps.some((e) => e.ep.posted > 1);
  assert.equal(used, expectSplit && workers > 1);
  await pool.close();
}

const F = DType.float32;
const i64 = (v: number[]) => new Tensor(DType.int64, [v.length], BigInt64Array.from(v.map(BigInt)));

test('loopback pool: bit-identical CNN for 1, 2, 3, 4 workers and odd batches', async () => {
  for (const batch of [8, 7, 3]) {
    const m = cnnModel(batch);
    for (const w of [1, 2, 3, 4]) await samePool(m.bytes, m.feeds, w);
  }
  const one = cnnModel(1);
  await samePool(one.bytes, one.feeds, 4, false); // batch 1: single thread
});

test('loopback pool: bit-identical on every accepted op pattern, with special values', async () => {
  const x = randomTensor([5, 3, 8], 9);
  const xd = x.data as Float32Array;
  [0, -0, Infinity, -Infinity, NaN, 1e-45, -3.4e38].forEach((v, i) => (xd[i * 13] = v));
  const cases: [BuildNode[], Record<string, Tensor>][] = [
    [[{ op: 'Sigmoid', inputs: ['x'], outputs: ['y'] }], {}],
    [[{ op: 'Div', inputs: ['x', 'c'], outputs: ['y'] }], { c: randomTensor([1, 3, 8], 2) }],
    [[{ op: 'Reshape', inputs: ['x', 's'], outputs: ['r'] }, { op: 'Softmax', inputs: ['r'], outputs: ['y'], attrs: { axis: -1 } }], { s: i64([0, -1]) }],
    [[{ op: 'LayerNormalization', inputs: ['x', 'g', 'b'], outputs: ['y'], attrs: { axis: -1 } }], { g: randomTensor([8], 3), b: randomTensor([8], 4) }],
    [[{ op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 1] } }, { op: 'MatMul', inputs: ['t', 'w'], outputs: ['y'] }], { w: randomTensor([3, 6], 5) }],
    [[{ op: 'Concat', inputs: ['x', 'x'], outputs: ['c'], attrs: { axis: 2 } }, { op: 'Flatten', inputs: ['c'], outputs: ['y'] }], {}],
  ];
  for (const [nodes, inits] of cases) {
    const bytes = buildModel({ inputs: [{ name: 'x', dtype: F, shape: ['N', 3, 8] }], outputs: [{ name: 'y', dtype: F }], initializers: inits, nodes });
    for (const w of [2, 3]) await samePool(bytes, { x }, w);
  }
});

test('loopback pool: a silent worker is dropped after the timeout; its slice is computed on the caller', async () => {
  const m = cnnModel(8);
  const pool = await SessionPool.start(m.bytes, [loopback(), loopback({ silent: true })], { timeoutMs: 50 });
  const want = createSession(m.bytes).run(m.feeds).outputList[0]!;
  const got = await pool.run(m.feeds);
  assert.ok(bits(got.outputList[0]!).equals(bits(want)));
  assert.equal(pool.liveWorkers, 1);
  assert.ok(bits((await pool.run(m.feeds)).outputList[0]!).equals(bits(want)));
  await pool.close();
});

test('loopback pool: errors and traced runs are exactly the single-thread ones', async () => {
  const m = cnnModel(8);
  const session = createSession(m.bytes);
  const pool = await SessionPool.start(m.bytes, [loopback()]);
  const bad: Record<string, Tensor>[] = [
    { x: randomTensor([7, 1, 28, 28], 1) },
    { x: new Tensor(DType.float64, [8, 1, 28, 28], new Float64Array(8 * 784)) },
    { y: m.feeds.x! },
    {},
  ];
  for (const feeds of bad) {
    let want: unknown;
    try {
      session.run(feeds);
    } catch (e) {
      want = e;
    }
    await assert.rejects(pool.run(feeds), (e: Error) => {
      assert.equal(e.constructor, (want as Error).constructor);
      assert.deepEqual(JSON.parse(JSON.stringify(e)), JSON.parse(JSON.stringify(want)));
      assert.equal(e.message, (want as Error).message);
      return true;
    });
  }
  const traced = await pool.run(m.feeds, { trace: true });
  assert.deepEqual(traced.trace!.root, session.run(m.feeds, { trace: true }).trace!.root);
  await pool.close();
});

test('loopback pool: a tensor limit hit by the whole batch is hit by the split run too (same error)', async () => {
  const m = cnnModel(8);
  // Conv 1's output is [8,16,28,28] float32 = 401408 bytes: over the limit; a 4-sample slice would fit it
  const opts = { maxTensorBytes: 300_000 };
  const session = createSession(m.bytes, opts);
  const pool = await SessionPool.start(m.bytes, [loopback()], opts);
  let want: Error | undefined;
  try {
    session.run(m.feeds);
  } catch (e) {
    want = e as Error;
  }
  assert.equal((want as { code?: string })?.code, 'TENSOR_TOO_LARGE');
  await assert.rejects(pool.run(m.feeds), (e: Error) => e.message === want!.message);
  // within the limit: split and identical
  const fits = { maxTensorBytes: 401_408 };
  const p2 = await SessionPool.start(m.bytes, [loopback()], fits);
  assert.ok(bits((await p2.run(m.feeds)).outputList[0]!).equals(bits(createSession(m.bytes, fits).run(m.feeds).outputList[0]!)));
  await pool.close();
  await p2.close();
});
