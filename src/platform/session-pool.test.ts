import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createSessionPool, nodeWorkerEndpoint, sharedWorkerEndpoint, spawnSessionWorker, SessionPool } from './session-pool.js';
import type { Endpoint } from '../engine/parallel/pool.js';
import { CONTROL_BYTES, SharedSlot } from '../engine/parallel/shared.js';
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
    createSessionPool(cnn8.bytes, { warmupMs: 0, workers: 4 }),
    createSessionPool(cnn7.bytes, { warmupMs: 0, workers: 2 }),
    createSessionPool(cnn7.bytes, { warmupMs: 0, workers: 4 }),
    createSessionPool(mlp.bytes, { warmupMs: 0, workers: 2 }),
    createSessionPool(cnn8.bytes, { warmupMs: 0, workers: 1 }),
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

test('shared memory: the workers answer (not only stolen slices), bit-identical; the postMessage protocol too', async () => {
  const m = cnnModel(8);
  const want = createSession(m.bytes).run(m.feeds).outputList;
  // a symbolic batch: feeds of growing size hand new buffers over, then smaller ones again
  const F = DType.float32;
  const mm = buildModel({
    inputs: [{ name: 'a', dtype: F, shape: ['N', 24] }],
    outputs: [{ name: 'c', dtype: F }],
    initializers: { b: randomTensor([24, 40], 9) },
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
  });
  const eps = [sharedWorkerEndpoint(), sharedWorkerEndpoint()];
  const [pool, mp, warm, msg] = (
    await Promise.all([
      SessionPool.start(m.bytes, eps, { spinMs: 0.2 }),
      SessionPool.start(mm, [sharedWorkerEndpoint()]),
      // a worker that warmed up on zero feeds first
      SessionPool.start(m.bytes, [sharedWorkerEndpoint()], { warmupMs: 20 }),
      createSessionPool(m.bytes, { warmupMs: 0, workers: 2, sharedMemory: false }),
    ])
  ).map(track);
  // a worker that was asleep (or descheduled: a loaded machine) loses its slice to the
  // caller, but not every one of 200
  for (let r = 0; r < 200 && !eps.every((e) => e.shared!.answered > 0); r++) assertSame((await pool!.run(m.feeds)).outputList, want);
  assert.ok(eps.every((e) => e.shared!.answered > 0), `answered: ${eps.map((e) => e.shared!.answered)}`);
  assert.equal(pool!.liveWorkers, 2);
  for (const n of [2, 300, 5000, 7, 301]) {
    const a = randomTensor([n, 24], n);
    assertSame((await mp!.run({ a })).outputList, createSession(mm).run({ a }).outputList);
  }
  assert.equal(mp!.liveWorkers, 1);
  assertSame((await warm!.run(m.feeds)).outputList, want);
  assertSame((await msg!.run(m.feeds)).outputList, want);
  assert.equal(msg!.liveWorkers, 1);
});

/**
 * A pool endpoint without a thread: its shared slot is driven by `act`, called right after
 * each offer (a worker that never comes, one that takes the job and hangs, one that fails).
 */
function fakeShared(act: (ctl: Int32Array) => void) {
  const ctl = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));
  const slot = new SharedSlot(ctl, { post: () => {}, take: () => undefined });
  const offer = slot.offer.bind(slot);
  slot.offer = (feeds, limit) => {
    const ok = offer(feeds, limit);
    if (ok) act(ctl);
    return ok;
  };
  let listener: (m: { type: 'ready' }) => void = () => {};
  const state = { terminated: false };
  const ep: Endpoint = {
    shared: slot,
    postMessage: (msg) => void (msg.type === 'init' && queueMicrotask(() => listener({ type: 'ready' }))),
    onMessage: (l) => (listener = l as typeof listener),
    onFailure: () => {},
    terminate: () => (state.terminated = true),
  };
  return { ep, state };
}
// control words of ./shared.ts
const STATE = 1, STATUS = 2, OFFERED = 1, RUNNING = 2, DONE = 4;

test('shared memory: a worker that never starts, hangs on a slice or fails -> same bits, no hang', async () => {
  const m = cnnModel(8);
  const want = createSession(m.bytes).run(m.feeds).outputList;
  // never starts: the caller steals every slice; the worker stays in service
  const idle = fakeShared(() => {});
  const ip = track(await SessionPool.start(m.bytes, [idle.ep]));
  for (let r = 0; r < 3; r++) assertSame((await ip.run(m.feeds)).outputList, want);
  assert.equal(ip.liveWorkers, 1);
  // takes its slice and hangs: computed on the caller after a short patience, no new job
  // while busy, dropped once busy past the liveness timeout
  const hung = fakeShared((ctl) => Atomics.compareExchange(ctl, STATE, OFFERED, RUNNING));
  const hp = track(await SessionPool.start(m.bytes, [hung.ep], { timeoutMs: 30 }));
  const t0 = performance.now();
  assertSame((await hp.run(m.feeds)).outputList, want);
  assertSame((await hp.run(m.feeds)).outputList, want);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(hp.liveWorkers, 1);
  // its deadline: 30 ms + 4 x the caller's slice time after the first run
  for (let i = 0; i < 100 && hp.liveWorkers > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    assertSame((await hp.run(m.feeds)).outputList, want);
  }
  assert.equal(hp.liveWorkers, 0);
  assert.ok(hung.state.terminated);
  // reports a failed slice: the whole batch re-runs on the caller (its result or its error)
  const failing = fakeShared((ctl) => {
    Atomics.compareExchange(ctl, STATE, OFFERED, RUNNING);
    Atomics.store(ctl, STATUS, 1);
    Atomics.store(ctl, STATE, DONE);
  });
  const fp = track(await SessionPool.start(m.bytes, [failing.ep]));
  assertSame((await fp.run(m.feeds)).outputList, want);
  assert.equal(fp.liveWorkers, 1);
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
  const pool = track(await createSessionPool(mm, { warmupMs: 0, workers: 2, spinMs: 0.5 }));
  assert.deepEqual(pool.plan(feeds).plan, { splitInputs: ['a'], batch: 48 });
  for (let r = 0; r < 3; r++) assertSame((await pool.run(feeds)).outputList, createSession(mm).run(feeds).outputList);
  assert.equal(pool.liveWorkers, 1);

  const t = transformerModel(8, 16, 2, 32);
  const tp = track(await createSessionPool(t.bytes, { warmupMs: 0, workers: 2 }));
  assert.equal(tp.plan(t.feeds).plan, undefined);
  assertSame((await tp.run(t.feeds)).outputList, createSession(t.bytes).run(t.feeds).outputList);

  const one = cnnModel(1);
  const op = track(await createSessionPool(one.bytes, { warmupMs: 0, workers: 2 }));
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
  const pool = track(await createSessionPool(m.bytes, { warmupMs: 0, workers: 2 }));
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
    const a = await createSessionPool(m.bytes, { warmupMs: 0, workers: 2 });
    await a.run(m.feeds);
    const b = await createSessionPool(m.bytes, { warmupMs: 0, workers: 2 });
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
