// The scratch memory shared by the kernel modules (runtime.ts): one WebAssembly.Memory
// for elementwise, pool, reduce, conv and math; no job writes math's erf table below
// SCRATCH_BASE (it stays intact whatever ran before); growing detaches no result; jobs above
// sharedBytes run in a throw-away memory; in-place layouts give the reference bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../../test/fixtures/models.js';
import { erf64 } from '../math/erf.js';
import { exp64 } from '../math/exp.js';
import { SCRATCH_BASE, WasmKernelModule, sharedScratchBytes, type KernelExports } from './runtime.js';
import { wasmBytes as elementwiseBytes } from './elementwise.wasm.js';
import { wasmBytes as mathBytes } from './math.wasm.js';
import { wasmBytes as poolBytes } from './pool.wasm.js';
import { wasmBytes as reduceBytes } from './reduce.wasm.js';
import { wasmBytes as convBytes } from './conv.wasm.js';
import { wasmBytes as gemmBytes } from './gemm.wasm.js';
import { binaryF32Wasm, reluF32Wasm, type BinaryOpF32 } from './elementwise.js';
import { geluF32Wasm, layerNormRowsF32Wasm, softmaxColsF32Wasm, softmaxRowsF32Wasm, unaryF32Wasm } from './math.js';
import { maxPool2dF32Wasm } from './pool.js';
import { argF32Wasm, reduceF32Wasm } from './reduction.js';
import { conv2dF32Wasm, convTranspose2dF32Wasm } from './convolution.js';

const bits = (f: Float32Array): Uint32Array => new Uint32Array(f.buffer, f.byteOffset, f.length);

/** The process-wide scratch memory (every shared module's instance imports the same one). */
function scratch(): WebAssembly.Memory {
  return new WasmKernelModule<KernelExports>(elementwiseBytes, { shared: true }).memory(0)!.mem;
}

function randomF32(n: number, r: () => number): Float32Array {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 8 - 4);
  return f;
}

test('the shared modules all get one memory; a non-shared module keeps its own', () => {
  const mems = [elementwiseBytes, mathBytes, poolBytes, reduceBytes, convBytes].map(
    (b) => new WasmKernelModule<KernelExports>(b, { shared: true }).memory(SCRATCH_BASE + 100)!.mem,
  );
  for (const m of mems) assert.equal(m, mems[0]);
  const bigger = new WasmKernelModule<KernelExports>(poolBytes, { shared: true }).memory(sharedScratchBytes() + 70_000)!;
  assert.equal(bigger.mem, mems[0]);
  assert.ok(mems[0]!.buffer.byteLength >= SCRATCH_BASE + 70_000, 'growing through one module grows them all');
  // gemm.wat defines its own memory (src/platform/pool-worker.mjs instantiates it with no imports)
  const own = new WasmKernelModule<KernelExports>(gemmBytes).memory(100)!;
  assert.notEqual(own.mem, mems[0]);
  assert.ok(new WebAssembly.Instance(new WebAssembly.Module(gemmBytes() as BufferSource), {}).exports.gemm);
});

test('jobs above sharedBytes run in a throw-away memory; the shared one does not grow', () => {
  const small = new WasmKernelModule<KernelExports>(mathBytes, { shared: true, sharedBytes: 1 << 16 });
  const before = sharedScratchBytes();
  const w = small.memory(sharedScratchBytes() + (1 << 20))!;
  assert.notEqual(w.mem, scratch());
  assert.equal(sharedScratchBytes(), before);
  // math's start function wrote its table into the fresh memory too
  const fresh = new Float64Array(w.mem.buffer, 0, 120);
  const shared = new Float64Array(scratch().buffer, 0, 120);
  assert.deepEqual(fresh, shared);
  assert.equal(small.memory(2 * 1024 * 1024 * 1024), undefined, 'above maxBytes: declined');
});

