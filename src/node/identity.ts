import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Address } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { VerinferError } from '../errors.js';
// Key files are shared with the CLI (`verinfer key new`): same format, same checks.
import { newKey, readKeyFile, writeKeyFile } from '../platform/keyfile.js';

/** The node's Ethereum identity: it signs receipts, announcements and metadata of models published through it. */
export interface NodeIdentity {
  address: Address;
  account: PrivateKeyAccount;
  keyFile: string;
  /** True when the key file was created by this start. */
  created: boolean;
}

export const NODE_KEY_FILE = 'node-key.json';

/** `keyFile` if given (must exist), else `<dataDir>/node-key.json`, created with mode 0600 on first start. */
export function loadIdentity(dataDir: string, keyFile?: string): NodeIdentity {
  if (keyFile) {
    const k = readKeyFile(keyFile);
    return { address: k.address, account: k.account, keyFile, created: false };
  }
  const path = join(dataDir, NODE_KEY_FILE);
  let created = false;
  if (!existsSync(path)) {
    try {
      writeKeyFile(path, newKey());
      created = true;
    } catch (e) {
      // Another process created it first: use theirs.
      if (!(e instanceof VerinferError && e.code === 'KEY_EXISTS')) throw e;
    }
  }
  try {
    chmodSync(path, 0o600);
  } catch {
    /* not our file system's concept */
  }
  const k = readKeyFile(path);
  return { address: k.address, account: k.account, keyFile: path, created };
}
