import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseReceipt, recoverReceiptSigner } from '../src/proof/receipt.js';
import { tempDir } from '../src/store/testing.js';
import { lastJson, runCliSync as cli, smallModel as model } from './fixtures/cli.js';

let dir = '';
const p = (name: string) => join(dir, name);

before(() => {
  dir = tempDir('receipt-cli');
  writeFileSync(p('model.onnx'), model);
  writeFileSync(p('in.json'), JSON.stringify({ x: { dims: [2, 2], data: [1, -1, 0.5, 2] } }));
  writeFileSync(p('in2.json'), JSON.stringify({ x: { dims: [2, 2], data: [1, -1, 0.5, 3] } }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('key new writes a 0600 key file, refuses to overwrite it, and key show prints the address', () => {
  const r = cli('key', 'new', p('key.json'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const { address } = lastJson(r.stdout);
  assert.match(address, /^0x[0-9a-fA-F]{40}$/);
  assert.equal(statSync(p('key.json')).mode & 0o777, 0o600);
  const file = JSON.parse(readFileSync(p('key.json'), 'utf8'));
  assert.equal(file.address, address);
  assert.match(file.privateKey, /^0x[0-9a-f]{64}$/);
  assert.ok(!r.stdout.includes(file.privateKey.slice(2)), 'never prints the private key');

  const again = cli('key', 'new', p('key.json'));
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^error \[KEY_EXISTS\]/);
  assert.equal(JSON.parse(readFileSync(p('key.json'), 'utf8')).privateKey, file.privateKey, 'untouched');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');

  const show = cli('key', 'show', p('key.json'));
  assert.equal(show.status, 0, show.stderr);
  assert.equal(show.stdout.trim(), address);

  const forced = cli('key', 'new', p('key2.json'));
  assert.equal(forced.status, 0);
  const f2 = cli('key', 'new', p('key2.json'), '--force', '--json');
  assert.equal(f2.status, 0, f2.stderr);
  assert.equal(JSON.parse(readFileSync(p('key2.json'), 'utf8')).address, lastJson(f2.stdout).address);
  assert.equal(statSync(p('key2.json')).mode & 0o777, 0o600);
});

test('key show rejects broken key files with KEY_INVALID', () => {
  const good = JSON.parse(readFileSync(p('key.json'), 'utf8'));
  const cases: [string, string][] = [
    ['garbage.key', '{"address": '],
    ['nokey.key', JSON.stringify({ address: good.address })],
    ['mismatch.key', JSON.stringify({ address: '0x' + '00'.repeat(19) + '01', privateKey: good.privateKey })],
    ['zero.key', JSON.stringify({ address: good.address, privateKey: '0x' + '00'.repeat(32) })],
  ];
  for (const [name, text] of cases) {
    writeFileSync(p(name), text);
    const r = cli('key', 'show', p(name));
    assert.equal(r.status, 1, name);
    assert.match(r.stderr, /^error \[KEY_INVALID\]/, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.match(cli('key', 'show', p('missing.key')).stderr, /^error \[KEY_INVALID\]/);
});

test('run --receipt --key signs a receipt that verify accepts', async () => {
  const address = JSON.parse(readFileSync(p('key.json'), 'utf8')).address;
  const plain = lastJson(cli('run', p('model.onnx'), '--input', p('in.json'), '--json', '--trace').stdout);
  const r = cli('run', p('model.onnx'), '--input', p('in.json'), '--receipt', p('receipt.json'), '--key', p('key.json'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = lastJson(r.stdout);
  // existing fields unchanged (the receipt implies the trace), plus the receipt
  assert.deepEqual(out.outputs, plain.outputs);
  assert.deepEqual(out.digests, plain.digests);
  assert.equal(out.traceRoot, plain.traceRoot);
  const fromFile = JSON.parse(readFileSync(p('receipt.json'), 'utf8'));
  assert.deepEqual(out.receipt, fromFile);
  const receipt = parseReceipt(fromFile);
  assert.equal(receipt.typedData.message.executor, address);
  assert.equal(receipt.typedData.message.traceRoot, plain.traceRoot);
  assert.equal(receipt.typedData.domain.chainId, 31337);
  assert.equal(await recoverReceiptSigner(receipt), address);

  const v = cli('verify', p('receipt.json'), '--model', p('model.onnx'), '--input', p('in.json'), '--json');
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const res = lastJson(v.stdout);
  assert.equal(res.valid, true);
  assert.deepEqual(
    res.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]),
    ['schema', 'signature', 'model', 'semantics', 'input', 'output', 'traceRoot'].map((n) => [n, true]),
  );

  const human = cli('verify', p('receipt.json'), '--model', p('model.onnx'), '--input', p('in.json'));
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /^✓ schema/m);
  assert.match(human.stdout, /^✓ traceRoot/m);
  assert.match(human.stdout, /\nVALID\n$/);
});

test('run --receipt honours --chain-id and --request-id and rejects bad options', () => {
  const rid = '0x' + 'ab'.repeat(32);
  const r = cli('run', p('model.onnx'), '-i', p('in.json'), '--receipt', p('r8453.json'), '--key', p('key.json'), '--chain-id', '8453', '--request-id', rid);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /receipt .* signed by 0x[0-9a-fA-F]{40} \(chain 8453/);
  const receipt = parseReceipt(JSON.parse(readFileSync(p('r8453.json'), 'utf8')));
  assert.equal(receipt.typedData.domain.chainId, 8453);
  assert.equal(receipt.typedData.message.requestId, rid);
  const bad: string[][] = [
    ['--receipt', p('x.json')],
    ['--key', p('key.json')],
    ['--receipt', p('x.json'), '--key', p('key.json'), '--chain-id', 'abc'],
    ['--receipt', p('x.json'), '--key', p('key.json'), '--request-id', '0x12'],
  ];
  for (const extra of bad) {
    const b = cli('run', p('model.onnx'), '-i', p('in.json'), ...extra);
    assert.equal(b.status, 1, extra.join(' '));
    assert.match(b.stderr, /^error \[INVALID_ARGUMENT\]/, b.stderr);
  }
});

test('verify rejects a tampered receipt or other inputs with exit 1 and valid:false', () => {
  const receipt = JSON.parse(readFileSync(p('receipt.json'), 'utf8'));
  receipt.typedData.message.output = '0x' + '00'.repeat(32);
  writeFileSync(p('tampered.json'), JSON.stringify(receipt));
  const v = cli('verify', p('tampered.json'), '--model', p('model.onnx'), '--input', p('in.json'), '--json');
  assert.equal(v.status, 1);
  const res = lastJson(v.stdout);
  assert.equal(res.valid, false);
  assert.deepEqual(res.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name), ['signature', 'output']);

  const other = cli('verify', p('receipt.json'), '--model', p('model.onnx'), '--input', p('in2.json'));
  assert.equal(other.status, 1);
  assert.match(other.stdout, /^✗ input/m);
  assert.match(other.stdout, /\nINVALID\n$/);
});

test('verify with a malformed receipt is one clear error, exit 1, no stack trace', () => {
  writeFileSync(p('garbage.json'), '{"schema": ');
  writeFileSync(p('wrongschema.json'), JSON.stringify({ schema: 'verinfer-receipt/9' }));
  const receipt = JSON.parse(readFileSync(p('receipt.json'), 'utf8'));
  delete receipt.typedData.message.traceRoot;
  writeFileSync(p('missing.json'), JSON.stringify(receipt));
  for (const [file, path] of [
    ['garbage.json', 'receipt'],
    ['wrongschema.json', 'schema'],
    ['missing.json', 'typedData.message.traceRoot'],
  ]) {
    const r = cli('verify', p(file!), '--model', p('model.onnx'), '--input', p('in.json'));
    assert.equal(r.status, 1, file);
    assert.match(r.stderr, /^error \[RECEIPT_INVALID\]/, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const j = cli('verify', p(file!), '--model', p('model.onnx'), '--input', p('in.json'), '--json');
    assert.equal(j.status, 1);
    const e = lastJson(j.stdout).error;
    assert.equal(e.code, 'RECEIPT_INVALID');
    assert.equal(e.details.path, path);
  }
});
