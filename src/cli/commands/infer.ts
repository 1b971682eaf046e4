import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { createClient, type Client, type InferResult, type ReceiptRecordView } from '../../client/client.js';
import { readInputsFile } from '../../client/node.js';
import { VerinferError } from '../../errors.js';
import { toHex } from '../../hash/sha256.js';
import { tensorDigest } from '../../tensor/canonical.js';
import { tensorToJson } from '../../tensor/json.js';

export const DEFAULT_NODE = 'http://127.0.0.1:7700';

/** Node URLs: the --node flags, else $VERINFER_NODES (comma list), else http://127.0.0.1:7700. */
export function nodeUrls(flags: string[] | undefined): string[] {
  const fromFlags = (flags ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (fromFlags.length) return fromFlags;
  const env = (process.env.VERINFER_NODES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return env.length ? env : [DEFAULT_NODE];
}

export function collectNode(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function positiveInt(v: string | undefined, option: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new VerinferError('INVALID_ARGUMENT', `${option} must be a positive integer, got ${v}`, { option, value: v });
  return n;
}

export function clientFrom(o: { node?: string[]; timeoutMs?: string }): Client {
  return createClient({ nodes: nodeUrls(o.node), timeoutMs: positiveInt(o.timeoutMs, '--timeout-ms') });
}

export const short = (h: string, n = 6) => (h.length > 2 + 2 * n ? `${h.slice(0, 2 + n)}…${h.slice(-n)}` : h);

export function out(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

/** A table with left-aligned columns. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

interface InferCliOptions {
  input: string;
  mode: string;
  quorum?: string;
  node?: string[];
  json?: boolean;
  receiptOut?: string;
  wait?: boolean;
  waitTimeoutMs: string;
  timeoutMs?: string;
}

/** With --wait: polls every pending receipt until final/failed; the result becomes final or failed. */
async function waitAll(client: Client, r: InferResult, timeoutMs: number): Promise<{ status: InferResult['status']; records: ReceiptRecordView[] }> {
  if (r.status !== 'pending') return { status: r.status, records: [] };
  const ids = [...new Set(r.receipts.map((x) => x.typedData.message.requestId))];
  const records = await Promise.all(ids.map((id) => client.waitFinal(id, { timeoutMs })));
  return { status: records.some((x) => x.status === 'failed') ? 'failed' : 'final', records };
}

export function inferCommand(): Command {
  return new Command('infer')
    .description('run a model on the network: one or several nodes, checked locally (receipt signature and output digest) before it is shown')
    .argument('<model>', 'model name, name@version or CID')
    .requiredOption('-i, --input <file>', 'inputs: a JSON file {"name": {"dims": [...], "data": [...]}} or nested arrays')
    .option('--mode <mode>', 'verification mode: none, replicated or optimistic', 'none')
    .option('--quorum <k>', 'replicated mode: how many nodes must return bit-identical receipts')
    .option('--node <url>', `a node URL (repeatable, tried in order); default $VERINFER_NODES or ${DEFAULT_NODE}`, collectNode)
    .option('--receipt-out <file>', 'write the (first) receipt here, for `verinfer verify`')
    .option('--wait', 'optimistic mode: wait until the challenge window closes (status final or failed)')
    .option('--wait-timeout-ms <ms>', 'give up waiting after this long', '120000')
    .option('--timeout-ms <ms>', 'timeout of one request to one node', '60000')
    .option('--json', 'print one JSON object {"status", "outputs", "receipts", "faults", ...}')
    .action(async (model: string, o: InferCliOptions) => {
      if (!['none', 'replicated', 'optimistic'].includes(o.mode)) {
        throw new VerinferError('INVALID_ARGUMENT', `--mode must be none, replicated or optimistic, got ${o.mode}`, { option: '--mode', value: o.mode });
      }
      const quorum = positiveInt(o.quorum, '--quorum');
      const waitTimeout = positiveInt(o.waitTimeoutMs, '--wait-timeout-ms')!;
      const client = clientFrom(o);
      const inputs = await readInputsFile(o.input);
      const r = await client.infer({ model, inputs, mode: o.mode, ...(quorum !== undefined ? { quorum } : {}) });
      let status = r.status;
      const faults = [...r.faults];
      if (o.wait) {
        if (!o.json && r.status === 'pending') process.stderr.write('pending: waiting for the challenge window to close...\n');
        const w = await waitAll(client, r, waitTimeout);
        status = w.status;
        for (const rec of w.records) {
          if (rec.status === 'failed' && rec.fraudProof) faults.push({ node: rec.receipt.typedData.message.executor, fraudProof: rec.fraudProof });
        }
      }
      if (o.receiptOut && r.receipts[0]) {
        try {
          writeFileSync(o.receiptOut, JSON.stringify(r.receipts[0], null, 2) + '\n');
        } catch (e) {
          throw new VerinferError('INVALID_ARGUMENT', `cannot write ${o.receiptOut}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: o.receiptOut });
        }
      }
      if (status === 'failed') process.exitCode = 1;
      if (o.json) {
        const outputs: Record<string, unknown> = {};
        const digests: Record<string, string> = {};
        for (const [name, t] of Object.entries(r.outputs)) {
          outputs[name] = tensorToJson(t);
          digests[name] = toHex(tensorDigest(t));
        }
        process.stdout.write(
          JSON.stringify({
            status,
            outputs,
            receipts: r.receipts,
            faults,
            requestId: r.requestId ?? r.receipts[0]?.typedData.message.requestId,
            model: r.model ?? r.receipts[0]?.modelCid,
            node: r.node,
            digests,
            checks: r.checks,
            ...Object.fromEntries(Object.entries(r.extra).filter(([k]) => !['digests', 'checks', 'node'].includes(k))),
          }) + '\n',
        );
        return;
      }
      let s = `status    ${status} (mode ${o.mode}${quorum !== undefined ? `, quorum ${quorum}` : ''})\n`;
      s += `model     ${model}${r.receipts[0] ? ` (${r.receipts[0].modelCid})` : ''}\n`;
      s += `node      ${r.node}\n`;
      s += 'outputs\n';
      for (const [name, t] of Object.entries(r.outputs)) {
        const j = tensorToJson(t);
        const preview = j.data.slice(0, 12).join(', ') + (j.data.length > 12 ? `, … (${j.data.length} values)` : '');
        s += `  ${name}: ${j.dtype} [${j.dims.join(', ')}]  [${preview}]\n`;
      }
      if (Object.keys(r.outputs).length === 0) s += '  (none)\n';
      s += `receipts  ${r.receipts.length}\n`;
      if (r.receipts.length) {
        const rows = r.receipts.map((x, i) => {
          const m = x.typedData.message;
          return [String(i), m.executor, short(m.requestId), short(m.output), short(m.traceRoot)];
        });
        s += table(['#', 'executor', 'request id', 'output', 'trace root'], rows).replace(/^/gm, '  ') + '\n';
      }
      if (status === 'failed' && Object.keys(r.outputs).length) s += '          (status failed: do not trust these outputs)\n';
      s += `faults    ${faults.length === 0 ? 'none' : faults.length}\n`;
      for (const f of faults) {
        const code = typeof f.code === 'string' ? ` [${f.code}]` : '';
        s += `  ${f.node}${f.endpoint ? ` (${f.endpoint})` : ''} caught${code}${f.reason ? `: ${f.reason}` : ''}${f.fraudProof ? ' (fraud proof attached)' : ''}\n`;
      }
      if (typeof r.extra.quorum === 'number') s += `quorum    ${r.extra.agreed ?? '?'} of ${r.extra.quorum} agreed${typeof r.extra.reason === 'string' ? `: ${r.extra.reason}` : ''}\n`;
      else if (typeof r.extra.reason === 'string') s += `reason    ${r.extra.reason}\n`;
      const c = r.checks;
      if (Object.keys(r.outputs).length) {
        s += `checked   ${c.signatures} receipt signature(s) (${c.executors.length} executor(s)); outputs match the signed output digest; ${c.input ? 'inputs match the signed input digest' : 'input digest not checked (model input types unknown)'}\n`;
      }
      if (status === 'pending') s += `pending   final after the challenge window${typeof r.extra.finalizesAt === 'number' ? ` (${new Date(r.extra.finalizesAt).toISOString()})` : ''}; run \`verinfer receipt ${r.receipts[0]?.typedData.message.requestId ?? '<id>'}\` or use --wait\n`;
      if (o.receiptOut && r.receipts[0]) s += `receipt   written to ${o.receiptOut}\n`;
      out(s);
    });
}
