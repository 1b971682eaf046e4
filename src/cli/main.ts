import '../platform/node.js';
import { Command } from 'commander';
import { VerinferError } from '../errors.js';
import { conformanceCommand } from './commands/conformance.js';
import { runCommand } from './commands/run.js';
import { opsCommand } from './commands/ops.js';
import { keyCommand } from './commands/key.js';
import { verifyCommand } from './commands/verify.js';
import { publishCommand } from './commands/publish.js';
import { gcCommand, modelsCommand, pinCommand, unpinCommand } from './commands/models.js';
import { modelCommand } from './commands/model.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { nodeCommand } from './commands/node.js';
import { fetchCommand } from './commands/fetch.js';
import { gatewayCommand } from './commands/gateway.js';
import { inferCommand } from './commands/infer.js';
import { receiptCommand } from './commands/receipt.js';
import { peersCommand } from './commands/peers.js';
import { devnetCommand } from './commands/devnet.js';

const program = new Command();
program
  .name('verinfer')
  .description('Verifiable AI inference: a bit-exact ONNX engine, signed receipts and fraud proofs')
  .version('0.1.0')
  .showHelpAfterError()
  // Root options (-V/--version) only before the subcommand, so `publish --version 1.2.0` reaches publish.
  .enablePositionalOptions();

program.addCommand(runCommand());
program.addCommand(conformanceCommand());
program.addCommand(opsCommand());
program.addCommand(keyCommand());
program.addCommand(verifyCommand());
program.addCommand(publishCommand());
program.addCommand(modelsCommand());
program.addCommand(modelCommand());
program.addCommand(exportCommand());
program.addCommand(importCommand());
program.addCommand(pinCommand());
program.addCommand(unpinCommand());
program.addCommand(gcCommand());
program.addCommand(nodeCommand());
program.addCommand(fetchCommand());
program.addCommand(gatewayCommand());
program.addCommand(inferCommand());
program.addCommand(receiptCommand());
program.addCommand(peersCommand());
program.addCommand(devnetCommand());

/** Typed errors become one clear line (or one JSON object) and exit code 1; never a stack trace. */
function reportError(e: unknown, json: boolean): never {
  const err =
    e instanceof VerinferError
      ? e.toJSON()
      : { code: 'INTERNAL_ERROR', message: (e as Error)?.message ?? String(e), details: {} };
  if (json) process.stdout.write(JSON.stringify({ error: err }) + '\n');
  else {
    process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    if (Object.keys(err.details).length) process.stderr.write(`  details: ${JSON.stringify(err.details)}\n`);
  }
  process.exit(1);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  reportError(e, process.argv.includes('--json'));
}
