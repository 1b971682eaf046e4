/**
 * Node.js trace hasher (issue 7): a traced run's output digests are computed on a worker
 * thread while the next nodes compute, and by both threads together at the end of the
 * run. Installed behind the engine's portable hook `setTraceHasher` (src/engine/trace.ts),
 * like the GEMM pool (./pool.ts).
 *
 * Bit-exactness. A tensor's digest is SHA-256(header || MTH(1 KiB chunks of its canonical
 * data)) (src/tensor/canonical.ts). Its data is cut into pieces of PIECE_CHUNKS = 64 chunks
 * (64 KiB, a power of two); each piece's root is merkleRootOfChunks of that piece's
 * canonical bytes (canonicalData works element by element, and 64 KiB is a whole number
 * of elements of every dtype, so a piece of the canonical data is the canonical data of
 * the piece). RFC 6962 splits n chunks at k, the largest power of two below n; when
 * n > 64, k is a multiple of 64 and k/64 is the largest power of two below ceil(n/64),
 * so the split follows piece boundaries at every level and
 *   MTH(chunks) = merkleRootOfLeafHashes(piece roots)
 * (the same pairing with an odd last one carried up). Tests compare against tensorDigest.
 *
 * Mechanics. `digest(t)` copies t's raw data bytes into a SharedArrayBuffer ring (the
 * engine may reuse t's buffer right after) and publishes one job per piece (SUBMITTED).
 * Pieces are claimed in order through a shared counter (NEXT, compare-and-swap) by the
 * worker and, when a handle is resolved at the end of the run, by the main thread too;
 * a finished piece's root goes into its result slot and its status word is set to its
 * sequence tag. Ring bytes and slots are reused once the oldest job's digest is taken.
 * Small tensors (below `minBytes`: a hand-over costs more than hashing), tensors that do
 * not fit the free ring space, and everything before the worker has started are hashed
 * inline.
 *
 * Liveness. The main thread waits at most `timeoutMs` for a piece the worker claimed;
 * then the hasher is broken: the worker is terminated, and every pending digest (and every
 * later one) is computed on the main thread from the ring copy. Never a hang, never a
 * wrong digest. The worker is unref()'d: it never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';
import { canonicalData, canonicalHeader, tensorDigest, CHUNK_BYTES } from '../tensor/canonical.js';
import { merkleRootOfChunks, merkleRootOfLeafHashes } from '../hash/merkle.js';
import { sha256 } from '../hash/sha256.js';
import { bytesPerElement, viewData, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { getTraceHasher, setTraceHasher, type DigestHandle, type TraceHasher } from '../engine/trace.js';
import './node.js'; // native SHA-256 (in the worker too: it loads this module)

/** Chunks per piece: a power of two (see the proof above). */
export const PIECE_CHUNKS = 64;
const PIECE_BYTES = PIECE_CHUNKS * CHUNK_BYTES;

// Control words (Int32), shared with serveTraceJobs.
const SUBMITTED = 0, NEXT = 1, QUIT = 2, READY = 3, SLEEPING = 4;
/** The worker polls this long for a next piece before it sleeps (a wake-up costs more). */
const SPIN_MS = 0.2;
// Piece slot fields (Float64: exact for any offset/length below 2^53).
const D_OFF = 0, D_LEN = 1, DTYPE = 2, FIELDS = 3;

export const DEFAULT_RING_BYTES = 32 << 20;
export const DEFAULT_MIN_BYTES = 16 << 10;

export interface TraceHasherOptions {
  /** Worker threads (only 0 or 1 today: 0 uninstalls). */
  workers: number;
  /** Bytes of the shared copy ring (default 32 MiB); a tensor that does not fit is hashed inline. */
  ringBytes?: number;
  /** Tensors with fewer data bytes are hashed inline (default 16 KiB). */
  minBytes?: number;
  /** Most ms the main thread waits for a piece the worker claimed before the hasher breaks (default 2000). */
  timeoutMs?: number;
  /** Piece slots, rounded up to a power of two (default 1024): more pending pieces first wait for the oldest. */
  slots?: number;
}

/** The shared memory of a hasher, as the worker receives it. */
interface Shared {
  ctl: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  pieces: SharedArrayBuffer;
  status: SharedArrayBuffer;
  results: SharedArrayBuffer;
  slots: number;
}

/** Views of the shared memory and the one function both threads run on a piece. */
class Pieces {
  readonly ctl: Int32Array;
  readonly fields: Float64Array;
  readonly status: Int32Array;
  readonly results: Uint8Array;
  readonly mask: number;

  constructor(readonly s: Shared) {
    this.ctl = new Int32Array(s.ctl);
    this.fields = new Float64Array(s.pieces);
    this.status = new Int32Array(s.status);
    this.results = new Uint8Array(s.results);
    this.mask = s.slots - 1;
  }

