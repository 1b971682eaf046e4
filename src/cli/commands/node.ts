import { Command } from 'commander';
import { VerinferError } from '../../errors.js';
import { BYZANTINE_STRATEGIES, parseByzantine } from '../../node/byzantine.js';
import { DEFAULT_ANNOUNCE_INTERVAL_MS, DEFAULT_CHALLENGE_WINDOW_MS, DEFAULT_LIMITS, DEFAULT_PORT, DEFAULT_WATCH_RATE, TRACE_MODES, type TraceMode } from '../../node/config.js';
import { RECORD_INPUTS_MAX_ELEMENTS } from '../../node/inference.js';
import { parseDuration, parseWatchRate } from '../../node/modes/index.js';
import { createNode } from '../../node/node.js';
import { defaultDataDir } from '../../store/store.js';

interface NodeStartOptions {
  dataDir?: string;
  port: string;
  host: string;
  publicUrl?: string;
  key?: string;
  peers?: string;
  byzantine?: string;
  trace: string;
  logLevel: string;
  logFile?: string;
  chainId: string;
  receiptTtl: string;
  announceInterval: string;
  maxBodyMb: string;
  maxModelMb: string;
  maxElements: string;
  maxFlops: string;
  timeoutMs: string;
  maxConcurrent: string;
  maxQueue: string;
  watchRate: string;
  challengeWindow: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function num(v: string, option: string, { min = 0, integer = true }: { min?: number; integer?: boolean } = {}): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isSafeInteger(n))) {
    throw new VerinferError('INVALID_ARGUMENT', `${option} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${JSON.stringify(v)}`, { option, value: v });
  }
  return n;
}

function peerUrls(v: string | undefined): string[] {
  if (!v) return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        throw new VerinferError('INVALID_ARGUMENT', `--peers: not a URL: ${s} (expected http://host:port)`, { option: '--peers', value: s });
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VerinferError('INVALID_ARGUMENT', `--peers: ${s} is not http(s)`, { option: '--peers', value: s });
      return u.toString().replace(/\/+$/, '');
    });
}

