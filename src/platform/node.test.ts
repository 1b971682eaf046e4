import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portableSha256 } from '../hash/sha256.js';
import { nodeSha256 } from './node.js';

test('native and portable SHA-256 agree on random inputs of many lengths and splits', () => {
  for (let n = 0; n < 2100; n += 37) {
    const a = crypto.getRandomValues(new Uint8Array(n));
    const cut = Math.floor(n / 3);
    assert.deepEqual(nodeSha256([a]), portableSha256([a]));
    assert.deepEqual(nodeSha256([a.subarray(0, cut), a.subarray(cut)]), portableSha256([a]));
  }
});

test('native SHA-256 handles inputs larger than its scratch buffer and many parts', () => {
  const big = crypto.getRandomValues(new Uint8Array(10_000));
  assert.deepEqual(nodeSha256([big.subarray(0, 1), big.subarray(1)]), portableSha256([big]));
  const parts = Array.from({ length: 9 }, (_, i) => big.subarray(i * 1000, (i + 1) * 1000));
  assert.deepEqual(nodeSha256(parts), portableSha256([big.subarray(0, 9000)]));
});

import { runsFrom } from '../hash/sha256.js';
import { nodeSha256Runs } from './node.js';

test('native batched runs equal the portable ones (leaf and node shapes, short last run)', () => {
  for (const [len, run] of [[0, 1024], [1, 1024], [1025, 1024], [5000, 1024], [64 * 9, 64], [64 * 9 + 32, 64], [9000, 4500]] as const) {
    const data = crypto.getRandomValues(new Uint8Array(len));
    const n = Math.ceil(len / run);
    const [a, b] = [new Uint8Array(32 * n), new Uint8Array(32 * n)];
    nodeSha256Runs(len & 1, data, run, a);
    runsFrom(portableSha256)(len & 1, data, run, b);
    assert.deepEqual(a, b, `len ${len} run ${run}`);
  }
});
