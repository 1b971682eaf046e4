import { createSession, type Session } from '../engine/session.js';
import { getKernel } from '../engine/registry.js';
import { VerinferError } from '../errors.js';
import { loadModel } from '../onnx/load.js';
import type { ModelIR, NodeIR, ValueInfo } from '../onnx/model.js';
import { requiredInputs } from '../onnx/model.js';
import { checkDType, dtypeName } from '../tensor/dtype.js';
import { shapeSize, zeros, type Tensor } from '../tensor/tensor.js';

/**
 * The publish-time report: what a hub page shows about a model, computed by
 * the engine's own loader and executor.
 */

/** One graph input or output: name, dtype name, dims (number, symbolic name, or null = unknown; `null` shape = undeclared). */
export interface IoValue {
  name: string;
  dtype: string;
  shape: (number | string | null)[] | null;
}

/** A model's input/output signature (what `ioHash` commits to). */
export interface IoSignature {
  inputs: IoValue[];
  outputs: IoValue[];
}

export interface ModelReport {
  /** Size of the ONNX file in bytes. */
  fileBytes: number;
  irVersion: number;
  producer: string;
  /** Imported opsets, `{"ai.onnx": 17, ...}`. */
  opsets: Record<string, number>;
  inputs: IoValue[];
  outputs: IoValue[];
  nodes: number;
  /** Node count per op type (domain-qualified when not the default domain), sorted by op type. */
  ops: Record<string, number>;
  /** Total elements of all initializers. */
  parameters: number;
  /** Total bytes of all initializers (as stored by the engine). */
  parameterBytes: number;
  /** Estimated floating-point operations of one inference at batch 1, or null if it could not be estimated (see `warnings`). */
  flops: number | null;
  flopsNote: string;
  /** True if the engine supports every op, i.e. the model can be executed and verified bit-exactly. */
  verifiable: boolean;
  /** Op types the engine does not support (empty when verifiable). */
  unsupportedOps: string[];
  warnings: string[];
}

export const FLOPS_NOTE =
  'estimate for one inference at batch 1 (symbolic and unknown dims set to 1), from the shapes of one run on zero-filled inputs: ' +
  'MatMul/Gemm/Conv/ConvTranspose/Einsum count 2 per multiply-accumulate, reductions and pooling 1 per element read, ' +
  'data-movement ops 0, every other op 1 per output element';

function ioValue(v: ValueInfo): IoValue {
  return {
    name: v.name,
    dtype: v.dtype === undefined ? 'unknown' : v.dtype === -1 ? 'non-tensor' : dtypeName(v.dtype),
    shape: v.shape ? [...v.shape] : null,
  };
}

export function ioSignature(model: ModelIR): IoSignature {
  return { inputs: requiredInputs(model.graph).map(ioValue), outputs: model.graph.outputs.map(ioValue) };
}

/** Ops that only move, reshape or reinterpret data: no arithmetic. */
const DATA_MOVEMENT = new Set([
  'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split', 'SplitToSequence', 'Slice', 'Gather',
  'GatherElements', 'GatherND', 'Scatter', 'ScatterElements', 'ScatterND', 'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Expand',
  'Tile', 'Pad', 'Cast', 'CastLike', 'Dropout', 'DepthToSpace', 'SpaceToDepth', 'Compress', 'NonZero', 'OneHot', 'Range',
  'ReverseSequence', 'EyeLike', 'Trilu', 'Optional', 'OptionalGetElement', 'OptionalHasElement',
]);
const REDUCTIONS = /^(Reduce.*|ArgMax|ArgMin|GlobalAveragePool|GlobalMaxPool|GlobalLpPool)$/;
const WINDOW_POOLS = new Set(['AveragePool', 'MaxPool', 'LpPool']);

const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Per-node FLOPs from actual shapes (see FLOPS_NOTE). */
export function nodeFlops(node: NodeIR, inShapes: (readonly number[] | undefined)[], outs: Tensor[]): number {
  const outElems = outs.reduce((s, t) => s + (t ? t.size : 0), 0);
  const out0 = outs[0] ? outs[0].size : 0;
  const a = inShapes[0];
  const b = inShapes[1];
  switch (node.opType) {
    case 'MatMul':
    case 'MatMulInteger':
    case 'QLinearMatMul': {
      const A = node.opType === 'QLinearMatMul' ? inShapes[0] : a;
      const k = A && A.length ? A[A.length - 1]! : 1;
      return 2 * out0 * k;
    }
    case 'Gemm': {
      const transA = node.attrs.get('transA');
      const k = a ? (transA && transA.kind === 'int' && transA.value ? a[0] : a[1]) ?? 1 : 1;
      return 2 * out0 * k + (inShapes[2] ? out0 : 0);
    }
    case 'Conv':
    case 'ConvInteger':
    case 'QLinearConv': {
      const w = node.opType === 'QLinearConv' ? inShapes[3] : b;
      return 2 * out0 * (w ? prod(w.slice(1)) : 1);
    }
    case 'ConvTranspose': {
      const x = a ? prod(a) : 0;
      return 2 * x * (b ? prod(b.slice(1)) : 1);
    }
    case 'Einsum': {
      const eq = node.attrs.get('equation');
      if (!eq || eq.kind !== 'string') return outElems;
      const [lhs, rhs] = eq.value.replace(/\s+/g, '').split('->');
      const terms = lhs!.split(',');
      const size = new Map<string, number>();
      terms.forEach((term, i) => {
        const shape = inShapes[i];
        if (!shape) return;
        const letters = term.replace('...', '');
        const ell = term.indexOf('...');
        // letters before the ellipsis map to leading dims, letters after it to trailing dims
        const before = ell < 0 ? letters : term.slice(0, ell);
        const after = ell < 0 ? '' : term.slice(ell + 3);
        [...before].forEach((c, j) => size.set(c, shape[j] ?? 1));
        [...after].forEach((c, j) => size.set(c, shape[shape.length - after.length + j] ?? 1));
      });
      const outLetters =
        rhs !== undefined ? new Set(rhs.replace('...', '')) : new Set([...size.keys()].filter((c) => (lhs!.match(new RegExp(c, 'g')) ?? []).length === 1));
      let contracted = 1;
      for (const [c, n] of size) if (!outLetters.has(c)) contracted *= n;
      return 2 * out0 * contracted;
    }
  }
  if (DATA_MOVEMENT.has(node.opType)) return 0;
  if (REDUCTIONS.test(node.opType)) return a ? prod(a) : outElems;
  if (WINDOW_POOLS.has(node.opType)) {
    const k = node.attrs.get('kernel_shape');
    return out0 * (k && k.kind === 'ints' ? prod(k.value) : 1);
  }
  return outElems;
}

