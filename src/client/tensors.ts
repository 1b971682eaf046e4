import { allocData, dtypeFromName, dtypeName, type DType, type TensorData } from '../tensor/dtype.js';
import { tensorFromJson, tensorToJson, type TensorJson } from '../tensor/json.js';
import { Tensor } from '../tensor/tensor.js';
import { ClientError } from './errors.js';

/**
 * The forms an input tensor can take in the SDK:
 * - a `Tensor` (src/tensor/tensor.ts);
 * - `{ data: Float32Array | Int32Array | BigInt64Array | ..., dims?: [...], dtype?: 'float32' | ... }`
 *   (dtype from the typed array unless given; dims default to `[data.length]`);
 * - the public JSON form `{ dtype?, dims?, data: [...] }` (dtype then defaults to the model's declared type);
 * - a nested array (`[[1, 2], [3, 4]]`) or a bare typed array (1-D).
 */
/** Any typed array a tensor can hold (the tensor layer's storage types). */
export type TypedArray = TensorData;

export type NestedArray = number | boolean | string | bigint | NestedArray[];

export interface TensorLike {
  data: TypedArray | NestedArray[];
  dims?: readonly number[];
  dtype?: string;
}

export type InputTensor = Tensor | TensorLike | TypedArray | NestedArray[];
export type Inputs = Record<string, InputTensor>;

/** The wire form of one input: what the node's JSON parser takes. */
export type WireTensor = TensorJson | { dims?: number[]; data: unknown[]; dtype?: string } | unknown[];

const TYPED_DTYPES: [new (...a: never[]) => TypedArray, string][] = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
  [Int16Array, 'int16'],
  [Uint16Array, 'uint16'],
  [Int32Array, 'int32'],
  [Uint32Array, 'uint32'],
  [BigInt64Array, 'int64'],
  [BigUint64Array, 'uint64'],
];

function typedDType(a: unknown): string | undefined {
  for (const [ctor, name] of TYPED_DTYPES) if (a instanceof ctor) return name;
  return undefined;
}

function isTypedArray(a: unknown): a is TypedArray {
  return typedDType(a) !== undefined;
}

function bad(name: string, message: string): ClientError {
  return new ClientError('INVALID_ARGUMENT', `input ${name}: ${message}`, { input: name });
}

/** A typed array (any element type) as a tensor of `dtype`, checking that values fit. */
function tensorFromTyped(name: string, data: TypedArray, dims: readonly number[], dtypeStr: string): Tensor {
  const dtype = dtypeFromName(dtypeStr);
  if (dtype === undefined) throw bad(name, `unknown dtype ${JSON.stringify(dtypeStr)}`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw bad(name, `dims [${dims.join(', ')}] need ${n} values, got ${data.length}`);
  const out: TensorData = allocData(dtype, n);
  if (out.constructor === data.constructor) (out as TypedArray).set(data as never);
  else {
    // e.g. bool from a Uint8Array, int64 from an Int32Array: go through the JSON converter, which checks ranges.
    const plain = Array.from(data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
    return tensorFromJson({ dtype: dtypeStr, dims: [...dims], data: plain }, dtype as DType, name);
  }
  return new Tensor(dtype as DType, dims, out);
}

function dimsOf(name: string, dims: unknown, fallback: number): number[] {
  if (dims === undefined) return [fallback];
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(name, 'dims must be a list of non-negative integers');
  return [...dims];
}

const bigintsToStrings = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? v.map(bigintsToStrings) : v);

/**
 * Converts one SDK input to its wire form (JSON the node parses). Typed inputs
 * carry their dtype; nested arrays and `{dims, data}` without dtype take the
 * model's declared input type on the node.
 */
export function inputToWire(name: string, v: InputTensor): WireTensor {
  if (v instanceof Tensor) return tensorToJson(v);
  if (isTypedArray(v)) return tensorToJson(tensorFromTyped(name, v, [v.length], typedDType(v)!));
  if (Array.isArray(v)) return bigintsToStrings(v) as unknown[];
  if (v && typeof v === 'object' && 'data' in v) {
    const o = v as TensorLike;
    if (isTypedArray(o.data)) {
      return tensorToJson(tensorFromTyped(name, o.data, dimsOf(name, o.dims, o.data.length), o.dtype ?? typedDType(o.data)!));
    }
    if (!Array.isArray(o.data)) throw bad(name, '"data" must be a typed array or an array');
    const wire: { dims?: number[]; data: unknown[]; dtype?: string } = { data: bigintsToStrings(o.data) as unknown[] };
    if (o.dims !== undefined) wire.dims = dimsOf(name, o.dims, 0);
    if (o.dtype !== undefined) {
      if (dtypeFromName(o.dtype) === undefined) throw bad(name, `unknown dtype ${JSON.stringify(o.dtype)}`);
      wire.dtype = o.dtype;
    }
    return wire;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return v as never;
  throw bad(name, 'expected a Tensor, a typed array, {data, dims?, dtype?} or a nested array');
}

export function inputsToWire(inputs: Inputs): Record<string, WireTensor> {
  if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) {
    throw new ClientError('INVALID_ARGUMENT', 'inputs must be an object mapping input names to tensors', {});
  }
  const out: Record<string, WireTensor> = {};
  for (const [name, v] of Object.entries(inputs)) out[name] = inputToWire(name, v);
  return out;
}

/** The dtype a wire tensor declares itself, if any. */
export function wireDType(w: WireTensor): string | undefined {
  if (w && typeof w === 'object' && !Array.isArray(w) && typeof (w as { dtype?: unknown }).dtype === 'string') return (w as { dtype: string }).dtype;
  return undefined;
}

/**
 * The tensor a node builds from a wire input (after a JSON round trip, exactly
 * as the node sees it: e.g. -0 arrives as 0), with `dtype` for untyped inputs.
 */
export function wireToTensor(name: string, w: WireTensor, dtype: string | undefined): Tensor {
  const d = dtype === undefined ? undefined : dtypeFromName(dtype);
  return tensorFromJson(JSON.parse(JSON.stringify(w)), d, name);
}

/** Output tensors from a response (public JSON form, dtype included). */
export function outputsFromJson(outputs: unknown, node: string): Record<string, Tensor> {
  if (!outputs || typeof outputs !== 'object' || Array.isArray(outputs)) {
    throw new ClientError('RESULT_REJECTED', `${node} returned no outputs object`, { reason: 'malformed', node }, { node });
  }
  const out: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(outputs as Record<string, unknown>)) {
    if (!v || typeof v !== 'object' || typeof (v as { dtype?: unknown }).dtype !== 'string') {
      throw new ClientError('RESULT_REJECTED', `${node} returned output ${name} without a dtype`, { reason: 'malformed', output: name, node }, { node });
    }
    try {
      out[name] = tensorFromJson(v, undefined, name);
    } catch (e) {
      throw new ClientError('RESULT_REJECTED', `${node} returned a malformed output ${name}: ${(e as Error).message}`, { reason: 'malformed', output: name, node }, { node });
    }
  }
  return out;
}

export { dtypeName, tensorToJson };
