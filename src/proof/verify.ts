import { bytesToHex } from 'viem';
import { InputError, VerinferError } from '../errors.js';
import { createSession, SEMANTICS_VERSION, type RunResult, type Session, type SessionOptions } from '../engine/session.js';
import { modelCid } from '../hash/cid.js';
import { tensorListDigest } from '../tensor/canonical.js';
import type { Tensor } from '../tensor/tensor.js';
import { isLazyReceipt, LAZY_TRACE_ROOT } from './commitment.js';
import { parseReceipt, recoverReceiptSigner, signReceipt, type Receipt, type ReceiptSigner } from './receipt.js';

export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerifyResult {
  /** True when every check passed. Expiry is not a check: see `expired`. */
  valid: boolean;
  /** `now > expiresAt`. An expired receipt is still verifiable; whether to accept it is the caller's policy. */
  expired: boolean;
  /**
   * In this order: schema, signature, model, semantics, input, output, traceRoot.
   * A malformed receipt yields only the failing `schema` check. For a lazy
   * receipt (all-zero trace root) the model runs without trace and the
   * traceRoot check passes with detail `lazy: committed on demand`: there is no
   * root to check until a dispute asks the executor to commit to one.
   */
  checks: VerifyCheck[];
}

export interface VerifyOptions {
  /** The receipt, as parsed JSON (validated here) or a `Receipt`. */
  receipt: unknown;
  /** The model file. */
  modelBytes: Uint8Array;
  /** The request inputs by name. */
  inputs: Record<string, Tensor>;
  /** Unix seconds; defaults to the current time. */
  now?: number;
  /** A session already created from `modelBytes` (saves decoding the model again). */
  session?: Session;
  sessionOptions?: SessionOptions;
}

const hex = (b: Uint8Array) => bytesToHex(b);

function errorDetail(e: unknown): string {
  if (e instanceof VerinferError) return `${e.code}: ${e.message}`;
  return `INTERNAL_ERROR: ${(e as Error)?.message ?? String(e)}`;
}

/**
 * The request inputs in graph input order: every graph input that was fed
 * (graph inputs backed by an initializer may be omitted and then take the
 * model's default). Unknown names and missing required inputs are errors.
 */
export function orderedInputs(session: Session, inputs: Record<string, Tensor>): Tensor[] {
  const g = session.model.graph;
  const declared = new Set(g.inputs.map((i) => i.name));
  for (const name of Object.keys(inputs)) {
    if (!declared.has(name)) {
      throw new InputError('UNKNOWN_INPUT', `the model has no input named ${name}`, { input: name, expected: session.inputs.map((i) => i.name) });
    }
  }
  const list: Tensor[] = [];
  for (const info of g.inputs) {
    const t = inputs[info.name];
    if (t) list.push(t);
    else if (!g.initializers.has(info.name)) {
      throw new InputError('MISSING_INPUT', `missing input ${info.name}`, { input: info.name, expected: session.inputs.map((i) => i.name) });
    }
  }
  return list;
}

/** Digest of the request inputs in graph input order (what a receipt's `input` commits to). */
export function inputDigest(session: Session, inputs: Record<string, Tensor>): Uint8Array {
  return tensorListDigest(orderedInputs(session, inputs));
}

/**
 * Verifies a receipt offline from the model bytes and the inputs, by
 * re-executing the model (without trace for a lazy receipt, whose output is
 * all it signs). Never throws for a failed check (each is reported);
 * `valid` requires all checks. Expiry is reported separately in `expired` and
 * does not affect `valid`.
 */
