// Lists, for a conformance folder, which ops each case uses and the opset
// histogram: a planning aid for op coverage.
import { readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { findCases } from '../src/cli/conformance.js';
import { loadModel } from '../src/onnx/load.js';

const dir = process.argv[2] ?? '../shared/conformance/onnx-backend/node';
const opCases = new Map<string, number>();
const opsets = new Map<number, number>();
for (const c of findCases(dir)) {
  try {
    const m = loadModel(new Uint8Array(readFileSync(join(c, 'model.onnx'))));
    const o = m.opsets.get('') ?? 0;
    opsets.set(o, (opsets.get(o) ?? 0) + 1);
    for (const op of new Set(m.graph.nodes.map((n) => (n.domain ? n.domain + ':' : '') + n.opType))) opCases.set(op, (opCases.get(op) ?? 0) + 1);
  } catch (e) {
    console.log(basename(c), (e as Error).message);
  }
}
console.log('opsets', [...opsets].sort((a, b) => a[0] - b[0]));
console.log([...opCases].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' '));
