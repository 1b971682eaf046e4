/**
 * WebAssembly SIMD 2-D MaxPool on float32 (pool.wat). Returns false when WebAssembly SIMD
 * is unavailable or the job is too large; the caller then runs its plain TypeScript loop
 * (pool2d in ../ops/pool.ts, the reference), which gives the same bits.
 */
import { wasmBytes } from './pool.wasm.js';
import { WasmKernelModule, align16, type KernelExports } from './runtime.js';

interface PoolExports extends KernelExports {
  maxpool2d_f32: (
    x: number, y: number, planes: number, H: number, W: number, OH: number, OW: number,
    kH: number, kW: number, sH: number, sW: number, dH: number, dW: number, pT: number, pL: number,
    owA: number, owB: number,
  ) => void;
}

const mod = new WasmKernelModule<PoolExports>(wasmBytes);

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
  const xn = planes * H * W;
  const yn = planes * OH * OW;
  if (yn === 0) return true;
  // interior columns: 0 <= ow*sW - pL and ow*sW - pL + (kW-1)*dW <= W - 1
  const owA = Math.max(0, Math.min(OW, Math.ceil(pL / sW)));
  const span = W - 1 - (kW - 1) * dW + pL;
  const owB = span < 0 ? owA : Math.max(owA, Math.min(OW, Math.floor(span / sW) + 1));
  const xBytes = align16(xn * 4) + 32; // stride-2 gathers read one value past a row
  const yBytes = align16(yn * 4);
  const w = mod.memory(xBytes + yBytes);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(x.subarray(0, xn), 0);
  w.maxpool2d_f32(0, xBytes, planes, H, W, OH, OW, kH, kW, sH, sW, dH, dW, pT, pL, owA, owB);
  y.set(v.subarray(xBytes >> 2, (xBytes >> 2) + yn));
  return true;
}
