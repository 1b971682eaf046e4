/**
 * Low-latency slice jobs through shared memory (issue 7): the fast path of the session
 * pool (./pool.ts) where the caller may block (Node's main thread; not a browser's).
 * Browser-safe code (SharedArrayBuffer, Atomics and a synchronous message port passed in),
 * but only src/platform/session-pool.ts wires it, for Node worker threads.
 *
 * Why: a postMessage round trip costs a structured clone each way, a timer, promise hops
 * and, above all, waking a sleeping thread (~0.08 ms in a VM, up to a scheduler slice on
 * a busy machine) on both sides. For the bench CNN (0.35 ms per half batch) that was a
 * third of the run. Here the caller writes the slice's feeds into a SharedArrayBuffer,
 * flips one control word and computes its own slice; the worker picks the job up while
 * spinning briefly after its previous one (or wakes from Atomics.wait), writes the
 * outputs into its own SharedArrayBuffer, and flips a word back; the caller spins
 * briefly, then blocks in Atomics.wait with the liveness deadline.
 *
 * Work stealing: the job is claimed with a compare-and-swap on STATE (OFFERED -> RUNNING
 * by the worker, OFFERED -> STOLEN by the caller). A caller that finishes its own slice
 * before the worker even started (asleep, or descheduled on a loaded machine) claims the
 * job and computes it itself: a slow wake-up never costs more than the single-thread
 * time, and the worker, when it wakes, finds nothing to do. Bit-identity is unaffected:
 * either way the slice is the same session run over the same samples.
 *
 * Layout: control words (Int32) below; the feeds of a job at the start of the caller's
 * data buffer and the outputs at the start of the worker's, each as a header
 *   [count, then per tensor: dtype, rank, dims..., byteOffset, elements]
 * followed by the tensors' bytes (8-byte aligned). Feed names and buffers that grew are
 * sent over the synchronous port once (`Layout`, `OutBuffer`), tagged with a generation
 * number that the control words carry, and taken with a blocking receive.
 */
import type { DType } from '../../tensor/dtype.js';
import { bytesPerElement, isDType, viewData } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import type { SliceSessions } from './protocol.js';

/** A message port read synchronously (Node: receiveMessageOnPort). */
export interface SyncPort {
  post(msg: unknown): void;
  /** The next message if one has arrived, else undefined (never blocks). */
  take(): unknown;
}

// control words (Int32 indexes); the Float64 limit lives at byte LIMIT_BYTE
const JOB = 0; // job sequence number, bumped by the caller per offer (the worker waits on it)
const STATE = 1; // IDLE / OFFERED / RUNNING / STOLEN / DONE (the caller waits on it)
const STATUS = 2; // 0 ok, 1 the slice run failed (the caller re-runs the whole batch)
const IN_GEN = 3; // generation of the caller's Layout (data buffer + feed names)
const OUT_GEN = 4; // generation of the worker's output buffer
const CMD = 5; // 1: quit
const LIMIT_BYTE = 64;
/** Bytes of a control block. */
export const CONTROL_BYTES = 128;

const IDLE = 0, OFFERED = 1, RUNNING = 2, STOLEN = 3, DONE = 4;

/** Sent by the caller when its data buffer or the feed names change. */
interface Layout {
  gen: number;
  buffer: SharedArrayBuffer;
  names: string[];
}
/** Sent by the worker when its output buffer grows. */
interface OutBuffer {
  gen: number;
  buffer: SharedArrayBuffer;
}

/** Largest buffer either side allocates (a bigger job runs single-threaded). */
const MAX_BYTES = 1 << 30;

const align8 = (n: number) => (n + 7) & ~7;

/** Bytes needed to encode these tensors (header + data). */
function encodedSize(ts: readonly Tensor[]): number {
  let words = 1;
  for (const t of ts) words += 4 + t.rank;
  let at = align8(words * 4);
  for (const t of ts) at = align8(at + t.data.byteLength);
  return at;
}

