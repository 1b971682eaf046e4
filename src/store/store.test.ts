import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CID } from 'multiformats/cid';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { VerinferError } from '../errors.js';
import { modelCid } from '../hash/cid.js';
import { buildModel } from '../onnx/build.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { ModelStore } from './store.js';
import { parseMetadata } from './metadata.js';
import { bigModel, rejectsCode, tempDir, tinyModel } from './testing.js';

const account = privateKeyToAccount(generatePrivateKey());
let root = '';
let n = 0;
const fresh = () => ModelStore.open(join(root, `s${n++}`));

const big = bigModel();

function blockFiles(store: ModelStore): string[] {
  if (!existsSync(store.blocks.dir)) return [];
  return readdirSync(store.blocks.dir).flatMap((s) => readdirSync(join(store.blocks.dir, s)).map((f) => join(store.blocks.dir, s, f)));
}

before(() => {
  root = tempDir('store');
});
after(() => rmSync(root, { recursive: true, force: true }));

test('publish: the CID equals modelCid (kubo ipfs add --cid-version=1), small (raw leaf) and large (dag-pb root)', async () => {
  const store = await fresh();
  const small = tinyModel();
  const a = await store.publish(small, { name: 'tiny', account, description: '# Tiny\nA tiny model.', task: 'demo', tags: ['Toy', 'test'], license: 'MIT' });
  assert.equal(a.cid, (await modelCid(small)).cid);
  assert.match(a.cid, /^bafkrei/);
  assert.equal(a.version, '1.0.0');
  assert.equal(a.created, true);
  assert.deepEqual(a.metadata.tags, ['test', 'toy']);
  assert.deepEqual(await store.readModel('tiny'), small);

  const b = await store.publish(big, { name: 'big', account });
  assert.equal(b.cid, (await modelCid(big)).cid);
  const cid = CID.parse(b.cid);
  assert.equal(cid.code, 0x70, 'dag-pb root');
  assert.equal(b.blocks.total, Math.ceil(big.length / 262144) + 1);
  assert.deepEqual(await store.readModel(b.cid), big);
  assert.deepEqual(await store.readModel('big@1.0.0'), big);
  assert.deepEqual(await store.checkDag(b.cid), { blocks: b.blocks.total, bytes: (await store.pinInfo(b.cid))!.bytes });
});

test('report: io, op histogram, parameters, FLOPs (estimate at batch 1), verifiability', async () => {
  const store = await fresh();
  const r = await store.publish(tinyModel(), { name: 'tiny', account });
  const rep = r.report;
  assert.deepEqual(rep.inputs, [{ name: 'x', dtype: 'float32', shape: ['batch', 2] }]);
  assert.deepEqual(rep.outputs, [{ name: 'y', dtype: 'float32', shape: ['batch', 2] }]);
  assert.deepEqual(rep.ops, { MatMul: 1, Relu: 1 });
  assert.equal(rep.parameters, 4);
  assert.equal(rep.flops, 2 * 2 * 2 + 2); // MatMul [1,2]x[2,2]: 2·4 MACs; Relu: 2 elements
  assert.match(rep.flopsNote, /batch 1/);
  assert.equal(rep.verifiable, true);

  const conv = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: ['n', 3, 8, 8] }],
    outputs: [{ name: 'y', dtype: DType.float32 }],
    initializers: { w: new Tensor(DType.float32, [4, 3, 3, 3], new Float32Array(108)) },
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1] } }],
  });
  const c = await store.publish(conv, { name: 'conv', account });
  assert.equal(c.report.flops, 2 * (4 * 8 * 8) * (3 * 3 * 3));
  assert.equal(c.report.parameters, 108);

  // A default-domain op the engine lacks: publishable, but not verifiable.
  const fake = buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [2] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [2] }],
    nodes: [{ op: 'NoSuchOperator', inputs: ['x'], outputs: ['y'] }],
  });
  const u = await store.publish(fake, { name: 'unsupported', account });
  assert.equal(u.report.verifiable, false);
  assert.deepEqual(u.report.unsupportedOps, ['NoSuchOperator']);
  assert.equal(u.report.flops, null);
  assert.ok(u.report.warnings.some((w) => /not verifiable/.test(w)));
});

test('a malformed file is rejected with the loader\'s typed error and nothing is stored', async () => {
  const store = await fresh();
  await rejectsCode(store.publish(new TextEncoder().encode('definitely not an onnx model'), { name: 'bad', account }), 'MODEL_DECODE_FAILED');
  await rejectsCode(store.publish(new Uint8Array(0), { name: 'bad', account }), 'MODEL_DECODE_FAILED');
  await rejectsCode(store.publish(tinyModel(), { name: 'ok', account, tags: ['Not A Tag!'] }), 'METADATA_INVALID');
  assert.deepEqual(blockFiles(store), []);
  assert.deepEqual(await store.pins(), []);
  assert.deepEqual(await store.names(), []);
});

