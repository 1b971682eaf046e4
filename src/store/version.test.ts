import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyTypedData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { VerinferError } from '../errors.js';
import { canonicalJson, descriptionHash, messageOf, modelVersionTypedData, parseMetadata, signMetadata } from './metadata.js';
import type { ModelReport } from './report.js';
import { checkName, checkVersion, compareVersions, latestVersion, nextVersion } from './version.js';

test('versions order like semver and the next version bumps the last component', () => {
  const sorted = ['0.9', '1.0.0-alpha', '1.0.0-alpha.2', '1.0.0-alpha.10', '1.0.0-beta', '1', '1.0.0', '1.0.1', '1.2', '1.10.0', '2.0.0-rc.1', '2.0.0', '10'];
  const shuffled = [...sorted].reverse();
  assert.deepEqual(shuffled.sort(compareVersions), sorted);
  assert.equal(latestVersion(sorted), '10');
  assert.equal(nextVersion([]), '1.0.0');
  assert.equal(nextVersion(['1.0.0']), '1.0.1');
  assert.equal(nextVersion(['1.0.0', '1.2']), '1.3');
  assert.equal(nextVersion(['7', '3.1.4']), '8');
  assert.equal(nextVersion(['2.0.0-rc.1', '1.9.9']), '2.0.1');
  for (const v of ['1.0.0', '3', '0.1', '2.0.0-rc.1']) assert.equal(checkVersion(v), v);
  for (const v of ['v1', '01.0', '1.0.0.0', '', '1.0.0-', 'latest', '../1']) assert.throws(() => checkVersion(v), VerinferError, v);
  for (const n of ['resnet50', 'org/model-v2.onnx', 'a_b']) assert.equal(checkName(n), n);
  for (const n of ['Caps', '/abs', 'a/b/c', '../x', 'a/..', '.hidden', 'a b', '', 'bafybeidudknqwx4o547irvvb4yjeyfa5ndfno3g7ikcsr25a6k4tytdeqm']) {
    assert.throws(() => checkName(n), VerinferError, n);
  }
});

test('metadata: EIP-712 ModelVersion signature verifies with viem from the eth_signTypedData_v4 form; canonical JSON', async () => {
  const account = privateKeyToAccount(generatePrivateKey());
  const io = { inputs: [{ name: 'x', dtype: 'float32', shape: ['n', 3] }], outputs: [{ name: 'y', dtype: 'float32', shape: null }] };
  const doc = await signMetadata(
    {
      name: 'm',
      version: '1.0.0',
      cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
      description: '# Hi\n',
      task: 'demo',
      license: 'Apache-2.0',
      tags: ['B', 'a', 'b'],
      publishedAt: 1_700_000_000,
      io,
      report: {} as ModelReport,
    },
    account,
  );
  assert.deepEqual(doc.tags, ['a', 'b']);
  assert.equal(doc.descriptionHash, descriptionHash('# Hi\n'));
  const td = modelVersionTypedData(messageOf(doc));
  assert.deepEqual(td.domain, { name: 'Verinfer Model Hub', version: '1' });
  assert.equal(td.primaryType, 'ModelVersion');
  const { EIP712Domain: _, ...types } = td.types;
  assert.equal(await verifyTypedData({ address: account.address, domain: td.domain, types, primaryType: 'ModelVersion', message: { ...td.message, publishedAt: BigInt(td.message.publishedAt) }, signature: doc.signature }), true);
  assert.equal((await parseMetadata(JSON.parse(JSON.stringify(doc)))).signature, doc.signature);
  assert.equal(canonicalJson({ b: [1, { d: null, c: 'x' }], a: 'é' }), '{"a":"é","b":[1,{"c":"x","d":null}]}');
});
