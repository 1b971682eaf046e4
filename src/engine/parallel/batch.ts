/**
 * Batch separability analysis (issue 7): can one session run be split into several
 * runs over contiguous ranges of samples (axis 0 of some feeds), whose outputs,
 * concatenated along axis 0, are the whole run's outputs bit for bit?
 *
 * The argument is per value. A value is "batched" when it carries the batch axis as its
 * axis 0, with extent n (the split feeds' extent), and its sample i (the sub-tensor at
 * index i of axis 0) is a function of sample i of the split feeds and of unbatched
 * values only; it is "unbatched" when it depends on no split feed at all (initializers,
 * feeds that are not split, and everything computed only from them). A run over the
 * samples [a, b) then computes, for each batched value, exactly the samples [a, b) of the
 * whole run's value: each output element is produced by the same kernel code, with the
 * same operands in the same canonical order (kernel results never depend on the extent
 * of axis 0 beyond which elements exist: ops/README.md fixes one order per element, and
 * every fast path returns the reference bits), and unbatched values are the same tensors
 * in every run. Bit-identity therefore holds for any split, provided every node that
 * reads a batched value is on the whitelist below, each rule of which states why sample
 * i of its outputs reads only sample i of its batched inputs.
 *
 * Conservative by construction: anything not positively known to keep samples apart
 * (unknown op, unknown shape of an operand that could broadcast over axis 0, a Reshape
 * whose target could move the batch axis) makes the graph "not separable".
 * Browser-safe: plain data analysis, no platform APIs.
 */
import type { AttrValue, ModelIR, NodeIR } from '../../onnx/model.js';
import { requiredInputs } from '../../onnx/model.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface BatchPlan {
  /** Feeds cut along axis 0 (every other feed goes whole to every run). */
  splitInputs: string[];
  /** Their common axis-0 extent n (>= 2). */
  batch: number;
}

export type PlanResult = { plan: BatchPlan; reason?: undefined } | { plan?: undefined; reason: string };

/** What the analysis knows of a value. */
interface Info {
  batched: boolean;
  /** Rank, when known (always known for batched values). */
  rank?: number;
  /** Full shape for unbatched values / per-sample shape (axis 0 removed) for batched ones, when known. */
  shape?: number[];
  /** The tensor itself (initializers, Constant nodes), for shape-like operands. */
  value?: Tensor;
}

/** Elementwise ops of one data input: sample i of the output reads sample i of the input only. */
const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'ThresholdedRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh',
  'Softplus', 'Softsign', 'Gelu', 'Mish', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Erf', 'Floor', 'Ceil',
  'Round', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Not',
  'IsNaN', 'IsInf', 'Identity', 'Cast', 'CastLike', 'Clip', 'Dropout', 'Shrink', 'BitwiseNot',
]);

/** Broadcasting elementwise ops (numpy rules): see `broadcastRule`. */
const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Less', 'Greater', 'LessOrEqual',
  'GreaterOrEqual', 'And', 'Or', 'Xor', 'PRelu', 'Where', 'Mod', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor',
]);

/** Ops whose input 0 is [N, C, ...] and whose other inputs are per-channel parameters. */
const SPATIAL = new Set([
  'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
  'BatchNormalization', 'LRN', 'InstanceNormalization',
]);

const intAttr = (n: NodeIR, name: string): number | undefined => {
  const a: AttrValue | undefined = n.attrs.get(name);
  return a?.kind === 'int' ? a.value : undefined;
};
const intsAttr = (n: NodeIR, name: string): number[] | undefined => {
  const a = n.attrs.get(name);
  return a?.kind === 'ints' ? a.value : undefined;
};

/** A node's rule verdict: the outputs' info, or why the node does not keep samples apart. */
type Verdict = Info[] | string;

