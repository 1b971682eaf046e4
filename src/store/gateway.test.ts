import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { CarReader } from '@ipld/car/reader';
import * as dagPb from '@ipld/dag-pb';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { sha256 } from 'multiformats/hashes/sha2';
import * as raw from 'multiformats/codecs/raw';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { buildModel } from '../onnx/build.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { bytesMatchCid } from './blockstore.js';
import { CAR_CONTENT_TYPE, RAW_CONTENT_TYPE, gatewayResponse, negotiate, registerGateway } from './gateway.js';
import { ModelStore } from './store.js';
import { bigModel, tempDir } from './testing.js';

const account = privateKeyToAccount(generatePrivateKey());
let dir = '';
let app: FastifyInstance;
let url = '';
let store: ModelStore;
let damaged: ModelStore;
let bigCid = '';
let tinyCid = '';
let bigBytes: Uint8Array;
let dagOrder: string[] = [];

/** Not the shared tinyModel: [1, 2] inputs and no Relu. */
function tinyModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [1, 2] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [1, 2] }],
    initializers: { w: new Tensor(DType.float32, [2, 2], Float32Array.from([1, 2, 3, 4])) },
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
  });
}

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url + path, { method, headers });
const rawAccept = { Accept: RAW_CONTENT_TYPE };
const carAccept = { Accept: 'application/vnd.ipld.car; version=1; order=dfs; dups=n' };
const body = async (r: Response) => new Uint8Array(await r.arrayBuffer());
async function errorOf(r: Response): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  return ((await r.json()) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
}

