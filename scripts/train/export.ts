// Turning a trained MLP into an ONNX graph (preprocessing included), running it
// through the Verinfer engine, and the files a sample model ships as.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { createSession } from '../../src/engine/session.js';
import type { BuildNode } from '../../src/onnx/build.js';
import { DType } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { Dense, Standardizer } from './nn.js';

export interface Graph {
  nodes: BuildNode[];
  initializers: Record<string, Tensor>;
}

/** A float32 tensor (values rounded to float32). */
export function f32(shape: number[], values: ArrayLike<number>): Tensor {
  return new Tensor(DType.float32, shape, Float32Array.from(values as ArrayLike<number>));
}

/** (x - mean) / std with the standardizer's constants, as Sub and Div nodes. */
export function addStandardize(g: Graph, input: string, output: string, s: Standardizer, prefix = 'scaler'): void {
  g.initializers[`${prefix}_mean`] = f32([s.mean.length], s.mean);
  g.initializers[`${prefix}_std`] = f32([s.std.length], s.std);
  g.nodes.push({ op: 'Sub', inputs: [input, `${prefix}_mean`], outputs: [`${prefix}_centered`], name: `${prefix}_sub` });
  g.nodes.push({ op: 'Div', inputs: [`${prefix}_centered`, `${prefix}_std`], outputs: [output], name: `${prefix}_div` });
}

/**
 * One dense layer as Gemm(x, W[in, out], b[out]). `columns` keeps only some
 * output units (used to split one trained layer into separate output heads).
 */
export function addDense(g: Graph, layer: Dense, input: string, output: string, name: string, columns?: number[]): void {
  const cols = columns ?? Array.from({ length: layer.outputs }, (_, o) => o);
  const W = new Float32Array(layer.inputs * cols.length);
  for (let i = 0; i < layer.inputs; i++) cols.forEach((o, k) => (W[i * cols.length + k] = layer.W[i * layer.outputs + o]!));
  g.initializers[`${name}_W`] = new Tensor(DType.float32, [layer.inputs, cols.length], W);
  g.initializers[`${name}_b`] = f32([cols.length], cols.map((o) => layer.b[o]!));
  g.nodes.push({ op: 'Gemm', inputs: [input, `${name}_W`, `${name}_b`], outputs: [output], name });
}

/** Runs a model on a batch of raw feature rows through the engine (`features` input, float32). */
export function runEngine(onnx: Uint8Array, rows: readonly (readonly number[])[]): Record<string, Tensor> {
  const F = rows[0]!.length;
  const data = new Float32Array(rows.length * F);
  rows.forEach((r, i) => data.set(r, i * F));
  return createSession(onnx).run({ features: new Tensor(DType.float32, [rows.length, F], data) }).outputs;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The CIDv1 (raw codec, sha2-256) of the model bytes: what `ipfs add --cid-version=1`
 * gives for a file that fits in one 256 KiB chunk, as every sample model does.
 */
export function rawCid(bytes: Uint8Array): string {
  if (bytes.length > 262144) throw new Error('rawCid: file larger than one UnixFS chunk');
  const digest = createHash('sha256').update(bytes).digest();
  return CID.createV1(0x55, Digest.create(0x12, new Uint8Array(digest))).toString();
}

export interface FeedJson {
  dims: number[];
  data: number[];
}

export interface TrainedModel {
  name: string;
  onnx: Uint8Array;
  /** The metadata document, without the file's digests (filled in by `modelFiles`). */
  metadata: Record<string, unknown>;
  /** An example input in the CLI's JSON input format. */
  example: Record<string, FeedJson>;
  /** Per-epoch mean training loss (for the console, not shipped). */
  lossHistory: number[];
}

/** The files a model ships as, keyed by name inside models/: .onnx, .json metadata, .input.json. */
export function modelFiles(m: TrainedModel): Record<string, Uint8Array> {
  const metadata = { ...m.metadata, file: { name: `${m.name}.onnx`, bytes: m.onnx.length, sha256: sha256Hex(m.onnx), cid: rawCid(m.onnx) } };
  const feeds = Object.entries(m.example)
    .map(([k, v]) => `  ${JSON.stringify(k)}: { "dims": ${JSON.stringify(v.dims)}, "data": ${JSON.stringify(v.data)} }`)
    .join(',\n');
  const enc = new TextEncoder();
  return {
    [`${m.name}.onnx`]: m.onnx,
    [`${m.name}.json`]: enc.encode(JSON.stringify(metadata, null, 2) + '\n'),
    [`${m.name}.input.json`]: enc.encode(`{\n${feeds}\n}\n`),
  };
}

/** models/ at the repository root. */
export const MODELS_DIR = new URL('../../models/', import.meta.url);

/** Writes a model's files into models/ and prints a one-line summary. */
export function writeModel(m: TrainedModel): void {
  mkdirSync(MODELS_DIR, { recursive: true });
  for (const [file, bytes] of Object.entries(modelFiles(m))) writeFileSync(new URL(file, MODELS_DIR), bytes);
  console.log(`${m.name}: wrote models/${m.name}.{onnx,json,input.json} (${m.onnx.length} bytes, sha256 ${sha256Hex(m.onnx)})`);
  console.log(`  metrics: ${JSON.stringify(m.metadata.metrics)}`);
}

/** True when the module with this import.meta.url is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && pathToFileURL(process.argv[1]).href === moduleUrl;
}
