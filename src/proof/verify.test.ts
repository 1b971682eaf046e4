import { test } from 'node:test';
import assert from 'node:assert/strict';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { buildModel } from '../onnx/build.js';
import { createSession, SEMANTICS_VERSION } from '../engine/session.js';
import { modelCid } from '../hash/cid.js';
import { toHex } from '../hash/sha256.js';
import { tensorListDigest } from '../tensor/canonical.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { parseReceipt, recoverReceiptSigner, signReceipt, type Receipt } from './receipt.js';
import { createReceipt, verifyReceipt, type VerifyResult } from './verify.js';

const acct = privateKeyToAccount(('0x' + '42'.repeat(32)) as Hex);
const other = privateKeyToAccount(('0x' + '43'.repeat(32)) as Hex);

const modelSpec = (w: number[]) =>
  buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [2, 2] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [2, 2] }],
    initializers: { w: new Tensor(DType.float32, [2, 2], Float32Array.from(w)) },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { op: 'Relu', inputs: ['m'], outputs: ['y'] },
    ],
  });
const model = modelSpec([1, 2, 3, 4]);
const otherModel = modelSpec([1, 2, 3, 5]);
const x = new Tensor(DType.float32, [2, 2], Float32Array.from([1, -1, 0.5, 2]));
const x2 = new Tensor(DType.float32, [2, 2], Float32Array.from([1, -1, 0.5, 3]));
const NOW = 1_750_000_000;

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));
const failing = (r: VerifyResult) => r.checks.filter((c) => !c.ok).map((c) => c.name);
const CHECKS = ['schema', 'signature', 'model', 'semantics', 'input', 'output', 'traceRoot'];

async function honest(): Promise<Receipt> {
  return (await createReceipt({ modelBytes: model, inputs: { x }, account: acct, now: NOW, requestId: ('0x' + 'ab'.repeat(32)) as Hex })).receipt;
}

test('createReceipt runs the model and signs what it computed', async () => {
  const { receipt, outputs, result } = await createReceipt({ modelBytes: model, inputs: { x }, account: acct, now: NOW });
  assert.deepEqual([...outputs.y!.data], [0, 0, 6.5, 9]);
  const m = receipt.typedData.message;
  const cid = await modelCid(model);
  assert.equal(receipt.modelCid, cid.cid);
  assert.equal(m.model, toHex(cid.digest));
  assert.equal(m.input, toHex(tensorListDigest([x])));
  assert.equal(m.output, toHex(tensorListDigest(result.outputList)));
  assert.equal(m.traceRoot, toHex(result.trace!.root));
  assert.equal(m.semantics, SEMANTICS_VERSION);
  assert.equal(m.executor, acct.address);
  assert.equal(m.issuedAt, NOW);
  assert.equal(m.expiresAt, NOW + 86400);
  assert.equal(receipt.typedData.domain.chainId, 31337);
  assert.match(m.requestId, /^0x[0-9a-f]{64}$/);
  const again = await createReceipt({ modelBytes: model, inputs: { x }, account: acct, now: NOW });
  assert.notEqual(again.receipt.typedData.message.requestId, m.requestId, 'random request ids');
  assert.equal(await recoverReceiptSigner(receipt), acct.address);
});

test('an honest receipt verifies, through JSON, with a given or a fresh session', async () => {
  const receipt = clone(await honest());
  const r = await verifyReceipt({ receipt, modelBytes: model, inputs: { x }, now: NOW });
  assert.deepEqual(r.checks.map((c) => c.name), CHECKS);
  assert.deepEqual(failing(r), [], JSON.stringify(r.checks));
  assert.equal(r.valid, true);
  assert.equal(r.expired, false);
  const s = await verifyReceipt({ receipt, modelBytes: model, inputs: { x }, now: NOW, session: createSession(model) });
  assert.equal(s.valid, true);
});

test('expiry is reported separately and does not affect validity', async () => {
  const receipt = await honest();
  const exp = receipt.typedData.message.expiresAt;
  assert.equal((await verifyReceipt({ receipt, modelBytes: model, inputs: { x }, now: exp })).expired, false);
  const late = await verifyReceipt({ receipt, modelBytes: model, inputs: { x }, now: exp + 1 });
  assert.equal(late.expired, true);
  assert.equal(late.valid, true);
});

test('a different input, model or semantics fails the right check', async () => {
  const receipt = await honest();
  const a = await verifyReceipt({ receipt, modelBytes: model, inputs: { x: x2 }, now: NOW });
  assert.equal(a.valid, false);
  assert.deepEqual(failing(a), ['input', 'output', 'traceRoot']);
  const b = await verifyReceipt({ receipt, modelBytes: otherModel, inputs: { x }, now: NOW });
  assert.equal(b.valid, false);
  assert.deepEqual(failing(b), ['model', 'output', 'traceRoot']);
  assert.match(b.checks.find((c) => c.name === 'model')!.detail, /model bytes are bafk/);
});

test('a dishonest executor (outputs altered before signing) fails output only', async () => {
  const m = (await honest()).typedData.message;
  const forged = await signReceipt(
    { modelCid: (await modelCid(model)).cid, chainId: 31337, message: { ...m, output: toHex(tensorListDigest([x2])) as Hex } },
    acct,
  );
  const r = await verifyReceipt({ receipt: forged, modelBytes: model, inputs: { x }, now: NOW });
  assert.equal(r.valid, false);
  assert.deepEqual(failing(r), ['output']);
  // and one that also lies about the trace
  const forged2 = await signReceipt(
    { modelCid: forged.modelCid, chainId: 31337, message: { ...m, output: toHex(tensorListDigest([x2])) as Hex, traceRoot: ('0x' + '77'.repeat(32)) as Hex } },
    acct,
  );
  assert.deepEqual(failing(await verifyReceipt({ receipt: forged2, modelBytes: model, inputs: { x }, now: NOW })), ['output', 'traceRoot']);
});

