import { z } from 'zod';
import { sha256 } from '../../hash/sha256.js';
import { parseReceipt, recoverReceiptSigner, type Receipt } from '../../proof/receipt.js';
import { inputDigest } from '../../proof/verify.js';
import { fromHex, toHexBytes, type Hex } from '../../proof/wire.js';
import { tensorToJson } from '../../tensor/json.js';
import { HttpError } from '../http-errors.js';
import { RECORD_INPUTS_MAX_ELEMENTS } from '../inference.js';
import { RECORD_SCHEMA, type ReceiptRecord, type ReceiptStatus } from '../records.js';
import { getJson } from '../remote.js';
import { challengeExecutor, checkReceipt, errMessage, honestRunInSlot, inputsFromJson, runMatches, type ModesHost } from './host.js';
import type { ReceiptAnnouncement, Sweeper } from './optimistic.js';

/**
 * The watcher (README.md in this folder): takes receipt announcements
 * (POST /v1/receipts/announce), keeps a `watcher` record of each valid one
 * (pending until the executor's window closes), re-executes a sample of them
 * and challenges the wrong ones through the bisection game over HTTP.
 *
 * Sampling is deterministic and private: a receipt is checked when
 * u32be(SHA-256(seed || requestId)[0..4]) / 2^32 < watchRate, where seed =
 * SHA-256 of this node's signature over "verinfer-watch-sampling/1". The same
 * watcher decides the same way on every re-announcement and after restarts,
 * and no one without its key can predict which receipts it checks.
 */

export const WATCH_SEED_MESSAGE = 'verinfer-watch-sampling/1';
/** A watcher record never stays pending longer than this after the announcement, whatever the announcer claims. */
export const MAX_WATCH_WINDOW_MS = 24 * 60 * 60 * 1000;

export const announceBody = z.strictObject({
  receipt: z.record(z.string(), z.unknown()),
  endpoint: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'an http(s) URL')
    .optional(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  finalizesAt: z.int().nonnegative().optional(),
});

export type WatchOutcome =
  | 'not-sampled'
  | 'queued'
  | 'checking'
  | 'agree'
  | 'fault'
  | 'unresolved'
  | 'busy'
  | 'inputs-unavailable'
  | 'inputs-mismatch'
  | 'error';

export interface WatchState {
  executor: string;
  endpoint?: string;
  /** The endpoint came from the executor's signed peer announcement (not only from the receipt announcement). */
  trustedEndpoint: boolean;
  sampled: boolean;
  outcome: WatchOutcome;
  reason?: string;
  code?: string;
  proofId?: string;
  checkedAt?: number;
}

export interface AnnounceResult {
  accepted: boolean;
  sampled: boolean;
  reason?: string;
  requestId?: Hex;
}

export class Watcher {
  private seed?: Uint8Array;
  /** Checks in flight (for tests and shutdown). */
  readonly running = new Set<Promise<void>>();

  constructor(
    private readonly host: ModesHost,
    private readonly sweeper: Sweeper,
  ) {}

  async init(): Promise<void> {
    const sig = await this.host.identity.account.signMessage({ message: WATCH_SEED_MESSAGE });
    this.seed = sha256(fromHex(sig, 'signature'));
  }

  /** Whether this watcher re-executes the receipt with this request id (see the class comment). */
  sampled(requestId: Hex): boolean {
    const rate = this.host.config.watchRate;
    if (rate >= 1) return true;
    if (rate <= 0 || !this.seed) return false;
    const h = sha256(this.seed, fromHex(requestId, 'requestId', 32));
    const x = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
    return x / 2 ** 32 < rate;
  }

  /** POST /v1/receipts/announce. Validates the receipt (RECEIPT_INVALID 400), records it, queues a check if sampled. */
  async onAnnounce(body: ReceiptAnnouncement): Promise<AnnounceResult> {
    let receipt: Receipt;
    try {
      receipt = parseReceipt(body.receipt);
    } catch (e) {
      throw new HttpError('RECEIPT_INVALID', errMessage(e).replace(/^RECEIPT_INVALID: /, ''), { field: 'receipt' });
    }
    const m = receipt.typedData.message;
    let signer: string;
    try {
      signer = await recoverReceiptSigner(receipt);
    } catch {
      signer = '';
    }
    if (signer.toLowerCase() !== m.executor.toLowerCase()) {
      throw new HttpError('RECEIPT_INVALID', `the receipt is not signed by its executor ${m.executor}`, { field: 'signature', executor: m.executor });
    }
    const requestId = m.requestId;
    if (m.executor.toLowerCase() === this.host.address.toLowerCase()) return { accepted: false, sampled: false, reason: 'this node issued the receipt', requestId };
    if (await this.host.records.get(requestId)) return { accepted: false, sampled: false, reason: 'this node already holds a receipt with this request id', requestId };

    const announced = this.host.peers.list().find((p) => p.address.toLowerCase() === m.executor.toLowerCase() && p.endpoint);
    const endpoint = announced?.endpoint ?? body.endpoint?.replace(/\/+$/, '');
    const sampled = this.sampled(requestId);
    const now = Date.now();
    const finalizesAt = Math.min(Math.max(body.finalizesAt ?? now + this.host.config.challengeWindowMs, now), now + MAX_WATCH_WINDOW_MS);
    const watch: WatchState = {
      executor: m.executor,
      endpoint,
      trustedEndpoint: !!announced,
      sampled,
      outcome: !sampled ? 'not-sampled' : endpoint ? 'queued' : 'inputs-unavailable',
      ...(sampled && !endpoint ? { reason: 'no endpoint is known for the executor' } : {}),
    };
    const record: ReceiptRecord = {
      schema: RECORD_SCHEMA,
      requestId,
      status: 'pending',
      mode: 'optimistic',
      role: 'watcher',
      modelCid: receipt.modelCid,
      inputDigest: m.input,
      receipt,
      // a watcher answers no disputes about someone else's receipt
      leaves: [],
      createdAt: now,
      updatedAt: now,
      finalizesAt,
      extra: { watch },
    };
    try {
      await this.host.records.create(record);
    } catch {
      return { accepted: false, sampled: false, reason: 'this node already holds a receipt with this request id', requestId };
    }
    this.sweeper.track(requestId, finalizesAt);
    this.host.metrics.verificationOutcomes.inc({ mode: 'optimistic', role: 'watcher', status: 'pending' });
    if (watch.outcome === 'queued') this.spawn(record, body.inputs);
    else if (sampled) this.host.metrics.verifications.inc({ kind: 'watch', outcome: watch.outcome });
    return { accepted: true, sampled, requestId };
  }

