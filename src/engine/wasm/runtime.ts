/**
 * Loading the WebAssembly kernel modules (assembled from the .wat sources in this folder
 * by scripts/build-wasm.mjs). Browser-safe: only WebAssembly and typed arrays.
 *
 * Each module is compiled lazily on first use; when WebAssembly (or its SIMD proposal)
 * is unavailable, `memory()` returns undefined and callers use their plain TypeScript
 * kernel, which gives the same bits. Jobs share one instance whose memory grows to the
 * largest job seen; jobs above `sharedBytes` get a throw-away instance (wasm memory never
 * shrinks), and jobs above `maxBytes` are declined.
 */
export interface KernelExports {
  mem: WebAssembly.Memory;
}

export class WasmKernelModule<E extends KernelExports> {
  private module: WebAssembly.Module | null | undefined;
  private shared: E | undefined;

  constructor(
    private readonly bytes: () => Uint8Array,
    private readonly sharedBytes = 64 * 1024 * 1024,
    private readonly maxBytes = 1024 * 1024 * 1024,
  ) {}

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

  /**
   * Exports of an instance whose memory holds at least `total` bytes, or undefined
   * (no WebAssembly, job too large, or the memory cannot grow).
   */
  memory(total: number): E | undefined {
    if (total > this.maxBytes) return undefined;
    const mod = this.compile();
    if (!mod) return undefined;
    const fresh = total > this.sharedBytes;
    let inst = fresh ? undefined : this.shared;
    if (!inst) {
      inst = new WebAssembly.Instance(mod, {}).exports as unknown as E;
      if (!fresh) this.shared = inst;
    }
    const have = inst.mem.buffer.byteLength;
    if (total > have) {
      try {
        inst.mem.grow(Math.ceil((total - have) / 65536));
      } catch {
        return undefined; // out of memory for wasm: the JS kernel computes the same bits
      }
    }
    return inst;
  }
}

/** `n` rounded up to a multiple of 16 (v128 alignment of the regions callers lay out). */
export const align16 = (n: number): number => (n + 15) & ~15;
