import { VerinferError, type ErrorCode } from '../errors.js';

/**
 * How typed errors become HTTP responses: `{"error": {"code", "message", "details"}}`
 * with the status below. Codes not listed are 500.
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  // 400: the request itself is wrong
  INVALID_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  INVALID_TENSOR: 400,
  INVALID_INPUT_FILE: 400,
  INVALID_CID: 400,
  MISSING_INPUT: 400,
  UNKNOWN_INPUT: 400,
  INPUT_DTYPE_MISMATCH: 400,
  INPUT_SHAPE_MISMATCH: 400,
  DISPUTE_INVALID: 400,
  ANNOUNCEMENT_INVALID: 400,
  RECEIPT_INVALID: 400,
  // 404: unknown ids
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  RECEIPT_NOT_FOUND: 404,
  BLOCK_NOT_FOUND: 404,
  // 409
  VERSION_EXISTS: 409,
  PIN_IN_USE: 409,
  // 413: too big or too costly
  BODY_TOO_LARGE: 413,
  TENSOR_TOO_LARGE: 413,
  TOO_MANY_ELEMENTS: 413,
  TOO_EXPENSIVE: 413,
  // 415
  UNSUPPORTED_MEDIA_TYPE: 415,
  // 422: valid request the node cannot serve
  MODEL_DECODE_FAILED: 422,
  MODEL_INVALID: 422,
  GRAPH_NOT_TOPOLOGICAL: 422,
  UNSUPPORTED_OP: 422,
  UNSUPPORTED_DOMAIN: 422,
  UNSUPPORTED_OPSET: 422,
  UNSUPPORTED_DTYPE: 422,
  UNSUPPORTED_FEATURE: 422,
  EXTERNAL_DATA_UNSUPPORTED: 422,
  KERNEL_FAILED: 422,
  METADATA_INVALID: 422,
  MODE_UNSUPPORTED: 422,
  DAG_INCOMPLETE: 422,
  // 429 / 503 / 504: try again (later or elsewhere)
  NODE_BUSY: 429,
  STORE_BUSY: 503,
  SHUTTING_DOWN: 503,
  QUORUM_UNAVAILABLE: 503,
  FETCH_FAILED: 502,
  PEER_UNREACHABLE: 502,
  INFERENCE_TIMEOUT: 504,
};

export function httpStatus(code: string): number {
  return STATUS[code as ErrorCode] ?? 500;
}

/** A typed error with extra response headers (e.g. Retry-After on 429). */
export class HttpError extends VerinferError {
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(code, message, details);
    this.name = 'HttpError';
    this.headers = headers;
  }
}

export interface ApiErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** Fastify's own errors (body parsing, limits, routing) as our codes. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; status: number }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'INVALID_REQUEST', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_REQUEST', status: 400 },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_REQUEST', status: 400 },
  FST_ERR_BAD_URL: { code: 'INVALID_REQUEST', status: 400 },
};

/** Any thrown value → status, body and headers. Internal errors keep their message out of `details`. */
export function toApiError(e: unknown, limits?: { maxBodyBytes?: number }): { status: number; body: ApiErrorBody; headers: Record<string, string> } {
  if (e instanceof VerinferError) {
    return {
      status: httpStatus(e.code),
      body: { error: { code: e.code, message: e.message, details: e.details } },
      headers: e instanceof HttpError ? e.headers : {},
    };
  }
  const err = e as { code?: string; statusCode?: number; message?: string; name?: string };
  const known = err?.code ? FASTIFY_CODES[err.code] : undefined;
  if (known) {
    const details: Record<string, unknown> = { cause: err.code };
    if (known.code === 'BODY_TOO_LARGE' && limits?.maxBodyBytes) details.maxBytes = limits.maxBodyBytes;
    const message =
      known.code === 'BODY_TOO_LARGE'
        ? `request body is larger than the node accepts${limits?.maxBodyBytes ? ` (${limits.maxBodyBytes} bytes)` : ''}`
        : known.code === 'UNSUPPORTED_MEDIA_TYPE'
          ? `unsupported Content-Type: send application/json (or application/octet-stream to POST /v1/models)`
          : `malformed request: ${err.message ?? 'invalid body'}`;
    return { status: known.status, body: { error: { code: known.code, message, details } }, headers: {} };
  }
  if (err?.name === 'SyntaxError' || (err?.statusCode === 400 && /JSON/i.test(err.message ?? ''))) {
    return { status: 400, body: { error: { code: 'INVALID_REQUEST', message: `the body is not valid JSON: ${err.message}`, details: {} } }, headers: {} };
  }
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: { error: { code: 'INVALID_REQUEST', message: err.message ?? 'bad request', details: { cause: err.code } } }, headers: {} };
  }
  return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: `internal error: ${err?.message ?? String(e)}`, details: {} } }, headers: {} };
}
