import type { RunOptions, Session } from '../engine/session.js';
import { VerinferError } from '../errors.js';
import type { Hex } from '../proof/wire.js';
import { toHexBytes } from '../proof/wire.js';
import { dtypeKind } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { ReceiptRecord } from './records.js';

/**
 * Byzantine behaviours for the devnet and the tests (`verinfer node start
 * --byzantine <strategy>`): the node then cheats on every inference. They live
 * here so the honest code paths stay clean: the inference service asks
 * `tamper()` for an extra `afterNode` hook and `extras()` for what to keep,
 * and the dispute route asks `answerLeaves()` which leaves to answer from.
 *
 * - `bitflip`: flips the lowest bit of element 0 of the first output of the
 *   middle node (the first node at or after the middle whose output is a
 *   non-empty float tensor; else the middle node), and lets it propagate. The
 *   trace commits to the tampered tensor; bisection locates that node.
 * - `wrong-output`: flips the lowest bit of element 0 of the last node's first
 *   output: the trace is consistent with the (wrong) output it signs, and only
 *   re-executing the last node shows the fraud.
 * - `lie-bisection`: computes the wrong trace like `bitflip`, and in a dispute
 *   answers from the honest trace, hoping to look innocent; the referee sees
 *   answers that do not hash to the signed root (executor-failed).
 */
export const BYZANTINE_STRATEGIES = ['bitflip', 'wrong-output', 'lie-bisection'] as const;
export type ByzantineStrategy = (typeof BYZANTINE_STRATEGIES)[number];

export function parseByzantine(v: string): ByzantineStrategy {
  if ((BYZANTINE_STRATEGIES as readonly string[]).includes(v)) return v as ByzantineStrategy;
  throw new VerinferError('INVALID_ARGUMENT', `--byzantine must be one of ${BYZANTINE_STRATEGIES.join(', ')}, got ${JSON.stringify(v)}`, {
    option: '--byzantine',
    value: v,
  });
}

/** A copy of `t` with the lowest bit of element 0 flipped (a NaN element 0 becomes 0, since every NaN has one canonical encoding). */
export function flipOneBit(t: Tensor): Tensor {
  if (t.size === 0) return t;
  const data = t.data.slice();
  if ((data instanceof Float32Array || data instanceof Float64Array) && Number.isNaN(data[0])) {
    data[0] = 0;
    return new Tensor(t.dtype, t.shape, data);
  }
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength)[0]! ^= 1;
  return new Tensor(t.dtype, t.shape, data);
}

export class Byzantine {
  constructor(readonly strategy: ByzantineStrategy) {}

  /** The tampering hook for one run of `session`. */
  tamper(session: Session): NonNullable<RunOptions['afterNode']> {
    const n = session.model.graph.nodes.length;
    const mid = Math.floor((n - 1) / 2);
    let done = false;
    if (this.strategy === 'wrong-output') {
      return (node, outs) => (node.index === n - 1 && outs[0] ? [flipOneBit(outs[0]), ...outs.slice(1)] : undefined);
    }
    // bitflip and lie-bisection
    return (node, outs) => {
      if (done || node.index < mid || !outs[0]) return;
      const floatOut = outs[0].size > 0 && dtypeKind(outs[0].dtype) === 'float';
      if (!floatOut && node.index < n - 1) return;
      done = true;
      return [flipOneBit(outs[0]), ...outs.slice(1)];
    };
  }

  /** What the record keeps for later (lie-bisection: the honest leaves it will answer with). */
  extras(session: Session, inputs: Parameters<Session['run']>[0]): NonNullable<ReceiptRecord['byzantine']> {
    if (this.strategy !== 'lie-bisection') return { strategy: this.strategy };
    const honest = session.run(inputs, { trace: true }).trace!.leaves;
    return { strategy: this.strategy, answerLeaves: honest.map(toHexBytes) };
  }

  /** The leaves dispute answers come from. */
  static answerLeaves(record: ReceiptRecord): Hex[] {
    return record.byzantine?.answerLeaves ?? record.leaves;
  }
}
