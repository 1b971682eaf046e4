import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { VerinferError } from '../errors.js';

/**
 * Small file-system helpers for crash-safe writes. Every durable write goes
 * temp file (in the store's own `tmp/`, same file system) → write → fsync →
 * rename/link into place → fsync of the target folder, so a reader sees either
 * nothing or the complete file, never a prefix.
 */

export function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

export function ioError(what: string, path: string, e: unknown): VerinferError {
  if (e instanceof VerinferError) return e;
  return new VerinferError('STORE_IO', `${what} ${path}: ${errCode(e) ?? (e as Error)?.message ?? String(e)}`, { path, cause: errCode(e) });
}

/** A unique temp file name: `<pid>.<random>.tmp` (the pid lets gc tell whose it is). */
export function tempName(): string {
  return `${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
}

/** fsync a folder so a rename/link in it is durable. Not possible on every platform (Windows): best effort. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Writes `data` to a new temp file in `tmpDir` and fsyncs it; returns its path. */
export async function writeTemp(tmpDir: string, data: Uint8Array | string, mode = 0o644): Promise<string> {
  const tmp = join(tmpDir, tempName());
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Atomically creates or replaces `path` with `data` (temp + fsync + rename + fsync dir). */
export async function writeFileAtomic(tmpDir: string, dir: string, name: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = await writeTemp(tmpDir, data);
  try {
    await rename(tmp, join(dir, name));
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fsyncDir(dir);
}

/**
 * Atomically creates `path` with `data` only if it does not exist (temp + fsync
 * + hard link, which fails with EEXIST if another writer got there first).
 * Returns false if the file already existed (it is left untouched).
 */
export async function writeFileExclusive(tmpDir: string, dir: string, name: string, data: Uint8Array | string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const tmp = await writeTemp(tmpDir, data);
  try {
    await link(tmp, join(dir, name));
  } catch (e) {
    if (errCode(e) === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await fsyncDir(dir);
  return true;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
