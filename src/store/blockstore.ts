import * as dagPb from '@ipld/dag-pb';
import { mkdir, readdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { VerinferError } from '../errors.js';
import { errCode, fsyncDir, ioError, writeTemp } from './fsutil.js';

/** sha2-256 multihash code: the only hash the store accepts (what kubo uses by default). */
export const SHA2_256 = 0x12;
/** Largest block the store accepts (kubo's hard limit for a block is 2 MiB; our chunks are 256 KiB). */
export const MAX_BLOCK_BYTES = 2 * 1024 * 1024;

/** Parses a CID string (or passes a CID through); only CIDv1, sha2-256, raw or dag-pb. Throws INVALID_CID. */
export function toCid(cid: CID | string): CID {
  let c: CID;
  if (typeof cid === 'string') {
    try {
      c = CID.parse(cid.trim());
    } catch (e) {
      throw new VerinferError('INVALID_CID', `not a CID: ${cid} (${(e as Error).message})`, { cid });
    }
  } else c = cid;
  if (c.version !== 1) c = c.toV1();
  if (c.multihash.code !== SHA2_256 || c.multihash.digest.length !== 32) {
    throw new VerinferError('INVALID_CID', `${c} does not use a sha2-256 multihash; the store accepts only sha2-256 CIDs`, { cid: c.toString() });
  }
  if (c.code !== raw.code && c.code !== dagPb.code) {
    throw new VerinferError('INVALID_CID', `${c} has codec 0x${c.code.toString(16)}; the store accepts only raw (0x55) and dag-pb (0x70) blocks`, {
      cid: c.toString(),
    });
  }
  return c;
}

/** True if `bytes` hash to `cid`'s sha2-256 digest. */
export async function bytesMatchCid(cid: CID, bytes: Uint8Array): Promise<boolean> {
  const d = await sha256.digest(bytes);
  const want = cid.multihash.digest;
  if (d.digest.length !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (d.digest[i] !== want[i]) return false;
  return true;
}

/** The CIDs a block links to (dag-pb links; raw blocks have none). Throws BLOCK_CORRUPT if a dag-pb block does not decode. */
export function blockLinks(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code !== dagPb.code) return [];
  try {
    return dagPb.decode(bytes).Links.map((l) => l.Hash);
  } catch (e) {
    throw new VerinferError('BLOCK_CORRUPT', `block ${cid} is not valid dag-pb: ${(e as Error).message}`, { cid: cid.toString() });
  }
}

/**
 * Content-addressed blocks on disk: `blocks/<shard>/<cid>`, where `<cid>` is
 * the base32 CIDv1 string and `<shard>` its next-to-last two characters (like
 * kubo's flatfs `next-to-last/2`: 1,024 folders of well-spread names).
 *
 * - `put` checks the bytes hash to the CID before anything touches disk, then
 *   writes temp file + fsync + rename + fsync of the shard folder: a block file
 *   is either complete or absent.
 * - `get` re-hashes on every read: a flipped bit on disk is a BLOCK_CORRUPT
 *   error naming the CID, never wrong data.
 * - `has` is a cheap existence check (no hashing).
 *
 * Writers that want their blocks to survive a concurrent `gc` must hold a
 * lease (see `ModelStore.lease`); the block store itself knows nothing of pins.
 */
export class BlockStore {
  /** Folders whose renames are not yet fsynced (flushed by `sync`). */
  private readonly dirty = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly tmpDir: string,
  ) {}

  shardOf(cid: CID): string {
    const s = cid.toString();
    return s.slice(-3, -1);
  }

  pathOf(cid: CID | string): string {
    const c = toCid(cid);
    return join(this.dir, this.shardOf(c), c.toString());
  }

  async has(cid: CID | string): Promise<boolean> {
    try {
      await stat(this.pathOf(cid));
      return true;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return false;
      throw ioError('cannot stat block', this.pathOf(cid), e);
    }
  }

  /** Size in bytes of a stored block (unverified), or undefined if absent. */
  async size(cid: CID | string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(cid))).size;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      throw ioError('cannot stat block', this.pathOf(cid), e);
    }
  }

  /** The block's bytes, verified against the CID. BLOCK_NOT_FOUND if absent, BLOCK_CORRUPT if it does not hash to the CID. */
  async get(cid: CID | string): Promise<Uint8Array> {
    const c = toCid(cid);
    const path = this.pathOf(c);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      if (errCode(e) === 'ENOENT') throw new VerinferError('BLOCK_NOT_FOUND', `block ${c} is not in the store`, { cid: c.toString() });
      throw ioError('cannot read block', path, e);
    }
    if (!(await bytesMatchCid(c, bytes))) {
      throw new VerinferError('BLOCK_CORRUPT', `block ${c} is corrupt: its bytes on disk do not hash to its CID`, { cid: c.toString(), path });
    }
    return bytes;
  }

  /**
   * Stores a block after checking that `bytes` hash to `cid` (BLOCK_CORRUPT
   * otherwise, and nothing is written). A block already present is kept if it
   * still verifies and replaced if it does not (so re-publishing or
   * re-importing repairs a damaged block). Returns true if a file was written.
   *
   * The rename is durable only after `sync()` (which fsyncs the touched shard
   * folders); the block file's content is fsynced before the rename.
   */
  async put(cid: CID | string, bytes: Uint8Array): Promise<boolean> {
    const c = toCid(cid);
    if (bytes.length > MAX_BLOCK_BYTES) {
      throw new VerinferError('BLOCK_CORRUPT', `block ${c} is ${bytes.length} bytes, over the ${MAX_BLOCK_BYTES}-byte block limit`, {
        cid: c.toString(),
        bytes: bytes.length,
      });
    }
    if (!(await bytesMatchCid(c, bytes))) {
      throw new VerinferError('BLOCK_CORRUPT', `refusing to store block ${c}: the bytes do not hash to the CID`, { cid: c.toString() });
    }
    const shardDir = join(this.dir, this.shardOf(c));
    const path = join(shardDir, c.toString());
    try {
      const existing = new Uint8Array(await readFile(path));
      if (await bytesMatchCid(c, existing)) return false;
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw ioError('cannot read block', path, e);
    }
    try {
      await mkdir(shardDir, { recursive: true });
      const tmp = await writeTemp(this.tmpDir, bytes);
      try {
        await rename(tmp, path);
      } catch (e) {
        await unlink(tmp).catch(() => {});
        throw e;
      }
    } catch (e) {
      throw ioError('cannot write block', path, e);
    }
    this.dirty.add(shardDir);
    return true;
  }

  /** fsyncs the shard folders touched by `put` since the last `sync`, making those renames durable. */
  async sync(): Promise<void> {
    const dirs = [...this.dirty];
    this.dirty.clear();
    await Promise.all(dirs.map((d) => fsyncDir(d)));
  }

  /** Removes a block (no-op if absent). Only gc should call this. */
  async delete(cid: CID | string): Promise<void> {
    const path = this.pathOf(cid);
    try {
      await unlink(path);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw ioError('cannot delete block', path, e);
    }
  }

  /** Every block file: its CID and size. Files whose names are not valid CIDs are reported with `cid: undefined`. */
  async *list(): AsyncGenerator<{ cid: CID | undefined; name: string; path: string; size: number }> {
    let shards: string[];
    try {
      shards = await readdir(this.dir);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return;
      throw ioError('cannot list', this.dir, e);
    }
    for (const shard of shards.sort()) {
      const shardDir = join(this.dir, shard);
      let names: string[];
      try {
        names = await readdir(shardDir);
      } catch (e) {
        if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') continue;
        throw ioError('cannot list', shardDir, e);
      }
      for (const name of names.sort()) {
        const path = join(shardDir, name);
        let size = 0;
        try {
          size = (await stat(path)).size;
        } catch {
          continue;
        }
        let cid: CID | undefined;
        try {
          cid = toCid(name);
          if (cid.toString() !== name || this.shardOf(cid) !== shard) cid = undefined;
        } catch {
          cid = undefined;
        }
        yield { cid, name, path, size };
      }
    }
  }

  /** Removes empty shard folders (gc). */
  async pruneEmptyShards(): Promise<void> {
    let shards: string[];
    try {
      shards = await readdir(this.dir);
    } catch {
      return;
    }
    for (const s of shards) await rmdir(join(this.dir, s)).catch(() => {});
  }

  /**
   * Walks the DAG under `root` depth-first (links in order), yielding each
   * block's CID and verified bytes once. Raw leaves are read only if
   * `readLeaves` (default true); otherwise they are checked for presence and
   * yielded with `bytes: undefined`. Throws BLOCK_NOT_FOUND / BLOCK_CORRUPT.
   */
  async *walk(root: CID | string, options: { readLeaves?: boolean } = {}): AsyncGenerator<{ cid: CID; bytes: Uint8Array | undefined }> {
    const readLeaves = options.readLeaves ?? true;
    const seen = new Set<string>();
    const stack: CID[] = [toCid(root)];
    while (stack.length) {
      const cid = stack.pop()!;
      const key = cid.toString();
      if (seen.has(key)) continue;
      seen.add(key);
      if (cid.code === raw.code && !readLeaves) {
        if (!(await this.has(cid))) throw new VerinferError('BLOCK_NOT_FOUND', `block ${cid} is not in the store`, { cid: key });
        yield { cid, bytes: undefined };
        continue;
      }
      const bytes = await this.get(cid);
      const links = blockLinks(cid, bytes).map((l) => toCid(l));
      yield { cid, bytes };
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i]!);
    }
  }

  /** Adapter for ipfs-unixfs-exporter (`Pick<Blockstore, 'get'>`): every block it reads is verified. */
  reader(): { get(cid: CID): AsyncGenerator<Uint8Array> } {
    const self = this;
    return {
      async *get(cid: CID) {
        yield await self.get(cid);
      },
    };
  }
}
