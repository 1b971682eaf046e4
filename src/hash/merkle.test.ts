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

import { consistencyProof, inclusionProof, subtreeRoot, verifyConsistency, verifyInclusion } from './merkle.js';

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);

test('RFC 6962 inclusion proofs (certificate-transparency vectors)', () => {
  const lh = LEAVES.map(leafHash);
  // leaf 0 of 8 and leaf 5 of 8, as in CT's merkle_tree_test
  assert.deepEqual(inclusionProof(lh, 0).map((h) => toHex(h).slice(2)), [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]);
  assert.deepEqual(inclusionProof(lh, 5).map((h) => toHex(h).slice(2)), [
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]);
});

test('inclusion proofs verify for every leaf of trees of 1..40 leaves, and fail when tampered', () => {
  const items = Array.from({ length: 40 }, (_, i) => Uint8Array.from([i, 3]));
  const lh = items.map(leafHash);
  for (let n = 1; n <= 40; n++) {
    const root = subtreeRoot(lh, 0, n);
    assert.deepEqual(root, mthRecursive(items.slice(0, n)));
    for (let i = 0; i < n; i++) {
      const p = inclusionProof(lh.slice(0, n), i);
      assert.ok(verifyInclusion(lh[i]!, i, n, p, root), `n=${n} i=${i}`);
      assert.ok(!verifyInclusion(lh[(i + 1) % 40]!, i, n, p, root), `wrong leaf n=${n} i=${i}`);
      if (n > 1) assert.ok(!verifyInclusion(lh[i]!, (i + 1) % n, n, p, root), `wrong index n=${n} i=${i}`);
      if (p.length) assert.ok(!verifyInclusion(lh[i]!, i, n, p.slice(1), root), `truncated n=${n} i=${i}`);
      assert.ok(!verifyInclusion(lh[i]!, i, n, [...p, lh[0]!], root), `extended n=${n} i=${i}`);
    }
  }
});

test('RFC 6962 consistency proofs (certificate-transparency vectors) and exhaustive checks', () => {
  const lh = LEAVES.map(leafHash);
  assert.deepEqual(consistencyProof(lh, 1).map((h) => toHex(h).slice(2)), [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]);
  assert.deepEqual(consistencyProof(lh, 6).map((h) => toHex(h).slice(2)), [
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]);
  const items = Array.from({ length: 33 }, (_, i) => Uint8Array.from([i, 9]));
  const all = items.map(leafHash);
  for (let n = 1; n <= 33; n++) {
    const lh2 = all.slice(0, n);
    const newRoot = subtreeRoot(lh2);
    for (let m = 1; m <= n; m++) {
      const oldRoot = subtreeRoot(lh2, 0, m);
      const p = consistencyProof(lh2, m);
      assert.ok(verifyConsistency(m, n, oldRoot, newRoot, p), `m=${m} n=${n}`);
      const wrongOld = subtreeRoot(all.map((h, i) => (i === m - 1 ? leafHash(Uint8Array.from([99])) : h)), 0, m);
      assert.ok(!verifyConsistency(m, n, wrongOld, newRoot, p), `tampered old m=${m} n=${n}`);
      if (m < n) assert.ok(!verifyConsistency(m, n, oldRoot, subtreeRoot(all, 0, n + 1 > 33 ? n - 1 : n + 1), p), `wrong new m=${m} n=${n}`);
    }
  }
});

import { merkleRootOfChunks, merkleRootOfFlatLeafHashes, merkleRootOfLeafHashes } from './merkle.js';
import { sha256Runs } from './sha256.js';

/** Deterministic pseudo-random bytes (no node: import needed). */
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test('sha256Runs equals one SHA-256(prefix || run) per run, the last run short, none for empty data', () => {
  for (const [len, run] of [[0, 64], [1, 64], [64, 64], [65, 64], [640, 64], [3000, 1024], [2048, 1024], [5, 1]] as const) {
    const data = bytes(len, len + run);
    const n = Math.ceil(len / run);
    for (const prefix of [0, 1]) {
      const out = new Uint8Array(32 * n);
      sha256Runs(prefix, data, run, out);
      for (let i = 0; i < n; i++) {
        const expected = sha256(Uint8Array.of(prefix), data.subarray(i * run, Math.min((i + 1) * run, len)));
        assert.deepEqual(out.subarray(32 * i, 32 * i + 32), expected, `len ${len} run ${run} #${i}`);
      }
    }
  }
  assert.throws(() => sha256Runs(0, bytes(65, 1), 64, new Uint8Array(32)), RangeError);
});

test('merkleRootOfChunks equals the recursive MTH over the chunk list for many sizes', () => {
  for (const chunk of [1, 7, 64, 1024]) {
    for (const len of [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 3 * chunk + 5, 17 * chunk, 33 * chunk - 1]) {
      if (len < 0) continue;
      const data = bytes(len, 7 * len + chunk);
      const chunks: Uint8Array[] = [];
      for (let o = 0; o < len; o += chunk) chunks.push(data.subarray(o, Math.min(o + chunk, len)));
      assert.deepEqual(merkleRootOfChunks(data, chunk), mthRecursive(chunks), `chunk ${chunk} len ${len}`);
    }
  }
});

test('flat and list leaf-hash roots equal the recursive MTH for 0..70 leaves', () => {
  const items = Array.from({ length: 70 }, (_, i) => bytes(i % 5, i + 1));
  for (let n = 0; n <= 70; n++) {
    const lh = items.slice(0, n).map(leafHash);
    const flat = new Uint8Array(32 * n);
    lh.forEach((h, i) => flat.set(h, 32 * i));
    const want = mthRecursive(items.slice(0, n));
    assert.deepEqual(merkleRootOfLeafHashes(lh), want, `n=${n}`);
    assert.deepEqual(merkleRootOfFlatLeafHashes(flat), want, `flat n=${n}`);
    assert.deepEqual(flat, Uint8Array.from(lh.flatMap((h) => [...h])), 'the leaf hashes are not modified');
  }
});
