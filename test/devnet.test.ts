import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `verinfer devnet` end to end: 3 real nodes (1 byzantine) as children of the
 * devnet process, an `infer` through the CLI against an honest node, then
 * SIGTERM to the devnet and no node process left behind.
 */

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'verinfer.mjs');

let devnet: ChildProcess | undefined;
const pids: number[] = [];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A base port with `n` consecutive free ports. */
async function freeBasePort(n: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error('no free ports');
}

after(async () => {
  // Whatever happened: no devnet and no node left running.
  if (devnet && devnet.exitCode === null && devnet.signalCode === null) {
    devnet.kill('SIGKILL');
    await new Promise((r) => devnet!.once('exit', r));
  }
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

test('devnet: 3 nodes (1 byzantine), infer against an honest node, SIGTERM leaves no process behind', { timeout: 55_000 }, async () => {
  const base = await freeBasePort(3);
  devnet = spawn(process.execPath, [bin, 'devnet', '--nodes', '3', '--byzantine', '1', '--base-port', String(base), '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  devnet.stdout!.on('data', (d) => (out += d));
  devnet.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => devnet!.on('exit', (code, signal) => r({ code, signal })));
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);

  // Wait for the ready event (or an early exit).
  const ready = await new Promise<Record<string, any>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`devnet not ready in 40 s\nstdout: ${out}\nstderr: ${err}`)), 40_000);
    const check = () => {
      for (const e of events()) if (e.event === 'node-started') pids.includes(e.pid) || pids.push(e.pid);
      const r = events().find((e) => e.event === 'ready');
      if (r) {
        clearTimeout(timer);
        devnet!.stdout!.off('data', check);
        resolve(r);
      }
    };
    devnet!.stdout!.on('data', check);
    void exited.then((x) => reject(new Error(`devnet exited early (${x.code ?? x.signal})\nstdout: ${out}\nstderr: ${err}`)));
  });

  const nodes = ready.nodes as { index: number; url: string; address: string; pid: number; byzantine: string | null }[];
  assert.equal(nodes.length, 3);
  assert.deepEqual(nodes.map((n) => n.url), [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`));
  assert.deepEqual(nodes.map((n) => n.byzantine), [null, null, 'bitflip']);
  for (const n of nodes) {
    assert.match(n.address, /^0x[0-9a-fA-F]{40}$/);
    assert.ok(alive(n.pid), `node ${n.index} runs`);
    if (!pids.includes(n.pid)) pids.push(n.pid);
  }
  assert.deepEqual((ready.models as { name: string }[]).map((m) => m.name).sort(), ['penguins-classifier', 'sp500-forecaster']);
  assert.match(ready.example, /verinfer infer penguins-classifier --input models\/penguins-classifier.input.json --mode replicated --quorum 3 --node http/);
  assert.ok(existsSync(ready.dataDir));
  const published = events().filter((e) => e.event === 'published');
  assert.equal(published.length, 6, 'two models on three nodes');

  // infer through the CLI, mode none, against an honest node (node 1: not the first, to show every node serves the names)
  const honest = nodes[1]!;
  const r = spawnSync(process.execPath, [bin, 'infer', 'penguins-classifier', '--input', join(root, 'models/penguins-classifier.input.json'), '--node', honest.url, '--json'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const res = JSON.parse(r.stdout.trim());
  assert.equal(res.status, 'final');
  assert.deepEqual(res.outputs.label, { dtype: 'int64', dims: [1], data: [0] }); // Adelie
  assert.equal(res.outputs.probabilities.dtype, 'float32');
  assert.deepEqual(res.outputs.probabilities.dims, [1, 3]);
  assert.equal(res.receipts.length, 1);
  assert.equal(res.receipts[0].typedData.message.executor, honest.address);
  assert.deepEqual(res.faults, []);

  // the same output as `verinfer run` locally
  const local = spawnSync(process.execPath, [bin, 'run', join(root, 'models/penguins-classifier.onnx'), '--input', join(root, 'models/penguins-classifier.input.json'), '--json'], {
    encoding: 'utf8',
  });
  assert.deepEqual(res.outputs, JSON.parse(local.stdout).outputs);

  // SIGTERM: the devnet stops every node, removes its temp dir and exits 0
  devnet.kill('SIGTERM');
  const x = await exited;
  assert.equal(x.code, 0, `devnet exit ${x.code ?? x.signal}\nstderr: ${err}`);
  const evs = events().map((e) => e.event);
  assert.ok(evs.includes('stopping') && evs.at(-1) === 'stopped', evs.join(','));
  for (const pid of pids) assert.equal(alive(pid), false, `node pid ${pid} is gone`);
  assert.equal(existsSync(ready.dataDir), false, 'temporary data dir removed');
});
