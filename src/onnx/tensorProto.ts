import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelError, UnsupportedError } from '../errors.js';
import { allocData, checkDType, DType, type TensorData } from '../tensor/dtype.js';
import { checkTensorBytes, DEFAULT_MAX_TENSOR_BYTES, Tensor } from '../tensor/tensor.js';
import { TensorProtoSchema, TensorProto_DataLocation, type TensorProto } from './proto/onnx_pb.js';

/** Decodes a serialized TensorProto (the conformance `.pb` files). */
export function decodeTensorProtoBytes(bytes: Uint8Array, maxTensorBytes = DEFAULT_MAX_TENSOR_BYTES): Tensor {
  let proto: TensorProto;
  try {
    proto = fromBinary(TensorProtoSchema, bytes);
  } catch (e) {
    throw new ModelError('MODEL_DECODE_FAILED', `not a valid TensorProto: ${(e as Error).message}`, { bytes: bytes.length });
  }
  return tensorFromProto(proto, maxTensorBytes);
}

/** Converts a decoded TensorProto into a Tensor (copying out of the protobuf buffers). */
export function tensorFromProto(p: TensorProto, maxTensorBytes = DEFAULT_MAX_TENSOR_BYTES): Tensor {
  const name = p.name || undefined;
  if (p.dataLocation === TensorProto_DataLocation.EXTERNAL || p.externalData.length > 0) {
    throw new UnsupportedError('EXTERNAL_DATA_UNSUPPORTED', `tensor ${name ?? '(unnamed)'} stores its data in an external file, which is not supported: embed the weights in the .onnx file`, {
      tensor: name,
      location: p.externalData.find((e) => e.key === 'location')?.value,
    });
  }
  const dtype = checkDType(p.dataType, name ? `tensor ${name}` : 'tensor');
  const shape = p.dims.map((d) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ModelError('MODEL_INVALID', `tensor ${name ?? ''} has invalid dimension ${d}`, { tensor: name, dim: String(d) });
    }
    return Number(d);
  });
  const n = checkTensorBytes(dtype, shape, maxTensorBytes, name);
  const data = allocData(dtype, n);
  const bad = (have: number) =>
    new ModelError('MODEL_INVALID', `tensor ${name ?? '(unnamed)'} of shape [${shape.join(',')}] has ${have} stored elements, expected ${n}`, {
      tensor: name,
      shape,
      expected: n,
      stored: have,
    });

  if (p.rawData.length > 0 || n === 0) {
    const bytes = p.rawData;
    if (bytes.length !== data.byteLength) {
      throw bad(bytes.length / (data.byteLength / Math.max(n, 1)));
    }
    // Copy bytes into the typed array's own buffer (aligned, little-endian).
    new Uint8Array(data.buffer).set(bytes);
    // The engine's bool is one byte 0 or 1; raw_data may hold any non-zero byte for true.
    if (dtype === DType.bool) for (let i = 0; i < n; i++) if (data[i]) data[i] = 1;
    return new Tensor(dtype, shape, data);
  }
  const fill = (src: ArrayLike<number> | ArrayLike<bigint>, conv: (v: any) => any = (v) => v) => {
    if (src.length !== n) throw bad(src.length);
    for (let i = 0; i < n; i++) (data as any)[i] = conv(src[i]);
  };
  switch (dtype) {
    case DType.float32:
      fill(p.floatData);
      break;
    case DType.float64:
      fill(p.doubleData);
      break;
    case DType.int64:
      fill(p.int64Data);
      break;
    case DType.uint64:
      fill(p.uint64Data);
      break;
    case DType.uint32:
      fill(p.uint64Data, (v: bigint) => Number(v));
      break;
    case DType.bool:
      fill(p.int32Data, (v: number) => (v ? 1 : 0));
      break;
    default: // int8/16/32, uint8/16, float16 (raw bits) live in int32_data
      fill(p.int32Data);
  }
  return new Tensor(dtype, shape, data);
}

/** The inverse of tensorFromProto: a TensorProto using raw_data. */
export function tensorToProto(t: Tensor, name = ''): TensorProto {
  const d = t.data;
  return create(TensorProtoSchema, {
    name,
    dataType: t.dtype,
    dims: t.shape.map((x) => BigInt(x)),
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice(),
  });
}

export function encodeTensorProto(t: Tensor, name = ''): Uint8Array {
  return toBinary(TensorProtoSchema, tensorToProto(t, name));
}

export type { TensorData };
