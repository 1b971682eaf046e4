// Test-only fixtures shared by the store tests (src/store/*.test.ts) and the CLI
// tests that drive the store (test/*-cli.test.ts): models big and small, a temp
// dir, an error-code assertion, a URL nobody listens on. The store never imports this.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerinferError } from '../errors.js';
import { buildModel } from '../onnx/build.js';
import { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * y[1,4] = x[1,k] · w[k,4] with w = ((i + seed) · 7919 mod 1000) / 1000 − 0.5: k·16 bytes
 * of weights, so the default k = 75_000 (~1.2 MB) is a dag-pb root over several
 * 256 KiB raw leaves.
 */
export function bigModel(k = 75_000, seed = 0): Uint8Array {
  const w = new Float32Array(k * 4);
  for (let i = 0; i < w.length; i++) w[i] = (((i + seed) * 7919) % 1000) / 1000 - 0.5;
  return buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: [1, k] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: [1, 4] }],
    initializers: { w: new Tensor(DType.float32, [k, 4], w) },
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
  });
}

/** Relu(x[batch,2] · [[1, 2], [3, scale]]): one raw block; a different `scale` is a different model. */
export function tinyModel(scale = 1): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', dtype: DType.float32, shape: ['batch', 2] }],
    outputs: [{ name: 'y', dtype: DType.float32, shape: ['batch', 2] }],
    initializers: { w: new Tensor(DType.float32, [2, 2], Float32Array.from([1, 2, 3, scale])) },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { op: 'Relu', inputs: ['m'], outputs: ['y'] },
    ],
  });
}

/** A new empty directory under the OS temp dir, named verinfer-`name`-XXXXXX (the caller removes it). */
export const tempDir = (name: string): string => mkdtempSync(join(tmpdir(), `verinfer-${name}-`));

/** `p` rejects with a VerinferError with `code` (and passes `check`, given one). */
export async function rejectsCode(p: Promise<unknown>, code: string, check?: (e: VerinferError) => void): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerinferError, `expected VerinferError, got ${(e as Error)?.stack ?? e}`);
    assert.equal(e.code, code, e.message);
    check?.(e);
    return true;
  });
}

/** A loopback URL where nothing listens (a port that was free a moment ago). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
