import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ops } from './loss.js';
import type { AttrValue } from '../../onnx/model.js';
import { Tensor } from '../../tensor/tensor.js';
import { DType } from '../../tensor/dtype.js';
import { expf, logf } from '../math/index.js';
import { makeCtx, int, str, throwsCode, sameBits32, nrLcgFloat32 } from '../../../test/fixtures/kernels.js';

type Attr = AttrValue;
const fr = Math.fround;

function run(opType: string, inputs: (Tensor | undefined)[], attrs: Record<string, Attr> = {}, nOut = 1): Tensor[] {
  return ops[opType]!(inputs, makeCtx(opType, attrs, 13, ['z', 'lp'].slice(0, nOut)));
}

const rnd = (n: number, seed: number): Float32Array => nrLcgFloat32(n, seed, -4, 4);

const N = 3, C = 5, D1 = 4;
const x = new Tensor(DType.float32, [N, C, D1], rnd(N * C * D1, 1));
const tgtVals = [0, 4, 2, 1, 3, 3, 0, 2, 1, 1, 4, 0];
const target = new Tensor(DType.int64, [N, D1], BigInt64Array.from(tgtVals.map(BigInt)));
const weight = new Tensor(DType.float32, [C], Float32Array.from([0.5, 1.25, 2, 0.75, 3]));

/** Independent re-computation of the NLL in the documented order. */
function naiveNll(lp: Float32Array, reduction: string, w?: Float32Array, ii?: number): Float32Array {
  const ls: number[] = [];
  const ws: number[] = [];
  for (let n = 0; n < N; n++) for (let d = 0; d < D1; d++) {
    const t = tgtVals[n * D1 + d]!;
    const ign = ii !== undefined && t === ii;
    let l = -(ign ? 0 : lp[(n * C + t) * D1 + d]!);
    const wt = ign ? 0 : w ? w[t]! : 1;
    if (w) l = fr(l * wt);
    ls.push(l);
    ws.push(wt);
  }
  if (reduction === 'none') return Float32Array.from(ls);
  let s = 0;
  for (const l of ls) s = fr(s + l);
  if (reduction === 'sum') return Float32Array.of(s);
  if (w || ii !== undefined) {
    let sw = 0;
    for (const v of ws) sw = fr(sw + v);
    return Float32Array.of(fr(s / sw));
  }
  return Float32Array.of(fr(s / ls.length));
}

test('NegativeLogLikelihoodLoss matches an independent re-computation bit for bit', () => {
  const xd = x.data as Float32Array;
  for (const reduction of ['none', 'sum', 'mean']) {
    for (const w of [undefined, weight]) {
      for (const ii of [undefined, 1]) {
        const attrs: Record<string, Attr> = { reduction: str(reduction) };
        if (ii !== undefined) attrs.ignore_index = int(ii);
        const out = run('NegativeLogLikelihoodLoss', [x, target, w], attrs)[0]!;
        sameBits32(out, naiveNll(xd, reduction, w?.data as Float32Array | undefined, ii));
        assert.deepEqual(out.shape, reduction === 'none' ? [N, D1] : []);
      }
    }
  }
});

test('SoftmaxCrossEntropyLoss = LogSoftmax(axis 1) then NLL, bit for bit; log_prob output', () => {
  const xd = x.data as Float32Array;
  const lp = new Float32Array(xd.length);
  for (let n = 0; n < N; n++) for (let d = 0; d < D1; d++) {
    const at = (c: number): number => (n * C + c) * D1 + d;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, xd[at(c)]!);
    let s = 0;
    for (let c = 0; c < C; c++) s = fr(s + expf(fr(xd[at(c)]! - m)));
    const l = logf(s);
    for (let c = 0; c < C; c++) lp[at(c)] = fr(fr(xd[at(c)]! - m) - l);
  }
  const [z, lpOut] = run('SoftmaxCrossEntropyLoss', [x, target, weight], { ignore_index: int(4) }, 2);
  sameBits32(lpOut!, lp);
  sameBits32(z!, naiveNll(lp, 'mean', weight.data as Float32Array, 4));
  const [z2] = run('SoftmaxCrossEntropyLoss', [x, target], { reduction: str('sum') });
  sameBits32(z2!, naiveNll(lp, 'sum'));
});

