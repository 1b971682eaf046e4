/**
 * WebAssembly SIMD elementwise kernels (elementwise.wat). Each returns false when
 * WebAssembly SIMD is unavailable or the job is too large; the caller then runs its
 * plain TypeScript loop (the reference), which gives the same bits.
 */
import { wasmBytes } from './elementwise.wasm.js';
import { WasmKernelModule, align16, type KernelExports } from './runtime.js';

interface ElementwiseExports extends KernelExports {
  relu_f32: (x: number, y: number, n: number) => void;
}

const mod = new WasmKernelModule<ElementwiseExports>(wasmBytes);

/**
 * y[i] = x[i] > 0 || isNaN(x[i]) ? x[i] : +0 for i < x.length (y.length >= x.length).
 * NaNs come out quieted (bit 22 set), sign and payload kept: the bits the JS loop
 * `y[i] = v > 0 || v !== v ? v : 0` stores (see elementwise.wat).
 */
export function reluF32Wasm(x: Float32Array, y: Float32Array): boolean {
  const n = x.length;
  const bytes = align16(n * 4);
  const w = mod.memory(2 * bytes);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(x, 0);
  w.relu_f32(0, bytes, n);
  y.set(v.subarray(bytes >> 2, (bytes >> 2) + n));
  return true;
}