test('versions: automatic numbering, idempotent re-publish, immutability', async () => {
  const store = await fresh();
  const m1 = tinyModel(1);
  const m2 = tinyModel(2);
  const m3 = tinyModel(3);
  assert.equal((await store.publish(m1, { name: 'org/m', account })).version, '1.0.0');
  const again = await store.publish(m1, { name: 'org/m', account });
  assert.equal(again.version, '1.0.0');
  assert.equal(again.created, false);
  assert.equal((await store.publish(m2, { name: 'org/m', account })).version, '1.0.1');
  const cid1 = (await modelCid(m1)).cid;
  await rejectsCode(store.publish(m3, { name: 'org/m', account, version: '1.0.0' }), 'VERSION_EXISTS', (e) => assert.equal(e.details.existing, cid1));
  assert.equal((await store.publish(m1, { name: 'org/m', account, version: '1.0.0' })).created, false, 'same CID: no-op');
  assert.equal((await store.publish(m3, { name: 'org/m', account, version: '2.0' })).version, '2.0');
  assert.equal((await store.publish(tinyModel(4), { name: 'org/m', account })).version, '2.1');
  assert.deepEqual(await store.versions('org/m'), ['1.0.0', '1.0.1', '2.0', '2.1']);
  assert.equal((await store.resolve('org/m')).metadata!.version, '2.1');
  assert.equal((await store.resolve('org/m@1.0.1')).cid, (await modelCid(m2)).cid);
  await rejectsCode(store.resolve('org/m@9.9.9'), 'MODEL_NOT_FOUND');
  await rejectsCode(store.resolve('nobody'), 'MODEL_NOT_FOUND');
  await rejectsCode(store.publish(m1, { name: 'x', account, version: 'v1' }), 'INVALID_ARGUMENT');
});

test('list and search by name, tag, task and text', async () => {
  const store = await fresh();
  await store.publish(tinyModel(1), { name: 'resnet-tiny', account, task: 'image-classification', tags: ['vision', 'cnn'], description: '# ResNet\nResidual network.' });
  await store.publish(tinyModel(2), { name: 'bert-tiny', account, task: 'fill-mask', tags: ['nlp'], description: 'A transformer encoder.' });
  await store.publish(tinyModel(3), { name: 'vit-tiny', account, task: 'image-classification', tags: ['vision', 'transformer'] });
  const names = async (f: Parameters<ModelStore['list']>[0]) => (await store.list(f)).models.map((m) => m.name);
  assert.deepEqual(await names({}), ['bert-tiny', 'resnet-tiny', 'vit-tiny']);
  assert.deepEqual(await names({ tag: 'vision' }), ['resnet-tiny', 'vit-tiny']);
  assert.deepEqual(await names({ task: 'fill-mask' }), ['bert-tiny']);
  assert.deepEqual(await names({ search: 'TRANSFORMER' }), ['bert-tiny', 'vit-tiny']);
  assert.deepEqual(await names({ search: 'resnet', tag: 'vision' }), ['resnet-tiny']);
  const r = (await store.list({ tag: 'cnn' })).models[0]!;
  assert.equal(r.summary, 'ResNet');
  assert.equal(r.pinned, true);
  assert.equal(r.author, account.address);
});

test('blocks are verified on put and on every read; a flipped byte is BLOCK_CORRUPT naming the CID', async () => {
  const store = await fresh();
  const r = await store.publish(big, { name: 'big', account });
  const leaf = (await modelCid(big.subarray(0, 262144))).cid; // the first chunk's raw leaf
  assert.equal(await store.has(leaf), true);
  const path = store.blocks.pathOf(leaf);
  const bytes = readFileSync(path);
  bytes[1000] ^= 0x01;
  writeFileSync(path, bytes);
  await rejectsCode(store.readModel('big'), 'BLOCK_CORRUPT', (e) => assert.equal(e.details.cid, leaf));
  await rejectsCode(store.get(leaf), 'BLOCK_CORRUPT');
  await rejectsCode(store.checkDag(r.cid), 'BLOCK_CORRUPT');
  // gc reads only dag-pb nodes to find what is reachable: a corrupt leaf of a pinned model is kept, not deleted.
  assert.equal((await store.gc()).removedBlocks, 0);
  // put refuses bytes that do not hash to the CID, and repairs a corrupt block with the right bytes
  await rejectsCode(store.put(leaf, bytes), 'BLOCK_CORRUPT');
  assert.equal(await store.put(leaf, big.subarray(0, 262144)), true);
  assert.deepEqual(await store.readModel('big'), big);
  await rejectsCode(store.get('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'), 'BLOCK_NOT_FOUND');
  await rejectsCode(store.get('not-a-cid'), 'INVALID_CID');
});

