import { fromBinary } from '@bufbuild/protobuf';
import { ModelError, UnsupportedError } from '../errors.js';
import { DEFAULT_MAX_TENSOR_BYTES, type Tensor } from '../tensor/tensor.js';
import { AttributeProto_AttributeType as AT, ModelProtoSchema, type AttributeProto, type GraphProto, type ModelProto, type ValueInfoProto } from './proto/onnx_pb.js';
import { normalizeDomain, type AttrValue, type GraphIR, type ModelIR, type NodeIR, type ValueInfo } from './model.js';
import { tensorFromProto } from './tensorProto.js';

/** Default-domain opsets the loader accepts (the newest is the newest in the ONNX backend tests we run). Kernels implement each op version within this range. */
export const MIN_OPSET = 1;
export const MAX_OPSET = 28;

export interface LoadOptions {
  /** Largest tensor (initializer, constant, intermediate) in bytes. */
  maxTensorBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decodes and validates ONNX model bytes into the graph IR. Throws typed errors only. */
export function loadModel(bytes: Uint8Array, options: LoadOptions = {}): ModelIR {
  const maxTensorBytes = options.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
    throw new ModelError('MODEL_DECODE_FAILED', 'model file is empty', { bytes: bytes?.length ?? 0 });
  }
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new ModelError('MODEL_DECODE_FAILED', `not a valid ONNX model (protobuf decoding failed: ${(e as Error).message})`, {
      bytes: bytes.length,
    });
  }
  if (!proto.graph || (proto.graph.node.length === 0 && proto.graph.output.length === 0)) {
    throw new ModelError('MODEL_DECODE_FAILED', 'not a valid ONNX model (no graph)', { bytes: bytes.length });
  }
  const opsets = new Map<string, number>();
  for (const o of proto.opsetImport) opsets.set(normalizeDomain(o.domain), Number(o.version));
  // IR versions before opset_import existed imply ai.onnx opset 1.
  if (!opsets.has('') && proto.irVersion < 3n) opsets.set('', 1);
  const opset = opsets.get('');
  if (opset !== undefined && (opset < MIN_OPSET || opset > MAX_OPSET)) {
    throw new UnsupportedError('UNSUPPORTED_OPSET', `ai.onnx opset ${opset} is not supported (supported: ${MIN_OPSET}..${MAX_OPSET})`, {
      domain: 'ai.onnx',
      opset,
      min: MIN_OPSET,
      max: MAX_OPSET,
    });
  }
  for (const [domain, version] of opsets) {
    if (domain !== '' && (version < 1 || !Number.isSafeInteger(version))) {
      throw new ModelError('MODEL_INVALID', `opset import ${domain} has invalid version ${version}`, { domain, version });
    }
  }

  const graph = decodeGraph(proto.graph, maxTensorBytes);
  validateGraph(graph, opsets);
  return { irVersion: Number(proto.irVersion), producer: proto.producerName, opsets, graph };
}

/** Decodes a graph (top-level or subgraph) without validating it. Subgraph attributes are decoded recursively. */
function decodeGraph(g: GraphProto, maxTensorBytes: number): GraphIR {
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer) {
    if (!t.name) throw new ModelError('MODEL_INVALID', 'graph has an initializer without a name', {});
    initializers.set(t.name, tensorFromProto(t, maxTensorBytes));
  }
  if (g.sparseInitializer.length > 0) {
    throw new UnsupportedError('UNSUPPORTED_FEATURE', 'sparse initializers are not supported', { count: g.sparseInitializer.length });
  }

  const nodes: NodeIR[] = g.node.map((n, index) => {
    const domain = normalizeDomain(n.domain);
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute) attrs.set(a.name, decodeAttr(a, maxTensorBytes, n.opType));
    return { index, name: n.name, opType: n.opType, domain, inputs: [...n.input], outputs: [...n.output], attrs };
  });

  return {
    name: g.name,
    inputs: g.input.map(valueInfo),
    outputs: g.output.map(valueInfo),
    initializers,
    nodes,
  };
}

function valueInfo(v: ValueInfoProto): ValueInfo {
  const info: ValueInfo = { name: v.name };
  const t = v.type?.value;
  if (t?.case === 'tensorType') {
    info.dtype = t.value.elemType;
    if (t.value.shape) {
      info.shape = t.value.shape.dim.map((d) =>
        d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null,
      );
    }
  } else if (t) {
    info.dtype = -1; // sequence / map / optional: not a tensor
  }
  return info;
}

