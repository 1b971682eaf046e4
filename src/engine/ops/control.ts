import { VerinferError } from '../../errors.js';
import type { GraphIR } from '../../onnx/model.js';
import { checkDType, DType, type TensorData } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import type { KernelContext, KernelTable } from '../kernel.js';
import { axisOf, prod, shapeStr } from './util.js';

/**
 * Control flow: If, Loop, Scan. These kernels do no arithmetic of their own;
 * they run subgraphs (ctx.runGraph) in a child scope that sees the enclosing
 * scopes' values (ctx.outer), and move data (slice, stack, pass through).
 *
 * Canonical semantics: a subgraph's nodes run in their ONNX node order with each
 * node's own canonical kernel; Loop and Scan run iterations in increasing order
 * (iteration i sees the loop-carried / state values produced by iteration i-1),
 * so the outputs are a deterministic function of the inputs.
 *
 * Trace and disputes: the execution trace has one leaf per top-level node, and an
 * If/Loop/Scan node's leaf holds the digests of its outputs only (nothing from
 * inside the subgraph). A dispute therefore localises to the control-flow node;
 * its fraud proof re-runs the whole subgraph (every iteration) for that node, from
 * the node's inputs plus the top-level values its subgraphs read (node.captures).
 *
 * Limits: ctx.alloc's tensor cap and typed errors apply inside subgraphs; a Loop
 * runs at most ctx.env.maxLoopIterations iterations (SessionOptions
 * .maxLoopIterations, default 1e6) and otherwise fails with TOO_EXPENSIVE.
 * Sequence/optional-typed values are not supported (UNSUPPORTED_FEATURE).
 */

function boolScalar(t: Tensor, ctx: KernelContext, what: string): boolean {
  if (t.dtype !== DType.bool) throw ctx.error(`${what} must be bool, got dtype ${t.dtype}`);
  if (t.size !== 1) throw ctx.error(`${what} must hold one element, got shape ${shapeStr(t.shape)}`);
  return t.data[0] !== 0;
}

function needGraph(ctx: KernelContext, name: string): GraphIR {
  const g = ctx.graph(name);
  if (!g) throw ctx.error(`attribute ${name} (a graph) is required`, { attribute: name });
  return g;
}

const boolTensor = (b: boolean): Tensor => new Tensor(DType.bool, [], Uint8Array.of(b ? 1 : 0));

/** The slice of `t` at index `k` of `axis` (that axis removed): a copy. */
function sliceAt(t: Tensor, axis: number, k: number, ctx: KernelContext): Tensor {
  const shape = t.shape.filter((_, i) => i !== axis);
  const out = ctx.alloc(t.dtype, shape);
  const outer = prod(t.shape, 0, axis);
  const len = t.shape[axis]!;
  const inner = prod(t.shape, axis + 1);
  const src = t.data as Float64Array; // any TypedArray: only subarray/set are used
  const dst = out.data as Float64Array;
  for (let o = 0; o < outer; o++) dst.set(src.subarray((o * len + k) * inner, (o * len + k + 1) * inner), o * inner);
  return out;
}

/**
 * Stacks per-iteration tensors `parts` (all of one dtype and shape) along a new
 * axis `axis`; part i goes to position i, or count-1-i when `reverse`. With no
 * parts the result is `empty` (dtype, per-iteration shape) with 0 at `axis`.
 */
function stack(parts: Tensor[], axis: number, reverse: boolean, ctx: KernelContext, what: string, empty?: { dtype: DType; shape: number[] }): Tensor {
  const first = parts[0];
  if (!first) {
    if (!empty) throw ctx.unsupported(`${what}: the loop ran no iterations and the subgraph does not declare the output's dtype and shape`);
    const shape = [...empty.shape];
    shape.splice(axis, 0, 0);
    return ctx.alloc(empty.dtype, shape);
  }
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape.length !== first.shape.length || p.shape.some((d, i) => d !== first.shape[i])) {
      throw ctx.error(`${what}: every iteration must produce the same dtype and shape (${shapeStr(first.shape)} vs ${shapeStr(p.shape)})`);
    }
  }
  const n = parts.length;
  const shape = [...first.shape];
  shape.splice(axis, 0, n);
  const out = ctx.alloc(first.dtype, shape);
  const outer = prod(first.shape, 0, axis);
  const inner = prod(first.shape, axis);
  const dst = out.data as Float64Array;
  parts.forEach((p, i) => {
    const pos = reverse ? n - 1 - i : i;
    const src = p.data as TensorData as Float64Array;
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * inner, (o + 1) * inner), (o * n + pos) * inner);
  });
  return out;
}

/** Dtype and static shape a subgraph declares for output `i`, if fully known. */
function declared(g: GraphIR, i: number): { dtype: DType; shape: number[] } | undefined {
  const v = g.outputs[i];
  if (!v || v.dtype === undefined || !v.shape || !v.shape.every((d) => typeof d === 'number')) return undefined;
  return { dtype: checkDType(v.dtype, `subgraph output ${v.name}`), shape: v.shape as number[] };
}

