import { Command } from 'commander';
import { VerinferError } from '../../errors.js';
import { ModelStore, defaultDataDir, type ModelSummary } from '../../store/store.js';

/** `--data-dir` for every store command. */
export function withDataDir(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', 'the model store folder (default $VERINFER_DATA_DIR or ~/.verinfer)');
}

export function openStore(o: { dataDir?: string }): Promise<ModelStore> {
  return ModelStore.open(o.dataDir ?? defaultDataDir());
}

export const out = (s: string): void => void process.stdout.write(s);
export const json = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + '\n');

export function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** `verinfer models`: list and search the store's models. */
export function modelsCommand(): Command {
  return withDataDir(
    new Command('models')
      .description('list the models in the local store (latest version of each), optionally filtered')
      .option('--tag <tag>', 'only models with this tag')
      .option('--task <task>', 'only models for this task')
      .option('--search <text>', 'only models whose name, description, task or tags contain this text')
      .option('--json', 'print one JSON object {"models": [...], "problems": [...]}'),
  ).action(async (o: { tag?: string; task?: string; search?: string; json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const r = await store.list({ tag: o.tag, task: o.task, search: o.search });
    if (o.json) return json(r);
    for (const p of r.problems) process.stderr.write(`warning: skipped ${p.file}: [${p.code}] ${p.message}\n`);
    if (r.models.length === 0) return out('no models\n');
    const rows = [['NAME', 'VERSION', 'TASK', 'TAGS', 'CID', 'SUMMARY']];
    for (const m of r.models as ModelSummary[]) {
      rows.push([m.name, m.latest + (m.versions.length > 1 ? ` (+${m.versions.length - 1})` : ''), m.task || '-', m.tags.join(',') || '-', m.pinned ? m.cid : `${m.cid} (not pinned)`, m.summary]);
    }
    out(table(rows));
  });
}

/** `verinfer pin <cid>`: pin a DAG already in the store (checks it is complete). */
export function pinCommand(): Command {
  return withDataDir(
    new Command('pin')
      .description('pin a DAG whose blocks are in the store (checks that every block is present)')
      .argument('<cid>', 'the root CID')
      .option('--json', 'print one JSON object'),
  ).action(async (cid: string, o: { json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const info = await store.pin(cid);
    if (o.json) return json(info);
    out(`pinned ${info.cid} (${info.blocks} blocks, ${mib(info.bytes)})\n`);
  });
}

/** `verinfer unpin <cid>`. */
export function unpinCommand(): Command {
  return withDataDir(
    new Command('unpin')
      .description('remove a pin; its blocks are deleted by the next gc')
      .argument('<cid>', 'the root CID')
      .option('--force', 'unpin even if published model versions name this CID (they become unreadable)')
      .option('--json', 'print one JSON object'),
  ).action(async (cid: string, o: { force?: boolean; json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const r = await store.unpin(cid, { force: !!o.force });
    if (o.json) return json({ cid, ...r });
    out(r.unpinned ? `unpinned ${cid}\n` : `${cid} was not pinned\n`);
    if (r.unpinned && r.versions.length) process.stderr.write(`warning: ${r.versions.join(', ')} can no longer be read from this store\n`);
  });
}

/** `verinfer gc`. */
export function gcCommand(): Command {
  return withDataDir(
    new Command('gc')
      .description('delete blocks no pin reaches (waits for publishes/imports in progress)')
      .option('--wait <seconds>', 'how long to wait for publishes/imports in progress', '60')
      .option('--json', 'print one JSON object'),
  ).action(async (o: { wait: string; json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const wait = Number(o.wait);
    if (!Number.isFinite(wait) || wait < 0) throw new VerinferError('INVALID_ARGUMENT', `--wait must be a number of seconds, got ${o.wait}`, { option: '--wait' });
    const waitMs = wait * 1000;
    const r = await store.gc({ waitMs });
    if (o.json) return json(r);
    out(`removed ${r.removedBlocks} blocks (${mib(r.removedBytes)}), kept ${r.keptBlocks} blocks (${mib(r.keptBytes)}) of ${r.pins} pins\n`);
  });
}
