// Bundles the browser side of test/browser.test.ts with esbuild, in memory: the page
// entry (./page.ts) and the session pool's Web Worker (src/engine/parallel/web-worker.ts)
// as two ES modules. Platform 'browser' with no Node built-ins: a `node:` or built-in
// import anywhere in the graph fails the build, so the bundle proves the engine layers
// need nothing of Node.
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.split('/')[0]!;
      if (args.path.startsWith('node:') || builtins.has(args.path) || builtins.has(bare))
        return { errors: [{ text: `Node-only module "${args.path}" imported by ${args.importer.replace(root, '')}` }] };
      return undefined;
    });
  },
};

export interface Bundle {
  /** Served path -> file contents. */
  files: Map<string, Uint8Array>;
  /** Source files in the bundles, relative to the repository root. */
  inputs: string[];
}

/** The page and worker bundles; `entryPoints` (output name -> source) replaces them in tests of this builder. */
export async function buildBrowserBundle(
  entryPoints: Record<string, string> = { page: 'test/browser/page.ts', 'web-worker': 'src/engine/parallel/web-worker.ts' },
): Promise<Bundle> {
  const r = await build({
    absWorkingDir: root,
    entryPoints,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outdir: 'out', // virtual: write is false
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  const files = new Map<string, Uint8Array>();
  for (const f of r.outputFiles) files.set('/' + f.path.slice(f.path.lastIndexOf('/') + 1), f.contents);
  return { files, inputs: Object.keys(r.metafile.inputs) };
}
