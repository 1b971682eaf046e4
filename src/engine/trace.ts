import { merkleRootOfLeafHashes, leafHash } from '../hash/merkle.js';
import type { NodeIR } from '../onnx/model.js';
import { tensorDigest } from '../tensor/canonical.js';
import type { Tensor } from '../tensor/tensor.js';

const utf8 = new TextEncoder();
const ABSENT = new Uint8Array(32);

/** The op name a trace leaf records: bare for the default domain, `domain:op` otherwise. */
export function traceOpName(n: Pick<NodeIR, 'domain' | 'opType'>): string {
  return n.domain === '' ? n.opType : `${n.domain}:${n.opType}`;
}

/**
 * Trace leaf of DESIGN.md: u32le(i) || u8(len) || opType || u8(outputs) || output digests.
 * An omitted optional output (empty name) contributes 32 zero bytes.
 */
export function traceLeaf(index: number, node: Pick<NodeIR, 'domain' | 'opType'>, outputDigests: (Uint8Array | undefined)[]): Uint8Array {
  const op = utf8.encode(traceOpName(node));
  if (op.length > 255 || outputDigests.length > 255) throw new RangeError('op name or output count too long for a trace leaf');
  const leaf = new Uint8Array(4 + 1 + op.length + 1 + 32 * outputDigests.length);
  new DataView(leaf.buffer).setUint32(0, index, true);
  leaf[4] = op.length;
  leaf.set(op, 5);
  let off = 5 + op.length;
  leaf[off++] = outputDigests.length;
  for (const d of outputDigests) {
    leaf.set(d ?? ABSENT, off);
    off += 32;
  }
  return leaf;
}

/** Accumulates trace leaves as nodes run; the root is MTH over the leaves. */
export class TraceBuilder {
  readonly leaves: Uint8Array[] = [];
  readonly outputDigests: (Uint8Array | undefined)[][] = [];
  private readonly leafHashes: Uint8Array[] = [];

  add(index: number, node: Pick<NodeIR, 'domain' | 'opType'>, digests: (Uint8Array | undefined)[]): void {
    if (index !== this.leaves.length) throw new RangeError(`trace leaf ${index} added out of order`);
    const leaf = traceLeaf(index, node, digests);
    this.leaves.push(leaf);
    this.outputDigests.push(digests);
    this.leafHashes.push(leafHash(leaf));
  }

  root(): Uint8Array {
    return merkleRootOfLeafHashes(this.leafHashes);
  }
}

/** A tensor digest that may still be computing: call it for the 32 bytes. */
export type DigestHandle = () => Uint8Array;

/**
 * Where a traced run's output digests are computed (issue 7). `digest` must have read
 * or copied `t` before it returns (the engine may reuse the buffer for the next node);
 * the handle must give exactly tensorDigest(t). The default hashes right away; a
 * platform may hash on another thread while the next nodes compute
 * (src/platform/trace-hasher.ts).
 */
export interface TraceHasher {
  digest(t: Tensor): DigestHandle;
}

export const syncTraceHasher: TraceHasher = {
  digest(t) {
    const d = tensorDigest(t);
    return () => d;
  },
};

let traceHasher: TraceHasher = syncTraceHasher;

/** Installs a trace hasher (undefined: the synchronous default). */
export function setTraceHasher(h: TraceHasher | undefined): void {
  traceHasher = h ?? syncTraceHasher;
}

export function getTraceHasher(): TraceHasher {
  return traceHasher;
}

/** The trace of a run from, per node in order, its output digest handles (undefined: omitted output). */
export function buildTrace(nodes: readonly { node: NodeIR; digests: (DigestHandle | undefined)[] }[]): Trace {
  const b = new TraceBuilder();
  for (const { node, digests } of nodes) b.add(node.index, node, digests.map((h) => h?.()));
  return { leaves: b.leaves, outputDigests: b.outputDigests, root: b.root() };
}

export interface Trace {
  /** The leaf bytes, one per node in ONNX node order. */
  leaves: Uint8Array[];
  /** Per node, the digests of its outputs (undefined for an omitted optional output). */
  outputDigests: (Uint8Array | undefined)[][];
  root: Uint8Array;
}

export interface ParsedTraceLeaf {
  index: number;
  opName: string;
  outputDigests: Uint8Array[];
}

/** Parses a trace leaf; undefined when the bytes are not a well-formed leaf. */
export function parseTraceLeaf(leaf: Uint8Array): ParsedTraceLeaf | undefined {
  if (leaf.length < 6) return undefined;
  const index = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength).getUint32(0, true);
  const len = leaf[4]!;
  if (leaf.length < 6 + len) return undefined;
  const opName = new TextDecoder('utf-8', { fatal: false }).decode(leaf.subarray(5, 5 + len));
  const count = leaf[5 + len]!;
  const start = 6 + len;
  if (leaf.length !== start + 32 * count) return undefined;
  const outputDigests = Array.from({ length: count }, (_, i) => leaf.slice(start + 32 * i, start + 32 * (i + 1)));
  return { index, opName, outputDigests };
}