function encode(ts: readonly Tensor[], buf: SharedArrayBuffer): void {
  let words = 1;
  for (const t of ts) words += 4 + t.rank;
  const head = new Int32Array(buf, 0, words);
  const bytes = new Uint8Array(buf);
  let w = 0;
  let at = align8(words * 4);
  head[w++] = ts.length;
  for (const t of ts) {
    head[w++] = t.dtype;
    head[w++] = t.rank;
    for (const d of t.shape) head[w++] = d;
    head[w++] = at;
    head[w++] = t.size;
    bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at = align8(at + t.data.byteLength);
  }
}

/** Tensors viewing (not copying) `buf`: valid until the buffer's owner writes the next job. */
function decode(buf: SharedArrayBuffer): Tensor[] {
  const head = new Int32Array(buf);
  const out: Tensor[] = [];
  let w = 0;
  const n = head[w++]!;
  for (let i = 0; i < n; i++) {
    const dtype = head[w++]!;
    if (!isDType(dtype)) throw new Error(`shared slice: bad dtype ${dtype}`);
    const rank = head[w++]!;
    const shape = Array.from(head.subarray(w, w + rank));
    w += rank;
    const off = head[w++]!;
    const len = head[w++]!;
    out.push(new Tensor(dtype as DType, shape, viewData(dtype as DType, buf as unknown as ArrayBuffer, off, len)));
  }
  return out;
}

/** Only whole-byte typed arrays of known dtypes, within the 32-bit header fields, go through shared memory. */
const encodable = (t: Tensor) => isDType(t.dtype) && t.data.byteLength === t.size * bytesPerElement(t.dtype) && t.shape.every((d) => d <= 0x7fffffff);

/** Takes messages until one with this generation arrives (it was posted before the word that announced it). */
function takeGen<M extends { gen: number }>(port: SyncPort, gen: number, ms = 5000): M {
  const end = performance.now() + ms;
  for (;;) {
    const m = port.take() as M | undefined;
    if (m && m.gen === gen) return m;
    if (!m && performance.now() > end) throw new Error('shared slice: a buffer handover never arrived');
  }
}

/** Spins while `ctl[i] === v`, for at most `ms`; true if the word changed. */
function spinWhile(ctl: Int32Array, i: number, v: number, ms: number): boolean {
  if (ms <= 0) return Atomics.load(ctl, i) !== v;
  const end = performance.now() + ms;
  for (let k = 0; ; k++) {
    if (Atomics.load(ctl, i) !== v) return true;
    // reading the clock costs more than the word: every 16 polls
    if ((k & 15) === 15 && performance.now() > end) return false;
  }
}

/** The caller's end of one worker's shared slot. */
export class SharedSlot {
  private data?: SharedArrayBuffer;
  private names = '';
  private gen = 0;
  private out?: SharedArrayBuffer;
  private outGen = 0;
  private seq = 0;
  private readonly limit: Float64Array;
  /** Jobs the worker answered (diagnostics, tests). */
  answered = 0;

  constructor(
    readonly ctl: Int32Array,
    private readonly port: SyncPort,
  ) {
    this.limit = new Float64Array(ctl.buffer, LIMIT_BYTE, 1);
  }

  /**
   * Offers a slice job (the worker may start at once); false if the worker is still busy
   * or these feeds cannot go through shared memory (then nothing was offered).
   */
  offer(feeds: Record<string, Tensor>, maxTensorBytes: number): boolean {
    if (this.busy) return false;
    const names = Object.keys(feeds);
    const ts = names.map((k) => feeds[k]!);
    if (!ts.every(encodable)) return false;
    const size = encodedSize(ts);
    if (size > MAX_BYTES) return false;
    const key = names.join('\0');
    if (!this.data || size > this.data.byteLength || key !== this.names) {
      if (!this.data || size > this.data.byteLength) this.data = new SharedArrayBuffer(Math.min(MAX_BYTES, Math.max(size, Math.ceil((this.data?.byteLength ?? 0) * 1.5), 4096)));
      this.names = key;
      this.port.post({ gen: ++this.gen, buffer: this.data, names } satisfies Layout);
      Atomics.store(this.ctl, IN_GEN, this.gen);
    }
    encode(ts, this.data);
    this.limit[0] = maxTensorBytes;
    Atomics.store(this.ctl, STATE, OFFERED);
    Atomics.store(this.ctl, JOB, ++this.seq);
    Atomics.notify(this.ctl, JOB);
    return true;
  }

