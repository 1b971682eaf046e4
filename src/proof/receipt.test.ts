import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { privateKeyToAccount } from 'viem/accounts';
import { hashTypedData, type Hex } from 'viem';
import { VerinferError } from '../errors.js';
import {
  parseReceipt,
  receiptDigest,
  receiptTypedData,
  recoverReceiptSigner,
  RECEIPT_SCHEMA,
  signReceipt,
  types,
  type Receipt,
  type ReceiptFields,
} from './receipt.js';

const key1 = ('0x' + '11'.repeat(32)) as Hex;
const key2 = ('0x' + '22'.repeat(32)) as Hex;
const acct1 = privateKeyToAccount(key1);
const acct2 = privateKeyToAccount(key2);

const b32 = (byte: number) => ('0x' + byte.toString(16).padStart(2, '0').repeat(32)) as Hex;
const fields: ReceiptFields = {
  modelCid: 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4',
  chainId: 31337,
  message: {
    model: b32(1),
    input: b32(2),
    output: b32(3),
    traceRoot: b32(4),
    semantics: 'verinfer-canonical/1',
    requestId: b32(5),
    issuedAt: 1_700_000_000,
    expiresAt: 1_700_086_400,
  },
};

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

function expectInvalid(json: unknown, path: string | RegExp): void {
  assert.throws(
    () => parseReceipt(json),
    (e: unknown) => {
      assert.ok(e instanceof VerinferError);
      assert.equal(e.code, 'RECEIPT_INVALID');
      if (typeof path === 'string') assert.equal(e.details.path, path, e.message);
      else assert.match(String(e.details.path), path, e.message);
      return true;
    },
  );
}

test('sign → JSON → parse → recover round trip', async () => {
  const r = await signReceipt(fields, acct1);
  assert.equal(r.schema, RECEIPT_SCHEMA);
  assert.equal(r.typedData.message.executor, acct1.address);
  assert.match(r.signature, /^0x[0-9a-f]{130}$/);
  // secp256k1 signatures are deterministic (RFC 6979): golden value for this key and message
  assert.equal(
    r.signature,
    '0x5278c29e7a0a4c106d9b8e17a1537f5fb077815ffe5e676e4a1b92c125cde85a5643c43fb0ba76b2053ea226fb8de1454afe43960eac8b2209b603aa246ccdc31c',
  );
  const text = JSON.stringify(r);
  const parsed = parseReceipt(JSON.parse(text));
  assert.deepEqual(parsed, r);
  assert.equal(await recoverReceiptSigner(parsed), acct1.address);
  // the JSON form carries EIP712Domain, as eth_signTypedData_v4 takes it
  assert.deepEqual(Object.keys(parsed.typedData.types), ['EIP712Domain', 'Receipt']);
  assert.equal(parsed.typedData.primaryType, 'Receipt');
});

test('addresses are accepted in any letter case and hex is normalized', async () => {
  const r = clone(await signReceipt(fields, acct1));
  r.typedData.message.executor = r.typedData.message.executor.toLowerCase() as Hex;
  r.typedData.message.input = r.typedData.message.input.toUpperCase().replace('0X', '0x') as Hex;
  const p = parseReceipt(r);
  assert.equal(p.typedData.message.executor, acct1.address);
  assert.equal(p.typedData.message.input, b32(2));
  assert.equal(await recoverReceiptSigner(p), acct1.address);
});

test('a receipt signed by another key but claiming this executor recovers the other key', async () => {
  const r = await signReceipt({ ...fields, message: { ...fields.message, executor: acct1.address } }, acct2);
  assert.equal(r.typedData.message.executor, acct1.address);
  assert.equal(await recoverReceiptSigner(r), acct2.address);
});

