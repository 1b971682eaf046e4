import { UnsupportedError } from '../errors.js';

/** dtype codes are ONNX's TensorProto.DataType numbers (DESIGN.md). */
export const DType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
} as const;
export type DType = (typeof DType)[keyof typeof DType];

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

interface DTypeInfo {
  name: string;
  bytes: number;
  ctor: { new (n: number): TensorData; new (b: ArrayBuffer, o: number, n: number): TensorData };
  /** 'float' (incl. float16 stored as raw bits), 'int', 'bigint' (64-bit) or 'bool'. */
  kind: 'float' | 'int' | 'bigint' | 'bool';
}

const INFO: Record<DType, DTypeInfo> = {
  1: { name: 'float32', bytes: 4, ctor: Float32Array, kind: 'float' },
  2: { name: 'uint8', bytes: 1, ctor: Uint8Array, kind: 'int' },
  3: { name: 'int8', bytes: 1, ctor: Int8Array, kind: 'int' },
  4: { name: 'uint16', bytes: 2, ctor: Uint16Array, kind: 'int' },
  5: { name: 'int16', bytes: 2, ctor: Int16Array, kind: 'int' },
  6: { name: 'int32', bytes: 4, ctor: Int32Array, kind: 'int' },
  7: { name: 'int64', bytes: 8, ctor: BigInt64Array, kind: 'bigint' },
  9: { name: 'bool', bytes: 1, ctor: Uint8Array, kind: 'bool' },
  10: { name: 'float16', bytes: 2, ctor: Uint16Array, kind: 'float' },
  11: { name: 'float64', bytes: 8, ctor: Float64Array, kind: 'float' },
  12: { name: 'uint32', bytes: 4, ctor: Uint32Array, kind: 'int' },
  13: { name: 'uint64', bytes: 8, ctor: BigUint64Array, kind: 'bigint' },
} as Record<DType, DTypeInfo>;

const ONNX_NAMES: Record<number, string> = {
  0: 'undefined', 8: 'string', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
  17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz',
  21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

export function isDType(code: number): code is DType {
  return Object.prototype.hasOwnProperty.call(INFO, code);
}

/** Returns the code as a supported DType, or throws UNSUPPORTED_DTYPE. */
export function checkDType(code: number, where?: string): DType {
  if (isDType(code)) return code;
  throw new UnsupportedError('UNSUPPORTED_DTYPE', `unsupported data type ${dtypeName(code)}${where ? ` (${where})` : ''}`, {
    dtype: code,
    dtypeName: dtypeName(code),
    where,
  });
}

export function dtypeName(code: number): string {
  return (INFO as Record<number, DTypeInfo>)[code]?.name ?? ONNX_NAMES[code] ?? `dtype#${code}`;
}

export function dtypeFromName(name: string): DType | undefined {
  for (const [code, info] of Object.entries(INFO)) if (info.name === name) return Number(code) as DType;
  return undefined;
}

export function bytesPerElement(dtype: DType): number {
  return INFO[dtype].bytes;
}

export function dtypeKind(dtype: DType): DTypeInfo['kind'] {
  return INFO[dtype].kind;
}

/** A zero-filled typed array of the storage type of `dtype`. */
export function allocData(dtype: DType, n: number): TensorData {
  return new INFO[dtype].ctor(n);
}

/** A typed array of `dtype` viewing (not copying) `n` elements of `buffer` at `byteOffset`. */
export function viewData(dtype: DType, buffer: ArrayBuffer, byteOffset: number, n: number): TensorData {
  return new INFO[dtype].ctor(buffer, byteOffset, n);
}

export const isFloat = (d: DType): boolean => d === DType.float32 || d === DType.float64 || d === DType.float16;
export const isBigInt = (d: DType): boolean => d === DType.int64 || d === DType.uint64;
export const isSigned = (d: DType): boolean =>
  d === DType.int8 || d === DType.int16 || d === DType.int32 || d === DType.int64 || isFloat(d);
