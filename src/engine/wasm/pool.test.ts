// 2-D / 1-D float32 MaxPool through the WebAssembly SIMD kernel (pool.wat) stores exactly
// the bits of the plain TypeScript loop (pool2d in ../ops/pool.ts): random shapes, pads,
// strides, dilations, ceil_mode and auto_pad, with NaNs (payloads, signalling), ±0, ±Inf
// and many ties. The JS loop is reached through the same kernel by asking for the Indices
// output (which the SIMD path does not produce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { ops, MAXPOOL_F32_WASM_MIN } from '../ops/pool.js';
import { attrsOf, makeCtx, sameBits32 } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';
import { maxPool2dF32Wasm } from './pool.js';

const hex = (u: number): string => `0x${u.toString(16).padStart(8, '0')}`;

const SPECIAL_BITS = [
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7fffffff, 0x7f800001, 0xff800001, 0x7fa00000, // NaNs
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x80000001, 0x3f800000, 0xbf800000,
];

/** Values drawn mostly from a tiny set (ties everywhere: -0/+0, equal values, NaNs), some random. */
function input(n: number, r: () => number, nanRate: number): Float32Array {
  const u = new Uint32Array(n);
  const f = new Float32Array(u.buffer);
  for (let i = 0; i < n; i++) {
    const t = r();
    if (t < nanRate) u[i] = SPECIAL_BITS[Math.floor(r() * 8)]!;
    else if (t < 0.5) u[i] = SPECIAL_BITS[8 + Math.floor(r() * 8)]!;
    else if (t < 0.7) f[i] = Math.floor(r() * 5) - 2;
    else f[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 20 - 10);
  }
  return f;
}

type Attrs = Record<string, number | number[] | string>;

function maxPool(X: Tensor, attrs: Attrs, withIndices: boolean): Tensor {
  return ops.MaxPool!([X], makeCtx('MaxPool', attrsOf(attrs), 19, withIndices ? ['y', 'i'] : ['y']))[0]!;
}

/** Independent reference for the kernel itself: window in row-major order, pool.ts's rule, NaN quieted. */
function naive(x: Float32Array, planes: number, g: Parameters<typeof maxPool2dF32Wasm>[3]): Float32Array {
  const y = new Float32Array(planes * g.OH * g.OW);
  const yb = new Uint32Array(y.buffer);
  const xb = new Uint32Array(x.buffer, x.byteOffset, x.length);
  let yi = 0;
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++, yi++) {
        let have = false;
        let best = -Infinity;
        let bits = 0xff800000;
        for (let i = 0; i < g.kH; i++) {
          const h = oh * g.sH - g.pT + i * g.dH;
          if (h < 0 || h >= g.H) continue;
          for (let j = 0; j < g.kW; j++) {
            const w = ow * g.sW - g.pL + j * g.dW;
            if (w < 0 || w >= g.W) continue;
            const at = (p * g.H + h) * g.W + w;
            const v = x[at]!;
            if (!have || v > best || (best !== best && v === v)) ((best = v), (bits = xb[at]!), (have = true));
          }
        }
        yb[yi] = best !== best ? (bits | 0x00400000) >>> 0 : bits;
      }
    }
  }
  return y;
}

test('MaxPool f32: the SIMD kernel directly, small random geometries (stride 1, 2, 3+), vs a naive loop', () => {
  const r = rng(3);
  for (let it = 0; it < 400; it++) {
    const kH = 1 + Math.floor(r() * 4);
    const kW = 1 + Math.floor(r() * 4);
    const g = {
      H: 1 + Math.floor(r() * 12), W: 1 + Math.floor(r() * 23),
      kH, kW, sH: 1 + Math.floor(r() * 3), sW: 1 + Math.floor(r() * 4),
      dH: 1 + Math.floor(r() * 2), dW: 1 + Math.floor(r() * 2),
      pT: Math.floor(r() * kH), pL: Math.floor(r() * kW), OH: 0, OW: 0,
    };
    g.OH = Math.max(0, Math.floor((g.H + 2 * g.pT - (kH - 1) * g.dH - 1) / g.sH) + 1 + (r() < 0.3 ? 1 : 0));
    g.OW = Math.max(0, Math.floor((g.W + 2 * g.pL - (kW - 1) * g.dW - 1) / g.sW) + 1 + (r() < 0.3 ? 1 : 0));
    const planes = 1 + Math.floor(r() * 3);
    const x = input(planes * g.H * g.W, r, it % 3 === 0 ? 0.3 : 0.05);
    const y = new Float32Array(planes * g.OH * g.OW);
    assert.ok(maxPool2dF32Wasm(x, y, planes, g), 'WebAssembly SIMD in Node 20');
    sameBits32(y, naive(x, planes, g), `case ${it} ${JSON.stringify(g)}`);
  }
});

