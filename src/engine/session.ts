import { InputError, KernelError, UnsupportedError, VerinferError } from '../errors.js';
import { loadModel, nodeLabel, type LoadOptions } from '../onnx/load.js';
import { requiredInputs, type GraphIR, type ModelIR, type NodeIR, type ValueInfo } from '../onnx/model.js';
import { checkDType, dtypeName, isDType } from '../tensor/dtype.js';
import { DEFAULT_MAX_TENSOR_BYTES, type Tensor } from '../tensor/tensor.js';
import { BufferArena } from './arena.js';
import { KernelContext, type Kernel, type SubgraphEnv } from './kernel.js';
import { getKernel } from './registry.js';
import { buildTrace, getTraceHasher, type DigestHandle, type Trace } from './trace.js';
import { markConstant } from './wasm/gemm.js';

/** Names the set of canonical kernel definitions; any change of kernel arithmetic changes it. */
export const SEMANTICS_VERSION = 'verinfer-canonical/1';

export interface SessionOptions extends LoadOptions {
  /** Most iterations one Loop node may run before failing with TOO_EXPENSIVE (default 1,000,000). */
  maxLoopIterations?: number;
}

export const DEFAULT_MAX_LOOP_ITERATIONS = 1_000_000;

/** A graph ready to execute: a kernel per node and, per node, the values whose last reader it is. */
interface Plan {
  kernels: Kernel[];
  frees: string[][];
}

export interface RunOptions {
  /** Compute the execution trace (per-node output digests and their Merkle root). */
  trace?: boolean;
  /** Called after each node, for progress reporting. */
  onNode?: (index: number, total: number) => void;
  /**
   * Sees each node's outputs before they are stored and traced. Used to keep
   * intermediate tensors (a challenger building a fraud proof) and, in tests and
   * byzantine devnet nodes, to replace them (returning a new output list).
   */
  afterNode?: (node: NodeIR, outputs: Tensor[]) => Tensor[] | void;
}

export interface RunResult {
  /** Graph outputs by name. */
  outputs: Record<string, Tensor>;
  /** Graph outputs in graph order. */
  outputList: Tensor[];
  trace?: Trace;
}

/** A loaded, validated model ready to run. Immutable; `run` may be called many times. */
export class Session {
  readonly model: ModelIR;
  readonly maxTensorBytes: number;
  readonly maxLoopIterations: number;
  private readonly kernels: Kernel[];
  /** For each node, the value names whose last reader it is (freed after it runs). */
  private readonly frees: string[][];
  /** Plans of every subgraph (If branches, Loop/Scan bodies), at any depth. */
  private readonly plans = new Map<GraphIR, Plan>();
  /** Recycles the buffers of top-level intermediates across nodes and runs (see arena.ts). */
  private readonly arena = new BufferArena();

  constructor(model: ModelIR, options: SessionOptions = {}) {
    this.model = model;
    this.maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
    this.maxLoopIterations = options.maxLoopIterations ?? DEFAULT_MAX_LOOP_ITERATIONS;
    const plan = prepare(model.graph, '');
    this.kernels = plan.kernels;
    this.frees = plan.frees;
    this.prepareSubgraphs(model.graph);
  }

  private prepareSubgraphs(g: GraphIR): void {
    for (const n of g.nodes) {
      for (const [attr, a] of n.attrs) {
        if (a.kind !== 'graph' || this.plans.has(a.value)) continue;
        this.plans.set(a.value, prepare(a.value, ` in subgraph ${attr} of node ${nodeLabel(n)}`));
        this.prepareSubgraphs(a.value);
      }
    }
  }

  /** Inputs the caller must feed, in graph order. */
  get inputs(): ValueInfo[] {
    return requiredInputs(this.model.graph);
  }

  get outputs(): ValueInfo[] {
    return this.model.graph.outputs;
  }

