// Browser entry of test/browser.test.ts: runs the engine layers in a real page (bundled
// by ./build.ts for platform 'browser', no Node built-ins) and leaves one JSON result in
// window.__result for the test to compare with the same computation on Node.
import { createSession } from '../../src/engine/session.js';
import { createWebSessionPool, type WebWorkerLike } from '../../src/engine/parallel/web.js';
import type { FromWorker } from '../../src/engine/parallel/protocol.js';
import { gemmModule } from '../../src/engine/wasm/gemm.js';
import { sharedScratchBytes } from '../../src/engine/wasm/runtime.js';
import { getSha256Implementation, portableSha256, sha256, sha256Runs, toHex } from '../../src/hash/sha256.js';
import { loadHashWasm, installWasmSha256 } from '../../src/hash/wasm.js';
import { createSha256x4Runs } from '../../src/hash/sha256x4.js';
import { verifyReceipt } from '../../src/proof/verify.js';
import { tensorDigest } from '../../src/tensor/canonical.js';
import { DType } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { benchModels } from '../fixtures/models.js';
import { hashBuffers, SIMD_PROBE } from './shared.js';

const digests = (ts: readonly Tensor[]) => ts.map((t) => toHex(tensorDigest(t)));

async function fetchBytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main(): Promise<unknown> {
  // 2. the WebAssembly SHA-256, installed before anything hashes
  const installed = await installWasmSha256();
  const hash = {
    installed,
    hashWasm: (await loadHashWasm()) !== undefined,
    simdX4: createSha256x4Runs() !== undefined,
    singleIsPortable: getSha256Implementation().f === portableSha256,
    digests: hashBuffers().map((b) => toHex(sha256(b))),
    // leaf hashes of 1 KiB runs with prefix 0 (the tensor chunk leaves) over a 5000-byte buffer
    runs: (() => {
      const data = hashBuffers().at(-1)!;
      const out = new Uint8Array(32 * Math.ceil(data.length / 1024));
      sha256Runs(0, data, 1024, out);
      return toHex(out);
    })(),
  };

  // 3. the fast paths: WebAssembly SIMD present, kernel modules compiled, scratch used
  const scratchBefore = sharedScratchBytes();
  const wasm = {
    simdValidates: typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE),
    gemmAvailable: gemmModule.available,
    scratchBefore,
    scratchAfter: 0,
    crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };

  // 1. the bench models (matmul512, mlp, cnn, transformer), traced, single-threaded
  const models: Record<string, { modelSha256: string; outputs: string[]; traceRoot: string; ms: number }> = {};
  const fixtures = benchModels();
  for (const m of fixtures) {
    const session = createSession(m.bytes);
    const t0 = performance.now();
    const r = session.run(m.feeds, { trace: true });
    models[m.name] = { modelSha256: toHex(sha256(m.bytes)), outputs: digests(r.outputList), traceRoot: toHex(r.trace!.root), ms: Math.round(performance.now() - t0) };
  }
  wasm.scratchAfter = sharedScratchBytes();

  // 4. the batch-parallel pool on real Web Workers (module worker bundled as /web-worker.js)
  const pool: Record<string, { outputs: string[]; workerResults: number; liveWorkers: number; workerMs: number[] }> = {};
  for (const m of fixtures.filter((f) => f.name === 'cnn' || f.name === 'mlp')) {
    const seen = { results: 0, ms: [] as number[] };
    const createWorker = (): WebWorkerLike => {
      const w = new Worker('/web-worker.js', { type: 'module' });
      // count the slices the workers answered (the pool itself only reports liveness)
      w.addEventListener('message', (e: MessageEvent<FromWorker>) => {
        if (e.data.type === 'result') {
          seen.results++;
          if (e.data.ms !== undefined) seen.ms.push(Math.round(e.data.ms));
        }
      });
      return w as unknown as WebWorkerLike;
    };
    const p = await createWebSessionPool(m.bytes, { workers: 2, createWorker, timeoutMs: 20_000 });
    try {
      const live = p.liveWorkers;
      const r = await p.run(m.feeds);
      pool[m.name] = { outputs: digests(r.outputList), workerResults: seen.results, liveWorkers: live, workerMs: seen.ms };
    } finally {
      await p.close();
    }
  }

  // 5. a receipt signed on Node, verified here against the served model and input
  const receiptJson = await (await fetch('/receipt.json')).json();
  const modelBytes = await fetchBytes('/cnn.onnx');
  const xBytes = await fetchBytes('/cnn-x.bin');
  const x = new Tensor(DType.float32, [8, 1, 28, 28], new Float32Array(xBytes.buffer, xBytes.byteOffset, xBytes.byteLength / 4));
  const now = receiptJson.typedData.message.issuedAt + 1;
  const honest = await verifyReceipt({ receipt: receiptJson, modelBytes, inputs: { x }, now });
  const tampered = structuredClone(receiptJson);
  const out: string = tampered.typedData.message.output;
  tampered.typedData.message.output = out.slice(0, -1) + (out.endsWith('0') ? '1' : '0');
  const bad = await verifyReceipt({ receipt: tampered, modelBytes, inputs: { x }, now });
  const receipt = {
    valid: honest.valid,
    failing: honest.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`),
    tamperedValid: bad.valid,
    tamperedFailing: bad.checks.filter((c) => !c.ok).map((c) => c.name),
    servedModelMatchesBuilt: toHex(sha256(modelBytes)) === models.cnn?.modelSha256,
  };

  return { ok: true, userAgent: navigator.userAgent, hash, wasm, models, pool, receipt };
}

const w = globalThis as unknown as { __result?: unknown };
main().then(
  (r) => (w.__result = r),
  (e: unknown) => (w.__result = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) }),
);