function startCommand(): Command {
  const L = DEFAULT_LIMITS;
  return new Command('start')
    .description(
      'run a node: HTTP API (docs/node-api.md), model store, engine, signed receipts, disputes, peers. ' +
        'Prints {"event":"listening","url",...} on stdout when ready; SIGINT/SIGTERM stop it gracefully.',
    )
    .option('--data-dir <dir>', 'node data dir: model store + node state (default $VERINFER_DATA_DIR or ~/.verinfer)')
    .option('--port <port>', 'listen port (0: any free port; the bound URL is printed)', String(DEFAULT_PORT))
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--public-url <url>', 'the URL peers reach this node at (default http://<host>:<port>)')
    .option('--key <file>', 'executor key file (default <data-dir>/node-key.json, created with mode 0600 on first start)')
    .option('--peers <urls>', 'comma-separated URLs of peers to announce to and learn from')
    .option('--trace <mode>', `receipts: eager (sign the trace root) or lazy (all-zero root; the trace is computed only when a dispute asks; inputs over ${RECORD_INPUTS_MAX_ELEMENTS} elements still get eager receipts)`, 'eager')
    .option('--byzantine <strategy>', `cheat on every inference, for devnets and tests: ${BYZANTINE_STRATEGIES.join(', ')}`)
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .option('--log-file <file>', 'write the JSON log lines to this file instead of stdout')
    .option('--chain-id <n>', 'EIP-712 chain id of the receipts', '31337')
    .option('--receipt-ttl <seconds>', 'receipt validity', String(24 * 60 * 60))
    .option('--announce-interval <ms>', 're-announce to peers this often (0: only at start and after a publish)', String(DEFAULT_ANNOUNCE_INTERVAL_MS))
    .option('--max-body-mb <n>', 'largest JSON request body', String(L.maxBodyBytes / 2 ** 20))
    .option('--max-model-mb <n>', 'largest model upload (POST /v1/models)', String(L.maxModelBytes / 2 ** 20))
    .option('--max-elements <n>', 'most tensor elements in one request', String(L.maxElements))
    .option('--max-flops <n>', 'largest estimated FLOPs of one inference', String(L.maxFlops))
    .option('--timeout-ms <ms>', 'time budget of one request, queueing included', String(L.timeoutMs))
    .option('--max-concurrent <n>', 'inferences running at once', String(L.maxConcurrent))
    .option('--max-queue <n>', 'inferences waiting for a slot before 429', String(L.maxQueue))
    .option('--watch-rate <0..1>', 'watcher: fraction of the optimistic receipts peers announce that this node re-executes (1 = all, 0 = none)', String(DEFAULT_WATCH_RATE))
    .option('--challenge-window <duration>', 'optimistic mode: how long a receipt stays pending and challengeable (e.g. 30s, 1.5s, 500ms, 2m)', `${DEFAULT_CHALLENGE_WINDOW_MS / 1000}s`)
    .action(async (o: NodeStartOptions) => {
      if (!LOG_LEVELS.includes(o.logLevel)) {
        throw new VerinferError('INVALID_ARGUMENT', `--log-level must be one of ${LOG_LEVELS.join(', ')}`, { option: '--log-level', value: o.logLevel });
      }
      if (!(TRACE_MODES as readonly string[]).includes(o.trace)) {
        throw new VerinferError('INVALID_ARGUMENT', `--trace must be one of ${TRACE_MODES.join(', ')}, got ${JSON.stringify(o.trace)}`, { option: '--trace', value: o.trace });
      }
      const testDelay = Number(process.env.VERINFER_TEST_INFER_DELAY_MS ?? 0);
      const node = await createNode({
        dataDir: o.dataDir ?? defaultDataDir(),
        host: o.host,
        port: num(o.port, '--port'),
        publicUrl: o.publicUrl,
        keyFile: o.key,
        peers: peerUrls(o.peers),
        trace: o.trace as TraceMode,
        byzantine: o.byzantine === undefined ? undefined : parseByzantine(o.byzantine),
        logLevel: o.logLevel,
        logFile: o.logFile,
        chainId: num(o.chainId, '--chain-id', { min: 1 }),
        receiptTtlSeconds: num(o.receiptTtl, '--receipt-ttl'),
        announceIntervalMs: num(o.announceInterval, '--announce-interval'),
        watchRate: parseWatchRate(o.watchRate, '--watch-rate'),
        challengeWindowMs: parseDuration(o.challengeWindow, '--challenge-window'),
        limits: {
          maxBodyBytes: Math.floor(num(o.maxBodyMb, '--max-body-mb', { min: 0.001, integer: false }) * 2 ** 20),
          maxModelBytes: Math.floor(num(o.maxModelMb, '--max-model-mb', { min: 0.001, integer: false }) * 2 ** 20),
          maxElements: num(o.maxElements, '--max-elements', { min: 1 }),
          maxFlops: num(o.maxFlops, '--max-flops', { min: 0, integer: false }),
          timeoutMs: num(o.timeoutMs, '--timeout-ms', { min: 1 }),
          maxConcurrent: num(o.maxConcurrent, '--max-concurrent', { min: 1 }),
          maxQueue: num(o.maxQueue, '--max-queue'),
        },
        testInferDelayMs: Number.isFinite(testDelay) && testDelay > 0 ? testDelay : undefined,
      });
      const url = await node.listen();
      process.stdout.write(
        JSON.stringify({
          event: 'listening',
          url,
          address: node.address,
          dataDir: node.store.dir,
          keyFile: node.identity.keyFile,
          keyCreated: node.identity.created,
          ...(node.config.byzantine ? { byzantine: node.config.byzantine } : {}),
          ...(node.config.trace === 'lazy' ? { trace: 'lazy' } : {}),
        }) + '\n',
      );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        node.log.info({ signal }, 'shutting down');
        const force = setTimeout(() => {
          process.stdout.write(JSON.stringify({ event: 'stopped', forced: true }) + '\n');
          process.exit(1);
        }, 10_000);
        force.unref();
        node.close().then(
          () => {
            process.stdout.write(JSON.stringify({ event: 'stopped' }) + '\n');
            process.exit(0);
          },
          (e) => {
            process.stderr.write(`error during shutdown: ${(e as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}

export function nodeCommand(): Command {
  return new Command('node').description('run a Verinfer node (see docs/node-api.md)').addCommand(startCommand());
}
