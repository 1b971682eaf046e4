import { VerinferError } from '../errors.js';
import { canonicalData } from '../tensor/canonical.js';
import { bytesPerElement, checkDType, viewData } from '../tensor/dtype.js';
import { shapeSize, Tensor } from '../tensor/tensor.js';

/**
 * JSON-safe encodings for objects that cross the wire: bytes as 0x-hex,
 * tensors as {dtype, dims, data: base64 of the canonical bytes}.
 */
export type Hex = `0x${string}`;

export function toHexBytes(b: Uint8Array): Hex {
  let s = '0x';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s as Hex;
}

export function fromHex(h: string, what = 'hex value', bytes?: number): Uint8Array {
  if (typeof h !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(h) || (bytes !== undefined && h.length !== 2 + 2 * bytes)) {
    throw new VerinferError('INVALID_ARGUMENT', `${what} must be ${bytes !== undefined ? `${bytes} bytes of ` : ''}0x-prefixed hex`, { what, value: String(h).slice(0, 80) });
  }
  const out = new Uint8Array((h.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 + 2 * i, 4 + 2 * i), 16);
  return out;
}

export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(s: string, what = 'base64 value'): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch {
    throw new VerinferError('INVALID_ARGUMENT', `${what} is not valid base64`, { what });
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface TensorWire {
  dtype: number;
  dims: number[];
  /** base64 of the canonical data bytes (DESIGN.md): row-major, little-endian, canonical NaNs. */
  data: string;
}

export function tensorToWire(t: Tensor): TensorWire {
  return { dtype: t.dtype, dims: [...t.shape], data: toBase64(canonicalData(t)) };
}

export function tensorFromWire(w: TensorWire, maxBytes = 2 ** 31): Tensor {
  if (!w || typeof w !== 'object' || !Array.isArray(w.dims) || typeof w.data !== 'string') {
    throw new VerinferError('INVALID_ARGUMENT', 'tensor must be {dtype, dims, data}', {});
  }
  const dtype = checkDType(w.dtype, 'wire tensor');
  const n = shapeSize(w.dims);
  if (n * bytesPerElement(dtype) > maxBytes) throw new VerinferError('TENSOR_TOO_LARGE', 'wire tensor too large', { dims: w.dims });
  const bytes = fromBase64(w.data, 'tensor data');
  if (bytes.length !== n * bytesPerElement(dtype)) {
    throw new VerinferError('INVALID_ARGUMENT', `tensor data has ${bytes.length} bytes, dims [${w.dims.join(',')}] need ${n * bytesPerElement(dtype)}`, { dims: w.dims });
  }
  const buf = new ArrayBuffer(bytes.length);
  new Uint8Array(buf).set(bytes);
  const t = new Tensor(dtype, w.dims, viewData(dtype, buf, 0, n));
  // Only canonical bytes are accepted: a NaN payload or a bool byte other than 0/1 would hash
  // like its canonical form while a kernel could still tell them apart.
  const canonical = canonicalData(t);
  if (canonical.buffer !== buf && !canonical.every((b, i) => b === bytes[i])) {
    throw new VerinferError('INVALID_ARGUMENT', 'tensor data is not in canonical form (NaN payloads or bool bytes other than 0/1)', { dims: w.dims });
  }
  return t;
}