/** Runs one inference on zero-filled inputs (symbolic/unknown dims = 1) and sums per-node FLOPs. */
function estimateFlops(session: Session): number {
  const feeds: Record<string, Tensor> = {};
  for (const info of session.inputs) {
    if (info.dtype === undefined) throw new Error(`input ${info.name} has no declared type`);
    if (!info.shape) throw new Error(`input ${info.name} has no declared shape`);
    const dtype = checkDType(info.dtype, `input ${info.name}`);
    feeds[info.name] = zeros(dtype, info.shape.map((d) => (typeof d === 'number' ? d : 1)), session.maxTensorBytes);
  }
  const shapes = new Map<string, readonly number[]>();
  for (const [name, t] of session.model.graph.initializers) shapes.set(name, t.shape);
  for (const [name, t] of Object.entries(feeds)) shapes.set(name, t.shape);
  let total = 0;
  session.run(feeds, {
    afterNode: (node, outputs) => {
      total += nodeFlops(
        node,
        node.inputs.map((n) => (n === '' ? undefined : shapes.get(n))),
        outputs,
      );
      node.outputs.forEach((n, i) => n !== '' && outputs[i] && shapes.set(n, outputs[i]!.shape));
    },
  });
  return total;
}

export interface ReportOptions {
  /** Skip the FLOPs run (flops: null). */
  skipFlops?: boolean;
  maxTensorBytes?: number;
}

/**
 * Validates model bytes with the engine's loader and builds the report.
 * A file the loader rejects throws its typed error (MODEL_DECODE_FAILED,
 * MODEL_INVALID, UNSUPPORTED_OPSET, ...). A model that loads but uses ops the
 * engine lacks is reported with `verifiable: false` (and no FLOPs estimate).
 */
export function analyzeModel(bytes: Uint8Array, options: ReportOptions = {}): { model: ModelIR; io: IoSignature; report: ModelReport } {
  const model = loadModel(bytes, { maxTensorBytes: options.maxTensorBytes });
  const g = model.graph;
  const io = ioSignature(model);
  const ops: Record<string, number> = {};
  const unsupported = new Set<string>();
  for (const n of g.nodes) {
    const key = n.domain ? `${n.domain}::${n.opType}` : n.opType;
    ops[key] = (ops[key] ?? 0) + 1;
    if (!getKernel(n.domain, n.opType)) unsupported.add(key);
  }
  let parameters = 0;
  let parameterBytes = 0;
  for (const t of g.initializers.values()) {
    parameters += shapeSize(t.shape);
    parameterBytes += t.data.byteLength;
  }
  const warnings: string[] = [];
  let session: Session | undefined;
  let verifiable = false;
  try {
    session = createSession(model, { maxTensorBytes: options.maxTensorBytes });
    verifiable = true;
  } catch (e) {
    const msg = e instanceof VerinferError ? `[${e.code}] ${e.message}` : (e as Error).message;
    warnings.push(`not verifiable: the engine cannot execute this model: ${msg}`);
  }
  let flops: number | null = null;
  if (session && !options.skipFlops) {
    try {
      flops = estimateFlops(session);
    } catch (e) {
      const msg = e instanceof VerinferError ? `[${e.code}] ${e.message}` : (e as Error).message;
      warnings.push(`no FLOPs estimate: a run on zero-filled inputs failed: ${msg}`);
    }
  }
  const opsets: Record<string, number> = {};
  for (const [d, v] of [...model.opsets].sort(([a], [b]) => (a < b ? -1 : 1))) opsets[d === '' ? 'ai.onnx' : d] = v;
  const sortedOps: Record<string, number> = {};
  for (const k of Object.keys(ops).sort()) sortedOps[k] = ops[k]!;
  return {
    model,
    io,
    report: {
      fileBytes: bytes.length,
      irVersion: model.irVersion,
      producer: model.producer,
      opsets,
      inputs: io.inputs,
      outputs: io.outputs,
      nodes: g.nodes.length,
      ops: sortedOps,
      parameters,
      parameterBytes,
      flops,
      flopsNote: FLOPS_NOTE,
      verifiable,
      unsupportedOps: [...unsupported].sort(),
      warnings,
    },
  };
}
