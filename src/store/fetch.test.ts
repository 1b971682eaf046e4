import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { CarWriter } from '@ipld/car/writer';
import { importBytes } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { fetchModel, type FetchProgress } from './fetch.js';
import { registerGateway } from './gateway.js';
import { ModelStore } from './store.js';
import { bigModel, deadUrl, rejectsCode, tempDir } from './testing.js';

const account = privateKeyToAccount(generatePrivateKey());
let dir = '';
let n = 0;
let src: ModelStore;
let bigCid = '';
let bigBytes: Uint8Array;
let bigOrder: string[] = [];
/** A deep DAG (1 KiB chunks, ≤ 4 links per node) with repeated chunks (shared leaves). */
let deepCid = '';
let deepBytes: Uint8Array;
let deepBlocks = 0;
let good = '';
const servers: FastifyInstance[] = [];

const fresh = () => ModelStore.open(join(dir, `dest${n++}`));
const leases = (s: ModelStore) => readdirSync(join(s.dir, 'leases')).length;

async function serve(app: FastifyInstance): Promise<string> {
  servers.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

async function carOf(root: CID, blocks: { cid: CID; bytes: Uint8Array }[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create([root]);
  const chunks: Uint8Array[] = [];
  const collect = (async () => {
    for await (const c of out) chunks.push(c);
  })();
  for (const b of blocks) await writer.put(b);
  await writer.close();
  await collect;
  return Buffer.concat(chunks);
}

interface TestGatewayOptions {
  /** Serve this block with one bit flipped (raw and in CARs). */
  corrupt?: string;
  /** 404 for this block. */
  missing?: string;
  /** After this many raw blocks served, answer 503. */
  failAfter?: number;
  /** Wait this long before each raw block. */
  delayMs?: number;
  /** CAR requests: serve the DAG (default), refuse (406), or send this many blocks and cut the connection. */
  car?: 'serve' | 'refuse' | number;
}

/** A gateway under the test's control (honest by default), logging every request. */
async function testGateway(store: ModelStore, o: TestGatewayOptions = {}): Promise<{ url: string; log: { format: string; cid: string }[] }> {
  const log: { format: string; cid: string }[] = [];
  let served = 0;
  const app = Fastify({ forceCloseConnections: true });
  app.get<{ Params: { cid: string }; Querystring: { format?: string } }>('/ipfs/:cid', async (req, reply) => {
    const cid = CID.parse(req.params.cid);
    const key = cid.toString();
    const format = req.query.format ?? (String(req.headers.accept).includes('car') ? 'car' : 'raw');
    log.push({ format, cid: key });
    const flip = (c: CID, b: Uint8Array) => {
      if (c.toString() !== o.corrupt) return b;
      const x = Uint8Array.from(b);
      x[x.length >> 1] ^= 0x04;
      return x;
    };
    if (format === 'car') {
      if (o.car === 'refuse') return reply.code(406).send({ error: 'no CARs here' });
      const blocks: { cid: CID; bytes: Uint8Array }[] = [];
      for await (const b of store.blocks.walk(cid)) blocks.push({ cid: b.cid, bytes: flip(b.cid, b.bytes!) });
      const ct = 'application/vnd.ipld.car; version=1; order=dfs; dups=n';
      if (typeof o.car === 'number') {
        const part = await carOf(cid, blocks.slice(0, o.car));
        reply.hijack();
        reply.raw.writeHead(200, { 'Content-Type': ct });
        reply.raw.write(part);
        setTimeout(() => reply.raw.destroy(), 20);
        return;
      }
      return reply.header('Content-Type', ct).send(Buffer.from(await carOf(cid, blocks)));
    }
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
    // Check and count synchronously: concurrent requests must not all slip under the limit.
    if (o.failAfter !== undefined && served >= o.failAfter) return reply.code(503).send({ error: 'overloaded' });
    served++;
    if (key === o.missing || !(await store.has(cid))) return reply.code(404).send({ error: 'not found' });
    return reply.header('Content-Type', 'application/vnd.ipld.raw').send(Buffer.from(flip(cid, await store.get(cid))));
  });
  return { url: await serve(app), log };
}

before(async () => {
  dir = tempDir('fetch');
  src = await ModelStore.open(join(dir, 'src'));
  bigBytes = bigModel();
  bigCid = (await src.publish(bigBytes, { name: 'big', account })).cid;
  for await (const b of src.blocks.walk(bigCid)) bigOrder.push(b.cid.toString());

  // 48 KiB in 1 KiB chunks, only 7 distinct chunk contents: a 3-level DAG whose leaves repeat.
  deepBytes = new Uint8Array(48 * 1024);
  for (let i = 0; i < deepBytes.length; i++) deepBytes[i] = (Math.floor(i / 1024) % 7) * 31 + ((i % 1024) % 13);
  const lease = await src.lease('test');
  const r = await importBytes(deepBytes, { put: async (c: CID, b: Uint8Array) => (await src.put(c, b), c) }, {
    cidVersion: 1,
    rawLeaves: true,
    chunker: fixedSize({ chunkSize: 1024 }),
    layout: balanced({ maxChildrenPerNode: 4 }),
  });
  deepCid = r.cid.toString();
  deepBlocks = (await src.pin(deepCid, { lease })).blocks;
  await lease.release();

  const app = Fastify({ forceCloseConnections: true });
  registerGateway(app, src);
  good = await serve(app);
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('fetchModel', { concurrency: true }, () => {
  test('from our gateway (CAR fast path): same CID, same bytes, pinned, progress to the total; a rerun downloads nothing', async () => {
    const dest = await fresh();
    const events: FetchProgress[] = [];
    const r = await fetchModel(dest, bigCid, { from: good, onProgress: (p) => events.push(p) });
    const pin = await src.pinInfo(bigCid);
    assert.deepEqual(r, { cid: bigCid, blocks: pin!.blocks, bytes: pin!.bytes, fetchedBlocks: bigOrder.length, reusedBlocks: 0, fetchedBytes: pin!.bytes });
    assert.ok(await dest.isPinned(bigCid));
    assert.deepEqual(await dest.readModel(bigCid), bigBytes);
    assert.equal(events.at(-1)!.phase, 'done');
    assert.equal(events.at(-1)!.totalBytes, bigBytes.length, "the root's UnixFS fileSize");
    assert.equal(events.at(-1)!.bytes, bigBytes.length);
    assert.equal(events.at(-1)!.totalBlocks, bigOrder.length);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.bytes >= events[i - 1]!.bytes, 'progress only grows');
    assert.equal(leases(dest), 0, 'the lease is released');

    const again = await fetchModel(dest, bigCid, { from: good });
    assert.equal(again.fetchedBlocks, 0);
    assert.equal(again.reusedBlocks, bigOrder.length);
    assert.equal(again.fetchedBytes, 0);
  });

  test('block by block and by CAR: a deep DAG with shared leaves, each distinct block requested once', async () => {
    const gw = await testGateway(src, { car: 'refuse' });
    const a = await fresh();
    const events: FetchProgress[] = [];
    const r = await fetchModel(a, deepCid, { from: gw.url, car: false, concurrency: 3, onProgress: (e) => events.push(e) });
    assert.equal(r.blocks, deepBlocks);
    assert.equal(r.fetchedBlocks, deepBlocks);
    assert.deepEqual(await a.readModel(deepCid), deepBytes);
    const raws = gw.log.filter((l) => l.format === 'raw').map((l) => l.cid);
    assert.equal(raws.length, deepBlocks, 'one request per distinct block');
    assert.equal(new Set(raws).size, raws.length);
    assert.ok(deepBlocks < 48 + 16, 'repeated chunks are shared leaves');
    // The block total is known only once every dag-pb node is read, and then it is exact.
    const totals = events.map((e) => e.totalBlocks);
    assert.equal(totals[0], undefined);
    assert.ok(totals.every((t) => t === undefined || t === deepBlocks));
    assert.equal(totals.at(-1), deepBlocks);

    const b = await fresh();
    const rc = await fetchModel(b, deepCid, { from: good });
    assert.equal(rc.fetchedBlocks, deepBlocks);
    assert.deepEqual(await b.readModel(deepCid), deepBytes);
  });

  test('a malicious gateway: BLOCK_CORRUPT naming it, nothing pinned, the bad block not stored; with an honest second gateway the fetch succeeds', async () => {
    const leaf = bigOrder[2]!;
    const evil = await testGateway(src, { corrupt: leaf });
    for (const car of [true, false]) {
      const dest = await fresh();
      await rejectsCode(fetchModel(dest, bigCid, { from: evil.url, car }), 'BLOCK_CORRUPT', (e) => {
        assert.equal(e.details.gateway, evil.url);
        assert.equal(e.details.cid, leaf);
        assert.ok(e.message.includes(evil.url), e.message);
      });
      assert.equal(await dest.isPinned(bigCid), false);
      assert.equal(await dest.has(leaf), false, 'the corrupted block was not stored');
      assert.equal(leases(dest), 0);
    }
    const dest = await fresh();
    const r = await fetchModel(dest, bigCid, { from: [evil.url, good] });
    assert.equal(r.blocks, bigOrder.length);
    assert.deepEqual(await dest.readModel(bigCid), bigBytes);
  });

  test('an interrupted download resumes: the rerun fetches only the missing blocks', async () => {
    const flaky = await testGateway(src, { failAfter: 3, car: 'refuse' });
    const dest = await fresh();
    await rejectsCode(fetchModel(dest, bigCid, { from: flaky.url, retries: 1, retryDelayMs: 5 }), 'FETCH_FAILED', (e) => {
      assert.equal(e.details.status, 503);
      assert.ok(String(e.details.url).startsWith(flaky.url));
      assert.ok(e.message.includes(flaky.url), e.message);
    });
    assert.equal(await dest.isPinned(bigCid), false);
    const have = (await Promise.all(bigOrder.map((c) => dest.has(c)))).filter(Boolean).length;
    assert.equal(have, 3, 'the blocks served before the failure were kept');

    const counting = await testGateway(src);
    const r = await fetchModel(dest, bigCid, { from: counting.url });
    assert.equal(r.reusedBlocks, 3);
    assert.equal(r.fetchedBlocks, bigOrder.length - 3);
    assert.equal(counting.log.length, bigOrder.length - 3, 'only the missing blocks were requested (no CAR: the root was present)');
    assert.ok(counting.log.every((l) => l.format === 'raw'));
    assert.deepEqual(await dest.readModel(bigCid), bigBytes);
  });

  test('a CAR stream cut half-way: the verified blocks are kept and the rest comes block by block', async () => {
    const cut = await testGateway(src, { car: 2 });
    const dest = await fresh();
    const r = await fetchModel(dest, bigCid, { from: cut.url });
    assert.equal(r.fetchedBlocks, bigOrder.length);
    assert.deepEqual(cut.log.map((l) => l.format), ['car', ...Array(bigOrder.length - 2).fill('raw')]);
    assert.deepEqual(await dest.readModel(bigCid), bigBytes);
  });

  test('abort through the signal: FETCH_FAILED (aborted), nothing pinned; a rerun reuses what was stored', async () => {
    const slow = await testGateway(src, { delayMs: 30, car: 'refuse' });
    const dest = await fresh();
    const ac = new AbortController();
    await rejectsCode(
      fetchModel(dest, bigCid, { from: slow.url, concurrency: 1, signal: ac.signal, onProgress: (p) => p.fetchedBlocks >= 2 && ac.abort() }),
      'FETCH_FAILED',
      (e) => assert.equal(e.details.aborted, true),
    );
    assert.equal(await dest.isPinned(bigCid), false);
    assert.equal(leases(dest), 0);
    const r = await fetchModel(dest, bigCid, { from: good });
    assert.ok(r.reusedBlocks >= 2, `reused ${r.reusedBlocks}`);
    assert.equal(r.fetchedBlocks + r.reusedBlocks, bigOrder.length);
    assert.deepEqual(await dest.readModel(bigCid), bigBytes);
  });

  test('falls back to the next gateway when the first is down; FETCH_FAILED names it when none answers', async () => {
    const dead = await deadUrl();
    const dest = await fresh();
    const r = await fetchModel(dest, bigCid, { from: [dead, good], retries: 1, retryDelayMs: 5 });
    assert.equal(r.fetchedBlocks, bigOrder.length);
    assert.deepEqual(await dest.readModel(bigCid), bigBytes);

    const other = await fresh();
    await rejectsCode(fetchModel(other, bigCid, { from: dead, retries: 1, retryDelayMs: 5 }), 'FETCH_FAILED', (e) => {
      assert.ok(String(e.details.url).startsWith(dead), String(e.details.url));
      assert.equal(e.details.status, undefined);
    });
    assert.equal(leases(other), 0);
  });

  test('a block no gateway has is DAG_INCOMPLETE; an unknown root is FETCH_FAILED 404; bad arguments', async () => {
    const leaf = bigOrder[3]!;
    const holey = await testGateway(src, { missing: leaf, car: 'refuse' });
    const dest = await fresh();
    await rejectsCode(fetchModel(dest, bigCid, { from: holey.url }), 'DAG_INCOMPLETE', (e) => {
      assert.equal(e.details.cid, leaf);
      assert.equal(e.details.root, bigCid);
    });
    assert.equal(await dest.isPinned(bigCid), false);
    const unknown = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('nobody has this')));
    await rejectsCode(fetchModel(dest, unknown, { from: good }), 'FETCH_FAILED', (e) => assert.equal(e.details.status, 404));
    await rejectsCode(fetchModel(dest, 'not-a-cid', { from: good }), 'INVALID_CID');
    await rejectsCode(fetchModel(dest, bigCid, { from: 'ftp://example.com' }), 'INVALID_ARGUMENT');
    await rejectsCode(fetchModel(dest, bigCid, { from: [] }), 'INVALID_ARGUMENT');
  });
});
