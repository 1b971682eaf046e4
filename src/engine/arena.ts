import { allocData, bytesPerElement, viewData, type DType, type TensorData } from '../tensor/dtype.js';

/**
 * The session's memory plan for intermediate tensors: buffers of values freed at
 * their last use go back to a free list (by byte length) and the next kernel output
 * of the same size reuses one, zero-filled as a fresh allocation would be. Across
 * repeated runs of one session the steady state allocates nothing: fewer page faults
 * and garbage collections, and a resident size close to the live peak.
 *
 * Only buffers this arena handed out are ever recycled (never feeds, initializers or
 * kernel-built views of them), and the session gives a buffer back only when no live
 * value still references it (a Reshape/Identity output shares its input's buffer);
 * graph outputs are never given back, so a caller keeps what `run` returns. Runs that
 * let the caller see intermediates (afterNode) do not use the arena. Data only: results
 * are the same bits with or without it.
 */
export class BufferArena {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly owned = new WeakSet<ArrayBuffer>();
  private pooledBytes = 0;

  /** @param maxPooledBytes most bytes kept in free lists (more are left to the garbage collector). */
  constructor(readonly maxPooledBytes = 512 * 1024 * 1024) {}

  /** A zero-filled array of `n` elements of `dtype`, recycled when a buffer of that size is free. */
  take(dtype: DType, n: number): TensorData {
    const bytes = n * bytesPerElement(dtype);
    const buf = this.free.get(bytes)?.pop();
    if (!buf) {
      const fresh = allocData(dtype, n);
      if (bytes > 0) this.owned.add(fresh.buffer as ArrayBuffer);
      return fresh;
    }
    this.pooledBytes -= bytes;
    const data = viewData(dtype, buf, 0, n);
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data.fill(0n);
    else data.fill(0);
    return data;
  }

  /** Returns a buffer no live value references any more; ignored unless this arena made it. */
  give(buf: ArrayBuffer): void {
    if (!this.owned.has(buf) || this.pooledBytes + buf.byteLength > this.maxPooledBytes) return;
    let list = this.free.get(buf.byteLength);
    if (!list) this.free.set(buf.byteLength, (list = []));
    if (list.includes(buf)) return;
    list.push(buf);
    this.pooledBytes += buf.byteLength;
  }

  /** True for a buffer this arena handed out. */
  owns(buf: ArrayBufferLike): boolean {
    return this.owned.has(buf as ArrayBuffer);
  }

  /** Bytes currently held in free lists. */
  get pooled(): number {
    return this.pooledBytes;
  }
}
