import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createSession } from '../src/engine/session.js';
import { canonicalData } from '../src/tensor/canonical.js';
import { fixtureDigests, smallModels } from './fixtures/digests.js';

test('repeated runs give identical output bytes and trace roots', () => {
  for (const m of smallModels()) {
    const s = createSession(m.bytes);
    const a = s.run(m.feeds, { trace: true });
    const b = createSession(m.bytes).run(m.feeds, { trace: true });
    const c = s.run(m.feeds, { trace: true });
    for (const r of [b, c]) {
      assert.deepEqual(r.trace!.root, a.trace!.root, m.name);
      r.outputList.forEach((t, i) => assert.deepEqual(canonicalData(t), canonicalData(a.outputList[i]!), m.name));
    }
  }
});

test('the interpreter-only tier (node --jitless) computes the same bytes as the optimising JIT', () => {
  const here = fixtureDigests();
  const script = join(import.meta.dirname, 'fixtures', 'digests.ts');
  const r = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), here);
});

test('a worker thread (another isolate) computes the same bytes', async () => {
  const here = fixtureDigests();
  const there = await new Promise((resolve, reject) => {
    const w = new Worker(join(import.meta.dirname, 'fixtures', 'digests-worker.mjs'));
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.deepEqual(there, here);
});
