// One codebase from server to browser (DESIGN.md; issue 7): the engine layers, bundled
// for the browser with no Node built-ins (./browser/build.ts), run in headless Chromium
// and give the same bits as Node: output digests and trace roots of the bench models
// (WebAssembly kernels on), the WebAssembly SHA-256, the batch-parallel pool on real Web
// Workers, and a receipt signed here verified there.
//
// Needs a Chromium: VERINFER_CHROMIUM=/path, else /usr/bin/chromium or chromium /
// chromium-browser / google-chrome on PATH (Debian: apt-get install chromium; CI does
// it in .ci/run). Without one the test is skipped, saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { createSession } from '../src/engine/session.js';
import { toHex } from '../src/hash/sha256.js';
import { createReceipt } from '../src/proof/verify.js';
import { tensorDigest } from '../src/tensor/canonical.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { buildBrowserBundle, type Bundle } from './browser/build.js';
import { hashBuffers } from './browser/shared.js';
import { benchModels } from './fixtures/models.js';

const HOW = 'install Chromium (Debian/Ubuntu: apt-get install chromium) or set VERINFER_CHROMIUM=/path/to/chromium';

function findChromium(): string | undefined {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const env = process.env.VERINFER_CHROMIUM;
  if (env) return executable(env) ? env : undefined;
  if (executable('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (process.env.PATH ?? '').split(delimiter))
    for (const name of ['chromium', 'chromium-browser', 'google-chrome'])
      if (dir && executable(join(dir, name))) return join(dir, name);
  return undefined;
}

const chromium = findChromium();
const skip = chromium ? false : `no Chromium found: ${HOW}`;

/** What the page reports (./browser/page.ts). */
interface PageResult {
  ok: boolean;
  error?: string;
  userAgent: string;
  hash: { installed: boolean; hashWasm: boolean; simdX4: boolean; singleIsPortable: boolean; digests: string[]; runs: string };
  wasm: { simdValidates: boolean; gemmAvailable: boolean; scratchBefore: number; scratchAfter: number };
  models: Record<string, { modelSha256: string; outputs: string[]; traceRoot: string; ms: number }>;
  pool: Record<string, { outputs: string[]; workerResults: number; liveWorkers: number; workerMs: number[] }>;
  receipt: { valid: boolean; failing: string[]; tamperedValid: boolean; tamperedFailing: string[]; servedModelMatchesBuilt: boolean };
}

const digests = (ts: readonly Tensor[]) => ts.map((t) => toHex(tensorDigest(t)));
const nodeSha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

// built once, by the first test (no Chromium needed), served by the second
let bundle: Promise<Bundle> | undefined;

test('the engine layers bundle for the browser with no Node built-ins', async () => {
  bundle = buildBrowserBundle();
  const { files, inputs } = await bundle;
  assert.deepEqual([...files.keys()].sort(), ['/page.js', '/web-worker.js']);
  for (const dir of ['src/engine/', 'src/tensor/', 'src/onnx/', 'src/proof/', 'src/hash/'])
    assert.ok(inputs.some((i) => i.startsWith(dir)), `${dir} missing from the bundle`);
  for (const dir of ['src/platform/', 'src/cli/', 'src/node/', 'src/store/', 'src/devnet/'])
    assert.ok(!inputs.some((i) => i.startsWith(dir)), `the browser bundle pulls in ${dir}`);
  // the guard itself: a Node built-in anywhere in the graph fails the build
  const dir = mkdtempSync(join(tmpdir(), 'verinfer-bundle-'));
  try {
    for (const spec of ['node:fs', 'fs', 'crypto', 'node:worker_threads']) {
      const entry = join(dir, 'entry.ts');
      writeFileSync(entry, `import * as m from '${spec}';\nconsole.log(m);\n`);
      await assert.rejects(buildBrowserBundle({ entry }), /Node-only module/, spec);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the engine runs unchanged in headless Chromium and gives the same bits as Node', { skip, timeout: 60_000 }, async (t) => {
  // Node side first (synchronous work would stall the server the page loads from)
  const fixtures = benchModels();
  const expected: Record<string, { modelSha256: string; outputs: string[]; traceRoot: string }> = {};
  for (const m of fixtures) {
    const r = createSession(m.bytes).run(m.feeds, { trace: true });
    expected[m.name] = { modelSha256: toHex(nodeSha(m.bytes)), outputs: digests(r.outputList), traceRoot: toHex(r.trace!.root) };
  }
  const cnn = fixtures.find((m) => m.name === 'cnn')!;
  const account = privateKeyToAccount(('0x' + '42'.repeat(32)) as Hex);
  const { receipt } = await createReceipt({ modelBytes: cnn.bytes, inputs: cnn.feeds, account, now: 1_750_000_000, requestId: ('0x' + 'ab'.repeat(32)) as Hex });
  const x = cnn.feeds.x!.data as Float32Array;

  const { files: bundled } = await (bundle ??= buildBrowserBundle());

  const html = '<!doctype html><meta charset="utf-8"><title>verinfer browser test</title><script type="module" src="/page.js"></script>';
  const files = new Map<string, [string, Uint8Array | string]>([
    ['/', ['text/html', html]],
    ['/receipt.json', ['application/json', JSON.stringify(receipt)]],
    ['/cnn.onnx', ['application/octet-stream', cnn.bytes]],
    ['/cnn-x.bin', ['application/octet-stream', new Uint8Array(x.buffer, x.byteOffset, x.byteLength)]],
  ]);
  for (const [path, body] of bundled) files.set(path, ['text/javascript', body]);
  const server: Server = createServer((req, res) => {
    const f = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({
    executablePath: chromium as string,
    headless: true,
    // a fresh profile per launch (Playwright's own temporary --user-data-dir); no
    // background traffic: this runs on closed networks
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const logs: string[] = [];
  let result: PageResult;
  try {
    const page = await browser.newPage();
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, null, { timeout: 30_000 });
    result = (await page.evaluate(() => (globalThis as { __result?: unknown }).__result)) as PageResult;
  } finally {
    await browser.close();
    server.close();
  }
  assert.ok(result.ok, `page failed: ${result.error}\n${logs.join('\n')}`);
  t.diagnostic(`${result.userAgent}`);
  t.diagnostic(`sha256: ${JSON.stringify({ installed: result.hash.installed, hashWasm: result.hash.hashWasm, simdX4: result.hash.simdX4 })}; wasm: ${JSON.stringify(result.wasm)}`);
  t.diagnostic(`browser ms: ${Object.entries(result.models).map(([k, v]) => `${k} ${v.ms}`).join(', ')}; worker slice ms: ${JSON.stringify(Object.fromEntries(Object.entries(result.pool).map(([k, v]) => [k, v.workerMs])))}`);

  // SHA-256: the WebAssembly implementations ran, and agree with Node's
  const h = result.hash;
  assert.deepEqual({ installed: h.installed, hashWasm: h.hashWasm, simdX4: h.simdX4, singleIsPortable: h.singleIsPortable }, { installed: true, hashWasm: true, simdX4: true, singleIsPortable: false });
  assert.deepEqual(h.digests, hashBuffers().map((b) => toHex(nodeSha(b))));
  const big = hashBuffers().at(-1)!;
  const runs = new Uint8Array(32 * Math.ceil(big.length / 1024));
  for (let i = 0; i < big.length; i += 1024) runs.set(nodeSha(Uint8Array.of(0), big.subarray(i, i + 1024)), i / 32);
  assert.equal(h.runs, toHex(runs));

  // the fast paths ran: SIMD validates, the gemm module compiled, the shared kernel scratch memory was used
  assert.equal(result.wasm.simdValidates, true);
  assert.equal(result.wasm.gemmAvailable, true);
  assert.equal(result.wasm.scratchBefore, 0);
  assert.ok(result.wasm.scratchAfter > 0, 'no WebAssembly kernel used the shared scratch memory');

  // the models: same outputs and trace roots, bit for bit
  assert.deepEqual(
    Object.fromEntries(Object.entries(result.models).map(([k, v]) => [k, { modelSha256: v.modelSha256, outputs: v.outputs, traceRoot: v.traceRoot }])),
    expected,
  );

  // the pool on Web Workers: same outputs as single-threaded, and a worker computed a slice
  for (const name of ['cnn', 'mlp']) {
    const p = result.pool[name]!;
    assert.deepEqual(p.outputs, expected[name]!.outputs, `${name}: pool outputs differ`);
    assert.equal(p.liveWorkers, 1, `${name}: the Web Worker did not start`);
    assert.equal(p.workerResults, 1, `${name}: the Web Worker computed no slice`);
  }

  // the receipt signed on Node verifies in the browser; a tampered one does not
  assert.deepEqual(result.receipt, { valid: true, failing: [], tamperedValid: false, tamperedFailing: ['signature', 'output'], servedModelMatchesBuilt: true });
});
