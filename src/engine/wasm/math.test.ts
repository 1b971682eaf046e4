// The WebAssembly SIMD math kernels (math.wat) store exactly the bits of their plain
// TypeScript references (../math/*.ts, reduce.ts softmaxF32), NaN payloads included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TABLE_END, layerNormRowsF32Wasm, softmaxRowsF32Wasm, unaryF32Wasm, type UnaryOpF32 } from './math.js';
import { wasmBytes } from './math.wasm.js';
import { erf64, exp64, logf, sigmoid64, tanh64 } from '../math/index.js';
import { softmaxF32 } from '../ops/reduce.js';
import { sameBits32 } from '../../../test/fixtures/kernels.js';
import { rng } from '../../../test/fixtures/models.js';

const REF: Record<UnaryOpF32, (x: number) => number> = { exp: exp64, erf: erf64, sigmoid: sigmoid64, tanh: tanh64 };
const OPS = Object.keys(REF) as UnaryOpF32[];

/** Special bit patterns: NaNs (quiet and signalling, both signs, payloads), ±0, ±Inf, subnormals, extremes. */
const SPECIAL_BITS = [
  0x7fc00000, 0xffc00000, 0x7fc00001, 0xffc12345, 0x7fffffff, 0xffffffff,
  0x7f800001, 0xff800001, 0x7fa00000, 0x7fbfffff, 0xffa5a5a5,
  0x00000000, 0x80000000, 0x7f800000, 0xff800000,
  0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, 0x80400000,
  0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000,
];

/** Values around every threshold of the references: exp's 710 / -746 and its scalbn ranges, erf's branch bounds. */
function thresholdValues(): Float32Array {
  const centers = [
    0, 710, -746, 709.78, -708.4, -745.13, -744.44, -87.3, 88.72, 88.7, -103.97, -103.3, // exp: overflow, scalbn, float32 limits
    0.3465, -0.3465, 1, 2, 3, 4, 6, 5, 1.5, 2.5, 3.5, 3.9192, 0.5, // erf branch bounds and centres
    22, 36.7, 18.4, 9.0, 16.6, -16.6, 17.3, -17.3, 1e-8, 3.7e-9, // sigmoid / tanh saturation
    0.17328679513998632, 18.021826694558577, 18.7149738751185, 2 ** -28, 0.25, // tanh: expm1 branch bounds (2a = HALF_LN2, k = 52 / 53), 2^-28
  ];
  const out: number[] = [];
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const c of centers) {
    for (const s of [1, -1]) {
      f[0] = s * c;
      const b = u[0]!;
      for (let d = -300; d <= 300; d++) {
        u[0] = (b + d) >>> 0;
        out.push(f[0]!);
      }
    }
  }
  return Float32Array.from(out);
}

function reference(op: UnaryOpF32, x: Float32Array): Float32Array {
  const fn = REF[op];
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = fn(x[i]!);
  return y;
}

function check(op: UnaryOpF32, x: Float32Array, what: string): void {
  const got = new Float32Array(x.length);
  assert.ok(unaryF32Wasm(op, x, got), 'WebAssembly SIMD is available in Node 20');
  sameBits32(got, reference(op, x), `${op} ${what}`);
}

test('the erf coefficient table in wasm memory holds exactly the doubles of erf.ts', () => {
  const mem = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes() as BufferSource), { env: { mem } });
  const t = new Float64Array((inst.exports.mem as WebAssembly.Memory).buffer, 0, TABLE_END / 8);
  // every entry replays erf64 at its branch: a polynomial evaluated from the table equals erf64
  const horner = (b: number, tt: number): number => {
    let p = t[b * 20 + 1]!;
    for (let i = 2; i <= 18; i++) p = p * tt + t[b * 20 + i]!;
    return p;
  };
  const r = rng(3);
  for (let k = 0; k < 2000; k++) {
    const x = Math.fround(r() * 7);
    const b = (x >= 1 ? 1 : 0) + (x >= 2 ? 1 : 0) + (x >= 3 ? 1 : 0) + (x >= 4 ? 1 : 0) + (x >= 6 ? 1 : 0);
    if (b === 5) continue;
    const v = b === 0 ? x * horner(0, x * x) : 1 - horner(b, x - t[b * 20]!);
    assert.equal(v, erf64(x), `x=${x}`);
  }
  assert.deepEqual([t[20], t[40], t[60], t[80]], [1.5, 2.5, 3.5, 5]);
  assert.ok(t.subarray(100, 120).every((v) => v === 0), 'entry 5 is all zeros');
});