test('pin checks the DAG is complete; unpin guards published versions; gc removes unreachable blocks', async () => {
  const store = await fresh();
  const r = await store.publish(big, { name: 'big', account });
  const small = await store.publish(tinyModel(), { name: 'tiny', account });
  const total = blockFiles(store).length;
  // A stray unpinned block (e.g. a crashed publish) goes at gc.
  const stray = new TextEncoder().encode('stray');
  const strayCid = (await modelCid(stray)).cid;
  await store.put(strayCid, stray);
  assert.equal(blockFiles(store).length, total + 1);
  let g = await store.gc();
  assert.equal(g.removedBlocks, 1);
  assert.equal(g.keptBlocks, total);
  assert.equal(await store.has(strayCid), false);

  await rejectsCode(store.unpin(r.cid), 'PIN_IN_USE', (e) => assert.deepEqual(e.details.versions, ['big@1.0.0']));
  assert.deepEqual(await store.unpin(r.cid, { force: true }), { unpinned: true, versions: ['big@1.0.0'] });
  await rejectsCode(store.readModel('big'), 'MODEL_NOT_FOUND');
  g = await store.gc();
  assert.equal(g.removedBlocks, total - 1);
  assert.deepEqual(blockFiles(store).map((f) => f.split('/').pop()), [small.cid]);

  // Pinning an incomplete DAG fails and pins nothing; re-publishing restores it.
  await rejectsCode(store.pin(r.cid), 'BLOCK_NOT_FOUND', (e) => assert.equal(e.details.root, r.cid));
  assert.equal(await store.isPinned(r.cid), false);
  const again = await store.publish(big, { name: 'big', account });
  assert.equal(again.created, false);
  assert.deepEqual(await store.readModel('big'), big);
});

test('gc waits for a live lease (publish in progress) and ignores the lease of a dead process', async () => {
  const store = await fresh();
  const stray = new TextEncoder().encode('unpinned');
  const strayCid = (await modelCid(stray)).cid;
  const lease = await store.lease('test');
  await store.put(strayCid, stray);
  await rejectsCode(store.gc({ waitMs: 150 }), 'STORE_BUSY');
  assert.equal(await store.has(strayCid), true, 'nothing deleted while a writer is active');
  const gc = store.gc({ waitMs: 5000 });
  await new Promise((r) => setTimeout(r, 100));
  await store.pin(strayCid, { lease }); // the writer finishes: its block is now pinned
  await lease.release();
  const res = await gc;
  assert.equal(res.removedBlocks, 0);
  assert.equal(await store.has(strayCid), true);

  // A lease left by a killed process: its pid is gone, so gc does not wait for it.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const { hostname } = await import('node:os');
  writeFileSync(join(store.locks.leaseDir, 'dead.json'), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), id: 'dead', purpose: 'publish', createdAt: Date.now() }));
  await store.unpin(strayCid);
  const res2 = await store.gc({ waitMs: 0 });
  assert.equal(res2.removedBlocks, 1);
  assert.equal(existsSync(join(store.locks.leaseDir, 'dead.json')), false, 'stale lease removed');
});

test('metadata: the EIP-712 signature and hashes are verified on every read; tampering is METADATA_INVALID', async () => {
  const store = await fresh();
  const r = await store.publish(tinyModel(), { name: 'tiny', account, description: 'original', tags: ['a'] });
  const file = join(store.modelDir, 'tiny', '1.0.0.json');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(doc.schema, 'verinfer-model/1');
  assert.equal((await parseMetadata(doc)).author, account.address);
  const tamper = async (edit: (d: Record<string, unknown>) => void, field?: string) => {
    const d = JSON.parse(JSON.stringify(doc));
    edit(d);
    writeFileSync(file, JSON.stringify(d));
    await rejectsCode(store.getMetadata('tiny', '1.0.0'), 'METADATA_INVALID', (e) => field && assert.equal(e.details.field, field));
  };
  await tamper((d) => (d.description = 'evil'), 'description');
  await tamper((d) => (d.tags = ['a', 'b']), 'signature');
  await tamper((d) => (d.cid = (r.cid.endsWith('a') ? r.cid.slice(0, -1) + 'b' : r.cid.slice(0, -1) + 'a')));
  await tamper((d) => ((d.io as { inputs: { name: string }[] }).inputs[0]!.name = 'z'), 'io');
  await tamper((d) => (d.publishedAt = (d.publishedAt as number) + 1), 'signature');
  await tamper((d) => (d.author = '0x' + '11'.repeat(20)), 'signature');
  writeFileSync(file, JSON.stringify(doc));
  assert.equal((await store.getMetadata('tiny')).cid, r.cid);
  writeFileSync(file, JSON.stringify({ ...doc, description: 'evil' }));
  const listed = await store.list();
  assert.equal(listed.models.length, 0);
  assert.equal(listed.problems[0]!.code, 'METADATA_INVALID');
});

