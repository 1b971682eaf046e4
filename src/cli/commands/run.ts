import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createSession } from '../../engine/session.js';
import { toHex } from '../../hash/sha256.js';
import { tensorDigest } from '../../tensor/canonical.js';
import { readInputs, tensorToJson } from '../io.js';

export function runCommand(): Command {
  return new Command('run')
    .description('run a model on inputs and print outputs with their digests')
    .argument('<model>', 'path to an .onnx file')
    .option('-i, --input <file...>', 'inputs: a JSON file {"name": {"dims": [...], "data": [...]}} or TensorProto .pb files')
    .option('--trace', 'compute the execution trace and print its root')
    .option('--json', 'print one JSON object')
    .option('--max-tensor-mb <n>', 'refuse tensors larger than this many MiB', '2048')
    .action((modelPath: string, o: { input?: string[]; trace?: boolean; json?: boolean; maxTensorMb: string }) => {
      const maxTensorBytes = Number(o.maxTensorMb) * 2 ** 20;
      const session = createSession(new Uint8Array(readFileSync(modelPath)), { maxTensorBytes });
      const feeds = readInputs(o.input ?? [], session, maxTensorBytes);
      const result = session.run(feeds, { trace: !!o.trace });
      const digests: Record<string, string> = {};
      for (const [name, t] of Object.entries(result.outputs)) digests[name] = toHex(tensorDigest(t));
      if (o.json) {
        const outputs: Record<string, unknown> = {};
        for (const [name, t] of Object.entries(result.outputs)) outputs[name] = tensorToJson(t);
        const obj: Record<string, unknown> = { outputs, digests };
        if (result.trace) obj.traceRoot = toHex(result.trace.root);
        process.stdout.write(JSON.stringify(obj) + '\n');
        return;
      }
      for (const [name, t] of Object.entries(result.outputs)) {
        const j = tensorToJson(t);
        const preview = j.data.slice(0, 16).join(', ') + (j.data.length > 16 ? `, ... (${j.data.length} values)` : '');
        process.stdout.write(`${name}: ${j.dtype} [${j.dims.join(', ')}]\n  [${preview}]\n  digest ${digests[name]}\n`);
      }
      if (result.trace) process.stdout.write(`trace root ${toHex(result.trace.root)} (${result.trace.leaves.length} nodes)\n`);
    });
}
