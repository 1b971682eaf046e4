import { Command } from 'commander';
import { json, mib, openStore, out, withDataDir } from './models.js';

/** `verinfer import <file.car>`. */
export function importCommand(): Command {
  return withDataDir(
    new Command('import')
      .description('import a CAR file: every block is verified and every DAG must be complete before anything is stored')
      .argument('<file>', 'a .car file')
      .option('--json', 'print one JSON object'),
  ).action(async (file: string, o: { json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const r = await store.importCar(file);
    if (o.json) return json(r);
    out(`imported ${r.blocks} blocks (${mib(r.bytes)}, ${r.written} new); pinned ${r.pinned.join(', ')}\n`);
    for (const m of r.models) out(`  ${m.name}@${m.version} ${m.cid}${m.created ? '' : ' (already published)'}\n`);
  });
}