test('CAR export → import into a fresh store gives the same CID, bytes and verified metadata', async () => {
  const a = await fresh();
  const r = await a.publish(big, { name: 'big', account, description: 'carried along', tags: ['car'] });
  const car = join(root, 'big.car');
  const ex = await a.exportCar('big@1.0.0', car);
  assert.equal(ex.roots[0], r.cid);
  assert.equal(ex.roots.length, 2, 'model root + metadata root');

  const b = await fresh();
  const im = await b.importCar(car);
  assert.deepEqual(im.pinned, [r.cid]);
  assert.deepEqual(im.models, [{ name: 'big', version: '1.0.0', cid: r.cid, created: true }]);
  assert.deepEqual(await b.readModel(r.cid), big);
  const m = await b.getMetadata('big');
  assert.equal(m.description, 'carried along');
  assert.equal(m.author, account.address);
  assert.equal(blockFiles(b).length, r.blocks.total, 'the metadata block is not stored as a block');
  // Importing again is a no-op.
  assert.equal((await b.importCar(car)).written, 0);

  // A CID-only export has just the DAG.
  const car2 = join(root, 'bycid.car');
  assert.deepEqual((await a.exportCar(r.cid, car2)).roots, [r.cid]);
  const c = await fresh();
  assert.deepEqual((await c.importCar(car2)).models, []);
  assert.deepEqual(await c.readModel(r.cid), big);
});

test('importing a CAR with a tampered block, a missing block or garbage stores nothing', async () => {
  const a = await fresh();
  const r = await a.publish(big, { name: 'big', account });
  const car = join(root, 'tamper.car');
  await a.exportCar('big', car);
  const bytes = readFileSync(car);
  // Flip a byte deep inside the leaf data (well past the header and the root node).
  const bad = Buffer.from(bytes);
  bad[bad.length - 5000] ^= 0xff;
  writeFileSync(join(root, 'bad.car'), bad);
  const b = await fresh();
  await rejectsCode(b.importCar(join(root, 'bad.car')), 'CAR_INVALID', (e) => assert.match(String(e.details.cid), /^baf/));
  assert.deepEqual(blockFiles(b), []);
  assert.deepEqual(await b.pins(), []);
  assert.deepEqual(await b.names(), []);

  // Truncated (missing blocks) → CAR_INVALID (truncated block) or DAG_INCOMPLETE; nothing stored either way.
  writeFileSync(join(root, 'trunc.car'), bytes.subarray(0, bytes.length - 300_000));
  await assert.rejects(b.importCar(join(root, 'trunc.car')), (e: unknown) => e instanceof VerinferError && ['CAR_INVALID', 'DAG_INCOMPLETE'].includes(e.code));
  assert.deepEqual(blockFiles(b), []);

  // A CAR whose DAG lacks a block: export a CAR by hand with only the root node.
  const { CarWriter } = await import('@ipld/car/writer');
  const { writer, out } = CarWriter.create([CID.parse(r.cid)]);
  const parts: Uint8Array[] = [];
  const done = (async () => {
    for await (const p of out) parts.push(p);
  })();
  await writer.put({ cid: CID.parse(r.cid), bytes: await a.get(r.cid) });
  await writer.close();
  await done;
  writeFileSync(join(root, 'partial.car'), Buffer.concat(parts));
  await rejectsCode(b.importCar(join(root, 'partial.car')), 'DAG_INCOMPLETE');
  assert.deepEqual(blockFiles(b), []);

  writeFileSync(join(root, 'garbage.car'), 'not a car');
  await rejectsCode(b.importCar(join(root, 'garbage.car')), 'CAR_INVALID');
  await rejectsCode(b.importCar(join(root, 'missing.car')), 'INVALID_INPUT_FILE');
});

test('concurrent publishes in one process: same file is idempotent, different files get distinct versions', async () => {
  const store = await fresh();
  const same = await Promise.all([1, 2, 3].map(() => store.publish(big, { name: 'same', account })));
  assert.deepEqual(new Set(same.map((r) => `${r.version} ${r.cid}`)).size, 1);
  assert.equal(same.filter((r) => r.created).length, 1);
  const diff = await Promise.all([1, 2, 3].map((i) => store.publish(tinyModel(i), { name: 'diff', account })));
  assert.deepEqual(diff.map((r) => r.version).sort(), ['1.0.0', '1.0.1', '1.0.2']);
  assert.deepEqual(await store.readModel('same'), big);
});
