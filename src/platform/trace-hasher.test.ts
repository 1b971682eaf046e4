import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerTraceHasher, installTraceHasher, closeTraceHasher, traceHasherReady, PIECE_CHUNKS } from './trace-hasher.js';
import { getTraceHasher, setTraceHasher, syncTraceHasher } from '../engine/trace.js';
import { Session } from '../engine/session.js';
import { loadModel } from '../onnx/load.js';
import { tensorDigest, CHUNK_BYTES } from '../tensor/canonical.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { toHex } from '../hash/sha256.js';
import { benchModels } from '../../test/fixtures/models.js';

const hashers: WorkerTraceHasher[] = [];
async function hasher(opts: ConstructorParameters<typeof WorkerTraceHasher>[0] = {}): Promise<WorkerTraceHasher> {
  const h = new WorkerTraceHasher({ minBytes: 0, ...opts });
  hashers.push(h);
  assert.ok(await traceHasherReady(h), 'worker started');
  return h;
}
after(async () => {
  setTraceHasher(undefined);
  for (const h of hashers) await h.close();
  await closeTraceHasher();
});

let seed = 987654;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const PIECE = PIECE_CHUNKS * CHUNK_BYTES;
// byte sizes around chunk and piece boundaries (and the power-of-two splits above them)
const BYTE_SIZES = [0, 4, 1020, 1024, 1028, PIECE - 8, PIECE, PIECE + 8, 2 * PIECE, 3 * PIECE + 1000, 5 * PIECE - 4, 9 * PIECE + 4];

function f32(bytes: number, special: boolean): Tensor {
  const n = bytes >> 2;
  const d = new Float32Array(n);
  const u = new Uint32Array(d.buffer);
  for (let i = 0; i < n; i++) {
    d[i] = (rnd() - 0.5) * 8;
    if (special && rnd() < 0.02) u[i] = [0x7fc00000, 0xffc00001, 0x7f800001, 0x80000000, 0x7f800000, 0x00000001][Math.floor(rnd() * 6)]!;
  }
  return new Tensor(DType.float32, [n], d);
}

/** Tensors of every canonicalisation case: NaN payloads, -0, float64/float16 NaNs, int64, bool bytes > 1, empty, odd shapes. */
function cases(): Tensor[] {
  const out: Tensor[] = [];
  for (const b of BYTE_SIZES) out.push(f32(b, false), f32(b, true));
  const f64 = new Float64Array(3 * 4096 + 5);
  for (let i = 0; i < f64.length; i++) f64[i] = rnd() < 0.01 ? NaN : rnd() < 0.01 ? -0 : rnd() - 0.5;
  new Uint32Array(f64.buffer)[7] = 0x7ff00001; // a signalling-NaN payload (low word 0x7ff00001 of element 3)
  new Uint32Array(f64.buffer)[6] = 1;
  out.push(new Tensor(DType.float64, [f64.length], f64));
  const f16 = Uint16Array.from({ length: 70001 }, () => (rnd() < 0.01 ? 0x7c01 + Math.floor(rnd() * 0x3fe) : Math.floor(rnd() * 0x10000)));
  out.push(new Tensor(DType.float16, [70001], f16));
  out.push(new Tensor(DType.int64, [333, 101], BigInt64Array.from({ length: 333 * 101 }, (_, i) => BigInt(i * 7919 - 100000) * 1234567n)));
  out.push(new Tensor(DType.bool, [7, 11, 1001], Uint8Array.from({ length: 7 * 11 * 1001 }, () => Math.floor(rnd() * 4)))); // bytes 2, 3 count as true
  out.push(new Tensor(DType.float32, [0, 5], new Float32Array(0)));
  out.push(new Tensor(DType.float32, [], new Float32Array([NaN])));
  // a view into a larger buffer (byteOffset != 0), as kernels produce
  const big = new Float32Array(50000).map(() => rnd());
  out.push(new Tensor(DType.float32, [17, 1001], big.subarray(13, 13 + 17 * 1001)));
  return out;
}

const hex = (a: Uint8Array) => toHex(a);

