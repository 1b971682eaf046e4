import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import type { Address, Hex } from 'viem';
import { VerinferError } from '../errors.js';

/**
 * An executor key file: JSON `{ "address": "0x..", "privateKey": "0x.." }`,
 * mode 0600. The private key is a raw secp256k1 key (32 bytes hex), the
 * address its checksummed Ethereum address.
 */
export interface KeyFile {
  address: Address;
  privateKey: Hex;
}

export function newKey(): KeyFile {
  const privateKey = generatePrivateKey();
  return { address: privateKeyToAccount(privateKey).address, privateKey };
}

/** Reads and checks a key file (valid JSON, a valid key, the address derived from it). */
export function readKeyFile(path: string): KeyFile & { account: PrivateKeyAccount } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new VerinferError('KEY_INVALID', `cannot read key file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VerinferError('KEY_INVALID', `key file ${path} is not valid JSON`, { file: path });
  }
  const o = json as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) {
    throw new VerinferError('KEY_INVALID', `key file ${path} must hold {"address": "0x...", "privateKey": "0x..."}`, { file: path });
  }
  if (typeof o.privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(o.privateKey)) {
    throw new VerinferError('KEY_INVALID', `key file ${path}: privateKey must be 0x followed by 64 hex digits`, { file: path, field: 'privateKey' });
  }
  if (typeof o.address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(o.address)) {
    throw new VerinferError('KEY_INVALID', `key file ${path}: address must be 0x followed by 40 hex digits`, { file: path, field: 'address' });
  }
  let account: PrivateKeyAccount;
  try {
    account = privateKeyToAccount(o.privateKey.toLowerCase() as Hex);
  } catch {
    // zero or >= the curve order
    throw new VerinferError('KEY_INVALID', `key file ${path}: privateKey is not a valid secp256k1 key`, { file: path, field: 'privateKey' });
  }
  if (account.address.toLowerCase() !== o.address.toLowerCase()) {
    throw new VerinferError('KEY_INVALID', `key file ${path}: address ${o.address} does not match the private key (${account.address})`, {
      file: path,
      field: 'address',
      expected: account.address,
    });
  }
  return { address: account.address, privateKey: o.privateKey.toLowerCase() as Hex, account };
}

const exists = (path: string) => new VerinferError('KEY_EXISTS', `${path} already exists (use --force to overwrite it)`, { file: path });

/**
 * Writes a key file atomically with mode 0600: a temporary file in the same
 * folder, then a hard link (which fails if the target exists) or, with
 * `force`, a rename over it. Throws KEY_EXISTS if the file exists and not `force`.
 */
export function writeKeyFile(path: string, key: KeyFile, options: { force?: boolean } = {}): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw new VerinferError('INVALID_ARGUMENT', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
  try {
    try {
      writeSync(fd, JSON.stringify({ address: key.address, privateKey: key.privateKey }, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.force) renameSync(tmp, path);
    else {
      try {
        linkSync(tmp, path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw exists(path);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
        // No hard links on this file system: check, then rename (not race-free, but atomic content).
        if (existsSync(path)) throw exists(path);
        renameSync(tmp, path);
        return;
      }
      unlinkSync(tmp);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    if (e instanceof VerinferError) throw e;
    throw new VerinferError('INVALID_ARGUMENT', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: path });
  }
}