  run(feeds: Record<string, Tensor>, options: RunOptions = {}): RunResult {
    const g = this.model.graph;
    const values = new Map<string, Tensor>(g.initializers);
    this.checkFeeds(feeds);
    for (const [k, v] of Object.entries(feeds)) values.set(k, v);
    // digests are collected per node and resolved at the end: a hasher may compute them
    // on another thread while the next nodes run (trace.ts, TraceHasher)
    const hasher = getTraceHasher();
    const trace: { node: NodeIR; digests: (DigestHandle | undefined)[] }[] | undefined = options.trace ? [] : undefined;
    // buffers go back to the arena when no live value references them; not when the
    // caller sees intermediates (afterNode may keep them)
    const arena = options.afterNode ? undefined : this.arena;
    const refs = new Map<ArrayBufferLike, number>();
    for (const node of g.nodes) {
      const inputs = node.inputs.map((name) => (name === '' ? undefined : values.get(name)));
      const donors = arena && this.donors(node, inputs, refs, arena);
      let outs = this.invoke(g, node, this.kernels[node.index]!, inputs, (name) => values.get(name), arena, donors);
      outs = options.afterNode?.(node, outs) ?? outs;
      const digests: (DigestHandle | undefined)[] = [];
      node.outputs.forEach((name, i) => {
        if (name === '') {
          digests.push(undefined);
          return;
        }
        const t = outs[i];
        if (!t) throw new VerinferError('KERNEL_FAILED', `node ${nodeLabel(node)} did not produce output ${i} (${name})`, { node: node.index });
        values.set(name, t);
        if (arena) refs.set(t.data.buffer, (refs.get(t.data.buffer) ?? 0) + 1);
        if (trace) digests.push(hasher.digest(t));
      });
      trace?.push({ node, digests });
      for (const name of this.frees[node.index]!) {
        const t = values.get(name);
        values.delete(name);
        const left = t && arena ? (refs.get(t.data.buffer) ?? 0) - 1 : -1;
        if (left === 0) {
          refs.delete(t!.data.buffer);
          arena!.give(t!.data.buffer as ArrayBuffer);
        } else if (left > 0) refs.set(t!.data.buffer, left);
      }
      options.onNode?.(node.index, g.nodes.length);
    }
    const outputList = g.outputs.map((o) => values.get(o.name)!);
    const outputs: Record<string, Tensor> = {};
    g.outputs.forEach((o, i) => (outputs[o.name] = outputList[i]!));
    return {
      outputs,
      outputList,
      trace: trace && buildTrace(trace),
    };
  }

  /**
   * Inputs of `node` whose buffers die at it: read once by this node as its last reader,
   * the only live value on their buffer, which the arena made whole (not a view). A kernel
   * may write its output into them (KernelContext.allocInPlace).
   */
  private donors(node: NodeIR, inputs: (Tensor | undefined)[], refs: Map<ArrayBufferLike, number>, arena: BufferArena): Set<Tensor> | undefined {
    let out: Set<Tensor> | undefined;
    const dying = this.frees[node.index]!;
    inputs.forEach((t, i) => {
      const name = node.inputs[i]!;
      if (!t || !dying.includes(name) || node.inputs.indexOf(name) !== i || node.inputs.lastIndexOf(name) !== i) return;
      const d = t.data;
      if (refs.get(d.buffer) !== 1 || !arena.owns(d.buffer) || d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength) return;
      (out ??= new Set()).add(t);
    });
    return out;
  }

  /**
   * Runs one node on given inputs (the one-operator check of a fraud proof).
   * Typed errors name the node. A control-flow node whose subgraphs read
   * values from the top-level scope (`node.captures`) needs them in `captures`;
   * its check re-runs the whole subgraph.
   */
  runNode(index: number, inputs: (Tensor | undefined)[], captures: Record<string, Tensor> = {}): Tensor[] {
    const node = this.model.graph.nodes[index];
    if (!node) throw new InputError('INVALID_ARGUMENT', `the model has no node ${index}`, { node: index });
    return this.invoke(this.model.graph, node, this.kernels[index]!, inputs, (name) => (Object.hasOwn(captures, name) ? captures[name] : undefined));
  }

