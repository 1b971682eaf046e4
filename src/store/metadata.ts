import { getAddress, recoverTypedDataAddress, hashTypedData, type Address, type Hex, type LocalAccount } from 'viem';
import { z } from 'zod';
import { VerinferError } from '../errors.js';
import { sha256, toHex } from '../hash/sha256.js';
import type { IoSignature, ModelReport } from './report.js';
import { checkName, checkVersion } from './version.js';
import { toCid } from './blockstore.js';

/**
 * Model metadata: one signed JSON document per published version, like a hub
 * repository's model card. The publisher signs EIP-712 typed data (secp256k1,
 * the same account type as receipts) over the fields below; the document
 * carries the full description, the io signature, the report and the signature.
 *
 * Signed (`ModelVersion`): name, version, cid, descriptionHash (sha256 of the
 * UTF-8 Markdown), task, license, tags, author, publishedAt (unix seconds),
 * ioHash (sha256 of the canonical JSON of `io`). The `report` is NOT signed:
 * it is derived from the model bytes (re-derivable with `analyzeModel`).
 */
export const METADATA_SCHEMA = 'verinfer-model/1';
export const HUB_DOMAIN = { name: 'Verinfer Model Hub', version: '1' } as const;

export const modelVersionTypes = {
  ModelVersion: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'cid', type: 'string' },
    { name: 'descriptionHash', type: 'bytes32' },
    { name: 'task', type: 'string' },
    { name: 'license', type: 'string' },
    { name: 'tags', type: 'string[]' },
    { name: 'author', type: 'address' },
    { name: 'publishedAt', type: 'uint64' },
    { name: 'ioHash', type: 'bytes32' },
  ],
} as const;

export const MAX_DESCRIPTION_BYTES = 128 * 1024;

/** The signed message (JSON form: publishedAt is a number). */
export interface ModelVersionMessage {
  name: string;
  version: string;
  cid: string;
  descriptionHash: Hex;
  task: string;
  license: string;
  tags: string[];
  author: Address;
  publishedAt: number;
  ioHash: Hex;
}

/** The metadata document stored at `models/<name>/<version>.json`. */
export interface ModelMetadata extends ModelVersionMessage {
  schema: typeof METADATA_SCHEMA;
  description: string;
  io: IoSignature;
  report: ModelReport;
  signature: Hex;
}

/** JSON with object keys sorted recursively and no whitespace (what `ioHash` hashes). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const utf8 = new TextEncoder();
export const descriptionHash = (description: string): Hex => toHex(sha256(utf8.encode(description))) as Hex;
export const ioHash = (io: IoSignature): Hex => toHex(sha256(utf8.encode(canonicalJson(io)))) as Hex;

function viemTypedData(m: ModelVersionMessage) {
  return {
    domain: HUB_DOMAIN,
    types: modelVersionTypes,
    primaryType: 'ModelVersion' as const,
    message: { ...m, publishedAt: BigInt(m.publishedAt) },
  };
}

/** The EIP-712 typed data of a message, as `eth_signTypedData_v4` takes it. */
export function modelVersionTypedData(m: ModelVersionMessage) {
  return {
    domain: HUB_DOMAIN,
    types: { EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' }], ...modelVersionTypes },
    primaryType: 'ModelVersion' as const,
    message: m,
  };
}

export const modelVersionDigest = (m: ModelVersionMessage): Hex => hashTypedData(viemTypedData(m));

export function messageOf(doc: ModelMetadata): ModelVersionMessage {
  return {
    name: doc.name,
    version: doc.version,
    cid: doc.cid,
    descriptionHash: doc.descriptionHash,
    task: doc.task,
    license: doc.license,
    tags: doc.tags,
    author: doc.author,
    publishedAt: doc.publishedAt,
    ioHash: doc.ioHash,
  };
}

export interface MetadataFields {
  name: string;
  version: string;
  cid: string;
  description: string;
  task: string;
  license: string;
  tags: string[];
  publishedAt: number;
  io: IoSignature;
  report: ModelReport;
}

export type MetadataSigner = Pick<LocalAccount, 'address' | 'signTypedData'>;

/** Builds, validates and signs a metadata document. */
export async function signMetadata(fields: MetadataFields, account: MetadataSigner): Promise<ModelMetadata> {
  const draft: ModelMetadata = {
    schema: METADATA_SCHEMA,
    name: fields.name,
    version: fields.version,
    cid: fields.cid,
    descriptionHash: descriptionHash(fields.description),
    task: fields.task,
    license: fields.license,
    tags: normalizeTags(fields.tags),
    author: getAddress(account.address),
    publishedAt: fields.publishedAt,
    ioHash: ioHash(fields.io),
    description: fields.description,
    io: fields.io,
    report: fields.report,
    signature: ('0x' + '00'.repeat(64) + '1b') as Hex,
  };
  parseShape(draft); // never sign what parseMetadata would reject
  const signature = (await account.signTypedData(viemTypedData(messageOf(draft)))).toLowerCase() as Hex;
  return { ...draft, signature };
}

/** Lowercased, de-duplicated, sorted tags. */
export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))].sort();
}

