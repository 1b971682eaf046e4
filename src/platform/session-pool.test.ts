import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSessionPool, nodeWorkerEndpoint, spawnSessionWorker, SessionPool } from './session-pool.js';
import { createWebSessionPool, type WebWorkerLike } from '../engine/parallel/web.js';
import { createSession } from '../engine/session.js';
import { buildModel } from '../onnx/build.js';
import { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { cnnModel, mlpModel, randomTensor, transformerModel } from '../../test/fixtures/models.js';

const pools: SessionPool[] = [];
after(async () => {
  for (const p of pools) await p.close();
});
const track = (p: SessionPool) => (pools.push(p), p);

const bits = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
function assertSame(got: Tensor[], want: Tensor[]) {
  assert.equal(got.length, want.length);
  got.forEach((t, i) => {
    assert.deepEqual(t.shape, want[i]!.shape);
    assert.ok(bits(t).equals(bits(want[i]!)), `output ${i} differs`);
  });
}

test('worker threads: bit-identical CNN (batch 8 and 7) and MLP for 1, 2 and 4 workers', async () => {
  const cnn8 = cnnModel(8);
  const cnn7 = cnnModel(7);
  const mlp = mlpModel(9, [64, 32, 10]);
  const started = await Promise.all([
    createSessionPool(cnn8.bytes, { workers: 4 }),
    createSessionPool(cnn7.bytes, { workers: 2 }),
    createSessionPool(cnn7.bytes, { workers: 4 }),
    createSessionPool(mlp.bytes, { workers: 2 }),
    createSessionPool(cnn8.bytes, { workers: 1 }),
  ]);
  const [c8x4, c7x2, c7x4, mlpx2, c8x1] = started.map(track);
  for (const p of started) assert.equal(p.liveWorkers, (p === c8x1 ? 1 : p === c8x4 || p === c7x4 ? 4 : 2) - 1);
  const cases: [SessionPool, typeof cnn8][] = [
    [c8x4!, cnn8],
    [c8x1!, cnn8],
    [c7x2!, cnn7],
    [c7x4!, cnn7],
    [mlpx2!, mlp],
  ];
  for (const [pool, m] of cases) {
    const want = createSession(m.bytes).run(m.feeds).outputList;
    for (let r = 0; r < 2; r++) assertSame((await pool.run(m.feeds)).outputList, want);
    // other data through the same pool
    const x = randomTensor([...m.feeds.x!.shape], 77, 3);
    assertSame((await pool.run({ x })).outputList, createSession(m.bytes).run({ x }).outputList);
  }
  // every slice came from its worker: none was dropped (no fallback hid a difference)
  for (const p of started) assert.equal(p.liveWorkers, (p === c8x1 ? 1 : p === c8x4 || p === c7x4 ? 4 : 2) - 1);
});

test('worker threads: two fed matrices split A only; the transformer and batch 1 run single-threaded', async () => {
  const F = DType.float32;
  const mm = buildModel({
    inputs: [
      { name: 'a', dtype: F, shape: [48, 32] },
      { name: 'b', dtype: F, shape: [32, 40] },
    ],
    outputs: [{ name: 'c', dtype: F }],
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
  });
  const feeds = { a: randomTensor([48, 32], 1), b: randomTensor([32, 40], 2) };
  const pool = track(await createSessionPool(mm, { workers: 2, spinMs: 0.5 }));
  assert.deepEqual(pool.plan(feeds).plan, { splitInputs: ['a'], batch: 48 });
  for (let r = 0; r < 3; r++) assertSame((await pool.run(feeds)).outputList, createSession(mm).run(feeds).outputList);
  assert.equal(pool.liveWorkers, 1);

  const t = transformerModel(8, 16, 2, 32);
  const tp = track(await createSessionPool(t.bytes, { workers: 2 }));
  assert.equal(tp.plan(t.feeds).plan, undefined);
  assertSame((await tp.run(t.feeds)).outputList, createSession(t.bytes).run(t.feeds).outputList);

  const one = cnnModel(1);
  const op = track(await createSessionPool(one.bytes, { workers: 2 }));
  assertSame((await op.run(one.feeds)).outputList, createSession(one.bytes).run(one.feeds).outputList);
});

test('worker threads: a killed worker or a hung one -> the caller computes its slice, no hang', async () => {
  const m = cnnModel(8);
  const want = createSession(m.bytes).run(m.feeds).outputList;
  // killed: terminated under the pool
  const w1 = spawnSessionWorker();
  const w2 = spawnSessionWorker();
  const pool = track(await SessionPool.start(m.bytes, [nodeWorkerEndpoint(w1), nodeWorkerEndpoint(w2)]));
  assert.equal(pool.liveWorkers, 2);
  await w2.terminate();
  assertSame((await pool.run(m.feeds)).outputList, want);
  assert.equal(pool.liveWorkers, 1);
  assertSame((await pool.run(m.feeds)).outputList, want);

  // hung: a real thread that starts fine, then spins forever on its first slice
  const hung = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (m) => { if (m.type === 'init') parentPort.postMessage({ type: 'ready' }); else for (;;); });`,
    { eval: true },
  );
  hung.unref();
  const hp = track(await SessionPool.start(m.bytes, [nodeWorkerEndpoint(hung)], { timeoutMs: 200 }));
  const t0 = performance.now();
  assertSame((await hp.run(m.feeds)).outputList, want);
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(hp.liveWorkers, 0);
  // a worker that crashes while computing
  const crash = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (m) => { if (m.type === 'init') parentPort.postMessage({ type: 'ready' }); else throw new Error('boom'); });`,
    { eval: true },
  );
  crash.unref();
  const cp = track(await SessionPool.start(m.bytes, [nodeWorkerEndpoint(crash)], { timeoutMs: 60_000 }));
  assertSame((await cp.run(m.feeds)).outputList, want);
  assert.equal(cp.liveWorkers, 0);
});

