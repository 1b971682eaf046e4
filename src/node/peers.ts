import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAddress, verifyMessage, type Address, type Hex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { z } from 'zod';
import { sha256, toHex } from '../hash/sha256.js';
import { canonicalJson } from '../store/metadata.js';
import { errCode, writeFileAtomic } from '../store/fsutil.js';
import { HttpError } from './http-errors.js';

/**
 * Peers and reputation (README.md, "Peers"). A node knows peers from
 * `--peers` (seed URLs) and from signed announcements; it keeps a persistent
 * table of them and a persistent record of the peers caught cheating (with the
 * accepted fraud proofs), and routes nothing to a caught peer.
 *
 * An announcement is `{schema, address, endpoint, models, time, signature}`;
 * the signature is an EIP-191 personal_sign (`signMessage`) by `address` over
 * `canonicalJson` (sorted keys, no whitespace) of the other fields. A node
 * accepts it if the signature recovers to `address`, `time` (unix ms) is within
 * ±5 minutes of its clock and newer than the last announcement it holds from
 * that address (no replays), and the endpoint is an http(s) URL.
 */

export const ANNOUNCEMENT_SCHEMA = 'verinfer-peer/1';
export const ANNOUNCEMENT_MAX_SKEW_MS = 300_000;

export interface Announcement {
  schema: typeof ANNOUNCEMENT_SCHEMA;
  address: Address;
  /** Base URL of the node's HTTP API (no trailing slash). */
  endpoint: string;
  /** CIDs of the models it hosts. */
  models: string[];
  /** Unix milliseconds (so a re-announcement right after a publish is newer). */
  time: number;
  signature: Hex;
}

export const announcementSchema = z.strictObject({
  schema: z.literal(ANNOUNCEMENT_SCHEMA),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  endpoint: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'an http(s) URL'),
  models: z.array(z.string().min(1).max(200)).max(10_000),
  time: z.int().nonnegative(),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
});

export function announcementMessage(a: Omit<Announcement, 'signature'>): string {
  return canonicalJson({ schema: a.schema, address: a.address, endpoint: a.endpoint, models: a.models, time: a.time });
}

export async function signAnnouncement(account: PrivateKeyAccount, fields: { endpoint: string; models: string[]; time?: number }): Promise<Announcement> {
  const body = {
    schema: ANNOUNCEMENT_SCHEMA,
    address: account.address,
    endpoint: fields.endpoint.replace(/\/+$/, ''),
    models: [...fields.models].sort(),
    time: fields.time ?? Date.now(),
  } as const;
  const signature = await account.signMessage({ message: announcementMessage(body) });
  return { ...body, signature };
}

/** Validates shape, signature and clock skew (not freshness against the table: see `PeerService.accept`). */
export async function verifyAnnouncement(json: unknown, now = Date.now()): Promise<Announcement> {
  const r = announcementSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new HttpError('ANNOUNCEMENT_INVALID', `announcement: ${i.path.join('.') || '(root)'}: ${i.message}`, { path: i.path.join('.') });
  }
  const a = { ...r.data, address: getAddress(r.data.address), endpoint: r.data.endpoint.replace(/\/+$/, '') } as Announcement;
  let ok = false;
  try {
    ok = await verifyMessage({ address: a.address, message: announcementMessage(a), signature: a.signature });
  } catch {
    ok = false;
  }
  if (!ok) throw new HttpError('ANNOUNCEMENT_INVALID', `announcement is not signed by ${a.address}`, { address: a.address, field: 'signature' });
  if (Math.abs(a.time - now) > ANNOUNCEMENT_MAX_SKEW_MS) {
    throw new HttpError('ANNOUNCEMENT_INVALID', `announcement time ${a.time} is more than ${ANNOUNCEMENT_MAX_SKEW_MS / 1000} s from this node's clock (${now})`, {
      address: a.address,
      field: 'time',
      now,
    });
  }
  return a;
}

export interface PeerEntry {
  address: Address;
  announcement: Announcement;
  /** Unix ms when the latest announcement arrived. */
  lastSeen: number;
}

export interface CheaterProof {
  /** sha256 of the proof's canonical JSON (dedupes gossip). */
  id: string;
  requestId?: string;
  modelCid?: string;
  code: string;
  node?: number;
  receivedAt: number;
  /** Where it came from: 'local' (this node's own challenge) or 'gossip'. */
  source: string;
}

export interface Reputation {
  address: Address;
  caught: boolean;
  caughtAt?: number;
  proofs: CheaterProof[];
}

export interface PeerView {
  address: Address;
  endpoint?: string;
  models: string[];
  time?: number;
  lastSeen?: number;
  announcement?: Announcement;
  reputation: { caught: boolean; caughtAt?: number; proofs: number; codes: string[] };
}

interface PeersFile {
  peers: Record<string, PeerEntry>;
}
interface ReputationFile {
  cheaters: Record<string, Reputation>;
}

export class PeerService {
  private peers = new Map<string, PeerEntry>();
  private cheaters = new Map<string, Reputation>();
  private readonly seen = new Set<string>();
  private writing: Promise<void> = Promise.resolve();
  readonly seeds: string[];
  readonly fraudDir: string;

  constructor(
    readonly dir: string,
    private readonly tmpDir: string,
    readonly self: Address,
    seeds: string[] = [],
  ) {
    this.seeds = seeds.map((s) => s.replace(/\/+$/, ''));
    this.fraudDir = join(dir, 'fraud-proofs');
  }

