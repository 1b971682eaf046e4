import { CarBlockIterator } from '@ipld/car/iterator';
import { CarWriter } from '@ipld/car/writer';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { exporter } from 'ipfs-unixfs-exporter';
import { importBytes } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { VerinferError } from '../errors.js';
import { MODEL_CID_OPTIONS, modelCid } from '../hash/cid.js';
import { BlockStore, blockLinks, bytesMatchCid, toCid } from './blockstore.js';
import { errCode, ioError, sleep, writeFileAtomic, writeFileExclusive } from './fsutil.js';
import { Locks, type Held } from './lock.js';
import { METADATA_SCHEMA, normalizeTags, parseMetadata, signMetadata, type MetadataSigner, type ModelMetadata } from './metadata.js';
import { analyzeModel, type ModelReport, type ReportOptions } from './report.js';
import { checkName, checkVersion, compareVersions, latestVersion, nextVersion } from './version.js';

/**
 * The local model store (see README.md in this folder for the layout and the
 * crash/concurrency rules). One `ModelStore` per data dir; several processes
 * may share a data dir.
 */

/** `--data-dir`, else `$VERINFER_DATA_DIR`, else `~/.verinfer`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VERINFER_DATA_DIR ? resolvePath(env.VERINFER_DATA_DIR) : join(homedir(), '.verinfer');
}

export interface PinInfo {
  cid: string;
  pinnedAt: number;
  /** Blocks and total block bytes of the DAG. */
  blocks: number;
  bytes: number;
}

export type PublishPhase = 'validating' | 'storing' | 'pinning' | 'signing' | 'done';

export interface PublishProgress {
  phase: PublishPhase;
  /** Blocks handed to the store so far (storing). */
  blocks: number;
  /** File bytes stored so far (leaf data). */
  bytes: number;
  totalBytes: number;
}

export interface PublishOptions {
  name: string;
  /** Omitted: the next version after the latest (see version.ts), or the existing version that already names this CID. */
  version?: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: string[];
  /** Signs the metadata; its address becomes `author`. */
  account: MetadataSigner;
  /** Unix seconds (default now). */
  publishedAt?: number;
  onProgress?: (p: PublishProgress) => void;
  report?: ReportOptions;
  /** Testing only: wait this long after each block write (to observe/kill a publish in progress). */
  blockDelayMs?: number;
}

export interface PublishResult {
  cid: string;
  name: string;
  version: string;
  /** False when this name@version already named this CID (an idempotent re-publish): nothing new was written. */
  created: boolean;
  metadata: ModelMetadata;
  report: ModelReport;
  blocks: { total: number; written: number };
}

export interface ModelSummary {
  name: string;
  latest: string;
  versions: string[];
  cid: string;
  task: string;
  license: string;
  tags: string[];
  author: string;
  publishedAt: number;
  /** The first line of the description. */
  summary: string;
  pinned: boolean;
}

export interface ListFilter {
  tag?: string;
  task?: string;
  /** Case-insensitive substring of the name, description, task or tags. */
  search?: string;
}

export interface ListResult {
  models: ModelSummary[];
  /** Metadata files that failed verification (skipped from the list). */
  problems: { file: string; code: string; message: string }[];
}

export interface GcResult {
  removedBlocks: number;
  removedBytes: number;
  keptBlocks: number;
  keptBytes: number;
  removedTempFiles: number;
  pins: number;
  /** Time spent waiting for publishes/imports in progress to finish. */
  waitedMs: number;
}

export interface ResolvedRef {
  cid: string;
  /** Present when the reference was a name or name@version. */
  metadata?: ModelMetadata;
}

export interface ExportResult {
  file: string;
  roots: string[];
  cid: string;
  metadataCid?: string;
  blocks: number;
  bytes: number;
}

export interface ImportResult {
  roots: string[];
  /** Model roots pinned by the import. */
  pinned: string[];
  models: { name: string; version: string; cid: string; created: boolean }[];
  blocks: number;
  written: number;
  bytes: number;
}

function importerOptions() {
  const o = MODEL_CID_OPTIONS;
  return {
    cidVersion: o.cidVersion,
    rawLeaves: o.rawLeaves,
    reduceSingleLeafToSelf: o.reduceSingleLeafToSelf,
    chunker: fixedSize({ chunkSize: o.chunkSize }),
    layout: balanced({ maxChildrenPerNode: o.maxChildrenPerNode }),
  };
}