test('no kernel job writes the math table below SCRATCH_BASE: it survives every wrapper, and results stay exact', () => {
  const r = rng(21);
  unaryF32Wasm('erf', new Float32Array(8), new Float32Array(8)); // math instantiated: table written
  // math.wat's table is bytes [0, 960); [960, 1024) are its own per-call scratch slots
  const TABLE = 960;
  const low = new Uint8Array(scratch().buffer, 0, TABLE).slice();
  const n = 5000;
  const x = randomF32(n, r);
  const y = new Float32Array(n);
  // every wrapper, with jobs big enough to grow the memory in between
  assert.ok(reluF32Wasm(x, y));
  for (const op of ['add', 'sub', 'mul', 'div'] as const) assert.ok(binaryF32Wasm(op, x, 0, 1, randomF32(n, r), 0, 1, y, 1, n));
  assert.ok(unaryF32Wasm('exp', x, y));
  assert.ok(geluF32Wasm(x, y, false, () => {}));
  assert.ok(softmaxRowsF32Wasm(x, y, 50, 100, true, Math.log, () => {}));
  assert.ok(softmaxColsF32Wasm(x, y, 5, 100, 10, false, Math.log, () => {}));
  assert.ok(layerNormRowsF32Wasm(x, y, 50, 100, 1e-5, new Float32Array(100).fill(1), null, new Float32Array(50), new Float32Array(50), () => {}));
  assert.ok(maxPool2dF32Wasm(x, new Float32Array(2 * 24 * 24), 2, { H: 50, W: 50, OH: 24, OW: 24, kH: 3, kW: 3, sH: 2, sW: 2, dH: 1, dW: 1, pT: 0, pL: 0 }));
  assert.ok(reduceF32Wasm(0, x, [50, 100], [true, false], new Float32Array(100)));
  assert.ok(argF32Wasm(x, 50, 100, 1, true, false, new BigInt64Array(50)));
  const g = { N: 1, C: 2, H: 50, W: 50, M: 3, group: 1, KH: 3, KW: 3, OH: 48, OW: 48, sH: 1, sW: 1, dH: 1, dW: 1, pT: 0, pL: 0 };
  assert.ok(conv2dF32Wasm(x, randomF32(54, r), undefined, new Float32Array(3 * 48 * 48), g));
  const gt = { N: 1, C: 2, H: 20, W: 20, M: 3, group: 1, KH: 3, KW: 3, OH: 41, OW: 41, sH: 2, sW: 2, dH: 1, dW: 1, pT: 0, pL: 0 };
  assert.ok(convTranspose2dF32Wasm(x.subarray(0, 800), randomF32(54, r), undefined, new Float32Array(3 * 41 * 41), gt));
  assert.ok(scratch().buffer.byteLength > SCRATCH_BASE + 4 * n);
  assert.deepEqual(new Uint8Array(scratch().buffer, 0, TABLE), low);
  // erf and exp after all of that: the reference bits
  const e = new Float32Array(n);
  assert.ok(unaryF32Wasm('erf', x, e));
  for (let i = 0; i < n; i++) assert.equal(bits(e)[i], bits(Float32Array.of(erf64(x[i]!)))[0], `erf ${x[i]}`);
  assert.ok(unaryF32Wasm('exp', x, e));
  for (let i = 0; i < n; i++) assert.equal(bits(e)[i], bits(Float32Array.of(exp64(x[i]!)))[0], `exp ${x[i]}`);
});

test('in-place binary layouts (output over an operand) give the reference bits, every row shape', () => {
  const r = rng(8);
  const F: Record<BinaryOpF32, (a: number, b: number) => number> = {
    add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  };
  for (const m of [1, 2, 3, 7]) {
    for (const n of [1, 3, 4, 5, 8, 12, 13, 16, 33]) {
      // [a layout, b layout] as (r, e) pairs: full, trailing row, per-row scalar, scalar
      const layouts: [number, number][] = [[n, 1], [0, 1], [1, 0], [0, 0]];
      for (const [ra, ea] of layouts) {
        for (const [rb, eb] of layouts) {
          for (const op of ['add', 'sub', 'mul', 'div'] as const) {
            const a = randomF32((m - 1) * ra + (n - 1) * ea + 1, r);
            const b = randomF32((m - 1) * rb + (n - 1) * eb + 1, r);
            const keepA = a.slice();
            const keepB = b.slice();
            const o = new Float32Array(m * n + 1).fill(7);
            assert.ok(binaryF32Wasm(op, a, ra, ea, b, rb, eb, o, m, n));
            const want = new Float32Array(m * n + 1).fill(7);
            for (let i = 0; i < m; i++) for (let t = 0; t < n; t++) want[i * n + t] = F[op](a[i * ra + t * ea]!, b[i * rb + t * eb]!);
            assert.deepEqual(bits(o), bits(want), `${op} m=${m} n=${n} a(${ra},${ea}) b(${rb},${eb})`);
            assert.deepEqual(bits(a), bits(keepA));
            assert.deepEqual(bits(b), bits(keepB));
          }
        }
      }
    }
  }
});
