import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelCid } from '../src/hash/cid.js';
import { ModelStore } from '../src/store/store.js';
import { bigModel, tempDir, tinyModel } from '../src/store/testing.js';
import { jsonOf, ok, runCli as cli, startCli as start, waitFor, type CliResult } from './fixtures/cli.js';

/**
 * End-to-end tests of the model store commands: each spawns `node bin/verinfer.mjs`
 * against a temporary --data-dir. Independent commands run in parallel to keep
 * the file fast (every CLI start costs ~1 s of TypeScript loading).
 */

let dir = '';

function failsWith(r: CliResult, code: string) {
  assert.equal(r.status, 1, `expected ${code}, got exit ${r.status}: ${r.stdout} ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^error \\[${code}\\]`, "m"), r.stderr);
}

const files: Record<string, Uint8Array> = {};
const path = (name: string) => join(dir, name);
const blockFiles = (dataDir: string) =>
  existsSync(join(dataDir, 'blocks')) ? readdirSync(join(dataDir, 'blocks')).flatMap((s) => readdirSync(join(dataDir, 'blocks', s))) : [];

before(() => {
  dir = tempDir('store-cli');
  files['big.onnx'] = bigModel(75_000, 1);
  files['huge.onnx'] = bigModel(200_000, 2);
  files['huge2.onnx'] = bigModel(200_000, 3);
  for (let i = 1; i <= 2; i++) files[`t${i}.onnx`] = tinyModel(i);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path(name), bytes);
  writeFileSync(path('bad.onnx'), 'definitely not protobuf');
  writeFileSync(path('card.md'), '# Big model\n\nA MatMul with **many** weights.\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

// The three scenarios use separate data dirs and run concurrently (CLI start-up dominates the time).
describe('model store CLI', { concurrency: true }, () => {
  test('publish --json, models, model, malformed file, immutability, export/import CAR, corrupt block, tampered CAR and metadata', async () => {
    const dd = path('d1');
    const pub = jsonOf(
      await cli('publish', path('big.onnx'), '--name', 'acme/big', '--description-file', path('card.md'), '--task', 'feature-extraction', '--license', 'MIT', '--tag', 'demo', '--tag', 'big,matmul', '--json', '--data-dir', dd),
    );
    assert.equal(pub.cid, (await modelCid(files['big.onnx']!)).cid);
    assert.match(pub.cid, /^bafybei/, 'over 256 KiB: a dag-pb root');
    assert.equal(pub.name, 'acme/big');
    assert.equal(pub.version, '1.0.0');
    assert.deepEqual(pub.report.ops, { MatMul: 1 });
    assert.equal(pub.report.parameters, 300_000);
    assert.equal(pub.report.flops, 2 * 4 * 75_000);
    assert.equal(pub.report.verifiable, true);
    assert.equal(statSync(join(dd, 'key.json')).mode & 0o777, 0o600, 'a publisher key (0600) is created on first publish');
    const blocksBefore = blockFiles(dd).sort();

    const [list, model, bad, exp] = await Promise.all([
      cli('models', '--tag', 'matmul', '--json', '--data-dir', dd),
      cli('model', 'acme/big@1.0.0', '--json', '--data-dir', dd),
      cli('publish', path('bad.onnx'), '--name', 'broken', '--data-dir', dd),
      cli('export', 'acme/big@1.0.0', path('m.car'), '--data-dir', dd),
    ]);
    const l = jsonOf(list);
    assert.equal(l.models.length, 1);
    assert.deepEqual(
      { name: l.models[0].name, latest: l.models[0].latest, cid: l.models[0].cid, tags: l.models[0].tags, task: l.models[0].task, pinned: l.models[0].pinned },
      { name: 'acme/big', latest: '1.0.0', cid: pub.cid, tags: ['big', 'demo', 'matmul'], task: 'feature-extraction', pinned: true },
    );
    const m = jsonOf(model);
    assert.equal(m.cid, pub.cid);
    assert.equal(m.pinned, true);
    assert.equal(m.metadata.description, readFileSync(path('card.md'), 'utf8'));
    assert.equal(m.metadata.license, 'MIT');
    assert.equal(m.metadata.author, pub.author);
    failsWith(bad, 'MODEL_DECODE_FAILED');
    assert.deepEqual(blockFiles(dd).sort(), blocksBefore, 'a rejected publish stores nothing');
    ok(exp);

    // Versions are immutable (in-process: the same store API the CLI uses).
    const src = await ModelStore.open(dd);
    const { privateKeyToAccount } = await import('viem/accounts');
    const account = privateKeyToAccount(JSON.parse(readFileSync(join(dd, 'key.json'), 'utf8')).privateKey);
    await assert.rejects(src.publish(files['t1.onnx']!, { name: 'acme/big', version: '1.0.0', account }), (e: Error & { code?: string }) => e.code === 'VERSION_EXISTS');

    // Corrupt one block of the source store.
    const leafCid = (await modelCid(files['big.onnx']!.subarray(262144, 2 * 262144))).cid;
    const leafPath = join(dd, 'blocks', leafCid.slice(-3, -1), leafCid);
    const leaf = readFileSync(leafPath);
    leaf[7] ^= 0x80;
    writeFileSync(leafPath, leaf);

    const dst = path('d-dst');
    const [imp, check] = await Promise.all([
      cli('import', path('m.car'), '--json', '--data-dir', dst),
      cli('model', 'acme/big', '--check', '--data-dir', dd),
    ]);
    const im = jsonOf(imp);
    assert.deepEqual(im.pinned, [pub.cid]);
    assert.deepEqual(im.models, [{ name: 'acme/big', version: '1.0.0', cid: pub.cid, created: true }]);
    failsWith(check, 'BLOCK_CORRUPT');
    assert.match(check.stderr, new RegExp(leafCid), 'the error names the corrupt block');

    // The imported copy: same CID, same bytes, verified metadata.
    const store = await ModelStore.open(dst);
    assert.deepEqual(await store.readModel('acme/big'), files['big.onnx']);
    assert.equal((await store.getMetadata('acme/big')).author, pub.author);

    // A tampered CAR stores nothing; tampered metadata is detected.
    const bad1 = Buffer.from(readFileSync(path('m.car')));
    bad1[bad1.length - 5000] ^= 0x01;
    writeFileSync(path('bad.car'), bad1);
    const dst2 = await ModelStore.open(path('d-dst2'));
    await assert.rejects(dst2.importCar(path('bad.car')), (e: Error & { code?: string }) => e.code === 'CAR_INVALID');
    assert.deepEqual(blockFiles(dst2.dir), []);
    const mfile = join(dst, 'models', 'acme', 'big', '1.0.0.json');
    const doc = JSON.parse(readFileSync(mfile, 'utf8'));
    writeFileSync(mfile, JSON.stringify({ ...doc, tags: ['big', 'demo', 'matmul', 'trusted'] }));
    await assert.rejects(store.getMetadata('acme/big'), (e: Error & { code?: string }) => e.code === 'METADATA_INVALID');
  });

  test('a publish killed mid-way leaves no readable model and gc cleans up; gc waits for a live publish in another process', async () => {
    const killed = path('d-killed');
    const live = path('d-live');
    const a = start(['publish', path('huge.onnx'), '--name', 'huge', '--data-dir', killed], { VERINFER_TEST_BLOCK_DELAY_MS: '100' });
    const b = start(['publish', path('huge2.onnx'), '--name', 'huge2', '--data-dir', live], { VERINFER_TEST_BLOCK_DELAY_MS: '150' });
    const progressed = (s: () => string) => () => /storing .*: [2-9] blocks/.test(s());
    await waitFor(progressed(a.stderr), 'progress of publish A');
    a.child.kill('SIGKILL');
    // B is writing blocks: a gc started now must wait for it rather than sweep its (not yet pinned) blocks.
    await waitFor(progressed(b.stderr), 'progress of publish B');
    const liveStore = await ModelStore.open(live);
    const gcLive = liveStore.gc({ waitMs: 30_000 }); // this test process is the "other process" running gc

    const ra = await a.done;
    assert.equal(ra.signal, 'SIGKILL');
    const cid = (await modelCid(files['huge.onnx']!)).cid;
    const partial = blockFiles(killed).length;
    assert.ok(partial >= 2, `some blocks were written before the kill (${partial})`);
    assert.deepEqual(readdirSync(join(killed, 'pins')), [], 'nothing pinned');
    const ks = await ModelStore.open(killed);
    await assert.rejects(ks.readModel(cid), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_FOUND');
    await assert.rejects(ks.resolve('huge'), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_FOUND');
    const g = await ks.gc({ waitMs: 0 });
    assert.equal(g.removedBlocks, partial);
    assert.equal(g.waitedMs < 1000, true, 'the dead publish lease is not waited for');
    assert.deepEqual(blockFiles(killed), []);
    assert.deepEqual(readdirSync(join(killed, 'leases')), [], 'the dead publish lease is gone');

    const rb = ok(await b.done);
    assert.match(rb.stdout, /published huge2@1\.0\.0/);
    const gl = await gcLive;
    assert.ok(gl.waitedMs > 0, 'gc waited for the publish in progress');
    assert.equal(gl.removedBlocks, 0);
    assert.deepEqual(await liveStore.readModel('huge2'), files['huge2.onnx']);
  });

  test('concurrent publishes from several processes: the same file is idempotent, different files get distinct versions', async () => {
    const dd = path('d-conc');
    const out = (
      await Promise.all([
        cli('publish', path('big.onnx'), '--name', 'same', '--json', '--data-dir', dd),
        cli('publish', path('big.onnx'), '--name', 'same', '--json', '--data-dir', dd),
        cli('publish', path('t1.onnx'), '--name', 'race', '--json', '--data-dir', dd),
        cli('publish', path('t2.onnx'), '--name', 'race', '--json', '--data-dir', dd),
      ])
    ).map(jsonOf);
    assert.equal(out[0].cid, out[1].cid);
    assert.equal(out[0].version, '1.0.0');
    assert.equal(out[1].version, '1.0.0');
    assert.equal([out[0].created, out[1].created].filter(Boolean).length, 1, 'exactly one created it');
    assert.deepEqual([out[2].version, out[3].version].sort(), ['1.0.0', '1.0.1']);
    assert.equal(new Set(out.map((o) => o.author)).size, 1, 'all used the one key.json, created concurrently');
    const store = await ModelStore.open(dd);
    assert.deepEqual(await store.names(), ['race', 'same']);
    assert.deepEqual(await store.readModel('same'), files['big.onnx']);
    assert.deepEqual(await store.readModel(`race@${out[2].version}`), files['t1.onnx']);
    assert.deepEqual(await store.readModel(`race@${out[3].version}`), files['t2.onnx']);
    assert.deepEqual(readdirSync(join(dd, 'tmp')), [], 'no temp files left');
    assert.deepEqual(readdirSync(join(dd, 'leases')), [], 'no leases left');
  });
});
