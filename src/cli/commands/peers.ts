import { Command } from 'commander';
import { clientFrom, collectNode, DEFAULT_NODE, out, table } from './infer.js';

export function peersCommand(): Command {
  return new Command('peers')
    .description("list a node's known peers: address, endpoint, hosted models, reputation")
    .option('--node <url>', `a node URL (repeatable, the first that answers); default $VERINFER_NODES or ${DEFAULT_NODE}`, collectNode)
    .option('--timeout-ms <ms>', 'timeout of one request to one node', '60000')
    .option('--json', 'print one JSON object {"self", "peers"}')
    .action(async (o: { node?: string[]; json?: boolean; timeoutMs?: string }) => {
      const r = await clientFrom(o).peers();
      if (o.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
        return;
      }
      let s = `node ${r.self.endpoint} (${r.self.address}) knows ${r.peers.length} peer(s)\n`;
      if (r.peers.length) {
        const rows = r.peers.map((p) => [
          p.address,
          p.endpoint ?? '-',
          String(p.models?.length ?? 0),
          p.reputation?.caught ? `CAUGHT (${p.reputation.proofs} fraud proof(s))` : 'ok',
        ]);
        s += table(['address', 'endpoint', 'models', 'reputation'], rows) + '\n';
      }
      out(s);
    });
}
