/**
 * WebAssembly SIMD elementwise kernels (elementwise.wat). Each returns false when
 * WebAssembly SIMD is unavailable or the job is too large; the caller then runs its
 * plain TypeScript loop (the reference), which gives the same bits.
 */
import { wasmBytes } from './elementwise.wasm.js';
import { WasmKernelModule, align16, type KernelExports } from './runtime.js';

interface ElementwiseExports extends KernelExports {
  relu_f32: (x: number, y: number, n: number) => void;
  add_f32: BinaryFn;
  sub_f32: BinaryFn;
  mul_f32: BinaryFn;
  div_f32: BinaryFn;
}

type BinaryFn = (a: number, ra: number, ea: number, b: number, rb: number, eb: number, o: number, m: number, n: number) => void;

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

/** The float32 binary operations with a SIMD kernel. */
export type BinaryOpF32 = 'add' | 'sub' | 'mul' | 'div';

/**
 * o[i*n + t] = a[i*ra + t*ea] op b[i*rb + t*eb] for i < m, t < n, with ea, eb in {0, 1}:
 * one IEEE float32 operation per element (f32x4.add/sub/mul/div), the value
 * Math.fround(a op b) that the JS loops store. Only NaN results may differ from the JS
 * loop, in payload and sign (never in NaN-ness). `o` must hold at least m*n values;
 * `a` and `b` hold every element the layout reads. Returns false (nothing written) when
 * WebAssembly SIMD is unavailable or the job is too large.
 */
export function binaryF32Wasm(
  op: BinaryOpF32,
  a: Float32Array,
  ra: number,
  ea: number,
  b: Float32Array,
  rb: number,
  eb: number,
  o: Float32Array,
  m: number,
  n: number,
): boolean {
  const total = m * n;
  // every region is followed by 16 spare bytes: the last vector of a row reads/writes up to 12 bytes past it
  const aBytes = align16(a.length * 4) + 16;
  const bBytes = align16(b.length * 4) + 16;
  const oBytes = align16(total * 4) + 16;
  const w = mod.memory(aBytes + bBytes + oBytes);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(a, 0);
  v.set(b, aBytes >> 2);
  const oAt = aBytes + bBytes;
  const fn = op === 'add' ? w.add_f32 : op === 'sub' ? w.sub_f32 : op === 'mul' ? w.mul_f32 : w.div_f32;
  fn(0, ra, ea, aBytes, rb, eb, oAt, m, n);
  o.set(v.subarray(oAt >> 2, (oAt >> 2) + total));
  return true;
}