test('worker threads: bad feeds give the single-thread typed error', async () => {
  const m = cnnModel(8);
  const session = createSession(m.bytes);
  const pool = track(await createSessionPool(m.bytes, { workers: 2 }));
  const bad: Record<string, Tensor>[] = [{ x: randomTensor([8, 1, 28, 27], 1) }, { z: m.feeds.x! }];
  for (const feeds of bad) {
    let want: Error | undefined;
    try {
      session.run(feeds);
    } catch (e) {
      want = e as Error;
    }
    await assert.rejects(pool.run(feeds), (e: Error) => e.constructor === want!.constructor && e.message === want!.message && JSON.stringify(e) === JSON.stringify(want));
  }
});

test('Web Worker adapter: the browser path, over worker threads wrapped as Web Workers', async () => {
  const m = cnnModel(7);
  // the worker runs the browser entry itself (src/engine/parallel/web-worker.ts) with `self` shimmed onto parentPort
  const entry = new URL('../engine/parallel/web-worker.ts', import.meta.url).href;
  const shim = `
    const { parentPort } = require('node:worker_threads');
    globalThis.self = {
      postMessage: (m, t) => parentPort.postMessage(m, t),
      addEventListener: (_type, l) => parentPort.on('message', (data) => l({ data })),
    };
    import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
  /** A worker_threads Worker with the DOM Worker's shape (message events carry `data`). */
  const webShaped = (): WebWorkerLike => {
    const w = new Worker(shim, { eval: true });
    w.unref();
    return {
      postMessage: (msg, transfer) => w.postMessage(msg, transfer),
      addEventListener: (type: string, l: (e: never) => void) => {
        if (type === 'message') w.on('message', (data) => l({ data } as never));
        else if (type === 'error') w.on('error', (err) => l({ message: err.message } as never));
      },
      terminate: () => void w.terminate(),
    };
  };
  const pool = track(await createWebSessionPool(m.bytes, { workers: 3, createWorker: webShaped }));
  assert.equal(pool.liveWorkers, 2);
  assertSame((await pool.run(m.feeds)).outputList, createSession(m.bytes).run(m.feeds).outputList);
  assert.equal(pool.liveWorkers, 2);
});

test('an idle pool keeps no process alive, closed or not', async () => {
  const script = `
    import { createSessionPool } from ${JSON.stringify(new URL('./session-pool.ts', import.meta.url).href)};
    import { cnnModel } from ${JSON.stringify(new URL('../../test/fixtures/models.ts', import.meta.url).href)};
    const m = cnnModel(4);
    const a = await createSessionPool(m.bytes, { workers: 2 });
    await a.run(m.feeds);
    const b = await createSessionPool(m.bytes, { workers: 2 });
    await b.run(m.feeds);
    await b.close();
    console.log('done', a.liveWorkers, b.liveWorkers);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill();
      resolve(-1);
    }, 15_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, 'the child process exited by itself');
  assert.equal(out.trim(), 'done 1 0');
});