test('Exp/Erf/Sigmoid/Tanh: special values and dense sweeps around every threshold, bit for bit', () => {
  const specials = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  const th = thresholdValues();
  for (const op of OPS) {
    check(op, specials, 'specials');
    check(op, th, 'thresholds');
  }
  // NaN rule, bit by bit: quieted, sign and payload kept
  const got = new Float32Array(specials.length);
  unaryF32Wasm('erf', specials, got);
  const u = new Uint32Array(got.buffer);
  for (let i = 0; i < SPECIAL_BITS.length; i++) {
    const b = SPECIAL_BITS[i]!;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) assert.equal(u[i], (b | 0x00400000) >>> 0);
  }
});

test('Exp/Erf/Sigmoid/Tanh: every 65537th float32 bit pattern over the whole range, bit for bit', () => {
  const step = 65537;
  const x = new Float32Array(Math.ceil(2 ** 32 / step));
  const u = new Uint32Array(x.buffer);
  for (let i = 0, b = 0; i < u.length; i++, b += step) u[i] = b >>> 0;
  for (const op of OPS) check(op, x, 'sweep');
});

test('Exp/Erf/Sigmoid/Tanh: random arrays of odd lengths, mixed magnitudes (mixed erf branches per vector)', () => {
  const r = rng(9);
  for (const n of [1, 2, 3, 4, 5, 7, 9, 63, 64, 65, 257, 1000, 4099]) {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = (r() * 2 - 1) * 2 ** Math.floor(r() * 14 - 6);
    for (const op of OPS) check(op, x, `n=${n}`);
  }
});

// ---- Softmax / LogSoftmax rows

function softmaxBoth(x: Float32Array, rows: number, N: number, log: boolean, what: string): void {
  const want = new Float32Array(rows * N);
  softmaxF32(x, want, rows, N, 1, log);
  const got = new Float32Array(rows * N).fill(42);
  const fb = (r: number): void => softmaxF32(x.subarray(r * N, (r + 1) * N), got.subarray(r * N, (r + 1) * N), 1, N, 1, log);
  assert.ok(softmaxRowsF32Wasm(x, got, rows, N, log, logf, fb));
  sameBits32(got, want, `${log ? 'logsoftmax' : 'softmax'} ${what}`);
}

test('Softmax/LogSoftmax rows: random shapes incl. odd N, bit for bit with softmaxF32', () => {
  const r = rng(21);
  for (const [rows, N] of [[1, 1], [3, 1], [2, 2], [5, 3], [4, 5], [7, 7], [3, 8], [9, 13], [512, 128], [4, 1000], [2, 4099]] as const) {
    for (const scale of [1, 10, 200]) {
      const x = new Float32Array(rows * N);
      for (let i = 0; i < x.length; i++) x[i] = (r() * 2 - 1) * scale;
      for (const log of [false, true]) softmaxBoth(x, rows, N, log, `${rows}x${N} scale ${scale}`);
    }
  }
});

test('Softmax/LogSoftmax rows: NaN, ±Inf, all -Inf, signed-zero maxima and underflowing exps', () => {
  const r = rng(22);
  const specials = new Float32Array(Uint32Array.from(SPECIAL_BITS).buffer);
  for (const N of [1, 3, 4, 6, 17]) {
    const rows = 40;
    const x = new Float32Array(rows * N);
    for (let i = 0; i < x.length; i++) {
      const t = r();
      x[i] = t < 0.15 ? specials[Math.floor(r() * specials.length)]! : t < 0.3 ? (r() < 0.5 ? 0 : -0) : t < 0.4 ? -1000 * r() : -r() * 4;
    }
    // whole rows of special kinds: all -Inf, all zeros of mixed sign, -0 then +0, only negatives and a zero
    x.fill(-Infinity, 0, N);
    x.fill(-0, N, 2 * N);
    x[2 * N] = -0;
    x.fill(0, 2 * N + 1, 3 * N);
    x.fill(-5, 3 * N, 4 * N);
    x[4 * N - 1] = -0;
    for (const log of [false, true]) softmaxBoth(x, rows, N, log, `specials N=${N}`);
  }
});

