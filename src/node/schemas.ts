import { z } from 'zod';
import { HttpError } from './http-errors.js';

/** zod schemas of every request body and query (docs/node-api.md). Unknown fields are refused. */

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, '0x followed by 64 hex digits');

export const inferBody = z.strictObject({
  model: z.string().min(1).max(512),
  inputs: z.record(z.string(), z.unknown()),
  mode: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a mode name such as none, replicated, optimistic')
    .default('none'),
  quorum: z.int().min(1).max(64).optional(),
  requestId: hex32.optional(),
  /** Mode-specific options, validated by the mode. */
  options: z.record(z.string(), z.unknown()).optional(),
});

export const verifyBody = z.strictObject({
  receipt: z.record(z.string(), z.unknown()),
  inputs: z.record(z.string(), z.unknown()),
});

export const disputeQuery = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('open'), lo: z.int().nonnegative(), hi: z.int().positive() }),
  z.strictObject({ type: z.literal('leaf'), index: z.int().nonnegative() }),
  z.strictObject({ type: z.literal('commit') }),
]);

/** A fraud proof's outer shape; `verifyFraudProof` checks the rest and decides. */
export const fraudProofBody = z.looseObject({
  schema: z.string(),
  kind: z.string(),
  receipt: z.unknown(),
});

export const publishQuery = z.strictObject({
  name: z.string().min(1).max(256),
  version: z.string().min(1).max(64).optional(),
  task: z.string().max(256).optional(),
  license: z.string().max(256).optional(),
  description: z.string().max(128 * 1024).optional(),
  tag: z.union([z.string(), z.array(z.string())]).optional(),
});

export const listQuery = z.strictObject({
  tag: z.string().max(256).optional(),
  task: z.string().max(256).optional(),
  search: z.string().max(256).optional(),
});

export const receiptQuery = z.strictObject({
  inputs: z.enum(['0', '1', 'true', 'false']).optional(),
});

/** Parses with a schema; INVALID_REQUEST (400) naming every issue otherwise. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message, code: i.code }));
  const first = issues[0]!;
  throw new HttpError('INVALID_REQUEST', `${what}: ${first.path ? `${first.path}: ` : ''}${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`, {
    issues,
  });
}
