import { CarBlockIterator } from '@ipld/car/iterator';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { VerinferError } from '../errors.js';
import { MAX_BLOCK_BYTES, blockLinks, bytesMatchCid, toCid } from './blockstore.js';
import type { ModelStore } from './store.js';

/**
 * The write side of model hosting: download a model's DAG from one or more
 * IPFS trustless gateways (ours, see gateway.ts, or any public one) into a
 * local `ModelStore`, trusting none of them.
 *
 * - Every block is hashed and compared with its CID **before** it is stored
 *   (the store checks again); a gateway that serves wrong bytes is named in a
 *   BLOCK_CORRUPT error (after the other gateways were tried) and not asked
 *   again during this fetch. The DAG is fixed by the root CID, so a gateway
 *   cannot add, drop or reorder anything without being caught.
 * - Blocks already in the store are read (and so verified) instead of fetched.
 *   That is what resumes an interrupted download: the blocks a previous run
 *   stored stay in the store (unpinned, until the next gc) and a rerun fetches
 *   only the missing ones. A block found corrupt on disk is fetched again and
 *   replaced.
 * - The whole fetch holds a store lease (gc cannot sweep the blocks being
 *   gathered); the root is pinned at the end, after every block is stored,
 *   and only then is the model readable (`cat`, `readModel`, `verinfer run`).
 * - Fast path (default on): when the root is not in the store yet, the whole
 *   DAG is requested as one CAR stream (`Accept: application/vnd.ipld.car;
 *   version=1; order=dfs; dups=n`); each block is verified and stored as it
 *   arrives, unexpected blocks (not linked from a block already verified) are
 *   discarded. Whatever goes wrong with the CAR (unsupported, cut, corrupt), the
 *   block-by-block walk that always follows fetches what is still missing.
 * - Block by block: `GET <gateway>/ipfs/<cid>?format=raw` with
 *   `Accept: application/vnd.ipld.raw`, `concurrency` requests at once, in DAG
 *   (depth-first) order. Each block tries the gateways in order; each gateway
 *   gets `retries` retries with exponential backoff for network errors,
 *   timeouts, 408/429 and 5xx (a 404 goes straight to the next gateway). A
 *   gateway that fails with a network error moves to the back of the order.
 *
 * Errors: FETCH_FAILED (network errors or HTTP status, with the URLs; also an
 * abort through `signal`, `details.aborted`), BLOCK_CORRUPT (a gateway served
 * bytes that do not hash to the CID; `details.gateway`, `details.url`),
 * DAG_INCOMPLETE (every gateway answered 404 for a block below the root).
 * Nothing is pinned on failure; verified blocks already stored stay for a rerun.
 */

export interface FetchProgress {
  cid: string;
  phase: 'fetching' | 'pinning' | 'done';
  /** Blocks done (fetched + reused). */
  blocks: number;
  fetchedBlocks: number;
  reusedBlocks: number;
  /** Distinct blocks discovered so far (a lower bound of the total until every dag-pb node is read). */
  knownBlocks: number;
  /** The DAG's block count, once every dag-pb node has been read (then equal to `knownBlocks`). */
  totalBlocks?: number;
  /** File bytes done (leaf data). */
  bytes: number;
  /** The file size from the root (UnixFS `fileSize`, or a raw root's length), once the root is read. */
  totalBytes?: number;
  /** Block bytes downloaded in this run. */
  fetchedBytes: number;
  /** The gateway that served the last block. */
  gateway?: string;
}

export interface FetchOptions {
  /** Gateway base URLs (`http://host:port`, `https://trustless-gateway.link`), tried in this order. */
  from: string | string[];
  onProgress?: (p: FetchProgress) => void;
  /** Block requests in flight at once (default 4). */
  concurrency?: number;
  /** A request fails if no response or no body bytes arrive for this long (default 30 s). */
  timeoutMs?: number;
  /** Retries per block and gateway for retryable failures (default 2). */
  retries?: number;
  /** First retry delay; doubles each retry, capped at 5 s (default 250 ms). */
  retryDelayMs?: number;
  /** Try the CAR fast path first (default true). */
  car?: boolean;
  signal?: AbortSignal;
  /** The HTTP client (default the global `fetch`). */
  fetch?: typeof globalThis.fetch;
}

