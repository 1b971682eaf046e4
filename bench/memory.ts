// Peak memory of a run, engine vs onnxruntime-node, on the bench models.
//
//   node --import tsx bench/memory.ts [--only=matmul512,cnn] [--runs=5] [--repeats=3] [--json]
//   import { benchMemory } from './memory.js'; await benchMemory(['cnn'])
//
// Procedure (identical for both runtimes, so the ratio is fair):
// - One FRESH child process per (runtime, model) (`node --expose-gc --import tsx`), so
//   neither runtime inherits the other's heap, JIT code or native allocator state.
// - The parent writes the model bytes and the float32 feeds to files; the child reads
//   them, imports its runtime (engine: session.ts + the Node platform; ORT:
//   onnxruntime-node, 1 intra-op / 1 inter-op thread, sequential, as in bench/run.ts),
//   builds its feed objects (no copy: both wrap the same Float32Array) and warms the
//   runtime up with a one-node model (Relu of 4 floats) so that loading the runtime's
//   own code (ORT's shared library, the engine's modules) is not charged to the model.
// - Baseline: gc() twice, then the kernel's peak-RSS counter is reset to the current RSS
//   (write "5" to /proc/self/clear_refs, Linux >= 4.0); baseline = RSS now.
// - Then: create the session from the model bytes, run it `runs` times with gc() before
//   each run (outputs dropped), and read the peak RSS (process.resourceUsage().maxRSS,
//   which the reset above also resets). Without the gc() the peak mostly measures when
//   V8 happens to collect earlier runs' outputs (both runtimes hand back fresh JS
//   Float32Arrays per run: ORT's matmul512 peak goes 4 -> 33 MiB from 1 to 30 runs), not
//   what one run needs.
// - peak = maxRSS - baseline: everything the session and its runs made resident (weights
//   as decoded/packed by the runtime, intermediates, scratch, allocator slack, garbage
//   not yet collected). The model file bytes and feeds exist before the baseline in both.
//
// For the engine the child also reports the exact peak of live tensor bytes during one
// run, measured from outside the session (hooks only): at each node (afterNode), the
// distinct ArrayBuffers of initializers, feeds and every value produced so far that a
// later node or a graph output still reads, plus this node's inputs and outputs, plus
// the byteLength of every distinct WebAssembly memory the kernels have instantiated (wasm memory
// never shrinks; recorded by wrapping WebAssembly.Instance before the engine loads).
// It counts the feeds (which the RSS peak does not: they precede the baseline) and not
// the session arena's free list (a run with afterNode does not recycle buffers).
// ORT keeps its default session options otherwise (graph optimisation level "all", e.g.
// Conv+Relu fused; its CPU arena and memory pattern planner on): what a user gets.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MemoryResult {
  name: string;
  /** Peak RSS above the baseline for session creation + runs of the engine, bytes. */
  enginePeakBytes: number;
  /** The same for onnxruntime-node. */
  ortPeakBytes: number;
  /** enginePeakBytes / ortPeakBytes. */
  ratio: number;
  /** Engine: peak over one run of live tensor bytes (values alive in the run + wasm memories). */
  engineLiveTensorPeakBytes?: number;
  /** Engine: the wasm-memory part of engineLiveTensorPeakBytes at its peak. */
  engineWasmBytes?: number;
  /** Bytes of the model's initializers (float data as stored in the ONNX file). */
  weightBytes?: number;
  /** Peak RSS above baseline right after session creation (before any run), bytes. */
  engineLoadBytes?: number;
  ortLoadBytes?: number;
}

interface ChildReport {
  loadPeak: number;
  peak: number;
  retained: number;
  live?: { peak: number; wasm: number; weights: number; node: number };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = 5;
const REPEATS = 3;

function medianBy<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)]!;
}

function readFeeds(dir: string, spec: { name: string; shape: number[] }[]): { name: string; shape: number[]; data: Float32Array }[] {
  return spec.map((f) => {
    const b = readFileSync(path.join(dir, `feed-${f.name}.bin`));
    return { name: f.name, shape: f.shape, data: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) };
  });
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const rss = () => process.memoryUsage.rss();
const maxRss = () => process.resourceUsage().maxRSS * 1024;
function resetPeak(): number {
  if (!(globalThis as { gc?: () => void }).gc) throw new Error('run the child with --expose-gc');
  gc();
  gc();
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // peak RSS := current RSS
  } catch {
    // not Linux (or no /proc): the peak then also covers start-up; say so on stderr
    process.stderr.write('memory bench: cannot reset the peak RSS counter; peaks include process start-up\n');
  }
  return rss();
}

