// The sample models in models/: each runs through the engine with the accuracy its
// metadata records, its example input works with the CLI, onnxruntime agrees with
// the engine on it, and re-running the training scripts in-process reproduces every
// shipped file byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { createSession } from '../src/engine/session.js';
import { DType } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';
import { checkModels, TRAINERS } from '../scripts/train/all.js';
import { rawCid } from '../scripts/train/export.js';
import { penguinsData } from '../scripts/train/penguins-classifier.js';
import { forecastMetrics, sp500Data } from '../scripts/train/sp500-forecaster.js';

const root = join(import.meta.dirname, '..');
const modelsDir = join(root, 'models');
/** Accuracy may not drop more than this below the recorded value (the engine is bit-exact, so it should not drop at all). */
const MARGIN = 0.005;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (name: string) => ({
  bytes: new Uint8Array(readFileSync(join(modelsDir, `${name}.onnx`))),
  meta: JSON.parse(readFileSync(join(modelsDir, `${name}.json`), 'utf8')) as Json,
});

function batch(rows: readonly (readonly number[])[]): Tensor {
  const F = rows[0]!.length;
  const data = new Float32Array(rows.length * F);
  rows.forEach((r, i) => data.set(r, i * F));
  return new Tensor(DType.float32, [rows.length, F], data);
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

async function ortRun(bytes: Uint8Array, features: Tensor): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ features: new ort.Tensor('float32', features.data as Float32Array, [...features.shape]) });
  return Object.fromEntries(Object.entries(out).filter(([, t]) => t.type === 'float32').map(([k, t]) => [k, t.data as Float32Array]));
}

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: onnxruntime ${actual[i]} vs engine ${expected[i]}`);
  }
}

test('every shipped file has the digests its metadata records', () => {
  for (const name of Object.keys(TRAINERS)) {
    const { bytes, meta } = load(name);
    assert.equal(meta.name, name);
    assert.equal(meta.file.bytes, bytes.length, name);
    assert.equal(meta.file.sha256, createHash('sha256').update(bytes).digest('hex'), name);
    assert.equal(meta.file.cid, rawCid(bytes), name);
    assert.match(meta.file.cid, /^bafkrei/);
  }
});

for (const [name, data] of [['penguins-classifier', penguinsData]] as const) {
  test(`${name}: test-split accuracy through the engine, and onnxruntime agrees`, async () => {
    const { bytes, meta } = load(name);
    const d = data();
    const C = meta.labels.length as number;
    const features = batch(d.test.map((i) => d.rows[i]!));
    const out = createSession(bytes).run({ features }).outputs;
    const p = out.probabilities!.data as Float32Array;
    const label = out.label!.data as BigInt64Array;
    assert.deepEqual(out.probabilities!.shape, [d.test.length, C]);
    let correct = 0;
    d.test.forEach((i, k) => {
      const pred = argmax(p.subarray(k * C, (k + 1) * C));
      assert.equal(Number(label[k]), pred, `label output of test row ${k}`);
      if (pred === d.labels[i]) correct++;
    });
    const acc = correct / d.test.length;
    assert.ok(acc >= meta.metrics.testAccuracy - MARGIN, `${name}: accuracy ${acc} < recorded ${meta.metrics.testAccuracy}`);
    assert.ok(acc > meta.metrics.baselines.majorityClass.testAccuracy + 0.2, `${name}: accuracy ${acc} is not well above the majority-class baseline`);

    const ref = await ortRun(bytes, features);
    assertClose(ref.probabilities!, p, 1e-5, `${name} probabilities`);
  });
}

test('sp500-forecaster: test-split metrics through the engine, and onnxruntime agrees', async () => {
  const { bytes, meta } = load('sp500-forecaster');
  const d = sp500Data();
  const windows = d.test.map((k) => d.windows[k]!);
  const features = batch(windows);
  const out = createSession(bytes).run({ features }).outputs;
  for (const o of ['p_up', 'next_return', 'next_abs_return']) assert.deepEqual(out[o]!.shape, [d.test.length, 1], o);
  const f = {
    pUp: out.p_up!.data as Float32Array,
    nextReturn: out.next_return!.data as Float32Array,
    nextAbsReturn: out.next_abs_return!.data as Float32Array,
  };
  const m = forecastMetrics(f, d.test.map((k) => d.targets[k]!), windows, d.train.map((k) => d.targets[k]!));
  const rec = meta.metrics.test;
  assert.equal(m.samples, rec.samples);
  assert.ok(m.direction.accuracy >= rec.direction.accuracy - MARGIN, `direction accuracy ${m.direction.accuracy} < recorded ${rec.direction.accuracy}`);
  assert.ok(m.nextAbsReturn.mse <= rec.nextAbsReturn.mse * 1.01, `abs-return MSE ${m.nextAbsReturn.mse} > recorded ${rec.nextAbsReturn.mse}`);
  // What the README claims: the volatility head beats both of its naive baselines.
  assert.ok(m.nextAbsReturn.mse < m.nextAbsReturn.baselines.windowMeanAbsReturn.mse);
  assert.ok(m.nextAbsReturn.mse < m.nextAbsReturn.baselines.trainMean.mse);
  // independent check of the direction baseline: the share of up days in the test years
  const upShare = d.test.filter((k) => d.targets[k]! > 0).length / d.test.length;
  assert.ok(Math.abs(upShare - rec.direction.baselines.alwaysUp.accuracy) < 1e-6);

  const ref = await ortRun(bytes, features);
  assertClose(ref.p_up!, f.pUp, 1e-5, 'p_up');
  assertClose(ref.next_return!, f.nextReturn, 1e-6, 'next_return');
  assertClose(ref.next_abs_return!, f.nextAbsReturn, 1e-6, 'next_abs_return');
});

test('the example inputs run with the CLI (the quickstart command)', async () => {
  const runCli = promisify(execFile);
  await Promise.all(
    Object.keys(TRAINERS).map(async (name) => {
      const model = join(modelsDir, `${name}.onnx`);
      const { stdout } = await runCli(process.execPath, [join(root, 'bin', 'verinfer.mjs'), 'run', model, '--input', join(modelsDir, `${name}.input.json`), '--json']);
      const { outputs } = JSON.parse(stdout) as Json;
      const { meta } = load(name);
      for (const o of meta.outputs) assert.deepEqual(outputs[o.name].dims.slice(1), o.shape.slice(1), `${name} ${o.name}`);
      if (meta.labels) assert.equal(meta.labels[outputs.label.data[0]], meta.example.label, `${name}: example row is classified correctly`);
    }),
  );
});

test('re-running the training scripts reproduces every shipped file byte for byte', () => {
  assert.deepEqual(checkModels(), []);
});