function decodeAttr(a: AttributeProto, maxTensorBytes: number, opType: string): AttrValue {
  if (a.refAttrName) {
    throw new ModelError('MODEL_INVALID', `attribute ${a.name} of ${opType} references a function attribute outside a function`, { attribute: a.name });
  }
  // IR < 2 files lack the type discriminator: infer it from the populated field.
  let type = a.type;
  if (type === AT.UNDEFINED) {
    type = a.ints.length ? AT.INTS : a.floats.length ? AT.FLOATS : a.strings.length ? AT.STRINGS : a.t ? AT.TENSOR : a.g ? AT.GRAPH : a.s.length ? AT.STRING : a.f !== 0 ? AT.FLOAT : AT.INT;
  }
  switch (type) {
    case AT.FLOAT:
      return { kind: 'float', value: a.f };
    case AT.INT:
      return { kind: 'int', value: Number(a.i) };
    case AT.STRING:
      return { kind: 'string', value: utf8.decode(a.s) };
    case AT.TENSOR:
      if (!a.t) throw new ModelError('MODEL_INVALID', `attribute ${a.name} of ${opType} has no tensor`, { attribute: a.name });
      return { kind: 'tensor', value: tensorFromProto(a.t, maxTensorBytes) };
    case AT.FLOATS:
      return { kind: 'floats', value: [...a.floats] };
    case AT.INTS:
      return { kind: 'ints', value: a.ints.map(Number) };
    case AT.STRINGS:
      return { kind: 'strings', value: a.strings.map((s) => utf8.decode(s)) };
    case AT.GRAPH:
      if (!a.g) throw new ModelError('MODEL_INVALID', `attribute ${a.name} of ${opType} has no graph`, { attribute: a.name });
      return { kind: 'graph', value: decodeGraph(a.g, maxTensorBytes) };
    default:
      return { kind: 'unsupported', type };
  }
}

/**
 * Checks SSA form and ONNX node order: every node input is a graph input, an
 * initializer or an output of an earlier node; every graph output is produced.
 * A subgraph (validated when its node is reached) may also read any name that
 * an enclosing scope defines before that node (`outer`). Returns the names the
 * graph (with its nested subgraphs) reads from enclosing scopes, in first-read
 * order, and sets `captures` on each node that has subgraphs.
 */
function validateGraph(g: GraphIR, opsets: Map<string, number>, outer?: (name: string) => boolean, where = ''): string[] {
  const defined = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  const producer = new Map<string, number>();
  const outerReads = new Set<string>();
  const readOuter = (name: string): boolean => {
    if (!outer?.(name)) return false;
    outerReads.add(name);
    return true;
  };
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o) || g.initializers.has(o) || g.inputs.some((i) => i.name === o)) {
        throw new ModelError('MODEL_INVALID', `value ${o} is defined twice (node ${nodeLabel(n)}${where})`, { value: o, node: n.index });
      }
      producer.set(o, n.index);
    }
  }
  for (const n of g.nodes) {
    if (!opsets.has(n.domain)) {
      throw new ModelError('MODEL_INVALID', `node ${nodeLabel(n)}${where} uses domain ${n.domain || 'ai.onnx'}, which the model does not import`, { node: n.index, domain: n.domain });
    }
    for (const i of n.inputs) {
      if (i === '' || defined.has(i) || readOuter(i)) continue;
      const p = producer.get(i);
      if (p === undefined) {
        throw new ModelError('MODEL_INVALID', `node ${nodeLabel(n)}${where} reads ${i}, which nothing defines`, { node: n.index, value: i });
      }
      throw new ModelError('GRAPH_NOT_TOPOLOGICAL', `node ${nodeLabel(n)}${where} reads ${i} before node ${p} produces it: nodes are not in topological order`, {
        node: n.index,
        value: i,
        producer: p,
      });
    }
    let captures: Set<string> | undefined;
    for (const [attrName, a] of n.attrs) {
      if (a.kind !== 'graph') continue;
      const inner = `${where} in subgraph ${attrName} of node ${nodeLabel(n)}`;
      const reads = validateGraph(a.value, opsets, (name) => defined.has(name) || readOuter(name), inner);
      captures ??= new Set();
      for (const r of reads) captures.add(r);
    }
    if (captures) n.captures = [...captures];
    for (const o of n.outputs) if (o !== '') defined.add(o);
  }
  for (const o of g.outputs) {
    if (!defined.has(o.name) && !readOuter(o.name)) throw new ModelError('MODEL_INVALID', `graph output ${o.name}${where} is never produced`, { output: o.name });
  }
  return [...outerReads];
}

export function nodeLabel(n: NodeIR): string {
  return `#${n.index} ${n.opType}${n.name ? ` "${n.name}"` : ''}`;
}
