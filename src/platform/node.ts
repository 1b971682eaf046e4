// Node.js platform setup: installs native implementations behind the portable
// interfaces of the browser-safe layers. Import once at a Node entry point.
import * as nodeCrypto from 'node:crypto';
import { setSha256Implementation, type Sha256Implementation } from '../hash/sha256.js';

const view = (d: Uint8Array) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

// One-shot crypto.hash (Node >= 20.12) skips the Hash object; small multi-part
// inputs (Merkle leaves: a prefix byte and a 1 KiB chunk) are joined in a scratch
// buffer so they take that path too.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Uint8Array }).hash;
const SCRATCH = new Uint8Array(4096);

export const nodeSha256: Sha256Implementation = (parts) => {
  if (oneShot) {
    if (parts.length === 1) return view(oneShot('sha256', parts[0]!, 'buffer'));
    let n = 0;
    for (const p of parts) n += p.length;
    if (n <= SCRATCH.length) {
      let off = 0;
      for (const p of parts) {
        SCRATCH.set(p, off);
        off += p.length;
      }
      return view(oneShot('sha256', SCRATCH.subarray(0, n), 'buffer'));
    }
  }
  const h = nodeCrypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return view(h.digest());
};

setSha256Implementation(nodeSha256);