  /** Runs one top-level node's kernel; typed errors name the node. */
  private invoke(
    g: GraphIR,
    node: NodeIR,
    kernel: Kernel,
    inputs: (Tensor | undefined)[],
    outer: (name: string) => Tensor | undefined,
    arena?: BufferArena,
    donors?: Set<Tensor>,
  ): Tensor[] {
    const ctx = new KernelContext(node, this.model.opsets.get(node.domain) ?? 1, this.maxTensorBytes, this.env(outer), arena, donors);
    try {
      return kernel(inputs, ctx);
    } catch (e) {
      if (e instanceof VerinferError) {
        if (e.details.node === undefined) Object.assign(e.details, { node: node.index, opType: node.opType });
        throw e;
      }
      throw new VerinferError('KERNEL_FAILED', `node ${nodeLabel(node)} failed: ${(e as Error)?.message ?? String(e)}`, {
        node: node.index,
        opType: node.opType,
      });
    }
  }

  private env(outer: (name: string) => Tensor | undefined): SubgraphEnv {
    return { outer, runGraph: (graph, feeds) => this.runSubgraph(graph, feeds, outer), maxLoopIterations: this.maxLoopIterations };
  }

  /**
   * Runs a subgraph in a child scope: its initializers and inputs (bound by
   * position to `feeds`), then its nodes in ONNX node order; a name not
   * defined locally is looked up in the enclosing scopes (`outer`). Not traced
   * and not seen by afterNode/onNode: the enclosing top-level node is the unit
   * of the trace. An error inside names the top-level node (`node`), and the
   * innermost subgraph node in `subgraphNode`/`subgraphOp`/`subgraph`.
   */
  private runSubgraph(g: GraphIR, feeds: (Tensor | undefined)[], outer: (name: string) => Tensor | undefined): Tensor[] {
    const plan = this.plans.get(g);
    if (!plan) throw new VerinferError('KERNEL_FAILED', `subgraph ${g.name} was not prepared by this session`, { subgraph: g.name });
    if (feeds.length > g.inputs.length) {
      throw new KernelError(`subgraph ${g.name} takes ${g.inputs.length} inputs, got ${feeds.length}`, { subgraph: g.name });
    }
    const values = new Map<string, Tensor>(g.initializers);
    g.inputs.forEach((info, i) => {
      const t = feeds[i];
      if (t) values.set(info.name, t);
      else if (!g.initializers.has(info.name)) throw new KernelError(`subgraph ${g.name} input ${info.name} has no value`, { subgraph: g.name, input: info.name });
    });
    const lookup = (name: string): Tensor | undefined => values.get(name) ?? outer(name);
    const scope = this.env(lookup);
    for (const node of g.nodes) {
      const inputs = node.inputs.map((name) => {
        if (name === '') return undefined;
        const t = lookup(name);
        if (!t) throw new KernelError(`subgraph ${g.name}: value ${name} read by node ${nodeLabel(node)} is not available`, { subgraph: g.name, subgraphNode: node.index, value: name });
        return t;
      });
      const ctx = new KernelContext(node, this.model.opsets.get(node.domain) ?? 1, this.maxTensorBytes, scope);
      let outs: Tensor[];
      try {
        outs = plan.kernels[node.index]!(inputs, ctx);
      } catch (e) {
        if (e instanceof VerinferError) {
          if (e.details.subgraphNode === undefined) {
            const { node: _n, opType: _o, ...rest } = e.details;
            for (const k of Object.keys(e.details)) delete e.details[k];
            Object.assign(e.details, rest, { subgraph: g.name, subgraphNode: node.index, subgraphOp: node.opType });
          }
          throw e;
        }
        throw new VerinferError('KERNEL_FAILED', `node ${nodeLabel(node)} of subgraph ${g.name} failed: ${(e as Error)?.message ?? String(e)}`, {
          subgraph: g.name,
          subgraphNode: node.index,
          subgraphOp: node.opType,
        });
      }
      node.outputs.forEach((name, i) => {
        if (name === '') return;
        const t = outs[i];
        if (!t) throw new VerinferError('KERNEL_FAILED', `node ${nodeLabel(node)} of subgraph ${g.name} did not produce output ${i} (${name})`, { subgraph: g.name, subgraphNode: node.index });
        values.set(name, t);
      });
      for (const name of plan.frees[node.index]!) values.delete(name);
    }
    return g.outputs.map((o) => {
      const t = lookup(o.name);
      if (!t) throw new VerinferError('KERNEL_FAILED', `subgraph ${g.name} output ${o.name} has no value`, { subgraph: g.name, output: o.name });
      return t;
    });
  }