function tensorInts(t: Tensor | undefined): number[] | undefined {
  if (!t || t.rank !== 1) return undefined;
  const d = t.data;
  if (d instanceof BigInt64Array) return Array.from(d, (x) => Number(x));
  return undefined;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * numpy broadcasting of batched and unbatched operands: the output keeps the batch axis
 * first when every batched operand has the output's rank (so its axis 0 is the output's
 * axis 0) and every unbatched operand either has a lower rank (it does not reach axis 0)
 * or a known axis-0 extent of 1 (it is the same for every sample).
 */
function broadcastRule(ins: (Info | undefined)[], outputs: number): Verdict {
  const present = ins.filter((i): i is Info => i !== undefined);
  let rank = 0;
  for (const i of present) {
    if (i.rank === undefined) return 'an operand of unknown rank';
    rank = Math.max(rank, i.rank);
  }
  for (const i of present) {
    if (i.batched) {
      if (i.rank !== rank) return 'a batched operand is broadcast to a higher rank (its axis 0 would not be the batch axis)';
    } else if (i.rank === rank) {
      if (!i.shape) return 'an unbatched operand of full rank with unknown shape';
      if (i.shape[0] !== 1) return 'an unbatched operand varies along the batch axis';
    }
  }
  // per-sample shapes, right-aligned to rank - 1 dims
  let shape: number[] | undefined = new Array<number>(rank - 1).fill(1);
  for (const i of present) {
    const s = i.batched || i.rank === rank ? (i.batched ? i.shape : i.shape?.slice(1)) : i.shape;
    if (!s || !shape) {
      shape = undefined;
      continue;
    }
    const off = rank - 1 - s.length;
    shape = shape.map((d, k) => (k < off || s[k - off] === 1 ? d : s[k - off]!));
  }
  return Array.from({ length: outputs }, () => ({ batched: true, rank, shape }));
}