  /** Claims the offered job for the caller; false if the worker already took it. */
  steal(): boolean {
    return Atomics.compareExchange(this.ctl, STATE, OFFERED, STOLEN) === OFFERED;
  }

  /** The worker is still computing a job (one the caller stopped waiting for): no new offer yet. */
  get busy(): boolean {
    return Atomics.load(this.ctl, STATE) === RUNNING;
  }

  /**
   * Waits for the worker's outcome of a job it took: spins up to `spinMs`, then blocks
   * until `until` (a performance.now() time). 'late' if the worker is still computing
   * then (the job stays its own: `busy` until it finishes).
   */
  wait(spinMs: number, until: number): { outputs: Tensor[] } | { error: string } | 'late' {
    if (!spinWhile(this.ctl, STATE, RUNNING, spinMs)) {
      for (;;) {
        const left = until - performance.now();
        if (Atomics.load(this.ctl, STATE) !== RUNNING) break;
        if (left <= 0) return 'late';
        Atomics.wait(this.ctl, STATE, RUNNING, left);
      }
    }
    if (Atomics.load(this.ctl, STATUS) !== 0) return { error: 'the slice run failed in the worker' };
    const g = Atomics.load(this.ctl, OUT_GEN);
    if (g !== this.outGen) {
      this.out = takeGen<OutBuffer>(this.port, g).buffer;
      this.outGen = g;
    }
    this.answered++;
    return { outputs: decode(this.out!) };
  }

  /** Makes the worker leave its job loop (before terminating it). */
  quit(): void {
    Atomics.store(this.ctl, CMD, 1);
    Atomics.store(this.ctl, JOB, ++this.seq);
    Atomics.notify(this.ctl, JOB);
  }
}

/**
 * The worker's job loop (blocks its thread; returns after `SharedSlot.quit`). After each
 * job it spins up to `spinMs` for the next one before it sleeps in Atomics.wait: back-to-
 * back runs find it awake.
 */
export function serveSharedJobs(ctl: Int32Array, port: SyncPort, sessions: SliceSessions, spinMs: number): void {
  const limit = new Float64Array(ctl.buffer, LIMIT_BYTE, 1);
  let data: SharedArrayBuffer | undefined;
  let names: string[] = [];
  let gen = 0;
  let out: SharedArrayBuffer | undefined;
  let outGen = 0;
  let last = Atomics.load(ctl, JOB);
  for (;;) {
    if (!spinWhile(ctl, JOB, last, spinMs)) Atomics.wait(ctl, JOB, last);
    const seq = Atomics.load(ctl, JOB);
    if (seq === last) continue;
    last = seq;
    if (Atomics.load(ctl, CMD) === 1) return;
    if (Atomics.compareExchange(ctl, STATE, OFFERED, RUNNING) !== OFFERED) continue; // stolen by the caller
    let status = 0;
    try {
      const g = Atomics.load(ctl, IN_GEN);
      if (g !== gen) {
        const m = takeGen<Layout>(port, g);
        data = m.buffer;
        names = m.names;
        gen = g;
      }
      const ts = decode(data!);
      const feeds: Record<string, Tensor> = {};
      names.forEach((k, i) => (feeds[k] = ts[i]!));
      const outputs = sessions.get(limit[0]!).run(feeds).outputList;
      if (!outputs.every(encodable)) throw new Error('shared slice: an output cannot be encoded');
      const size = encodedSize(outputs);
      if (size > MAX_BYTES) throw new Error('shared slice: outputs too large');
      if (!out || size > out.byteLength) {
        out = new SharedArrayBuffer(Math.min(MAX_BYTES, Math.max(size, Math.ceil((out?.byteLength ?? 0) * 1.5), 4096)));
        port.post({ gen: ++outGen, buffer: out } satisfies OutBuffer);
        Atomics.store(ctl, OUT_GEN, outGen);
      }
      encode(outputs, out);
    } catch {
      status = 1;
    }
    Atomics.store(ctl, STATUS, status);
    Atomics.store(ctl, STATE, DONE);
    Atomics.notify(ctl, STATE);
  }
}