  /** Runs a check in the background (tracked in `running`). */
  spawn(record: ReceiptRecord, inputs?: Record<string, unknown>): void {
    const p = this.check(record, inputs).catch((e) => this.host.log.warn({ requestId: record.requestId, err: errMessage(e) }, 'watch check failed'));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async setWatch(id: Hex, patch: Partial<WatchState>, also?: (rec: ReceiptRecord) => void): Promise<void> {
    await this.host.records.update(id, (rec) => {
      rec.extra = { ...rec.extra, watch: { ...(rec.extra?.watch as WatchState), ...patch } };
      also?.(rec);
    });
  }

  /**
   * Re-executes a watched receipt honestly; if the result differs, challenges
   * the executor (fraud proof → submitted here and gossiped to every peer).
   */
  async check(record: ReceiptRecord, rawInputs?: Record<string, unknown>): Promise<void> {
    const { host } = this;
    const id = record.requestId;
    const w = record.extra?.watch as WatchState;
    const done = async (outcome: WatchOutcome, extra: Partial<WatchState> = {}, status?: ReceiptStatus, also?: (rec: ReceiptRecord) => void) => {
      host.metrics.verifications.inc({ kind: 'watch', outcome });
      await this.setWatch(id, { outcome, checkedAt: Date.now(), ...extra }, (rec) => {
        if (status && rec.status === 'pending') rec.status = status;
        also?.(rec);
      });
    };
    try {
      await this.setWatch(id, { outcome: 'checking' });
      const receipt = parseReceipt(record.receipt);
      const model = await host.models.load(receipt.modelCid);
      let raw = rawInputs;
      if (!raw && w.endpoint) {
        const g = await getJson<{ inputs?: Record<string, unknown> | null }>(`${w.endpoint}/v1/receipts/${id}?inputs=1`, { timeoutMs: 10_000 });
        raw = g?.inputs ?? undefined;
      }
      if (!raw) return await done('inputs-unavailable', { reason: 'the announcement carried no inputs and the executor does not serve them' });
      const inputs = inputsFromJson(model, raw, host.config.limits.maxElements);
      const input = toHexBytes(inputDigest(model.session, inputs));
      const valid = await checkReceipt(receipt, { model, input });
      if (!valid.ok) return await done('inputs-mismatch', { reason: valid.reason });
      const elements = Object.values(inputs).reduce((n, t) => n + t.size, 0);
      const keep = elements <= RECORD_INPUTS_MAX_ELEMENTS ? Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tensorToJson(t)])) : undefined;
      let run;
      try {
        run = await honestRunInSlot(host, model.session, inputs);
      } catch (e) {
        return await done('busy', { reason: errMessage(e) });
      }
      if (runMatches(run, receipt)) return await done('agree', {}, undefined, (rec) => keep && (rec.inputs = keep));
      host.log.warn({ requestId: id, executor: receipt.typedData.message.executor }, 'watched receipt differs from an honest run: challenging');
      const c = await challengeExecutor(host, { receipt, model, inputs, run, endpoint: w.endpoint!, trustedEndpoint: w.trustedEndpoint });
      if (c.outcome === 'fault') {
        const f = c.fault!;
        return await done('fault', { code: f.code, reason: f.reason, proofId: f.proofId }, 'failed', (rec) => {
          if (keep) rec.inputs = keep;
          if (f.fraudProof) rec.fraudProof = f.fraudProof;
        });
      }
      return await done(c.outcome === 'agree' ? 'agree' : 'unresolved', { reason: c.reason });
    } catch (e) {
      await done('error', { reason: errMessage(e) }).catch(() => {});
    }
  }
}
