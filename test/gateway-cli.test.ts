import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { buildModel } from '../src/onnx/build.js';
import { DType } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';
import { ModelStore } from '../src/store/store.js';

/**
 * `verinfer gateway` and `verinfer fetch` end to end: a gateway process serves
 * one data dir, fetch processes download from it into others (real HTTP on
 * loopback), and the gateway stops cleanly on SIGINT.
 */

const bin = join(import.meta.dirname, '..', 'bin', 'verinfer.mjs');
let dir = '';
let cid = '';
let bytes: Uint8Array;

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): { child: ChildProcess; done: Promise<Result>; stdout: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Result>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}
const cli = (...args: string[]) => start(args).done;
const ok = (r: Result) => {
  assert.equal(r.status, 0, r.stderr);
  return r;
};
const jsonOf = (r: Result) => JSON.parse(ok(r).stdout.trim().split('\n').pop()!);

async function waitFor<T>(get: () => T | undefined, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verinfer-gateway-cli-'));
  const k = 100_000;
  const w = new Float32Array(k * 4);
  for (let i = 0; i < w.length; i++) w[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  bytes = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [1, k] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [1, 4] }],
    initializers: { w: new Tensor(DType.float32, [k, 4], w) },
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
  });
  const store = await ModelStore.open(join(dir, 'source'));
  cid = (await store.publish(bytes, { name: 'acme/big', account: privateKeyToAccount(generatePrivateKey()) })).cid;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('verinfer gateway serves a data dir; verinfer fetch downloads, verifies and pins; the gateway stops on SIGINT', async () => {
  const gw = start(['gateway', '--data-dir', join(dir, 'source'), '--port', '0', '--json']);
  try {
    const line = await waitFor(() => gw.stdout().split('\n').find((l) => l.startsWith('{')), 'the gateway URL');
    const { url } = JSON.parse(line) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const [fetched, human, failed] = await Promise.all([
      cli('fetch', cid, '--from', url, '--data-dir', join(dir, 'b'), '--json'),
      cli('fetch', cid, '--from', url, '--data-dir', join(dir, 'c'), '--no-car', '--concurrency', '2'),
      cli('fetch', cid, '--from', await deadUrl(), '--data-dir', join(dir, 'd'), '--retries', '0'),
    ]);
    const r = jsonOf(fetched);
    assert.equal(r.cid, cid);
    assert.ok(r.blocks > 1, 'a multi-block model');
    assert.equal(r.fetchedBlocks, r.blocks);
    assert.equal(r.reusedBlocks, 0);
    assert.ok(r.bytes > bytes.length);

    ok(human);
    assert.match(human.stdout, new RegExp(`^fetched ${cid}: ${r.blocks} blocks`));
    assert.match(human.stderr, /blocks \(\d+ downloaded, \d+ already here\)/, 'progress lines on stderr');

    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /^error \[FETCH_FAILED\]: cannot fetch block .*http:\/\/127\.0\.0\.1:\d+\/ipfs\//m);

    const [model, again] = await Promise.all([
      cli('model', cid, '--data-dir', join(dir, 'b'), '--json'),
      cli('fetch', cid, '--from', url, '--data-dir', join(dir, 'b'), '--json'),
    ]);
    const m = jsonOf(model);
    assert.equal(m.cid, cid);
    assert.equal(m.pinned, true);
    assert.equal(m.pin.blocks, r.blocks);
    const a = jsonOf(again);
    assert.equal(a.fetchedBlocks, 0, 'a rerun finds every block in the store');
    assert.equal(a.reusedBlocks, r.blocks);
  } finally {
    gw.child.kill('SIGINT');
  }
  const end = await gw.done;
  assert.equal(end.status, 0, end.stderr);
  assert.match(end.stderr, /SIGINT, stopping/);
  assert.throws(() => process.kill(gw.child.pid!, 0), /ESRCH/, 'no leftover gateway process');
});
