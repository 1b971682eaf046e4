import { leafHash, nodeHash, splitPoint, subtreeRoot } from '../hash/merkle.js';
import type { SignedTraceCommitment } from './commitment.js';
import { fromHex, toHexBytes, type Hex } from './wire.js';

/**
 * The bisection game over a trace commitment (DESIGN.md, "Objects that cross
 * the wire": the trace root is RFC 6962 MTH over one leaf per node).
 *
 * A challenger and an executor disagree about the trace root of the same
 * (model, input). The game walks down the executor's committed tree: each round
 * the executor reveals the two child hashes of the disputed subtree (the referee
 * checks that they hash to the committed parent) and the challenger names the
 * child it disagrees with, preferring the left one. After ceil(log2 n) rounds
 * the range is one leaf, which the executor reveals in one last round. Because
 * the challenger always takes the leftmost disagreeing child, every leaf before
 * the located one is agreed by both sides: the located node's inputs are agreed
 * and its outputs are disputed. Messages are plain JSON objects so the game can
 * run in-process, over HTTP or on chain unchanged.
 *
 * A lazy receipt (all-zero trace root, commitment.ts) has no root to walk yet:
 * the challenger first asks `{type: 'commit'}` and the executor answers with a
 * signed `TraceCommitment`; the game then runs against the committed root.
 */
export type DisputeQuery = { type: 'open'; lo: number; hi: number } | { type: 'leaf'; index: number };

/** The first question of a dispute about a lazy receipt. */
export type CommitQuery = { type: 'commit' };

/** Every question a challenger may send an executor. */
export type DisputeMessage = DisputeQuery | CommitQuery;

export type DisputeAnswer =
  | { type: 'children'; lo: number; hi: number; left: Hex; right: Hex }
  | { type: 'leaf'; index: number; data: Hex }
  | ({ type: 'commitment' } & SignedTraceCommitment);

export type Side = 'left' | 'right';

export type BisectionState =
  | { status: 'open'; lo: number; hi: number }
  | { status: 'located'; index: number; leaf: Uint8Array }
  | { status: 'executor-failed'; reason: string };

const key = (lo: number, hi: number) => `${lo}:${hi}`;
const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The referee's view of one game: validates every executor answer against the commitment. */
export class Bisection {
  readonly size: number;
  readonly root: Uint8Array;
  /** Hashes of subtrees the executor is bound to (the root and every revealed child). */
  readonly known = new Map<string, Uint8Array>();
  rounds = 0;
  private lo = 0;
  private hi: number;
  private pending?: { left: Uint8Array; right: Uint8Array };
  private result?: BisectionState;

  constructor(root: Uint8Array, size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`trace size ${size} must be at least 1`);
    this.root = root;
    this.size = size;
    this.hi = size;
    this.known.set(key(0, size), root);
  }

  get state(): BisectionState {
    return this.result ?? { status: 'open', lo: this.lo, hi: this.hi };
  }

  /** The next question for the executor. */
  query(): DisputeQuery {
    if (this.result) throw new Error('the game is over');
    if (this.pending) throw new Error('waiting for the challenger to choose a side');
    return this.hi - this.lo === 1 ? { type: 'leaf', index: this.lo } : { type: 'open', lo: this.lo, hi: this.hi };
  }

  /** Checks the executor's answer; a wrong or inconsistent answer ends the game against the executor. */
  answer(a: DisputeAnswer): BisectionState {
    if (this.result) return this.result;
    this.rounds++;
    const q = this.query();
    const fail = (reason: string) => (this.result = { status: 'executor-failed', reason });
    const parent = this.known.get(key(this.lo, this.hi))!;
    try {
      if (q.type === 'open') {
        if (a?.type !== 'children' || a.lo !== q.lo || a.hi !== q.hi) return fail(`expected the children of [${q.lo}, ${q.hi})`);
        const left = fromHex(a.left, 'left', 32);
        const right = fromHex(a.right, 'right', 32);
        if (!eq(nodeHash(left, right), parent)) return fail(`children of [${q.lo}, ${q.hi}) do not hash to the committed subtree`);
        const k = splitPoint(this.hi - this.lo);
        this.known.set(key(this.lo, this.lo + k), left);
        this.known.set(key(this.lo + k, this.hi), right);
        this.pending = { left, right };
        return this.state;
      }
      if (a?.type !== 'leaf' || a.index !== q.index) return fail(`expected leaf ${q.index}`);
      const leaf = fromHex(a.data, 'leaf');
      if (!eq(leafHash(leaf), parent)) return fail(`leaf ${q.index} does not hash to the committed leaf hash`);
      return (this.result = { status: 'located', index: q.index, leaf });
    } catch (e) {
      return fail(`malformed answer: ${(e as Error).message}`);
    }
  }

  /** The challenger's pick after a 'children' answer. */
  choose(side: Side): void {
    if (!this.pending) throw new Error('no children to choose from');
    const k = splitPoint(this.hi - this.lo);
    if (side === 'left') this.hi = this.lo + k;
    else this.lo = this.lo + k;
    this.pending = undefined;
  }

  /** The revealed children awaiting the challenger's choice. */
  get children(): { left: Uint8Array; right: Uint8Array } | undefined {
    return this.pending;
  }

  /** The current range, while open. */
  get range(): [number, number] {
    return [this.lo, this.hi];
  }
}

/** An honest executor's answers, from its trace leaves. */
export function traceResponder(leaves: readonly Uint8Array[]): (q: DisputeMessage) => DisputeAnswer {
  const hashes = leaves.map(leafHash);
  return (q) => {
    if (q.type === 'commit') throw new Error('this trace is already committed (eager receipt): nothing to commit');
    if (q.type === 'leaf') return { type: 'leaf', index: q.index, data: toHexBytes(leaves[q.index]!) };
    const k = splitPoint(q.hi - q.lo);
    return {
      type: 'children',
      lo: q.lo,
      hi: q.hi,
      left: toHexBytes(subtreeRoot(hashes, q.lo, q.lo + k)),
      right: toHexBytes(subtreeRoot(hashes, q.lo + k, q.hi)),
    };
  };
}

/** The honest challenger's choice: the left child if it disagrees with its own tree there, else the right. */
export function chooseSide(ownLeafHashes: readonly Uint8Array[], lo: number, hi: number, left: Uint8Array): Side {
  const k = splitPoint(hi - lo);
  return eq(subtreeRoot(ownLeafHashes, lo, lo + k), left) ? 'right' : 'left';
}

/**
 * An audit path in the executor's committed tree for leaf `index`, built from
 * hashes the executor revealed in the game and, for subtrees entirely before
 * the located leaf (which both sides agree on), from the challenger's own leaves.
 */
export function pathInCommittedTree(game: Bisection, ownLeafHashes: readonly Uint8Array[], located: number, index: number): Uint8Array[] {
  const hashOf = (lo: number, hi: number): Uint8Array => {
    const known = game.known.get(key(lo, hi));
    if (known) return known;
    if (hi <= located) return subtreeRoot(ownLeafHashes, lo, hi);
    throw new Error(`subtree [${lo}, ${hi}) of the executor's tree is unknown`);
  };
  const path = (lo: number, hi: number): Uint8Array[] => {
    if (hi - lo === 1) return [];
    const k = splitPoint(hi - lo);
    return index < lo + k ? [...path(lo, lo + k), hashOf(lo + k, hi)] : [...path(lo + k, hi), hashOf(lo, lo + k)];
  };
  return path(0, game.size);
}
