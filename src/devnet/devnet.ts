import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../client/client.js';
import { VerinferError } from '../errors.js';

/**
 * A local development network: `count` real `verinfer node start` processes
 * on 127.0.0.1 (node i on port base + i), each told about the others with
 * `--peers`, the last `byzantine` of them cheating with `--byzantine <strategy>`;
 * the sample models published to every node (each node resolves names from
 * its own store, so every node can serve `penguins-classifier` by name).
 *
 * Lifecycle: `startDevnet` resolves once every node is listening, healthy,
 * has the models and knows its peers; `stop()` sends SIGTERM to every node,
 * waits, SIGKILLs stragglers, and removes the data dir if it was a temporary
 * one. If a node exits on its own, `onEvent` gets `node-exited` and the
 * `exited` promise resolves: the caller should stop the rest.
 */

export const DEVNET_BIN = join(import.meta.dirname, '..', '..', 'bin', 'verinfer.mjs');
export const SAMPLE_MODELS_DIR = join(import.meta.dirname, '..', '..', 'models');

export interface DevnetOptions {
  nodes: number;
  byzantine: number;
  strategy: string;
  basePort: number;
  host?: string;
  /** Kept after stop; default a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** Optimistic mode: share of receipts a watcher re-executes (passed through when the node supports it). */
  watchRate?: number;
  /** Optimistic mode challenge window, e.g. "10s" (passed through when the node supports it). */
  challengeWindow?: string;
  /** Folder with <name>.onnx + <name>.json to publish (default models/); null: publish nothing. */
  modelsDir?: string | null;
  /** Per-node start timeout (default 30 s). */
  startTimeoutMs?: number;
  /** Node log level (default info; logs go to <data-dir>/node-<i>.log). */
  logLevel?: string;
  /** Flags the user gave explicitly: a warning is emitted when the node does not support one of them. */
  explicit?: string[];
  /** Aborting stops the devnet (also while it starts; `startDevnet` then rejects). */
  signal?: AbortSignal;
}

export interface DevnetNode {
  index: number;
  url: string;
  address: string;
  pid: number;
  port: number;
  dataDir: string;
  logFile: string;
  byzantine: string | null;
}

export type DevnetEvent =
  | { event: 'starting'; nodes: number; byzantine: number; strategy: string; basePort: number; dataDir: string; temporary: boolean }
  | { event: 'warning'; message: string }
  | { event: 'node-starting'; index: number; port: number; byzantine: string | null }
  | ({ event: 'node-started' } & DevnetNode)
  | { event: 'healthy'; nodes: number }
  | { event: 'published'; index: number; name: string; version: string; cid: string; created: boolean }
  | { event: 'peers'; index: number; known: number }
  | { event: 'ready'; nodes: DevnetNode[]; dataDir: string; models: { name: string; cid: string }[]; example: string }
  | { event: 'node-exited'; index: number; pid: number; code: number | null; signal: string | null; stderr: string }
  | { event: 'stopping'; reason: string }
  | { event: 'stopped'; killed: number; removedDataDir: boolean };

export interface Devnet {
  nodes: DevnetNode[];
  dataDir: string;
  models: { name: string; cid: string }[];
  /** Resolves when a node exits before `stop()` was called. */
  exited: Promise<{ index: number; code: number | null; signal: string | null }>;
  stop(reason?: string): Promise<void>;
}