export async function verifyReceipt(options: VerifyOptions): Promise<VerifyResult> {
  const checks: VerifyCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  let receipt: Receipt;
  try {
    receipt = parseReceipt(options.receipt);
    add('schema', true, receipt.schema);
  } catch (e) {
    add('schema', false, errorDetail(e) + (e instanceof VerinferError && e.details.path ? ` (at ${e.details.path})` : ''));
    return { valid: false, expired: false, checks };
  }
  const m = receipt.typedData.message;

  try {
    const signer = await recoverReceiptSigner(receipt);
    add(
      'signature',
      signer.toLowerCase() === m.executor.toLowerCase(),
      signer.toLowerCase() === m.executor.toLowerCase() ? `signed by executor ${m.executor}` : `signed by ${signer}, not by executor ${m.executor}`,
    );
  } catch (e) {
    add('signature', false, `cannot recover the signer: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`);
  }

  const cid = await modelCid(options.modelBytes);
  const cidOk = hex(cid.digest) === m.model && cid.cid === receipt.modelCid;
  add(
    'model',
    cidOk,
    cidOk
      ? `model ${cid.cid}`
      : `model bytes are ${cid.cid} (digest ${hex(cid.digest)}); receipt names ${receipt.modelCid} and signs digest ${m.model}`,
  );

  add(
    'semantics',
    m.semantics === SEMANTICS_VERSION,
    m.semantics === SEMANTICS_VERSION ? m.semantics : `receipt uses ${JSON.stringify(m.semantics)}, this engine implements ${SEMANTICS_VERSION}`,
  );

  let session: Session | undefined = options.session;
  let loadError: unknown;
  if (!session) {
    try {
      session = createSession(options.modelBytes, options.sessionOptions);
    } catch (e) {
      loadError = e;
    }
  }

  if (!session) {
    const d = `cannot load the model: ${errorDetail(loadError)}`;
    add('input', false, d);
    add('output', false, d);
    add('traceRoot', false, d);
  } else {
    try {
      const digest = hex(inputDigest(session, options.inputs));
      add('input', digest === m.input, digest === m.input ? digest : `inputs digest to ${digest}, receipt signs ${m.input}`);
    } catch (e) {
      add('input', false, errorDetail(e));
    }
    let result: RunResult | undefined;
    const lazy = isLazyReceipt(receipt);
    try {
      result = session.run(options.inputs, { trace: !lazy });
    } catch (e) {
      const d = `re-execution failed: ${errorDetail(e)}`;
      add('output', false, d);
      add('traceRoot', false, d);
    }
    if (result) {
      const out = hex(tensorListDigest(result.outputList));
      add('output', out === m.output, out === m.output ? out : `re-execution gives ${out}, receipt signs ${m.output}`);
      if (lazy) add('traceRoot', true, `lazy: committed on demand (the all-zero trace root ${LAZY_TRACE_ROOT.slice(0, 6)}…; a dispute asks the executor for a signed trace commitment)`);
      else {
        const root = hex(result.trace!.root);
        add('traceRoot', root === m.traceRoot, root === m.traceRoot ? root : `re-execution gives ${root}, receipt signs ${m.traceRoot}`);
      }
    }
  }

  const now = options.now ?? Math.floor(Date.now() / 1000);
  return { valid: checks.every((c) => c.ok), expired: now > m.expiresAt, checks };
}

export interface CreateReceiptOptions {
  modelBytes: Uint8Array;
  /** A session created from `modelBytes`; created here if omitted. */
  session?: Session;
  inputs: Record<string, Tensor>;
  account: ReceiptSigner;
  /** Default 31337 (the local development chain). */
  chainId?: number;
  /** 0x + 64 hex digits; default 32 random bytes from `crypto.getRandomValues`. */
  requestId?: `0x${string}`;
  /** Default one day. */
  ttlSeconds?: number;
  /** Unix seconds of issuance; defaults to the current time. */
  now?: number;
  /**
   * 'eager' (default): run with trace and sign its root. 'lazy': run without
   * trace and sign the all-zero root; the executor must keep the inputs to
   * commit to a trace when a dispute asks (commitment.ts).
   */
  trace?: 'eager' | 'lazy';
}

export const DEFAULT_CHAIN_ID = 31337;
export const DEFAULT_RECEIPT_TTL_SECONDS = 24 * 60 * 60;

/** Runs the model with trace (or without, `trace: 'lazy'`) and signs a receipt for the result. */
export async function createReceipt(
  options: CreateReceiptOptions,
): Promise<{ receipt: Receipt; outputs: Record<string, Tensor>; result: RunResult }> {
  const session = options.session ?? createSession(options.modelBytes);
  const cid = await modelCid(options.modelBytes);
  const input = hex(inputDigest(session, options.inputs));
  const lazy = options.trace === 'lazy';
  if (options.trace !== undefined && !lazy && options.trace !== 'eager') throw new VerinferError('INVALID_ARGUMENT', `trace must be 'eager' or 'lazy', got ${JSON.stringify(options.trace)}`, { trace: options.trace });
  const result = session.run(options.inputs, { trace: !lazy });
  const issuedAt = options.now ?? Math.floor(Date.now() / 1000);
  const ttl = options.ttlSeconds ?? DEFAULT_RECEIPT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 0) throw new VerinferError('INVALID_ARGUMENT', `ttlSeconds must be a non-negative integer, got ${ttl}`, { ttlSeconds: ttl });
  const receipt = await signReceipt(
    {
      modelCid: cid.cid,
      chainId: options.chainId ?? DEFAULT_CHAIN_ID,
      message: {
        model: hex(cid.digest),
        input,
        output: hex(tensorListDigest(result.outputList)),
        traceRoot: lazy ? LAZY_TRACE_ROOT : hex(result.trace!.root),
        semantics: SEMANTICS_VERSION,
        requestId: options.requestId ?? hex(crypto.getRandomValues(new Uint8Array(32))),
        issuedAt,
        expiresAt: issuedAt + ttl,
      },
    },
    options.account,
  );
  return { receipt, outputs: result.outputs, result };
}