export interface FetchResult {
  cid: string;
  /** Blocks and total block bytes of the DAG (as pinned). */
  blocks: number;
  bytes: number;
  /** Blocks downloaded and stored in this run. */
  fetchedBlocks: number;
  /** Blocks that were already in the store (verified, not downloaded). */
  reusedBlocks: number;
  /** Block bytes downloaded in this run (including CAR blocks that turned out to be present already). */
  fetchedBytes: number;
}

export const CAR_ACCEPT = 'application/vnd.ipld.car; version=1; order=dfs; dups=n';
export const RAW_ACCEPT = 'application/vnd.ipld.raw';

/** Normalizes gateway base URLs (http/https only, no trailing slash). */
export function gatewayUrls(from: string | string[]): string[] {
  const list = (Array.isArray(from) ? from : [from]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new VerinferError('INVALID_ARGUMENT', 'no gateway given: pass at least one gateway URL (--from http://host:port)', {});
  return [...new Set(list.map((s) => {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      throw new VerinferError('INVALID_ARGUMENT', `not a gateway URL: ${s} (expected http://host[:port])`, { url: s });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VerinferError('INVALID_ARGUMENT', `gateway URL must be http or https: ${s}`, { url: s });
    if (u.search || u.hash) throw new VerinferError('INVALID_ARGUMENT', `gateway URL must not have a query or fragment: ${s}`, { url: s });
    return u.toString().replace(/\/+$/, '');
  }))];
}

/** An HTTP failure (status) or a network failure (no status). */
class RequestError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    readonly retryable = true,
  ) {
    super(message);
  }
}

class Aborted extends Error {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Aborted('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One HTTP GET with an idle timeout (reset by every body chunk) and the
 * caller's abort signal. `consume` reads the body through `chunks()`.
 */
async function request<T>(
  http: typeof globalThis.fetch,
  url: string,
  accept: string,
  timeoutMs: number,
  signal: AbortSignal,
  consume: (res: Response, chunks: () => AsyncGenerator<Uint8Array>) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
  };
  const onAbort = () => ac.abort();
  if (signal.aborted) throw new Aborted('aborted');
  signal.addEventListener('abort', onAbort, { once: true });
  arm();
  try {
    const res = await http(url, { headers: { Accept: accept }, signal: ac.signal, redirect: 'follow' });
    arm();
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let finished = false;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (!res.body) return;
      reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          finished = true;
          return;
        }
        arm();
        yield value;
      }
    }
    try {
      return await consume(res, chunks);
    } finally {
      // Never leave a response body half-read: cancelling it closes the connection
      // (a consumer such as the CAR decoder may stop without closing our generator).
      if (reader) {
        if (!finished) await reader.cancel().catch(() => {});
      } else if (!res.bodyUsed) await res.body?.cancel().catch(() => {});
    }
  } catch (e) {
    if (signal.aborted) throw new Aborted('aborted');
    if (e instanceof RequestError || e instanceof VerinferError || e instanceof CorruptBlock) throw e;
    if (timedOut) throw new RequestError(`no response for ${timeoutMs} ms`, url);
    const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
    throw new RequestError(cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e), url);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Bytes that do not hash to their CID, from a named gateway. */
class CorruptBlock extends Error {
  constructor(
    readonly cid: string,
    readonly gateway: string,
    readonly url: string,
  ) {
    super(`gateway ${gateway} served bytes for block ${cid} that do not hash to its CID (${url})`);
  }
}

function httpError(res: Response, url: string): RequestError {
  const s = res.status;
  const retryable = s === 408 || s === 429 || s >= 500;
  return new RequestError(`HTTP ${s}${res.statusText ? ' ' + res.statusText : ''}`, url, s, retryable);
}

/** Leaf data bytes a block contributes to the file (raw: all of it; a dag-pb leaf: its UnixFS data). */
function dataBytes(cid: CID, bytes: Uint8Array, links: CID[]): number {
  if (cid.code === raw.code) return bytes.length;
  if (links.length) return 0;
  try {
    const node = dagPb.decode(bytes);
    return node.Data ? (UnixFS.unmarshal(node.Data).data?.length ?? 0) : 0;
  } catch {
    return 0;
  }
}

