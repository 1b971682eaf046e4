import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { getSha256Implementation, portableSha256, runsFrom, setSha256Implementation, sha256, type Sha256Runs } from './sha256.js';
import { installWasmSha256, loadHashWasm, loadWasmSha256 } from './wasm.js';
import { createSha256x4Runs } from './sha256x4.js';
import { nodeBatchedRuns, nodeSha256, nodeSha256Runs } from '../platform/node.js';
import { merkleRootOfChunks } from './merkle.js';

const wasm = (await loadHashWasm())!;
const x4 = createSha256x4Runs()!;

test('the WebAssembly SHA-256 (hash-wasm) and the SIMD batch load here', () => {
  assert.ok(wasm);
  assert.ok(x4);
});

test('WebAssembly, native and portable SHA-256 agree on random inputs of many lengths and splits', () => {
  for (let n = 0; n < 4200; n += 29) {
    const a = new Uint8Array(randomBytes(n));
    const cut = Math.floor(n / 3);
    const want = nodeSha256([a]);
    assert.deepEqual(portableSha256([a]), want);
    assert.deepEqual(wasm.sha256([a]), want, `n=${n}`);
    assert.deepEqual(wasm.sha256([a.subarray(0, cut), a.subarray(cut)]), want);
    assert.deepEqual(wasm.sha256([a.subarray(0, cut), new Uint8Array(0), a.subarray(cut, cut + 1), a.subarray(cut + 1)]), want);
  }
});

test('batched runs agree across WebAssembly, native and portable on random data', () => {
  const impls: [string, Sha256Runs][] = [
    ['node', nodeSha256Runs],
    ['simd x4', x4],
    ['node + simd', nodeBatchedRuns],
    ['hash-wasm', wasm.runs],
    ['portable', runsFrom(portableSha256)],
    ['hash-wasm single', runsFrom(wasm.sha256)],
  ];
  const cases: (readonly [number, number])[] = [[0, 1024], [1, 1024], [1024, 1024], [1025, 1024], [100_000, 1024], [64 * 37, 64], [64 * 37 + 32, 64], [4096, 2048], [9000, 3000]];
  // padding edges: 1 + run + 9 bytes fill a block exactly at run 54, spill at 55; 63/64/119/120 straddle
  for (const run of [1, 2, 53, 54, 55, 56, 62, 63, 64, 65, 118, 119, 120, 127, 128, 255, 256]) cases.push([run * 9 + (run >> 1), run]);
  // more runs than one SIMD batch (the driver splits at ~1 MiB of padded messages)
  cases.push([(1 << 21) + 77, 1024], [64 * 9000 + 40, 64]);
  for (const [len, run] of cases) {
    const data = new Uint8Array(randomBytes(len));
    const n = Math.ceil(len / run);
    const outs = impls.map(([, f]) => {
      const out = new Uint8Array(32 * n);
      f(1 - (len & 1), data, run, out);
      return out;
    });
    for (let i = 1; i < outs.length; i++) assert.deepEqual(outs[i], outs[0], `${impls[i]![0]} len ${len} run ${run}`);
    for (let i = 0; i < n; i++) assert.deepEqual(outs[0]!.subarray(32 * i, 32 * i + 32), nodeSha256([Uint8Array.of(1 - (len & 1)), data.subarray(i * run, Math.min((i + 1) * run, len))]));
  }
});

test('loadWasmSha256 pairs hash-wasm (single messages) with the SIMD batch (runs)', async () => {
  const w = (await loadWasmSha256())!;
  assert.equal(w.sha256, wasm.sha256);
  const data = new Uint8Array(randomBytes(3000));
  const [a, b] = [new Uint8Array(96), new Uint8Array(96)];
  w.runs(0, data, 1024, a);
  nodeSha256Runs(0, data, 1024, b);
  assert.deepEqual(a, b);
});

test('installWasmSha256 swaps the implementation without changing a digest', async () => {
  const saved = getSha256Implementation();
  const data = new Uint8Array(randomBytes(50_000));
  const before = [sha256(data), merkleRootOfChunks(data, 1024)];
  try {
    assert.equal(await installWasmSha256(), true);
    assert.equal(getSha256Implementation().f, wasm.sha256);
    assert.notEqual(getSha256Implementation().runs, saved.runs);
    assert.deepEqual([sha256(data), merkleRootOfChunks(data, 1024)], before);
  } finally {
    setSha256Implementation(saved.f, saved.runs);
  }
});
