/**
 * Callers of the float32 GEMM WebAssembly module (gemm.wat) beyond the one-shot
 * `gemmF32Wasm` of ../ops/matmul.ts: constant weights packed once and kept resident in
 * wasm memory, and batched products in one call. Every function returns false (nothing
 * written) when WebAssembly SIMD is unavailable or the job is too large; the caller then
 * runs its plain path, which gives the same bits. Browser-safe.
 *
 * Arithmetic: every product goes through gemm.wat's $run, the same 4x8 / 1x8 tiles as
 * `gemm`: per output element acc = +0; for k = 0 .. K-1: acc = f32(acc + f32(A[i,k]*B[k,j]))
 * (f32x4.mul then f32x4.add, never fused). Packing B into panels and moving data are
 * bit-exact copies (same-type typed-array copies, i32 moves in wasm).
 */
import { wasmBytes } from './gemm.wasm.js';
import { WasmKernelModule, align16, type KernelExports } from './runtime.js';

export interface GemmExports extends KernelExports {
  gemm: (a: number, b: number, c: number, M: number, K: number, N: number, ws: number) => void;
  pack_b: (b: number, K: number, N: number, dst: number) => void;
  gemm_packed: (a: number, bp: number, c: number, M: number, K: number, N: number, wa: number) => void;
  gemm_batch: (tab: number, count: number, M: number, K: number, N: number, ws: number) => void;
  gemm_scale: (c: number, M: number, N: number, alpha: number, hasC: number, cin: number, cs0: number, cs1: number, beta: number) => void;
}

/**
 * Gemm's scaling of the product, done in wasm memory before C is copied out (gemm_scale
 * in gemm.wat), per element: without `c`, y = f32(alpha * acc); with `c` (Gemm's input
 * C, element [i, j] at c[i*cs0 + j*cs1], cs1 = 0 or 1), y = f32(f32(alpha * acc) +
 * f32(beta * c[..])). alpha and beta are rounded to float32 first (Math.fround), as
 * the Gemm kernel does.
 */
export interface GemmScale {
  readonly alpha: number;
  readonly beta: number;
  readonly c: Float32Array | undefined;
  readonly cs0: number;
  readonly cs1: number;
}

/** Bytes of wasm scratch `applyScale` needs for Gemm's C. */
const scaleBytes = (s: GemmScale | undefined): number => (s?.c ? align16(s.c.length * 4) : 0);

/** Runs gemm_scale on the M x N product at cPtr, Gemm's C copied to cinPtr. */
function applyScale(w: GemmExports, cPtr: number, M: number, N: number, s: GemmScale | undefined, cinPtr: number): void {
  if (!s) return;
  if (s.c) new Float32Array(w.mem.buffer).set(s.c, cinPtr >> 2);
  w.gemm_scale(cPtr, M, N, s.alpha, s.c ? 1 : 0, cinPtr, s.cs0, s.cs1, s.beta);
}

/** The module for one-shot jobs (one shared instance, big jobs in throw-away instances). */
export const gemmModule = new WasmKernelModule<GemmExports>(wasmBytes);

// ---------------------------------------------------------------------------
// Constant tensors
// ---------------------------------------------------------------------------

/**
 * Float32 data the session knows to be constant for its lifetime: initializers, which
 * the engine never writes (kernels only read their inputs). Only arrays marked here are
 * cached by identity. ASSUMPTION: whoever marks an array promises that nobody mutates it
 * afterwards (a caller editing an initializer's data in place after creating the session
 * would get results computed from the old values). Fed tensors are never marked, so a
 * caller may reuse and refill an input array between runs.
 */
const constants = new WeakSet<Float32Array>();

/** Marks float32 data as constant for the rest of its life (see `constants`). Other types are ignored. */
export function markConstant(data: unknown): void {
  if (data instanceof Float32Array) constants.add(data);
}

/** True when `data` was marked constant. */
export function isConstant(data: unknown): data is Float32Array {
  return data instanceof Float32Array && constants.has(data);
}

