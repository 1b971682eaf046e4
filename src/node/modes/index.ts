import { VerinferError } from '../../errors.js';
import { parse } from '../schemas.js';
import type { ModesHost } from './host.js';
import { optimisticMode, Sweeper } from './optimistic.js';
import { replicatedMode } from './replicated.js';
import { announceBody, Watcher } from './watcher.js';

/**
 * Verification modes `replicated` and `optimistic` and the watcher role
 * (README.md in this folder). `registerVerificationModes(node)` plugs them
 * into a node before it listens: the two mode handlers, the route
 * POST /v1/receipts/announce, and the challenge-window sweeper (which first
 * rebuilds its table from the stored records, so a restart loses no window).
 */

export interface VerificationModes {
  sweeper: Sweeper;
  watcher: Watcher;
  /** Stops the sweeper timer (the node's close calls it). */
  stop(): void;
}

export async function registerVerificationModes(host: ModesHost, o: { sweepIntervalMs?: number } = {}): Promise<VerificationModes> {
  const sweeper = new Sweeper(host);
  const watcher = new Watcher(host, sweeper);
  await watcher.init();
  host.inference.registerMode('replicated', replicatedMode(host));
  host.inference.registerMode('optimistic', optimisticMode(host, sweeper));
  host.app.post('/v1/receipts/announce', async (request) => {
    const body = parse(announceBody, request.body, 'receipt announcement');
    return watcher.onAnnounce(body);
  });
  const resume = await sweeper.load();
  for (const r of resume) watcher.spawn(r);
  sweeper.start(o.sweepIntervalMs ?? Math.min(250, Math.max(20, Math.floor(host.config.challengeWindowMs / 10))));
  return { sweeper, watcher, stop: () => sweeper.stop() };
}

/**
 * Parses a duration: a number with a unit, `ms`, `s`, `m` or `h` (`1.5s`,
 * `500ms`, `2m`); a bare number is seconds. INVALID_ARGUMENT otherwise.
 */
export function parseDuration(v: string, option = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(String(v));
  if (!m) {
    throw new VerinferError('INVALID_ARGUMENT', `${option} must be a duration such as 30s, 1.5s, 500ms or 2m, got ${JSON.stringify(v)}`, { option, value: v });
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** Parses a watch rate in [0, 1]. */
export function parseWatchRate(v: string, option = '--watch-rate'): number {
  const n = Number(v);
  if (!/^\s*[\d.]+\s*$/.test(String(v)) || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new VerinferError('INVALID_ARGUMENT', `${option} must be a number from 0 to 1 (the fraction of announced receipts this node re-executes), got ${JSON.stringify(v)}`, {
      option,
      value: v,
    });
  }
  return n;
}

export { DEFAULT_QUORUM, replicatedMode } from './replicated.js';
export { ANNOUNCE_INPUTS_MAX_ELEMENTS, announceReceipt, optimisticMode, Sweeper, type ReceiptAnnouncement } from './optimistic.js';
export { Watcher, WATCH_SEED_MESSAGE, type WatchState, type WatchOutcome } from './watcher.js';
export { challengeExecutor, checkReceipt, DISPUTE_FAILURE_SCHEMA, type Fault, type ModesHost } from './host.js';
