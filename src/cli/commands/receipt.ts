import { Command } from 'commander';
import { clientFrom, collectNode, DEFAULT_NODE, out } from './infer.js';

export function receiptCommand(): Command {
  return new Command('receipt')
    .description('show a receipt a node issued or watched: its status (pending/final/failed) and any fraud proof')
    .argument('<id>', 'the request id (0x + 64 hex digits)')
    .option('--node <url>', `a node URL (repeatable, tried in order); default $VERINFER_NODES or ${DEFAULT_NODE}`, collectNode)
    .option('--timeout-ms <ms>', 'timeout of one request to one node', '60000')
    .option('--json', 'print the record as one JSON object')
    .action(async (id: string, o: { node?: string[]; json?: boolean; timeoutMs?: string }) => {
      const r = await clientFrom(o).receipt(id);
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      const m = r.receipt.typedData.message;
      const iso = (s: number) => new Date(s).toISOString();
      let s = `request id  ${r.requestId}\n`;
      s += `status      ${r.status}${r.mode ? ` (mode ${r.mode})` : ''}\n`;
      if (typeof r.finalizesAt === 'number') s += `finalizes   ${iso(r.finalizesAt)}\n`;
      s += `model       ${r.receipt.modelCid}${typeof r.modelRef === 'string' ? ` (${r.modelRef})` : ''}\n`;
      s += `executor    ${m.executor} (signature checked)\n`;
      s += `input       ${m.input}\n`;
      s += `output      ${m.output}\n`;
      s += `trace root  ${m.traceRoot}\n`;
      s += `semantics   ${m.semantics}\n`;
      s += `issued      ${iso(m.issuedAt * 1000)}, expires ${iso(m.expiresAt * 1000)}\n`;
      s += `from        ${r.node}${r.role ? ` (${r.role})` : ''}\n`;
      s += `fraud proof ${r.fraudProof ? 'yes (the executor was caught)' : 'none'}\n`;
      out(s);
    });
}
