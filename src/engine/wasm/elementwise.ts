/**
 * WebAssembly SIMD elementwise kernels (elementwise.wat). Each returns false when
 * WebAssembly SIMD is unavailable or the job is too large; the caller then runs its
 * plain TypeScript loop (the reference), which gives the same bits.
 */
import { wasmBytes } from './elementwise.wasm.js';
import { PIECE_BYTES, SCRATCH_BASE, WasmKernelModule, align16, type KernelExports } from './runtime.js';

interface ElementwiseExports extends KernelExports {
  relu_f32: (x: number, y: number, n: number) => void;
  add_f32: BinaryFn;
  sub_f32: BinaryFn;
  mul_f32: BinaryFn;
  div_f32: BinaryFn;
}

type BinaryFn = (a: number, ra: number, ea: number, b: number, rb: number, eb: number, o: number, m: number, n: number) => void;

const mod = new WasmKernelModule<ElementwiseExports>(wasmBytes, { shared: true });

/**
 * y[i] = x[i] > 0 || isNaN(x[i]) ? x[i] : +0 for i < x.length (y.length >= x.length).
 * NaNs come out quieted (bit 22 set), sign and payload kept: the bits the JS loop
 * `y[i] = v > 0 || v !== v ? v : 0` stores (see elementwise.wat). Runs in pieces of
 * PIECE_BYTES, in place (relu_f32 loads each vector before it stores the result at the
 * same address).
 */
export function reluF32Wasm(x: Float32Array, y: Float32Array): boolean {
  const n = x.length;
  const step = Math.min(n, PIECE_BYTES >> 2);
  const w = mod.memory(SCRATCH_BASE + align16(step * 4));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  const at = SCRATCH_BASE >> 2;
  for (let i = 0; i < n; i += step) {
    const k = Math.min(step, n - i);
    v.set(x.subarray(i, i + k), at);
    w.relu_f32(SCRATCH_BASE, SCRATCH_BASE, k);
    y.set(v.subarray(at, at + k), i);
  }
  return true;
}

/** The float32 binary operations with a SIMD kernel. */
export type BinaryOpF32 = 'add' | 'sub' | 'mul' | 'div';

/** Outputs per piece of a binary job (two or three regions of this many values). */
const BINARY_PIECE = PIECE_BYTES >> 3;

/**
 * o[i*n + t] = a[i*ra + t*ea] op b[i*rb + t*eb] for i < m, t < n, with ea, eb in {0, 1}:
 * one IEEE float32 operation per element (f32x4.add/sub/mul/div), the value
 * Math.fround(a op b) that the JS loops store. Only NaN results may differ from the JS
 * loop, in payload and sign (never in NaN-ness). `o` must hold at least m*n values;
 * `a` and `b` hold every element the layout reads. Returns false (nothing written) when
 * WebAssembly SIMD is unavailable or the job is too large.
 *
 * Runs in pieces of about BINARY_PIECE outputs: blocks of whole rows, or parts of one
 * row when a row is longer than that; the memory for the largest piece is secured before
 * anything is written.
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
  const wide = n > BINARY_PIECE; // pieces are parts of one row
  const rows = wide ? 1 : Math.max(1, Math.min(m, Math.floor(BINARY_PIECE / Math.max(n, 1))));
  const cols = wide ? BINARY_PIECE : n;
  const lastRows = wide ? 1 : m % rows || rows;
  const lastCols = wide ? n % cols || cols : n;
  const job = { ra, ea, rb, eb };
  const need = Math.max(place(job, rows, cols).end, place(job, lastRows, lastCols).end);
  const w = mod.memory(need);
  if (!w) return false;
  const fn = op === 'add' ? w.add_f32 : op === 'sub' ? w.sub_f32 : op === 'mul' ? w.mul_f32 : w.div_f32;
  const v = new Float32Array(w.mem.buffer);
  for (let i = 0; i < m; i += rows) {
    const r = Math.min(rows, m - i);
    for (let t = 0; t < n; t += cols) {
      const c = Math.min(cols, n - t);
      const p = place(job, r, c);
      const a0 = i * ra + t * ea;
      const b0 = i * rb + t * eb;
      v.set(a.subarray(a0, a0 + p.aLen), p.aAt >> 2);
      v.set(b.subarray(b0, b0 + p.bLen), p.bAt >> 2);
      fn(p.aAt, ra, ea, p.bAt, rb, eb, p.oAt, r, c);
      o.set(v.subarray(p.oAt >> 2, (p.oAt >> 2) + r * c), i * n + t);
    }
  }
  return true;
}

interface BinaryOperands {
  ra: number;
  ea: number;
  rb: number;
  eb: number;
}

/**
 * Scratch layout of a piece of r rows of c outputs (c = n when r > 1): the spans of a and
 * b it reads, their addresses, the output's, and the end of the layout.
 */
function place(j: BinaryOperands, r: number, c: number): { aLen: number; bLen: number; aAt: number; bAt: number; oAt: number; end: number } {
  const aLen = (r - 1) * j.ra + (c - 1) * j.ea + 1;
  const bLen = (r - 1) * j.rb + (c - 1) * j.eb + 1;
  // every region is followed by 16 spare bytes: the last vector of a row reads/writes up to 12 bytes past it
  const aBytes = align16(aLen * 4) + 16;
  const bBytes = align16(bLen * 4) + 16;
  const aAt = SCRATCH_BASE;
  const bAt = aAt + aBytes;
  // The output overwrites an operand laid out exactly like it (element (i, t) at i*c + t)
  // when no row's last vector spills into the next row (one row, or c a multiple of 4):
  // each vector of that operand is loaded before the result is stored at the same address,
  // and a spill would clobber the next row's operand before it is read.
  const rowsOk = r === 1 || (c & 3) === 0;
  const inA = rowsOk && j.ea === 1 && (r === 1 || j.ra === c);
  const inB = !inA && rowsOk && j.eb === 1 && (r === 1 || j.rb === c);
  const oAt = inA ? aAt : inB ? bAt : bAt + bBytes;
  const end = inA || inB ? bAt + bBytes : oAt + align16(r * c * 4) + 16;
  return { aLen, bLen, aAt, bAt, oAt, end };
}
