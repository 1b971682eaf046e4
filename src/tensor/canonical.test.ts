import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalData, canonicalHeader, tensorDigest, tensorListDigest } from './canonical.js';
import { DType } from './dtype.js';
import { Tensor } from './tensor.js';
import { sha256, toHex } from '../hash/sha256.js';
import { merkleRoot } from '../hash/merkle.js';

const f32 = (shape: number[], v: number[]) => new Tensor(DType.float32, shape, Float32Array.from(v));

test('header is u8 dtype, u8 rank, u64le dims', () => {
  assert.deepEqual([...canonicalHeader(f32([2, 3], [0, 0, 0, 0, 0, 0]))], [1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...canonicalHeader(f32([], [5]))], [1, 0]);
});

test('digest = SHA-256(header || MTH(1024-byte chunks)), computed independently', () => {
  const v = Array.from({ length: 300 }, (_, i) => i * 0.5 - 7);
  const t = f32([300], v);
  const bytes = new Uint8Array(Float32Array.from(v).buffer);
  const expected = sha256(canonicalHeader(t), merkleRoot([bytes.subarray(0, 1024), bytes.subarray(1024)]));
  assert.deepEqual(tensorDigest(t), expected);
});

test('empty tensor: MTH of no chunks is SHA-256("")', () => {
  const t = new Tensor(DType.float32, [0, 4], new Float32Array(0));
  assert.deepEqual(tensorDigest(t), sha256(canonicalHeader(t), sha256(new Uint8Array(0))));
});

test('every NaN is written as the canonical quiet NaN', () => {
  const a = new Float32Array(3);
  const u = new Uint32Array(a.buffer);
  u[0] = 0x7fc00000;
  u[1] = 0xffc00001; // negative NaN with payload
  u[2] = 0x7f800001; // signalling NaN
  const t = new Tensor(DType.float32, [3], a);
  assert.deepEqual([...new Uint32Array(canonicalData(t).slice().buffer)], [0x7fc00000, 0x7fc00000, 0x7fc00000]);
  assert.equal(u[1], 0xffc00001, 'canonicalisation must not mutate the tensor');
  const d = new Float64Array([NaN, -NaN]);
  new Uint32Array(d.buffer)[3] = 0xfff80123;
  const cd = new Uint32Array(canonicalData(new Tensor(DType.float64, [2], d)).slice().buffer);
  assert.deepEqual([...cd], [0, 0x7ff80000, 0, 0x7ff80000]);
  const h = new Tensor(DType.float16, [2], Uint16Array.from([0xfe01, 0x7c00]));
  assert.deepEqual([...new Uint16Array(canonicalData(h).slice().buffer)], [0x7e00, 0x7c00]);
});

test('-0 and +0 are different bytes and different digests', () => {
  assert.notDeepEqual(tensorDigest(f32([1], [0])), tensorDigest(f32([1], [-0])));
});

test('dtype and shape are bound by the digest', () => {
  const a = new Tensor(DType.int32, [4], Int32Array.from([1, 2, 3, 4]));
  const b = new Tensor(DType.uint32, [4], Uint32Array.from([1, 2, 3, 4]));
  const c = new Tensor(DType.int32, [2, 2], Int32Array.from([1, 2, 3, 4]));
  const set = new Set([a, b, c].map((t) => toHex(tensorDigest(t))));
  assert.equal(set.size, 3);
});

test('golden digests, cross-checked with Python hashlib (a change here is a change of the wire format)', () => {
  assert.equal(
    toHex(tensorDigest(f32([2, 2], [1, -2, 0.5, -0]))),
    '0x3597bce9ea48c4215291aa862c06354fa8b2455df7bfee73df4821893985d9a9',
  );
  assert.equal(
    toHex(tensorListDigest([new Tensor(DType.int64, [2], BigInt64Array.from([-1n, 2n ** 40n])), new Tensor(DType.bool, [3], Uint8Array.from([1, 0, 1]))])),
    '0x2ae47b0687083dab8463239ab237d2b896e4b379440c708d6a6a1c77581a9cde',
  );
});

test('NaN scan finds a NaN at any position (unrolled body and tail), float32 and float64; digests match a naive encoder', () => {
  const naive = (t: Tensor): Uint8Array => {
    const u = t.dtype === DType.float32 ? new Uint32Array(Float32Array.from(t.data as Float32Array).buffer) : new Uint32Array(Float64Array.from(t.data as Float64Array).buffer);
    const f = t.data as Float32Array | Float64Array;
    for (let i = 0; i < f.length; i++) {
      if (f[i] === f[i]) continue;
      if (t.dtype === DType.float32) u[i] = 0x7fc00000;
      else [u[2 * i], u[2 * i + 1]] = [0, 0x7ff80000];
    }
    return new Uint8Array(u.buffer);
  };
  for (const n of [1, 3, 4, 5, 8, 9, 257, 1031]) {
    for (const pos of [0, 1, n - 4, n - 3, n - 1, Math.floor(n / 2)]) {
      if (pos < 0 || pos >= n) continue;
      for (const ctor of [Float32Array, Float64Array]) {
        const d = new ctor(n).map((_, i) => (i % 7) - 3.5);
        d[pos] = NaN;
        if (ctor === Float32Array) new Uint32Array(d.buffer)[pos] = 0xffc0beef; // negative NaN with payload
        const t = new Tensor(ctor === Float32Array ? DType.float32 : DType.float64, [n], d);
        const want = naive(t);
        assert.deepEqual(canonicalData(t), want, `${ctor.name} n=${n} NaN at ${pos}`);
        const clean = new Tensor(t.dtype, [n], d.map((x) => (x === x ? x : 0)));
        assert.equal(canonicalData(clean).buffer, clean.data.buffer, 'no NaN: hashed in place, no copy');
        assert.deepEqual(tensorDigest(t), sha256(canonicalHeader(t), merkleRoot(Array.from({ length: Math.ceil(want.length / 1024) }, (_, c) => want.subarray(1024 * c, 1024 * c + 1024)))));
      }
    }
  }
});
