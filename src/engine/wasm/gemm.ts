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
import { PIECE_BYTES, WasmKernelModule, align16, type KernelExports } from './runtime.js';

export interface GemmExports extends KernelExports {
  gemm: (a: number, b: number, c: number, M: number, K: number, N: number, ws: number) => void;
  pack_b: (b: number, K: number, N: number, dst: number) => void;
  pack_b_rows: (b: number, R: number, N: number, dst: number, K: number) => void;
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

/** Values of Gemm's C that rows i0 .. i0 + r - 1 of the product read (their span from row i0). */
const scaleSpan = (s: GemmScale | undefined, r: number, N: number): number =>
  s?.c ? Math.min(s.c.length, (r - 1) * s.cs0 + (N - 1) * s.cs1 + 1) : 0;

/** Runs gemm_scale on rows i0 .. i0 + M - 1 of the product (M x N at cPtr), their span of Gemm's C copied to cinPtr. */
function applyScale(w: GemmExports, cPtr: number, i0: number, M: number, N: number, s: GemmScale | undefined, cinPtr: number): void {
  if (!s) return;
  if (s.c) {
    const c0 = i0 * s.cs0;
    new Float32Array(w.mem.buffer).set(s.c.subarray(c0, c0 + scaleSpan(s, M, N)), cinPtr >> 2);
  }
  w.gemm_scale(cPtr, M, N, s.alpha, s.c ? 1 : 0, cinPtr, s.cs0, s.cs1, s.beta);
}

/**
 * Rows of A per call of gemm_packed: the rows of C are independent (each C[i, j] is its
 * own chain over k), so a product runs in blocks of rows whose A and C take about
 * PIECE_BYTES of scratch; a multiple of 4, so the blocks use the very tiles of a single
 * call ($tile_4x8 on blocks of 4 rows, $tile_1x8 on the last M mod 4 rows), and B, whose
 * panels every block of 4 rows sweeps in full anyway, is not read more often.
 */
function pieceRows(M: number, K: number, N: number): number {
  return Math.min(M, Math.max(4, Math.floor(PIECE_BYTES / (4 * (K + N))) & ~3));
}

/** Staging budget for packing a constant B (PackedWeights.gemm). */
const STAGE_BYTES = 2 * PIECE_BYTES;

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
    this.mod = new WasmKernelModule<GemmExports>(wasmBytes, { sharedBytes: 1024 * 1024 * 1024, maxBytes: 1024 * 1024 * 1024 });
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
    const rows = pieceRows(M, K, N);
    const aBytes = align16(rows * K * 4);
    const cBytes = align16(rows * N * 4);
    const scratch = aBytes + cBytes + 16 * K + 128 + align16(scaleSpan(scale, rows, N) * 4);
    if (bytes > this.budget || scratch > this.maxScratch) return false;
    let e = this.byData.get(B)?.find((p) => p.off === bOff && p.K === K && p.N === N && p.trans === trans);
    let w: GemmExports | undefined;
    if (!e) {
      this.makeRoom(bytes);
      const ptr = this.top;
      // B is packed a block of rows at a time (pack_b_rows: the panels come out exactly
      // as from one pack_b) from a staging area above the entry that holds STAGE_BYTES
      // of B instead of all of it
      const stage = ptr + bytes;
      const kr = Math.min(K, Math.max(1, Math.floor(STAGE_BYTES / (4 * N))));
      w = this.mod.memory(Math.max(stage + align16(kr * N * 4), stage + scratch));
      if (!w) return false;
      const u = new Uint32Array(w.mem.buffer);
      const src = new Uint32Array(B.buffer, B.byteOffset, B.length);
      for (let k0 = 0; k0 < K; k0 += kr) {
        const r = Math.min(kr, K - k0);
        // rows k0 .. k0 + r - 1 of B, row-major [r, N]
        if (trans) transposeInto(src, bOff + k0, N, r, u, stage >> 2, K);
        else u.set(src.subarray(bOff + k0 * N, bOff + (k0 + r) * N), stage >> 2);
        w.pack_b_rows(stage, r, N, ptr + k0 * 32, K);
      }
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
    const wa = cPtr + cBytes;
    const v = new Float32Array(w.mem.buffer);
    for (let i = 0; i < M; i += rows) {
      const r = Math.min(rows, M - i);
      v.set(A.subarray(aOff + i * K, aOff + (i + r) * K), aPtr >> 2);
      w.gemm_packed(aPtr, e.ptr, cPtr, r, K, N, wa);
      applyScale(w, cPtr, i, r, N, scale, wa + 16 * K + 128);
      C.set(v.subarray(cPtr >> 2, (cPtr >> 2) + r * N), cOff + i * N);
    }
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

/**
 * dst[d0 + k*N + n] = src[s0 + n*ld + k] for n < N, k < K (an [N, K] block of an [N, ld]
 * row-major matrix, ld = K by default, transposed), bit patterns kept.
 */
function transposeInto(src: Uint32Array, s0: number, N: number, K: number, dst: Uint32Array, d0: number, ld = K): void {
  const T = 32;
  for (let n0 = 0; n0 < N; n0 += T) {
    const n1 = Math.min(N, n0 + T);
    for (let k0 = 0; k0 < K; k0 += T) {
      const k1 = Math.min(K, k0 + T);
      for (let n = n0; n < n1; n++) {
        const s = s0 + n * ld;
        for (let k = k0; k < k1; k++) dst[d0 + k * N + n] = src[s + k]!;
      }
    }
  }
}

/**
 * One-shot product in the shared instance: copies B (transposed on the way in when
 * `trans`: B then holds [N, K] at bOff) into wasm memory and packs it, then runs blocks
 * of rows of A (pieceRows), applies `scale` if given and writes C[cOff .. cOff + M*N)
 * block by block (C's previous contents are ignored). The blocks reuse the bytes where
 * B was before packing. Returns false (nothing written) when declined.
 */
export function gemmF32WasmOnce(
  A: Float32Array, aOff: number,
  B: Float32Array, bOff: number, trans: boolean,
  C: Float32Array, cOff: number,
  M: number, K: number, N: number,
  scale?: GemmScale,
): boolean {
  const Np = (N + 7) & ~7;
  const rows = pieceRows(M, K, N);
  const packPtr = 0;
  const bPtr = K * Np * 4; // raw B until packed, then the blocks' A, C, workspace and Gemm's C
  const aPtr = bPtr;
  const cPtr = aPtr + align16(rows * K * 4);
  const waPtr = cPtr + align16(rows * N * 4);
  const cinPtr = waPtr + 16 * K + 128;
  const w = gemmModule.memory(Math.max(bPtr + align16(K * N * 4), cinPtr + align16(scaleSpan(scale, rows, N) * 4)));
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  if (!trans) v.set(B.subarray(bOff, bOff + K * N), bPtr >> 2);
  else transposeInto(new Uint32Array(B.buffer, B.byteOffset, B.length), bOff, N, K, new Uint32Array(w.mem.buffer), bPtr >> 2);
  w.pack_b(bPtr, K, N, packPtr);
  for (let i = 0; i < M; i += rows) {
    const r = Math.min(rows, M - i);
    v.set(A.subarray(aOff + i * K, aOff + (i + r) * K), aPtr >> 2);
    w.gemm_packed(aPtr, packPtr, cPtr, r, K, N, waPtr);
    applyScale(w, cPtr, i, r, N, scale, cinPtr);
    C.set(v.subarray(cPtr >> 2, (cPtr >> 2) + r * N), cOff + i * N);
  }
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
 * (K x N). The products run in pieces of consecutive entries of about PIECE_BYTES: per
 * piece, the spans of A and B its offsets cover are copied into wasm memory once each,
 * its products run in one call (gemm_batch: B repacked only when it changes from one
 * entry to the next, and at the start of a piece; packing is a bit-exact copy), and its
 * C comes back in one copy. The memory for the largest piece is secured before anything
 * is written.
 */
export function gemmF32BatchWasm(
  A: Float32Array, aOffs: ArrayLike<number>,
  B: Float32Array, bOffs: ArrayLike<number>,
  C: Float32Array,
  count: number, M: number, K: number, N: number,
): boolean {
  if (count === 0) return true;
  const per = Math.max(1, Math.floor(PIECE_BYTES / (4 * (M * K + K * N + M * N))));
  const Np = (N + 7) & ~7;
  const pieces: { t0: number; t1: number; aLo: number; aHi: number; bLo: number; bHi: number; bPtr: number; cPtr: number; tab: number; ws: number }[] = [];
  let need = 0;
  for (let t0 = 0; t0 < count; t0 += per) {
    const t1 = Math.min(count, t0 + per);
    let aLo = Infinity, aHi = 0, bLo = Infinity, bHi = 0;
    for (let t = t0; t < t1; t++) {
      aLo = Math.min(aLo, aOffs[t]!);
      aHi = Math.max(aHi, aOffs[t]! + M * K);
      bLo = Math.min(bLo, bOffs[t]!);
      bHi = Math.max(bHi, bOffs[t]! + K * N);
    }
    const bPtr = align16((aHi - aLo) * 4);
    const cPtr = bPtr + align16((bHi - bLo) * 4);
    const tab = cPtr + align16((t1 - t0) * M * N * 4);
    const ws = tab + align16((t1 - t0) * 12);
    need = Math.max(need, ws + K * Np * 4 + 16 * K + 128);
    pieces.push({ t0, t1, aLo, aHi, bLo, bHi, bPtr, cPtr, tab, ws });
  }
  // above the shared instance's size a throw-away instance per call would cost more than
  // the per-batch calls (which each fit the shared instance) save
  if (need > BATCH_MAX_BYTES) return false;
  const w = gemmModule.memory(need);
  if (!w) return false;
  const v = new Float32Array(w.mem.buffer);
  const ti = new Int32Array(w.mem.buffer);
  for (const p of pieces) {
    const k = p.t1 - p.t0;
    v.set(A.subarray(p.aLo, p.aHi), 0);
    v.set(B.subarray(p.bLo, p.bHi), p.bPtr >> 2);
    for (let t = p.t0, e = p.tab >> 2; t < p.t1; t++, e += 3) {
      ti[e] = (aOffs[t]! - p.aLo) * 4;
      ti[e + 1] = p.bPtr + (bOffs[t]! - p.bLo) * 4;
      ti[e + 2] = p.cPtr + (t - p.t0) * M * N * 4;
    }
    w.gemm_batch(p.tab, k, M, K, N, p.ws);
    C.set(v.subarray(p.cPtr >> 2, (p.cPtr >> 2) + k * M * N), p.t0 * M * N);
  }
  return true;
}