const notFound = (what: string, details: Record<string, unknown>) => new VerinferError('MODEL_NOT_FOUND', what, details);

function looksLikeCid(ref: string): boolean {
  if (ref.includes('@') || ref.includes('/')) return false;
  try {
    CID.parse(ref);
    return true;
  } catch {
    return false;
  }
}

async function concatIterable(it: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const p of it) {
    parts.push(p);
    n += p.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export class ModelStore {
  readonly dir: string;
  readonly blocks: BlockStore;
  readonly locks: Locks;
  readonly tmpDir: string;
  readonly pinDir: string;
  readonly modelDir: string;
  /** Default publisher key (created by the CLI on first publish without --key). */
  readonly keyPath: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.tmpDir = join(dir, 'tmp');
    this.pinDir = join(dir, 'pins');
    this.modelDir = join(dir, 'models');
    this.keyPath = join(dir, 'key.json');
    this.blocks = new BlockStore(join(dir, 'blocks'), this.tmpDir);
    this.locks = new Locks(dir);
  }

  /** Opens (creating if needed, mode 0700) a data dir. */
  static async open(dataDir: string = defaultDataDir()): Promise<ModelStore> {
    const dir = resolvePath(dataDir);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const st = await stat(dir);
      if (!st.isDirectory()) throw new Error('ENOTDIR');
      for (const d of ['blocks', 'tmp', 'pins', 'models', 'leases']) await mkdir(join(dir, d), { recursive: true });
    } catch (e) {
      throw ioError('cannot open data dir', dir, e);
    }
    return new ModelStore(dir);
  }

  // -------------------------------------------------------------------------
  // Blocks (what a gateway and a fetcher use)

  /** True if the block file exists (not verified). */
  has(cid: CID | string): Promise<boolean> {
    return this.blocks.has(cid);
  }

  /** A block's bytes, verified against its CID (BLOCK_NOT_FOUND / BLOCK_CORRUPT). */
  get(cid: CID | string): Promise<Uint8Array> {
    return this.blocks.get(cid);
  }

  /**
   * Stores one block after verifying it hashes to `cid`. Durable after the
   * next `pin` (or `blocks.sync()`). Hold a `lease` while putting blocks you
   * mean to pin, or a concurrent `gc` may remove them.
   */
  put(cid: CID | string, bytes: Uint8Array): Promise<boolean> {
    return this.blocks.put(cid, bytes);
  }

  /** A lease that keeps gc away while you put blocks and pin (see lock.ts). Release it when done. */
  lease(purpose = 'write'): Promise<Held> {
    return this.locks.lease(purpose);
  }

  private async withLease<T>(purpose: string, held: Held | undefined, fn: () => Promise<T>): Promise<T> {
    if (held) return fn();
    const l = await this.locks.lease(purpose);
    try {
      return await fn();
    } finally {
      await l.release();
    }
  }

  // -------------------------------------------------------------------------
  // Pins

  private pinPath(cid: CID): string {
    return join(this.pinDir, `${cid.toString()}.json`);
  }

  /**
   * Pins a root after checking its DAG is complete: every dag-pb node present
   * and verified, every raw leaf present (leaves are verified when read).
   * Makes pending block writes durable first. Throws BLOCK_NOT_FOUND /
   * BLOCK_CORRUPT (nothing pinned). Takes a lease unless `lease` is given.
   */
  async pin(root: CID | string, options: { lease?: Held } = {}): Promise<PinInfo> {
    const cid = toCid(root);
    return this.withLease('pin', options.lease, async () => {
      let blocks = 0;
      let bytes = 0;
      try {
        for await (const b of this.blocks.walk(cid, { readLeaves: false })) {
          blocks++;
          bytes += b.bytes ? b.bytes.length : ((await this.blocks.size(b.cid)) ?? 0);
        }
      } catch (e) {
        if (e instanceof VerinferError && (e.code === 'BLOCK_NOT_FOUND' || e.code === 'BLOCK_CORRUPT')) {
          throw new VerinferError(e.code, `cannot pin ${cid}: the DAG is incomplete: ${e.message}`, { ...e.details, root: cid.toString() });
        }
        throw e;
      }
      await this.blocks.sync();
      const info: PinInfo = { cid: cid.toString(), pinnedAt: Math.floor(Date.now() / 1000), blocks, bytes };
      const existing = await this.pinInfo(cid);
      if (existing) return existing;
      await writeFileAtomic(this.tmpDir, this.pinDir, `${cid}.json`, JSON.stringify(info) + '\n');
      return info;
    });
  }

  async pinInfo(cid: CID | string): Promise<PinInfo | undefined> {
    const c = toCid(cid);
    try {
      return JSON.parse(await readFile(this.pinPath(c), 'utf8')) as PinInfo;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      if (e instanceof SyntaxError) return { cid: c.toString(), pinnedAt: 0, blocks: 0, bytes: 0 };
      throw ioError('cannot read pin', this.pinPath(c), e);
    }
  }

  async isPinned(cid: CID | string): Promise<boolean> {
    try {
      await stat(this.pinPath(toCid(cid)));
      return true;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return false;
      throw e;
    }
  }

  async pins(): Promise<PinInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.pinDir);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return [];
      throw ioError('cannot list', this.pinDir, e);
    }
    const out: PinInfo[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.json')) continue;
      let cid: CID;
      try {
        cid = toCid(n.slice(0, -5));
      } catch {
        continue;
      }
      const info = await this.pinInfo(cid);
      if (info) out.push(info);
    }
    return out;
  }

  /**
   * Removes a pin; its blocks go at the next gc (unless another pin shares
   * them). PIN_IN_USE if model versions name this CID, unless `force`.
   * Returns false if it was not pinned.
   */
  async unpin(root: CID | string, options: { force?: boolean } = {}): Promise<{ unpinned: boolean; versions: string[] }> {
    const cid = toCid(root);
    const versions = (await this.versionsNaming(cid.toString())).map((m) => `${m.name}@${m.version}`);
    if (versions.length && !options.force) {
      throw new VerinferError('PIN_IN_USE', `${cid} is the model of ${versions.join(', ')}; unpinning makes them unreadable (use --force)`, {
        cid: cid.toString(),
        versions,
      });
    }
    try {
      await unlink(this.pinPath(cid));
      return { unpinned: true, versions };
    } catch (e) {
      if (errCode(e) === 'ENOENT') return { unpinned: false, versions };
      throw ioError('cannot unpin', this.pinPath(cid), e);
    }
  }

  // -------------------------------------------------------------------------
  // Reading models

  /** Resolves `cid`, `name` (latest version) or `name@version`. Metadata is verified. */
  async resolve(ref: string): Promise<ResolvedRef> {
    if (looksLikeCid(ref)) return { cid: toCid(ref).toString() };
    const at = ref.lastIndexOf('@');
    const name = at < 0 ? ref : ref.slice(0, at);
    const version = at < 0 ? undefined : ref.slice(at + 1);
    const metadata = await this.getMetadata(name, version);
    return { cid: metadata.cid, metadata };
  }

  /**
   * The bytes of a model as a stream of chunks, reassembled from its DAG with
   * ipfs-unixfs-exporter; every block read is verified (BLOCK_CORRUPT names
   * the bad block). MODEL_NOT_FOUND unless the root is pinned.
   */
  async *cat(ref: string | CID): AsyncGenerator<Uint8Array> {
    const cid = typeof ref === 'string' ? toCid((await this.resolve(ref)).cid) : toCid(ref);
    if (!(await this.isPinned(cid))) {
      throw notFound(`model ${cid} is not in the store (not pinned)`, { cid: cid.toString() });
    }
    let entry;
    try {
      entry = await exporter(cid, this.blocks.reader());
    } catch (e) {
      throw this.readError(cid, e);
    }
    if (entry.type !== 'file' && entry.type !== 'raw') {
      throw new VerinferError('MODEL_INVALID', `${cid} is a UnixFS ${entry.type}, not a file`, { cid: cid.toString() });
    }
    try {
      for await (const chunk of entry.content()) yield chunk;
    } catch (e) {
      throw this.readError(cid, e);
    }
  }

  private readError(cid: CID, e: unknown): VerinferError {
    if (e instanceof VerinferError) return e;
    return new VerinferError('MODEL_INVALID', `cannot read ${cid} as a UnixFS file: ${(e as Error)?.message ?? String(e)}`, { cid: cid.toString() });
  }

  /** A model's complete bytes (see `cat`). */
  async readModel(ref: string | CID): Promise<Uint8Array> {
    return concatIterable(this.cat(ref));
  }

  /** Reads every block of a DAG, verifying each; returns its block count and bytes. */
  async checkDag(root: string | CID): Promise<{ blocks: number; bytes: number }> {
    let blocks = 0;
    let bytes = 0;
    for await (const b of this.blocks.walk(root)) {
      blocks++;
      bytes += b.bytes!.length;
    }
    return { blocks, bytes };
  }

  // -------------------------------------------------------------------------
  // Metadata

  private versionDir(name: string): string {
    return join(this.modelDir, ...checkName(name).split('/'));
  }

  /** Published versions of a name, ascending. */
  async versions(name: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.versionDir(name));
    } catch (e) {
      if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return [];
      throw ioError('cannot list', this.versionDir(name), e);
    }
    const out: string[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const v = n.slice(0, -5);
      try {
        out.push(checkVersion(v));
      } catch {
        /* not a version file */
      }
    }
    return out.sort(compareVersions);
  }

  /** Every published model name (sorted). */
  async names(): Promise<string[]> {
    const out: string[] = [];
    const scan = async (dir: string, prefix: string, depth: number) => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (errCode(e) === 'ENOENT') return;
        throw ioError('cannot list', dir, e);
      }
      if (prefix && entries.some((e) => e.isFile() && e.name.endsWith('.json'))) out.push(prefix);
      if (depth >= 2) return;
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const name = prefix ? `${prefix}/${e.name}` : e.name;
        try {
          checkName(name);
        } catch {
          continue;
        }
        await scan(join(dir, e.name), name, depth + 1);
      }
    };
    await scan(this.modelDir, '', 0);
    return out.sort();
  }

  /** Verified metadata of name@version (latest if no version). MODEL_NOT_FOUND / METADATA_INVALID. */
  async getMetadata(name: string, version?: string): Promise<ModelMetadata> {
    checkName(name);
    if (version === undefined) {
      version = latestVersion(await this.versions(name));
      if (version === undefined) throw notFound(`no model named ${name}`, { name });
    }
    checkVersion(version);
    const file = join(this.versionDir(name), `${version}.json`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (errCode(e) === 'ENOENT') {
        const versions = await this.versions(name);
        throw notFound(versions.length ? `${name} has no version ${version} (versions: ${versions.join(', ')})` : `no model named ${name}`, {
          name,
          version,
          versions,
        });
      }
      throw ioError('cannot read', file, e);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new VerinferError('METADATA_INVALID', `${file} is not valid JSON`, { file });
    }
    const doc = await parseMetadata(json, file);
    if (doc.name !== name || doc.version !== version) {
      throw new VerinferError('METADATA_INVALID', `${file} holds ${doc.name}@${doc.version}, not ${name}@${version}`, { file });
    }
    return doc;
  }

  /** Every (verified) model version that names `cid`. */
  async versionsNaming(cid: string): Promise<ModelMetadata[]> {
    const out: ModelMetadata[] = [];
    for (const name of await this.names()) {
      for (const v of await this.versions(name)) {
        try {
          const m = await this.getMetadata(name, v);
          if (m.cid === cid) out.push(m);
        } catch {
          /* invalid metadata names nothing */
        }
      }
    }
    return out;
  }

  /** Models (latest version of each name) matching the filter. */
  async list(filter: ListFilter = {}): Promise<ListResult> {
    const models: ModelSummary[] = [];
    const problems: ListResult['problems'] = [];
    const search = filter.search?.toLowerCase();
    for (const name of await this.names()) {
      const versions = await this.versions(name);
      const latest = latestVersion(versions);
      if (!latest) continue;
      let m: ModelMetadata;
      try {
        m = await this.getMetadata(name, latest);
      } catch (e) {
        const err = e instanceof VerinferError ? e : new VerinferError('STORE_IO', String(e));
        problems.push({ file: join(this.versionDir(name), `${latest}.json`), code: err.code, message: err.message });
        continue;
      }
      if (filter.tag && !m.tags.includes(filter.tag.toLowerCase())) continue;
      if (filter.task && m.task !== filter.task.toLowerCase()) continue;
      if (search && ![m.name, m.description, m.task, ...m.tags].some((s) => s.toLowerCase().includes(search))) continue;
      models.push({
        name,
        latest,
        versions,
        cid: m.cid,
        task: m.task,
        license: m.license,
        tags: m.tags,
        author: m.author,
        publishedAt: m.publishedAt,
        summary: (m.description.split('\n').find((l) => l.trim() !== '') ?? '').replace(/^#+\s*/, '').slice(0, 160),
        pinned: await this.isPinned(m.cid),
      });
    }
    return { models, problems };
  }

  /**
   * Writes a signed metadata document for name@version unless it exists.
   * Same CID already there: returns it (created false). Different CID: VERSION_EXISTS.
   */
  private async writeMetadata(doc: ModelMetadata): Promise<{ metadata: ModelMetadata; created: boolean }> {
    const dir = this.versionDir(doc.name);
    const created = await writeFileExclusive(this.tmpDir, dir, `${doc.version}.json`, JSON.stringify(doc, null, 2) + '\n');
    if (created) return { metadata: doc, created };
    const existing = await this.getMetadata(doc.name, doc.version);
    if (existing.cid !== doc.cid) {
      throw new VerinferError('VERSION_EXISTS', `${doc.name}@${doc.version} is already published with a different model (${existing.cid}); versions are immutable`, {
        name: doc.name,
        version: doc.version,
        existing: existing.cid,
        cid: doc.cid,
      });
    }
    return { metadata: existing, created: false };
  }

  // -------------------------------------------------------------------------
  // Publish

  /**
   * Publishes an ONNX file: validates it with the engine's loader (a file it
   * rejects throws that typed error and nothing is stored), builds the report,
   * stores its UnixFS blocks (kubo `ipfs add --cid-version=1` layout), pins the
   * root once every block is durably written, then writes the signed metadata.
   */
  async publish(bytes: Uint8Array, options: PublishOptions): Promise<PublishResult> {
    const name = checkName(options.name);
    if (options.version !== undefined) checkVersion(options.version);
    const description = options.description ?? '';
    const task = (options.task ?? '').trim().toLowerCase();
    const license = (options.license ?? '').trim();
    const tags = normalizeTags(options.tags ?? []);
    const totalBytes = bytes.length;
    const progress = (phase: PublishPhase, blocks = 0, done = 0) => options.onProgress?.({ phase, blocks, bytes: done, totalBytes });

    progress('validating');
    const { io, report } = analyzeModel(bytes, options.report);
    // Validate the metadata fields now (a dry-run signature-less check), so a bad tag stores nothing.
    const publishedAt = options.publishedAt ?? Math.floor(Date.now() / 1000);
    const draftFields = { name, description, task, license, tags, publishedAt, io, report };
    await signMetadata({ ...draftFields, version: options.version ?? '1.0.0', cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' }, dryRunSigner(options.account));
    if (options.version !== undefined) {
      const existing = await this.getMetadata(name, options.version).catch((e) => {
        if (e instanceof VerinferError && e.code === 'MODEL_NOT_FOUND') return undefined;
        throw e;
      });
      if (existing) {
        const { cid } = await modelCid(bytes);
        if (existing.cid !== cid) {
          throw new VerinferError('VERSION_EXISTS', `${name}@${options.version} is already published with a different model (${existing.cid}); versions are immutable`, {
            name,
            version: options.version,
            existing: existing.cid,
            cid,
          });
        }
      }
    }

    const lease = await this.locks.lease(`publish ${name}`);
    try {
      let blocks = 0;
      let written = 0;
      let done = 0;
      const store = this.blocks;
      const delay = options.blockDelayMs ?? 0;
      const writer = {
        async put(cid: CID, value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>) {
          const b = value instanceof Uint8Array ? value : await concatIterable(value);
          if (await store.put(cid, b)) written++;
          blocks++;
          if (cid.code === raw.code) done += b.length;
          progress('storing', blocks, done);
          if (delay) await sleep(delay);
          return cid;
        },
      };
      progress('storing', 0, 0);
      const result = await importBytes(bytes, writer, { ...importerOptions(), blockWriteConcurrency: delay ? 1 : 8 });
      const cid = result.cid.toString();
      progress('pinning', blocks, done);
      await this.pin(result.cid, { lease });

      progress('signing', blocks, done);
      for (let attempt = 0; ; attempt++) {
        let version = options.version;
        if (version === undefined) {
          const versions = await this.versions(name);
          for (const v of [...versions].reverse()) {
            const m = await this.getMetadata(name, v).catch(() => undefined);
            if (m?.cid === cid) {
              progress('done', blocks, done);
              return { cid, name, version: v, created: false, metadata: m, report: m.report, blocks: { total: blocks, written } };
            }
          }
          version = nextVersion(versions);
        }
        const doc = await signMetadata({ ...draftFields, version, cid }, options.account);
        try {
          const r = await this.writeMetadata(doc);
          progress('done', blocks, done);
          return { cid, name, version, created: r.created, metadata: r.metadata, report: r.metadata.report, blocks: { total: blocks, written } };
        } catch (e) {
          // Lost a race for an automatic version number: pick the next one.
          if (options.version === undefined && e instanceof VerinferError && e.code === 'VERSION_EXISTS' && attempt < 50) continue;
          throw e;
        }
      }
    } finally {
      await lease.release();
    }
  }

  // -------------------------------------------------------------------------
  // Garbage collection

  /**
   * Removes every block not reachable from a pin, and leftover temp files.
   * Waits (up to `waitMs`) for publishes/imports in progress in any process
   * (STORE_BUSY after that); they cannot start while gc runs. If a pinned DAG
   * is damaged (missing or corrupt block) gc stops and deletes nothing.
   */
  async gc(options: { waitMs?: number } = {}): Promise<GcResult> {
    const t0 = Date.now();
    const held = await this.locks.gcLock(options.waitMs ?? 60_000);
    const waitedMs = Date.now() - t0;
    try {
      const live = new Set<string>();
      const pins = await this.pins();
      for (const p of pins) {
        try {
          for await (const b of this.blocks.walk(p.cid, { readLeaves: false })) live.add(b.cid.toString());
        } catch (e) {
          if (e instanceof VerinferError && (e.code === 'BLOCK_NOT_FOUND' || e.code === 'BLOCK_CORRUPT')) {
            throw new VerinferError(e.code, `gc stopped, nothing deleted: pinned DAG ${p.cid} is damaged (${e.message}); re-import it or unpin it`, {
              ...e.details,
              root: p.cid,
            });
          }
          throw e;
        }
      }
      const r: GcResult = { removedBlocks: 0, removedBytes: 0, keptBlocks: 0, keptBytes: 0, removedTempFiles: 0, pins: pins.length, waitedMs };
      for await (const b of this.blocks.list()) {
        if (b.cid && live.has(b.cid.toString())) {
          r.keptBlocks++;
          r.keptBytes += b.size;
          continue;
        }
        await unlink(b.path).catch((e) => {
          if (errCode(e) !== 'ENOENT') throw ioError('cannot delete', b.path, e);
        });
        r.removedBlocks++;
        r.removedBytes += b.size;
      }
      await this.blocks.pruneEmptyShards();
      // No writer holds a lease now, so every temp file is a leftover of a dead process.
      for (const n of await readdir(this.tmpDir).catch(() => [] as string[])) {
        await unlink(join(this.tmpDir, n)).then(
          () => r.removedTempFiles++,
          () => {},
        );
      }
      return r;
    } finally {
      await held.release();
    }
  }

  // -------------------------------------------------------------------------
  // CAR files

  /**
   * Writes a CARv1 file with the model's DAG (roots[0] = model CID; blocks
   * depth-first, as `ipfs dag export` orders them), every block verified. For a
   * name or name@version the signed metadata document is added as a second
   * root (one raw block), so `import` restores the name too. The file appears
   * atomically (temp + rename).
   */
  async exportCar(ref: string, file: string): Promise<ExportResult> {
    const { cid: cidStr, metadata } = await this.resolve(ref);
    const cid = toCid(cidStr);
    if (!(await this.isPinned(cid))) throw notFound(`model ${cid} is not in the store (not pinned)`, { cid: cidStr });
    let metaBytes: Uint8Array | undefined;
    let metaCid: CID | undefined;
    if (metadata) {
      metaBytes = new TextEncoder().encode(JSON.stringify(metadata));
      metaCid = CID.createV1(raw.code, await sha256.digest(metaBytes));
    }
    const roots = metaCid ? [cid, metaCid] : [cid];
    const target = resolvePath(file);
    const tmp = join(dirname(target), `.${randomBytes(6).toString('hex')}.car.tmp`);
    const { writer, out } = CarWriter.create(roots);
    const sink = pipeline(Readable.from(out), createWriteStream(tmp, { flags: 'wx' }));
    let blocks = 0;
    let bytes = 0;
    try {
      try {
        for await (const b of this.blocks.walk(cid)) {
          await writer.put({ cid: b.cid, bytes: b.bytes! });
          blocks++;
          bytes += b.bytes!.length;
        }
        if (metaCid && metaBytes) {
          await writer.put({ cid: metaCid, bytes: metaBytes });
          blocks++;
          bytes += metaBytes.length;
        }
      } finally {
        await writer.close();
      }
      await sink;
      await rename(tmp, target);
    } catch (e) {
      await sink.catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e instanceof VerinferError ? e : ioError('cannot write', target, e);
    }
    return { file: target, roots: roots.map(String), cid: cidStr, metadataCid: metaCid?.toString(), blocks, bytes };
  }

  private async *carBlocks(file: string): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
    let it: CarBlockIterator;
    try {
      it = await CarBlockIterator.fromIterable(createReadStream(file));
    } catch (e) {
      if (errCode(e) === 'ENOENT' || errCode(e) === 'EISDIR' || errCode(e) === 'EACCES') {
        throw new VerinferError('INVALID_INPUT_FILE', `cannot read ${file}: ${errCode(e)}`, { file });
      }
      throw new VerinferError('CAR_INVALID', `${file} is not a CAR file: ${(e as Error).message}`, { file });
    }
    try {
      for await (const b of it) yield { cid: b.cid, bytes: b.bytes };
    } catch (e) {
      if (e instanceof VerinferError) throw e;
      throw new VerinferError('CAR_INVALID', `${file} is not a valid CAR file: ${(e as Error).message}`, { file });
    }
  }

  private async carRoots(file: string): Promise<CID[]> {
    try {
      const it = await CarBlockIterator.fromIterable(createReadStream(file));
      return await it.getRoots();
    } catch (e) {
      if (errCode(e) === 'ENOENT' || errCode(e) === 'EISDIR' || errCode(e) === 'EACCES') {
        throw new VerinferError('INVALID_INPUT_FILE', `cannot read ${file}: ${errCode(e)}`, { file });
      }
      throw new VerinferError('CAR_INVALID', `${file} is not a CAR file: ${(e as Error).message}`, { file });
    }
  }

  /**
   * Imports a CAR file. First pass, nothing written: every block must hash to
   * its CID, every root's DAG must be complete (in the CAR or already in the
   * store), and a root that is a metadata document (as `exportCar` writes) must
   * verify and must not conflict with a published version. Any failure
   * (CAR_INVALID, DAG_INCOMPLETE, METADATA_INVALID, VERSION_EXISTS) stores
   * nothing. Second pass: store the blocks reachable from the model roots, pin
   * those roots, write the metadata.
   */
  async importCar(file: string): Promise<ImportResult> {
    const roots = (await this.carRoots(file)).map((r) => {
      try {
        return toCid(r);
      } catch (e) {
        throw new VerinferError('CAR_INVALID', `CAR root ${r} is not supported: ${(e as Error).message}`, { file, root: r.toString() });
      }
    });
    if (roots.length === 0) throw new VerinferError('CAR_INVALID', `${file} has no roots`, { file });
    const rootKeys = new Set(roots.map(String));
    const links = new Map<string, string[]>();
    const metaDocs = new Map<string, unknown>();
    let count = 0;
    for await (const b of this.carBlocks(file)) {
      let cid: CID;
      try {
        cid = toCid(b.cid);
      } catch (e) {
        throw new VerinferError('CAR_INVALID', `block ${b.cid} in ${file}: ${(e as Error).message}`, { file, cid: b.cid.toString() });
      }
      if (!(await bytesMatchCid(cid, b.bytes))) {
        throw new VerinferError('CAR_INVALID', `block ${cid} in ${file} does not hash to its CID (corrupt or tampered); nothing was imported`, {
          file,
          cid: cid.toString(),
        });
      }
      count++;
      const key = cid.toString();
      try {
        links.set(key, blockLinks(cid, b.bytes).map((l) => toCid(l).toString()));
      } catch (e) {
        throw new VerinferError('CAR_INVALID', `block ${cid} in ${file}: ${(e as Error).message}`, { file, cid: key });
      }
      if (rootKeys.has(key) && cid.code === raw.code && b.bytes.length < 1024 * 1024 && b.bytes[0] === 0x7b /* { */) {
        try {
          const json = JSON.parse(new TextDecoder().decode(b.bytes)) as { schema?: unknown };
          if (json && json.schema === METADATA_SCHEMA) metaDocs.set(key, json);
        } catch {
          /* a JSON-looking model file: not metadata */
        }
      }
    }
    // Metadata documents must verify and name one of the model roots.
    const modelRoots = roots.filter((r) => !metaDocs.has(r.toString()));
    const docs: ModelMetadata[] = [];
    for (const [key, json] of metaDocs) {
      const doc = await parseMetadata(json, `${file} (block ${key})`);
      if (!modelRoots.some((r) => r.toString() === doc.cid)) {
        throw new VerinferError('CAR_INVALID', `metadata ${doc.name}@${doc.version} in ${file} names ${doc.cid}, which is not a root of the CAR`, { file, cid: doc.cid });
      }
      const existing = await this.getMetadata(doc.name, doc.version).catch((e) => {
        if (e instanceof VerinferError && e.code === 'MODEL_NOT_FOUND') return undefined;
        throw e;
      });
      if (existing && existing.cid !== doc.cid) {
        throw new VerinferError('VERSION_EXISTS', `${doc.name}@${doc.version} is already published with a different model (${existing.cid}); nothing was imported`, {
          name: doc.name,
          version: doc.version,
          existing: existing.cid,
          cid: doc.cid,
        });
      }
      docs.push(doc);
    }
    // Every model root's DAG must be complete.
    const needed = new Set<string>();
    for (const r of modelRoots) {
      const stack = [r.toString()];
      while (stack.length) {
        const k = stack.pop()!;
        if (needed.has(k)) continue;
        needed.add(k);
        const l = links.get(k);
        if (l) stack.push(...l);
        else if (!(await this.blocks.has(k))) {
          throw new VerinferError('DAG_INCOMPLETE', `the DAG of ${r} is incomplete: block ${k} is neither in ${file} nor in the store; nothing was imported`, {
            file,
            root: r.toString(),
            cid: k,
          });
        }
      }
    }

    const lease = await this.locks.lease('import');
    try {
      let written = 0;
      let bytes = 0;
      let blocks = 0;
      const stored = new Set<string>();
      for await (const b of this.carBlocks(file)) {
        const cid = toCid(b.cid);
        const key = cid.toString();
        if (!needed.has(key) || stored.has(key)) continue;
        stored.add(key);
        if (await this.blocks.put(cid, b.bytes)) written++;
        blocks++;
        bytes += b.bytes.length;
      }
      await this.blocks.sync();
      const pinned: string[] = [];
      for (const r of modelRoots) {
        await this.pin(r, { lease });
        pinned.push(r.toString());
      }
      const models: ImportResult['models'] = [];
      for (const doc of docs) {
        const r = await this.writeMetadata(doc);
        models.push({ name: doc.name, version: doc.version, cid: doc.cid, created: r.created });
      }
      void count;
      return { roots: roots.map(String), pinned, models, blocks, written, bytes };
    } finally {
      await lease.release();
    }
  }
}

/** A signer that signs nothing: lets `signMetadata` validate fields before any work is stored. */
function dryRunSigner(account: MetadataSigner): MetadataSigner {
  return {
    address: account.address,
    signTypedData: (async () => ('0x' + '00'.repeat(64) + '1b') as `0x${string}`) as MetadataSigner['signTypedData'],
  };
}
