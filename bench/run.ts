// `npm run bench`: times the engine and onnxruntime-node (1 intra-op thread) on the same
// generated models in one run and prints medians and ratios, the 2-thread speed-up, the
// receipt overhead (eager: trace hashing + signing, also with the trace hashed on a worker
// thread; lazy: signing only, the trace is computed only if a dispute asks), the size and
// checking time of a fraud proof, the GEMM ceiling, peak memory, hashing throughput and
// the network figures.
// `npm run bench -- --json` adds one JSON object on the last line.
import '../src/platform/node.js';
import * as ort from 'onnxruntime-node';
import { createSession } from '../src/engine/session.js';
import { benchModels, type FixtureModel } from '../test/fixtures/models.js';
import type { Tensor } from '../src/tensor/tensor.js';
import os from 'node:os';
import { benchNetwork } from './network.js';
import { privateKeyToAccount } from 'viem/accounts';
import { modelCid } from '../src/hash/cid.js';
import { SEMANTICS_VERSION, type Session } from '../src/engine/session.js';
import { signReceipt } from '../src/proof/receipt.js';
import { challengeReceipt } from '../src/proof/dispute.js';
import { traceResponder } from '../src/proof/bisection.js';
import { verifyFraudProof } from '../src/proof/fraud.js';
import { toHexBytes } from '../src/proof/wire.js';
import { inputDigest } from '../src/proof/verify.js';
import { tensorListDigest } from '../src/tensor/canonical.js';
import { Tensor as T } from '../src/tensor/tensor.js';
import { installGemmPool, closeGemmPool } from '../src/platform/pool.js';
import { createSessionPool } from '../src/platform/session-pool.js';
import { installTraceHasher, closeTraceHasher, traceHasherReady } from '../src/platform/trace-hasher.js';
import { gemmCeiling } from './ceiling.js';
import { benchMemory, type MemoryResult } from './memory.js';
import { benchHash, type HashThroughput } from './hash.js';

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

const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');

/** Signs a receipt for a run (the executor's work beyond inference is trace hashing plus this). */
async function sign(m: FixtureModel, session: Session, cid: { cid: string; digest: Uint8Array }, outputs: T[], traceRoot: Uint8Array) {
  return signReceipt(
    {
      modelCid: cid.cid,
      chainId: 31337,
      message: {
        model: toHexBytes(cid.digest),
        input: toHexBytes(inputDigest(session, m.feeds)),
        output: toHexBytes(tensorListDigest(outputs)),
        traceRoot: toHexBytes(traceRoot),
        semantics: SEMANTICS_VERSION,
        requestId: toHexBytes(new Uint8Array(32)),
        executor: account.address,
        issuedAt: 1_700_000_000,
        expiresAt: 1_800_000_000,
      },
    },
    account,
  );
}

/** A dishonest executor flips one bit in the middle node; returns fraud-proof size and verification time. */
async function fraudProofCost(m: FixtureModel, session: Session, cid: { cid: string; digest: Uint8Array }) {
  const middle = Math.floor(session.model.graph.nodes.length / 2);
  const r = session.run(m.feeds, {
    trace: true,
    afterNode: (node, outs) => {
      if (node.index !== middle) return;
      const d = Float32Array.from(outs[0]!.data as Float32Array);
      new Uint32Array(d.buffer)[0]! ^= 1;
      return [new T(outs[0]!.dtype, outs[0]!.shape, d), ...outs.slice(1)];
    },
  });
  const receipt = await sign(m, session, cid, r.outputList, r.trace!.root);
  const out = await challengeReceipt({ receipt, modelBytes: m.bytes, inputs: m.feeds, respond: traceResponder(r.trace!.leaves), session });
  if (out.verdict?.code !== 'NODE_OUTPUT_WRONG') throw new Error(`fraud proof not accepted: ${out.reason}`);
  const bytes = JSON.stringify(out.fraudProof).length;
  const verifyMs = await time(() => verifyFraudProof(out.fraudProof, m.bytes, { session, modelDigest: cid.digest }), 3, 500);
  return { node: middle, rounds: out.rounds, bytes, verifyMs };
}