  /** MTH of the piece's canonical chunks (computed from the ring copy). */
  root(seq: number): Uint8Array {
    const f = (seq & this.mask) * FIELDS;
    const dtype = this.fields[f + DTYPE]! as DType;
    const data = viewData(dtype, this.s.ring as unknown as ArrayBuffer, this.fields[f + D_OFF]!, this.fields[f + D_LEN]! / bytesPerElement(dtype));
    return merkleRootOfChunks(canonicalData({ dtype, data } as Tensor), CHUNK_BYTES);
  }

  /** Claims the next unclaimed piece if it is below `limit` (a sequence number, int32 wrap-safe); its number or undefined. */
  claim(limit: number): number | undefined {
    for (;;) {
      const n = Atomics.load(this.ctl, NEXT);
      if (((limit - n) | 0) <= 0) return undefined;
      if (Atomics.compareExchange(this.ctl, NEXT, n, (n + 1) | 0) === n) return n;
    }
  }

  /** Hashes piece `seq` into its result slot and publishes it (status = seq + 1). */
  work(seq: number): void {
    const slot = seq & this.mask;
    let tag = (seq + 1) | 0;
    try {
      this.results.set(this.root(seq), 32 * slot);
    } catch {
      tag = (seq + 2) | 0; // never a valid tag for this slot's current piece: the main thread recomputes
    }
    Atomics.store(this.status, slot, tag);
    Atomics.notify(this.status, slot);
  }
}

interface Job {
  header: Uint8Array;
  /** Sequence numbers [first, first + count) of its pieces. */
  first: number;
  count: number;
  /** Virtual ring offsets [start, end) of its data copy. */
  start: number;
  end: number;
  digest?: Uint8Array;
}

const align8 = (n: number) => (n + 7) & ~7;

export class WorkerTraceHasher implements TraceHasher {
  readonly minBytes: number;
  readonly timeoutMs: number;
  /** Set when the worker missed its deadline or died: every digest is computed inline from then on. */
  broken = false;
  private readonly ringBytes: number;
  private readonly slots: number;
  private readonly p: Pieces;
  private readonly ringU8: Uint8Array;
  private readonly worker: Worker;
  /** Jobs handed over and whose digest was not taken yet, oldest first. */
  private readonly pending: Job[] = [];
  /** Sequence number of the next piece. */
  private seq = 0;
  /** Virtual ring offset where the next copy goes. */
  private head = 0;
  private closed = false;

  constructor(opts: Omit<TraceHasherOptions, 'workers'> = {}) {
    this.ringBytes = align8(opts.ringBytes ?? DEFAULT_RING_BYTES);
    this.minBytes = opts.minBytes ?? DEFAULT_MIN_BYTES;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.slots = 2 ** Math.ceil(Math.log2(Math.max(2, opts.slots ?? 1024)));
    const shared: Shared = {
      ctl: new SharedArrayBuffer(16 * 4),
      ring: new SharedArrayBuffer(this.ringBytes),
      pieces: new SharedArrayBuffer(this.slots * FIELDS * 8),
      status: new SharedArrayBuffer(this.slots * 4),
      results: new SharedArrayBuffer(this.slots * 32),
      slots: this.slots,
    };
    this.p = new Pieces(shared);
    this.ringU8 = new Uint8Array(shared.ring);
    this.worker = new Worker(new URL('./trace-worker.mjs', import.meta.url), { workerData: shared });
    this.worker.unref();
    // a worker that exits is noticed between runs; during a run, by the timeout
    this.worker.on('exit', () => (this.broken = true));
    this.worker.on('error', () => (this.broken = true));
  }

  /** True once the worker has loaded and serves jobs. */
  get ready(): boolean {
    return Atomics.load(this.p.ctl, READY) === 1;
  }

