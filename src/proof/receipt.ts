import { CID } from 'multiformats/cid';
import { getAddress, hashTypedData, recoverTypedDataAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { z } from 'zod';
import { VerinferError } from '../errors.js';

/**
 * Receipts (DESIGN.md, "Objects that cross the wire"): what an executor signs,
 * as EIP-712 typed data with a secp256k1 Ethereum key, so that a contract can
 * check it with `ecrecover`.
 *
 * The JSON form is exactly what `eth_signTypedData_v4` takes under `typedData`
 * (domain, types including `EIP712Domain`, primaryType, message), plus the
 * schema version, the model CID string (outside the signature; the signed
 * message holds its sha2-256 digest) and the 65-byte signature `r || s || v`.
 *
 * Integers (`chainId`, `issuedAt`, `expiresAt`) are JSON numbers: `JSON.stringify`
 * works without a replacer and MetaMask's eth-sig-util, ethers and viem all accept
 * numbers for `uint` fields. They are limited to `Number.MAX_SAFE_INTEGER`
 * (2^53 - 1 seconds is ~285 million years, far inside uint64).
 */
export const RECEIPT_SCHEMA = 'verinfer-receipt/1';

export const RECEIPT_DOMAIN_NAME = 'Verinfer';
export const RECEIPT_DOMAIN_VERSION = '1';

/** The EIP-712 types of a receipt (without `EIP712Domain`, as viem takes them). */
export const types = {
  Receipt: [
    { name: 'model', type: 'bytes32' },
    { name: 'input', type: 'bytes32' },
    { name: 'output', type: 'bytes32' },
    { name: 'traceRoot', type: 'bytes32' },
    { name: 'semantics', type: 'string' },
    { name: 'requestId', type: 'bytes32' },
    { name: 'executor', type: 'address' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

/** `EIP712Domain` for the domain `{ name, version, chainId }` (no verifyingContract yet). */
export const domainTypes = {
  EIP712Domain: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
  ],
} as const;

/** The types as they appear in the JSON form (eth_signTypedData_v4 includes `EIP712Domain`). */
export const typesWithDomain = { ...domainTypes, ...types } as const;

/** The signed message. bytes32 values are 0x-prefixed lowercase hex; times are unix seconds. */
export interface ReceiptMessage {
  /** sha2-256 digest of the model's CID (`modelCid(bytes).digest`). */
  model: Hex;
  /** `tensorListDigest` of the request inputs in graph input order. */
  input: Hex;
  /** `tensorListDigest` of the outputs in graph output order. */
  output: Hex;
  /** Root of the execution trace. */
  traceRoot: Hex;
  /** The engine's semantics version (`SEMANTICS_VERSION`). */
  semantics: string;
  requestId: Hex;
  executor: Address;
  issuedAt: number;
  expiresAt: number;
}

export interface ReceiptDomain {
  name: typeof RECEIPT_DOMAIN_NAME;
  version: typeof RECEIPT_DOMAIN_VERSION;
  chainId: number;
}

export interface ReceiptTypedData {
  domain: ReceiptDomain;
  types: typeof typesWithDomain;
  primaryType: 'Receipt';
  message: ReceiptMessage;
}

/** The JSON form of a receipt (schema `verinfer-receipt/1`). */
export interface Receipt {
  schema: typeof RECEIPT_SCHEMA;
  modelCid: string;
  typedData: ReceiptTypedData;
  signature: Hex;
}

/** What `signReceipt` takes: the message (executor defaults to the signing account), chain and model CID. */
export interface ReceiptFields {
  modelCid: string;
  chainId: number;
  message: Omit<ReceiptMessage, 'executor'> & { executor?: Address };
}

/** An account able to sign typed data, e.g. viem's `privateKeyToAccount(pk)`. */
export type ReceiptSigner = Pick<LocalAccount, 'address' | 'signTypedData'>;

/** The EIP-712 typed data of a receipt message on a chain. */
export function receiptTypedData(message: ReceiptMessage, chainId: number): ReceiptTypedData {
  return {
    domain: { name: RECEIPT_DOMAIN_NAME, version: RECEIPT_DOMAIN_VERSION, chainId },
    types: typesWithDomain,
    primaryType: 'Receipt',
    message: { ...message },
  };
}

/** viem's view of the typed data (it derives `EIP712Domain` from the domain itself). */
function viemTypedData(td: ReceiptTypedData) {
  const m = td.message;
  return {
    domain: td.domain,
    types,
    primaryType: 'Receipt' as const,
    message: { ...m, issuedAt: BigInt(m.issuedAt), expiresAt: BigInt(m.expiresAt) },
  };
}

/** The EIP-712 digest `keccak256(0x1901 || domainSeparator || hashStruct(message))` that is signed. */
export function receiptDigest(td: ReceiptTypedData): Hex {
  return hashTypedData(viemTypedData(td));
}

/** Signs a receipt. The returned object is the JSON form (pass it to `JSON.stringify`). */
export async function signReceipt(fields: ReceiptFields, account: ReceiptSigner): Promise<Receipt> {
  const message: ReceiptMessage = { ...fields.message, executor: fields.message.executor ?? account.address };
  // Validate and normalize before signing, so that we never sign something parseReceipt would reject.
  const draft = parseReceipt({
    schema: RECEIPT_SCHEMA,
    modelCid: fields.modelCid,
    typedData: receiptTypedData(message, fields.chainId),
    signature: ('0x' + '00'.repeat(64) + '1b') as Hex, // placeholder, replaced below
  });
  const signature = await account.signTypedData(viemTypedData(draft.typedData));
  return { ...draft, signature: signature.toLowerCase() as Hex };
}

/** The address whose key signed the receipt (not necessarily `message.executor`). */
export async function recoverReceiptSigner(receipt: Receipt): Promise<Address> {
  return recoverTypedDataAddress({ ...viemTypedData(receipt.typedData), signature: receipt.signature });
}

// ---------------------------------------------------------------------------
// Validation

const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x followed by 64 hex digits (32 bytes)')
  .transform((s) => s.toLowerCase() as Hex);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address: 0x followed by 40 hex digits')
  .transform((s) => getAddress(s.toLowerCase()));
/** secp256k1 group order / 2: signatures must have a low `s` (EIP-2), as OpenZeppelin's ECDSA requires. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const signature = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte signature: 0x followed by 130 hex digits (r || s || v)')
  .transform((s) => s.toLowerCase() as Hex)
  .refine((s) => BigInt('0x' + s.slice(66, 130)) <= HALF_N, 'signature s must be in the lower half of the curve order (EIP-2)')
  .refine((s) => s.endsWith('1b') || s.endsWith('1c'), 'signature v must be 27 (0x1b) or 28 (0x1c)');
const uint = (max: number) => z.number().int().min(0).max(max);
const cidString = z.string().superRefine((s, ctx) => {
  try {
    const cid = CID.parse(s);
    if (cid.version !== 1) ctx.addIssue({ code: 'custom', message: 'expected a CIDv1' });
    else if (cid.multihash.code !== 0x12 || cid.multihash.digest.length !== 32) ctx.addIssue({ code: 'custom', message: 'expected a sha2-256 CID' });
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `not a CID: ${(e as Error).message}` });
  }
});

function typeList(fields: readonly { name: string; type: string }[]) {
  return z.tuple(fields.map((f) => z.strictObject({ name: z.literal(f.name), type: z.literal(f.type) })) as unknown as [z.ZodType, ...z.ZodType[]]);
}

const receiptSchema = z.strictObject({
  schema: z.literal(RECEIPT_SCHEMA),
  modelCid: cidString,
  typedData: z.strictObject({
    domain: z.strictObject({
      name: z.literal(RECEIPT_DOMAIN_NAME),
      version: z.literal(RECEIPT_DOMAIN_VERSION),
      chainId: uint(Number.MAX_SAFE_INTEGER),
    }),
    types: z.strictObject({
      EIP712Domain: typeList(domainTypes.EIP712Domain),
      Receipt: typeList(types.Receipt),
    }),
    primaryType: z.literal('Receipt'),
    message: z.strictObject({
      model: hex32,
      input: hex32,
      output: hex32,
      traceRoot: hex32,
      semantics: z.string().min(1).max(256),
      requestId: hex32,
      executor: address,
      issuedAt: uint(Number.MAX_SAFE_INTEGER),
      expiresAt: uint(Number.MAX_SAFE_INTEGER),
    }),
  }),
  signature,
});

/**
 * Validates a receipt's JSON form (already `JSON.parse`d). Every field is
 * checked: schema string, CID, hex lengths, address (any letter case; returned
 * checksummed), integer ranges, the exact EIP-712 types and primaryType; no
 * unknown fields. bytes32 values and the signature are returned in lowercase.
 * Throws `VerinferError('RECEIPT_INVALID')` with `details.path` (e.g.
 * `"typedData.message.input"`) naming the first offending field.
 */
export function parseReceipt(json: unknown): Receipt {
  const r = receiptSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    const where = path === '' ? 'receipt' : path;
    throw new VerinferError('RECEIPT_INVALID', `invalid receipt: ${where}: ${issue.message}`, {
      path: where,
      issues: r.error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    });
  }
  return r.data as unknown as Receipt;
}
