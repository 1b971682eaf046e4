import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferArena } from './arena.js';
import { createSession } from './session.js';
import { buildModel } from '../onnx/build.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorDigest } from '../tensor/canonical.js';
import { toHex } from '../hash/sha256.js';
import { benchModels, randomTensor } from '../../test/fixtures/models.js';

const digestsOf = (ts: Tensor[]) => ts.map((t) => toHex(tensorDigest(t)));

test('BufferArena: recycles only its own buffers, zero-filled, by byte length', () => {
  const a = new BufferArena();
  const x = a.take(DType.float32, 8) as Float32Array;
  x.fill(3);
  a.give(x.buffer as ArrayBuffer);
  a.give(x.buffer as ArrayBuffer); // a second give of the same buffer is ignored
  assert.equal(a.pooled, 32);
  const y = a.take(DType.int32, 8); // same byte length: the same buffer, zeroed
  assert.equal(y.buffer, x.buffer);
  assert.deepEqual([...y], new Array(8).fill(0));
  assert.equal(a.pooled, 0);
  a.give(new Float32Array(8).buffer); // not the arena's: ignored
  assert.equal(a.pooled, 0);
  const big = a.take(DType.int64, 4) as BigInt64Array;
  big.fill(7n);
  a.give(big.buffer as ArrayBuffer);
  assert.deepEqual([...(a.take(DType.uint64, 4) as BigUint64Array)], [0n, 0n, 0n, 0n]);
  const capped = new BufferArena(16);
  capped.give(capped.take(DType.float32, 8).buffer as ArrayBuffer); // over the cap: left to the GC
  assert.equal(capped.pooled, 0);
});

test('repeated runs reuse buffers and give the bits of a fresh session; earlier outputs stay intact', () => {
  for (const m of benchModels().filter((b) => b.name !== 'matmul512')) {
    const other = Object.fromEntries(Object.entries(m.feeds).map(([k, t], i) => [k, randomTensor([...t.shape], 70 + i)]));
    const reference = digestsOf(createSession(m.bytes).run(m.feeds).outputList);
    const referenceOther = digestsOf(createSession(m.bytes).run(other).outputList);
    const s = createSession(m.bytes);
    const first = s.run(m.feeds).outputList;
    const firstCopy = first.map((t) => (t.data as Float32Array).slice());
    for (let i = 0; i < 3; i++) assert.deepEqual(digestsOf(s.run(other).outputList), referenceOther, m.name);
    // the outputs returned by the first run were not recycled by later runs
    first.forEach((t, i) => assert.deepEqual(t.data, firstCopy[i], m.name));
    assert.deepEqual(digestsOf(first), reference, m.name);
  }
});

test('a buffer shared by several values (Reshape, Identity) is recycled only when none is alive', () => {
  // r = Relu(x); v = Reshape(r) shares r's buffer; n = Neg(r) is r's last reader; y = Identity(v)
  // is an output aliasing r's buffer: a = Abs(x), of the same size, must not get that buffer.
  const bytes = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [2, 6] }],
    outputs: [
      { name: 'y', dtype: DType.float32 },
      { name: 'z', dtype: DType.float32 },
    ],
    initializers: { shape: new Tensor(DType.int64, [2], BigInt64Array.from([3n, 4n])) },
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Reshape', inputs: ['r', 'shape'], outputs: ['v'] },
      { op: 'Neg', inputs: ['r'], outputs: ['n'] },
      { op: 'Identity', inputs: ['v'], outputs: ['y'] },
      { op: 'Abs', inputs: ['x'], outputs: ['a'] },
      { op: 'Add', inputs: ['a', 'n'], outputs: ['z'] },
    ],
  });
  const x = randomTensor([2, 6], 5);
  const want = (x.data as Float32Array).map((v) => (v > 0 ? v : 0));
  const s = createSession(bytes);
  for (let i = 0; i < 3; i++) {
    const { outputs } = s.run({ x });
    assert.deepEqual(outputs.y!.data, want);
    assert.deepEqual(outputs.z!.data, (x.data as Float32Array).map((v, i) => Math.abs(v) - want[i]!));
  }
});

test('intermediates a caller keeps through afterNode are never recycled', () => {
  const m = benchModels().find((b) => b.name === 'cnn')!;
  const s = createSession(m.bytes);
  const kept: { t: Tensor; copy: Float32Array }[] = [];
  s.run(m.feeds, { afterNode: (_n, outs) => void kept.push({ t: outs[0]!, copy: (outs[0]!.data as Float32Array).slice() }) });
  const other = { x: randomTensor([...m.feeds.x!.shape], 99) }; // different data, so reuse would show
  for (let i = 0; i < 2; i++) s.run(other);
  assert.ok(kept.length > 0);
  for (const k of kept) assert.deepEqual(k.t.data, k.copy);
});

test('Relu writes in place only into a buffer that dies at it', () => {
  // c = Neg(x); r = Relu(c); when c is read later (z = c + r) or is a graph output, Relu must
  // not overwrite it; when Relu is its last reader, it may.
  const x = randomTensor([3, 50], 6);
  const neg = (x.data as Float32Array).map((v) => -v);
  const relu = neg.map((v) => (v > 0 ? v : 0));
  const cases = [
    { name: 'c read later', nodes: [['Neg', ['x'], 'c'], ['Relu', ['c'], 'r'], ['Add', ['c', 'r'], 'y']], outputs: ['y'], want: { y: neg.map((v, i) => Math.fround(v + relu[i]!)) } },
    { name: 'c is an output', nodes: [['Neg', ['x'], 'c'], ['Relu', ['c'], 'y']], outputs: ['c', 'y'], want: { c: neg, y: relu } },
    { name: 'c dies at Relu but v shares its buffer', nodes: [['Neg', ['x'], 'c'], ['Reshape', ['c', 'flat'], 'v'], ['Relu', ['c'], 'y']], outputs: ['v', 'y'], want: { v: neg, y: relu } },
    { name: 'c dies at Relu', nodes: [['Neg', ['x'], 'c'], ['Relu', ['c'], 'r'], ['Neg', ['r'], 'y']], outputs: ['y'], want: { y: relu.map((v) => -v) } },
  ] as const;
  for (const c of cases) {
    const bytes = buildModel({
      inputs: [{ name: 'x', dtype: DType.float32, shape: [3, 50] }],
      outputs: c.outputs.map((name) => ({ name, dtype: DType.float32 })),
      initializers: { flat: new Tensor(DType.int64, [1], BigInt64Array.from([150n])) },
      nodes: c.nodes.map(([op, inputs, out]) => ({ op, inputs: [...inputs], outputs: [out] })),
    });
    const s = createSession(bytes);
    for (let i = 0; i < 3; i++) {
      const { outputs } = s.run({ x });
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(outputs[k]!.data, v, `${c.name}: ${k}`);
    }
  }
});
