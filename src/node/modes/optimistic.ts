import { z } from 'zod';
import type { Hex } from '../../proof/wire.js';
import type { ModeHandler } from '../inference.js';
import type { ReceiptRecord } from '../records.js';
import { postJson } from '../remote.js';
import { parse } from '../schemas.js';
import { errMessage, randomRequestId, type ModesHost } from './host.js';

/**
 * Mode `optimistic` (README.md in this folder has the exact rules): the node
 * runs the request, records the receipt `pending` until `now + challenge
 * window`, answers at once, and announces the receipt to its peers, whose
 * watchers re-execute a sample and challenge wrong ones. The sweeper turns
 * pending records `final` when their window closes without an accepted proof.
 */

/** Inputs up to this many elements travel inline in a receipt announcement; larger ones are fetched by watchers (GET /v1/receipts/:id?inputs=1). */
export const ANNOUNCE_INPUTS_MAX_ELEMENTS = 65_536;

export const optimisticOptions = z.strictObject({});

/** The body of POST /v1/receipts/announce. */
export interface ReceiptAnnouncement {
  receipt: unknown;
  /** The executor's API base URL (watchers prefer the one in the executor's signed peer announcement). */
  endpoint?: string;
  /** The request inputs in the public JSON form, when small. */
  inputs?: Record<string, unknown>;
  /** When the executor's challenge window closes (unix ms). */
  finalizesAt?: number;
}

export function optimisticMode(host: ModesHost, sweeper: Sweeper): ModeHandler {
  return async (req, ctx) => {
    parse(optimisticOptions, req.options ?? {}, 'options');
    const windowMs = host.config.challengeWindowMs;
    const finalizesAt = Date.now() + windowMs;
    const r = await ctx.service.execute(ctx.prepared.model, ctx.prepared.inputs, {
      deadline: ctx.prepared.deadline,
      mode: 'optimistic',
      modelRef: req.model,
      requestId: (req.requestId?.toLowerCase() as Hex | undefined) ?? randomRequestId(),
      status: 'pending',
      finalizesAt,
      extra: { challengeWindowMs: windowMs },
    });
    // the record is durable: only now may the window start counting and watchers hear of it
    const at = r.record.finalizesAt ?? finalizesAt;
    sweeper.track(r.record.requestId, at);
    host.metrics.verificationOutcomes.inc({ mode: 'optimistic', role: 'executor', status: 'pending' });
    void announceReceipt(host, r.record, ctx.prepared.elements <= ANNOUNCE_INPUTS_MAX_ELEMENTS);
    return ctx.service.response('pending', r, { finalizesAt: at, challengeWindowMs: windowMs });
  };
}

/** Sends a receipt announcement to every routable peer (not caught). Fire and forget; never throws. */
export async function announceReceipt(host: ModesHost, record: ReceiptRecord, withInputs: boolean): Promise<void> {
  const body: ReceiptAnnouncement = {
    receipt: record.receipt,
    endpoint: host.url,
    finalizesAt: record.finalizesAt,
    ...(withInputs && record.inputs ? { inputs: record.inputs } : {}),
  };
  const targets = host.peers.endpoints().filter((u) => u !== host.url);
  await Promise.all(
    targets.map((url) =>
      postJson(`${url}/v1/receipts/announce`, body, { timeoutMs: 5000 }).catch((e) =>
        host.log.debug({ url, err: errMessage(e), requestId: record.requestId }, 'receipt announcement failed'),
      ),
    ),
  );
}

/**
 * Closes challenge windows: every pending record with a `finalizesAt` is
 * tracked in memory; a timer turns each due one `final` (or `failed`, if a
 * fraud proof was attached meanwhile). `load()` rebuilds the table from disk
 * on start, so records whose window passed while the node was down are
 * finalised at once, and replicated requests cut short by a restart (still
 * `pending`, no window) are marked `failed`.
 */
export class Sweeper {
  private readonly due = new Map<Hex, number>();
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(private readonly host: ModesHost) {}

  track(requestId: Hex, finalizesAt: number): void {
    this.due.set(requestId, finalizesAt);
  }

  get tracked(): number {
    return this.due.size;
  }

  /** Scans every stored record; returns the watcher records whose sampled check never finished. */
  async load(): Promise<ReceiptRecord[]> {
    const resume: ReceiptRecord[] = [];
    for (const id of await this.host.records.ids()) {
      let r: ReceiptRecord | undefined;
      try {
        r = await this.host.records.get(id);
      } catch (e) {
        this.host.log.warn({ requestId: id, err: errMessage(e) }, 'unreadable receipt record');
        continue;
      }
      if (!r || r.status !== 'pending') continue;
      if (r.finalizesAt !== undefined) {
        this.track(r.requestId, r.finalizesAt);
        const w = r.extra?.watch as { sampled?: boolean; outcome?: string } | undefined;
        if (r.role === 'watcher' && w?.sampled && (w.outcome === 'queued' || w.outcome === 'checking') && r.finalizesAt > Date.now()) resume.push(r);
      } else if (r.mode === 'replicated') {
        await this.host.records
          .update(r.requestId, (rec) => {
            if (rec.status !== 'pending') return;
            rec.status = 'failed';
            rec.extra = { ...rec.extra, reason: 'the node restarted before the replicas were compared' };
          })
          .catch(() => {});
      }
    }
    await this.sweep();
    return resume;
  }

  start(intervalMs = 250): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Finalises every tracked record whose window has closed. */
  async sweep(now = Date.now()): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const [id, at] of [...this.due]) {
        if (at > now) continue;
        this.due.delete(id);
        await this.close(id).catch((e) => this.host.log.warn({ requestId: id, err: errMessage(e) }, 'could not finalise a receipt'));
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async close(id: Hex): Promise<void> {
    const cur = await this.host.records.get(id);
    if (!cur) return;
    let status = cur.status;
    if (cur.status === 'pending') {
      const next = await this.host.records.update(id, (rec) => {
        if (rec.status !== 'pending') return;
        rec.status = rec.fraudProof ? 'failed' : 'final';
      });
      status = next.status;
    }
    if (status === 'final' || status === 'failed') {
      this.host.metrics.verificationOutcomes.inc({ mode: cur.mode, role: cur.role, status });
      this.host.log.info({ requestId: id, role: cur.role, status }, 'challenge window closed');
    }
  }
}