/** The child: measures one runtime on one model and prints a ChildReport as JSON. */
async function child(runtime: 'engine' | 'ort', dir: string, runs: number): Promise<void> {
  const spec = JSON.parse(readFileSync(path.join(dir, 'feeds.json'), 'utf8')) as { name: string; shape: number[] }[];
  const modelBytes = new Uint8Array(readFileSync(path.join(dir, 'model.onnx')));
  const warmBytes = new Uint8Array(readFileSync(path.join(dir, 'warm.onnx')));
  const feeds = readFeeds(dir, spec);
  if (runtime === 'ort') {
    const ort = await import('onnxruntime-node');
    const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' as const };
    const ortFeeds = Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor('float32', f.data, f.shape)]));
    const warm = await ort.InferenceSession.create(warmBytes, opts);
    await warm.run({ x: new ort.Tensor('float32', new Float32Array(4), [4]) });
    await warm.release();
    const base = resetPeak();
    const s = await ort.InferenceSession.create(modelBytes, opts);
    const loadPeak = maxRss() - base;
    for (let i = 0; i < runs; i++) {
      gc();
      await s.run(ortFeeds);
    }
    const report: ChildReport = { loadPeak, peak: maxRss() - base, retained: rss() - base };
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  // engine: record every wasm memory the kernels instantiate (they never shrink)
  const memories: WebAssembly.Memory[] = [];
  const Instance = WebAssembly.Instance;
  (WebAssembly as { Instance: unknown }).Instance = class extends Instance {
    constructor(m: WebAssembly.Module, imports?: WebAssembly.Imports) {
      super(m, imports);
      for (const e of Object.values(this.exports)) if (e instanceof WebAssembly.Memory && !memories.includes(e)) memories.push(e);
    }
  };
  await import('../src/platform/node.js');
  const { createSession } = await import('../src/engine/session.js');
  const { Tensor } = await import('../src/tensor/tensor.js');
  const { DType } = await import('../src/tensor/dtype.js');
  const engineFeeds = Object.fromEntries(feeds.map((f) => [f.name, new Tensor(DType.float32, f.shape, f.data)]));
  createSession(warmBytes).run({ x: new Tensor(DType.float32, [4], new Float32Array(4)) });
  const base = resetPeak();
  const s = createSession(modelBytes);
  const loadPeak = maxRss() - base;
  for (let i = 0; i < runs; i++) {
    gc();
    s.run(engineFeeds);
  }
  const peak = maxRss() - base;
  const retained = rss() - base;

  // exact live bytes of one more run (after the measurement, so hooks cost nothing above)
  const g = s.model.graph;
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n) => n.inputs.forEach((v) => v && lastUse.set(v, n.index)));
  for (const o of g.outputs) lastUse.set(o.name, Infinity);
  const live = new Map<string, { buffer: ArrayBufferLike; bytes: number }>();
  const held = (t: { data: ArrayBufferView }) => ({ buffer: t.data.buffer, bytes: t.data.byteLength });
  const weights = new Map<ArrayBufferLike, number>();
  for (const t of g.initializers.values()) weights.set(t.data.buffer, Math.max(weights.get(t.data.buffer) ?? 0, t.data.byteLength));
  const sum = (extra: { buffer: ArrayBufferLike; bytes: number }[]) => {
    // distinct buffers; a buffer viewed by several values counts once (largest view)
    const by = new Map(weights);
    for (const v of [...live.values(), ...extra]) by.set(v.buffer, Math.max(by.get(v.buffer) ?? 0, v.bytes));
    let n = 0;
    for (const b of by.values()) n += b;
    return n;
  };
  for (const [k, t] of Object.entries(engineFeeds)) live.set(k, held(t));
  let best = { peak: 0, wasm: 0, node: -1 };
  s.run(engineFeeds, {
    afterNode: (node, outs) => {
      const ins = node.inputs.filter((v) => v && !g.initializers.has(v)).map((v) => live.get(v)!).filter(Boolean);
      const outHeld = outs.map(held);
      const wasm = memories.reduce((a, m) => a + m.buffer.byteLength, 0);
      const total = sum([...ins, ...outHeld]) + wasm;
      if (total > best.peak) best = { peak: total, wasm, node: node.index };
      node.outputs.forEach((name, i) => name && outs[i] && live.set(name, held(outs[i]!)));
      for (const [name] of live) if ((lastUse.get(name) ?? -1) <= node.index && !g.outputs.some((o) => o.name === name)) live.delete(name);
    },
  });
  let weightBytes = 0;
  for (const b of weights.values()) weightBytes += b;
  const report: ChildReport = { loadPeak, peak, retained, live: { peak: best.peak, wasm: best.wasm, weights: weightBytes, node: best.node } };
  process.stdout.write(JSON.stringify(report) + '\n');
}

