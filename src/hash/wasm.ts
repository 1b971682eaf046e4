// SHA-256 in WebAssembly for browsers (and any platform without a native one):
// - single messages (model CIDs, digests of small objects): hash-wasm (MIT, npm
//   "hash-wasm": hand-written C compiled to WebAssembly, embedded in the package, no
//   imports, no Node.js APIs), ~3.6x the pure JS @noble/hashes on one long message;
// - batches of independent messages (all chunk leaves of a tensor, all pairs of a Merkle
//   level): our own SIMD kernel, four messages per instruction (sha256x4.wat), ~2x
//   hash-wasm on 1 KiB leaves and ~2.6x on 64-byte interior nodes.
// Node's native SHA-NI hash is faster on long messages and stays the Node default
// (src/platform/node.ts, which also uses the SIMD batch for interior nodes).
import { createSHA256, type IHasher } from 'hash-wasm';
import { portableSha256, runsFrom, runsInto, setSha256Implementation, type Sha256Implementation, type Sha256Runs } from './sha256.js';
import { createSha256x4Runs } from './sha256x4.js';

export interface WasmSha256 {
  sha256: Sha256Implementation;
  runs: Sha256Runs;
}

let loaded: Promise<WasmSha256 | undefined> | undefined;

/** hash-wasm behind both interfaces (one instance; synchronous once instantiated). */
export function hashWasmImplementation(h: IHasher): WasmSha256 {
  const sha256: Sha256Implementation = (parts) => {
    h.init();
    for (const p of parts) h.update(p);
    return h.digest('binary');
  };
  // one update per run: prefix and run joined (hash-wasm copies every update into its
  // memory; one copy of 1 + runBytes beats two calls)
  const runs = runsInto((msg, out, at) => out.set(h.init().update(msg).digest('binary'), at));
  return { sha256, runs };
}

/** Loads hash-wasm; undefined where WebAssembly is missing or refused (CSP without 'wasm-unsafe-eval'). */
export function loadHashWasm(): Promise<WasmSha256 | undefined> {
  loaded ??= createSHA256().then(hashWasmImplementation, () => undefined);
  return loaded;
}

/**
 * The best WebAssembly pair available: hash-wasm for single messages (else portable JS),
 * the SIMD batch for runs (else hash-wasm's, else portable). Undefined without WebAssembly.
 */
export async function loadWasmSha256(): Promise<WasmSha256 | undefined> {
  const hw = await loadHashWasm();
  const x4 = createSha256x4Runs();
  if (!hw && !x4) return undefined;
  const single = hw?.sha256 ?? portableSha256;
  return { sha256: single, runs: x4 ?? hw?.runs ?? runsFrom(single) };
}

/**
 * Installs the WebAssembly SHA-256 behind sha256()/sha256Runs(); resolves false (and keeps
 * the portable one) where WebAssembly is unavailable. For browser entry points; on Node
 * import src/platform/node.ts instead (native).
 */
export async function installWasmSha256(): Promise<boolean> {
  const w = await loadWasmSha256();
  if (!w) return false;
  setSha256Implementation(w.sha256, w.runs);
  return true;
}
