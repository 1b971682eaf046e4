import { Command } from 'commander';
import { json, mib, openStore, out, withDataDir } from './models.js';

/** `verinfer model <name|name@version|cid>`: one model's metadata, report and status. */
export function modelCommand(): Command {
  return withDataDir(
    new Command('model')
      .description('show a model: metadata (signature verified), report, versions and whether the store holds it')
      .argument('<ref>', 'name (latest version), name@version, or a CID')
      .option('--check', 'also read and verify every block of the model')
      .option('--json', 'print one JSON object'),
  ).action(async (ref: string, o: { check?: boolean; json?: boolean; dataDir?: string }) => {
    const store = await openStore(o);
    const { cid, metadata } = await store.resolve(ref);
    const pin = await store.pinInfo(cid);
    const versions = metadata ? await store.versions(metadata.name) : [];
    const namedBy = metadata ? [] : (await store.versionsNaming(cid)).map((m) => `${m.name}@${m.version}`);
    const check = o.check ? await store.checkDag(cid) : undefined;
    if (o.json) {
      return json({ cid, pinned: !!pin, pin: pin ?? null, ...(check ? { check: { ok: true, ...check } } : {}), versions, namedBy, metadata: metadata ?? null });
    }
    if (metadata) {
      const m = metadata;
      out(
        `${m.name}@${m.version}\n` +
          `  cid         ${cid}${pin ? '' : '  (not pinned: not readable from this store)'}\n` +
          `  author      ${m.author} (signature verified)\n` +
          `  published   ${new Date(m.publishedAt * 1000).toISOString()}\n` +
          `  task        ${m.task || '-'}\n` +
          `  license     ${m.license || '-'}\n` +
          `  tags        ${m.tags.join(', ') || '-'}\n` +
          `  versions    ${versions.join(', ')}\n`,
      );
      const rep = m.report as unknown as Record<string, unknown> & { fileBytes?: number; parameters?: number; flops?: number | null; verifiable?: boolean; ops?: Record<string, number> };
      const io = (vs: { name: string; dtype: string; shape: (number | string | null)[] | null }[]) =>
        vs.map((v) => `${v.name}: ${v.dtype}[${v.shape ? v.shape.map((d) => d ?? '?').join(', ') : '?'}]`).join('; ');
      out(
        `  inputs      ${io(m.io.inputs)}\n` +
          `  outputs     ${io(m.io.outputs)}\n` +
          (rep.fileBytes !== undefined ? `  size        ${mib(rep.fileBytes)}\n` : '') +
          (rep.ops ? `  ops         ${Object.entries(rep.ops).map(([k, v]) => `${k}×${v}`).join(', ')}\n` : '') +
          (rep.parameters !== undefined ? `  parameters  ${rep.parameters.toLocaleString('en-US')}\n` : '') +
          (rep.flops !== undefined ? `  flops       ${rep.flops === null ? 'unknown' : `~${rep.flops.toLocaleString('en-US')} (estimate at batch 1)`}\n` : '') +
          (rep.verifiable !== undefined ? `  verifiable  ${rep.verifiable ? 'yes' : 'no'}\n` : ''),
      );
      if (m.description.trim()) out(`\n${m.description.trimEnd()}\n`);
    } else {
      out(`${cid}\n  pinned      ${pin ? `yes (${pin.blocks} blocks, ${mib(pin.bytes)})` : 'no'}\n  published   ${namedBy.join(', ') || '-'}\n`);
    }
    if (check) out(`  check       ok: ${check.blocks} blocks verified (${mib(check.bytes)})\n`);
  });
}