// ---- LayerNormalization rows

/** The reference: normalization.ts standardizeRowsF32's float32 steps for one row, written out. */
function layerNormRef(x: Float32Array, rows: number, n: number, eps: number, sc: Float32Array, bi: Float32Array | null) {
  const fr = Math.fround;
  const y = new Float32Array(rows * n), mean = new Float32Array(rows), inv = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const b = r * n;
    let s1 = 0;
    for (let j = 0; j < n; j++) s1 = fr(s1 + x[b + j]!);
    const m = fr(s1 / n);
    let s2 = 0;
    for (let j = 0; j < n; j++) {
      const d = fr(x[b + j]! - m);
      y[b + j] = d;
      s2 = fr(s2 + fr(d * d));
    }
    const iv = fr(1 / fr(Math.sqrt(fr(fr(s2 / n) + eps))));
    mean[r] = m;
    inv[r] = iv;
    for (let j = 0; j < n; j++) {
      let v = fr(fr(y[b + j]! * iv) * sc[j]!);
      if (bi) v = fr(v + bi[j]!);
      y[b + j] = v;
    }
  }
  return { y, mean, inv };
}

function layerNormBoth(x: Float32Array, rows: number, n: number, eps: number, sc: Float32Array, bi: Float32Array | null, what: string): number {
  const want = layerNormRef(x, rows, n, eps, sc, bi);
  const y = new Float32Array(rows * n).fill(42), mean = new Float32Array(rows).fill(42), inv = new Float32Array(rows).fill(42);
  let fell = 0;
  const fb = (r: number): void => {
    fell++;
    const one = layerNormRef(x.subarray(r * n, (r + 1) * n), 1, n, eps, sc, bi);
    y.set(one.y, r * n);
    mean[r] = one.mean[0]!;
    inv[r] = one.inv[0]!;
  };
  assert.ok(layerNormRowsF32Wasm(x, y, rows, n, eps, sc, bi, mean, inv, fb));
  sameBits32(y, want.y, `y ${what}`);
  sameBits32(mean, want.mean, `mean ${what}`);
  sameBits32(inv, want.inv, `inv ${what}`);
  return fell;
}

test('LayerNormalization rows: random shapes (rows not a multiple of 4, odd n), with and without bias', () => {
  const r = rng(31);
  for (const [rows, n] of [[1, 1], [1, 5], [2, 3], [3, 4], [5, 7], [4, 16], [7, 33], [128, 256], [9, 1023]] as const) {
    for (const [scale, offset] of [[1, 0], [100, 3], [1e-3, 1e4]] as const) {
      const x = new Float32Array(rows * n).map(() => (r() * 2 - 1) * scale + offset);
      const sc = new Float32Array(n).map(() => r() * 2 - 1);
      const bi = new Float32Array(n).map(() => r() - 0.5);
      for (const eps of [Math.fround(1e-5), 0, Math.fround(0.5)]) {
        layerNormBoth(x, rows, n, eps, sc, bi, `${rows}x${n} scale ${scale} eps ${eps}`);
        layerNormBoth(x, rows, n, eps, sc, null, `${rows}x${n} no bias`);
      }
    }
  }
});

test('LayerNormalization rows: NaN, Inf, overflowing sums and constant rows with eps 0 go to the fallback', () => {
  const n = 6, rows = 9;
  const x = new Float32Array(rows * n).map((_, i) => (i % 5) - 2);
  x[0] = NaN; // row 0: NaN
  x[n + 2] = Infinity; // row 1: Inf
  x.fill(3e38, 2 * n, 3 * n); // row 2: the sum overflows
  x.fill(1.5, 3 * n, 4 * n); // row 3: constant (variance 0; inv = Inf with eps 0)
  x[4 * n] = -3e38; x[4 * n + 1] = 3e38; // row 4: d overflows
  const sc = new Float32Array(n).fill(1), bi = new Float32Array(n).fill(0.25);
  const fell = layerNormBoth(x, rows, n, 0, sc, bi, 'specials eps 0');
  assert.ok(fell >= 4, `rows recomputed by the reference: ${fell}`);
  layerNormBoth(x, rows, n, Math.fround(1e-5), sc, bi, 'specials');
});
