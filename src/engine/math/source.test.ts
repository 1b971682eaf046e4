// Source scan: library files in src/engine/math must use only operations that
// are bit-exact across JS engines, and nothing Node-specific.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));

const FORBIDDEN = [
  'Math.exp', 'Math.log', 'Math.pow', 'Math.tanh', 'Math.sin', 'Math.cos', 'Math.tan',
  'Math.expm1', 'Math.log1p', 'Math.log2', 'Math.log10', 'Math.atan', 'Math.asin', 'Math.acos',
  'Math.cbrt', 'Math.hypot', 'Math.round', 'Math.random', '**',
  'node:', 'Buffer', 'process', 'require(',
];

test('library sources use no engine-dependent math and no Node APIs', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.includes('.test'));
  assert.ok(files.includes('index.ts') && files.length >= 8, `unexpected file list ${files}`);
  const hits: string[] = [];
  for (const f of files) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const bad of FORBIDDEN) if (src.includes(bad)) hits.push(`${f}: ${bad}`);
  }
  assert.deepEqual(hits, []);
});