test('worker digests equal tensorDigest for every dtype, NaN/-0 case and size', async () => {
  const h = await hasher();
  const ts = cases();
  const handles = ts.map((t) => h.digest(t)); // all in flight at once, as in a run
  ts.forEach((t, i) => assert.equal(hex(handles[i]!()), hex(tensorDigest(t)), `case ${i}: ${t}`));
  assert.equal(h.broken, false);
});

test('the worker hashes from its own copy: the tensor may be overwritten right after digest()', async () => {
  const h = await hasher();
  const t = f32(4 * PIECE + 100, true);
  const want = hex(tensorDigest(t));
  const handle = h.digest(t);
  (t.data as Float32Array).fill(1);
  assert.equal(hex(handle()), want);
});

test('a small ring and few slots: wrap-around, waiting for old jobs and inline fallbacks keep digests exact', async () => {
  const h = await hasher({ ringBytes: 3 * PIECE + 64, slots: 4 });
  for (let round = 0; round < 3; round++) {
    const ts = cases();
    const handles = ts.map((t) => h.digest(t));
    // resolve out of order
    for (let i = ts.length - 1; i >= 0; i--) assert.equal(hex(handles[i]!()), hex(tensorDigest(ts[i]!)), `round ${round} case ${i}`);
  }
});

test('traced runs of the bench models: identical leaves and roots with the worker hasher', async () => {
  const h = await hasher({ minBytes: 4096 });
  for (const m of benchModels()) {
    const s = new Session(loadModel(m.bytes));
    setTraceHasher(undefined);
    const ref = s.run(m.feeds, { trace: true }).trace!;
    setTraceHasher(h);
    for (let k = 0; k < 3; k++) {
      const got = s.run(m.feeds, { trace: true }).trace!;
      assert.equal(hex(got.root), hex(ref.root), m.name);
      assert.deepEqual(got.leaves.map(hex), ref.leaves.map(hex), m.name);
      assert.deepEqual(got.outputDigests.map((ds) => ds.map((d) => d && hex(d))), ref.outputDigests.map((ds) => ds.map((d) => d && hex(d))));
    }
    setTraceHasher(undefined);
  }
  assert.equal(h.broken, false);
});

test('a worker that claimed a piece and hangs: the digest is computed on the main thread after the timeout', async () => {
  const h = await hasher({ timeoutMs: 100 });
  const internals = h as unknown as { p: { ctl: Int32Array } };
  const ctl = internals.p.ctl;
  // stop the worker's loop (QUIT) and let it leave, as a hung thread would stop serving
  Atomics.store(ctl, 2, 1);
  Atomics.notify(ctl, 0);
  const t = f32(3 * PIECE + 4, true);
  const handle = h.digest(t);
  Atomics.add(ctl, 1, 1); // NEXT: piece 0 looks claimed by the worker, which never finishes it
  const t0 = performance.now();
  assert.equal(hex(handle()), hex(tensorDigest(t)));
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(h.broken, true);
  // later digests are computed inline
  const u = f32(PIECE, false);
  assert.equal(hex(h.digest(u)()), hex(tensorDigest(u)));
});

test('a terminated worker: traced runs still give the exact trace, without hanging', async () => {
  const h = await hasher({ timeoutMs: 200 });
  const m = benchModels()[3]!;
  const s = new Session(loadModel(m.bytes));
  const ref = s.run(m.feeds, { trace: true }).trace!;
  await (h as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  setTraceHasher(h);
  try {
    assert.equal(hex(s.run(m.feeds, { trace: true }).trace!.root), hex(ref.root));
  } finally {
    setTraceHasher(undefined);
  }
  assert.equal(h.broken, true);
});

test('install/close: the hook is set and removed, and no handle is left behind', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
  const h = await installTraceHasher({ workers: 1 });
  assert.ok(h && getTraceHasher() === h);
  await traceHasherReady(h);
  const t = f32(2 * PIECE, true);
  assert.equal(hex(getTraceHasher().digest(t)()), hex(tensorDigest(t)));
  await closeTraceHasher();
  assert.equal(getTraceHasher(), syncTraceHasher);
  assert.equal(await installTraceHasher({ workers: 0 }), undefined);
  assert.equal(getTraceHasher(), syncTraceHasher);
  // a closed hasher still answers (inline)
  assert.equal(hex(h.digest(t)()), hex(tensorDigest(t)));
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= before + 1); // + the timer above, already fired
});
