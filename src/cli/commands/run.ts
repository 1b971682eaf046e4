import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { createSession, type RunResult } from '../../engine/session.js';
import { VerinferError } from '../../errors.js';
import { toHex } from '../../hash/sha256.js';
import { createReceipt, DEFAULT_CHAIN_ID } from '../../proof/verify.js';
import type { Receipt } from '../../proof/receipt.js';
import { tensorDigest } from '../../tensor/canonical.js';
import { readInputs, tensorToJson } from '../io.js';
import { readKeyFile } from '../../platform/keyfile.js';

interface RunCliOptions {
  input?: string[];
  trace?: boolean;
  json?: boolean;
  maxTensorMb: string;
  receipt?: string;
  key?: string;
  chainId?: string;
  requestId?: string;
  lazy?: boolean;
}

function receiptOptions(o: RunCliOptions): { chainId: number; requestId?: `0x${string}`; trace?: 'lazy' } | undefined {
  if (!o.receipt) {
    for (const [flag, v] of [['--key', o.key], ['--chain-id', o.chainId], ['--request-id', o.requestId], ['--lazy', o.lazy]] as const) {
      if (v !== undefined) throw new VerinferError('INVALID_ARGUMENT', `${flag} is only used with --receipt`, { option: flag });
    }
    return undefined;
  }
  if (!o.key) throw new VerinferError('INVALID_ARGUMENT', '--receipt requires --key <file> (create one with `verinfer key new <file>`)', { option: '--key' });
  let chainId = DEFAULT_CHAIN_ID;
  if (o.chainId !== undefined) {
    chainId = /^[0-9]+$/.test(o.chainId) ? Number(o.chainId) : NaN;
    if (!Number.isSafeInteger(chainId) || chainId < 1) {
      throw new VerinferError('INVALID_ARGUMENT', `--chain-id must be a positive integer, got ${o.chainId}`, { option: '--chain-id', value: o.chainId });
    }
  }
  if (o.requestId !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(o.requestId)) {
    throw new VerinferError('INVALID_ARGUMENT', `--request-id must be 0x followed by 64 hex digits, got ${o.requestId}`, { option: '--request-id', value: o.requestId });
  }
  if (o.lazy && o.trace) throw new VerinferError('INVALID_ARGUMENT', '--lazy signs a receipt without computing the trace: it cannot be combined with --trace', { option: '--lazy' });
  return { chainId, requestId: o.requestId?.toLowerCase() as `0x${string}` | undefined, ...(o.lazy ? { trace: 'lazy' as const } : {}) };
}

export function runCommand(): Command {
  return new Command('run')
    .description('run a model on inputs and print outputs with their digests')
    .argument('<model>', 'path to an .onnx file')
    .option('-i, --input <file...>', 'inputs: a JSON file {"name": {"dims": [...], "data": [...]}} or TensorProto .pb files')
    .option('--trace', 'compute the execution trace and print its root')
    .option('--json', 'print one JSON object')
    .option('--max-tensor-mb <n>', 'refuse tensors larger than this many MiB', '2048')
    .option('--receipt <out.json>', 'sign a receipt for this execution and write it here (implies --trace; needs --key)')
    .option('--key <file>', 'the executor key file that signs the receipt (see `verinfer key new`)')
    .option('--chain-id <n>', `EIP-712 chain id of the receipt (default ${DEFAULT_CHAIN_ID})`)
    .option('--request-id <hex>', 'receipt request id, 0x + 64 hex digits (default: random)')
    .option('--lazy', 'with --receipt: sign a lazy receipt (all-zero trace root, no trace computed); keep the inputs: a dispute asks you to commit to the trace later')
    .action(async (modelPath: string, o: RunCliOptions) => {
      const rOpts = receiptOptions(o);
      const account = rOpts && readKeyFile(o.key!).account;
      const maxTensorBytes = Number(o.maxTensorMb) * 2 ** 20;
      const modelBytes = new Uint8Array(readFileSync(modelPath));
      const session = createSession(modelBytes, { maxTensorBytes });
      const feeds = readInputs(o.input ?? [], session, maxTensorBytes);
      let result: RunResult;
      let receipt: Receipt | undefined;
      if (rOpts) {
        ({ receipt, result } = await createReceipt({ modelBytes, session, inputs: feeds, account: account!, ...rOpts }));
        try {
          writeFileSync(o.receipt!, JSON.stringify(receipt, null, 2) + '\n');
        } catch (e) {
          throw new VerinferError('INVALID_ARGUMENT', `cannot write ${o.receipt}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: o.receipt });
        }
      } else {
        result = session.run(feeds, { trace: !!o.trace });
      }
      const digests: Record<string, string> = {};
      for (const [name, t] of Object.entries(result.outputs)) digests[name] = toHex(tensorDigest(t));
      if (o.json) {
        const outputs: Record<string, unknown> = {};
        for (const [name, t] of Object.entries(result.outputs)) outputs[name] = tensorToJson(t);
        const obj: Record<string, unknown> = { outputs, digests };
        if (result.trace) obj.traceRoot = toHex(result.trace.root);
        if (receipt) obj.receipt = receipt;
        process.stdout.write(JSON.stringify(obj) + '\n');
        return;
      }
      for (const [name, t] of Object.entries(result.outputs)) {
        const j = tensorToJson(t);
        const preview = j.data.slice(0, 16).join(', ') + (j.data.length > 16 ? `, ... (${j.data.length} values)` : '');
        process.stdout.write(`${name}: ${j.dtype} [${j.dims.join(', ')}]\n  [${preview}]\n  digest ${digests[name]}\n`);
      }
      if (result.trace) process.stdout.write(`trace root ${toHex(result.trace.root)} (${result.trace.leaves.length} nodes)\n`);
      if (receipt) {
        const m = receipt.typedData.message;
        process.stdout.write(`receipt ${o.receipt} signed by ${m.executor} (chain ${receipt.typedData.domain.chainId}, expires ${new Date(m.expiresAt * 1000).toISOString()})\n`);
      }
    });
}