function rootFileSize(cid: CID, bytes: Uint8Array): number | undefined {
  if (cid.code === raw.code) return bytes.length;
  try {
    const node = dagPb.decode(bytes);
    return node.Data ? Number(UnixFS.unmarshal(node.Data).fileSize()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Downloads the DAG of `cid` into `store` from the given gateways, verifying
 * every block, and pins it. See the comment at the top of this file.
 */
export async function fetchModel(store: ModelStore, cid: string | CID, options: FetchOptions): Promise<FetchResult> {
  const root = toCid(cid);
  const rootKey = root.toString();
  const gateways = gatewayUrls(options.from);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retries = Math.max(0, Math.floor(options.retries ?? 2));
  const retryDelayMs = options.retryDelayMs ?? 250;
  const http = options.fetch ?? globalThis.fetch;
  const userSignal = options.signal;
  // Aborted by the caller: cancels requests in flight and backoff waits.
  const stop = new AbortController();
  // Aborted when one block failed for good: no new requests or retries, but requests in flight
  // finish and their blocks are stored (so a rerun has less to fetch).
  const halt = new AbortController();
  stop.signal.addEventListener('abort', () => halt.abort(), { once: true });
  const onUserAbort = () => stop.abort();
  userSignal?.addEventListener('abort', onUserAbort, { once: true });
  if (userSignal?.aborted) stop.abort();

  /** Gateways that served corrupt bytes (and the first such block): not asked again. */
  const bad = new Map<string, CorruptBlock>();
  /** Gateways that failed with a network error: tried last. */
  const down = new Set<string>();
  const order = () => [...gateways.filter((g) => !bad.has(g) && !down.has(g)), ...gateways.filter((g) => !bad.has(g) && down.has(g))];

  const p: FetchProgress = { cid: rootKey, phase: 'fetching', blocks: 0, fetchedBlocks: 0, reusedBlocks: 0, knownBlocks: 1, bytes: 0, fetchedBytes: 0 };
  const report = () => options.onProgress?.({ ...p });
  /** Blocks verified and stored (or found) during this run, with their links. */
  const done = new Map<string, CID[]>();

  const abortedError = () =>
    new VerinferError('FETCH_FAILED', `fetch of ${rootKey} was aborted; blocks stored so far are kept, run it again to resume`, { cid: rootKey, aborted: true });

  /** Every distinct block discovered, and how many of them are dag-pb nodes not read yet (0: the total is known). */
  const discovered = new Set<string>([rootKey]);
  let unreadNodes = root.code === dagPb.code ? 1 : 0;
  const account = (c: CID, bytes: Uint8Array, links: CID[], fetched: boolean, gateway?: string) => {
    if (c.equals(root)) p.totalBytes = rootFileSize(c, bytes);
    if (c.code === dagPb.code) unreadNodes--;
    for (const l of links) {
      const k = l.toString();
      if (discovered.has(k)) continue;
      discovered.add(k);
      if (l.code === dagPb.code) unreadNodes++;
    }
    p.knownBlocks = discovered.size;
    if (unreadNodes === 0) p.totalBlocks = discovered.size;
    if (fetched) {
      p.fetchedBlocks++;
      if (gateway) p.gateway = gateway;
    } else p.reusedBlocks++;
    p.blocks++;
    p.bytes += dataBytes(c, bytes, links);
  };

  /** Fetches one block (verified) from the first gateway that has it. */
  const fetchBlock = async (c: CID): Promise<{ bytes: Uint8Array; gateway: string }> => {
    const key = c.toString();
    const failures: { gateway: string; url: string; status?: number; error: string }[] = [];
    const corrupt: CorruptBlock[] = [];
    for (const gw of order()) {
      const url = `${gw}/ipfs/${key}?format=raw`;
      for (let attempt = 0; ; attempt++) {
        if (halt.signal.aborted) throw new Aborted('aborted');
        try {
          const bytes = await request(http, url, RAW_ACCEPT, timeoutMs, stop.signal, async (res, chunks) => {
            if (res.status !== 200) throw httpError(res, url);
            const declared = Number(res.headers.get('content-length') ?? NaN);
            if (declared > MAX_BLOCK_BYTES) throw new CorruptBlock(key, gw, url);
            const parts: Uint8Array[] = [];
            let n = 0;
            for await (const chunk of chunks()) {
              n += chunk.length;
              if (n > MAX_BLOCK_BYTES) throw new CorruptBlock(key, gw, url);
              parts.push(chunk);
            }
            const out = new Uint8Array(n);
            let off = 0;
            for (const part of parts) {
              out.set(part, off);
              off += part.length;
            }
            return out;
          });
          if (!(await bytesMatchCid(c, bytes))) throw new CorruptBlock(key, gw, url);
          down.delete(gw);
          p.fetchedBytes += bytes.length;
          return { bytes, gateway: gw };
        } catch (e) {
          if (e instanceof Aborted) throw e;
          if (e instanceof CorruptBlock) {
            bad.set(gw, e);
            corrupt.push(e);
            break;
          }
          if (!(e instanceof RequestError)) throw e;
          failures.push({ gateway: gw, url, ...(e.status !== undefined ? { status: e.status } : {}), error: e.message });
          if (e.status === undefined) down.add(gw);
          if (!e.retryable || attempt >= retries) break;
          await sleep(Math.min(5_000, retryDelayMs * 2 ** attempt), halt.signal);
        }
      }
    }
    // No gateway left to ask because all of them served corrupt data before (e.g. in the CAR): name them.
    if (!corrupt.length && !failures.length) corrupt.push(...bad.values());
    if (corrupt.length) {
      const first = corrupt[0]!;
      throw new VerinferError(
        'BLOCK_CORRUPT',
        `${first.message}; ${corrupt.length > 1 ? `also ${corrupt.slice(1).map((x) => x.gateway).join(', ')}; ` : ''}` +
          `nothing was stored for that block and ${rootKey} is not pinned` +
          (failures.length ? ` (other gateways: ${failures.map((f) => `${f.url} → ${f.error}`).join('; ')})` : ''),
        // `cid` names the block a gateway corrupted: when every gateway was struck off
        // earlier, that is not the block this request was for.
        { cid: first.cid, root: rootKey, gateway: first.gateway, url: first.url, gateways: corrupt.map((x) => x.gateway), failures },
      );
    }
    const last = failures[failures.length - 1];
    const summary = [...new Map(failures.map((f) => [f.gateway, `${f.url} → ${f.error}`])).values()].join('; ');
    if (failures.length && failures.every((f) => f.status === 404 || f.status === 410) && !c.equals(root)) {
      throw new VerinferError('DAG_INCOMPLETE', `no gateway has block ${key} of ${rootKey} (${summary}); ${rootKey} is not pinned`, {
        cid: key,
        root: rootKey,
        failures,
      });
    }
    throw new VerinferError('FETCH_FAILED', `cannot fetch block ${key}${c.equals(root) ? '' : ` of ${rootKey}`}: ${summary}`, {
      cid: key,
      root: rootKey,
      url: last?.url,
      status: last?.status,
      failures,
    });
  };

  /** The CAR fast path: returns after the stream ends or fails (the walk completes whatever is missing). */
  const fetchCar = async (): Promise<void> => {
    for (const gw of order()) {
      const url = `${gw}/ipfs/${rootKey}?format=car&dag-scope=all`;
      const before = done.size;
      try {
        await request(http, url, CAR_ACCEPT, timeoutMs, stop.signal, async (res, chunks) => {
          if (res.status !== 200) throw httpError(res, url);
          const type = (res.headers.get('content-type') ?? '').toLowerCase();
          if (!type.startsWith('application/vnd.ipld.car')) throw new RequestError(`not a CAR response (Content-Type: ${type || 'none'})`, url, res.status, false);
          const expected = new Set<string>([rootKey]);
          let unexpected = 0;
          const it = await CarBlockIterator.fromIterable(chunks());
          for await (const b of it) {
            if (stop.signal.aborted) throw new Aborted('aborted');
            let c: CID | undefined;
            try {
              c = toCid(b.cid);
            } catch {
              c = undefined; // identity or foreign-hash blocks: never part of a DAG we store
            }
            const key = c?.toString();
            if (!c || !key || !expected.has(key)) {
              // Not (yet) linked from a verified block: discard (the walk fetches it if it is needed).
              if (++unexpected > 1_000) throw new RequestError('too many unexpected blocks in the CAR', url, res.status, false);
              continue;
            }
            if (done.has(key)) continue; // a duplicate
            if (!(await bytesMatchCid(c, b.bytes))) throw new CorruptBlock(key, gw, url);
            const links = blockLinks(c, b.bytes);
            p.fetchedBytes += b.bytes.length;
            const written = await store.put(c, b.bytes);
            for (const l of links) expected.add(l.toString());
            done.set(key, links);
            account(c, b.bytes, links, written, gw);
            report();
          }
        });
      } catch (e) {
        if (e instanceof Aborted) throw e;
        if (e instanceof CorruptBlock) {
          bad.set(gw, e);
        } else if (e instanceof RequestError) {
          if (e.status === undefined && done.size === before) down.add(gw);
        } else if (e instanceof VerinferError && e.code !== 'BLOCK_CORRUPT' && e.code !== 'INVALID_CID') {
          throw e; // a store failure (STORE_IO, STORE_BUSY): real, stop
        }
        // Anything else (not a CAR, cut short, undecodable): the walk below takes over.
      }
      // Once a CAR delivered anything, the walk fetches the rest block by block (no re-download of a whole CAR).
      if (done.size > before) return;
    }
  };

  /** Processes one block of the walk: reuse or fetch it; returns its links. */
  const visit = async (c: CID): Promise<CID[]> => {
    const key = c.toString();
    const known = done.get(key);
    if (known) return known;
    if (await store.has(c)) {
      try {
        const bytes = await store.get(c);
        const links = blockLinks(c, bytes);
        done.set(key, links);
        account(c, bytes, links, false);
        report();
        return links;
      } catch (e) {
        // Corrupt on disk (or vanished): fetch it again, the put replaces it.
        if (!(e instanceof VerinferError && (e.code === 'BLOCK_CORRUPT' || e.code === 'BLOCK_NOT_FOUND'))) throw e;
      }
    }
    const { bytes, gateway } = await fetchBlock(c);
    const links = blockLinks(c, bytes);
    await store.put(c, bytes);
    done.set(key, links);
    account(c, bytes, links, true, gateway);
    report();
    return links;
  };

  /** Walks the DAG depth-first with `concurrency` blocks in flight. */
  const walk = async (): Promise<void> => {
    const stack: CID[] = [root];
    const seen = new Set<string>([rootKey]);
    let active = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const worker = async () => {
      for (;;) {
        if (failure !== undefined) return;
        const c = stack.pop();
        if (!c) {
          if (active === 0) return notify();
          await new Promise<void>((r) => {
            const prev = wake;
            wake = () => {
              prev?.();
              r();
            };
          });
          continue;
        }
        active++;
        try {
          const links = await visit(c);
          for (let i = links.length - 1; i >= 0; i--) {
            const l = toCid(links[i]!);
            const k = l.toString();
            if (seen.has(k)) continue;
            seen.add(k);
            stack.push(l);
          }
        } catch (e) {
          if (failure === undefined) {
            failure = e;
            halt.abort();
          }
        } finally {
          active--;
          notify();
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    if (failure !== undefined) throw failure;
  };

  const lease = await store.lease(`fetch ${rootKey}`);
  try {
    report();
    if (options.car !== false && !(await store.has(root))) await fetchCar();
    await walk();
    p.phase = 'pinning';
    report();
    let pin;
    try {
      pin = await store.pin(root, { lease });
    } catch (e) {
      if (e instanceof VerinferError && (e.code === 'BLOCK_NOT_FOUND' || e.code === 'BLOCK_CORRUPT')) {
        throw new VerinferError('DAG_INCOMPLETE', `fetched ${rootKey} but its DAG does not check out in the store: ${e.message}`, { ...e.details, root: rootKey });
      }
      throw e;
    }
    p.phase = 'done';
    report();
    return { cid: rootKey, blocks: pin.blocks, bytes: pin.bytes, fetchedBlocks: p.fetchedBlocks, reusedBlocks: p.reusedBlocks, fetchedBytes: p.fetchedBytes };
  } catch (e) {
    if (e instanceof Aborted || (userSignal?.aborted && !(e instanceof VerinferError && e.code !== 'FETCH_FAILED'))) throw abortedError();
    throw e;
  } finally {
    userSignal?.removeEventListener('abort', onUserAbort);
    await lease.release();
  }
}
