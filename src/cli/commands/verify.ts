import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createSession, type Session } from '../../engine/session.js';
import { VerinferError } from '../../errors.js';
import { parseReceipt } from '../../proof/receipt.js';
import { verifyReceipt } from '../../proof/verify.js';
import type { Tensor } from '../../tensor/tensor.js';
import { readInputs } from '../io.js';

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new VerinferError('INVALID_INPUT_FILE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}

/** Reads and validates a receipt file; a malformed one is a RECEIPT_INVALID error, not a report. */
function readReceipt(path: string) {
  const text = new TextDecoder().decode(readBytes(path, 'receipt'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VerinferError('RECEIPT_INVALID', `${path} is not valid JSON: ${(e as Error).message}`, { file: path, path: 'receipt' });
  }
  try {
    return parseReceipt(json);
  } catch (e) {
    if (e instanceof VerinferError) {
      e.details.file = path;
      delete e.details.issues;
    }
    throw e;
  }
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('verify a receipt offline: check its signature and re-execute the model on the input')
    .argument('<receipt>', 'a receipt JSON file (from `verinfer run --receipt`)')
    .requiredOption('-m, --model <model.onnx>', 'the model file the receipt names')
    .option('-i, --input <file...>', 'the request inputs, as for `verinfer run`')
    .option('--json', 'print one JSON object {"valid", "expired", "checks": [{"name", "ok", "detail"}]}')
    .option('--max-tensor-mb <n>', 'refuse tensors larger than this many MiB', '2048')
    .action(async (receiptPath: string, o: { model: string; input?: string[]; json?: boolean; maxTensorMb: string }) => {
      const receipt = readReceipt(receiptPath);
      const maxTensorBytes = Number(o.maxTensorMb) * 2 ** 20;
      const modelBytes = readBytes(o.model, 'model');
      // A model that does not load is reported by the checks; inputs then cannot be typed and stay empty.
      let session: Session | undefined;
      try {
        session = createSession(modelBytes, { maxTensorBytes });
      } catch {
        session = undefined;
      }
      const inputs: Record<string, Tensor> = session ? readInputs(o.input ?? [], session, maxTensorBytes) : {};
      const r = await verifyReceipt({ receipt, modelBytes, inputs, session, sessionOptions: { maxTensorBytes } });
      if (o.json) {
        process.stdout.write(JSON.stringify({ valid: r.valid, expired: r.expired, checks: r.checks }) + '\n');
      } else {
        const width = Math.max(...r.checks.map((c) => c.name.length));
        for (const c of r.checks) process.stdout.write(`${c.ok ? '✓' : '✗'} ${c.name.padEnd(width)}  ${c.detail}\n`);
        const exp = new Date(receipt.typedData.message.expiresAt * 1000).toISOString();
        process.stdout.write(`  ${'expiry'.padEnd(width)}  ${r.expired ? `expired at ${exp} (does not affect validity)` : `valid until ${exp}`}\n`);
        process.stdout.write(r.valid ? 'VALID\n' : 'INVALID\n');
      }
      if (!r.valid) process.exitCode = 1;
    });
}