function checkOutputCount(ctx: KernelContext, g: GraphIR, want: number, what: string): void {
  if (g.outputs.length !== want) throw ctx.error(`${what} has ${g.outputs.length} outputs, expected ${want}`);
}

/** The scan loop shared by Scan-8 (per batch entry) and Scan-9+ (see the Scan kernel). */
function scanCore(
  ctx: KernelContext,
  body: GraphIR,
  states0: Tensor[],
  scanIns: Tensor[],
  inAxes: number[],
  inDirs: number[],
  outAxes: number[],
  outDirs: number[],
): Tensor[] {
    const axes = scanIns.map((t, j) => axisOf(ctx, inAxes[j]!, t.rank, 'scan_input_axes'));
    let len: number | undefined;
    scanIns.forEach((t, j) => {
      const l = t.shape[axes[j]!]!;
      if (len !== undefined && l !== len) throw ctx.error(`scan inputs disagree on the sequence length (${len} vs ${l})`);
      len = l;
    });
    let states = states0;
    const nState = states0.length;
    const nScanOut = outAxes.length;
    const parts: Tensor[][] = Array.from({ length: nScanOut }, () => []);
    for (let t = 0; t < len!; t++) {
      const slices = scanIns.map((x, j) => sliceAt(x, axes[j]!, inDirs[j] === 1 ? len! - 1 - t : t, ctx));
      const outs = ctx.runGraph(body, [...states, ...slices]);
      states = outs.slice(0, nState);
      for (let k = 0; k < nScanOut; k++) parts[k]!.push(outs[nState + k]!);
    }
    return [
      ...states,
      ...parts.map((p, k) => {
        const d = declared(body, nState + k);
        const rank = (p[0]?.rank ?? d?.shape.length ?? 0) + 1;
        const axis = axisOf(ctx, outAxes[k]!, rank, 'scan_output_axes');
        return stack(p, axis, outDirs[k] === 1, ctx, `scan output ${k}`, d);
      }),
    ];
}

/**
 * Scan-8: inputs (sequence_lens?, state..., scan_input...), every input with a
 * leading batch axis and scan inputs scanned along axis 1. Each batch entry b,
 * in increasing order, is an independent Scan-9 run on the b-th slices (scan
 * input directions from `directions`, scan outputs in iteration order); the
 * results are stacked along axis 0. sequence_lens shorter than the scanned
 * extent (padding) is not supported.
 */
function scan8(inputs: (Tensor | undefined)[], ctx: KernelContext): Tensor[] {
  const body = needGraph(ctx, 'body');
  const m = ctx.int('num_scan_inputs');
  const rest = inputs.slice(1);
  if (m === undefined || m < 1 || m > rest.length) throw ctx.error(`num_scan_inputs must be in 1..${rest.length}, got ${m}`);
  const all = rest.map((t, i) => {
    if (!t) throw ctx.error(`input ${i + 1} is required`);
    if (t.rank < 1) throw ctx.error(`input ${i + 1} must have a batch axis`);
    return t;
  });
  const nState = all.length - m;
  const nScanOut = ctx.node.outputs.length - nState;
  if (nScanOut < 0) throw ctx.error(`Scan has ${nState} state inputs but only ${ctx.node.outputs.length} outputs`);
  if (body.inputs.length !== all.length) throw ctx.error(`body has ${body.inputs.length} inputs, expected ${all.length}`);
  checkOutputCount(ctx, body, nState + nScanOut, 'body');
  const batch = all[0]!.shape[0]!;
  if (all.some((t) => t.shape[0] !== batch)) throw ctx.error('inputs disagree on the batch size');
  const dirs = ctx.ints('directions', new Array<number>(m).fill(0));
  if (dirs.length !== m) throw ctx.error(`directions must have ${m} entries`);
  const seqLens = inputs[0];
  if (seqLens) {
    const len = all[nState]!.rank > 1 ? all[nState]!.shape[1]! : 0;
    for (let b = 0; b < seqLens.size; b++) {
      if (Number(seqLens.data[b]) !== len) throw ctx.unsupported('sequence_lens shorter than the scanned extent (padded batches) is not supported');
    }
  }
  const perBatch: Tensor[][] = [];
  for (let b = 0; b < batch; b++) {
    const slices = all.map((t) => sliceAt(t, 0, b, ctx));
    perBatch.push(scanCore(ctx, body, slices.slice(0, nState), slices.slice(nState), new Array<number>(m).fill(0), dirs, new Array<number>(nScanOut).fill(0), new Array<number>(nScanOut).fill(0)));
  }
  return ctx.node.outputs.map((_, k) => stack(perBatch.map((r) => r[k]!), 0, false, ctx, `output ${k}`));
}

