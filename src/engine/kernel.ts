import { KernelError, UnsupportedError } from '../errors.js';
import type { AttrValue, GraphIR, NodeIR } from '../onnx/model.js';
import { nodeLabel } from '../onnx/load.js';
import { allocData, type DType } from '../tensor/dtype.js';
import { checkTensorBytes, Tensor } from '../tensor/tensor.js';
import type { BufferArena } from './arena.js';

/**
 * What the executor gives control-flow kernels (If/Loop/Scan): the values of
 * the enclosing scopes and a way to run a subgraph in a child scope.
 */
export interface SubgraphEnv {
  /** A value visible from this node's scope (its own graph, then enclosing graphs), or undefined. */
  outer(name: string): Tensor | undefined;
  /**
   * Runs `graph` with its declared inputs bound positionally to `feeds` (the
   * subgraph's nodes in ONNX node order, reading enclosing-scope values through
   * `outer`); returns its outputs in graph output order. The session's tensor
   * cap, loop cap and typed errors apply inside.
   */
  runGraph(graph: GraphIR, feeds: (Tensor | undefined)[]): Tensor[];
  /** Most iterations one Loop node may run (SessionOptions.maxLoopIterations). */
  maxLoopIterations: number;
}

/**
 * What a kernel gets besides its inputs: the node (attributes, names), the
 * opset version of the node's domain, and an allocator that enforces the
 * session's tensor size cap. Control-flow kernels also get `env`.
 */
export class KernelContext {
  readonly node: NodeIR;
  readonly opset: number;
  readonly maxTensorBytes: number;
  readonly env: SubgraphEnv | undefined;
  /** Where `alloc` takes its buffers (the session's memory plan); plain allocation without one. */
  readonly arena: BufferArena | undefined;
  /** Inputs whose buffers die at this node and may become its output (see allocInPlace). */
  private readonly donors: ReadonlySet<Tensor> | undefined;

  constructor(node: NodeIR, opset: number, maxTensorBytes: number, env?: SubgraphEnv, arena?: BufferArena, donors?: ReadonlySet<Tensor>) {
    this.node = node;
    this.opset = opset;
    this.maxTensorBytes = maxTensorBytes;
    this.env = env;
    this.arena = arena;
    this.donors = donors;
  }

  /** A value from an enclosing scope (undefined if not visible or outside a session). */
  outer(name: string): Tensor | undefined {
    return this.env?.outer(name);
  }

  /** Runs a subgraph in a child scope (see SubgraphEnv.runGraph). */
  runGraph(graph: GraphIR, feeds: (Tensor | undefined)[]): Tensor[] {
    if (!this.env) throw this.unsupported('subgraphs can only run inside a session');
    return this.env.runGraph(graph, feeds);
  }

  /** A graph attribute (If branches, Loop/Scan bodies). */
  graph(name: string): GraphIR | undefined {
    const a = this.attr(name);
    if (!a) return undefined;
    if (a.kind !== 'graph') throw this.badAttr(name, 'a graph', a.kind);
    return a.value;
  }

  /** A zero-filled output tensor; throws TENSOR_TOO_LARGE over the cap. */
  alloc(dtype: DType, shape: readonly number[]): Tensor {
    const n = checkTensorBytes(dtype, shape, this.maxTensorBytes, `output of node ${nodeLabel(this.node)}`);
    return new Tensor(dtype, shape, this.arena ? this.arena.take(dtype, n) : allocData(dtype, n));
  }

  /**
   * An output of x's dtype and shape that may be x itself: when x's buffer dies at this
   * node (the session's memory plan says no one else can read it), the output reuses it,
   * holding x's values; else a fresh zero-filled tensor. Only for kernels that read x[i]
   * before they write y[i] and never read x[i] again (Relu's elementwise loops).
   */
  allocInPlace(x: Tensor): Tensor {
    if (!this.donors?.has(x)) return this.alloc(x.dtype, x.shape);
    return new Tensor(x.dtype, x.shape, x.data);
  }

  /** Checks the byte cap for a tensor the kernel builds itself (e.g. from an existing typed array). */
  checkSize(dtype: DType, shape: readonly number[]): number {
    return checkTensorBytes(dtype, shape, this.maxTensorBytes, `output of node ${nodeLabel(this.node)}`);
  }

  has(name: string): boolean {
    return this.node.attrs.has(name);
  }

  private attr(name: string): AttrValue | undefined {
    return this.node.attrs.get(name);
  }

  int(name: string, dflt: number): number;
  int(name: string): number | undefined;
  int(name: string, dflt?: number): number | undefined {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.kind !== 'int') throw this.badAttr(name, 'an int', a.kind);
    return a.value;
  }

  float(name: string, dflt: number): number;
  float(name: string): number | undefined;
  float(name: string, dflt?: number): number | undefined {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.kind === 'float' || a.kind === 'int') return a.value;
    throw this.badAttr(name, 'a float', a.kind);
  }

  string(name: string, dflt: string): string;
  string(name: string): string | undefined;
  string(name: string, dflt?: string): string | undefined {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.kind !== 'string') throw this.badAttr(name, 'a string', a.kind);
    return a.value;
  }

  ints(name: string, dflt: number[]): number[];
  ints(name: string): number[] | undefined;
  ints(name: string, dflt?: number[]): number[] | undefined {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.kind === 'ints') return a.value;
    if (a.kind === 'int') return [a.value];
    throw this.badAttr(name, 'a list of ints', a.kind);
  }

  floats(name: string, dflt: number[]): number[];
  floats(name: string): number[] | undefined;
  floats(name: string, dflt?: number[]): number[] | undefined {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.kind === 'floats') return a.value;
    if (a.kind === 'ints') return a.value;
    throw this.badAttr(name, 'a list of floats', a.kind);
  }

  strings(name: string): string[] | undefined {
    const a = this.attr(name);
    if (!a) return undefined;
    if (a.kind !== 'strings') throw this.badAttr(name, 'a list of strings', a.kind);
    return a.value;
  }

  tensor(name: string): Tensor | undefined {
    const a = this.attr(name);
    if (!a) return undefined;
    if (a.kind !== 'tensor') throw this.badAttr(name, 'a tensor', a.kind);
    return a.value;
  }

  /** A KernelError (INVALID_ARGUMENT) naming this node. */
  error(message: string, details: Record<string, unknown> = {}): KernelError {
    return new KernelError(`${nodeLabel(this.node)}: ${message}`, { node: this.node.index, opType: this.node.opType, ...details });
  }

  /** An UnsupportedError (UNSUPPORTED_FEATURE) naming this node: valid ONNX the engine does not implement. */
  unsupported(message: string, details: Record<string, unknown> = {}): UnsupportedError {
    return new UnsupportedError('UNSUPPORTED_FEATURE', `${nodeLabel(this.node)}: ${message}`, {
      node: this.node.index,
      opType: this.node.opType,
      ...details,
    });
  }

  private badAttr(name: string, want: string, got: string): KernelError {
    return this.error(`attribute ${name} must be ${want}, got ${got}`, { attribute: name });
  }
}

/**
 * A kernel maps input tensors (undefined for an omitted optional input) to
 * output tensors in the node's output order. Kernels never mutate inputs.
 */
export type Kernel = (inputs: (Tensor | undefined)[], ctx: KernelContext) => Tensor[];

/** An op family module exports a table of kernels by ONNX op type. */
export type KernelTable = Record<string, Kernel>;