// ---------------------------------------------------------------------------
// Packed-weight cache
// ---------------------------------------------------------------------------

/** One packed B: panels of 8 columns (gemm.wat $pack_b layout), K*Np*4 bytes at ptr. */
interface Packed {
  /** The constant's data, weakly: a dropped session's weights can be collected (their panels are then evicted first). */
  readonly ref: WeakRef<Float32Array>;
  readonly off: number;
  readonly K: number;
  readonly N: number;
  /** data holds B transposed ([N, K] row-major at off). */
  readonly trans: boolean;
  readonly bytes: number;
  ptr: number;
  used: number;
}

/**
 * Packed constant B matrices, resident at the bottom of one dedicated instance's
 * memory ([0, top): packed panels back to back); each job's A, C and workspace go above
 * `top` and are transient. Least recently used entries are evicted when the packed bytes
 * would pass `budget`, and the survivors are moved down (compacted). The instance's
 * memory only grows, to at most budget + maxScratch + the staging of one B; jobs whose
 * transient part passes `maxScratch` and matrices whose packed form passes `budget` are
 * declined (the caller packs per call as before).
 */
export class PackedWeights {
  private readonly mod: WasmKernelModule<GemmExports>;
  private readonly byData = new WeakMap<Float32Array, Packed[]>();
  /** Resident entries in address order. */
  private entries: Packed[] = [];
  private top = 0;
  private clock = 0;

  constructor(
    readonly budget = 256 * 1024 * 1024,
    readonly maxScratch = 64 * 1024 * 1024,
  ) {
    // sharedBytes = maxBytes: always the same instance, so the packed panels persist
    this.mod = new WasmKernelModule<GemmExports>(wasmBytes, 1024 * 1024 * 1024, 1024 * 1024 * 1024);
  }

  /** Packed bytes resident. */
  get residentBytes(): number {
    return this.top;
  }

  /** Number of resident matrices. */
  get size(): number {
    return this.entries.length;
  }

  /** Drops every entry (the memory stays allocated for reuse). */
  clear(): void {
    for (const e of this.entries) {
      const d = e.ref.deref();
      if (d) this.byData.delete(d);
    }
    this.entries = [];
    this.top = 0;
  }

  /**
   * C[cOff ..] (M x N row-major, overwritten) = A·B, B the constant at B[bOff ..]:
   * [K, N] row-major, or with `trans` [N, K] row-major (B is its transpose). Packs B on
   * first use. With `scale`, Gemm's scaling is applied before the copy-out. Returns
   * false (nothing written) when declined.
   */
  gemm(
    A: Float32Array, aOff: number,
    B: Float32Array, bOff: number, trans: boolean,
    C: Float32Array, cOff: number,
    M: number, K: number, N: number,
    scale?: GemmScale,
  ): boolean {
    const Np = (N + 7) & ~7;
    const bytes = K * Np * 4; // a multiple of 32: entries stay 16-byte aligned
    const aBytes = align16(M * K * 4);
    const cBytes = align16(M * N * 4);
    const scratch = aBytes + cBytes + 16 * K + 128 + scaleBytes(scale);
    if (bytes > this.budget || scratch > this.maxScratch) return false;
    let e = this.byData.get(B)?.find((p) => p.off === bOff && p.K === K && p.N === N && p.trans === trans);
    let w: GemmExports | undefined;
    if (!e) {
      this.makeRoom(bytes);
      const ptr = this.top;
      const stage = ptr + bytes; // raw B, row-major [K, N], packed from here into [ptr, ptr + bytes)
      w = this.mod.memory(Math.max(stage + align16(K * N * 4), stage + scratch));
      if (!w) return false;
      const u = new Uint32Array(w.mem.buffer);
      const src = new Uint32Array(B.buffer, B.byteOffset, B.length);
      if (!trans) u.set(src.subarray(bOff, bOff + K * N), stage >> 2);
      else transposeInto(src, bOff, N, K, u, stage >> 2);
      w.pack_b(stage, K, N, ptr);
      e = { ref: new WeakRef(B), off: bOff, K, N, trans, bytes, ptr, used: 0 };
      this.entries.push(e);
      this.top = ptr + bytes;
      const list = this.byData.get(B);
      if (list) list.push(e);
      else this.byData.set(B, [e]);
    } else {
      w = this.mod.memory(this.top + scratch);
      if (!w) return false;
    }
    e.used = ++this.clock;
    const aPtr = this.top;
    const cPtr = aPtr + aBytes;
    const v = new Float32Array(w.mem.buffer);
    v.set(A.subarray(aOff, aOff + M * K), aPtr >> 2);
    const wa = cPtr + cBytes;
    w.gemm_packed(aPtr, e.ptr, cPtr, M, K, N, wa);
    applyScale(w, cPtr, M, N, scale, wa + 16 * K + 128);
    C.set(v.subarray(cPtr >> 2, (cPtr >> 2) + M * N), cOff);
    return true;
  }

