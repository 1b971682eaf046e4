// Hashing throughput behind the one SHA-256 interface (src/hash/sha256.ts): portable JS
// (@noble/hashes), WebAssembly (hash-wasm, the browser choice) and Node's native
// crypto.hash, on the shapes a trace hashes, plus the cost of tensor digests per model.
//
//   node --import tsx bench/hash.ts [--json]
//   import { benchHash } from './hash.js'; const r = await benchHash();
import '../src/platform/node.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getSha256Implementation,
  portableSha256,
  runsFrom,
  setSha256Implementation,
  sha256,
  sha256Runs,
  type Sha256Implementation,
  type Sha256Runs,
} from '../src/hash/sha256.js';
import { loadHashWasm, loadWasmSha256 } from '../src/hash/wasm.js';
import { nodeSha256, nodeSha256Runs } from '../src/platform/node.js';
import { tensorDigest } from '../src/tensor/canonical.js';
import { createSession } from '../src/engine/session.js';
import { benchModels } from '../test/fixtures/models.js';
import { Tensor } from '../src/tensor/tensor.js';
import { DType } from '../src/tensor/dtype.js';

export interface HashThroughput {
  /** 'portable', 'hash-wasm', 'wasm' (browser default), 'native-only' or 'native' (Node default): see implementations(). */
  impl: string;
  /** MB/s (10^6 bytes) hashing one 1 MiB message. */
  bulkMBps: number;
  /** MB/s of chunk data through the batched leaf hashes (1,024-byte chunks, prefix 0x00). */
  leafMBps: number;
  /** Interior Merkle nodes per second (65-byte messages), in millions. */
  nodeMps: number;
  /** MB/s of float32 tensor data through tensorDigest (NaN scan + leaves + tree + header). */
  digestMBps: number;
}

export interface TraceHashCost {
  model: string;
  /** Node outputs hashed by a traced run, and their bytes. */
  outputs: number;
  bytes: number;
  /** ms to digest every node output of one run, per implementation. */
  ms: Record<string, number>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of f over interleaved rounds (all implementations in each round: fair under noise). */
function timeInterleaved(impls: Impl[], f: () => void, rounds: number): Record<string, number> {
  const saved = getSha256Implementation();
  const times: Record<string, number[]> = {};
  try {
    for (let r = 0; r <= rounds; r++) {
      for (const [name, one, runs] of impls) {
        setSha256Implementation(one, runs);
        const t0 = performance.now();
        f();
        const dt = performance.now() - t0;
        if (r > 0) (times[name] ??= []).push(dt); // round 0 warms up
      }
    }
  } finally {
    setSha256Implementation(saved.f, saved.runs);
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

type Impl = [string, Sha256Implementation, Sha256Runs];

/**
 * portable: @noble/hashes (pure JS, the default before a platform installs one);
 * hash-wasm: hash-wasm for everything; wasm: the browser install (hash-wasm for single
 * messages, the SIMD 4-lane batch for runs); native-only: node:crypto for everything;
 * native: the Node install (node:crypto, SIMD batch for runs under 256 bytes).
 */
async function implementations(): Promise<Impl[]> {
  const native = getSha256Implementation(); // src/platform/node.ts installed it
  const hw = await loadHashWasm();
  const wasm = await loadWasmSha256();
  const out: Impl[] = [['portable', portableSha256, runsFrom(portableSha256)]];
  if (hw) out.push(['hash-wasm', hw.sha256, hw.runs]);
  if (wasm) out.push(['wasm', wasm.sha256, wasm.runs]);
  out.push(['native-only', nodeSha256, nodeSha256Runs], ['native', native.f, native.runs]);
  return out;
}

/** Throughput of each SHA-256 implementation on a trace's shapes. */
export async function benchHash(rounds = 15): Promise<HashThroughput[]> {
  const impls = await implementations();
  const MiB = 1 << 20;
  const data = new Uint8Array(randomBytes(MiB));
  const leaves = new Uint8Array(32 * 1024);
  const pairs = data.subarray(0, 64 * 4096);
  const nodes = new Uint8Array(32 * 4096);
  const t = new Tensor(DType.float32, [512, 512], new Float32Array(data.buffer.slice(0)).map((x) => (x === x ? x : 0)));
  const bulk = timeInterleaved(impls, () => sha256(data), rounds);
  const leaf = timeInterleaved(impls, () => sha256Runs(0, data, 1024, leaves), rounds);
  const node = timeInterleaved(impls, () => sha256Runs(1, pairs, 64, nodes), rounds);
  const digest = timeInterleaved(impls, () => tensorDigest(t), rounds);
  const mbps = (ms: number, bytes = MiB) => bytes / 1e6 / (ms / 1e3);
  return impls.map(([impl]) => ({
    impl,
    bulkMBps: mbps(bulk[impl]!),
    leafMBps: mbps(leaf[impl]!),
    nodeMps: 4096 / 1e6 / (node[impl]! / 1e3),
    digestMBps: mbps(digest[impl]!),
  }));
}

/** What a traced run spends on tensor digests, per bench model and implementation. */
export async function benchTraceHashing(names?: string[], rounds = 9): Promise<TraceHashCost[]> {
  const impls = await implementations();
  const out: TraceHashCost[] = [];
  for (const m of benchModels()) {
    if (names && !names.includes(m.name)) continue;
    const outs: Tensor[] = [];
    createSession(m.bytes).run(m.feeds, { afterNode: (_n, o) => void outs.push(...o) });
    const ms = timeInterleaved(impls, () => outs.forEach(tensorDigest), rounds);
    out.push({ model: m.name, outputs: outs.length, bytes: outs.reduce((a, t) => a + t.data.byteLength, 0), ms });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await benchHash();
  console.log('SHA-256            1 MiB message   1 KiB leaves (batched)   interior nodes   tensorDigest (1 MiB float32)');
  for (const x of r) {
    console.log(
      `${x.impl.padEnd(12)} ${x.bulkMBps.toFixed(0).padStart(13)} MB/s ${x.leafMBps.toFixed(0).padStart(18)} MB/s ${x.nodeMps.toFixed(2).padStart(12)} M/s ${x.digestMBps.toFixed(0).padStart(18)} MB/s`,
    );
  }
  const tr = await benchTraceHashing();
  const names = Object.keys(tr[0]?.ms ?? {});
  console.log(`\ndigests of every node output of one run (ms)   ${names.map((n) => n.padStart(9)).join(' ')}`);
  for (const x of tr) {
    console.log(`${`${x.model} (${x.outputs} outputs, ${(x.bytes / 1048576).toFixed(2)} MiB)`.padEnd(46)} ${names.map((n) => x.ms[n]!.toFixed(2).padStart(9)).join(' ')}`);
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify({ hash: r, traceHashing: tr }));
}
