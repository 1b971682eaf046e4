#!/usr/bin/env node
// CI gate: runs `verinfer conformance --json` on each ONNX backend suite and
// fails when a suite's pass rate on supported cases, or its number of passing
// cases, drops below the floor committed in conformance-floor.json.
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const floor = JSON.parse(readFileSync(join(root, 'conformance-floor.json'), 'utf8'));
const base = join(root, floor.dir);
let ok = true;
for (const [suite, want] of Object.entries(floor.suites)) {
  const dir = join(base, suite);
  if (!existsSync(dir)) {
    console.error(`conformance gate: ${dir} not found (is ../shared beside the project?)`);
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [join(root, 'bin/verinfer.mjs'), 'conformance', dir, '--json', '--failures-only'], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  const lines = r.stdout.trim().split('\n');
  let s;
  try {
    s = JSON.parse(lines[lines.length - 1]);
  } catch {
    console.error(`conformance gate: ${suite}: no JSON summary\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
    process.exit(1);
  }
  // Failures listed in the floor file, each with its reason, are known divergences of the
  // reference data (not of the engine); every other failure counts against the rate.
  const known = want.knownFailures ?? {};
  const unexpected = s.failures.filter((f) => !(f.case in known));
  const supported = s.passed + unexpected.length;
  const rate = supported ? s.passed / supported : 0;
  const pass = s.passed >= want.minPassed && rate >= want.minPassRate;
  for (const f of s.failures) if (f.case in known) console.log(`     known divergence ${f.case}: ${known[f.case]}`);
  console.log(
    `${pass ? 'ok  ' : 'FAIL'} ${suite}: ${s.passed}/${s.cases} passed, ${unexpected.length} failed (+${s.failed - unexpected.length} known), ${s.unsupported} unsupported; ` +
      `pass rate on supported ${(100 * rate).toFixed(2)}% (floor ${(100 * want.minPassRate).toFixed(2)}%, at least ${want.minPassed} passing)`,
  );
  if (!pass) {
    ok = false;
    for (const f of unexpected.slice(0, 30)) console.log(`     ${f.case}: ${f.reason.slice(0, 200)}`);
  }
}
process.exit(ok ? 0 : 1);
