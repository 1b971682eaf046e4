import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { ModelStore } from '../src/store/store.js';
import { bigModel, deadUrl, tempDir } from '../src/store/testing.js';
import { jsonOf, ok, runCli as cli, startCli as start, waitFor } from './fixtures/cli.js';

/**
 * `verinfer gateway` and `verinfer fetch` end to end: a gateway process serves
 * one data dir, fetch processes download from it into others (real HTTP on
 * loopback), and the gateway stops cleanly on SIGINT.
 */

let dir = '';
let cid = '';
let bytes: Uint8Array;

before(async () => {
  dir = tempDir('gateway-cli');
  bytes = bigModel(100_000);
  const store = await ModelStore.open(join(dir, 'source'));
  cid = (await store.publish(bytes, { name: 'acme/big', account: privateKeyToAccount(generatePrivateKey()) })).cid;
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('verinfer gateway serves a data dir; verinfer fetch downloads, verifies and pins; the gateway stops on SIGINT', async () => {
  const gw = start(['gateway', '--data-dir', join(dir, 'source'), '--port', '0', '--json']);
  try {
    const line = await waitFor(() => gw.stdout().split('\n').find((l) => l.startsWith('{')), 'the gateway URL');
    const { url } = JSON.parse(line) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const [fetched, human, failed] = await Promise.all([
      cli('fetch', cid, '--from', url, '--data-dir', join(dir, 'b'), '--json'),
      cli('fetch', cid, '--from', url, '--data-dir', join(dir, 'c'), '--no-car', '--concurrency', '2'),
      cli('fetch', cid, '--from', await deadUrl(), '--data-dir', join(dir, 'd'), '--retries', '0'),
    ]);
    const r = jsonOf(fetched);
    assert.equal(r.cid, cid);
    assert.ok(r.blocks > 1, 'a multi-block model');
    assert.equal(r.fetchedBlocks, r.blocks);
    assert.equal(r.reusedBlocks, 0);
    assert.ok(r.bytes > bytes.length);

    ok(human);
    assert.match(human.stdout, new RegExp(`^fetched ${cid}: ${r.blocks} blocks`));
    assert.match(human.stderr, /blocks \(\d+ downloaded, \d+ already here\)/, 'progress lines on stderr');

    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /^error \[FETCH_FAILED\]: cannot fetch block .*http:\/\/127\.0\.0\.1:\d+\/ipfs\//m);

    const [model, again] = await Promise.all([
      cli('model', cid, '--data-dir', join(dir, 'b'), '--json'),
      cli('fetch', cid, '--from', url, '--data-dir', join(dir, 'b'), '--json'),
    ]);
    const m = jsonOf(model);
    assert.equal(m.cid, cid);
    assert.equal(m.pinned, true);
    assert.equal(m.pin.blocks, r.blocks);
    const a = jsonOf(again);
    assert.equal(a.fetchedBlocks, 0, 'a rerun finds every block in the store');
    assert.equal(a.reusedBlocks, r.blocks);
  } finally {
    gw.child.kill('SIGINT');
  }
  const end = await gw.done;
  assert.equal(end.status, 0, end.stderr);
  assert.match(end.stderr, /SIGINT, stopping/);
  assert.throws(() => process.kill(gw.child.pid!, 0), /ESRCH/, 'no leftover gateway process');
});
