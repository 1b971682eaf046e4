import { Command } from 'commander';
import { json, mib, openStore, out, withDataDir } from './models.js';

/** `verinfer export <ref> <file.car>`. */
export function exportCommand(): Command {
  return withDataDir(
    new Command('export')
      .description('write a model as a CAR file (importable by `verinfer import` and `ipfs dag import`)')
      .argument('<ref>', 'a CID, name or name@version (a name also exports its signed metadata)')
      .argument('<file>', 'the .car file to write')
      .option('--json', 'print one JSON object'),
  ).action(async (ref: string, file: string, o: { json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const r = await store.exportCar(ref, file);
    if (o.json) return json(r);
    out(`exported ${r.cid} to ${r.file} (${r.blocks} blocks, ${mib(r.bytes)}${r.metadataCid ? ', with metadata' : ''})\n`);
  });
}