test('tampering any signed field changes the recovered signer', async () => {
  const r = await signReceipt(fields, acct1);
  const tampers: [string, (x: Receipt) => void][] = [
    ['model', (x) => (x.typedData.message.model = b32(9))],
    ['input', (x) => (x.typedData.message.input = b32(9))],
    ['output', (x) => (x.typedData.message.output = b32(9))],
    ['traceRoot', (x) => (x.typedData.message.traceRoot = b32(9))],
    ['semantics', (x) => (x.typedData.message.semantics = 'verinfer-canonical/2')],
    ['requestId', (x) => (x.typedData.message.requestId = b32(9))],
    ['executor', (x) => (x.typedData.message.executor = acct2.address)],
    ['issuedAt', (x) => (x.typedData.message.issuedAt += 1)],
    ['expiresAt', (x) => (x.typedData.message.expiresAt += 1)],
    ['chainId', (x) => (x.typedData.domain.chainId = 1)],
  ];
  for (const [name, f] of tampers) {
    const t = clone(r);
    f(t);
    assert.notEqual(await recoverReceiptSigner(parseReceipt(t)), acct1.address, name);
  }
});

test('malformed receipts are RECEIPT_INVALID with the offending path', async () => {
  const r = await signReceipt(fields, acct1);
  const mut = (f: (x: any) => void) => {
    const t = clone(r) as any;
    f(t);
    return t;
  };
  expectInvalid(null, 'receipt');
  expectInvalid('not an object', 'receipt');
  expectInvalid([], 'receipt');
  expectInvalid({}, /^(schema|modelCid|typedData|signature)$/);
  expectInvalid(mut((x) => (x.schema = 'verinfer-receipt/2')), 'schema');
  expectInvalid(mut((x) => delete x.schema), 'schema');
  expectInvalid(mut((x) => (x.modelCid = 'not-a-cid')), 'modelCid');
  expectInvalid(mut((x) => (x.modelCid = 'QmaozNR7DZHQK1ZcU9p7QdrshMvXqWK6gpu5rmrkPdT3L4')), 'modelCid'); // CIDv0
  expectInvalid(mut((x) => delete x.signature), 'signature');
  expectInvalid(mut((x) => (x.signature = '0x1234')), 'signature');
  expectInvalid(mut((x) => (x.signature = x.signature.slice(0, 130) + '00')), 'signature'); // v = 0
  // the malleable twin (r, n - s, v ^ 1) recovers the same key but is rejected (EIP-2 low s)
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  expectInvalid(
    mut((x) => {
      const s = BigInt('0x' + x.signature.slice(66, 130));
      const v = x.signature.endsWith('1b') ? '1c' : '1b';
      x.signature = x.signature.slice(0, 66) + (N - s).toString(16).padStart(64, '0') + v;
    }),
    'signature',
  );
  expectInvalid(mut((x) => (x.extra = 1)), 'receipt');
  expectInvalid(mut((x) => (x.typedData.primaryType = 'Other')), 'typedData.primaryType');
  expectInvalid(mut((x) => (x.typedData.domain.name = 'Other')), 'typedData.domain.name');
  expectInvalid(mut((x) => (x.typedData.domain.version = '2')), 'typedData.domain.version');
  expectInvalid(mut((x) => (x.typedData.domain.chainId = '31337')), 'typedData.domain.chainId');
  expectInvalid(mut((x) => (x.typedData.domain.verifyingContract = '0x' + '00'.repeat(20))), 'typedData.domain');
  expectInvalid(mut((x) => (x.typedData.types.Receipt[0].type = 'bytes')), 'typedData.types.Receipt.0.type');
  expectInvalid(mut((x) => x.typedData.types.Receipt.reverse()), /^typedData\.types\.Receipt\.0\./);
  expectInvalid(mut((x) => x.typedData.types.Receipt.push({ name: 'x', type: 'uint8' })), 'typedData.types.Receipt');
  expectInvalid(mut((x) => delete x.typedData.types.EIP712Domain), 'typedData.types.EIP712Domain');
  expectInvalid(mut((x) => (x.typedData.types.EIP712Domain[2].type = 'uint64')), 'typedData.types.EIP712Domain.2.type');
  for (const f of ['model', 'input', 'output', 'traceRoot', 'requestId']) {
    expectInvalid(mut((x) => (x.typedData.message[f] = '0x' + '00'.repeat(31))), `typedData.message.${f}`);
    expectInvalid(mut((x) => (x.typedData.message[f] = '00'.repeat(32))), `typedData.message.${f}`);
    expectInvalid(mut((x) => delete x.typedData.message[f]), `typedData.message.${f}`);
  }
  expectInvalid(mut((x) => (x.typedData.message.executor = '0x1234')), 'typedData.message.executor');
  expectInvalid(mut((x) => (x.typedData.message.semantics = '')), 'typedData.message.semantics');
  expectInvalid(mut((x) => (x.typedData.message.issuedAt = -1)), 'typedData.message.issuedAt');
  expectInvalid(mut((x) => (x.typedData.message.expiresAt = 1.5)), 'typedData.message.expiresAt');
  expectInvalid(mut((x) => (x.typedData.message.expiresAt = 2 ** 60)), 'typedData.message.expiresAt');
  expectInvalid(mut((x) => (x.typedData.message.extra = 1)), 'typedData.message');
});

