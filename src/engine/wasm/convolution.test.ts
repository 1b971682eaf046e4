// The one-call WebAssembly float32 Conv (conv.wat via convolution.ts) stores exactly the
// bits of the canonical loop (Conv in ../ops/conv.ts): acc = +0, then acc = f32(acc +
// f32(w * x)) over (c, kh, kw) increasing with padded taps skipped, then f32(acc + b).
// Compared bit for bit (Uint32 views) except that any NaN equals any NaN: NaN payloads of
// WebAssembly arithmetic are not deterministic, and canonical tensor encoding collapses
// every NaN (the JS/GEMM schedules have the same freedom). Random shapes cover both modes
// (direct: unit width stride; im2col: the rest), strides, dilations, asymmetric pads,
// windows wholly in the padding, groups incl. depthwise, 1-D, odd sizes and specials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../../test/fixtures/models.js';
import { conv2dF32Wasm, convTranspose2dF32Wasm, setConvWasmIm2col, type Conv2dGeometry } from './convolution.js';

const f32 = Math.fround;

/** The canonical order, written as plainly as possible. */
function reference(x: Float32Array, w: Float32Array, b: Float32Array | undefined, g: Conv2dGeometry): Float32Array {
  const { N, C, H, W, M, group, KH, KW, OH, OW, sH, sW, dH, dW, pT, pL } = g;
  const Cg = C / group;
  const Mg = M / group;
  const y = new Float32Array(N * M * OH * OW);
  let yi = 0;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const gi = Math.floor(m / Mg);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let acc = 0;
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * sH + kh * dH - pT;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * sW + kw * dW - pL;
                if (iw < 0 || iw >= W) continue;
                const xv = x[((n * C + gi * Cg + c) * H + ih) * W + iw]!;
                const wv = w[((m * Cg + c) * KH + kh) * KW + kw]!;
                acc = f32(acc + f32(xv * wv));
              }
            }
          }
          y[yi++] = b ? f32(acc + b[m]!) : acc;
        }
      }
    }
  }
  return y;
}

