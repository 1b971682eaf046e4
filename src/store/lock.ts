import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, readdir, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { VerinferError } from '../errors.js';
import { errCode, sleep } from './fsutil.js';

/**
 * Coordination between processes sharing one data dir, with plain files (no
 * flock in Node):
 *
 * - A **lease** (`leases/<id>.json`) is held by every operation that writes
 *   blocks or pins (publish, import, pin, a fetcher). Many may coexist.
 * - The **gc lock** (`gc.lock`) is held by garbage collection. At most one.
 *
 * It is a readers–writer lock with "write, then look" on both sides:
 * a writer creates its lease, then looks for a live gc lock (if there is one
 * it drops its lease, waits, and retries); gc creates its lock, then waits
 * until no live lease remains. Whatever the interleaving, at least one side
 * sees the other, so gc never sweeps while a writer that did not see the gc
 * lock is writing blocks.
 *
 * A lease or lock is stale when its process is gone (same host, pid not
 * alive) or it was not refreshed for `STALE_MS` (holders touch their file
 * every `REFRESH_MS`; this also covers pid reuse and other hosts on a shared
 * file system). Stale leases are ignored and removed by gc; a stale gc lock is
 * broken by whoever meets it.
 */
export const REFRESH_MS = 20_000;
export const STALE_MS = 90_000;

interface Owner {
  pid: number;
  host: string;
  id: string;
  purpose: string;
  createdAt: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/** Reads an owner file; undefined if it is gone. A file that cannot be parsed counts as live until STALE_MS (it may be mid-write). */
async function readOwner(path: string): Promise<{ owner?: Owner; mtimeMs: number } | undefined> {
  try {
    const [st, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    try {
      return { owner: JSON.parse(text) as Owner, mtimeMs: st.mtimeMs };
    } catch {
      return { mtimeMs: st.mtimeMs };
    }
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

function isStale(info: { owner?: Owner; mtimeMs: number }, now = Date.now()): boolean {
  if (now - info.mtimeMs > STALE_MS) return true;
  const o = info.owner;
  return !!o && o.host === hostname() && o.pid !== process.pid && !pidAlive(o.pid);
}

/** A held lease or lock. `release` is idempotent. */
export interface Held {
  readonly id: string;
  readonly path: string;
  release(): Promise<void>;
}

function newOwner(purpose: string): Owner {
  return { pid: process.pid, host: hostname(), id: randomBytes(8).toString('hex'), purpose, createdAt: Date.now() };
}

function holdFile(path: string, id: string): Held {
  let released = false;
  const timer = setInterval(() => {
    const t = new Date();
    utimes(path, t, t).catch(() => {});
  }, REFRESH_MS);
  timer.unref();
  return {
    id,
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await unlink(path).catch(() => {});
    },
  };
}

export class Locks {
  readonly leaseDir: string;
  readonly gcLockPath: string;

  constructor(root: string) {
    this.leaseDir = join(root, 'leases');
    this.gcLockPath = join(root, 'gc.lock');
  }

  /** True if a live gc lock exists; a stale one is broken. */
  private async gcRunning(): Promise<boolean> {
    const info = await readOwner(this.gcLockPath);
    if (!info) return false;
    if (!isStale(info)) return true;
    await this.breakStaleGcLock(info.owner);
    return false;
  }

  /**
   * Removes a stale gc lock without ever removing a live one: rename it to a
   * unique name, check that it is the one judged stale, and put it back (with
   * a hard link, which fails if a new lock exists) if not.
   */
  private async breakStaleGcLock(judged: Owner | undefined): Promise<void> {
    const moved = `${this.gcLockPath}.${randomBytes(6).toString('hex')}.stale`;
    try {
      await rename(this.gcLockPath, moved);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return;
      throw e;
    }
    const info = await readOwner(moved);
    if (info?.owner && judged && info.owner.id !== judged.id && !isStale(info)) {
      await link(moved, this.gcLockPath).catch(() => {});
    }
    await unlink(moved).catch(() => {});
  }

  /** Live leases (stale ones are skipped; with `removeStale` they are deleted). */
  async liveLeases(options: { removeStale?: boolean } = {}): Promise<Owner[]> {
    let names: string[];
    try {
      names = await readdir(this.leaseDir);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return [];
      throw e;
    }
    const live: Owner[] = [];
    for (const name of names) {
      const path = join(this.leaseDir, name);
      const info = await readOwner(path);
      if (!info) continue;
      if (isStale(info)) {
        if (options.removeStale) await unlink(path).catch(() => {});
        continue;
      }
      live.push(info.owner ?? { pid: 0, host: '?', id: name, purpose: '?', createdAt: info.mtimeMs });
    }
    return live;
  }

  /**
   * Takes a lease for an operation that writes blocks or pins. Waits (up to
   * `waitMs`) while a gc runs; STORE_BUSY if it does not finish in time.
   */
  async lease(purpose: string, waitMs = 120_000): Promise<Held> {
    await mkdir(this.leaseDir, { recursive: true });
    const deadline = Date.now() + waitMs;
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      const owner = newOwner(purpose);
      const path = join(this.leaseDir, `${owner.id}.json`);
      await writeFile(path, JSON.stringify(owner), { flag: 'wx' });
      if (!(await this.gcRunning())) return holdFile(path, owner.id);
      await unlink(path).catch(() => {});
      if (Date.now() >= deadline) {
        throw new VerinferError('STORE_BUSY', 'garbage collection is running on this store; try again when it finishes', { lock: this.gcLockPath });
      }
      await sleep(delay);
    }
  }

  /**
   * Takes the gc lock, then waits (up to `waitMs`) until no live lease remains
   * (removing stale ones). STORE_BUSY if another gc holds the lock or writers
   * are still active at the deadline (the lock is then released).
   */
  async gcLock(waitMs = 60_000): Promise<Held> {
    const owner = newOwner('gc');
    const deadline = Date.now() + waitMs;
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      try {
        await writeFile(this.gcLockPath, JSON.stringify(owner), { flag: 'wx' });
        break;
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
        if (await this.gcRunning()) {
          if (Date.now() >= deadline) throw new VerinferError('STORE_BUSY', 'another garbage collection is running on this store', { lock: this.gcLockPath });
          await sleep(delay);
        }
      }
    }
    const held = holdFile(this.gcLockPath, owner.id);
    try {
      for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
        const live = await this.liveLeases({ removeStale: true });
        if (live.length === 0) return held;
        if (Date.now() >= deadline) {
          throw new VerinferError('STORE_BUSY', `${live.length} publish/import operation(s) in progress; gc waits for them (try again, or raise --wait)`, {
            operations: live.map((l) => ({ pid: l.pid, host: l.host, purpose: l.purpose, since: new Date(l.createdAt).toISOString() })),
          });
        }
        await sleep(delay);
      }
    } catch (e) {
      await held.release();
      throw e;
    }
  }
}
