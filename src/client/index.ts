// The client SDK (browser-safe: global fetch, no node: imports). See client.ts.
export {
  createClient,
  type Client,
  type ClientOptions,
  type Mode,
  type InferOptions,
  type InferResult,
  type PublishOptions,
  type PublishResult,
  type ModelFilter,
  type ReceiptRecordView,
  type PeersResult,
  type WaitOptions,
  type VerifyOptions as ClientVerifyOptions,
} from './client.js';
export { checkInferResponse, checkReceipts, type CheckedResult, type Fault, type InferStatus, type ModelIo, type ResultChecks, type CheckContext } from './check.js';
export { ClientError, TRANSIENT_CODES } from './errors.js';
export { inputsToWire, inputToWire, outputsFromJson, type Inputs, type InputTensor, type TensorLike, type TypedArray, type NestedArray, type WireTensor } from './tensors.js';
