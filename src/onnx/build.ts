import { create, toBinary } from '@bufbuild/protobuf';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
} from './proto/onnx_pb.js';
import { tensorToProto } from './tensorProto.js';

/**
 * Writes ONNX models from a small declarative spec: used to generate the
 * project's own models (tests, benchmarks, samples) since nothing may be
 * downloaded at run time.
 */
export type AttrInput =
  | number
  | number[]
  | string
  | string[]
  | Tensor
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'graph'; value: BuildGraph };

export interface BuildNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrInput>;
  name?: string;
  domain?: string;
}

export interface BuildValue {
  name: string;
  dtype: DType;
  /** Dims; a string is a symbolic dim. Omit for an unknown shape. */
  shape?: (number | string)[];
}

/** A subgraph (If branch, Loop/Scan body) given as a graph attribute: see graphAttr. */
export interface BuildGraph {
  name?: string;
  inputs: BuildValue[];
  outputs: BuildValue[];
  initializers?: Record<string, Tensor>;
  nodes: BuildNode[];
}

export interface BuildSpec {
  name?: string;
  opset?: number;
  irVersion?: number;
  producer?: string;
  inputs: BuildValue[];
  outputs: BuildValue[];
  initializers?: Record<string, Tensor>;
  nodes: BuildNode[];
}

/** Marks a number attribute as FLOAT even when it is integral (e.g. alpha = 1). */
export const floatAttr = (value: number) => ({ kind: 'float' as const, value });
export const floatsAttr = (value: number[]) => ({ kind: 'floats' as const, value });
/** A GRAPH attribute (If then_branch/else_branch, Loop/Scan body). */
export const graphAttr = (value: BuildGraph) => ({ kind: 'graph' as const, value });

function attribute(name: string, v: AttrInput): AttributeProto {
  const a = create(AttributeProtoSchema, { name });
  if (typeof v === 'number') {
    if (Number.isInteger(v)) Object.assign(a, { type: AT.INT, i: BigInt(v) });
    else Object.assign(a, { type: AT.FLOAT, f: v });
  } else if (typeof v === 'string') Object.assign(a, { type: AT.STRING, s: new TextEncoder().encode(v) });
  else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) Object.assign(a, { type: AT.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) });
    else if ((v as number[]).every(Number.isInteger)) Object.assign(a, { type: AT.INTS, ints: (v as number[]).map(BigInt) });
    else Object.assign(a, { type: AT.FLOATS, floats: v as number[] });
  } else if ('kind' in v && v.kind === 'float') Object.assign(a, { type: AT.FLOAT, f: v.value });
  else if ('kind' in v && v.kind === 'floats') Object.assign(a, { type: AT.FLOATS, floats: v.value });
  else if ('kind' in v && v.kind === 'graph') Object.assign(a, { type: AT.GRAPH, g: graphProto(v.value) });
  else Object.assign(a, { type: AT.TENSOR, t: tensorToProto(v as Tensor) });
  return a;
}

function valueInfo(v: BuildValue) {
  const tensorType = create(TypeProto_TensorSchema, { elemType: v.dtype });
  if (v.shape) {
    tensorType.shape = create(TensorShapeProtoSchema, {
      dim: v.shape.map((d) =>
        create(TensorShapeProto_DimensionSchema, {
          value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
        }),
      ),
    });
  }
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

function graphProto(spec: BuildGraph) {
  return create(GraphProtoSchema, {
    name: spec.name ?? 'graph',
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer: Object.entries(spec.initializers ?? {}).map(([name, t]) => tensorToProto(t, name)),
    node: spec.nodes.map((n, i) =>
      create(NodeProtoSchema, {
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      }),
    ),
  });
}

export function buildModel(spec: BuildSpec): Uint8Array {
  const graph = graphProto(spec);
  const model = create(ModelProtoSchema, {
    irVersion: BigInt(spec.irVersion ?? 8),
    producerName: spec.producer ?? 'verinfer',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(spec.opset ?? 17) })],
    graph,
  });
  return toBinary(ModelProtoSchema, model);
}

