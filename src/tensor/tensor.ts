import { InputError, LimitError } from '../errors.js';
import { allocData, bytesPerElement, dtypeName, type DType, type TensorData } from './dtype.js';

/** A dense row-major tensor. float16 data holds raw binary16 bits; bool holds 0/1 bytes. */
export class Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;

  constructor(dtype: DType, shape: readonly number[], data: TensorData) {
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new InputError('INVALID_TENSOR', `tensor of shape [${shape.join(',')}] needs ${n} elements, got ${data.length}`, {
        shape: [...shape],
        elements: data.length,
      });
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `Tensor<${dtypeName(this.dtype)}>[${this.shape.join(',')}]`;
  }
}

/** Number of elements of a shape; validates that every dim is a non-negative integer. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new InputError('INVALID_TENSOR', `invalid dimension ${d} in shape [${shape.join(',')}]`, { shape: [...shape] });
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new InputError('INVALID_TENSOR', `shape [${shape.join(',')}] is too large`, { shape: [...shape] });
  return n;
}

/** Row-major strides (in elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Default cap on the bytes of one tensor: 2 GiB (configurable per session). */
export const DEFAULT_MAX_TENSOR_BYTES = 2 ** 31;

/** Throws TENSOR_TOO_LARGE if a tensor of this dtype/shape would exceed `maxBytes`. */
export function checkTensorBytes(dtype: DType, shape: readonly number[], maxBytes: number, where?: string): number {
  const n = shapeSize(shape);
  const bytes = n * bytesPerElement(dtype);
  if (bytes > maxBytes) {
    throw new LimitError(`tensor ${where ? `${where} ` : ''}of shape [${shape.join(',')}] (${dtypeName(dtype)}) needs ${bytes} bytes, over the limit of ${maxBytes}`, {
      shape: [...shape],
      dtype: dtypeName(dtype),
      bytes,
      limit: maxBytes,
      where,
    });
  }
  return n;
}

/** A zero-filled tensor, checked against a byte cap. */
export function zeros(dtype: DType, shape: readonly number[], maxBytes = DEFAULT_MAX_TENSOR_BYTES): Tensor {
  const n = checkTensorBytes(dtype, shape, maxBytes);
  return new Tensor(dtype, shape, allocData(dtype, n));
}