  /**
   * Makes room for `bytes` more: when they do not fit the budget, evicts least recently
   * used entries until the rest plus `bytes` fit in half the budget, then compacts. The
   * hysteresis bounds the copying: each compaction moves at most budget/2 bytes and is
   * followed by at least budget/2 bytes of plain appends, so a model whose weights
   * exceed the budget (every call a miss, as with any LRU on a cyclic pattern) costs at
   * most about one extra copy per packed byte, not a compaction per call.
   */
  private makeRoom(bytes: number): void {
    if (this.top + bytes <= this.budget) return;
    // collected constants first, then least recently used
    const age = (e: Packed): number => (e.ref.deref() ? e.used : -1);
    const byAge = [...this.entries].sort((x, y) => age(x) - age(y));
    let total = this.top;
    const gone = new Set<Packed>();
    for (const e of byAge) {
      if (total + bytes <= this.budget / 2) break;
      gone.add(e);
      total -= e.bytes;
    }
    const w = this.mod.memory(0);
    if (!w) {
      this.clear(); // no WebAssembly: nothing can be resident
      return;
    }
    const keep = this.entries.filter((e) => !gone.has(e));
    for (const e of gone) {
      const d = e.ref.deref();
      const list = d && this.byData.get(d)?.filter((p) => p !== e);
      if (!d) continue;
      if (list && list.length) this.byData.set(d, list);
      else this.byData.delete(d);
    }
    // move the survivors down, in address order (each destination is at or below its source)
    let at = 0;
    const u8 = new Uint8Array(w.mem.buffer);
    for (const e of keep) {
      if (e.ptr !== at) u8.copyWithin(at, e.ptr, e.ptr + e.bytes);
      e.ptr = at;
      at += e.bytes;
    }
    this.entries = keep;
    this.top = at;
  }
}

/** dst[d0 + k*N + n] = src[s0 + n*K + k] (an [N, K] block transposed), bit patterns kept. */
function transposeInto(src: Uint32Array, s0: number, N: number, K: number, dst: Uint32Array, d0: number): void {
  const T = 32;
  for (let n0 = 0; n0 < N; n0 += T) {
    const n1 = Math.min(N, n0 + T);
    for (let k0 = 0; k0 < K; k0 += T) {
      const k1 = Math.min(K, k0 + T);
      for (let n = n0; n < n1; n++) {
        const s = s0 + n * K;
        for (let k = k0; k < k1; k++) dst[d0 + k * N + n] = src[s + k]!;
      }
    }
  }
}

/**
 * One-shot product in the shared instance: copies A and B (B transposed on the way in
 * when `trans`: B then holds [N, K] at bOff) into wasm memory, packs B, runs, applies
 * `scale` if given, and writes C[cOff .. cOff + M*N) in one copy (C's previous contents
 * are ignored). Returns false (nothing written) when declined.
 */
