import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CID } from 'multiformats/cid';
import { modelCid } from './cid.js';
import { sha256 } from './sha256.js';

test('modelCid matches `ipfs add --cid-version=1` for a one-chunk file (raw leaf)', async () => {
  const r = await modelCid(new TextEncoder().encode('hello world\n'));
  assert.equal(r.cid, 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
  // A single raw leaf is addressed by the SHA-256 of the bytes themselves.
  assert.deepEqual(r.digest, sha256(new TextEncoder().encode('hello world\n')));
  assert.equal(r.digest.length, 32);
});

test('the empty file is the raw CID of SHA-256("")', async () => {
  const r = await modelCid(new Uint8Array(0));
  assert.equal(r.cid, 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
});

test('a file over 256 KiB becomes a dag-pb root over raw leaves, deterministically', async () => {
  const big = new Uint8Array(600_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 255;
  const a = await modelCid(big);
  const b = await modelCid(big.slice());
  assert.match(a.cid, /^bafybei[a-z2-7]+$/);
  const cid = CID.parse(a.cid);
  assert.equal(cid.version, 1);
  assert.equal(cid.code, 0x70, 'dag-pb');
  assert.equal(cid.multihash.code, 0x12, 'sha2-256');
  assert.deepEqual(a.digest, cid.multihash.digest);
  assert.deepEqual(a, b);
  // Golden value: changes only if the chunking/layout defaults change.
  assert.equal(a.cid, 'bafybeidudknqwx4o547irvvb4yjeyfa5ndfno3g7ikcsr25a6k4tytdeqm');
  big[599_999] ^= 1;
  assert.notEqual((await modelCid(big)).cid, a.cid);
});