// ---------------------------------------------------------------------------
// Validation

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'expected 0x followed by 64 lowercase hex digits');
const ioValue = z.strictObject({
  name: z.string(),
  dtype: z.string(),
  shape: z.array(z.union([z.number().int().min(0), z.string(), z.null()])).nullable(),
});
const ioSchema = z.strictObject({ inputs: z.array(ioValue), outputs: z.array(ioValue) });
const label = (what: string) =>
  z
    .string()
    .max(64)
    .regex(/^([a-z0-9][a-z0-9._:+-]*)?$/, `${what}: lowercase letters, digits and . _ : + - (or empty)`);
const licenseSchema = z.string().max(64).regex(/^([A-Za-z0-9][A-Za-z0-9._+() -]*)?$/, 'license: an SPDX identifier or expression (or empty)');

const metadataSchema = z.strictObject({
  schema: z.literal(METADATA_SCHEMA),
  name: z.string().superRefine((s, ctx) => {
    try {
      checkName(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  }),
  version: z.string().superRefine((s, ctx) => {
    try {
      checkVersion(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  }),
  cid: z.string().superRefine((s, ctx) => {
    try {
      if (toCid(s).toString() !== s) ctx.addIssue({ code: 'custom', message: 'expected a base32 CIDv1 string' });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  }),
  descriptionHash: hex32,
  task: label('task'),
  license: licenseSchema,
  tags: z.array(label('tag').min(1)).max(32),
  author: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected an address'),
  publishedAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ioHash: hex32,
  description: z.string().refine((s) => utf8.encode(s).length <= MAX_DESCRIPTION_BYTES, `description: at most ${MAX_DESCRIPTION_BYTES} bytes`),
  io: ioSchema,
  report: z.record(z.string(), z.unknown()),
  signature: z.string().regex(/^0x[0-9a-f]{130}$/, 'expected a 65-byte signature, lowercase hex'),
});

function invalid(message: string, details: Record<string, unknown>): VerinferError {
  return new VerinferError('METADATA_INVALID', message, details);
}

function parseShape(json: unknown): ModelMetadata {
  const r = metadataSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.') || 'metadata';
    throw invalid(`invalid model metadata: ${path}: ${issue.message}`, { path });
  }
  return r.data as unknown as ModelMetadata;
}

/**
 * Validates a metadata document and verifies it: its shape, the description
 * and io hashes, tags normalized, and the EIP-712 signature recovering to
 * `author`. Throws METADATA_INVALID naming what is wrong.
 */
export async function parseMetadata(json: unknown, where?: string): Promise<ModelMetadata> {
  const doc = parseShape(json);
  const at = where ? { file: where } : {};
  if (descriptionHash(doc.description) !== doc.descriptionHash) {
    throw invalid(`model metadata ${doc.name}@${doc.version}: the description does not match descriptionHash (tampered?)`, { ...at, field: 'description' });
  }
  if (ioHash(doc.io) !== doc.ioHash) {
    throw invalid(`model metadata ${doc.name}@${doc.version}: the io signature does not match ioHash (tampered?)`, { ...at, field: 'io' });
  }
  if (canonicalJson(normalizeTags(doc.tags)) !== canonicalJson(doc.tags)) {
    throw invalid(`model metadata ${doc.name}@${doc.version}: tags must be lowercase, unique and sorted`, { ...at, field: 'tags' });
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...viemTypedData(messageOf(doc)), signature: doc.signature });
  } catch (e) {
    throw invalid(`model metadata ${doc.name}@${doc.version}: bad signature: ${(e as Error).message}`, { ...at, field: 'signature' });
  }
  if (signer.toLowerCase() !== doc.author.toLowerCase()) {
    throw invalid(`model metadata ${doc.name}@${doc.version}: the signature is not the author's (signed by ${signer}, author ${doc.author}); the document was altered or forged`, {
      ...at,
      field: 'signature',
      signer,
      author: doc.author,
    });
  }
  return doc;
}
