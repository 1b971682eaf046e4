// Public API of the verinfer package (the layers that also run in browsers).
export * from './errors.js';
export * from './tensor/index.js';
export * from './onnx/index.js';
export * from './engine/index.js';
export { sha256, sha256Runs, toHex } from './hash/sha256.js';
export { merkleRoot, merkleRootOfChunks, merkleRootOfLeafHashes, leafHash, nodeHash } from './hash/merkle.js';
// browsers: `await installWasmSha256()` once for WebAssembly SHA-256 (Node installs its native one)
export { installWasmSha256 } from './hash/wasm.js';
export * from './proof/index.js';
export {
  createClient,
  ClientError,
  type Client,
  type ClientOptions,
  type InferOptions,
  type InferResult,
  type Inputs,
  type InputTensor,
  type ReceiptRecordView,
} from './client/index.js';
