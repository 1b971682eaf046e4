import { test } from 'node:test';
import assert from 'node:assert/strict';
import { merkleRoot, leafHash, nodeHash } from './merkle.js';
import { sha256, toHex } from './sha256.js';

/** RFC 6962 §2.1 written out recursively, independent of the iterative implementation. */
function mthRecursive(items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return sha256(new Uint8Array(0));
  if (items.length === 1) return leafHash(items[0]!);
  let k = 1;
  while (k * 2 < items.length) k *= 2;
  return nodeHash(mthRecursive(items.slice(0, k)), mthRecursive(items.slice(k)));
}

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

test('empty tree is SHA-256 of the empty string', () => {
  assert.equal(toHex(merkleRoot([])), '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('RFC 6962 reference tree of 8 leaves (certificate-transparency test vectors)', () => {
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
  assert.equal(toHex(merkleRoot(leaves.slice(0, 1))), '0x6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.equal(toHex(merkleRoot(leaves)), '0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
});

test('iterative MTH equals the recursive split definition for 1..70 leaves', () => {
  const items = Array.from({ length: 70 }, (_, i) => Uint8Array.from([i, i >> 1, 7]));
  for (let n = 1; n <= 70; n++) assert.deepEqual(merkleRoot(items.slice(0, n)), mthRecursive(items.slice(0, n)), `n=${n}`);
});
