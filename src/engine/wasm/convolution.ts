/**
 * WebAssembly SIMD float32 Conv and ConvTranspose, 1-D and 2-D, one call per node
 * (conv.wat). Each returns false when WebAssembly SIMD is unavailable, the job is too
 * large, a weight is not finite, or a size is zero; the caller then runs its other
 * float32 schedules (Conv / ConvTranspose in ../ops/conv.ts, the reference), which give
 * the same bits.
 *
 * Canonical order per output element (stated in full in conv.wat): acc = +0; for
 * q = (c*KH + kh)*KW + kw increasing, acc = f32(acc + f32(w[m, q] * x_tap)), padded taps
 * skipped; then y = f32(acc + b[m]) when a bias is given. The kernel adds f32(w * +0) for
 * padded taps, which changes no bit because the weights are checked finite here.
 */
import { wasmBytes } from './conv.wasm.js';
import { PIECE_BYTES, SCRATCH_BASE, WasmKernelModule, align16, type KernelExports } from './runtime.js';

interface ConvExports extends KernelExports {
  conv2d_f32: (
    x: number, w: number, b: number, hasB: number, ws: number, tab: number, y: number,
    N: number, C: number, H: number, W: number, M: number, group: number,
    KH: number, KW: number, OH: number, OW: number,
    sH: number, sW: number, dH: number, dW: number, pT: number, pL: number,
    direct: number, Hp: number, Wp: number, uH: number, uW: number,
  ) => void;
  pack_w: (src: number, dst: number, group: number, Mg: number, Cg: number, kSize: number, gStride: number, mStride: number, cStride: number) => number;
}

const mod = new WasmKernelModule<ConvExports>(wasmBytes, { shared: true });

/** Workspace cap (float32 values: padded image or column matrix); larger jobs use the JS schedules. */
const MAX_COL = 1 << 24;

/** Test hook: force Conv's column-matrix (im2col) mode on every shape; returns the previous setting. Both modes give the same bits. */
let forceIm2col = false;
export function setConvWasmIm2col(on: boolean): boolean {
  const prev = forceIm2col;
  forceIm2col = on;
  return prev;
}

/**
 * 2-D Conv geometry (a 1-D Conv is H = KH = OH = 1 with unit stride/dilation and no pad).
 * x is [N, C, H, W], w is [M, C/group, KH, KW], y is [N, M, OH, OW]; pT/pL are the leading
 * pads (the trailing ones only shape OH/OW).
 */
export interface Conv2dGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  M: number;
  group: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
  pT: number;
  pL: number;
}

/**
 * y = Conv(x, w, bias) in float32 with the canonical order (see above). y receives exactly
 * N*M*OH*OW values. Returns false (y untouched) when the kernel cannot take the job.
 */
export function conv2dF32Wasm(x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, g: Conv2dGeometry): boolean {
  if (!validSizes(g)) return false;
  const { C, M, group, KH, KW, OH, OW } = g;
  const Cg = C / group;
  const Kd = Cg * KH * KW;
  // Direct mode (output rows mostly filling blocks of 8 pixels): the workspace is one
  // padded image, its rows split into sW phases, and a tap's 8 inputs are one load.
  // Otherwise im2col.
  const Hp = (OH - 1) * g.sH + (KH - 1) * g.dH + 1;
  const Wq = Math.ceil(((OW - 1) * g.sW + (KW - 1) * g.dW + 1) / g.sW);
  const Wp = g.sW * Wq;
  const rowWaste = ((OW + 7) & ~7) - OW;
  const direct = !forceIm2col && rowWaste * 4 <= OW;
  const wsn = direct ? C * Hp * Wp + 16 : Kd * ((OH * OW + 7) & ~7);
  // W is [M, Cg, KH, KW]: channel m's weights for q = (c*KH + kh)*KW + kw are w[m*Kd + q]
  const Mg = M / group;
  return run(x, w, [1, Kd, Mg * Kd, Kd, 0], bias, y, g, wsn, direct ? 1 : 0, g.sH, g.sW, g.pT, g.pL, Hp, Wp, 0, 0);
}

/**
 * y = ConvTranspose(x, w, bias) in float32, 1-D/2-D (x [N, C, H, W], w [C, M/group, KH, KW],
 * y [N, M, OH, OW]; sH, sW, dH, dW the op's strides and dilations, pT, pL its leading
 * pads). Canonical order (../ops/conv.ts ConvTranspose, gather form) per output element:
 * acc = +0; for c in m's group increasing, kernel position (kh, kw) row-major: if an input
 * (i, j) has i*sH + kh*dH - pT = oh and j*sW + kw*dW - pL = ow, acc = f32(acc + f32(x * w));
 * then y = f32(acc + b[m]). The kernel gathers from x scattered into a +0 plane (row
 * i*sH + (KH-1)*dH - pT, column likewise), reading tap (kh, kw) of output (oh, ow) at
 * (oh + (KH-1-kh)*dH, ow + (KW-1-kw)*dW): that is x[i, j] exactly when the condition holds
 * and +0 otherwise, in the canonical (c, kh, kw) order; the +0 terms change no bit with
 * finite weights (checked), as for Conv. Returns false (y untouched) when it cannot take the job.
 */