before(async () => {
  dir = tempDir('gateway');
  store = await ModelStore.open(join(dir, 'a'));
  damaged = await ModelStore.open(join(dir, 'damaged'));
  bigBytes = bigModel();
  bigCid = (await store.publish(bigBytes, { name: 'big', account })).cid;
  tinyCid = (await store.publish(tinyModel(), { name: 'tiny', account })).cid;
  for await (const b of store.blocks.walk(bigCid)) dagOrder.push(b.cid.toString());
  // A second store with the same model, then one leaf deleted and one corrupted.
  await damaged.publish(bigBytes, { name: 'big', account });
  unlinkSync(damaged.blocks.pathOf(dagOrder[2]!));
  const p = damaged.blocks.pathOf(dagOrder[4]!);
  const b = readFileSync(p);
  b[100] ^= 0x01;
  writeFileSync(p, b);

  app = Fastify({ forceCloseConnections: true });
  registerGateway(app, store);
  registerGateway(app, damaged, { prefix: '/damaged' });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('trustless gateway', { concurrency: true }, () => {
  test('raw blocks: every block of the DAG, verified, with the trustless-gateway headers', async () => {
    assert.ok(dagOrder.length >= 5, 'a multi-block model');
    assert.ok(bigBytes.length > 256 * 1024);
    const root = CID.parse(bigCid);
    assert.equal(root.code, dagPb.code);
    const r = await get(`/ipfs/${bigCid}`, rawAccept);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), RAW_CONTENT_TYPE);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=29030400, immutable');
    assert.equal(r.headers.get('etag'), `"${bigCid}.raw"`);
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="${bigCid}.bin"`);
    assert.equal(r.headers.get('x-ipfs-roots'), bigCid);
    const rootBytes = await body(r);
    assert.equal(Number(r.headers.get('content-length')), rootBytes.length);
    assert.ok(await bytesMatchCid(root, rootBytes), 'the root block hashes to its CID');
    const links = dagPb.decode(rootBytes).Links.map((l) => l.Hash);
    assert.deepEqual(links.map(String), dagOrder.slice(1));
    let total = 0;
    for (const l of links) {
      // ?format=raw alone (no Accept) works too.
      const lr = await get(`/ipfs/${l}?format=raw`);
      assert.equal(lr.status, 200);
      const lb = await body(lr);
      assert.equal(l.code, raw.code);
      assert.ok(await bytesMatchCid(l, lb), `leaf ${l} verifies`);
      total += lb.length;
    }
    assert.equal(total, bigBytes.length, 'the raw leaves are the file');
    // CIDv0 of the same dag-pb root is served as the same block.
    const v0 = await get(`/ipfs/${root.toV0()}`, rawAccept);
    assert.equal(v0.status, 200);
    assert.deepEqual(await body(v0), rootBytes);
    // A single-block model is its raw leaf.
    const t = await get(`/ipfs/${tinyCid}`, rawAccept);
    assert.equal(t.status, 200);
    assert.ok(await bytesMatchCid(CID.parse(tinyCid), await body(t)));
  });

  test('CAR: the whole DAG depth-first, root = the CID, every block verifies; dag-scope=block; single-block model', async () => {
    const r = await get(`/ipfs/${bigCid}`, carAccept);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), CAR_CONTENT_TYPE);
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="${bigCid}.car"`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const reader = await CarReader.fromBytes(await body(r));
    assert.deepEqual((await reader.getRoots()).map(String), [bigCid]);
    const order: string[] = [];
    let leafBytes = 0;
    for await (const b of reader.blocks()) {
      assert.ok(await bytesMatchCid(b.cid, b.bytes), `block ${b.cid} verifies`);
      order.push(b.cid.toString());
      if (b.cid.code === raw.code) leafBytes += b.bytes.length;
    }
    assert.deepEqual(order, dagOrder, 'depth-first, each block once');
    assert.equal(leafBytes, bigBytes.length);

    // ?format=car without Accept; dag-scope=block → the root block only.
    const scoped = await get(`/ipfs/${bigCid}?format=car&dag-scope=block`);
    assert.equal(scoped.status, 200);
    const sr = await CarReader.fromBytes(await body(scoped));
    const sb = [];
    for await (const b of sr.blocks()) sb.push(b.cid.toString());
    assert.deepEqual(sb, [bigCid]);
    assert.notEqual(scoped.headers.get('etag'), r.headers.get('etag'), 'the Etag depends on dag-scope');

    const t = await get(`/ipfs/${tinyCid}?format=car`);
    const tr = await CarReader.fromBytes(await body(t));
    assert.deepEqual((await tr.getRoots()).map(String), [tinyCid]);
    const tb = [];
    for await (const b of tr.blocks()) tb.push(b.cid.toString());
    assert.deepEqual(tb, [tinyCid]);
  });

  test('HEAD: headers without a body; 404 for a missing block', async () => {
    const h = await get(`/ipfs/${bigCid}`, rawAccept, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-type'), RAW_CONTENT_TYPE);
    assert.equal(h.headers.get('etag'), `"${bigCid}.raw"`);
    assert.ok(Number(h.headers.get('content-length')) > 0);
    assert.equal((await body(h)).length, 0);
    const hc = await get(`/ipfs/${bigCid}`, carAccept, 'HEAD');
    assert.equal(hc.status, 200);
    assert.equal(hc.headers.get('content-type'), CAR_CONTENT_TYPE);
    assert.equal((await body(hc)).length, 0);
    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('not in the store')));
    const hm = await get(`/ipfs/${missing}`, rawAccept, 'HEAD');
    assert.equal(hm.status, 404);
  });

  test('errors: 404 missing, 400 invalid CID / unsupported hash / sub-path / format, 406 without a usable Accept, 405, 304', async () => {
    const missing = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('not in the store')));
    for (const accept of [rawAccept, carAccept]) {
      const r = await get(`/ipfs/${missing}`, accept);
      assert.equal(r.status, 404);
      const e = await errorOf(r);
      assert.equal(e.code, 'BLOCK_NOT_FOUND');
      assert.equal(e.details.cid, missing.toString());
    }
    const bad = await get('/ipfs/not-a-cid', rawAccept);
    assert.equal(bad.status, 400);
    assert.equal((await errorOf(bad)).code, 'INVALID_CID');
    // A blake2b-256 CID (bafk2bz…): valid CID, not a hash this store uses.
    const b2 = CID.createV1(raw.code, Digest.create(0xb220, new Uint8Array(32)));
    const rb2 = await get(`/ipfs/${b2}`, rawAccept);
    assert.equal(rb2.status, 400);
    assert.equal((await errorOf(rb2)).code, 'INVALID_CID');
    const sub = await get(`/ipfs/${bigCid}/model.onnx`, rawAccept);
    assert.equal(sub.status, 400);
    const fmt = await get(`/ipfs/${bigCid}?format=tar`);
    assert.equal(fmt.status, 400);
    for (const headers of [{} as Record<string, string>, { Accept: '*/*' }, { Accept: 'text/html, application/json;q=0.9' }, { Accept: 'application/vnd.ipld.car; version=2' }]) {
      const r = await get(`/ipfs/${bigCid}`, headers);
      assert.equal(r.status, 406, JSON.stringify(headers));
      assert.equal((await errorOf(r)).code, 'NOT_ACCEPTABLE');
    }
    // format wins over Accept; q-values order the Accept list.
    assert.equal(negotiate(new URLSearchParams('format=raw'), 'application/vnd.ipld.car'), 'raw');
    assert.equal(negotiate(undefined, `application/vnd.ipld.car;q=0.5, ${RAW_CONTENT_TYPE}`), 'raw');
    assert.equal(negotiate({}, `${RAW_CONTENT_TYPE};q=0, application/vnd.ipld.car`), 'car');
    const post = await gatewayResponse(store, { method: 'POST', path: `/ipfs/${bigCid}`, headers: rawAccept });
    assert.equal(post.status, 405);
    assert.equal(post.headers.Allow, 'GET, HEAD');
    const cached = await get(`/ipfs/${bigCid}`, { ...rawAccept, 'If-None-Match': `"${bigCid}.raw"` });
    assert.equal(cached.status, 304);
  });

  test('damaged store: a corrupt block is a 500 JSON error (never its bytes); an incomplete DAG is a 404, not a truncated CAR', async () => {
    const corrupt = await get(`/damaged/ipfs/${dagOrder[4]}`, rawAccept);
    assert.equal(corrupt.status, 500);
    const e = await errorOf(corrupt);
    assert.equal(e.code, 'BLOCK_CORRUPT');
    assert.equal(e.details.cid, dagOrder[4]);
    assert.equal(e.details.path, undefined, 'no local paths leak');
    const missing = await get(`/damaged/ipfs/${dagOrder[2]}`, rawAccept);
    assert.equal(missing.status, 404);
    const car = await get(`/damaged/ipfs/${bigCid}`, carAccept);
    assert.equal(car.status, 404);
    assert.equal((await errorOf(car)).details.cid, dagOrder[2]);
    // Intact blocks of the damaged store are still served.
    const ok = await get(`/damaged/ipfs/${dagOrder[1]}`, rawAccept);
    assert.equal(ok.status, 200);
    assert.ok(await bytesMatchCid(CID.parse(dagOrder[1]!), await body(ok)));
  });

  test('a leaf found corrupt while a CAR streams cuts the stream (the client never gets a complete-looking CAR)', async () => {
    // Only the corrupt leaf is damaged here: the completeness check passes, the stream starts, then fails.
    const s = await ModelStore.open(join(dir, 'midstream'));
    await s.publish(bigBytes, { name: 'big', account });
    const p = s.blocks.pathOf(dagOrder[3]!);
    const b = readFileSync(p);
    b[5] ^= 0x10;
    writeFileSync(p, b);
    const g = Fastify({ forceCloseConnections: true });
    registerGateway(g, s);
    const u = await g.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await fetch(`${u}/ipfs/${bigCid}`, { headers: carAccept });
      assert.equal(r.status, 200);
      const blocks: string[] = [];
      await assert.rejects(async () => {
        const reader = await CarReader.fromBytes(await body(r));
        for await (const blk of reader.blocks()) {
          assert.ok(await bytesMatchCid(blk.cid, blk.bytes));
          blocks.push(blk.cid.toString());
        }
      });
      assert.ok(!blocks.includes(dagOrder[3]!), 'the corrupt block was never sent');
    } finally {
      await g.close();
    }
  });

  test('convenience: Accept application/octet-stream gives the file of a pinned model; the identity probe bafkqaaa answers', async () => {
    const r = await get(`/ipfs/${bigCid}`, { Accept: 'application/octet-stream' });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers.get('content-length')), bigBytes.length);
    assert.deepEqual(await body(r), bigBytes);
    const probe = await get('/ipfs/bafkqaaa?format=raw');
    assert.equal(probe.status, 200);
    assert.equal((await body(probe)).length, 0);
    const probeCar = await get('/ipfs/bafkqaaa', carAccept);
    assert.equal(probeCar.status, 200);
    const pr = await CarReader.fromBytes(await body(probeCar));
    assert.deepEqual((await pr.getRoots()).map(String), ['bafkqaaa']);
  });
});
