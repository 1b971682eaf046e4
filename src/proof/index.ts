// Public API of the proof layer: receipts, verification, the bisection game and fraud proofs (runs in browsers too).
export { modelCid, MODEL_CID_OPTIONS } from '../hash/cid.js';
export {
  RECEIPT_SCHEMA,
  RECEIPT_DOMAIN_NAME,
  RECEIPT_DOMAIN_VERSION,
  types as receiptTypes,
  domainTypes as receiptDomainTypes,
  typesWithDomain as receiptTypesWithDomain,
  receiptTypedData,
  receiptDigest,
  signReceipt,
  recoverReceiptSigner,
  parseReceipt,
  type Receipt,
  type ReceiptMessage,
  type ReceiptDomain,
  type ReceiptTypedData,
  type ReceiptFields,
  type ReceiptSigner,
} from './receipt.js';
export {
  verifyReceipt,
  createReceipt,
  inputDigest,
  orderedInputs,
  DEFAULT_CHAIN_ID,
  DEFAULT_RECEIPT_TTL_SECONDS,
  type VerifyCheck,
  type VerifyResult,
  type VerifyOptions,
  type CreateReceiptOptions,
} from './verify.js';
export { Bisection, traceResponder, chooseSide, pathInCommittedTree, type DisputeQuery, type CommitQuery, type DisputeMessage, type DisputeAnswer, type Side, type BisectionState } from './bisection.js';
export { verifyFraudProof, FRAUD_PROOF_SCHEMA, type FraudProof, type FraudInput, type FraudVerdict, type FraudVerdictCode, type LeafOpening } from './fraud.js';
export { challengeReceipt, honestRun, type Responder, type DisputeOutcome, type ChallengeOptions, type ChallengerRun } from './dispute.js';
export {
  LAZY_TRACE_ROOT,
  isLazyReceipt,
  traceCommitmentTypes,
  traceCommitmentDigest,
  signTraceCommitment,
  checkTraceCommitment,
  lazyResponder,
  type TraceCommitmentMessage,
  type SignedTraceCommitment,
} from './commitment.js';
export { tensorToWire, tensorFromWire, type TensorWire, type Hex } from './wire.js';
