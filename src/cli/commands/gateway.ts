import { Command } from 'commander';
import Fastify from 'fastify';
import { VerinferError } from '../../errors.js';
import { registerGateway } from '../../store/gateway.js';
import { json, openStore, out, withDataDir } from './models.js';

/**
 * `verinfer gateway`: serve the store's blocks over HTTP as an IPFS trustless
 * gateway (`GET|HEAD /ipfs/<cid>`, raw blocks and CAR streams; see
 * src/store/gateway.ts). Runs until SIGINT/SIGTERM, then closes the server and
 * exits 0.
 */
export function gatewayCommand(): Command {
  return withDataDir(
    new Command('gateway')
      .description('serve the local store over HTTP as an IPFS trustless gateway (GET /ipfs/<cid>, raw blocks and CARs) until interrupted')
      .option('--port <port>', 'TCP port (0: any free port)', '8080')
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--log', 'log every request on stderr (JSON lines)')
      .option('--json', 'print {"url", "dataDir"} as one JSON line once listening'),
  ).action(async (o: { port: string; host: string; log?: boolean; json?: boolean; dataDir?: string }) => {
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new VerinferError('INVALID_ARGUMENT', `--port must be an integer from 0 to 65535, got ${o.port}`, { option: '--port' });
    }
    const store = await openStore(o);
    const app = Fastify({ logger: o.log ? { level: 'info', stream: process.stderr } : false });
    registerGateway(app, store);
    let address: string;
    try {
      address = await app.listen({ port, host: o.host });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      throw new VerinferError('INVALID_ARGUMENT', `cannot listen on ${o.host}:${port}: ${code ?? (e as Error)?.message ?? String(e)}`, { host: o.host, port });
    }
    // fastify reports the first address; for a wildcard host show a usable loopback URL too.
    const url = address.replace('://[::]', '://[::1]').replace('://0.0.0.0', '://127.0.0.1');
    if (o.json) json({ url, dataDir: store.dir });
    else out(`gateway serving ${store.dir} at ${url}/ipfs/<cid> (Accept: application/vnd.ipld.raw or application/vnd.ipld.car); Ctrl-C to stop\n`);

    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`gateway: ${signal}, stopping\n`);
      // Requests in flight get 2 s to finish; then every connection is cut (clients resume), and 5 s is the hard limit.
      setTimeout(() => app.server.closeAllConnections(), 2_000).unref();
      setTimeout(() => process.exit(0), 5_000).unref();
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