test('MaxPool f32: the MaxPool kernel with and without Indices (SIMD vs JS loop), random attributes', () => {
  const r = rng(17);
  let ran = 0;
  for (let it = 0; it < 300; it++) {
    const oneD = r() < 0.2;
    const sp = oneD ? [1 + Math.floor(r() * 40)] : [1 + Math.floor(r() * 20), 1 + Math.floor(r() * 33)];
    const shape = [1 + Math.floor(r() * 2), 1 + Math.floor(r() * 5), ...sp];
    const k = sp.map(() => 1 + Math.floor(r() * 3));
    const attrs: Attrs = { kernel_shape: k };
    if (r() < 0.7) attrs.strides = sp.map(() => 1 + Math.floor(r() * 3));
    if (r() < 0.3) attrs.dilations = sp.map(() => 1 + Math.floor(r() * 2));
    if (r() < 0.2) attrs.auto_pad = r() < 0.5 ? 'SAME_UPPER' : 'SAME_LOWER';
    else if (r() < 0.6) attrs.pads = [...k.map((kk) => Math.floor(r() * kk)), ...k.map((kk) => Math.floor(r() * kk))];
    if (r() < 0.3) attrs.ceil_mode = 1;
    const X = new Tensor(DType.float32, shape, input(shape.reduce((a, b) => a * b, 1), r, it % 4 === 0 ? 0.4 : 0.05));
    let want: Tensor;
    try {
      want = maxPool(X, attrs, true);
    } catch {
      assert.throws(() => maxPool(X, attrs, false), `case ${it}: both paths reject`);
      continue;
    }
    const got = maxPool(X, attrs, false);
    assert.deepEqual(got.shape, want.shape);
    sameBits32(got.data as Float32Array, want.data as Float32Array, `case ${it} [${shape}] ${JSON.stringify(attrs)}`);
    if (got.size >= MAXPOOL_F32_WASM_MIN) ran++;
  }
  assert.ok(ran > 50, `the SIMD path ran ${ran} times`);
});

test('MaxPool f32: the common 2x2 stride-2 and 3x3 stride-1/2 pads-1 layers, NaN/±0/Inf ties, sizes around the threshold', () => {
  const r = rng(23);
  for (const [n, c, h, w] of [[8, 16, 28, 28], [1, 3, 17, 31], [2, 1, 4, 4], [1, 1, 8, 8], [1, 1, 16, 17], [3, 2, 9, 5], [1, 1, 1, 1], [0, 3, 4, 4], [1, 0, 4, 4]] as const) {
    const X = new Tensor(DType.float32, [n, c, h, w], input(n * c * h * w, r, 0.15));
    for (const attrs of [
      { kernel_shape: [2, 2], strides: [2, 2] },
      { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
      { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
      { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2], pads: [1, 0, 1, 0], ceil_mode: 1 },
    ] as Attrs[]) {
      let want: Tensor;
      try {
        want = maxPool(X, attrs, true);
      } catch {
        continue; // e.g. an output window wholly in the padding
      }
      sameBits32(maxPool(X, attrs, false).data as Float32Array, want.data as Float32Array, `[${n},${c},${h},${w}] ${JSON.stringify(attrs)}`);
    }
  }
});

test('MaxPool f32: tie and NaN rules lane by lane (-0 before +0, NaN dropped, all-NaN keeps the first NaN quieted)', () => {
  // one plane 2 x 16, kernel 2x2 stride 2: eight windows, each a column pair of both rows
  const B = (u: number) => new Float32Array(Uint32Array.of(u).buffer)[0]!;
  const nanA = B(0x7fa00001); // signalling, payload 0x200001
  const nanB = B(0xffc00005);
  const win: number[][] = [
    [-0, 0, 0, 0], [0, -0, -0, -0], [nanA, 1, 2, nanB], [nanA, nanB, nanB, nanA], [nanB, -Infinity, nanA, -Infinity],
    [1, Infinity, Infinity, 1], [-1, -1, -1, -1], [nanA, nanA, nanA, 3],
  ];
  const x = new Float32Array(32);
  win.forEach((v, k) => ((x[2 * k] = v[0]!), (x[2 * k + 1] = v[1]!), (x[16 + 2 * k] = v[2]!), (x[16 + 2 * k + 1] = v[3]!)));
  const y = new Float32Array(8);
  assert.ok(maxPool2dF32Wasm(x, y, 1, { H: 2, W: 16, OH: 1, OW: 8, kH: 2, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, pT: 0, pL: 0 }));
  const u = Array.from(new Uint32Array(y.buffer), hex);
  assert.deepEqual(u, [0x80000000, 0x00000000, 0x40000000, 0x7fe00001, 0xff800000, 0x7f800000, 0xbf800000, 0x40400000].map(hex));
});

test('MaxPool f32: the 2x2 stride-2 row kernel and the overlapping last vector, every width 1..41, pads and extra rows/columns', () => {
  const r = rng(41);
  for (let W = 1; W <= 41; W++) {
    for (let it = 0; it < 6; it++) {
      const pT = it & 1;
      const pL = (it >> 1) & 1;
      const H = 1 + Math.floor(r() * 9);
      const g = { H, W, kH: 2, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, pT, pL, OH: 0, OW: 0 };
      // floor or ceil output extent (ceil may add a window hanging past the input)
      const extra = it >= 4 ? 1 : 0;
      g.OH = Math.floor((H + pT - 2) / 2) + 1 + extra;
      g.OW = Math.floor((W + pL - 2) / 2) + 1 + extra;
      if (g.OH < 1 || g.OW < 1) continue;
      const planes = 1 + Math.floor(r() * 3);
      const x = input(planes * H * W, r, it % 3 === 0 ? 0.3 : 0.05);
      const y = new Float32Array(planes * g.OH * g.OW);
      assert.ok(maxPool2dF32Wasm(x, y, planes, g));
      sameBits32(y, naive(x, planes, g), `W ${W} case ${it} ${JSON.stringify(g)}`);
    }
  }
});
