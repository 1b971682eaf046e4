import { VerinferError, type ErrorCode } from '../errors.js';

/**
 * An error of the client SDK. `code` is
 * - the node's own error code when a node answered with a typed error
 *   (`{"error": {"code", "message", "details"}}`, e.g. `MODEL_NOT_FOUND`,
 *   `INVALID_TENSOR`, `NODE_BUSY`), passed through unchanged, with the HTTP
 *   status in `status` and the node's details in `details`;
 * - `NODE_UNREACHABLE`: no connection, the connection died mid-request, or the
 *   request timed out (`details.timeout`);
 * - `REQUEST_FAILED`: the node answered with something that is not a typed
 *   error or not valid JSON (`details.nodeCode` when it had a code);
 * - `RESULT_REJECTED`: the node returned a result the client refuses: a
 *   receipt whose signature does not recover to its executor, outputs that do
 *   not match the receipt's output digest, inputs that do not match its input
 *   digest (`details.reason`);
 * - `WAIT_TIMEOUT`: `waitFinal` gave up;
 * - `INVALID_ARGUMENT`: a bad call.
 * `node` is the URL of the node the error came from (the last one tried), and
 * when several nodes were tried `details.attempts` lists what each one said.
 */
export class ClientError extends VerinferError {
  readonly status?: number;
  readonly node?: string;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, opts: { status?: number; node?: string } = {}) {
    super(code, message, details);
    this.name = 'ClientError';
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.node !== undefined) this.node = opts.node;
  }
}

/** Codes that say "this node cannot do it now", so another node (or a later try) may. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'NODE_UNREACHABLE',
  'REQUEST_FAILED',
  'RESULT_REJECTED',
  'NODE_BUSY',
  'SHUTTING_DOWN',
  'INFERENCE_TIMEOUT',
  'STORE_BUSY',
  'FETCH_FAILED',
  'PEER_UNREACHABLE',
  'INTERNAL_ERROR',
]);