test('loss edge cases: int32 targets, rank-2 input, all ignored mean is NaN, float64', () => {
  const x2 = new Tensor(DType.float32, [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
  const t32 = new Tensor(DType.int32, [2], Int32Array.from([2, 0]));
  assert.deepEqual(Array.from(run('NegativeLogLikelihoodLoss', [x2, t32], { reduction: str('none') })[0]!.data as Float32Array), [-3, -4]);
  assert.deepEqual(Array.from(run('NegativeLogLikelihoodLoss', [x2, t32])[0]!.data as Float32Array), [-3.5]);
  const tIgn = new Tensor(DType.int32, [2], Int32Array.from([-1, -1]));
  assert.ok(Number.isNaN(run('NegativeLogLikelihoodLoss', [x2, tIgn], { ignore_index: int(-1) })[0]!.data[0] as number));
  assert.equal(run('NegativeLogLikelihoodLoss', [x2, tIgn], { ignore_index: int(-1), reduction: str('sum') })[0]!.data[0], 0);
  const x64 = new Tensor(DType.float64, [2, 3], Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
  const z = run('SoftmaxCrossEntropyLoss', [x64, t32])[0]!;
  assert.equal(z.dtype, DType.float64);
  const lse = (a: number[]): number => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
  const expect = (-(0.3 - lse([0.1, 0.2, 0.3])) - (0.4 - lse([0.4, 0.5, 0.6]))) / 2;
  assert.ok(Math.abs((z.data[0] as number) - expect) < 1e-14);
  // empty batch: sum is 0, none is empty
  const e = new Tensor(DType.float32, [0, 3], new Float32Array(0));
  const te = new Tensor(DType.int64, [0], new BigInt64Array(0));
  assert.equal(run('NegativeLogLikelihoodLoss', [e, te], { reduction: str('sum') })[0]!.data[0], 0);
  assert.deepEqual(run('NegativeLogLikelihoodLoss', [e, te], { reduction: str('none') })[0]!.shape, [0]);
});

test('loss errors are typed', () => {
  const x2 = new Tensor(DType.float32, [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
  const bad = new Tensor(DType.int64, [2], BigInt64Array.from([3n, 0n]));
  throwsCode(() => run('NegativeLogLikelihoodLoss', [x2, bad]), 'INVALID_ARGUMENT'); // target out of range
  const neg = new Tensor(DType.int64, [2], BigInt64Array.from([-1n, 0n]));
  throwsCode(() => run('SoftmaxCrossEntropyLoss', [x2, neg]), 'INVALID_ARGUMENT');
  throwsCode(() => run('NegativeLogLikelihoodLoss', [x2, new Tensor(DType.int64, [3], new BigInt64Array(3))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('NegativeLogLikelihoodLoss', [x2, neg], { reduction: str('avg') }), 'INVALID_ARGUMENT');
  throwsCode(() => run('NegativeLogLikelihoodLoss', [x2, new Tensor(DType.int64, [2], new BigInt64Array(2)), new Tensor(DType.float32, [2], new Float32Array(2))]), 'INVALID_ARGUMENT');
  throwsCode(() => run('NegativeLogLikelihoodLoss', [new Tensor(DType.float16, [2, 3], new Uint16Array(6)), new Tensor(DType.int64, [2], new BigInt64Array(2))]), 'UNSUPPORTED_FEATURE');
  throwsCode(() => run('NegativeLogLikelihoodLoss', [new Tensor(DType.float32, [3], new Float32Array(3)), new Tensor(DType.int64, [], new BigInt64Array(1))]), 'INVALID_ARGUMENT');
});