/** The rule for a node with at least one batched input. */
function nodeRule(n: NodeIR, ins: (Info | undefined)[], opset: number): Verdict {
  const x = ins[0];
  const op = n.opType;
  const others = ins.slice(1);
  const othersUnbatched = others.every((i) => !i?.batched);
  const same = (k = n.outputs.length): Info[] => Array.from({ length: k }, () => ({ batched: true, rank: x!.rank, shape: x!.shape }));
  if (UNARY.has(op)) {
    // extra inputs (Clip min/max, Dropout ratio/mode, CastLike target) are per-graph scalars
    if (!x?.batched || !othersUnbatched) return 'a batched parameter operand';
    if (op === 'Dropout' && ins[2] !== undefined) return 'Dropout with a training_mode input';
    return same();
  }
  if (BROADCAST.has(op)) {
    // opset < 7 broadcasting (`broadcast`/`axis` attributes) may align B with axis 0
    if (n.attrs.has('broadcast') || (op !== 'Where' && n.attrs.has('axis'))) return 'legacy broadcasting attributes';
    return broadcastRule(ins, n.outputs.length);
  }
  if (SPATIAL.has(op)) {
    // sample i of the output is computed from sample i of X and the (unbatched) weights
    if (!x?.batched || !othersUnbatched) return 'weights or statistics that carry the batch axis';
    if ((x.rank ?? 0) < 2) return 'a spatial op on a value of rank < 2';
    if (op === 'BatchNormalization' && (intAttr(n, 'training_mode') ?? 0) !== 0) return 'BatchNormalization in training mode (statistics over the batch)';
    // MaxPool's Indices and BatchNormalization's running statistics mix samples
    if (n.outputs.slice(1).some((o) => o !== '')) return `${op} with more than one output`;
    return [{ batched: true, rank: x.rank }];
  }
  switch (op) {
    case 'Gemm': {
      // Y = alpha*A'*B' + beta*C: row i of Y reads row i of A (transA = 0) and the constants
      const [a, b, c] = ins;
      if (!a?.batched || a.rank !== 2 || (intAttr(n, 'transA') ?? 0) !== 0) return 'Gemm whose A is not a batched [n, K] matrix';
      if (b?.batched) return 'Gemm with a batched B';
      // C broadcasts to [n, N]: a batched C must be [n, N] itself, an unbatched one must not vary by row
      if (c?.batched && c.rank !== 2) return 'Gemm with a batched C that is not [n, N]';
      if (c && !c.batched && (c.rank === undefined || (c.rank === 2 && (!c.shape || c.shape[0] !== 1)))) return 'Gemm whose C may vary by row';
      return [{ batched: true, rank: 2 }];
    }
    case 'MatMul': {
      // [n, ..., M, K] x B: with rank(A) = 2 the rows are the samples, otherwise the
      // leading batch dim; B must not reach A's axis 0
      const [a, b] = ins;
      if (!a?.batched || (a.rank ?? 0) < 2) return 'MatMul whose A is not a batched matrix';
      if (!b || b.batched || b.rank === undefined) return 'MatMul with a batched or unknown B';
      const ar = a.rank!;
      if (b.rank > ar) return 'MatMul whose B has a higher rank than A';
      if (b.rank === ar && ar > 2 && (!b.shape || b.shape[0] !== 1)) return 'MatMul whose B varies along the batch axis';
      return [{ batched: true, rank: b.rank === 1 ? ar - 1 : ar }];
    }
    case 'Flatten': {
      // only axis 1 keeps axis 0 = the samples ([n, rest]); axis > 1 would make axis 0 n*C
      const r = x!.rank!;
      let axis = intAttr(n, 'axis') ?? 1;
      if (axis < 0) axis += r;
      if (!x?.batched || axis !== 1) return 'Flatten at an axis other than 1';
      return [{ batched: true, rank: 2, shape: x.shape && [prod(x.shape)] }];
    }
    case 'Reshape': {
      if (!x?.batched || ins[1]?.batched) return 'Reshape with a batched shape';
      const target = tensorInts(ins[1]?.value);
      if (!target || target.length === 0) return 'Reshape to a shape that is not a constant';
      const allowZero = (intAttr(n, 'allowzero') ?? 0) !== 0;
      const rest = target.slice(1);
      if (target[0] === 0 && !allowZero) {
        // axis 0 copied from the input (n); the other dims are resolved per sample
        if (rest.some((d) => d === 0)) return 'Reshape copying inner dims';
        let shape: number[] | undefined;
        if (x.shape && rest.every((d) => d > 0)) shape = rest;
        return [{ batched: true, rank: target.length, shape }];
      }
      if (target[0] === -1 && rest.every((d) => d > 0) && x.shape && prod(rest) === prod(x.shape)) return [{ batched: true, rank: target.length, shape: rest }];
      return 'Reshape that may move the batch axis';
    }
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax': {
      if (!x?.batched) return 'unbatched input';
      const r = x.rank!;
      let axis = intAttr(n, 'axis') ?? (opset >= 13 ? -1 : 1);
      if (axis < 0) axis += r;
      // opset < 13 coerces to 2D at `axis`: rows are prefixes of sample indices when axis >= 1
      if (axis < 1) return `${op} over the batch axis`;
      return same(1);
    }
    case 'LayerNormalization': {
      if (!x?.batched || !othersUnbatched) return 'LayerNormalization with batched scale/bias';
      const r = x.rank!;
      let axis = intAttr(n, 'axis') ?? -1;
      if (axis < 0) axis += r;
      if (axis < 1) return 'LayerNormalization over the batch axis';
      // Mean and InvStdDev are [n, ..., 1, ...]: per sample too
      return n.outputs.map((_, k) => ({ batched: true, rank: r, shape: k === 0 ? x.shape : undefined }));
    }
    case 'Transpose': {
      if (!x?.batched) return 'unbatched input';
      const r = x.rank!;
      const perm = intsAttr(n, 'perm');
      if (r === 1) return same(1);
      if (!perm || perm[0] !== 0) return 'Transpose moving the batch axis';
      return [{ batched: true, rank: r, shape: x.shape && perm.slice(1).map((p) => x.shape![p - 1]!) }];
    }
    case 'Concat': {
      const present = ins.filter((i): i is Info => i !== undefined);
      if (!present.every((i) => i.batched)) return 'Concat of batched and unbatched values';
      const r = x!.rank!;
      if (!present.every((i) => i.rank === r)) return 'Concat of different ranks';
      let axis = intAttr(n, 'axis') ?? 0;
      if (axis < 0) axis += r;
      if (axis < 1) return 'Concat along the batch axis';
      return [{ batched: true, rank: r }];
    }
    default:
      return `operator ${op} is not known to keep samples apart`;
  }
}