function sameBitsNaN(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what} length`);
  const gu = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const wu = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < want.length; i++) {
    if (gu[i] === wu[i]) continue;
    if (got[i] !== got[i] && want[i] !== want[i]) continue;
    assert.fail(`${what} element ${i}: got ${got[i]} (0x${gu[i]!.toString(16)}), expected ${want[i]} (0x${wu[i]!.toString(16)})`);
  }
}

/** Random float32 values; with `special`, a share of -0, +0, subnormals, under/overflowing magnitudes (and Inf/NaN when allowed). */
function values(r: () => number, n: number, special: boolean, nonFinite: boolean): Float32Array {
  const a = new Float32Array(n);
  const sub = [2 ** -149, -(2 ** -149), 3 * 2 ** -140, -(2 ** -127), 2 ** -126 - 2 ** -149];
  for (let i = 0; i < n; i++) {
    const u = r();
    if (!special || u >= 0.45) a[i] = f32(r() * 4 - 2);
    else if (u < 0.1) a[i] = -0;
    else if (u < 0.2) a[i] = 0;
    else if (u < 0.3) a[i] = sub[Math.floor(r() * sub.length)]!;
    else if (u < 0.35) a[i] = (r() < 0.5 ? -1 : 1) * 2 ** -70;
    else if (u < 0.4) a[i] = (r() < 0.5 ? -1 : 1) * 2 ** 70;
    else a[i] = nonFinite ? [Infinity, -Infinity, NaN][Math.floor(r() * 3)]! : f32(r() - 0.5);
  }
  return a;
}

function outSize(inLen: number, k: number, s: number, d: number, pb: number, pe: number): number {
  return Math.floor((inLen + pb + pe - ((k - 1) * d + 1)) / s) + 1;
}

function check(g: Conv2dGeometry, r: () => number, special: boolean, withBias: boolean, what: string): void {
  const Cg = g.C / g.group;
  const x = values(r, g.N * g.C * g.H * g.W, special, true); // inputs may hold Inf/NaN
  const w = values(r, g.M * Cg * g.KH * g.KW, special, false);
  const b = withBias ? values(r, g.M, special, false) : undefined;
  const want = reference(x, w, b, g);
  for (const im2col of [false, true]) {
    const prev = setConvWasmIm2col(im2col);
    try {
      const y = new Float32Array(g.N * g.M * g.OH * g.OW).fill(NaN);
      assert.ok(conv2dF32Wasm(x, w, b, y, g), `${what}: the kernel took the job`);
      sameBitsNaN(y, want, `${what}${im2col ? ' [im2col]' : ''}`);
    } finally {
      setConvWasmIm2col(prev);
    }
  }
}

test('Conv f32 WebAssembly: the bench CNN layers and fixed shapes (both modes, groups, depthwise, 1-D)', () => {
  const r = rng(5);
  const base = { sH: 1, sW: 1, dH: 1, dW: 1, pT: 0, pL: 0 };
  const cases: Conv2dGeometry[] = [
    { ...base, N: 2, C: 1, H: 28, W: 28, M: 16, group: 1, KH: 3, KW: 3, OH: 28, OW: 28, pT: 1, pL: 1 },
    { ...base, N: 2, C: 16, H: 14, W: 14, M: 32, group: 1, KH: 3, KW: 3, OH: 14, OW: 14, pT: 1, pL: 1 },
    { ...base, N: 1, C: 8, H: 10, W: 10, M: 8, group: 8, KH: 3, KW: 3, OH: 10, OW: 10, pT: 1, pL: 1 }, // depthwise
    { ...base, N: 1, C: 4, H: 9, W: 13, M: 8, group: 4, KH: 5, KW: 3, OH: 5, OW: 10, dH: 2, dW: 3, pT: 3, pL: 2 },
    { ...base, N: 3, C: 4, H: 1, W: 57, M: 9, group: 1, KH: 1, KW: 5, OH: 1, OW: 28, sW: 2, pL: 2 }, // 1-D, strided
    { ...base, N: 1, C: 5, H: 1, W: 40, M: 7, group: 1, KH: 1, KW: 3, OH: 1, OW: 40, pL: 1 }, // 1-D direct
    { ...base, N: 2, C: 8, H: 7, W: 9, M: 12, group: 1, KH: 1, KW: 1, OH: 7, OW: 9 }, // 1x1
    { ...base, N: 1, C: 2, H: 4, W: 4, M: 5, group: 1, KH: 3, KW: 3, OH: 8, OW: 8, pT: 3, pL: 3 }, // windows wholly in padding
    { ...base, N: 1, C: 40, H: 9, W: 21, M: 11, group: 1, KH: 3, KW: 3, OH: 9, OW: 21, pT: 1, pL: 1 }, // long reduction (Kd = 360)
    { ...base, N: 2, C: 24, H: 17, W: 19, M: 24, group: 24, KH: 5, KW: 5, OH: 9, OW: 10, sH: 2, sW: 2, pT: 2, pL: 2 }, // strided depthwise
  ];
  cases.forEach((g, i) => {
    check(g, r, false, true, `case ${i}`);
    check(g, r, true, i % 2 === 0, `special case ${i}`);
  });
});

test('Conv f32 WebAssembly: random geometries vs the canonical loop (bit-exact; NaN = NaN)', () => {
  const r = rng(11);
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  let direct = 0;
  for (let it = 0; it < 300; it++) {
    const oneD = r() < 0.25;
    const group = r() < 0.3 ? ri(2, 4) : 1;
    const Cg = r() < 0.3 ? 1 : ri(1, 6);
    const Mg = r() < 0.3 ? 1 : ri(1, 11);
    const KH = oneD ? 1 : ri(1, 5);
    const KW = ri(1, 5);
    const sH = oneD ? 1 : ri(1, 3);
    const sW = r() < 0.5 ? 1 : ri(1, 3);
    const dH = oneD ? 1 : ri(1, 3);
    const dW = ri(1, 3);
    const pads = oneD ? [0, 0, ri(0, 4), ri(0, 4)] : [ri(0, 4), ri(0, 4), ri(0, 4), ri(0, 4)]; // top, bottom, left, right
    let H = oneD ? 1 : ri(1, 20);
    let W = ri(1, oneD ? 70 : 35);
    H = Math.max(H, (KH - 1) * dH + 1 - pads[0]! - pads[1]!);
    W = Math.max(W, (KW - 1) * dW + 1 - pads[2]! - pads[3]!);
    const OH = outSize(H, KH, sH, dH, pads[0]!, pads[1]!);
    const OW = outSize(W, KW, sW, dW, pads[2]!, pads[3]!);
    const g: Conv2dGeometry = { N: ri(1, 3), C: Cg * group, H, W, M: Mg * group, group, KH, KW, OH, OW, sH, sW, dH, dW, pT: pads[0]!, pL: pads[2]! };
    if ((((OW + 7) & ~7) - OW) * 4 <= OW) direct++;
    check(g, r, it % 2 === 1, r() < 0.5, `random ${it} ${JSON.stringify(g)}`);
  }
  assert.ok(direct > 40, `direct mode ran ${direct} times`);
});

test('Conv f32 WebAssembly: declines non-finite weights and zero sizes (nothing written)', () => {
  const g: Conv2dGeometry = { N: 1, C: 2, H: 5, W: 5, M: 3, group: 1, KH: 3, KW: 3, OH: 5, OW: 5, sH: 1, sW: 1, dH: 1, dW: 1, pT: 1, pL: 1 };
  const x = new Float32Array(50).fill(1);
  for (const bad of [Infinity, -Infinity, NaN]) {
    const w = new Float32Array(54).fill(0.5);
    w[17] = bad;
    const y = new Float32Array(75).fill(7);
    assert.equal(conv2dF32Wasm(x, w, undefined, y, g), false);
    assert.ok(y.every((v) => v === 7));
  }
  assert.equal(conv2dF32Wasm(new Float32Array(0), new Float32Array(54), undefined, new Float32Array(0), { ...g, N: 0 }), false);
});

test('Conv f32 WebAssembly: -0 rules (acc starts at +0; -0 products and a -0 bias keep +0; padding skipped)', () => {
  const g: Conv2dGeometry = { N: 1, C: 1, H: 3, W: 9, M: 1, group: 1, KH: 3, KW: 3, OH: 3, OW: 9, sH: 1, sW: 1, dH: 1, dW: 1, pT: 1, pL: 1 };
  const x = new Float32Array(27).fill(-0);
  const w = new Float32Array(9).fill(1);
  const y = new Float32Array(27);
  assert.ok(conv2dF32Wasm(x, w, Float32Array.of(-0), y, g));
  assert.ok(Array.from(y).every((v) => Object.is(v, 0)));
  // an input Inf on a real tap gives Inf; 0 * Inf only where x is Inf and w is 0 (NaN)
  x[4] = Infinity;
  w.fill(0);
  w[4] = 1;
  assert.ok(conv2dF32Wasm(x, w, undefined, y, g));
  sameBitsNaN(y, reference(x, w, undefined, g), 'inf');
});

/** ConvTranspose's canonical gather order, written plainly (w is [C, M/group, KH, KW]). */
function referenceT(x: Float32Array, w: Float32Array, b: Float32Array | undefined, g: Conv2dGeometry): Float32Array {
  const { N, C, H, W, M, group, KH, KW, OH, OW, sH, sW, dH, dW, pT, pL } = g;
  const Cg = C / group;
  const Mg = M / group;
  const y = new Float32Array(N * M * OH * OW);
  let yi = 0;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const gi = Math.floor(m / Mg);
      const ml = m - gi * Mg;
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let acc = 0;
          for (let cl = 0; cl < Cg; cl++) {
            const c = gi * Cg + cl;
            for (let kh = 0; kh < KH; kh++) {
              const th = oh + pT - kh * dH;
              if (th < 0 || th % sH !== 0 || th / sH >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const tw = ow + pL - kw * dW;
                if (tw < 0 || tw % sW !== 0 || tw / sW >= W) continue;
                const xv = x[((n * C + c) * H + th / sH) * W + tw / sW]!;
                const wv = w[((c * Mg + ml) * KH + kh) * KW + kw]!;
                acc = f32(acc + f32(xv * wv));
              }
            }
          }
          y[yi++] = b ? f32(acc + b[m]!) : acc;
        }
      }
    }
  }
  return y;
}

test('ConvTranspose f32 WebAssembly: random geometries (strides, dilations, pads, output padding, groups, 1-D) vs the gather loop', () => {
  const r = rng(29);
  const ri = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let it = 0; it < 250; it++) {
    const oneD = r() < 0.25;
    const group = r() < 0.3 ? ri(2, 3) : 1;
    const Cg = ri(1, 5);
    const Mg = r() < 0.3 ? 1 : ri(1, 9);
    const KH = oneD ? 1 : ri(1, 4);
    const KW = ri(1, 4);
    const sH = oneD ? 1 : ri(1, 3);
    const sW = ri(1, 3);
    const dH = oneD ? 1 : ri(1, 2);
    const dW = ri(1, 2);
    const H = oneD ? 1 : ri(1, 9);
    const W = ri(1, oneD ? 30 : 14);
    const pT = oneD ? 0 : ri(0, 3);
    const pL = ri(0, 3);
    // full extent minus pads, plus a random output padding / shortfall (output_shape cases)
    const OH = Math.max(1, sH * (H - 1) + (KH - 1) * dH + 1 - pT - (oneD ? 0 : ri(0, 3)) + (oneD ? 0 : ri(0, sH - 1)));
    const OW = Math.max(1, sW * (W - 1) + (KW - 1) * dW + 1 - pL - ri(0, 3) + ri(0, sW - 1));
    const g: Conv2dGeometry = { N: ri(1, 2), C: Cg * group, H, W, M: Mg * group, group, KH, KW, OH, OW, sH, sW, dH, dW, pT, pL };
    const special = it % 2 === 1;
    const x = values(r, g.N * g.C * H * W, special, true);
    const w = values(r, g.C * Mg * KH * KW, special, false);
    const b = r() < 0.5 ? values(r, g.M, special, false) : undefined;
    const y = new Float32Array(g.N * g.M * OH * OW).fill(NaN);
    assert.ok(convTranspose2dF32Wasm(x, w, b, y, g), `random ${it}: the kernel took the job`);
    sameBitsNaN(y, referenceT(x, w, b, g), `random ${it} ${JSON.stringify(g)}`);
  }
  // non-finite weights are declined
  const g: Conv2dGeometry = { N: 1, C: 1, H: 3, W: 3, M: 1, group: 1, KH: 2, KW: 2, OH: 6, OW: 6, sH: 2, sW: 2, dH: 1, dW: 1, pT: 0, pL: 0 };
  assert.equal(convTranspose2dF32Wasm(new Float32Array(9), Float32Array.of(1, Infinity, 1, 1), undefined, new Float32Array(36), g), false);
});