export function convTranspose2dF32Wasm(
  x: Float32Array, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, g: Conv2dGeometry,
): boolean {
  if (!validSizes(g)) return false;
  const { C, M, group, KH, KW, OH, OW } = g;
  const Cg = C / group;
  const Mg = M / group;
  const kSize = KH * KW;
  const Hp = OH + (KH - 1) * g.dH;
  const Wp = OW + (KW - 1) * g.dW;
  const offH = (KH - 1) * g.dH - g.pT;
  const offW = (KW - 1) * g.dW - g.pL;
  // channel m = gi*Mg + ml reads w[gi*Cg + c, ml, kh, kw] at q = (c*KH + kh)*KW + kw
  return run(x, w, [Cg, kSize, Cg * Mg * kSize, kSize, Mg * kSize], bias, y, g, C * Hp * Wp + 16, 2, 1, 1, offH, offW, Hp, Wp, g.sH, g.sW);
}

function validSizes(g: Conv2dGeometry): boolean {
  const { N, C, H, W, M, group, KH, KW, OH, OW } = g;
  if (N < 1 || M < 1 || C < 1 || group < 1 || OH < 1 || OW < 1 || KH < 1 || KW < 1 || H < 1 || W < 1) return false;
  return C % group === 0 && M % group === 0;
}

/**
 * Lays out and runs one conv2d_f32 call. wl = [cCount, kSize, gStride, mStride, cStride]
 * locates weight q = c*kSize + kp (c < cCount) of channel m = gi*Mg + ml in w at
 * gi*gStride + ml*mStride + c*cStride + kp (see pack_w in conv.wat).
 */
function run(
  x: Float32Array, w: Float32Array, wl: [number, number, number, number, number],
  bias: Float32Array | undefined, y: Float32Array, g: Conv2dGeometry, wsn: number,
  mode: number, sH: number, sW: number, pT: number, pL: number, Hp: number, Wp: number, uH: number, uW: number,
): boolean {
  const { N, C, H, W, M, group, KH, KW, OH, OW } = g;
  const Cg = C / group;
  const Mg = M / group;
  const Kd = Cg * KH * KW;
  const Mb = (Mg + 3) >> 2;
  if (wsn > MAX_COL) return false;
  // images are independent: pieces of whole images of about PIECE_BYTES, the weights packed once
  const xi = C * H * W;
  const yi = M * OH * OW;
  const step = Math.max(1, Math.min(N, Math.floor(PIECE_BYTES / (4 * (xi + yi)))));
  const wn = group * Mb * Kd * 4;
  // regions; the +16s keep splat loads and vector reads past a workspace row inside memory
  const xAt = SCRATCH_BASE;
  const wAt = xAt + align16(step * xi * 4) + 16;
  const bAt = wAt + align16(wn * 4) + 16;
  const tabAt = bAt + align16(M * 4) + 16;
  const wsAt = tabAt + align16(Kd * 4);
  // W as given, before interleaving, sits in the workspace: pack_w is done with it before
  // conv2d_f32 writes the workspace (which it always fills before reading)
  const rawAt = wsAt;
  const yAt = wsAt + Math.max(align16(wsn * 4) + 64, align16(w.length * 4)); // 16-pixel blocks read up to 60 bytes past a row
  const total = yAt + align16(step * yi * 4) + 16;
  if (total > 0x7fff0000) return false;
  const e = mod.memory(total);
  if (!e) return false;
  const v = new Float32Array(e.mem.buffer);
  // weights interleaved by blocks of 4 channels (16 bytes per q), absent channels +0;
  // pack_w also reports a weight that is not finite (a +0 tap would add 0 * Inf)
  v.set(w, rawAt >> 2);
  if (e.pack_w(rawAt, wAt, group, Mg, wl[0], wl[1], wl[2], wl[3], wl[4]) !== 0) return false;
  if (bias) v.set(bias.subarray(0, M), bAt >> 2);
  for (let n = 0; n < N; n += step) {
    const k = Math.min(step, N - n);
    v.set(x.subarray(n * xi, (n + k) * xi), xAt >> 2);
    e.conv2d_f32(xAt, wAt, bAt, bias ? 1 : 0, wsAt, tabAt, yAt, k, C, H, W, M, group, KH, KW, OH, OW, sH, sW, g.dH, g.dW, pT, pL,
      mode, Hp, Wp, uH, uW);
    y.set(v.subarray(yAt >> 2, (yAt >> 2) + k * yi), n * yi);
  }
  return true;
}
