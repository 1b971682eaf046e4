import { hashTypedData, recoverTypedDataAddress, type Hex } from 'viem';
import { leafHash, subtreeRoot } from '../hash/merkle.js';
import { traceResponder, type DisputeAnswer, type DisputeMessage } from './bisection.js';
import { parseReceipt, receiptDigest, RECEIPT_DOMAIN_NAME, RECEIPT_DOMAIN_VERSION, type Receipt, type ReceiptSigner } from './receipt.js';
import { fromHex, toHexBytes } from './wire.js';

/**
 * Lazy receipts and trace commitments (README.md, "Receipts"; issue 7).
 *
 * A lazy receipt is an ordinary `verinfer-receipt/1` whose `traceRoot` is the
 * all-zero bytes32 `LAZY_TRACE_ROOT`: the executor ran the model without a
 * trace and signed only the model, input and output digests. (An eager trace
 * root is an RFC 6962 MTH, a SHA-256 output: finding an input that hashes to
 * zero is a preimage attack, so zero never is a real root.) The receipt binds
 * the output; the trace is produced only when a dispute asks for it.
 *
 * The dispute game then starts with one extra question, `{type: 'commit'}`.
 * The executor re-runs the request with trace and answers with a
 * `TraceCommitment` (EIP-712, same domain as the receipt, signed by the same
 * key): the receipt's EIP-712 digest, its request id and the trace root. The
 * digest binds the commitment to exactly one receipt (model, input, output,
 * request id, executor, chain, times), so it cannot be moved to another one.
 * From there the bisection runs against the committed root exactly as against
 * an eager receipt's signed root, and a fraud proof carries the commitment.
 *
 * Committing is a claim like signing an eager receipt: a committed trace must
 * end in the receipt's output (else an 'output' fraud proof) and be right node
 * by node (else a 'node' fraud proof). An executor that does not commit loses
 * the dispute (executor-failed), like one that breaks the bisection.
 */
export const LAZY_TRACE_ROOT = ('0x' + '00'.repeat(32)) as Hex;

/** True when the receipt's trace root is the lazy sentinel (all-zero bytes32). */
export function isLazyReceipt(receipt: Receipt): boolean {
  return receipt.typedData.message.traceRoot.toLowerCase() === LAZY_TRACE_ROOT;
}

/** The EIP-712 type of a trace commitment (domain: the receipt's, `{name: 'Verinfer', version: '1', chainId}`). */
export const traceCommitmentTypes = {
  TraceCommitment: [
    { name: 'receipt', type: 'bytes32' },
    { name: 'requestId', type: 'bytes32' },
    { name: 'traceRoot', type: 'bytes32' },
  ],
} as const;

export interface TraceCommitmentMessage {
  /** `receiptDigest` of the lazy receipt (the EIP-712 digest its executor signed). */
  receipt: Hex;
  requestId: Hex;
  /** RFC 6962 MTH over the trace leaves of the re-execution. */
  traceRoot: Hex;
}

/** The executor's answer to `{type: 'commit'}`; also what a fraud proof against a lazy receipt carries. */
export interface SignedTraceCommitment {
  commitment: TraceCommitmentMessage;
  /** 65-byte `r || s || v` by the receipt's executor key. */
  signature: Hex;
}

function typedData(message: TraceCommitmentMessage, chainId: number) {
  return {
    domain: { name: RECEIPT_DOMAIN_NAME, version: RECEIPT_DOMAIN_VERSION, chainId },
    types: traceCommitmentTypes,
    primaryType: 'TraceCommitment' as const,
    message,
  };
}

/** The EIP-712 digest of a commitment (what is signed). */
export function traceCommitmentDigest(message: TraceCommitmentMessage, chainId: number): Hex {
  return hashTypedData(typedData(message, chainId));
}

