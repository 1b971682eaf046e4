import { mkdir, open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VerinferError } from '../errors.js';
import type { SignedTraceCommitment } from '../proof/commitment.js';
import type { Receipt } from '../proof/receipt.js';
import type { Hex } from '../proof/wire.js';
import { errCode, writeFileAtomic } from '../store/fsutil.js';
import type { TensorJson } from '../tensor/json.js';
import { HttpError } from './http-errors.js';

/**
 * The node's durable records (README.md, "Data layout"): every receipt it
 * issued (or watched) with what it needs to answer disputes later, and an
 * append-only log of the checks it ran. A record is on disk (temp file →
 * fsync → rename → fsync of the folder) before the node answers the request
 * that created it, so a restart loses nothing the node acknowledged.
 */

export const RECORD_SCHEMA = 'verinfer-receipt-record/1';

/** `final`: mode none, or an optimistic receipt whose window passed; `pending`: optimistic, window open; `failed`: a fraud proof against it was accepted. */
export type ReceiptStatus = 'pending' | 'final' | 'failed' | 'verified';

export interface ReceiptRecord {
  schema: typeof RECORD_SCHEMA;
  /** 0x + 64 lowercase hex: the receipt's request id. */
  requestId: Hex;
  status: ReceiptStatus;
  /** The verification mode of the request that produced it. */
  mode: string;
  /** 'executor': this node signed it; 'watcher': another node's receipt this node watches. */
  role: 'executor' | 'watcher';
  modelCid: string;
  /** The model reference the request named (name, name@version or CID). */
  modelRef?: string;
  /** `tensorListDigest` of the request inputs (= receipt.typedData.message.input). */
  inputDigest: Hex;
  receipt: Receipt;
  /**
   * The committed trace leaves (hex), one per graph node: what dispute answers
   * are computed from. Empty for a lazy receipt until a dispute asks for a
   * commitment; then the re-execution's leaves are stored here.
   */
  leaves: Hex[];
  /** 'lazy': the receipt's trace root is all-zero; disputes start with 'commit' (answered from `inputs`). */
  trace?: 'lazy';
  /** Lazy receipts: the signed trace commitment, once a dispute asked for it (always the same answer). */
  commitment?: SignedTraceCommitment;
  /** The request inputs (public JSON form), kept when small (≤ 1 MiB) so a watcher can re-execute; always kept for a lazy receipt (to commit later). */
  inputs?: Record<string, TensorJson>;
  /** Unix ms. */
  createdAt: number;
  updatedAt: number;
  /** When the optimistic challenge window closes (unix ms). */
  finalizesAt?: number;
  /** Accepted fraud proofs against this receipt. */
  fraudProof?: unknown;
  /** Extra fields a mode wants to keep (replicated quorum, watcher results...). */
  extra?: Record<string, unknown>;
  /** Byzantine nodes only: what the strategy needs later (see byzantine.ts). */
  byzantine?: { strategy: string; answerLeaves?: Hex[] };
}

export interface CheckRecord {
  /** 'verify' (POST /v1/verify), 'fraud-proof' (POST /v1/fraud-proofs), or a mode's own kinds ('watch', 'replica'...). */
  kind: string;
  at: number;
  [k: string]: unknown;
}

const ID = /^0x[0-9a-f]{64}$/;

export function normalizeRequestId(id: string): Hex {
  const lower = String(id).toLowerCase();
  if (!ID.test(lower)) throw new HttpError('INVALID_REQUEST', `request id must be 0x followed by 64 hex digits, got ${JSON.stringify(String(id).slice(0, 80))}`, { requestId: id });
  return lower as Hex;
}

export class RecordStore {
  readonly dir: string;
  readonly receiptsDir: string;
  readonly tmpDir: string;
  readonly checksFile: string;
  private readonly cache = new Map<string, ReceiptRecord>();
  private appendChain: Promise<void> = Promise.resolve();
  private writeChains = new Map<string, Promise<void>>();
  private updateChains = new Map<string, Promise<void>>();
  private readonly creating = new Set<string>();

  constructor(nodeDir: string) {
    this.dir = nodeDir;
    this.receiptsDir = join(nodeDir, 'receipts');
    this.tmpDir = join(nodeDir, 'tmp');
    this.checksFile = join(nodeDir, 'checks.jsonl');
  }

