/**
 * WebAssembly SIMD 2-D MaxPool on float32 (pool.wat). Returns false when WebAssembly SIMD
 * is unavailable or the job is too large; the caller then runs its plain TypeScript loop
 * (pool2d in ../ops/pool.ts, the reference), which gives the same bits.
 */
import { wasmBytes } from './pool.wasm.js';
import { PIECE_BYTES, SCRATCH_BASE, WasmKernelModule, align16, type KernelExports } from './runtime.js';

interface PoolExports extends KernelExports {
  maxpool2d_f32: (
    x: number, y: number, planes: number, H: number, W: number, OH: number, OW: number,
    kH: number, kW: number, sH: number, sW: number, dH: number, dW: number, pT: number, pL: number,
    owA: number, owB: number,
  ) => void;
}

const mod = new WasmKernelModule<PoolExports>(wasmBytes, { shared: true });

/** 2-D pooling geometry (per axis: kernel k, stride s, dilation d, leading pad p; output size O). */
export interface MaxPool2dGeometry {
  H: number;
  W: number;
  OH: number;
  OW: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  dH: number;
  dW: number;
  pT: number;
  pL: number;
}

/**
 * y[pl, oh, ow] = max over the window (oh*sH - pT + i*dH, ow*sW - pL + j*dW), i < kH, j < kW,
 * of its in-input positions, in row-major window order with pool.ts's rule (first element,
 * replaced by a strictly greater one, a NaN replaced by the next non-NaN; -Inf for an
 * empty window; NaN results quieted). x holds planes*H*W values, y receives planes*OH*OW.
 */
export function maxPool2dF32Wasm(x: Float32Array, y: Float32Array, planes: number, g: MaxPool2dGeometry): boolean {
  const { H, W, OH, OW, kH, kW, sH, sW, dH, dW, pT, pL } = g;
  const yn = planes * OH * OW;
  if (yn === 0) return true;
  // interior columns: 0 <= ow*sW - pL and ow*sW - pL + (kW-1)*dW <= W - 1
  const owA = Math.max(0, Math.min(OW, Math.ceil(pL / sW)));
  const span = W - 1 - (kW - 1) * dW + pL;
  const owB = span < 0 ? owA : Math.max(owA, Math.min(OW, Math.floor(span / sW) + 1));
  // planes are independent: pieces of whole planes of about PIECE_BYTES
  const xp = H * W;
  const yp = OH * OW;
  const step = Math.max(1, Math.min(planes, Math.floor(PIECE_BYTES / (4 * (xp + yp)))));
  const xAt = SCRATCH_BASE;
  const yAt = xAt + align16(step * xp * 4) + 32; // stride-2 gathers read one value past a row
  const w = mod.memory(yAt + align16(step * yp * 4));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  for (let p = 0; p < planes; p += step) {
    const k = Math.min(step, planes - p);
    v.set(x.subarray(p * xp, (p + k) * xp), xAt >> 2);
    w.maxpool2d_f32(xAt, yAt, k, H, W, OH, OW, kH, kW, sH, sW, dH, dW, pT, pL, owA, owB);
    y.set(v.subarray(yAt >> 2, (yAt >> 2) + k * yp), p * yp);
  }
  return true;
}
