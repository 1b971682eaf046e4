// End-to-end request latency and throughput through real node processes on
// loopback (mode none, and replicated with k = 3) on the sample models, next
// to calling the engine directly in this process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession } from '../src/engine/session.js';
import { http, killAll, publishTo, spawnNode, waitUntil } from '../src/node/testing.js';
import { tensorFromJson } from '../src/tensor/json.js';
import { isDType } from '../src/tensor/dtype.js';
import type { Tensor } from '../src/tensor/tensor.js';

const root = join(import.meta.dirname, '..');
const MODELS = ['penguins-classifier', 'sp500-forecaster'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface NetworkResult {
  model: string;
  mode: string;
  latencyMs: number;
  throughputRps: number;
  engineMs: number;
}

async function infer(url: string, body: unknown): Promise<void> {
  const r = await http('POST', `${url}/v1/infer`, body);
  if (r.status !== 200 || (r.body?.status !== 'final' && r.body?.status !== 'verified')) {
    throw new Error(`inference failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
}

/** Sequential requests for the median latency, then `concurrency` clients for `ms` for the throughput. */
async function measure(url: string, body: unknown, runs = 25, concurrency = 4, ms = 2000) {
  for (let i = 0; i < 3; i++) await infer(url, body);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await infer(url, body);
    times.push(performance.now() - t0);
  }
  let done = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await infer(url, body);
        done++;
      }
    }),
  );
  return { latencyMs: median(times), throughputRps: done / ((performance.now() - start) / 1000) };
}

export async function benchNetwork(): Promise<NetworkResult[]> {
  const dirs = [0, 1, 2].map((i) => mkdtempSync(join(tmpdir(), `verinfer-bench-node${i}-`)));
  const results: NetworkResult[] = [];
  try {
    const a = await spawnNode(dirs[0]!);
    const b = await spawnNode(dirs[1]!, ['--peers', a.url]);
    const c = await spawnNode(dirs[2]!, ['--peers', `${a.url},${b.url}`]);
    await waitUntil(async () => ((await http('GET', `${a.url}/v1/peers`)).body?.peers?.length ?? 0) >= 2, 'peers known', 20_000);
    for (const name of MODELS) {
      const bytes = new Uint8Array(readFileSync(join(root, 'models', `${name}.onnx`)));
      const inputs = JSON.parse(readFileSync(join(root, 'models', `${name}.input.json`), 'utf8'));
      const pub = await publishTo(a.url, bytes, name);
      const cid = pub.body.cid as string;
      for (const n of [b, c]) await publishTo(n.url, bytes, name);
      const session = createSession(bytes);
      const feeds: Record<string, Tensor> = {};
      for (const v of session.inputs) feeds[v.name] = tensorFromJson(inputs[v.name], v.dtype !== undefined && isDType(v.dtype) ? v.dtype : undefined, v.name);
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        session.run(feeds);
        times.push(performance.now() - t0);
      }
      const engineMs = median(times);
      for (const [mode, extra] of [['none', {}], ['replicated', { quorum: 3 }]] as const) {
        const m = await measure(a.url, { model: cid, inputs, mode, ...extra });
        results.push({ model: name, mode: mode === 'replicated' ? 'replicated k=3' : mode, ...m, engineMs });
      }
    }
  } finally {
    await killAll();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return results;
}
