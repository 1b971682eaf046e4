/**
 * Typed errors. Every error a user can meet carries a stable `code` and a
 * structured `details` object naming the offending thing, so the CLI, the API
 * and tests can react to it without parsing messages.
 */
export type ErrorCode =
  | 'MODEL_DECODE_FAILED'
  | 'MODEL_INVALID'
  | 'GRAPH_NOT_TOPOLOGICAL'
  | 'UNSUPPORTED_OP'
  | 'UNSUPPORTED_DOMAIN'
  | 'UNSUPPORTED_OPSET'
  | 'UNSUPPORTED_DTYPE'
  | 'UNSUPPORTED_FEATURE'
  | 'EXTERNAL_DATA_UNSUPPORTED'
  | 'MISSING_INPUT'
  | 'UNKNOWN_INPUT'
  | 'INPUT_DTYPE_MISMATCH'
  | 'INPUT_SHAPE_MISMATCH'
  | 'INVALID_TENSOR'
  | 'INVALID_ARGUMENT'
  | 'TENSOR_TOO_LARGE'
  | 'KERNEL_FAILED'
  | 'INVALID_INPUT_FILE'
  | 'RECEIPT_INVALID'
  | 'KEY_INVALID'
  | 'KEY_EXISTS'
  // node daemon and its HTTP API (src/node)
  | 'INTERNAL_ERROR'
  | 'INVALID_REQUEST'
  | 'NOT_FOUND'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'TOO_MANY_ELEMENTS'
  | 'TOO_EXPENSIVE'
  | 'NODE_BUSY'
  | 'INFERENCE_TIMEOUT'
  | 'SHUTTING_DOWN'
  | 'MODE_UNSUPPORTED'
  | 'RECEIPT_NOT_FOUND'
  | 'DISPUTE_INVALID'
  | 'ANNOUNCEMENT_INVALID'
  | 'PEER_UNREACHABLE'
  // verification modes (src/node/modes)
  | 'QUORUM_UNAVAILABLE'
  // model store (src/store)
  | 'INVALID_CID'
  | 'BLOCK_NOT_FOUND'
  | 'BLOCK_CORRUPT'
  | 'DAG_INCOMPLETE'
  | 'MODEL_NOT_FOUND'
  | 'VERSION_EXISTS'
  | 'METADATA_INVALID'
  | 'CAR_INVALID'
  | 'PIN_IN_USE'
  | 'STORE_BUSY'
  | 'STORE_IO'
  // model transfer (src/store/fetch.ts, gateway.ts)
  | 'FETCH_FAILED'
  // client SDK and devnet (src/client, src/devnet)
  | 'NODE_UNREACHABLE'
  | 'REQUEST_FAILED'
  | 'RESULT_REJECTED'
  | 'WAIT_TIMEOUT'
  | 'DEVNET_FAILED';

export class VerinferError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'VerinferError';
    this.code = code;
    this.details = details;
  }
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** The model file itself is broken (cannot decode, inconsistent graph). */
export class ModelError extends VerinferError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'ModelError';
  }
}

/** Valid ONNX that uses something outside the engine's supported set. */
export class UnsupportedError extends VerinferError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'UnsupportedError';
  }
}

/** The caller's feeds do not match the model's inputs. */
export class InputError extends VerinferError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'InputError';
  }
}

/** A configured resource limit would be exceeded. */
export class LimitError extends VerinferError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('TENSOR_TOO_LARGE', message, details);
    this.name = 'LimitError';
  }
}

/** An operator was given inputs or attributes it cannot accept. */
export class KernelError extends VerinferError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('INVALID_ARGUMENT', message, details);
    this.name = 'KernelError';
  }
}