interface Child {
  index: number;
  proc: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Which optional flags `verinfer node start` accepts (the replicated/optimistic options arrive later). */
function nodeStartFlags(): Set<string> {
  const r = spawnSync(process.execPath, [DEVNET_BIN, 'node', 'start', '--help'], { encoding: 'utf8', timeout: 30_000 });
  return new Set([...(r.stdout ?? '').matchAll(/(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
}

interface SampleModel {
  name: string;
  file: string;
  version?: string;
  description?: string;
  task?: string;
  license?: string;
  tags?: string[];
}

/** The sample models: every <name>.onnx with a <name>.json holding its metadata. */
export function sampleModels(dir: string): SampleModel[] {
  const out: SampleModel[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()) {
    const base = f.slice(0, -'.onnx'.length);
    let meta: Record<string, unknown> = {};
    try {
      meta = JSON.parse(readFileSync(join(dir, `${base}.json`), 'utf8')) as Record<string, unknown>;
    } catch {
      /* no metadata: publish under the file name */
    }
    const str = (k: string) => (typeof meta[k] === 'string' ? (meta[k] as string) : undefined);
    out.push({
      name: str('name') ?? base,
      file: join(dir, f),
      version: str('version'),
      description: str('description'),
      task: str('task'),
      license: str('license'),
      tags: Array.isArray(meta.tags) ? (meta.tags as unknown[]).filter((t): t is string => typeof t === 'string') : undefined,
    });
  }
  return out;
}

export async function startDevnet(o: DevnetOptions, onEvent: (e: DevnetEvent) => void = () => {}): Promise<Devnet> {
  const host = o.host ?? '127.0.0.1';
  if (!Number.isSafeInteger(o.nodes) || o.nodes < 1 || o.nodes > 64) throw new VerinferError('INVALID_ARGUMENT', `--nodes must be 1..64, got ${o.nodes}`, { option: '--nodes' });
  if (!Number.isSafeInteger(o.byzantine) || o.byzantine < 0 || o.byzantine > o.nodes) {
    throw new VerinferError('INVALID_ARGUMENT', `--byzantine must be 0..${o.nodes} (the number of nodes), got ${o.byzantine}`, { option: '--byzantine' });
  }
  if (!Number.isSafeInteger(o.basePort) || o.basePort < 1 || o.basePort + o.nodes - 1 > 65535) {
    throw new VerinferError('INVALID_ARGUMENT', `--base-port must leave room for ${o.nodes} ports below 65536, got ${o.basePort}`, { option: '--base-port' });
  }
  const temporary = o.dataDir === undefined;
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'verinfer-devnet-'));
  mkdirSync(dataDir, { recursive: true });
  onEvent({ event: 'starting', nodes: o.nodes, byzantine: o.byzantine, strategy: o.strategy, basePort: o.basePort, dataDir, temporary });

  const children: Child[] = [];
  const nodes: DevnetNode[] = [];
  let stopping = false;
  /** Set when a node exits on its own. */
  let died: string | undefined;
  let stoppedBySignal = false;
  let stopped: Promise<void> | undefined;
  let reportExit: (v: { index: number; code: number | null; signal: string | null }) => void = () => {};
  const exited = new Promise<{ index: number; code: number | null; signal: string | null }>((r) => (reportExit = r));

  const stop = (reason = 'stop'): Promise<void> => {
    if (stopped) return stopped;
    stopping = true;
    stopped = (async () => {
      onEvent({ event: 'stopping', reason });
      const alive = () => children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
      for (const c of alive()) c.proc.kill('SIGTERM');
      const all = Promise.all(children.map((c) => c.exit));
      const graceful = await Promise.race([all.then(() => true), sleep(10_000).then(() => false)]);
      let killed = 0;
      if (!graceful) {
        for (const c of alive()) {
          killed++;
          c.proc.kill('SIGKILL');
        }
        await all;
      }
      let removed = false;
      if (temporary) {
        rmSync(dataDir, { recursive: true, force: true });
        removed = true;
      }
      onEvent({ event: 'stopped', killed, removedDataDir: removed });
    })();
    return stopped;
  };

  if (o.signal?.aborted) throw new VerinferError('DEVNET_FAILED', 'aborted before start', {});
  o.signal?.addEventListener(
    'abort',
    () => {
      stoppedBySignal = true;
      void stop(String(o.signal?.reason ?? 'aborted'));
    },
    { once: true },
  );
  try {
    const flags = nodeStartFlags();
    const extra: string[] = [];
    const passThrough = (flag: string, value: string | number | undefined) => {
      if (value === undefined) return;
      if (flags.has(flag)) extra.push(flag, String(value));
      else if (o.explicit?.includes(flag)) onEvent({ event: 'warning', message: `this node version does not support ${flag} yet; ignored` });
    };
    passThrough('--watch-rate', o.watchRate);
    passThrough('--challenge-window', o.challengeWindow);

    const urls = Array.from({ length: o.nodes }, (_, i) => `http://${host}:${o.basePort + i}`);
    const timeout = o.startTimeoutMs ?? 30_000;
    const started = urls.map((url, index) => {
      const port = o.basePort + index;
      const byzantine = index >= o.nodes - o.byzantine ? o.strategy : null;
      const dir = join(dataDir, `node-${index}`);
      const logFile = join(dataDir, `node-${index}.log`);
      const peers = urls.filter((_, j) => j !== index).join(',');
      const args = [DEVNET_BIN, 'node', 'start', '--data-dir', dir, '--host', host, '--port', String(port), '--log-file', logFile, '--log-level', o.logLevel ?? 'info'];
      if (peers) args.push('--peers', peers);
      if (byzantine) args.push('--byzantine', byzantine);
      args.push(...extra);
      onEvent({ event: 'node-starting', index, port, byzantine });
      const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      const child: Child = { index, proc, exit, stderr: () => err };
      children.push(child);
      void exit.then(({ code, signal }) => {
        if (stopping) return;
        // On Ctrl-C the whole process group gets SIGINT: give our own signal handler a moment to run first.
        setTimeout(() => {
          if (stoppedBySignal) return;
          died ??= `node ${index} exited (${code ?? signal})`;
          onEvent({ event: 'node-exited', index, pid: proc.pid ?? -1, code, signal, stderr: err.trim().split('\n').slice(-5).join('\n') });
          reportExit({ index, code, signal });
        }, 200);
      });
      return new Promise<DevnetNode>((resolve, reject) => {
        const timer = setTimeout(() => reject(new VerinferError('DEVNET_FAILED', `node ${index} did not start within ${timeout} ms`, { index, stderr: err.slice(-500) })), timeout);
        const onData = () => {
          for (const line of out.split('\n')) {
            if (!line.startsWith('{')) continue;
            let j: { event?: string; url?: string; address?: string };
            try {
              j = JSON.parse(line);
            } catch {
              continue;
            }
            if (j.event === 'listening' && j.url && j.address) {
              clearTimeout(timer);
              proc.stdout!.off('data', onData);
              const node: DevnetNode = { index, url: j.url.replace(/\/+$/, ''), address: j.address, pid: proc.pid!, port, dataDir: dir, logFile, byzantine };
              onEvent({ event: 'node-started', ...node });
              return resolve(node);
            }
          }
        };
        proc.stdout!.on('data', onData);
        void exit.then(({ code, signal }) => {
          clearTimeout(timer);
          const why = err.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
          reject(new VerinferError('DEVNET_FAILED', `node ${index} (port ${port}) exited (${code ?? signal}) before listening${why ? `: ${why}` : ''}`, { index, port, code, signal }));
        });
        proc.on('error', (e) => {
          clearTimeout(timer);
          reject(new VerinferError('DEVNET_FAILED', `cannot start node ${index}: ${e.message}`, { index }));
        });
      });
    });
    if (stopping) throw new VerinferError('DEVNET_FAILED', 'stopped while starting', {});
    const settled = await Promise.allSettled(started);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    nodes.push(...settled.map((s) => (s as PromiseFulfilledResult<DevnetNode>).value));

    // Healthy: /healthz answers on every node.
    const deadline = Date.now() + timeout;
    for (const n of nodes) {
      for (;;) {
        const ok = await fetch(`${n.url}/healthz`, { signal: AbortSignal.timeout(2000) })
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) break;
        if (Date.now() > deadline) throw new VerinferError('DEVNET_FAILED', `node ${n.index} (${n.url}) is not healthy`, { index: n.index });
        if (died || stopping) throw new VerinferError('DEVNET_FAILED', died ?? 'stopped while starting', {});
        await sleep(100);
      }
    }
    onEvent({ event: 'healthy', nodes: nodes.length });

    // Publish the sample models to every node.
    const models: { name: string; cid: string }[] = [];
    if (o.modelsDir !== null) {
      const samples = sampleModels(o.modelsDir ?? SAMPLE_MODELS_DIR);
      for (const m of samples) {
        const bytes = new Uint8Array(readFileSync(m.file));
        const results = await Promise.all(
          nodes.map(async (n) => {
            const r = await createClient({ nodes: [n.url], retries: 1 }).publish(bytes, {
              name: m.name,
              version: m.version,
              description: m.description,
              task: m.task,
              license: m.license,
              tags: m.tags,
            });
            onEvent({ event: 'published', index: n.index, name: r.name, version: r.version, cid: r.cid, created: r.created });
            return r;
          }),
        );
        models.push({ name: m.name, cid: results[0]!.cid });
      }
    }

    // Peers: every node should know the others (announcements at start and after each publish).
    if (nodes.length > 1) {
      const peerDeadline = Date.now() + 15_000;
      for (const n of nodes) {
        let known = 0;
        for (;;) {
          known = await fetch(`${n.url}/v1/peers`, { signal: AbortSignal.timeout(2000) })
            .then((r) => r.json() as Promise<{ peers?: { endpoint?: string }[] }>)
            .then((b) => (b.peers ?? []).filter((p) => p.endpoint).length)
            .catch(() => 0);
          if (known >= nodes.length - 1 || Date.now() > peerDeadline || stopping || died) break;
          await sleep(200);
        }
        onEvent({ event: 'peers', index: n.index, known });
        if (known < nodes.length - 1) onEvent({ event: 'warning', message: `node ${n.index} knows ${known} of ${nodes.length - 1} peers` });
      }
    }
    if (died || stopping) throw new VerinferError('DEVNET_FAILED', `${died ?? 'stopped'} while the devnet was starting`, {});

    const honest = nodes.find((n) => !n.byzantine) ?? nodes[0]!;
    const example =
      `npx verinfer infer penguins-classifier --input models/penguins-classifier.input.json ` +
      `--mode replicated --quorum ${Math.min(3, nodes.length)} --node ${honest.url}`;
    onEvent({ event: 'ready', nodes, dataDir, models, example });
    return { nodes, dataDir, models, exited, stop };
  } catch (e) {
    await stop('failed to start');
    throw e;
  }
}