  digest(t: Tensor): DigestHandle {
    const d = t.data;
    const count = Math.ceil(d.byteLength / PIECE_BYTES);
    if (this.closed || this.broken || d.byteLength < this.minBytes || count > this.slots || !this.ready) return inline(t);
    this.takeFinished();
    while (this.pending.length && this.seq + count - this.pending[0]!.first > this.slots) {
      this.take(this.pending[0]!);
      this.takeFinished();
    }
    const at = this.reserve(d.byteLength);
    if (at === undefined) return inline(t);
    const off = at % this.ringBytes;
    this.ringU8.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), off);
    const job: Job = { header: canonicalHeader(t), first: this.seq, count, start: at, end: at + d.byteLength };
    for (let i = 0; i < count; i++) {
      const f = ((this.seq + i) & (this.slots - 1)) * FIELDS;
      this.p.fields[f + D_OFF] = off + i * PIECE_BYTES;
      this.p.fields[f + D_LEN] = Math.min(PIECE_BYTES, d.byteLength - i * PIECE_BYTES);
      this.p.fields[f + DTYPE] = t.dtype;
    }
    this.seq += count;
    this.head = align8(job.end);
    this.pending.push(job);
    Atomics.store(this.p.ctl, SUBMITTED, this.seq | 0);
    // a wake-up is a system call: only when the worker sleeps (it re-reads SUBMITTED after setting SLEEPING)
    if (Atomics.load(this.p.ctl, SLEEPING) === 1) Atomics.notify(this.p.ctl, SUBMITTED);
    return () => {
      const digest = this.take(job);
      this.takeFinished();
      return digest;
    };
  }

  /** Virtual offset of `bytes` of free ring space, contiguous in the ring, or undefined. */
  private reserve(bytes: number): number | undefined {
    if (bytes > this.ringBytes) return undefined;
    // nothing live: start over at the ring's start, whose pages are mapped and likely cached
    if (!this.pending.length) this.head = 0;
    let at = this.head;
    // a copy never wraps around the ring's end: skip to the next lap instead
    if ((at % this.ringBytes) + bytes > this.ringBytes) at += this.ringBytes - (at % this.ringBytes);
    const live = this.pending.length ? this.pending[0]!.start : at;
    return at + bytes - live <= this.ringBytes ? at : undefined;
  }

  private done(seq: number): boolean {
    return Atomics.load(this.p.status, seq & (this.slots - 1)) === ((seq + 1) | 0);
  }

  /** Drops the oldest jobs whose pieces are all finished, taking their digests (no waiting). */
  private takeFinished(): void {
    for (;;) {
      const j = this.pending[0];
      if (!j) return;
      if (!j.digest) {
        for (let i = 0; i < j.count; i++) if (!this.done(j.first + i)) return;
        this.take(j);
      }
      this.pending.shift();
    }
  }

  /** The digest of `job`: helps hash the pieces up to its last one, then waits for the worker's. */
  private take(job: Job): Uint8Array {
    if (job.digest) return job.digest;
    const last = job.first + job.count;
    if (!this.broken) for (let n = this.p.claim(last | 0); n !== undefined; n = this.p.claim(last | 0)) this.p.work(n);
    const roots: Uint8Array[] = [];
    for (let i = 0; i < job.count; i++) {
      const seq = job.first + i;
      const slot = seq & (this.slots - 1);
      const tag = (seq + 1) | 0;
      for (let end = performance.now() + this.timeoutMs; !this.broken && !this.done(seq); ) {
        const now = performance.now();
        const s = Atomics.load(this.p.status, slot);
        if (now >= end) this.break();
        else if (s !== tag && ((s - tag) | 0) > 0) break; // the worker failed on it
        else Atomics.wait(this.p.status, slot, s, end - now);
      }
      // a broken hasher's pieces are recomputed from the ring copy (the worker only reads it)
      roots.push(!this.broken && this.done(seq) ? this.p.results.slice(32 * slot, 32 * slot + 32) : this.p.root(seq));
    }
    job.digest = sha256(job.header, merkleRootOfLeafHashes(roots));
    return job.digest;
  }

  private break(): void {
    this.broken = true;
    void this.worker.terminate();
  }

  /** Stops the worker (idempotent); digests of runs already finished stay valid. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const j of this.pending) this.take(j);
    this.pending.length = 0;
    Atomics.store(this.p.ctl, QUIT, 1);
    Atomics.notify(this.p.ctl, SUBMITTED);
    await this.worker.terminate();
  }
}

const inline = (t: Tensor): DigestHandle => {
  const d = tensorDigest(t);
  return () => d;
};

/** The worker thread's loop (trace-worker.mjs): claims and hashes pieces until QUIT. */
export function serveTraceJobs(s: Shared): void {
  const p = new Pieces(s);
  Atomics.store(p.ctl, READY, 1);
  let idleSince = -1;
  for (;;) {
    if (Atomics.load(p.ctl, QUIT) === 1) return;
    const n = p.claim(Atomics.load(p.ctl, SUBMITTED));
    if (n !== undefined) {
      p.work(n);
      idleSince = -1;
      continue;
    }
    const now = performance.now();
    if (idleSince < 0) idleSince = now;
    if (now - idleSince < SPIN_MS) continue;
    // sleep; SUBMITTED is re-read after SLEEPING is set, so a job published meanwhile is not missed
    Atomics.store(p.ctl, SLEEPING, 1);
    const submitted = Atomics.load(p.ctl, SUBMITTED);
    if (Atomics.load(p.ctl, NEXT) === submitted) Atomics.wait(p.ctl, SUBMITTED, submitted);
    Atomics.store(p.ctl, SLEEPING, 0);
    idleSince = -1;
  }
}

let installed: WorkerTraceHasher | undefined;

/**
 * Starts the trace hashing worker and installs it as the engine's trace hasher (replacing
 * and closing a previous one). `workers: 0` removes it: the synchronous default.
 */
export async function installTraceHasher(opts: TraceHasherOptions): Promise<WorkerTraceHasher | undefined> {
  await closeTraceHasher();
  if (!(opts.workers >= 1)) return undefined;
  installed = new WorkerTraceHasher(opts);
  setTraceHasher(installed);
  return installed;
}

/** Removes and stops the installed trace hasher, if any. */
export async function closeTraceHasher(): Promise<void> {
  const h = installed;
  installed = undefined;
  if (h && getTraceHasher() === h) setTraceHasher(undefined);
  await h?.close();
}

/** Resolves once the worker serves jobs (before that, digests are computed inline), or false after `ms`. */
export async function traceHasherReady(h: WorkerTraceHasher, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; !h.ready && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  return h.ready;
}
