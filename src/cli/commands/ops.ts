import { Command } from 'commander';
import { supportedOps } from '../../engine/registry.js';

export function opsCommand(): Command {
  return new Command('ops')
    .description('list the operators the engine supports (default ONNX domain)')
    .option('--json', 'print a JSON array')
    .action((o: { json?: boolean }) => {
      const ops = supportedOps();
      process.stdout.write(o.json ? JSON.stringify(ops) + '\n' : ops.join('\n') + `\n(${ops.length} operators)\n`);
    });
}
