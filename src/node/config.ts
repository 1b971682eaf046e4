import type { ByzantineStrategy } from './byzantine.js';

/**
 * Everything a node is configured with (`verinfer node start` flags map 1:1).
 * `resolveConfig` fills the defaults; every limit is documented in README.md.
 */
export interface NodeConfig {
  /** The node's data dir: model store + node state (see README.md). */
  dataDir: string;
  /** Listen address (default 127.0.0.1). */
  host: string;
  /** Listen port; 0 lets the OS pick one (the bound URL is printed on stdout). */
  port: number;
  /** The URL peers use to reach this node (default http://<host>:<bound port>). */
  publicUrl?: string;
  /** Executor key file; default <dataDir>/node-key.json, created (0600) on first start. */
  keyFile?: string;
  /** Seed peers (base URLs) announced to on start and periodically. */
  peers: string[];
  /** Re-announce to known peers every this many ms (0: only on start and when a model is published). */
  announceIntervalMs: number;
  /**
   * Receipts with the trace root ('eager', default) or lazy ones (all-zero
   * trace root; the trace is computed only when a dispute asks for a commitment,
   * from the inputs kept in the record; requests with larger inputs than the
   * record keeps get eager receipts). README.md, "Receipts".
   */
  trace: TraceMode;
  /** Cheat on every inference (devnet and tests only). */
  byzantine?: ByzantineStrategy;
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  logLevel: string;
  /** Write logs (JSON lines) to this file instead of stdout. */
  logFile?: string;
  /** EIP-712 chain id of the receipts (default 31337). */
  chainId: number;
  /** Receipt validity (default one day). */
  receiptTtlSeconds: number;
  /** Watcher: fraction (0..1) of announced optimistic receipts this node re-executes (default 0.5; src/node/modes/README.md). */
  watchRate: number;
  /** Optimistic mode: how long a receipt stays `pending` and challengeable, ms (default 30 s). */
  challengeWindowMs: number;
  limits: NodeLimits;
}

export interface NodeLimits {
  /** Maximum JSON request body (bytes); default 16 MiB. */
  maxBodyBytes: number;
  /** Maximum model upload (POST /v1/models, bytes); default 256 MiB. */
  maxModelBytes: number;
  /** Maximum total tensor elements in one request's inputs; default 16M. */
  maxElements: number;
  /** Maximum estimated FLOPs of one inference; default 1e11. */
  maxFlops: number;
  /** Per-request time budget from arrival (queueing included), ms; default 30 s. */
  timeoutMs: number;
  /** Inferences running at once; default 2 (they share one JS thread; more only overlaps signing and disk writes). */
  maxConcurrent: number;
  /** Inferences waiting for a slot; beyond this → 429 NODE_BUSY with Retry-After; default 32. */
  maxQueue: number;
  /** Sessions (decoded models) kept in memory, least recently used evicted; default 16. */
  sessionCacheSize: number;
}

export const TRACE_MODES = ['eager', 'lazy'] as const;
export type TraceMode = (typeof TRACE_MODES)[number];

export const DEFAULT_LIMITS: NodeLimits = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxModelBytes: 256 * 1024 * 1024,
  maxElements: 16 * 1024 * 1024,
  maxFlops: 1e11,
  timeoutMs: 30_000,
  maxConcurrent: 2,
  maxQueue: 32,
  sessionCacheSize: 16,
};

export const DEFAULT_PORT = 7700;
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 30_000;
export const DEFAULT_WATCH_RATE = 0.5;
export const DEFAULT_CHALLENGE_WINDOW_MS = 30_000;

export type NodeConfigInput = Partial<Omit<NodeConfig, 'limits'>> & { dataDir: string; limits?: Partial<NodeLimits> };

export function resolveConfig(c: NodeConfigInput): NodeConfig {
  return {
    dataDir: c.dataDir,
    host: c.host ?? '127.0.0.1',
    port: c.port ?? DEFAULT_PORT,
    publicUrl: c.publicUrl,
    keyFile: c.keyFile,
    peers: c.peers ?? [],
    announceIntervalMs: c.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS,
    trace: c.trace ?? 'eager',
    byzantine: c.byzantine,
    logLevel: c.logLevel ?? 'info',
    logFile: c.logFile,
    chainId: c.chainId ?? 31337,
    receiptTtlSeconds: c.receiptTtlSeconds ?? 24 * 60 * 60,
    watchRate: c.watchRate ?? DEFAULT_WATCH_RATE,
    challengeWindowMs: c.challengeWindowMs ?? DEFAULT_CHALLENGE_WINDOW_MS,
    limits: { ...DEFAULT_LIMITS, ...c.limits },
  };
}
