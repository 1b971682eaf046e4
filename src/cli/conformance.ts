import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { UnsupportedError, VerinferError } from '../errors.js';
import { createSession, type Session } from '../engine/session.js';
import { decodeTensorProtoBytes } from '../onnx/tensorProto.js';
import { dtypeKind, dtypeName } from '../tensor/dtype.js';
import { float16ToNumber } from '../tensor/float16.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Runs ONNX backend test cases (a folder with model.onnx and
 * test_data_set_K/{input,output}_N.pb) and compares with the ONNX project's
 * default tolerance.
 */
export interface ConformanceOptions {
  rtol?: number;
  atol?: number;
  /** Only cases whose name matches. */
  filter?: RegExp;
  onCase?: (r: CaseResult) => void;
}

export type CaseStatus = 'passed' | 'failed' | 'unsupported';

export interface CaseResult {
  case: string;
  status: CaseStatus;
  reason?: string;
  ms: number;
}

export interface ConformanceSummary {
  cases: number;
  passed: number;
  failed: number;
  unsupported: number;
  failures: { case: string; reason: string }[];
  unsupportedCases: { case: string; reason: string }[];
}

/** Case folders under `dir` (itself, its children, or grandchildren), sorted. */
export function findCases(dir: string): string[] {
  if (existsSync(join(dir, 'model.onnx'))) return [dir];
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (!statSync(p).isDirectory()) continue;
    if (existsSync(join(p, 'model.onnx'))) out.push(p);
    else for (const c of readdirSync(p).sort()) if (existsSync(join(p, c, 'model.onnx'))) out.push(join(p, c));
  }
  return out;
}

export function runConformance(dir: string, opts: ConformanceOptions = {}): ConformanceSummary {
  const summary: ConformanceSummary = { cases: 0, passed: 0, failed: 0, unsupported: 0, failures: [], unsupportedCases: [] };
  for (const caseDir of findCases(dir)) {
    const name = basename(caseDir);
    if (opts.filter && !opts.filter.test(name)) continue;
    const t0 = performance.now();
    const r = runCase(caseDir, opts);
    const res: CaseResult = { case: name, ...r, ms: performance.now() - t0 };
    summary.cases++;
    summary[res.status]++;
    if (res.status === 'failed') summary.failures.push({ case: name, reason: res.reason ?? '' });
    if (res.status === 'unsupported') summary.unsupportedCases.push({ case: name, reason: res.reason ?? '' });
    opts.onCase?.(res);
  }
  return summary;
}

function runCase(caseDir: string, opts: ConformanceOptions): { status: CaseStatus; reason?: string } {
  let session: Session;
  try {
    session = createSession(new Uint8Array(readFileSync(join(caseDir, 'model.onnx'))));
  } catch (e) {
    return classify(e);
  }
  const sets = readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort();
  if (sets.length === 0) return { status: 'failed', reason: 'no test_data_set_* folder' };
  for (const set of sets) {
    const setDir = join(caseDir, set);
    try {
      const inputs = session.model.graph.inputs;
      const feeds: Record<string, Tensor> = {};
      for (let i = 0; ; i++) {
        const f = join(setDir, `input_${i}.pb`);
        if (!existsSync(f)) break;
        const info = inputs[i];
        if (!info) return { status: 'failed', reason: `${set}: input_${i}.pb has no matching graph input` };
        feeds[info.name] = decodeTensorProtoBytes(new Uint8Array(readFileSync(f)));
      }
      const expected: Tensor[] = [];
      for (let i = 0; existsSync(join(setDir, `output_${i}.pb`)); i++) {
        expected.push(decodeTensorProtoBytes(new Uint8Array(readFileSync(join(setDir, `output_${i}.pb`)))));
      }
      const { outputList } = session.run(feeds);
      for (let i = 0; i < expected.length; i++) {
        const why = compareTensors(outputList[i], expected[i]!, opts.rtol ?? 1e-3, opts.atol ?? 1e-7);
        if (why) return { status: 'failed', reason: `${set} output ${i} (${session.outputs[i]?.name}): ${why}` };
      }
    } catch (e) {
      return classify(e, set);
    }
  }
  return { status: 'passed' };
}

function classify(e: unknown, where?: string): { status: CaseStatus; reason: string } {
  const prefix = where ? `${where}: ` : '';
  if (e instanceof UnsupportedError) return { status: 'unsupported', reason: `${prefix}${e.code}: ${e.message}` };
  if (e instanceof VerinferError) return { status: 'failed', reason: `${prefix}${e.code}: ${e.message}` };
  return { status: 'failed', reason: `${prefix}crash: ${(e as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(e)}` };
}

function asNumber(t: Tensor, i: number): number {
  const v = t.data[i]!;
  if (t.dtype === 10) return float16ToNumber(v as number);
  return typeof v === 'bigint' ? Number(v) : v;
}

/** undefined when equal within tolerance, else a description of the first mismatch. */
export function compareTensors(actual: Tensor | undefined, expected: Tensor, rtol: number, atol: number): string | undefined {
  if (!actual) return 'missing output';
  if (actual.dtype !== expected.dtype) return `dtype ${dtypeName(actual.dtype)}, expected ${dtypeName(expected.dtype)}`;
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return `shape [${actual.shape.join(',')}], expected [${expected.shape.join(',')}]`;
  }
  const exact = dtypeKind(actual.dtype) !== 'float';
  let bad = 0;
  let first = '';
  for (let i = 0; i < expected.size; i++) {
    if (exact) {
      if (actual.data[i] !== expected.data[i]) {
        if (!bad) first = `element ${i}: ${actual.data[i]} != ${expected.data[i]}`;
        bad++;
      }
      continue;
    }
    const a = asNumber(actual, i);
    const b = asNumber(expected, i);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      if (!bad) first = `element ${i}: ${a} vs expected ${b}`;
      bad++;
    }
  }
  return bad ? `${bad} of ${expected.size} elements differ; first ${first}` : undefined;
}