export function gemmF32WasmOnce(
  A: Float32Array, aOff: number,
  B: Float32Array, bOff: number, trans: boolean,
  C: Float32Array, cOff: number,
  M: number, K: number, N: number,
  scale?: GemmScale,
): boolean {
  const Np = (N + 7) & ~7;
  const bPtr = align16(M * K * 4);
  const cPtr = bPtr + align16(K * N * 4);
  const wsPtr = cPtr + align16(M * N * 4);
  const cinPtr = wsPtr + K * Np * 4 + 16 * K + 128;
  const w = gemmModule.memory(cinPtr + scaleBytes(scale));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(A.subarray(aOff, aOff + M * K), 0);
  if (!trans) v.set(B.subarray(bOff, bOff + K * N), bPtr >> 2);
  else transposeInto(new Uint32Array(B.buffer, B.byteOffset, B.length), bOff, N, K, new Uint32Array(w.mem.buffer), bPtr >> 2);
  w.pack_b(bPtr, K, N, wsPtr);
  w.gemm_packed(0, wsPtr, cPtr, M, K, N, wsPtr + K * Np * 4);
  applyScale(w, cPtr, M, N, scale, cinPtr);
  C.set(v.subarray(cPtr >> 2, (cPtr >> 2) + M * N), cOff);
  return true;
}

/** The engine's packed-weight cache (256 MiB of packed panels at most). */
export const packedWeights = new PackedWeights();

// ---------------------------------------------------------------------------
// Batched products in one call
// ---------------------------------------------------------------------------

/** The shared instance's size limit (WasmKernelModule's default sharedBytes). */
const BATCH_MAX_BYTES = 64 * 1024 * 1024;

/**
 * For t < count: C[t*M*N ..] (M x N, overwritten) = A[aOffs[t] ..] (M x K) · B[bOffs[t] ..]
 * (K x N). A and B are copied into wasm memory once each (the spans the offsets cover),
 * the products run in one call (gemm_batch: B repacked only when it changes from one
 * entry to the next), and C comes back in one copy.
 */
export function gemmF32BatchWasm(
  A: Float32Array, aOffs: ArrayLike<number>,
  B: Float32Array, bOffs: ArrayLike<number>,
  C: Float32Array,
  count: number, M: number, K: number, N: number,
): boolean {
  if (count === 0) return true;
  let aLo = Infinity, aHi = 0, bLo = Infinity, bHi = 0;
  for (let t = 0; t < count; t++) {
    aLo = Math.min(aLo, aOffs[t]!);
    aHi = Math.max(aHi, aOffs[t]! + M * K);
    bLo = Math.min(bLo, bOffs[t]!);
    bHi = Math.max(bHi, bOffs[t]! + K * N);
  }
  const Np = (N + 7) & ~7;
  const bPtr = align16((aHi - aLo) * 4);
  const cPtr = bPtr + align16((bHi - bLo) * 4);
  const tab = cPtr + align16(count * M * N * 4);
  const ws = tab + align16(count * 12);
  const total = ws + K * Np * 4 + 16 * K + 128;
  // above the shared instance's size a throw-away instance per call would cost more than
  // the per-batch calls (which each fit the shared instance) save
  if (total > BATCH_MAX_BYTES) return false;
  const w = gemmModule.memory(total);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  v.set(A.subarray(aLo, aHi), 0);
  v.set(B.subarray(bLo, bHi), bPtr >> 2);
  const ti = new Int32Array(w.mem.buffer, tab, count * 3);
  for (let t = 0; t < count; t++) {
    ti[3 * t] = (aOffs[t]! - aLo) * 4;
    ti[3 * t + 1] = bPtr + (bOffs[t]! - bLo) * 4;
    ti[3 * t + 2] = cPtr + t * M * N * 4;
  }
  w.gemm_batch(tab, count, M, K, N, ws);
  C.set(v.subarray(cPtr >> 2, (cPtr >> 2) + count * M * N));
  return true;
}
