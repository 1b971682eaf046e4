import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTensorProto } from '../src/onnx/tensorProto.js';
import { createSession } from '../src/engine/session.js';
import { DType } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';
import { tensorDigest } from '../src/tensor/canonical.js';
import { toHex } from '../src/hash/sha256.js';
import { tempDir } from '../src/store/testing.js';
import { runCliSync as cli, smallModel as model } from './fixtures/cli.js';

let dir = '';

before(() => {
  dir = tempDir('cli');
  writeFileSync(join(dir, 'model.onnx'), model);
  writeFileSync(join(dir, 'in.json'), JSON.stringify({ x: { dims: [2, 2], data: [1, -1, 0.5, 2] } }));
  writeFileSync(join(dir, 'nested.json'), JSON.stringify({ x: [[1, -1], [0.5, 2]] }));
  writeFileSync(join(dir, 'in.pb'), encodeTensorProto(new Tensor(DType.float32, [2, 2], Float32Array.from([1, -1, 0.5, 2])), 'x'));
  writeFileSync(join(dir, 'garbage.json'), '{"x": [1, 2,');
  writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ x: { dims: [3], data: [1, 2, 3] } }));
  writeFileSync(join(dir, 'bad.onnx'), 'definitely not protobuf');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('run --json prints the public JSON contract', () => {
  const r = cli('run', join(dir, 'model.onnx'), '--input', join(dir, 'in.json'), '--json', '--trace');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(out.outputs.y, { dtype: 'float32', dims: [2, 2], data: [0, 0, 6.5, 9] });
  const session = createSession(model);
  const x = new Tensor(DType.float32, [2, 2], Float32Array.from([1, -1, 0.5, 2]));
  const res = session.run({ x }, { trace: true });
  assert.equal(out.digests.y, toHex(tensorDigest(res.outputs.y!)));
  assert.equal(out.traceRoot, toHex(res.trace!.root));
  assert.match(out.traceRoot, /^0x[0-9a-f]{64}$/);
});

test('nested JSON and .pb inputs give the same result; no trace root without --trace', () => {
  const a = JSON.parse(cli('run', join(dir, 'model.onnx'), '--input', join(dir, 'nested.json'), '--json').stdout);
  const b = JSON.parse(cli('run', join(dir, 'model.onnx'), '--input', join(dir, 'in.pb'), '--json').stdout);
  assert.deepEqual(a, b);
  assert.equal(a.traceRoot, undefined);
});

test('human output shows outputs, digests and the trace root', () => {
  const r = cli('run', join(dir, 'model.onnx'), '--input', join(dir, 'in.json'), '--trace');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /y: float32 \[2, 2\]/);
  assert.match(r.stdout, /digest 0x[0-9a-f]{64}/);
  assert.match(r.stdout, /trace root 0x[0-9a-f]{64} \(2 nodes\)/);
});

test('bad inputs give one typed error line and exit 1, never a stack trace', () => {
  const cases: [string[], string][] = [
    [['run', join(dir, 'bad.onnx'), '--input', join(dir, 'in.json')], 'MODEL_DECODE_FAILED'],
    [['run', join(dir, 'model.onnx'), '--input', join(dir, 'garbage.json')], 'INVALID_INPUT_FILE'],
    [['run', join(dir, 'model.onnx'), '--input', join(dir, 'wrong.json')], 'INPUT_SHAPE_MISMATCH'],
    [['run', join(dir, 'model.onnx')], 'MISSING_INPUT'],
    [['run', join(dir, 'model.onnx'), '--input', join(dir, 'nope.json')], 'INVALID_INPUT_FILE'],
  ];
  for (const [args, code] of cases) {
    const r = cli(...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^error \\[${code}\\]`), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const j = cli(...args, '--json');
    assert.equal(JSON.parse(j.stdout).error.code, code);
  }
});

test('conformance --json ends with the summary object', () => {
  const caseDir = join(dir, 'cases', 'test_matmul_relu');
  const set = join(caseDir, 'test_data_set_0');
  spawnSync('mkdir', ['-p', set]);
  writeFileSync(join(caseDir, 'model.onnx'), model);
  writeFileSync(join(set, 'input_0.pb'), encodeTensorProto(new Tensor(DType.float32, [2, 2], Float32Array.from([1, -1, 0.5, 2]))));
  writeFileSync(join(set, 'output_0.pb'), encodeTensorProto(new Tensor(DType.float32, [2, 2], Float32Array.from([0, 0, 6.5, 9]))));
  const badDir = join(dir, 'cases', 'test_wrong_expectation');
  spawnSync('mkdir', ['-p', join(badDir, 'test_data_set_0')]);
  writeFileSync(join(badDir, 'model.onnx'), model);
  writeFileSync(join(badDir, 'test_data_set_0', 'input_0.pb'), encodeTensorProto(new Tensor(DType.float32, [2, 2], Float32Array.from([1, -1, 0.5, 2]))));
  writeFileSync(join(badDir, 'test_data_set_0', 'output_0.pb'), encodeTensorProto(new Tensor(DType.float32, [2, 2], Float32Array.from([0, 0, 6.5, 9.01]))));
  const r = cli('conformance', join(dir, 'cases'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(s.cases, 2);
  assert.equal(s.passed, 1);
  assert.equal(s.failed, 1);
  assert.equal(s.unsupported, 0);
  assert.equal(s.failures[0].case, 'test_wrong_expectation');
  assert.match(s.failures[0].reason, /element 3/);
});
