// Offline training data: datasets that ship inside the `vega-datasets` npm package
// (a devDependency), read from node_modules; nothing is downloaded.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** node_modules/vega-datasets (its package.json exports only the JS build, so resolve that and go up). */
const packageDir = join(dirname(require.resolve('vega-datasets')), '..');
const packageJson = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string; license: string };

export const VEGA_DATASETS = { name: 'vega-datasets', version: packageJson.version, license: packageJson.license };

export interface DataFile {
  /** File name inside vega-datasets/data. */
  file: string;
  text: string;
  sha256: string;
}

export function readDataFile(file: string): DataFile {
  const bytes = readFileSync(join(packageDir, 'data', file));
  return { file, text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A plain comma-separated file with a header row and no quoted fields. */
export function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]!.split(',');
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    if (cells.length !== header.length) throw new Error(`CSV row has ${cells.length} cells, header has ${header.length}: ${line}`);
    return Object.fromEntries(header.map((h, i) => [h, cells[i]!]));
  });
}

/** A finite number from a CSV cell, or an error naming the cell. */
export function num(s: string | undefined, what: string): number {
  const v = Number(s);
  if (s === undefined || s.trim() === '' || !Number.isFinite(v)) throw new Error(`${what}: not a number: ${JSON.stringify(s)}`);
  return v;
}
