import { Command } from 'commander';
import { runConformance, type CaseResult } from '../conformance.js';

export function conformanceCommand(): Command {
  return new Command('conformance')
    .description('run ONNX backend test cases (folders with model.onnx and test_data_set_*) and compare outputs')
    .argument('<dir>', 'a case folder, or a folder of case folders')
    .option('--json', 'print one JSON summary object on the last line')
    .option('--filter <regex>', 'only cases whose name matches')
    .option('--failures-only', 'list only failed and unsupported cases in the table')
    .option('--rtol <n>', 'relative tolerance', '1e-3')
    .option('--atol <n>', 'absolute tolerance', '1e-7')
    .action((dir: string, o: { json?: boolean; filter?: string; failuresOnly?: boolean; rtol: string; atol: string }) => {
      const rows: CaseResult[] = [];
      const summary = runConformance(dir, {
        rtol: Number(o.rtol),
        atol: Number(o.atol),
        filter: o.filter ? new RegExp(o.filter) : undefined,
        onCase: (r) => {
          rows.push(r);
          if (o.failuresOnly && r.status === 'passed') return;
          const reason = r.reason ? `  ${r.reason.slice(0, 160)}` : '';
          process.stdout.write(`${r.status.padEnd(11)} ${r.ms.toFixed(1).padStart(8)} ms  ${r.case}${reason}\n`);
        },
      });
      const supported = summary.passed + summary.failed;
      const rate = supported ? ((100 * summary.passed) / supported).toFixed(2) : '0';
      process.stdout.write(
        `\ncases ${summary.cases}  passed ${summary.passed}  failed ${summary.failed}  unsupported ${summary.unsupported}  pass rate on supported ${rate}%\n`,
      );
      if (o.json) {
        const { unsupportedCases: _, ...rest } = summary;
        process.stdout.write(JSON.stringify(rest) + '\n');
      }
    });
}