/** Analyses the graph for one choice of split feeds. */
export function analyseSplit(model: ModelIR, feeds: Record<string, Tensor>, split: readonly string[]): string | undefined {
  const g = model.graph;
  const opset = model.opsets.get('') ?? 1;
  const info = new Map<string, Info>();
  for (const [name, t] of g.initializers) info.set(name, { batched: false, rank: t.rank, shape: [...t.shape], value: t });
  const splitSet = new Set(split);
  for (const [name, t] of Object.entries(feeds)) {
    info.set(name, splitSet.has(name) ? { batched: true, rank: t.rank, shape: t.shape.slice(1) } : { batched: false, rank: t.rank, shape: [...t.shape] });
  }
  for (const n of g.nodes) {
    const ins = n.inputs.map((name) => (name === '' ? undefined : info.get(name)));
    if (ins.some((i, k) => i === undefined && n.inputs[k] !== '')) return `node ${n.index} (${n.opType}) reads a value the analysis does not know`;
    const capturesBatched = n.captures?.some((c) => info.get(c)?.batched ?? true);
    if (capturesBatched) return `node ${n.index} (${n.opType}) has a subgraph reading a batched value`;
    if (!ins.some((i) => i?.batched)) {
      // computed identically in every run
      const attr = n.opType === 'Constant' ? n.attrs.get('value') : undefined;
      const value = attr?.kind === 'tensor' ? attr.value : undefined;
      n.outputs.forEach((o) => o && info.set(o, value ? { batched: false, rank: value.rank, shape: [...value.shape], value } : { batched: false }));
      continue;
    }
    const v = nodeRule(n, ins, opset);
    if (typeof v === 'string') return `node ${n.index} (${n.opType}): ${v}`;
    n.outputs.forEach((o, k) => o && info.set(o, v[k] ?? { batched: true, rank: undefined }));
  }
  for (const o of g.outputs) {
    if (!info.get(o.name)?.batched) return `graph output ${o.name} does not carry the batch axis`;
  }
  return undefined;
}

/**
 * Chooses the feeds to split: first every feed of rank >= 1 whose axis-0 extent is the
 * common extent n >= 2 of the first such feed; then that first feed alone. Undefined
 * plan (with the reason) when neither keeps samples apart.
 */
export function planBatch(model: ModelIR, feeds: Record<string, Tensor>): PlanResult {
  const order = requiredInputs(model.graph).map((i) => i.name).filter((name) => feeds[name] !== undefined);
  const ranked = order.filter((name) => feeds[name]!.rank >= 1 && feeds[name]!.shape[0]! >= 2);
  if (ranked.length === 0) return { reason: 'no feed has an axis 0 of extent >= 2' };
  const n = feeds[ranked[0]!]!.shape[0]!;
  const all = ranked.filter((name) => feeds[name]!.shape[0] === n);
  const candidates = all.length > 1 ? [all, [all[0]!]] : [all];
  let reason = '';
  for (const c of candidates) {
    const why = analyseSplit(model, feeds, c);
    if (why === undefined) return { plan: { splitInputs: c, batch: n } };
    reason ||= why;
  }
  return { reason };
}

/** Contiguous, as-equal-as-possible ranges [start, end) of `n` samples over at most `parts` runs (larger ones first). */
export function splitRanges(n: number, parts: number): [number, number][] {
  const p = Math.max(1, Math.min(parts, n));
  const base = Math.floor(n / p);
  const extra = n % p;
  const out: [number, number][] = [];
  for (let i = 0, at = 0; i < p; i++) {
    const len = base + (i < extra ? 1 : 0);
    out.push([at, at + len]);
    at += len;
  }
  return out;
}