/** Signs a commitment to `traceRoot` for a (lazy) receipt. */
export async function signTraceCommitment(receiptJson: unknown, traceRoot: Uint8Array, account: ReceiptSigner): Promise<SignedTraceCommitment> {
  const receipt = parseReceipt(receiptJson);
  const commitment: TraceCommitmentMessage = {
    receipt: receiptDigest(receipt.typedData).toLowerCase() as Hex,
    requestId: receipt.typedData.message.requestId,
    traceRoot: toHexBytes(traceRoot),
  };
  const signature = await account.signTypedData(typedData(commitment, receipt.typedData.domain.chainId));
  return { commitment, signature: signature.toLowerCase() as Hex };
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const SIG = /^0x[0-9a-fA-F]{130}$/;

/**
 * Checks a signed commitment against a lazy receipt: shape, binding (receipt
 * digest and request id) and signature (recovers to the receipt's executor).
 * Returns the committed root, or the reason it is not a valid commitment.
 * The receipt's own signature is the caller's to check.
 */
export async function checkTraceCommitment(receipt: Receipt, signed: unknown): Promise<{ ok: true; root: Uint8Array } | { ok: false; reason: string }> {
  const s = signed as SignedTraceCommitment;
  const c = s?.commitment;
  if (!c || typeof c !== 'object' || typeof s.signature !== 'string' || !SIG.test(s.signature)) return { ok: false, reason: 'not a signed trace commitment {commitment, signature}' };
  for (const k of ['receipt', 'requestId', 'traceRoot'] as const) {
    if (typeof c[k] !== 'string' || !HEX32.test(c[k])) return { ok: false, reason: `commitment.${k} must be 0x followed by 64 hex digits` };
  }
  if (Object.keys(c).length !== 3) return { ok: false, reason: 'commitment has unknown fields' };
  const m = receipt.typedData.message;
  const message: TraceCommitmentMessage = { receipt: c.receipt.toLowerCase() as Hex, requestId: c.requestId.toLowerCase() as Hex, traceRoot: c.traceRoot.toLowerCase() as Hex };
  if (message.receipt !== receiptDigest(receipt.typedData).toLowerCase()) return { ok: false, reason: 'the commitment is for another receipt (receipt digest differs)' };
  if (message.requestId !== m.requestId.toLowerCase()) return { ok: false, reason: `the commitment is for request ${message.requestId}, not ${m.requestId}` };
  let signer: string;
  try {
    signer = await recoverTypedDataAddress({ ...typedData(message, receipt.typedData.domain.chainId), signature: s.signature as Hex });
  } catch (e) {
    return { ok: false, reason: `commitment signature cannot be recovered: ${(e as Error).message.split('\n')[0]}` };
  }
  if (signer.toLowerCase() !== m.executor.toLowerCase()) return { ok: false, reason: `the commitment is signed by ${signer}, not by the receipt's executor ${m.executor}` };
  return { ok: true, root: fromHex(message.traceRoot, 'traceRoot', 32) };
}

/**
 * An executor's side of a dispute about a lazy receipt: answers `commit` by
 * obtaining the trace leaves (`leaves` is called once, on the first commit,
 * e.g. to re-execute the request) and signing their root; answers the
 * bisection from the same leaves. `open`/`leaf` before `commit` is an error.
 */
export function lazyResponder(receipt: unknown, account: ReceiptSigner, leaves: () => readonly Uint8Array[] | Promise<readonly Uint8Array[]>): (q: DisputeMessage) => Promise<DisputeAnswer> {
  let state: Promise<{ signed: SignedTraceCommitment; respond: (q: DisputeMessage) => DisputeAnswer }> | undefined;
  return async (q) => {
    if (q.type === 'commit') {
      state ??= (async () => {
        const l = await leaves();
        const signed = await signTraceCommitment(receipt, subtreeRoot(l.map(leafHash)), account);
        return { signed, respond: traceResponder(l) };
      })();
      const { signed } = await state;
      return { type: 'commitment', ...signed };
    }
    if (!state) throw new Error('commit to a trace first: send {type: "commit"}');
    return (await state).respond(q);
  };
}
