import type { Tensor } from '../tensor/tensor.js';

/** The validated graph IR the engine executes. Decoded once from ONNX bytes. */
export interface ValueInfo {
  name: string;
  /** ONNX element type code (may be one the engine does not support), if declared. */
  dtype?: number;
  /** Declared dims: a number, a symbolic name, or null when unknown. Undefined if no shape is declared. */
  shape?: (number | string | null)[];
}

export type AttrValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: Tensor }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'strings'; value: string[] }
  /** A subgraph (If branches, Loop/Scan bodies), decoded and validated like the top-level graph. */
  | { kind: 'graph'; value: GraphIR }
  | { kind: 'unsupported'; type: number };

export interface NodeIR {
  /** Position in ONNX node order (the trace index). */
  index: number;
  name: string;
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
  /**
   * For a node with subgraph attributes (If/Loop/Scan): the names its subgraphs
   * (at any depth) read from scopes outside the node, in first-read order. They
   * are implicit inputs: the executor keeps them alive until this node ran.
   */
  captures?: string[];
}

export interface GraphIR {
  name: string;
  /** Every declared graph input, including those that also have an initializer. */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  nodes: NodeIR[];
}

export interface ModelIR {
  irVersion: number;
  producer: string;
  /** domain ('' for default) -> opset version. */
  opsets: Map<string, number>;
  graph: GraphIR;
}

/** The default ONNX domain has two spellings. */
export function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

/** Graph inputs the caller must feed (declared inputs without an initializer). */
export function requiredInputs(g: GraphIR): ValueInfo[] {
  return g.inputs.filter((i) => !g.initializers.has(i.name));
}
