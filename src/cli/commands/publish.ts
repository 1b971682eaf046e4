import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { VerinferError } from '../../errors.js';
import type { ModelStore, PublishProgress } from '../../store/store.js';
import { newKey, readKeyFile, writeKeyFile } from '../../platform/keyfile.js';
import { json, mib, openStore, out, withDataDir } from './models.js';

interface PublishCliOptions {
  name: string;
  version?: string;
  description?: string;
  descriptionFile?: string;
  task?: string;
  license?: string;
  tag: string[];
  key?: string;
  json?: boolean;
  dataDir?: string;
  node?: string;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new VerinferError('INVALID_INPUT_FILE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}

/** The publisher key: --key, else the store's key.json, created (mode 0600) on first use. */
function publisherKey(store: ModelStore, keyFile: string | undefined, quiet: boolean) {
  if (keyFile) return readKeyFile(keyFile);
  if (!existsSync(store.keyPath)) {
    const k = newKey();
    try {
      writeKeyFile(store.keyPath, k);
      if (!quiet) process.stderr.write(`created publisher key ${store.keyPath} (${k.address})\n`);
    } catch (e) {
      // Another process created it first: use theirs.
      if (!(e instanceof VerinferError && e.code === 'KEY_EXISTS')) throw e;
    }
  }
  return readKeyFile(store.keyPath);
}

/** Progress on stderr: rewritten in place on a terminal, at most ~4 lines a second otherwise. */
function progressReporter(file: string) {
  const tty = process.stderr.isTTY;
  let last = 0;
  let lastPhase = '';
  return (p: PublishProgress) => {
    const now = Date.now();
    if (p.phase === 'storing') {
      if (p.blocks > 0 && now - last < (tty ? 100 : 250) && p.bytes < p.totalBytes) return;
      last = now;
      const line = `storing ${file}: ${p.blocks} blocks, ${mib(p.bytes)} / ${mib(p.totalBytes)}`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    } else if (p.phase !== lastPhase) {
      if (tty && lastPhase === 'storing') process.stderr.write('\n');
      if (p.phase === 'validating') process.stderr.write(`validating ${file} (${mib(p.totalBytes)})\n`);
      else if (p.phase === 'pinning') process.stderr.write('pinning\n');
      else if (p.phase === 'signing') process.stderr.write('signing metadata\n');
    }
    lastPhase = p.phase;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function publishCommand(): Command {
  return withDataDir(
    new Command('publish')
      .description('validate an ONNX model, store it under its IPFS CID (kubo `ipfs add --cid-version=1`) and publish signed metadata')
      .argument('<model>', 'path to an .onnx file')
      .requiredOption('--name <name>', 'model name: lowercase letters, digits, . _ - (optionally namespace/name)')
      .option('--version <version>', 'version (default: next after the latest, 1.0.0 first; an existing version naming the same file is reused)')
      .option('--description-file <file>', 'Markdown description (model card)')
      .option('--description <text>', 'Markdown description given inline')
      .option('--task <task>', 'task, e.g. image-classification')
      .option('--license <license>', 'license, an SPDX identifier such as Apache-2.0')
      .option('--tag <tag>', 'a tag (repeatable, or comma-separated)', collect, [] as string[])
      .option('--key <file>', 'publisher key file (default: <data-dir>/key.json, created on first publish)')
      .option('--json', 'print one JSON object {"cid", "name", "version", "created", "author", "report"}')
      .option('--node <url>', 'publish to this node over HTTP (POST /v1/models; the node signs the metadata with its key) instead of the local store'),
  ).action(async (modelPath: string, o: PublishCliOptions) => {
    if (o.description !== undefined && o.descriptionFile !== undefined) {
      throw new VerinferError('INVALID_ARGUMENT', 'use either --description or --description-file, not both', { option: '--description-file' });
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(modelPath));
    } catch (e) {
      throw new VerinferError('INVALID_INPUT_FILE', `cannot read model ${modelPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: modelPath });
    }
    const description = o.descriptionFile !== undefined ? readText(o.descriptionFile, 'description') : (o.description ?? '');
    if (o.node !== undefined) {
      // Publishing to a node: a separate path; the node validates, stores and signs (its key, not --key).
      if (o.key !== undefined) throw new VerinferError('INVALID_ARGUMENT', '--key is not used with --node: the node signs the metadata with its own key', { option: '--key' });
      const { createClient } = await import('../../client/client.js');
      const r = await createClient({ nodes: [o.node] }).publish(bytes, { name: o.name, version: o.version, description, task: o.task, license: o.license, tags: o.tag });
      if (o.json) return json({ cid: r.cid, name: r.name, version: r.version, created: r.created, author: r.author, blocks: r.blocks, report: r.report, node: r.node });
      return out(`${r.created ? 'published' : 'already published'} ${r.name}@${r.version} on ${r.node}\n  cid         ${r.cid}\n  author      ${r.author}\n`);
    }
    const store = await openStore(o);
    const key = publisherKey(store, o.key, !!o.json);
    const delay = Number(process.env.VERINFER_TEST_BLOCK_DELAY_MS ?? 0);
    const r = await store.publish(bytes, {
      name: o.name,
      version: o.version,
      description,
      task: o.task,
      license: o.license,
      tags: o.tag,
      account: key.account,
      onProgress: o.json ? undefined : progressReporter(modelPath),
      blockDelayMs: Number.isFinite(delay) && delay > 0 ? delay : undefined,
    });
    const rep = r.report;
    if (o.json) {
      return json({ cid: r.cid, name: r.name, version: r.version, created: r.created, author: r.metadata.author, blocks: r.blocks, report: rep });
    }
    if (!rep.verifiable) process.stderr.write(`warning: not verifiable: unsupported ops ${rep.unsupportedOps.join(', ') || '(see report warnings)'}\n`);
    for (const w of rep.warnings) process.stderr.write(`warning: ${w}\n`);
    const io = (vs: typeof rep.inputs) => vs.map((v) => `${v.name}: ${v.dtype}[${v.shape ? v.shape.map((d) => d ?? '?').join(', ') : '?'}]`).join('; ');
    out(
      `${r.created ? 'published' : 'already published'} ${r.name}@${r.version}\n` +
        `  cid         ${r.cid}\n` +
        `  author      ${r.metadata.author}\n` +
        `  size        ${mib(rep.fileBytes)} (${r.blocks.total} blocks)\n` +
        `  inputs      ${io(rep.inputs)}\n` +
        `  outputs     ${io(rep.outputs)}\n` +
        `  ops         ${Object.entries(rep.ops).map(([k, v]) => `${k}×${v}`).join(', ')}\n` +
        `  parameters  ${rep.parameters.toLocaleString('en-US')}\n` +
        `  flops       ${rep.flops === null ? 'unknown' : `~${rep.flops.toLocaleString('en-US')} (estimate at batch 1)`}\n` +
        `  verifiable  ${rep.verifiable ? 'yes' : `no (unsupported: ${rep.unsupportedOps.join(', ')})`}\n`,
    );
  });
}