  async init(): Promise<void> {
    await mkdir(this.fraudDir, { recursive: true, mode: 0o700 });
    const p = await readJson<PeersFile>(join(this.dir, 'peers.json'));
    for (const [k, v] of Object.entries(p?.peers ?? {})) this.peers.set(k.toLowerCase(), v);
    const r = await readJson<ReputationFile>(join(this.dir, 'reputation.json'));
    for (const [k, v] of Object.entries(r?.cheaters ?? {})) {
      this.cheaters.set(k.toLowerCase(), v);
      for (const pr of v.proofs) this.seen.add(pr.id);
    }
  }

  private persist(which: 'peers' | 'reputation'): Promise<void> {
    const run = async () => {
      if (which === 'peers') {
        await writeFileAtomic(this.tmpDir, this.dir, 'peers.json', JSON.stringify({ peers: Object.fromEntries(this.peers) } satisfies PeersFile) + '\n');
      } else {
        await writeFileAtomic(this.tmpDir, this.dir, 'reputation.json', JSON.stringify({ cheaters: Object.fromEntries(this.cheaters) } satisfies ReputationFile) + '\n');
      }
    };
    const p = this.writing.then(run, run);
    this.writing = p.catch(() => {});
    return p;
  }

  /**
   * Takes a verified announcement into the table. Returns false (ignored) for
   * this node's own address and for one not newer than the one held; a
   * replay with the same time is accepted idempotently.
   */
  async accept(a: Announcement): Promise<boolean> {
    const key = a.address.toLowerCase();
    if (key === this.self.toLowerCase()) return false;
    const prev = this.peers.get(key);
    if (prev && prev.announcement.time > a.time) return false;
    if (prev && prev.announcement.time === a.time) {
      if (prev.announcement.signature === a.signature) return true;
      return false;
    }
    this.peers.set(key, { address: a.address, announcement: a, lastSeen: Date.now() });
    await this.persist('peers');
    return true;
  }

  isCaught(address: string): boolean {
    return this.cheaters.get(address.toLowerCase())?.caught ?? false;
  }

  reputation(address: string): Reputation | undefined {
    return this.cheaters.get(address.toLowerCase());
  }

  /** True if this exact proof was recorded already (gossip dedupe). */
  knowsProof(id: string): boolean {
    return this.seen.has(id);
  }

  /** Records a cheater with its accepted fraud proof (durably, proof file first). Returns false if the proof was known. */
  async recordCheater(address: string, proof: unknown, info: Omit<CheaterProof, 'id' | 'receivedAt'>): Promise<{ id: string; isNew: boolean }> {
    const id = proofId(proof);
    if (this.seen.has(id)) return { id, isNew: false };
    await writeFileAtomic(this.tmpDir, this.fraudDir, `${id}.json`, JSON.stringify(proof) + '\n');
    const key = address.toLowerCase();
    const rep: Reputation = this.cheaters.get(key) ?? { address: getAddress(address), caught: true, caughtAt: Date.now(), proofs: [] };
    rep.caught = true;
    rep.caughtAt ??= Date.now();
    rep.proofs.push({ id, receivedAt: Date.now(), ...info });
    this.cheaters.set(key, rep);
    this.seen.add(id);
    await this.persist('reputation');
    return { id, isNew: true };
  }

  /** A stored fraud proof by id. */
  async proof(id: string): Promise<unknown | undefined> {
    if (!/^[0-9a-f]{64}$/.test(id)) return undefined;
    return readJson(join(this.fraudDir, `${id}.json`));
  }

  /** Every peer (announced or caught), caught ones flagged. */
  list(): PeerView[] {
    const out = new Map<string, PeerView>();
    for (const [k, e] of this.peers) {
      out.set(k, {
        address: e.address,
        endpoint: e.announcement.endpoint,
        models: e.announcement.models,
        time: e.announcement.time,
        lastSeen: e.lastSeen,
        announcement: e.announcement,
        reputation: this.repView(k),
      });
    }
    for (const [k, r] of this.cheaters) if (!out.has(k)) out.set(k, { address: r.address, models: [], reputation: this.repView(k) });
    return [...out.values()].sort((a, b) => a.address.localeCompare(b.address));
  }

  private repView(key: string): PeerView['reputation'] {
    const r = this.cheaters.get(key);
    return r ? { caught: r.caught, caughtAt: r.caughtAt, proofs: r.proofs.length, codes: [...new Set(r.proofs.map((p) => p.code))] } : { caught: false, proofs: 0, codes: [] };
  }

  /** Peers a request may be routed to: announced, not caught, not this node; with `cid`, only those announcing it. */
  routable(cid?: string): PeerEntry[] {
    return [...this.peers.values()].filter((e) => !this.isCaught(e.address) && (cid === undefined || e.announcement.models.includes(cid)));
  }

  /** Endpoints to announce to and gossip with: seeds plus announced peers (caught ones excluded), deduplicated. */
  endpoints(): string[] {
    const urls = new Set(this.seeds);
    for (const e of this.peers.values()) if (!this.isCaught(e.address)) urls.add(e.announcement.endpoint);
    return [...urls];
  }

  /** Every endpoint known, caught peers included (gossip of fraud proofs also tells the cheater). */
  allEndpoints(): string[] {
    const urls = new Set(this.seeds);
    for (const e of this.peers.values()) urls.add(e.announcement.endpoint);
    return [...urls];
  }

  get size(): number {
    return this.peers.size;
  }
}

export function proofId(proof: unknown): string {
  return toHex(sha256(new TextEncoder().encode(canonicalJson(proof)))).replace(/^0x/, '');
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}