async function bench(m: FixtureModel) {
  const session = createSession(m.bytes);
  const engineMs = await time(() => session.run(m.feeds), 5, 1500);
  // the same run on 2 threads, bit-identical outputs: the batch split over a session pool
  // (src/engine/parallel) when the graph is separable along the batch axis, else GEMM rows
  // over the GEMM pool (src/platform/pool.ts)
  let engineMs2: number | undefined;
  let split: string | undefined;
  if (m.name === 'matmul512' || m.name === 'cnn') {
    const pool = await createSessionPool(m.bytes, { workers: 2 });
    if (pool.plan(m.feeds).plan) {
      split = 'batch';
      engineMs2 = await time(() => pool.run(m.feeds), 5, 1500);
    }
    await pool.close();
    if (!split) {
      split = 'gemm rows';
      await installGemmPool({ workers: 2 });
      engineMs2 = await time(() => session.run(m.feeds), 5, 1500);
      await closeGemmPool();
    }
  }
  const speedup2 = engineMs2 === undefined ? undefined : engineMs / engineMs2;
  const traceMs = await time(() => session.run(m.feeds, { trace: true }), 3, 800);
  // the same traced run with the trace hashed on a worker thread (src/platform/trace-hasher.ts)
  const hasher = await installTraceHasher({ workers: 1 });
  if (hasher) await traceHasherReady(hasher);
  const traceWorkerMs = await time(() => session.run(m.feeds, { trace: true }), 3, 800);
  await closeTraceHasher();
  const cid = await modelCid(m.bytes);
  const traced = session.run(m.feeds, { trace: true });
  const signMs = await time(() => sign(m, session, cid, traced.outputList, traced.trace!.root), 5, 300);
  const receiptOverheadPct = (100 * (traceMs + signMs - engineMs)) / engineMs;
  const workerOverheadPct = (100 * (traceWorkerMs + signMs - engineMs)) / engineMs;
  // a lazy receipt (all-zero trace root): plain inference + input/output digests + signature
  const lazyOverheadPct = (100 * signMs) / engineMs;
  const fraud = m.name === 'cnn' || m.name === 'transformer' ? await fraudProofCost(m, session, cid) : undefined;
  const o = await ort.InferenceSession.create(m.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = ortFeeds(m.feeds);
  const ortMs = await time(() => o.run(feeds), 10, 1500);
  return { name: m.name, engineMs, engineMs2, speedup2, split, ortMs, ratio: engineMs / ortMs, traceMs, traceWorkerMs, signMs, receiptOverheadPct, workerOverheadPct, lazyOverheadPct, fraud };
}

const results = [];
const wants = (part: string) => !only || only.split(',').includes(part);
// peak memory first, while this process has no worker threads that could compete with the
// measuring child processes for the 2 cores (their RSS peaks then drift with GC timing)
const memoryOf = benchModels().map((m) => m.name).filter((n) => !only || only.split(',').includes(n));
const memory: MemoryResult[] = wants('memory') ? await benchMemory(memoryOf.length ? memoryOf : undefined) : [];
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}, onnxruntime-node (1 thread)`);
if (!only || only.split(',').some((o) => o !== 'network')) console.log('workload       engine ms     ORT ms    engine/ORT   +trace ms  +sign ms  receipt overhead eager (hashed on a worker)    lazy   2 workers ms (speedup)');
for (const m of benchModels()) {
  if (only && !only.split(',').includes(m.name)) continue;
  const r = await bench(m);
  results.push(r);
  console.log(
    `${r.name.padEnd(12)} ${r.engineMs.toFixed(2).padStart(11)} ${r.ortMs.toFixed(2).padStart(10)} ${r.ratio.toFixed(1).padStart(12)}x ` +
      `${r.traceMs.toFixed(2).padStart(10)} ${r.signMs.toFixed(2).padStart(9)} ${r.receiptOverheadPct.toFixed(1).padStart(21)}% ${`(${r.workerOverheadPct.toFixed(1)}%)`.padStart(20)} ${r.lazyOverheadPct.toFixed(1).padStart(6)}%` +
      (r.engineMs2 === undefined ? '' : ` ${r.engineMs2.toFixed(2).padStart(15)} (${r.speedup2!.toFixed(2)}x, ${r.split})`),
  );
}
if (results.some((r) => r.fraud)) console.log('\nfraud proof (one bit flipped in the middle node)   proof bytes   rounds   verify ms   full re-execution ms');
for (const r of results) {
  if (!r.fraud) continue;
  console.log(`${(r.name + ` (node ${r.fraud.node})`).padEnd(50)} ${String(r.fraud.bytes).padStart(11)} ${String(r.fraud.rounds).padStart(8)} ${r.fraud.verifyMs.toFixed(2).padStart(11)} ${r.engineMs.toFixed(2).padStart(22)}`);
}
let ceiling: ReturnType<typeof gemmCeiling> | undefined;
const mm = results.find((r) => r.name === 'matmul512');
if (mm) {
  ceiling = gemmCeiling();
  const ortGflops = (2 * 512 ** 3) / (mm.ortMs * 1e6);
  console.log(
    `\nceiling: the canonical GEMM (128-bit wasm SIMD, multiply then add) peaks at ${ceiling.gflops.toFixed(1)} GFLOP/s in cache ` +
      `[${ceiling.shape.join('x')}]; onnxruntime's matmul512 runs at ${ortGflops.toFixed(1)} GFLOP/s, ` +
      `so MatMul-bound work stays near ${(ortGflops / ceiling.gflops).toFixed(1)}x ORT on this machine`,
  );
}
if (memory.length) {
  console.log('\npeak memory of a run (fresh process each, RSS above baseline)   engine MiB   ORT MiB   engine/ORT');
  for (const r of memory) {
    console.log(`${r.name.padEnd(62)} ${(r.enginePeakBytes / 2 ** 20).toFixed(1).padStart(10)} ${(r.ortPeakBytes / 2 ** 20).toFixed(1).padStart(9)} ${r.ratio.toFixed(2).padStart(11)}x`);
  }
}
let hashing: HashThroughput[] = [];
if (wants('hash')) {
  hashing = await benchHash();
  console.log('\nSHA-256 throughput (MB/s)        1 MiB message   1 KiB leaves   tensorDigest');
  for (const h of hashing) console.log(`${h.impl.padEnd(32)} ${h.bulkMBps.toFixed(0).padStart(13)} ${h.leafMBps.toFixed(0).padStart(14)} ${h.digestMBps.toFixed(0).padStart(14)}`);
}
let network: Awaited<ReturnType<typeof benchNetwork>> = [];
if (wants('network')) {
  network = await benchNetwork();
  console.log('\nend to end over HTTP (3 node processes on loopback)   latency ms   throughput req/s   engine direct ms');
  for (const r of network) {
    console.log(`${`${r.model}, ${r.mode}`.padEnd(52)} ${r.latencyMs.toFixed(2).padStart(12)} ${r.throughputRps.toFixed(1).padStart(18)} ${r.engineMs.toFixed(3).padStart(18)}`);
  }
}
if (json) console.log(JSON.stringify({ results, ceiling, memory, hashing, network }));