test('signReceipt refuses fields it could not parse back', async () => {
  await assert.rejects(signReceipt({ ...fields, message: { ...fields.message, input: '0x12' } }, acct1), (e: unknown) => {
    assert.ok(e instanceof VerinferError && e.code === 'RECEIPT_INVALID' && e.details.path === 'typedData.message.input');
    return true;
  });
});

// An independent EIP-712 implementation (keccak-256 from @noble/hashes), for one fixed receipt.
const utf8 = (s: string) => new TextEncoder().encode(s);
const fromHex = (h: string) => Uint8Array.from((h.slice(2).match(/../g) ?? []).map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => '0x' + [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const cat = (...xs: Uint8Array[]) => {
  const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) (out.set(x, o), (o += x.length));
  return out;
};
const word = (n: bigint) => fromHex('0x' + n.toString(16).padStart(64, '0'));
const addrWord = (a: string) => cat(new Uint8Array(12), fromHex(a));

function manualDigest(m: Receipt['typedData']['message'], chainId: number): string {
  const domainTypeHash = keccak_256(utf8('EIP712Domain(string name,string version,uint256 chainId)'));
  const domainSeparator = keccak_256(cat(domainTypeHash, keccak_256(utf8('Verinfer')), keccak_256(utf8('1')), word(BigInt(chainId))));
  const typeHash = keccak_256(
    utf8(
      'Receipt(bytes32 model,bytes32 input,bytes32 output,bytes32 traceRoot,string semantics,bytes32 requestId,address executor,uint64 issuedAt,uint64 expiresAt)',
    ),
  );
  const structHash = keccak_256(
    cat(
      typeHash,
      fromHex(m.model),
      fromHex(m.input),
      fromHex(m.output),
      fromHex(m.traceRoot),
      keccak_256(utf8(m.semantics)),
      fromHex(m.requestId),
      addrWord(m.executor),
      word(BigInt(m.issuedAt)),
      word(BigInt(m.expiresAt)),
    ),
  );
  return toHex(keccak_256(cat(new Uint8Array([0x19, 0x01]), domainSeparator, structHash)));
}

const GOLDEN_DIGEST = '0x9d3ee488ca97d58d1539c0c55471210de8d8f172d0472dd2c4dd687b13b729e9';

test('EIP-712 digest: viem equals an independent keccak-256 computation and the golden value', () => {
  const td = receiptTypedData({ ...fields.message, executor: acct1.address }, fields.chainId);
  const manual = manualDigest(td.message, td.domain.chainId);
  assert.equal(manual, GOLDEN_DIGEST);
  assert.equal(receiptDigest(td), GOLDEN_DIGEST);
  // viem given the JSON form's types (with EIP712Domain) and bigint integers agrees too
  assert.equal(
    hashTypedData({
      domain: { ...td.domain, chainId: BigInt(td.domain.chainId) },
      types: td.types,
      primaryType: 'Receipt',
      message: { ...td.message, issuedAt: BigInt(td.message.issuedAt), expiresAt: BigInt(td.message.expiresAt) },
    }),
    GOLDEN_DIGEST,
  );
  assert.equal(types.Receipt.map((f) => `${f.type} ${f.name}`).join(','), 'bytes32 model,bytes32 input,bytes32 output,bytes32 traceRoot,string semantics,bytes32 requestId,address executor,uint64 issuedAt,uint64 expiresAt');
});