  async init(): Promise<void> {
    await mkdir(this.receiptsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  private file(id: Hex): string {
    return `${id.slice(2)}.json`;
  }

  /** Writes (creates or replaces) a record durably. Writes of one id are serialized. */
  async put(record: ReceiptRecord): Promise<void> {
    const id = normalizeRequestId(record.requestId);
    const prev = this.writeChains.get(id) ?? Promise.resolve();
    const next = prev.then(() => writeFileAtomic(this.tmpDir, this.receiptsDir, this.file(id), JSON.stringify(record) + '\n'));
    this.writeChains.set(id, next.catch(() => {}));
    await next;
    this.remember(record);
    if (this.writeChains.get(id) === next) this.writeChains.delete(id);
  }

  /** Creates a record; INVALID_REQUEST (400) if one with this request id exists or is being created. */
  async create(record: ReceiptRecord): Promise<void> {
    const id = normalizeRequestId(record.requestId);
    if (this.creating.has(id) || (await this.get(id))) {
      throw new HttpError('INVALID_REQUEST', `request id ${record.requestId} is already used by a receipt of this node`, { requestId: record.requestId });
    }
    this.creating.add(id);
    try {
      await this.put(record);
    } finally {
      this.creating.delete(id);
    }
  }

  private remember(r: ReceiptRecord): void {
    this.cache.delete(r.requestId);
    this.cache.set(r.requestId, r);
    while (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value!);
  }

  async get(requestId: string): Promise<ReceiptRecord | undefined> {
    const id = normalizeRequestId(requestId);
    const hit = this.cache.get(id);
    if (hit) return hit;
    let text: string;
    try {
      text = await readFile(join(this.receiptsDir, this.file(id)), 'utf8');
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      throw new VerinferError('STORE_IO', `cannot read receipt record ${id}: ${errCode(e) ?? (e as Error).message}`, { requestId: id });
    }
    const r = JSON.parse(text) as ReceiptRecord;
    this.remember(r);
    return r;
  }

  async require(requestId: string): Promise<ReceiptRecord> {
    const r = await this.get(requestId);
    if (!r) throw new HttpError('RECEIPT_NOT_FOUND', `this node has no receipt with request id ${requestId}`, { requestId });
    return r;
  }

  /**
   * Applies `fn` to the stored record and writes the result durably. Updates
   * of one id run one after another (read-modify-write is atomic per id), so
   * e.g. a fraud proof marking a receipt failed and the sweeper closing its
   * window cannot overwrite each other.
   */
  async update(requestId: string, fn: (r: ReceiptRecord) => ReceiptRecord | void): Promise<ReceiptRecord> {
    const id = normalizeRequestId(requestId);
    const run = async () => {
      const r = await this.require(id);
      const copy = structuredClone(r);
      const next = fn(copy) ?? copy;
      next.updatedAt = Date.now();
      await this.put(next);
      return next;
    };
    const prev = this.updateChains.get(id) ?? Promise.resolve();
    const p = prev.then(run, run);
    const tail = p.then(
      () => {},
      () => {},
    );
    this.updateChains.set(id, tail);
    try {
      return await p;
    } finally {
      if (this.updateChains.get(id) === tail) this.updateChains.delete(id);
    }
  }

  /** Request ids of every stored record (unordered). */
  async ids(): Promise<Hex[]> {
    const names = await readdir(this.receiptsDir).catch(() => [] as string[]);
    return names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).map((n) => `0x${n.slice(0, 64)}` as Hex);
  }

  /** Appends one line to checks.jsonl and fsyncs it before returning. */
  appendCheck(check: CheckRecord): Promise<void> {
    const line = JSON.stringify(check) + '\n';
    const run = async () => {
      const fh = await open(this.checksFile, 'a', 0o600);
      try {
        await fh.write(line);
        await fh.sync();
      } finally {
        await fh.close();
      }
    };
    const p = this.appendChain.then(run, run);
    this.appendChain = p.catch(() => {});
    return p;
  }

  /** The check log, oldest first (a torn last line after a crash is skipped). */
  async checks(): Promise<CheckRecord[]> {
    let text = '';
    try {
      text = await readFile(this.checksFile, 'utf8');
    } catch (e) {
      if (errCode(e) === 'ENOENT') return [];
      throw e;
    }
    const out: CheckRecord[] = [];
    for (const l of text.split('\n')) {
      if (!l) continue;
      try {
        out.push(JSON.parse(l) as CheckRecord);
      } catch {
        /* torn write */
      }
    }
    return out;
  }
}
