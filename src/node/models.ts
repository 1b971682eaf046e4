import { createSession, type Session } from '../engine/session.js';
import { VerinferError } from '../errors.js';
import { modelCid } from '../hash/cid.js';
import { toCid } from '../store/blockstore.js';
import { analyzeModel, type IoValue } from '../store/report.js';
import type { ListFilter, ListResult, ModelStore, PublishOptions, PublishResult } from '../store/store.js';
import type { ModelMetadata } from '../store/metadata.js';

/** A model ready to run: its bytes, CID (and the digest receipts sign), a session and its cost estimate. */
export interface LoadedModel {
  cid: string;
  /** sha2-256 digest of the CID (what a receipt's `model` field holds). */
  digest: Uint8Array;
  bytes: Uint8Array;
  session: Session;
  /** FLOPs estimate at batch 1 (store report), null if unknown. */
  flops: number | null;
  inputs: IoValue[];
  outputs: IoValue[];
  /** The metadata that named it, when the reference was a name. */
  metadata?: ModelMetadata;
}

/**
 * Fetches a model DAG by CID from peers and pins it (verified block by block).
 * Resolves when the store holds it; throws when no peer could provide it.
 */
export type ModelFetcher = (cid: string) => Promise<void>;

/**
 * The models a node can run: the store plus an LRU cache of decoded sessions
 * by CID, and (optionally) fetching missing CIDs from peers.
 */
export class ModelService {
  private readonly cache = new Map<string, Promise<LoadedModel>>();
  /** Set by the node once peers are known. */
  fetcher?: ModelFetcher;

  constructor(
    readonly store: ModelStore,
    private readonly cacheSize = 16,
    private readonly maxTensorBytes?: number,
  ) {}

  /** Resolves a name, name@version or CID to a CID (MODEL_NOT_FOUND, INVALID_CID, METADATA_INVALID). */
  async resolve(ref: string): Promise<{ cid: string; metadata?: ModelMetadata }> {
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 512) {
      throw new VerinferError('INVALID_REQUEST', 'model must be a name, name@version or CID', { model: String(ref).slice(0, 80) });
    }
    try {
      return await this.store.resolve(ref);
    } catch (e) {
      if (e instanceof VerinferError && e.code === 'INVALID_ARGUMENT') {
        // a malformed name or version: for the API that is an unknown model
        throw new VerinferError('MODEL_NOT_FOUND', `no model ${JSON.stringify(ref)}: ${e.message}`, { model: ref });
      }
      throw e;
    }
  }

  /** True when the store can read the model now (pinned). */
  async has(cid: string): Promise<boolean> {
    try {
      return await this.store.isPinned(cid);
    } catch {
      return false;
    }
  }

  /** Loads a model by reference; a CID the store lacks is fetched from peers (verified) when a fetcher is set. */
  async load(ref: string): Promise<LoadedModel> {
    const { cid, metadata } = await this.resolve(ref);
    const hit = this.cache.get(cid);
    if (hit) {
      this.cache.delete(cid);
      this.cache.set(cid, hit);
      const m = await hit;
      return metadata && !m.metadata ? { ...m, metadata } : m;
    }
    const p = this.open(cid, metadata);
    this.cache.set(cid, p);
    p.catch(() => this.cache.delete(cid));
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  private async open(cid: string, metadata?: ModelMetadata): Promise<LoadedModel> {
    if (!(await this.has(cid))) {
      if (!this.fetcher) throw new VerinferError('MODEL_NOT_FOUND', `model ${cid} is not in this node's store`, { cid });
      await this.fetcher(cid);
    }
    const bytes = await this.store.readModel(cid);
    const { digest } = await modelCid(bytes);
    const session = createSession(bytes, { maxTensorBytes: this.maxTensorBytes });
    let report = metadata?.report;
    if (!report) {
      const named = await this.store.versionsNaming(cid).catch(() => [] as ModelMetadata[]);
      report = named[named.length - 1]?.report;
      metadata = undefined;
    }
    if (!report) report = analyzeModel(bytes, { maxTensorBytes: this.maxTensorBytes }).report;
    return { cid, digest, bytes, session, flops: report.flops, inputs: report.inputs, outputs: report.outputs, metadata };
  }

  /** A model's bytes (for verification): from the cache or the store, fetched from peers if missing. */
  async bytes(cid: string): Promise<{ bytes: Uint8Array; session?: Session }> {
    const m = await this.load(cid);
    return { bytes: m.bytes, session: m.session };
  }

  publish(bytes: Uint8Array, options: PublishOptions): Promise<PublishResult> {
    return this.store.publish(bytes, options);
  }

  list(filter: ListFilter): Promise<ListResult> {
    return this.store.list(filter);
  }

  /** One model as `verinfer model --json` shows it. */
  async info(ref: string): Promise<Record<string, unknown>> {
    const { cid, metadata } = await this.resolve(ref);
    const pin = await this.store.pinInfo(cid);
    const versions = metadata ? await this.store.versions(metadata.name) : [];
    const namedBy = metadata ? [] : (await this.store.versionsNaming(cid)).map((m) => `${m.name}@${m.version}`);
    if (!metadata && !pin && namedBy.length === 0) throw new VerinferError('MODEL_NOT_FOUND', `model ${cid} is not in this node's store`, { cid });
    return { cid, pinned: !!pin, pin: pin ?? null, versions, namedBy, metadata: metadata ?? null };
  }

  /** Pinned model CIDs (what this node hosts and announces). */
  async hosted(): Promise<string[]> {
    return (await this.store.pins()).map((p) => p.cid);
  }

  /** Normalizes a CID string (CIDv1 base32), INVALID_CID otherwise. */
  static normalizeCid(cid: string): string {
    return toCid(cid).toString();
  }
}
