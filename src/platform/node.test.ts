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
