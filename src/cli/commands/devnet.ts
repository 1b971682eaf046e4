import { Command } from 'commander';
import { VerinferError } from '../../errors.js';
import { startDevnet, type DevnetEvent } from '../../devnet/devnet.js';
import { out, table } from './infer.js';

interface DevnetCliOptions {
  nodes: string;
  byzantine: string;
  strategy: string;
  basePort: string;
  dataDir?: string;
  watchRate: string;
  challengeWindow: string;
  logLevel: string;
  publish: boolean;
  json?: boolean;
}

function int(v: string, option: string, min: number): number {
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new VerinferError('INVALID_ARGUMENT', `${option} must be an integer ≥ ${min}, got ${v}`, { option, value: v });
  return n;
}

/** Human progress lines for the devnet's events. */
function describe(e: DevnetEvent): string | undefined {
  switch (e.event) {
    case 'starting':
      return `starting ${e.nodes} node(s) on ports ${e.basePort}..${e.basePort + e.nodes - 1}` +
        `${e.byzantine ? ` (${e.byzantine} byzantine: ${e.strategy})` : ''}, data in ${e.dataDir}${e.temporary ? ' (temporary)' : ''}`;
    case 'warning':
      return `warning: ${e.message}`;
    case 'node-started':
      return `  node ${e.index} listening on ${e.url} (${e.address}, pid ${e.pid})${e.byzantine ? ` byzantine: ${e.byzantine}` : ''}`;
    case 'healthy':
      return `all ${e.nodes} node(s) healthy`;
    case 'published':
      return `  published ${e.name}@${e.version} on node ${e.index}: ${e.cid}`;
    case 'node-exited':
      return `node ${e.index} (pid ${e.pid}) exited unexpectedly (${e.code ?? e.signal})${e.stderr ? `:\n${e.stderr.replace(/^/gm, '    ')}` : ''}`;
    case 'stopping':
      return `stopping the devnet (${e.reason})`;
    case 'stopped':
      return `stopped${e.killed ? ` (${e.killed} node(s) killed after the grace period)` : ''}${e.removedDataDir ? '; temporary data removed' : ''}`;
    case 'ready': {
      const rows = e.nodes.map((n) => [String(n.index), n.url, n.address, n.byzantine ? `byzantine (${n.byzantine})` : 'honest']);
      return (
        `\ndevnet ready: ${e.nodes.length} node(s)\n` +
        table(['#', 'url', 'address', 'role'], rows) +
        `\n\nmodels: ${e.models.map((m) => `${m.name} (${m.cid})`).join(', ') || 'none'}\n` +
        `logs:   ${e.dataDir}/node-<i>.log\n\n` +
        `try:\n  ${e.example}\n` +
        `  npx verinfer infer penguins-classifier --input models/penguins-classifier.input.json --node ${e.nodes[0]!.url} --receipt-out receipt.json\n` +
        `  npx verinfer verify receipt.json --model models/penguins-classifier.onnx --input models/penguins-classifier.input.json\n` +
        `  npx verinfer peers --node ${e.nodes[0]!.url}\n\n` +
        'Ctrl-C stops every node.'
      );
    }
    default:
      return undefined;
  }
}

export function devnetCommand(): Command {
  return new Command('devnet')
    .description('run a local network of real nodes on 127.0.0.1 (some byzantine), with the sample models published; Ctrl-C stops it')
    .option('--nodes <n>', 'number of nodes', '4')
    .option('--byzantine <n>', 'how many of them (the last ones) cheat', '1')
    .option('--strategy <strategy>', 'how the byzantine nodes cheat: bitflip, wrong-output, lie-bisection', 'bitflip')
    .option('--base-port <port>', 'node i listens on base-port + i', '7700')
    .option('--data-dir <dir>', 'keep the nodes\' data here (default: a temporary dir removed on exit)')
    .option('--watch-rate <rate>', 'optimistic mode: share of receipts watchers re-execute (0..1)', '1')
    .option('--challenge-window <duration>', 'optimistic mode: challenge window, e.g. 10s', '10s')
    .option('--log-level <level>', 'node log level (logs go to <data-dir>/node-<i>.log)', 'info')
    .option('--no-publish', 'do not publish the sample models')
    .option('--json', 'print one JSON object per line per event (starting, node-started, published, ready, stopping, stopped, ...)')
    .action(async (o: DevnetCliOptions, cmd: Command) => {
      const n = int(o.nodes, '--nodes', 1);
      const byz = int(o.byzantine, '--byzantine', 0);
      const basePort = int(o.basePort, '--base-port', 1);
      const watchRate = Number(o.watchRate);
      if (!Number.isFinite(watchRate) || watchRate < 0 || watchRate > 1) {
        throw new VerinferError('INVALID_ARGUMENT', `--watch-rate must be a number in 0..1, got ${o.watchRate}`, { option: '--watch-rate' });
      }
      const explicit = ['watchRate', 'challengeWindow'].filter((k) => cmd.getOptionValueSource(k) === 'cli').map((k) => (k === 'watchRate' ? '--watch-rate' : '--challenge-window'));
      const emit = (e: DevnetEvent) => {
        if (o.json) process.stdout.write(JSON.stringify(e) + '\n');
        else {
          const line = describe(e);
          if (line !== undefined) out(line);
        }
      };
      const abort = new AbortController();
      let signalled: string | undefined;
      const onSignal = (sig: NodeJS.Signals) => {
        if (signalled) return;
        signalled = sig;
        abort.abort(sig);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      let devnet;
      try {
        devnet = await startDevnet(
          {
            nodes: n,
            byzantine: byz,
            strategy: o.strategy,
            basePort,
            dataDir: o.dataDir,
            watchRate,
            challengeWindow: o.challengeWindow,
            logLevel: o.logLevel,
            modelsDir: o.publish ? undefined : null,
            explicit,
            signal: abort.signal,
          },
          emit,
        );
      } catch (e) {
        if (signalled) process.exit(0);
        throw e;
      }
      // Run until a signal (stop cleanly, exit 0) or a node dies (stop the rest, exit 1).
      const reason = await Promise.race([
        new Promise<string>((resolve) =>
          abort.signal.aborted ? resolve(String(abort.signal.reason)) : abort.signal.addEventListener('abort', () => resolve(String(abort.signal.reason)), { once: true }),
        ),
        devnet.exited.then((x) => `node ${x.index} exited`),
      ]);
      await devnet.stop(reason);
      process.exit(signalled ? 0 : 1);
    });
}
