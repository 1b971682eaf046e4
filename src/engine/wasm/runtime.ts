/**
 * Loading the WebAssembly kernel modules (assembled from the .wat sources in this folder
 * by scripts/build-wasm.mjs). Browser-safe: only WebAssembly and typed arrays.
 *
 * Each module is compiled lazily on first use; when WebAssembly (or its SIMD proposal)
 * is unavailable, `memory()` returns undefined and callers use their plain TypeScript
 * kernel, which gives the same bits.
 *
 * Scratch memory. Kernel jobs are synchronous and never nest (a wrapper copies its
 * operands in, calls the module, copies the results out and keeps nothing there), so
 * one scratch region at a time is enough. Modules built with `(import "env" "mem" (memory 1))`
 * (elementwise, pool, reduce, conv, math; `shared: true` here) are all instantiated
 * against ONE process-wide WebAssembly.Memory, which grows to the largest job of any of
 * them instead of each module keeping its own memory grown to its own largest job (wasm
 * memory never shrinks). Bytes [0, SCRATCH_BASE) of that memory belong to math.wat
 * (its erf table, written once by its start function, and two fixed 16-byte slots), so
 * every job lays its data out from SCRATCH_BASE. Modules with their own memory
 * (gemm.wat, whose packed-weight cache stays resident between calls, and which
 * src/platform/pool-worker.mjs instantiates with no imports) get one instance each.
 * Either way: jobs above `sharedBytes` get a throw-away instance with a memory of their
 * own, and jobs above `maxBytes` are declined. Growing a memory detaches its old
 * ArrayBuffer, so callers make their typed-array views after `memory()` returns.
 *
 * Wrappers also cut big jobs into pieces of about PIECE_BYTES (below), so the scratch
 * memory holds a piece of a tensor, not whole tensors: peak memory (issue 7) drops by
 * the tensor sizes, and the pieces stay in cache.
 */
export interface KernelExports {
  mem: WebAssembly.Memory;
}

/** Bytes at the bottom of the shared scratch memory reserved for math.wat's tables and slots; jobs start here. */
export const SCRATCH_BASE = 1024;

/**
 * Scratch budget of one kernel call. A job made of independent pieces (elements, rows,
 * planes, images: each output computed from its own inputs only, in the same order
 * whatever else is in the call) is run as several calls of about this many bytes each,
 * so the scratch memory stays small instead of holding whole tensors. Results are the
 * same bits: no output's arithmetic depends on which call computes it.
 */
export const PIECE_BYTES = 128 * 1024;

const PAGE = 65536;

export interface WasmKernelOptions {
  /** The module imports its memory as env.mem and shares the process-wide scratch memory. */
  shared?: boolean;
  /** Largest job (bytes of memory) served by the long-lived instance; bigger ones get a throw-away instance. */
  sharedBytes?: number;
  /** Largest job accepted at all. */
  maxBytes?: number;
}

/** The process-wide scratch memory of the `shared` modules (created on first use). */
let scratch: WebAssembly.Memory | undefined;

/** Current size of the shared scratch memory in bytes (0 before first use); for tests and benchmarks. */
export function sharedScratchBytes(): number {
  return scratch ? scratch.buffer.byteLength : 0;
}

/** `memory` grown to hold at least `total` bytes; false when it cannot grow. */
function ensure(memory: WebAssembly.Memory, total: number): boolean {
  const have = memory.buffer.byteLength;
  if (total <= have) return true;
  try {
    memory.grow(Math.ceil((total - have) / PAGE));
    return true;
  } catch {
    return false; // out of memory for wasm: the JS kernel computes the same bits
  }
}

export class WasmKernelModule<E extends KernelExports> {
  private module: WebAssembly.Module | null | undefined;
  private instance: E | undefined;
  private readonly shared: boolean;
  private readonly sharedBytes: number;
  private readonly maxBytes: number;

  constructor(private readonly bytes: () => Uint8Array, options: WasmKernelOptions = {}) {
    this.shared = options.shared ?? false;
    this.sharedBytes = options.sharedBytes ?? 64 * 1024 * 1024;
    this.maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
  }

  /** True when the module compiled (WebAssembly with SIMD is present). */
  get available(): boolean {
    return this.compile() !== null;
  }

  private compile(): WebAssembly.Module | null {
    if (this.module === undefined) {
      try {
        this.module = typeof WebAssembly === 'object' ? new WebAssembly.Module(this.bytes() as BufferSource) : null;
      } catch {
        this.module = null; // no WebAssembly SIMD here
      }
    }
    return this.module;
  }

  /** A new instance; `memory` is its env.mem for a shared module (ignored otherwise). */
  private instantiate(mod: WebAssembly.Module, memory: WebAssembly.Memory | undefined): E {
    const imports = this.shared ? { env: { mem: memory } } : {};
    return new WebAssembly.Instance(mod, imports as WebAssembly.Imports).exports as unknown as E;
  }

  /**
   * Exports of an instance whose memory holds at least `total` bytes (for a shared module:
   * counted from byte 0, so including SCRATCH_BASE), or undefined (no WebAssembly, job
   * too large, or the memory cannot grow).
   */
  memory(total: number): E | undefined {
    if (total > this.maxBytes) return undefined;
    const mod = this.compile();
    if (!mod) return undefined;
    if (total > this.sharedBytes) {
      // throw-away instance: its memory goes when the caller drops the exports
      try {
        const own = this.shared ? new WebAssembly.Memory({ initial: Math.ceil(total / PAGE) }) : undefined;
        const inst = this.instantiate(mod, own);
        return ensure(inst.mem, total) ? inst : undefined;
      } catch {
        return undefined;
      }
    }
    if (!this.instance) {
      if (this.shared) scratch ??= new WebAssembly.Memory({ initial: 1 });
      this.instance = this.instantiate(mod, scratch);
    }
    return ensure(this.instance.mem, total) ? this.instance : undefined;
  }
}

/** `n` rounded up to a multiple of 16 (v128 alignment of the regions callers lay out). */
export const align16 = (n: number): number => (n + 15) & ~15;