function runChild(runtime: 'engine' | 'ort', dir: string, runs: number): ChildReport {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', runtime, dir, String(runs)], {
    cwd: path.resolve(here, '..'),
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`memory child (${runtime}) failed: ${r.stderr || r.stdout}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as ChildReport;
}

/** Peak memory of session creation + `runs` runs, engine vs onnxruntime-node, each in a fresh process. */
export async function benchMemory(names?: string[], runs = RUNS, repeats = REPEATS): Promise<MemoryResult[]> {
  const { benchModels } = await import('../test/fixtures/models.js');
  const { buildModel } = await import('../src/onnx/build.js');
  const { DType } = await import('../src/tensor/dtype.js');
  const warm = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [4] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [4] }],
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
  });
  const results: MemoryResult[] = [];
  for (const m of benchModels()) {
    if (names && !names.includes(m.name)) continue;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'verinfer-mem-'));
    try {
      writeFileSync(path.join(dir, 'model.onnx'), m.bytes);
      writeFileSync(path.join(dir, 'warm.onnx'), warm);
      const spec = Object.entries(m.feeds).map(([name, t]) => {
        if (t.dtype !== DType.float32) throw new Error(`memory bench feeds float32 only (${m.name}.${name})`);
        writeFileSync(path.join(dir, `feed-${name}.bin`), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        return { name, shape: [...t.shape] };
      });
      writeFileSync(path.join(dir, 'feeds.json'), JSON.stringify(spec));
      // RSS moves by a few hundred KiB with allocator and heap-growth timing: median of
      // `repeats` fresh processes per runtime, interleaved
      const es: ChildReport[] = [];
      const os_: ChildReport[] = [];
      for (let i = 0; i < repeats; i++) {
        es.push(runChild('engine', dir, runs));
        os_.push(runChild('ort', dir, runs));
      }
      const e = medianBy(es, (r) => r.peak);
      const o = medianBy(os_, (r) => r.peak);
      results.push({
        name: m.name,
        enginePeakBytes: e.peak,
        ortPeakBytes: o.peak,
        ratio: e.peak / o.peak,
        engineLiveTensorPeakBytes: e.live?.peak,
        engineWasmBytes: e.live?.wasm,
        weightBytes: e.live?.weights,
        engineLoadBytes: e.loadPeak,
        ortLoadBytes: o.loadPeak,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

const MiB = (b: number | undefined) => (b === undefined ? '-' : (b / 1048576).toFixed(1));

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    await child(argv[1] as 'engine' | 'ort', argv[2]!, Number(argv[3]));
  } else {
    const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
    const runs = Number(argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? RUNS);
    const repeats = Number(argv.find((a) => a.startsWith('--repeats='))?.slice(10) ?? REPEATS);
    const rs = await benchMemory(only, runs, repeats);
    console.log(`peak RSS above baseline (MiB), session creation + ${runs} runs (gc before each), median of ${repeats} fresh processes per runtime and model`);
    console.log('workload      engine MiB   ORT MiB   engine/ORT   engine load   ORT load   weights   engine live tensors (wasm)');
    for (const r of rs) {
      console.log(
        `${r.name.padEnd(12)} ${MiB(r.enginePeakBytes).padStart(11)} ${MiB(r.ortPeakBytes).padStart(9)} ${r.ratio.toFixed(2).padStart(11)}x ` +
          `${MiB(r.engineLoadBytes).padStart(13)} ${MiB(r.ortLoadBytes).padStart(10)} ${MiB(r.weightBytes).padStart(9)} ${MiB(r.engineLiveTensorPeakBytes).padStart(15)} (${MiB(r.engineWasmBytes)})`,
      );
    }
    if (argv.includes('--json')) console.log(JSON.stringify({ memory: rs }));
  }
}
