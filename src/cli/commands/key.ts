import { Command } from 'commander';
import { newKey, readKeyFile, writeKeyFile } from '../../platform/keyfile.js';

/** `verinfer key new|show`: executor signing keys (secp256k1 / Ethereum accounts). */
export function keyCommand(): Command {
  const key = new Command('key').description('create or inspect an executor signing key (an Ethereum account)');
  key
    .command('new')
    .description('create a new key file (mode 0600) and print its address')
    .argument('<file>', 'where to write the key file')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print one JSON object')
    .action((file: string, o: { force?: boolean; json?: boolean }) => {
      const k = newKey();
      writeKeyFile(file, k, { force: !!o.force });
      if (o.json) process.stdout.write(JSON.stringify({ address: k.address, file }) + '\n');
      else process.stdout.write(`${k.address}\n`);
    });
  key
    .command('show')
    .description("check a key file and print its address (never the private key)")
    .argument('<file>', 'a key file')
    .option('--json', 'print one JSON object')
    .action((file: string, o: { json?: boolean }) => {
      const k = readKeyFile(file);
      if (o.json) process.stdout.write(JSON.stringify({ address: k.address, file }) + '\n');
      else process.stdout.write(`${k.address}\n`);
    });
  return key;
}