export const ops: KernelTable = {
  /** If: runs then_branch when cond (a one-element bool) is true, else else_branch; outputs are the branch's outputs. */
  If(inputs, ctx) {
    const cond = inputs[0];
    if (!cond) throw ctx.error('input cond is required');
    const branch = needGraph(ctx, boolScalar(cond, ctx, 'cond') ? 'then_branch' : 'else_branch');
    checkOutputCount(ctx, branch, ctx.node.outputs.length, 'the taken branch');
    return ctx.runGraph(branch, []);
  },

  /**
   * Loop (opset 1..): inputs (M?, cond?, v_initial...), body (iter_num, cond_in,
   * v...) -> (cond_out, v..., scan...). for i = 0, 1, ...: stop when i >= M (if
   * given) or the condition is false; otherwise run the body with i and the
   * current condition and carried values. Outputs: final carried values, then
   * each scan output's per-iteration values stacked along a new axis 0.
   */
  Loop(inputs, ctx) {
    const body = needGraph(ctx, 'body');
    const [mT, condT, ...initial] = inputs;
    const nCarried = initial.length;
    const nScan = ctx.node.outputs.length - nCarried;
    if (nScan < 0) throw ctx.error(`Loop has ${nCarried} loop-carried inputs but only ${ctx.node.outputs.length} outputs`);
    if (body.inputs.length !== 2 + nCarried) throw ctx.error(`body has ${body.inputs.length} inputs, expected ${2 + nCarried}`);
    checkOutputCount(ctx, body, 1 + nCarried + nScan, 'body');
    initial.forEach((t, i) => {
      if (!t) throw ctx.unsupported(`loop-carried input ${i} is omitted (optional values are not supported)`);
    });
    let trip: bigint | undefined;
    if (mT) {
      if (mT.dtype !== DType.int64 || mT.size !== 1) throw ctx.error(`M must be a one-element int64 tensor, got dtype ${mT.dtype} shape ${shapeStr(mT.shape)}`);
      trip = (mT.data as BigInt64Array)[0]!;
    }
    let cond = condT ? boolScalar(condT, ctx, 'cond') : true;
    let carried = initial as Tensor[];
    const scans: Tensor[][] = Array.from({ length: nScan }, () => []);
    const cap = ctx.env?.maxLoopIterations ?? 1_000_000;
    for (let i = 0; (trip === undefined || BigInt(i) < trip) && cond; i++) {
      if (i >= cap) {
        throw new VerinferError('TOO_EXPENSIVE', `Loop node ran ${cap} iterations without terminating (maxLoopIterations)`, {
          node: ctx.node.index,
          opType: ctx.node.opType,
          limit: cap,
        });
      }
      const outs = ctx.runGraph(body, [new Tensor(DType.int64, [], BigInt64Array.of(BigInt(i))), boolTensor(cond), ...carried]);
      cond = boolScalar(outs[0]!, ctx, 'body output cond');
      carried = outs.slice(1, 1 + nCarried);
      for (let k = 0; k < nScan; k++) scans[k]!.push(outs[1 + nCarried + k]!);
    }
    return [...carried, ...scans.map((parts, k) => stack(parts, 0, false, ctx, `scan output ${k}`, declared(body, 1 + nCarried + k)))];
  },

  /**
   * Scan (opset 9+): inputs (state..., scan_input...), num_scan_inputs of them
   * scanned. Sequence length L = the scan inputs' extent along scan_input_axes.
   * For t = 0..L-1 the body gets the states and, per scan input, its slice t
   * (L-1-t when that input's direction is 1), and returns new states and one
   * slice per scan output; these are stacked along scan_output_axes (in reverse
   * order when that output's direction is 1). Outputs: final states, scan outputs.
   */
  Scan(inputs, ctx) {
    if (ctx.opset < 9) return scan8(inputs, ctx);
    const body = needGraph(ctx, 'body');
    const m = ctx.int('num_scan_inputs');
    if (m === undefined || m < 1 || m > inputs.length) throw ctx.error(`num_scan_inputs must be in 1..${inputs.length}, got ${m}`);
    const nState = inputs.length - m;
    const nScanOut = ctx.node.outputs.length - nState;
    if (nScanOut < 0) throw ctx.error(`Scan has ${nState} state inputs but only ${ctx.node.outputs.length} outputs`);
    if (body.inputs.length !== inputs.length) throw ctx.error(`body has ${body.inputs.length} inputs, expected ${inputs.length}`);
    checkOutputCount(ctx, body, nState + nScanOut, 'body');
    const all = inputs.map((t, i) => {
      if (!t) throw ctx.error(`input ${i} is required`);
      return t;
    });
    const states0 = all.slice(0, nState);
    const scanIns = all.slice(nState);
    const inAxes = ctx.ints('scan_input_axes', new Array<number>(m).fill(0));
    const inDirs = ctx.ints('scan_input_directions', new Array<number>(m).fill(0));
    const outAxes = ctx.ints('scan_output_axes', new Array<number>(nScanOut).fill(0));
    const outDirs = ctx.ints('scan_output_directions', new Array<number>(nScanOut).fill(0));
    if (inAxes.length !== m || inDirs.length !== m) throw ctx.error(`scan_input_axes/directions must have ${m} entries`);
    if (outAxes.length !== nScanOut || outDirs.length !== nScanOut) throw ctx.error(`scan_output_axes/directions must have ${nScanOut} entries`);
    return scanCore(ctx, body, states0, scanIns, inAxes, inDirs, outAxes, outDirs);
  },
};