  /** Checks feeds against the declared inputs: the typed errors `run` throws. */
  checkFeeds(feeds: Record<string, Tensor>): void {
    const g = this.model.graph;
    const declared = new Map(g.inputs.map((i) => [i.name, i]));
    for (const name of Object.keys(feeds)) {
      if (!declared.has(name)) {
        throw new InputError('UNKNOWN_INPUT', `the model has no input named ${name}`, { input: name, expected: this.inputs.map((i) => i.name) });
      }
    }
    for (const info of g.inputs) {
      const t = feeds[info.name];
      if (!t) {
        if (g.initializers.has(info.name)) continue;
        throw new InputError('MISSING_INPUT', `missing input ${info.name}`, { input: info.name, expected: this.inputs.map((i) => i.name) });
      }
      if (info.dtype !== undefined && info.dtype !== t.dtype) {
        throw new InputError('INPUT_DTYPE_MISMATCH', `input ${info.name} must be ${dtypeName(info.dtype)}, got ${dtypeName(t.dtype)}`, {
          input: info.name,
          expected: dtypeName(info.dtype),
          actual: dtypeName(t.dtype),
        });
      }
      if (!isDType(t.dtype)) throw new InputError('INPUT_DTYPE_MISMATCH', `input ${info.name} has unsupported dtype`, { input: info.name });
      if (info.shape) {
        const ok = info.shape.length === t.shape.length && info.shape.every((d, i) => typeof d !== 'number' || d === t.shape[i]);
        if (!ok) {
          throw new InputError('INPUT_SHAPE_MISMATCH', `input ${info.name} must have shape [${info.shape.map((d) => d ?? '?').join(',')}], got [${t.shape.join(',')}]`, {
            input: info.name,
            expected: info.shape,
            actual: [...t.shape],
          });
        }
      }
    }
  }
}

/**
 * Resolves a graph's kernels and checks its declared values are tensors; `where`
 * is '' for the top-level graph and names the subgraph otherwise.
 */
function prepare(g: GraphIR, where: string): Plan {
  // Initializers are constant for the session's life (kernels never mutate their inputs),
  // so float32 MatMul/Gemm weights among them are packed once and kept in wasm memory.
  for (const t of g.initializers.values()) markConstant(t.data);
  const kernels = g.nodes.map((n) => {
    if (n.domain !== '') {
      throw new UnsupportedError('UNSUPPORTED_DOMAIN', `node ${nodeLabel(n)}${where} uses operator domain ${n.domain}, which the engine does not support`, {
        node: n.index,
        opType: n.opType,
        domain: n.domain,
      });
    }
    const k = getKernel(n.domain, n.opType);
    if (!k) {
      throw new UnsupportedError('UNSUPPORTED_OP', `operator ${n.opType} (node ${nodeLabel(n)}${where}) is not supported`, {
        node: n.index,
        nodeName: n.name,
        opType: n.opType,
      });
    }
    return k;
  });
  for (const v of [...g.inputs, ...g.outputs]) {
    if (v.dtype === -1) {
      throw new UnsupportedError('UNSUPPORTED_FEATURE', `graph value ${v.name}${where} is a sequence, map or optional; only tensors are supported`, { value: v.name });
    }
    if (v.dtype !== undefined && !g.initializers.has(v.name)) checkDType(v.dtype, `graph value ${v.name}${where}`);
  }
  const keep = new Set(g.outputs.map((o) => o.name));
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n) => {
    n.inputs.forEach((i) => i && lastUse.set(i, n.index));
    n.captures?.forEach((i) => lastUse.set(i, n.index));
  });
  const frees: string[][] = g.nodes.map(() => []);
  for (const [name, at] of lastUse) if (!keep.has(name) && !g.initializers.has(name)) frees[at]!.push(name);
  return { kernels, frees };
}

/** Decodes, validates and prepares a model. */
export function createSession(model: Uint8Array | ModelIR, options: SessionOptions = {}): Session {
  const ir = model instanceof Uint8Array ? loadModel(model, options) : model;
  return new Session(ir, options);
}
