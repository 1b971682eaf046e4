// Node.js platform setup: installs native implementations behind the portable
// interfaces of the browser-safe layers. Import once at a Node entry point.
import { createHash } from 'node:crypto';
import { setSha256Implementation, type Sha256Implementation } from '../hash/sha256.js';

export const nodeSha256: Sha256Implementation = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  const d = h.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

setSha256Implementation(nodeSha256);
