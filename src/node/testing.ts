import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * Test support: start real `verinfer node start` processes on loopback and
 * wait for their `{"event":"listening"}` line. Used by test/node-*.test.ts
 * and usable by the devnet tests. Every started process is tracked so an
 * `after` hook can kill all of them (`killAll`), even after a failure.
 */

const bin = join(import.meta.dirname, '..', '..', 'bin', 'verinfer.mjs');

export interface SpawnedNode {
  child: ChildProcess;
  url: string;
  address: string;
  dataDir: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code/signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit (SIGKILL after `ms`). */
  stop: (ms?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: () => Promise<void>;
}

const running = new Set<ChildProcess>();

export async function spawnNode(dataDir: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<SpawnedNode> {
  const child = spawn(process.execPath, [bin, 'node', 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const listening = await new Promise<{ url: string; address: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start within ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    const check = () => {
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { event?: string; url?: string; address?: string };
          if (j.event === 'listening' && j.url && j.address) {
            clearTimeout(timer);
            child.stdout!.off('data', check);
            return resolve({ url: j.url, address: j.address });
          }
        } catch {
          /* a partial line */
        }
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code ?? signal}) before listening\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const stop = async (ms = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, ...listening, dataDir, stdout: () => out, stderr: () => err, exited, stop, kill };
}

/** Kills every node process started by `spawnNode` that is still running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One HTTP request; the body is parsed as JSON when possible. */
export async function http<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array) init.body = body as BodyInit;
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Publishes model bytes to a node (POST /v1/models). */
export async function publishTo(url: string, bytes: Uint8Array, name: string, extra = ''): Promise<HttpResult> {
  return http('POST', `${url}/v1/models?name=${encodeURIComponent(name)}${extra}`, bytes, { 'content-type': 'application/octet-stream' });
}

export async function waitUntil(cond: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
