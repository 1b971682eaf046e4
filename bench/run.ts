// `npm run bench`: times the engine and onnxruntime-node (1 intra-op thread)
// on the same generated models in one run and prints medians and ratios.
// `npm run bench -- --json` adds one JSON object on the last line.
import * as ort from 'onnxruntime-node';
import { createSession } from '../src/engine/session.js';
import { benchModels, type FixtureModel } from '../test/fixtures/models.js';
import type { Tensor } from '../src/tensor/tensor.js';
import os from 'node:os';

const json = process.argv.includes('--json');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `f` until `minRuns` runs and `minMs` total have passed (after warm-up); returns the median in ms. */
async function time(f: () => unknown, minRuns: number, minMs: number): Promise<number> {
  await f();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start < minMs && times.length < 200)) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const ortFeeds = (feeds: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data as Float32Array, [...t.shape])]));

async function bench(m: FixtureModel) {
  const session = createSession(m.bytes);
  const engineMs = await time(() => session.run(m.feeds), 5, 1500);
  const traceMs = await time(() => session.run(m.feeds, { trace: true }), 3, 800);
  const o = await ort.InferenceSession.create(m.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = ortFeeds(m.feeds);
  const ortMs = await time(() => o.run(feeds), 10, 1500);
  return { name: m.name, engineMs, ortMs, ratio: engineMs / ortMs, traceMs };
}

const results = [];
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, onnxruntime-node (1 thread)`);
console.log('workload       engine ms     ORT ms    engine/ORT   engine+trace ms');
for (const m of benchModels()) {
  if (only && !only.split(',').includes(m.name)) continue;
  const r = await bench(m);
  results.push(r);
  console.log(`${r.name.padEnd(12)} ${r.engineMs.toFixed(2).padStart(11)} ${r.ortMs.toFixed(2).padStart(10)} ${r.ratio.toFixed(1).padStart(12)}x ${r.traceMs.toFixed(2).padStart(17)}`);
}
if (json) console.log(JSON.stringify({ results }));
