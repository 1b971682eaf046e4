// sha256x4.wasm.ts holds exactly what sha256x4.wat assembles to with scripts/build-wasm.mjs
// (wabt, 128-bit SIMD only), as src/engine/wasm/build.test.ts checks for the kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { wasmBytes } from './sha256x4.wasm.js';

const here = path.dirname(fileURLToPath(import.meta.url));
interface BuildScript {
  loadWabt(): Promise<unknown>;
  assemble(wabt: unknown, fileName: string, text: string): Uint8Array;
  render(name: string, bytes: Uint8Array): string;
}
const build = (await import(new URL('../../scripts/build-wasm.mjs', import.meta.url).href)) as BuildScript;

test('sha256x4.wasm.ts is exactly sha256x4.wat assembled (SIMD only, no imports)', async () => {
  const wabt = await build.loadWabt();
  assert.ok(wabt, 'wabt (devDependency) is installed');
  const bytes = build.assemble(wabt, 'sha256x4.wat', readFileSync(path.join(here, 'sha256x4.wat'), 'utf8'));
  assert.deepEqual(wasmBytes(), bytes, 'sha256x4.wasm.ts is stale: reassemble sha256x4.wat');
  assert.equal(readFileSync(path.join(here, 'sha256x4.wasm.ts'), 'utf8'), build.render('sha256x4', bytes));
  assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(bytes as BufferSource)), []);
  assert.doesNotMatch(readFileSync(path.join(here, 'sha256x4.wasm.ts'), 'utf8'), /Buffer|require\(|from 'node:|\bimport\b/);
});
