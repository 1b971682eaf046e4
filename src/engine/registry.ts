import type { Kernel, KernelTable } from './kernel.js';
import { ops as elementwise } from './ops/elementwise.js';
import { ops as unary } from './ops/unary.js';
import { ops as reduce } from './ops/reduce.js';
import { ops as normalization } from './ops/normalization.js';
import { ops as matmul } from './ops/matmul.js';
import { ops as conv } from './ops/conv.js';
import { ops as pool } from './ops/pool.js';
import { ops as shape } from './ops/shape.js';
import { ops as indexing } from './ops/indexing.js';
import { ops as resize } from './ops/resize.js';
import { ops as quantize } from './ops/quantize.js';
import { ops as rnn } from './ops/rnn.js';
import { ops as attention } from './ops/attention.js';
import { ops as loss } from './ops/loss.js';
import { ops as misc } from './ops/misc.js';
import { ops as vision } from './ops/vision.js';
import { ops as recent } from './ops/recent.js';
import { ops as control } from './ops/control.js';

/** Every kernel of the default ONNX domain, by op type. */
const DEFAULT_DOMAIN: Map<string, Kernel> = new Map(
  [elementwise, unary, reduce, normalization, matmul, conv, pool, shape, indexing, resize, quantize, rnn, attention, loss, misc, vision, recent, control].flatMap((t: KernelTable) =>
    Object.entries(t),
  ),
);

export function getKernel(domain: string, opType: string): Kernel | undefined {
  return domain === '' ? DEFAULT_DOMAIN.get(opType) : undefined;
}

export function supportedOps(): string[] {
  return [...DEFAULT_DOMAIN.keys()].sort();
}
