import { InputError } from '../errors.js';
import { allocData, dtypeKind, dtypeName, DType, dtypeFromName } from './dtype.js';
import { float16ToNumber, numberToFloat16 } from './float16.js';
import { checkTensorBytes, DEFAULT_MAX_TENSOR_BYTES, Tensor } from './tensor.js';

/**
 * The public JSON form of a tensor: {"dtype": "float32", "dims": [...], "data": [...]}
 * with `data` flat and row-major. Numbers that JSON cannot hold are strings:
 * "NaN", "Infinity", "-Infinity", "-0" (JSON would print a negative zero as 0,
 * and -0 and +0 are different bytes), and 64-bit integers outside ±2^53 are
 * decimal strings. The form is lossless: tensorFromJson(tensorToJson(t)) has
 * the same canonical bytes as t.
 */
export type JsonScalar = number | string | boolean;
export interface TensorJson {
  dtype: string;
  dims: number[];
  data: JsonScalar[];
}

export function tensorToJson(t: Tensor): TensorJson {
  const data: JsonScalar[] = new Array(t.size);
  const kind = dtypeKind(t.dtype);
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i]!;
    if (kind === 'bigint') {
      const b = v as bigint;
      data[i] = b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b.toString();
    } else if (kind === 'bool') data[i] = v !== 0;
    else {
      const x = t.dtype === DType.float16 ? float16ToNumber(v as number) : (v as number);
      data[i] = Object.is(x, -0) ? '-0' : Number.isFinite(x) ? x : String(x);
    }
  }
  return { dtype: dtypeName(t.dtype), dims: [...t.shape], data };
}

/** Flattens a nested array, returning its data and inferred dims. */
function flattenNested(v: unknown, where: string): { dims: number[]; data: unknown[] } {
  const dims: number[] = [];
  let probe: unknown = v;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    probe = probe[0];
  }
  const data: unknown[] = [];
  const walk = (x: unknown, depth: number) => {
    if (depth === dims.length) {
      if (Array.isArray(x)) throw new InputError('INVALID_INPUT_FILE', `${where}: nested array is ragged`, { input: where });
      data.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== dims[depth]) {
      throw new InputError('INVALID_INPUT_FILE', `${where}: nested array is ragged at depth ${depth}`, { input: where, depth });
    }
    for (const y of x) walk(y, depth + 1);
  };
  walk(v, 0);
  return { dims, data };
}

/**
 * Builds a tensor from JSON: either {"dims": [...], "data": [...], "dtype"?: "..."}
 * or a nested array. `dtype` defaults to `defaultDType` (the model's declared input type).
 */
export function tensorFromJson(v: unknown, defaultDType: DType | undefined, where: string, maxBytes = DEFAULT_MAX_TENSOR_BYTES): Tensor {
  let dims: number[];
  let data: unknown[];
  let dtype = defaultDType;
  if (Array.isArray(v) || typeof v === 'number' || typeof v === 'boolean') {
    ({ dims, data } = flattenNested(v, where));
  } else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.dtype !== undefined) {
      const d = typeof o.dtype === 'string' ? dtypeFromName(o.dtype) : undefined;
      if (d === undefined) throw new InputError('INVALID_INPUT_FILE', `${where}: unknown dtype ${JSON.stringify(o.dtype)}`, { input: where });
      dtype = d;
    }
    if (!Array.isArray(o.data)) throw new InputError('INVALID_INPUT_FILE', `${where}: "data" must be an array`, { input: where });
    const flat = flattenNested(o.data, where);
    data = flat.data;
    if (o.dims === undefined) dims = flat.dims;
    else if (Array.isArray(o.dims) && o.dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) dims = o.dims as number[];
    else throw new InputError('INVALID_INPUT_FILE', `${where}: "dims" must be a list of non-negative integers`, { input: where });
  } else {
    throw new InputError('INVALID_INPUT_FILE', `${where}: expected {"dims": [...], "data": [...]} or a nested array`, { input: where });
  }
  if (dtype === undefined) dtype = DType.float32;
  const n = checkTensorBytes(dtype, dims, maxBytes, where);
  if (data.length !== n) {
    throw new InputError('INVALID_INPUT_FILE', `${where}: dims [${dims.join(',')}] need ${n} values, got ${data.length}`, {
      input: where,
      dims,
      values: data.length,
    });
  }
  const out = allocData(dtype, n);
  const kind = dtypeKind(dtype);
  for (let i = 0; i < n; i++) {
    const x = data[i];
    const bad = () =>
      new InputError('INVALID_INPUT_FILE', `${where}: value ${i} (${JSON.stringify(x)}) is not a valid ${dtypeName(dtype!)}`, { input: where, index: i });
    if (kind === 'bigint') {
      if (!(typeof x === 'number' && Number.isSafeInteger(x)) && !(typeof x === 'string' && /^-?\d+$/.test(x))) throw bad();
      const b = BigInt(x);
      if (dtype === DType.uint64 ? b < 0n || b >= 2n ** 64n : b < -(2n ** 63n) || b >= 2n ** 63n) throw bad();
      (out as BigInt64Array)[i] = b;
    } else if (kind === 'bool') {
      if (x !== true && x !== false && x !== 0 && x !== 1) throw bad();
      out[i] = x ? 1 : 0;
    } else {
      let num: number;
      if (typeof x === 'number') num = x;
      else if (x === 'NaN' || x === 'Infinity' || x === '-Infinity') num = Number(x);
      else if (x === '-0') num = -0;
      else throw bad();
      if (kind === 'int') {
        if (!Number.isInteger(num)) throw bad();
        out[i] = num;
        if (out[i] !== num) throw bad(); // out of range for the integer type
      } else out[i] = dtype === DType.float16 ? numberToFloat16(num) : num;
    }
  }
  return new Tensor(dtype, dims, out);
}