test('a receipt signed with another key but claiming this executor fails signature', async () => {
  const m = (await honest()).typedData.message;
  const r = await signReceipt({ modelCid: (await modelCid(model)).cid, chainId: 31337, message: { ...m, executor: acct.address } }, other);
  const v = await verifyReceipt({ receipt: r, modelBytes: model, inputs: { x }, now: NOW });
  assert.deepEqual(failing(v), ['signature']);
  assert.match(v.checks[1]!.detail, new RegExp(`signed by ${other.address}, not by executor ${acct.address}`));
});

test('every field tampered after signing fails verification with the right check', async () => {
  const receipt = await honest();
  const cases: [string, (r: Receipt) => void, string[]][] = [
    ['model', (r) => (r.typedData.message.model = ('0x' + '01'.repeat(32)) as Hex), ['signature', 'model']],
    ['modelCid', (r) => (r.modelCid = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4'), ['model']],
    ['input', (r) => (r.typedData.message.input = toHex(tensorListDigest([x2])) as Hex), ['signature', 'input']],
    ['output', (r) => (r.typedData.message.output = ('0x' + '02'.repeat(32)) as Hex), ['signature', 'output']],
    ['traceRoot', (r) => (r.typedData.message.traceRoot = ('0x' + '03'.repeat(32)) as Hex), ['signature', 'traceRoot']],
    ['semantics', (r) => (r.typedData.message.semantics = 'verinfer-canonical/0'), ['signature', 'semantics']],
    ['requestId', (r) => (r.typedData.message.requestId = ('0x' + '04'.repeat(32)) as Hex), ['signature']],
    ['executor', (r) => (r.typedData.message.executor = other.address), ['signature']],
    ['issuedAt', (r) => (r.typedData.message.issuedAt -= 1), ['signature']],
    ['expiresAt', (r) => (r.typedData.message.expiresAt += 365 * 86400), ['signature']],
    ['chainId', (r) => (r.typedData.domain.chainId = 1), ['signature']],
    ['signature', (r) => (r.signature = (r.signature.slice(0, 10) + (r.signature[10] === 'a' ? 'b' : 'a') + r.signature.slice(11)) as Hex), ['signature']],
    ['schema', (r) => ((r as any).schema = 'verinfer-receipt/0'), ['schema']],
  ];
  for (const [name, tamper, expected] of cases) {
    const t = clone(receipt);
    tamper(t);
    const v = await verifyReceipt({ receipt: t, modelBytes: model, inputs: { x }, now: NOW });
    assert.equal(v.valid, false, name);
    assert.deepEqual(failing(v), expected, `${name}: ${JSON.stringify(v.checks)}`);
  }
});

test('a malformed receipt fails schema only, with the path; never throws', async () => {
  for (const bad of [null, 42, {}, { schema: 'verinfer-receipt/1' }]) {
    const v = await verifyReceipt({ receipt: bad, modelBytes: model, inputs: { x }, now: NOW });
    assert.equal(v.valid, false);
    assert.deepEqual(v.checks.map((c) => c.name), ['schema']);
    assert.match(v.checks[0]!.detail, /^RECEIPT_INVALID: /);
  }
  const r = clone(await honest()) as any;
  r.typedData.message.input = '0x12';
  const v = await verifyReceipt({ receipt: r, modelBytes: model, inputs: { x }, now: NOW });
  assert.match(v.checks[0]!.detail, /at typedData\.message\.input/);
});

test('a model that does not load, or inputs that do not fit, fail with the error code', async () => {
  const receipt = await honest();
  const bad = await verifyReceipt({ receipt, modelBytes: new TextEncoder().encode('not a model'), inputs: { x }, now: NOW });
  assert.deepEqual(failing(bad), ['model', 'input', 'output', 'traceRoot']);
  assert.match(bad.checks.find((c) => c.name === 'output')!.detail, /MODEL_DECODE_FAILED/);
  const missing = await verifyReceipt({ receipt, modelBytes: model, inputs: {}, now: NOW });
  assert.deepEqual(failing(missing), ['input', 'output', 'traceRoot']);
  assert.match(missing.checks.find((c) => c.name === 'input')!.detail, /^MISSING_INPUT/);
  const shape = await verifyReceipt({ receipt, modelBytes: model, inputs: { x: new Tensor(DType.float32, [4], Float32Array.from([1, 2, 3, 4])) }, now: NOW });
  assert.match(shape.checks.find((c) => c.name === 'output')!.detail, /INPUT_SHAPE_MISMATCH/);
  const unknown = await verifyReceipt({ receipt, modelBytes: model, inputs: { x, z: x }, now: NOW });
  assert.match(unknown.checks.find((c) => c.name === 'input')!.detail, /^UNKNOWN_INPUT/);
});

test('parseReceipt accepts what createReceipt emits after a JSON round trip', async () => {
  const r = await honest();
  assert.deepEqual(parseReceipt(JSON.parse(JSON.stringify(r))), r);
});
