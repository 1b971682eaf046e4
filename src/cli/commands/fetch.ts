import { Command } from 'commander';
import { VerinferError } from '../../errors.js';
import { fetchModel, type FetchProgress } from '../../store/fetch.js';
import { json, mib, openStore, out, withDataDir } from './models.js';

function positiveInt(value: string, option: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new VerinferError('INVALID_ARGUMENT', `${option} must be an integer ≥ ${min}, got ${value}`, { option });
  return n;
}

function progressLine(p: FetchProgress): string {
  const short = p.cid.length > 20 ? `${p.cid.slice(0, 10)}…${p.cid.slice(-6)}` : p.cid;
  if (p.phase === 'pinning') return `${short}: pinning (${p.blocks} blocks)`;
  const pct = p.totalBytes ? ` (${Math.min(100, Math.floor((p.bytes / p.totalBytes) * 100))}%)` : '';
  const size = p.totalBytes !== undefined ? `${mib(p.bytes)} / ${mib(p.totalBytes)}${pct}` : mib(p.bytes);
  return `${short}: ${size}, ${p.blocks}/${p.totalBlocks ?? `${p.knownBlocks}+`} blocks (${p.fetchedBlocks} downloaded, ${p.reusedBlocks} already here)`;
}

/**
 * Progress on stderr: one line rewritten in place on a terminal (at most 10
 * times a second); otherwise a line at every 10 % step or every 5 s.
 */
function progressReporter(enabled: boolean): { update(p: FetchProgress): void; finish(): void } {
  const tty = !!process.stderr.isTTY;
  let last = 0;
  let lastStep = -1;
  let shown = false;
  let pending: FetchProgress | undefined;
  return {
    update(p) {
      if (!enabled) return;
      const now = Date.now();
      if (tty) {
        pending = p;
        if (now - last < 100 && p.phase === 'fetching') return;
        last = now;
        process.stderr.write(`\r\x1b[K${progressLine(p)}`);
        shown = true;
        pending = undefined;
        return;
      }
      const step = p.totalBytes ? Math.floor((p.bytes / p.totalBytes) * 10) : -1;
      if (p.phase === 'fetching' && step === lastStep && now - last < 5_000) return;
      if (p.phase === 'done') return;
      lastStep = step;
      last = now;
      process.stderr.write(progressLine(p) + '\n');
    },
    finish() {
      if (!enabled || !tty) return;
      if (pending) process.stderr.write(`\r\x1b[K${progressLine(pending)}`);
      if (shown || pending) process.stderr.write('\n');
    },
  };
}

/** `verinfer fetch <cid> --from <url...>`: download a model from IPFS trustless gateways, verifying every block, and pin it. */
export function fetchCommand(): Command {
  return withDataDir(
    new Command('fetch')
      .description('download a model by CID from IPFS trustless gateways (a Verinfer gateway or a public IPFS one), verify every block, store and pin it; a rerun resumes')
      .argument('<cid>', 'the model CID')
      .requiredOption('--from <url...>', 'gateway base URLs, tried in order (e.g. http://127.0.0.1:8080 https://trustless-gateway.link)')
      .option('--concurrency <n>', 'block requests in flight', '4')
      .option('--timeout <seconds>', 'give up on a request after this long without data', '30')
      .option('--retries <n>', 'retries per block and gateway', '2')
      .option('--no-car', 'skip the CAR fast path (fetch block by block)')
      .option('--quiet', 'no progress on stderr')
      .option('--json', 'print one JSON object {cid, blocks, bytes, fetchedBlocks, reusedBlocks, fetchedBytes}'),
  ).action(
    async (
      cid: string,
      o: { from: string[]; concurrency: string; timeout: string; retries: string; car: boolean; quiet?: boolean; json?: boolean; dataDir?: string },
    ) => {
      const concurrency = positiveInt(o.concurrency, '--concurrency');
      const retries = positiveInt(o.retries, '--retries', 0);
      const timeout = Number(o.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) throw new VerinferError('INVALID_ARGUMENT', `--timeout must be a positive number of seconds, got ${o.timeout}`, { option: '--timeout' });
      const store = await openStore(o);
      const progress = progressReporter(!o.quiet);
      const ac = new AbortController();
      const onSignal = () => ac.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let r;
      try {
        r = await fetchModel(store, cid, {
          from: o.from,
          concurrency,
          retries,
          timeoutMs: timeout * 1000,
          car: o.car,
          signal: ac.signal,
          onProgress: (p) => progress.update(p),
        });
      } finally {
        progress.finish();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (o.json) return json(r);
      out(
        `fetched ${r.cid}: ${r.blocks} blocks (${mib(r.bytes)}), ${r.fetchedBlocks} downloaded (${mib(r.fetchedBytes)}), ${r.reusedBlocks} already in the store; every block verified, pinned\n`,
      );
    },
  );
}
