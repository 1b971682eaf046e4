// The committed WebAssembly modules (*.wasm.ts) are exactly what their .wat sources
// assemble to with scripts/build-wasm.mjs (wabt, 128-bit SIMD only), so the readable
// source and the binary the engine runs cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const scriptUrl = new URL('../../../scripts/build-wasm.mjs', import.meta.url).href;

interface Wabt {
  parseWat: unknown;
}
interface BuildScript {
  loadWabt(): Promise<Wabt | null>;
  assemble(wabt: Wabt, fileName: string, text: string): Uint8Array;
  render(name: string, bytes: Uint8Array): string;
  sources(): string[];
  FEATURES: Record<string, boolean>;
}
const build = (await import(scriptUrl)) as BuildScript;
const wabt = await build.loadWabt();
assert.ok(wabt, 'wabt (devDependency) is installed');

const names = build.sources();

test('every .wat has its generated .wasm.ts and nothing else is generated', () => {
  assert.ok(names.includes('gemm') && names.includes('elementwise'), `sources: ${names.join(', ')}`);
  const generated = readdirSync(here)
    .filter((f) => f.endsWith('.wasm.ts'))
    .map((f) => f.slice(0, -'.wasm.ts'.length))
    .sort();
  assert.deepEqual(generated, names);
});

for (const name of names) {
  test(`${name}.wasm.ts holds exactly the bytes ${name}.wat assembles to`, async () => {
    const bytes = build.assemble(wabt, `${name}.wat`, readFileSync(path.join(here, `${name}.wat`), 'utf8'));
    const gen = (await import(`./${name}.wasm.js`)) as { wasmBytes: () => Uint8Array; wasmBase64: string };
    assert.deepEqual(gen.wasmBytes(), bytes, `run \`npm run build:wasm\`: ${name}.wasm.ts is stale`);
    assert.equal(readFileSync(path.join(here, `${name}.wasm.ts`), 'utf8'), build.render(name, bytes));
    assert.ok(WebAssembly.validate(bytes as BufferSource));
    const mod = new WebAssembly.Module(bytes as BufferSource);
    assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === 'mem' && e.kind === 'memory'));
    // gemm keeps a memory of its own (pool-worker.mjs instantiates it with no imports);
    // the others import the scratch memory they share (runtime.ts)
    const imports = WebAssembly.Module.imports(mod);
    if (name === 'gemm') assert.deepEqual(imports, []);
    else assert.deepEqual(imports, [{ module: 'env', name: 'mem', kind: 'memory' }]);
  });
}

test('the generated modules are browser-safe (no Buffer, no Node.js imports)', () => {
  for (const name of names) {
    const text = readFileSync(path.join(here, `${name}.wasm.ts`), 'utf8');
    assert.doesNotMatch(text, /Buffer|require\(|from 'node:|\bimport\b/);
  }
});

test('only 128-bit SIMD is enabled: relaxed SIMD and threads do not assemble', () => {
  assert.equal(build.FEATURES.simd, true);
  assert.equal(build.FEATURES.relaxed_simd, false);
  assert.equal(build.FEATURES.threads, false);
  const relaxed = `(module (func (param v128 v128 v128) (result v128)
    (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))`;
  assert.throws(() => build.assemble(wabt, 'relaxed.wat', relaxed), /not allowed/);
  const atomics = `(module (memory 1) (func (param i32) (result i32) (i32.atomic.load (local.get 0))))`;
  assert.throws(() => build.assemble(wabt, 'threads.wat', atomics), /not allowed/);
  const simd = `(module (func (param v128 v128) (result v128) (f32x4.add (local.get 0) (local.get 1))))`;
  assert.ok(build.assemble(wabt, 'simd.wat', simd).length > 8);
});
